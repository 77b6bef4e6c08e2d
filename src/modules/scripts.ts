// The final stage's scripts (the old rc.local / S99 contract): the user's
// scripts from user-data and runcmd (instances/<id>/scripts/, run as
// /var/lib/cloud/instance/scripts/NAME, as cloud-init runs them), and the
// image's own per-boot / per-instance / per-once directories. Each script is
// run by its own interpreter (#!), chrooted under --root, its output appended
// to the output log, its exit code logged; each gets its own semaphore, so a
// boot cut short does not run a finished script again.
import type { Action } from '../host/actions.ts';
import { describeExit } from '../host/run.ts';
import { layout } from '../state/layout.ts';
import { semPath } from '../state/semaphore.ts';
import type { Frequency } from '../types.ts';
import { actionModule, type ActionRun, type Module, type ReadFiles } from './module.ts';

type Which = Frequency | 'user' | 'vendor';

function scriptDir(instanceId: string, which: Which): string {
  if (which === 'user') return layout.scripts(instanceId);
  if (which === 'vendor') return layout.vendorScripts(instanceId);
  // cloud-init's directory names: per-boot, per-instance, per-once.
  return layout.userScriptsDir(which === 'once' ? 'per-once' : which);
}

/**
 * The path a script is run by (its $0). cloud-init runs the user's and the
 * vendor's scripts through the link to the current instance
 * (/var/lib/cloud/instance/scripts/NAME, its get_ipath_cur), not through
 * instances/<id>/: scripts that look at $0 or cd "$(dirname "$0")" see the
 * same path. The link is used only when it points at this instance.
 */
function runPath(files: ReadFiles, instanceId: string, which: Which, dir: string, name: string, planning: boolean): string {
  if (which !== 'user' && which !== 'vendor') return `${dir}/${name}`;
  const target = files.readlink(layout.instanceLink)?.replace(/\/+$/, '');
  // plan: stage init will have pointed the link at this instance by then.
  const here = planning || target === `instances/${instanceId}` || target === layout.instance(instanceId);
  if (!here) return `${dir}/${name}`;
  return `${layout.instanceLink}${dir.slice(layout.instance(instanceId).length)}/${name}`;
}

/**
 * Each script not yet run at this frequency: run it (its output to the
 * output log), then its semaphore, whatever its exit (a failed script is
 * reported, not run again). Each script is a unit of its own.
 */
function scriptActions(which: Which, { files, instanceId, frequency, plannedFiles, where, planning, bootFact, config }: ActionRun): Action[] {
  const dir = scriptDir(instanceId, which);
  const list = () => files.list(dir).filter((n) => !files.isDirectory(`${dir}/${n}`));
  // Plan knows the scripts there now and those the steps before will write (the parts', runcmd's,
  // write_files'): not what a boot command may put there, so with bootcmd the listing is the boot's.
  const atBoot = config['bootcmd'] !== undefined ? bootFact?.(list) : undefined;
  const planned = (plannedFiles ?? []).filter((p) => p.startsWith(`${dir}/`)).map((p) => p.slice(dir.length + 1));
  const names = (atBoot ?? [...new Set([...list(), ...planned])]).sort();
  return names.flatMap((name): Action[] => {
    const sem = semPath(instanceId, `script-${which}-${name}`, frequency);
    if (sem !== null && files.exists(sem)) return [];
    const path = runPath(files, instanceId, which, dir, name, planning);
    const done: Action[] = sem === null ? [] : [{ kind: 'mark', path: sem }];
    return [{
      kind: 'run', argv: [path], env: { INSTANCE_ID: instanceId }, why: path, unit: `script ${name}`, failure: 'ignore', logOutput: true,
      then: (r) => r.code === 0
        ? [{ kind: 'log', text: `${where}: ${path}: exit 0` }, ...done]
        : [...done, { kind: 'report', level: 'error', message: `${path}: ${describeExit(r)} (output in ${layout.outputLog})` }],
    }];
  });
}

function scriptsModule(name: string, which: Which, freq: Frequency): Module {
  return actionModule<true>({
    name,
    stage: 'final',
    frequency: freq,
    keys: [],
    // The semaphores are per script, so the module itself runs every time it is reached.
    ownSemaphores: true,
    check: () => true,
    actions: (_, run) => scriptActions(which, run),
  });
}

export const scriptsVendor: Module = {
  ...scriptsModule('scripts_vendor', 'vendor', 'per-instance'),
  // Read when user-data is consumed (src/consume.ts): enabled: false turns vendor-data off.
  schema: {
    vendor_data: {
      type: 'object',
      additionalProperties: false,
      properties: { enabled: { type: ['boolean', 'string'] }, prefix: { type: ['array', 'string'] } },
    },
  },
};
export const scriptsPerOnce = scriptsModule('scripts_per_once', 'once', 'once');
export const scriptsPerBoot = scriptsModule('scripts_per_boot', 'per-boot', 'per-boot');
export const scriptsPerInstance = scriptsModule('scripts_per_instance', 'per-instance', 'per-instance');
export const scriptsUser = scriptsModule('scripts_user', 'user', 'per-instance');
