// The final stage's scripts (the old rc.local / S99 contract): the user's
// scripts from user-data and runcmd (instances/<id>/scripts/, run as
// /var/lib/cloud/instance/scripts/NAME, as cloud-init runs them), and the
// image's own per-boot / per-instance / per-once directories. Each script is
// run by its own interpreter (#!), chrooted under --root, its output appended
// to the output log, its exit code logged; each gets its own semaphore, so a
// boot cut short does not run a finished script again.
import type { Context } from '../context.ts';
import { describeExit } from '../host/run.ts';
import { layout } from '../state/layout.ts';
import { alreadyDone, markDone } from '../state/semaphore.ts';
import type { Frequency } from '../types.ts';
import type { Module, ModuleRun } from './module.ts';
import { now } from '../host/clock.ts';

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
function runPath(ctx: Context, instanceId: string, which: Which, dir: string, name: string): string {
  if (which !== 'user' && which !== 'vendor') return `${dir}/${name}`;
  const target = ctx.files.readlink(layout.instanceLink)?.replace(/\/+$/, '');
  const here = target === `instances/${instanceId}` || target === layout.instance(instanceId);
  if (!here) return `${dir}/${name}`;
  return `${layout.instanceLink}${dir.slice(layout.instance(instanceId).length)}/${name}`;
}

async function runScripts(ctx: Context, instanceId: string, which: Which, freq: Frequency, where: string): Promise<void> {
  const dir = scriptDir(instanceId, which);
  for (const name of ctx.files.list(dir)) {
    if (ctx.files.isDirectory(`${dir}/${name}`)) continue;
    const path = runPath(ctx, instanceId, which, dir, name);
    const sem = `script-${which}-${name}`;
    if (alreadyDone(ctx, instanceId, sem, freq)) { ctx.log.debug(`${where}: ${name} already ran (${freq})`); continue; }
    const started = now();
    const r = await ctx.run([path], { env: { INSTANCE_ID: instanceId } });
    const ms = (now() - started).toFixed(0);
    if (r.code === 0) ctx.log.info(`${where}: ${path}: exit 0 (${ms} ms)`);
    else ctx.report('error', `${where} ${path}`, `${describeExit(r)}${r.stderr ? `: ${r.stderr.trim()}` : ''} (${ms} ms; output in ${layout.outputLog})`);
    markDone(ctx, instanceId, sem, freq);
  }
}

function scriptsModule(name: string, which: Which, freq: Frequency): Module {
  return {
    name,
    stage: 'final',
    frequency: freq,
    keys: [],
    ownSemaphores: true,
    describe: ({ ctx, instanceId, plannedFiles }: ModuleRun) => {
      const dir = scriptDir(instanceId, which);
      const planned = (plannedFiles ?? []).filter((p) => p.startsWith(`${dir}/`)).map((p) => p.slice(dir.length + 1));
      return [...new Set([...ctx.files.list(dir), ...planned])].sort().map((f) => `run ${dir}/${f}`);
    },
    // The semaphores are per script, so the module itself runs every time it is reached.
    run: ({ ctx, instanceId, where, frequency }: ModuleRun) => runScripts(ctx, instanceId, which, frequency ?? freq, where),
  };
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
