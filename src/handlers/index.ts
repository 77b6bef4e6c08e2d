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
import { markDone } from '../state/semaphore.ts';
import type { Diag, Part } from '../types.ts';
import { tryMergeConfig, type Config } from '../config/merge.ts';
import { runBoothook } from './boothook.ts';
import { logStep, type PartStep } from '../plan/steps.ts';
import { CONSUME_SEM, PART_HANDLER_TYPE, PartHandlers, preparePartHandlers } from './part-handler.ts';
import { reloadUpstart, writeUpstartJob } from './upstart.ts';

export { renderTemplateParts, readTemplateData } from '../userdata/jinja.ts';

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
 * Handle every part but cloud-config (merged by mergeCloudConfig), each where
 * its step says (plan/parts.ts): part-handlers first learn their types, then
 * each part goes, in order, to the part-handler that took its type or to the
 * built-in handler. Each step is logged as it is taken (plan/steps.ts).
 */
export async function handleParts(ctx: Context, instanceId: string, steps: PartStep[]): Promise<void> {
  const parts = steps.map((s) => s.part);
  let handlers: PartHandlers;
  try {
    handlers = await preparePartHandlers(ctx, instanceId, parts);
  } catch (e) {
    ctx.report('error', 'user-data part-handlers', `${(e as Error).message}; no part-handler registered`);
    handlers = PartHandlers.empty(ctx, instanceId);
  }
  let upstartJobs = 0;
  for (const step of steps) {
    const { part, index: i } = step;
    const where = `user-data ${part.filename} (${part.type})`;
    logStep(ctx.log, step);
    try {
      if (handlers.isHandler(i)) { await handlers.start(i); continue; }
      if (part.type === PART_HANDLER_TYPE) continue; // not registered: reported already
      // Parts routed to an executable handler, or taken by a Python one as it ran.
      if (await handlers.deliver(i, part)) continue;
      // A part for a handler that was not registered after all goes where no handler had claimed it.
      const route = step.route.to === 'part-handler' ? step.route.fallback : step.route;
      switch (route.to) {
        case 'save-script':
          // Made durable together after the loop (one syncfs, not two fsyncs a script): see below.
          ctx.files.write(route.path, part.body, { mode: 0o700, deferSync: true });
          break;
        case 'boothook':
          await runBoothook(ctx, instanceId, part, where, route.path);
          break;
        case 'upstart-job':
          if (writeUpstartJob(ctx, instanceId, part)) upstartJobs++;
          break;
        case 'ignore':
          ctx.report('warning', where, `ignored: ${route.reason}`);
          break;
        case 'part-handler':
        case 'register-handler':
        case 'merge':
          break;
      }
    } catch (e) {
      ctx.report('error', where, (e as Error).message);
    }
  }
  // The saved scripts reach the disk before anything records that this user-data was handled
  // (the semaphore below, the stage's status). A power cut before that is a stage init that did
  // not finish: the next boot's stage init saves every script again from user-data.raw.
  ctx.files.flushDeferred();
  try {
    await handlers.finish();
    if (upstartJobs > 0) await reloadUpstart(ctx, 'user-data upstart jobs');
  } catch (e) {
    ctx.report('error', 'user-data handlers', (e as Error).message);
  }
  // From now on, per-instance part-handlers are not called again for this instance.
  markDone(ctx, instanceId, CONSUME_SEM, 'per-instance');
}
