// Each user-data part goes to the handler of its type. Handlers save
// scripts for the final stage, run boothooks at once, write upstart jobs,
// merge cloud-config; '## template: jinja' parts are rendered first
// (jinja.ts) and part-handlers take the later parts of the types they
// register (part-handler.ts). A part that fails is reported with its name;
// the other parts go on.
import { asText } from '../bytes.ts';
import type { Context } from '../context.ts';
import { MODULES } from '../modules/index.ts';
import { checkCloudConfigText, formatProblem } from '../schema/validate.ts';
import { layout } from '../state/layout.ts';
import { markDone } from '../state/semaphore.ts';
import type { Diag, Part } from '../types.ts';
import { tryMergeConfig, type Config } from '../userdata/merge.ts';
import { runBoothook } from './boothook.ts';
import { CONSUME_SEM, describeHandler, parseExecHeader, PART_HANDLER_TYPE, PartHandlers, preparePartHandlers } from './part-handler.ts';
import { describeUpstartJob, reloadUpstart, writeUpstartJob } from './upstart.ts';

export { renderTemplateParts, readTemplateData } from './jinja.ts';

/** The action a part leads to, for `plan` and for the log. */
export interface PartAction {
  part: string;
  type: string;
  action: string;
}

const SCRIPT_DIRS: Record<string, string> = {
  'text/x-shellscript-per-boot': layout.userScriptsDir('per-boot'),
  'text/x-shellscript-per-instance': layout.userScriptsDir('per-instance'),
  'text/x-shellscript-per-once': layout.userScriptsDir('per-once'),
};

/** cloud-init's internal name for "no recognized first line" is shown as what the user sent: text/plain. */
function shownType(type: string): string {
  return type === 'text/x-not-multipart' ? 'text/plain' : type;
}

/**
 * What handling each part would do (no effect), in order: parts of a type an
 * executable part-handler before them declares go to it. (A Python
 * handler's types are known only when it runs: plan says so.)
 */
export function describeParts(parts: Part[], instanceId: string): PartAction[] {
  const claimedBy = new Map<string, string>();
  const pythonHandlers: string[] = [];
  let handlers = 0;
  return parts.map((part) => {
    const base = { part: part.filename, type: part.type };
    if (part.type === PART_HANDLER_TYPE) {
      const action = describeHandler(part, instanceId, handlers++);
      try {
        const header = parseExecHeader(part.body);
        if (header) for (const t of header.types) claimedBy.set(t, part.filename);
        else pythonHandlers.push(part.filename);
      } catch { /* described above */ }
      return { ...base, action };
    }
    const by = claimedBy.get(part.type);
    if (by !== undefined) return { ...base, action: `to part-handler ${by}` };
    const action = builtinAction(part, instanceId);
    if (pythonHandlers.length && action.startsWith('ignore')) {
      return { ...base, action: `to part-handler ${pythonHandlers.join(' or ')} if it registers ${part.type} (known when it runs); else ${action}` };
    }
    return { ...base, action };
  });
}

function builtinAction(part: Part, instanceId: string): string {
  switch (part.type) {
    case 'text/x-shellscript':
      return `save to ${layout.scripts(instanceId)}/${part.filename}, run in stage final (per-instance)`;
    case 'text/cloud-config':
      return 'merge into the cloud-config';
    case 'text/cloud-boothook':
    case 'application/x-sh':
      return `save to ${layout.boothooks(instanceId)}/${part.filename}, run now, in stage init (per-boot, INSTANCE_ID set)`;
    case 'text/upstart-job':
      return describeUpstartJob(part);
    default:
      if (SCRIPT_DIRS[part.type]) return `save to ${SCRIPT_DIRS[part.type]}/${part.filename}`;
      return `ignore: unknown user-data format '${shownType(part.type)}'`;
  }
}

/**
 * The cloud-config parts merged in order (no effect). Each part is checked
 * against the modules' schemas; a part that does not parse is reported as
 * an error with its line and column and left out (the others still merge);
 * schema problems are reported as warnings and the part still applies, as
 * in cloud-init — loudly, never in silence.
 */
export function mergeCloudConfig(parts: Part[], report: (level: Diag['level'], where: string, message: string) => void): Config {
  let config: Config = {};
  for (const part of parts) {
    if (part.type !== 'text/cloud-config') continue;
    const where = `user-data ${part.filename} (${part.type})`;
    let checked: ReturnType<typeof checkCloudConfigText>;
    try {
      checked = checkCloudConfigText(asText(part.body), MODULES);
    } catch (e) {
      // Whatever the YAML does (nesting past the stack, alias bombs), it stops at this part.
      report('error', where, `invalid cloud-config: ${(e as Error).message}; this part was skipped`);
      continue;
    }
    const { config: value, problems } = checked;
    const fatal = problems.find((p) => p.path === '' && p.level === 'error');
    if (fatal) {
      report('error', where, `invalid cloud-config at ${formatProblem(fatal)}; this part was skipped`);
      continue;
    }
    // 'info' (a key this image cannot act on) is said once by the module not_applicable, in the log only.
    for (const p of problems) if (p.level !== 'info') report('warning', where, `invalid cloud-config at ${formatProblem(p)}`);
    const merged = tryMergeConfig(config, value, part.headers['merge-type']);
    if (merged.error !== undefined) report('error', where, `not merged: ${merged.error}`);
    config = merged.config;
  }
  return config;
}

/**
 * Handle every part but cloud-config (merged by mergeCloudConfig): part-handlers
 * first learn their types, then each part goes, in order, to the part-handler
 * that took its type or to the built-in handler.
 */
export async function handleParts(ctx: Context, instanceId: string, parts: Part[]): Promise<void> {
  let handlers: PartHandlers;
  try {
    handlers = await preparePartHandlers(ctx, instanceId, parts);
  } catch (e) {
    ctx.report('error', 'user-data part-handlers', `${(e as Error).message}; no part-handler registered`);
    handlers = PartHandlers.empty(ctx, instanceId);
  }
  let upstartJobs = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const where = `user-data ${part.filename} (${part.type})`;
    try {
      if (handlers.isHandler(i)) { await handlers.start(i); continue; }
      if (part.type === PART_HANDLER_TYPE) continue; // not registered: reported already
      if (await handlers.deliver(i, part)) continue;
      switch (part.type) {
        case 'text/x-shellscript':
          ctx.files.write(`${layout.scripts(instanceId)}/${part.filename}`, part.body, { mode: 0o700 });
          break;
        case 'text/cloud-config':
          break;
        case 'text/cloud-boothook':
        case 'application/x-sh':
          await runBoothook(ctx, instanceId, part, where);
          break;
        case 'text/upstart-job':
          if (writeUpstartJob(ctx, instanceId, part)) upstartJobs++;
          break;
        default:
          if (SCRIPT_DIRS[part.type]) {
            ctx.files.write(`${SCRIPT_DIRS[part.type]}/${part.filename}`, part.body, { mode: 0o700 });
          } else {
            ctx.report('warning', where, `ignored: unknown user-data format '${shownType(part.type)}' (a part must start with #!, #cloud-config, #include, #cloud-boothook, … or be a MIME part of a known type)`);
          }
      }
    } catch (e) {
      ctx.report('error', where, (e as Error).message);
    }
  }
  try {
    await handlers.finish();
    if (upstartJobs > 0) await reloadUpstart(ctx, 'user-data upstart jobs');
  } catch (e) {
    ctx.report('error', 'user-data handlers', (e as Error).message);
  }
  // From now on, per-instance part-handlers are not called again for this instance.
  markDone(ctx, instanceId, CONSUME_SEM, 'per-instance');
}
