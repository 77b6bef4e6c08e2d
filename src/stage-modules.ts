// A stage's modules, run: the steps plan/modules.ts gives for the stage, each
// module that runs loaded, applied in a scope of its own, and marked done by
// the one semaphore rule. Shared by stages config and final (stages.ts),
// stage init (stage-init.ts) and `single`.
import type { Context } from './context.ts';
import type { Config } from './config/merge.ts';
import type { Module } from './modules/module.ts';
import { applyOutputConfig } from './modules/output.ts';
import { planModules } from './plan/modules.ts';
import { logStep } from './plan/steps.ts';
import type { Instance } from './state/instance.ts';
import { markDone, moduleSem } from './state/semaphore.ts';
import type { Diag, Frequency, Stage } from './types.ts';
import { now } from './host/clock.ts';

/** What one module's run came to: the runner writes its semaphore and the stage's status from it. */
export interface ModuleResult {
  /** left-for-running-system: its essential work was skipped under --root; no semaphore, so the real boot does it. */
  status: 'done' | 'failed' | 'left-for-running-system';
  /** With left-for-running-system: what was left. */
  left: string | null;
  problems: Diag[];
  ms: number;
}

/** Run one module in a scope of its own: what it reports is its result, not a change to the stage's state. */
export async function applyModule(ctx: Context, module: Module, frequency: Frequency, instance: Instance, config: Config): Promise<ModuleResult> {
  const scope = ctx.scoped();
  const where = `module ${module.name}`;
  const started = now();
  try {
    // Loaded with the first module that runs (the action applier, the HTTP client for fetches).
    const { runModule } = await import('./modules/run-module.ts');
    await runModule(module, { ctx: scope, instanceId: instance.id, source: instance.source, config, where, frequency });
  } catch (e) {
    scope.report('error', where, (e as Error).message);
  }
  const failed = scope.diags.some((d) => d.level === 'error');
  const status = scope.neededRunningSystem !== null ? 'left-for-running-system' : failed ? 'failed' : 'done';
  return { status, left: scope.neededRunningSystem, problems: scope.diags, ms: now() - started };
}

/**
 * The one semaphore rule, for the boot and for `single`: a module that ran to
 * its end, well or not, is marked done (cloud-init writes the semaphore
 * before the run and does not clear it on a failure), so a failing module
 * does not fail again at every boot; one whose work was left for the
 * running system (--root) is not, so the real boot still does it.
 */
export function markModule(ctx: Context, instanceId: string, module: Module, frequency: Frequency, result: ModuleResult): void {
  const where = `module ${module.name}`;
  if (result.status === 'left-for-running-system') ctx.log.info(`${where}: not marked done: its work needs the running system (${result.left})`);
  else markDone(ctx, instanceId, moduleSem(module.name), frequency);
}

/** The stage's module steps (plan/modules.ts), each applied as it says. */
export async function runModules(ctx: Context, instance: Instance, stage: Stage, config: Config, lists: Config): Promise<void> {
  applyOutputConfig(ctx, config, stage);
  for (const step of planModules(ctx, stage, instance.id, config, lists)) {
    logStep(ctx.log, step);
    if (!step.run) continue;
    const { frequency } = step;
    // Only a module that runs is loaded (registry.ts): the others cost nothing.
    const module = await step.module.load();
    const where = `module ${module.name}`;
    const result = await applyModule(ctx, module, frequency, instance, config);
    ctx.diags.push(...result.problems);
    ctx.log.info(`${where}: ${result.problems.some((d) => d.level === 'error') ? 'failed' : 'done'} in ${result.ms.toFixed(1)} ms`);
    markModule(ctx, instance.id, module, frequency, result);
  }
}
