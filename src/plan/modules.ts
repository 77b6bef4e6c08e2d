// The modules a stage runs, as steps: the stage's list (module-lists.ts, as
// the user-data's module lists change it), each with the frequency it runs
// under and whether it runs — not when the config has none of its keys, not
// when its semaphore says it already ran for this frequency. Boot runs
// exactly the steps marked to run (stages.ts); plan prints them.
import type { Context } from '../context.ts';
import { stageModules } from '../modules/module-lists.ts';
import type { ModuleInfo } from '../modules/registry.ts';
import { alreadyDone, moduleSem, semPath } from '../state/semaphore.ts';
import type { Frequency, Stage } from '../types.ts';
import type { Config } from '../config/merge.ts';
import type { ModuleStep } from './steps.ts';

/**
 * Why a module will not run, or null when it will. `planned`: the semaphores
 * the steps before this one will have written (plan looks ahead: a module a
 * list also names in an earlier stage has run by then; boot finds them on disk).
 */
export function skipReason(ctx: Context, instanceId: string, module: Pick<ModuleInfo, 'name' | 'keys'>, config: Config, frequency: Frequency, planned?: Set<string>): string | null {
  if (module.keys.length > 0 && !module.keys.some((k) => config[k] !== undefined)) {
    return `no '${module.keys.join("' or '")}' in the config`;
  }
  const sem = moduleSem(module.name);
  if (alreadyDone(ctx, instanceId, sem, frequency) || planned?.has(semPath(instanceId, sem, frequency) ?? '')) {
    return `already ran (${frequency})`;
  }
  return null;
}

/**
 * The stage's module steps, in order. Problems with the user's module lists
 * are reported to `ctx`. With `planned` (plan), the semaphores of the steps
 * that run are added to it as the boot would write them.
 */
export function planModules(ctx: Context, stage: Stage, instanceId: string, config: Config, lists: Config, planned?: Set<string>): ModuleStep[] {
  return stageModules(ctx, stage, lists).map(({ module, frequency }) => {
    const skip = skipReason(ctx, instanceId, module, config, frequency, planned);
    const sem = semPath(instanceId, moduleSem(module.name), frequency);
    if (skip === null && planned && sem !== null) planned.add(sem);
    return { kind: 'module', stage, name: module.name, module, frequency, run: skip === null, detail: skip ?? 'run' };
  });
}
