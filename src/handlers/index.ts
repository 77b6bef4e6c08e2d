// Each user-data part goes to the handler of its type. Handlers save
// scripts for the final stage, run boothooks at once, merge cloud-config.
// A part that fails is reported with its name; the other parts go on.
import type { Context } from '../context.ts';
import { MODULES } from '../modules/index.ts';
import { checkCloudConfigText, formatProblem } from '../schema/validate.ts';
import { layout } from '../state/layout.ts';
import { alreadyDone, markDone } from '../state/semaphore.ts';
import type { Diag, Part } from '../types.ts';
import { tryMergeConfig, type Config } from '../userdata/merge.ts';
import { runBoothook } from './boothook.ts';

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

/** What handling `part` would do (no effect). */
export function describePart(part: Part, instanceId: string): PartAction {
  const base = { part: part.filename, type: part.type };
  switch (part.type) {
    case 'text/x-shellscript':
      return { ...base, action: `save to ${layout.scripts(instanceId)}/${part.filename}, run in stage final (per-instance)` };
    case 'text/cloud-config':
      return { ...base, action: 'merge into the cloud-config' };
    case 'text/cloud-boothook':
    case 'application/x-sh':
      return { ...base, action: 'run now, in stage init (per-boot)' };
    case 'text/upstart-job':
      return { ...base, action: `write /etc/init/${part.filename.replace(/\.conf$/, '')}.conf (per-instance)` };
    default:
      if (SCRIPT_DIRS[part.type]) return { ...base, action: `save to ${SCRIPT_DIRS[part.type]}/${part.filename}` };
      return { ...base, action: `ignore: unknown user-data format '${shownType(part.type)}'` };
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
    const { config: value, problems } = checkCloudConfigText(part.body.toString(), MODULES);
    const fatal = problems.find((p) => p.path === '' && p.level === 'error');
    if (fatal) {
      report('error', where, `invalid cloud-config at ${formatProblem(fatal)}; this part was skipped`);
      continue;
    }
    for (const p of problems) report('warning', where, `invalid cloud-config at ${formatProblem(p)}`);
    const merged = tryMergeConfig(config, value, part.headers['merge-type']);
    if (merged.error !== undefined) report('error', where, `not merged: ${merged.error}`);
    config = merged.config;
  }
  return config;
}

/** Handle every part but cloud-config (merged by mergeCloudConfig). */
export async function handleParts(ctx: Context, instanceId: string, parts: Part[]): Promise<void> {
  for (const part of parts) {
    const where = `user-data ${part.filename} (${part.type})`;
    try {
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
          writeUpstartJob(ctx, instanceId, part);
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
}

function writeUpstartJob(ctx: Context, instanceId: string, part: Part): void {
  const name = part.filename.replace(/\.conf$/, '');
  const sem = `upstart-${name}`;
  if (alreadyDone(ctx, instanceId, sem, 'per-instance')) return;
  ctx.files.write(`/etc/init/${name}.conf`, part.body, { mode: 0o644 });
  markDone(ctx, instanceId, sem, 'per-instance');
}
