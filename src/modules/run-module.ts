// Running one module, for boot and for plan alike: its config checked, its
// actions made (module.ts), and — at boot — applied by the one applier
// (host/apply-actions.ts). What the applier needs from a Context (programs
// with the output log, the HTTP client, problems) is put together here.
import type { Context } from '../context.ts';
import { actionValue, type Action, type ActionValue } from '../host/actions.ts';
import { applyActions, type ApplyEnv } from '../host/apply-actions.ts';
import { fetchWithRetries } from '../net/fetch.ts';
import { rootCaBundle } from '../net/http.ts';
import { fetchUrl } from '../userdata/include.ts';
import type { ActionRun, Module, ModuleRun } from './module.ts';

/** A module's actions (none: nothing to do); `unknown`: some depend on what the machine answers at boot. */
export async function moduleActions(module: Module, run: ModuleRun, planning: boolean): Promise<{ actions: Action[]; unknown: boolean }> {
  const { ctx, where } = run;
  const report: ActionRun['report'] = (level, message) => ctx.report(level, where, message);
  const value = module.check(run.config, report);
  if (value === null) return { actions: [], unknown: false };
  let unknown = false;
  const facts: ActionRun = {
    instanceId: run.instanceId, source: run.source, config: run.config, where,
    frequency: run.frequency ?? module.frequency,
    files: ctx.files, root: ctx.root, planning, log: ctx.log, report,
    ...(run.plannedFiles && { plannedFiles: run.plannedFiles }),
    query: async (argv, opts) => {
      if (planning) { unknown = true; return null; }
      return ctx.capture(argv, opts);
    },
    bootFact: (read) => {
      if (planning) { unknown = true; return null; }
      return read();
    },
  };
  const actions = await module.actions(value, facts);
  return { actions, unknown };
}

/** What plan says a module will do: its actions, each with its line. */
export async function plannedModule(module: Module, run: ModuleRun): Promise<{ does: string; actions: ActionValue[]; unknown?: boolean }> {
  const planned = await moduleActions(module, run, true);
  const values = planned.actions.map(actionValue);
  const does = values.map((v) => v.line).join('; ') || 'nothing to do';
  return { does: planned.unknown ? `${does} (more depends on what the machine answers at boot)` : does, actions: values, ...(planned.unknown && { unknown: true }) };
}

/** Boot: the module's actions, applied. Problems go to run.ctx. */
export async function runModule(module: Module, run: ModuleRun): Promise<void> {
  const made = await moduleActions(module, run, false);
  await applyActions(applyEnv(run.ctx), run.where, made.actions);
}

/** The applier's view of a Context. */
export function applyEnv(ctx: Context): ApplyEnv {
  return {
    files: ctx.files, log: ctx.log, root: ctx.root, outputLog: ctx.outputPath,
    run: (argv, opts) => ctx.run(argv, opts),
    capture: (argv, opts) => ctx.capture(argv, opts),
    report: (level, where, message) => ctx.report(level, where, message),
    leftForRunningSystem: (what) => { ctx.neededRunningSystem = what; },
    fetch: async (r) => {
      if ((r.method ?? 'GET') === 'GET') {
        return fetchUrl(r.url, { maxBytes: r.maxBytes, files: ctx.files, retries: r.retries, backoffMs: r.pauseMs, timeoutMs: r.timeoutMs, fixedPause: true, ...(r.headers && { headers: r.headers }) });
      }
      const res = await fetchWithRetries(r.url, {
        method: r.method, ...(r.headers && { headers: r.headers }), ...(r.body !== undefined && { body: r.body }),
        timeoutMs: r.timeoutMs, maxBytes: r.maxBytes, ca: rootCaBundle((p) => ctx.files.readIfExists(p)),
        retries: r.retries, pause: { fixedMs: r.pauseMs },
        retryStatus: (code) => code < 200 || code >= 300, retryFailure: () => true,
      });
      if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status} after ${r.retries + 1} attempt(s)`);
      return res.body;
    },
  };
}
