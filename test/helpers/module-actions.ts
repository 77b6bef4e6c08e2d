// The one fixture for module tables (config in, actions out): a module's
// check() and actions() on a temp root prepared by the test, nothing
// applied. What each test asserts is what `plan` would print and boot apply.
import { Context } from '../../src/context.ts';
import { actionValue, type Action, type ActionValue } from '../../src/host/actions.ts';
import { silentLogger } from '../../src/log.ts';
import type { Module, ModuleRun } from '../../src/modules/module.ts';
import { moduleActions } from '../../src/modules/run-module.ts';
import type { Diag } from '../../src/types.ts';
import { tempDir } from './files.ts';

export interface Planned {
  /** The actions as values (their content is still there: a test may read it). */
  actions: Action[];
  /** The same as `plan --format json` prints them. */
  values: ActionValue[];
  /** One line each, as boot logs them. */
  lines: string[];
  problems: Diag[];
  /** Some depend on a query plan does not run. */
  unknown: boolean;
}

const SOURCE = { name: 'NoCloud', hostname: 'h', publicKeys: [], metaData: {} } as unknown as ModuleRun['source'];

/**
 * `module`'s actions for `config` on a fresh temp root (`prep` puts files
 * there first), as plan makes them (planning: no query runs) unless
 * `planning` is false.
 */
export async function planModule(module: Module, config: Record<string, unknown>,
  opts: { prep?: (root: string) => void; planning?: boolean; source?: Partial<ModuleRun['source']>; instanceId?: string } = {}): Promise<Planned> {
  const root = tempDir('ec2-init-actions-');
  opts.prep?.(root);
  const ctx = new Context(root, silentLogger);
  const made = await moduleActions(module, {
    ctx, instanceId: opts.instanceId ?? 'iid-table-1', source: { ...SOURCE, ...opts.source } as ModuleRun['source'],
    config, where: `module ${module.name}`,
  }, opts.planning ?? true);
  const { actions } = made;
  const values = actions.map(actionValue);
  return { actions, values, lines: values.map((v) => v.line), problems: ctx.diags, unknown: made.unknown };
}
