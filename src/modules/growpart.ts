// growpart (cloud-init's cc_growpart): grow the partition that holds / (or
// the given devices and mount points) to fill its disk, with growpart from
// cloud-guest-utils, every boot (a disk enlarged while the instance was
// stopped grows at the next boot). It runs without any config, as in
// cloud-init: mode auto, devices ['/']. Growing a partition is an effect on
// the running system's disks: under --root it is planned and skipped.
import type { Action } from '../host/actions.ts';
import { describeExit } from '../host/run.ts';
import { deviceOfMount, diskQuery, leftForRunningSystem, mountTable, realDevice } from './disk-devices.ts';
import { isFalse } from './helpers.ts';
import { which } from '../host/root-facts.ts';
import { actionModule, type ActionRun, type ReadFiles, type Schema } from './module.ts';

const DISABLED_FILE = '/etc/growroot-disabled';

const SCHEMA: Record<string, Schema> = {
  growpart: {
    type: 'object',
    additionalProperties: false,
    properties: {
      mode: { oneOf: [{ enum: ['auto', 'growpart', 'gpart', 'off'] }, { enum: [false], deprecated: "mode: false is deprecated (cloud-init 22.3): use 'off'" }] },
      devices: { type: 'array', items: { type: 'string' } },
      ignore_growroot_disabled: { type: 'boolean' },
    },
  },
};

interface GrowConfig { mode: string; devices: string[]; ignoreDisabled: boolean }

export function growConfig(value: unknown): GrowConfig {
  const c = value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : {};
  const mode = c['mode'] === undefined ? 'auto' : isFalse(c['mode']) ? 'off' : String(c['mode']);
  const devices = Array.isArray(c['devices']) ? c['devices'].map(String) : ['/'];
  return { mode, devices, ignoreDisabled: c['ignore_growroot_disabled'] === true };
}

type Root = { files: ReadFiles };

/** The disk and partition number of a partition device (/dev/vda1 → /dev/vda, 1), from sysfs; null when it is no partition. */
export function diskAndPartition(ctx: Root, device: string): { disk: string; partition: string } | null {
  const name = realDevice(ctx, device).split('/').pop()!;
  const partition = ctx.files.readTextIfExists(`/sys/class/block/${name}/partition`)?.trim();
  if (!partition) return null;
  // /sys/class/block/vda1 → …/block/vda/vda1: the disk is the parent directory (resolved first: '..' is lexical).
  const disk = realDevice(ctx, `/sys/class/block/${name}`).split('/').slice(-2)[0]!;
  return { disk: `/dev/${disk}`, partition };
}

/** The block device behind a mount point or device path of the running system. */
function blockDeviceOf(ctx: Root, spec: string): string | null {
  if (spec.startsWith('/dev/')) return ctx.files.exists(spec) ? realDevice(ctx, spec) : null;
  const table = mountTable();
  const m = [...table].reverse().find((e) => e.mountpoint === spec);
  return m ? deviceOfMount(ctx, m) : null;
}

function sectors(ctx: Root, device: string): string {
  return ctx.files.readTextIfExists(`/sys/class/block/${device.split('/').pop()}/size`)?.trim() ?? '?';
}

/** One device or mount point: growpart when its dry run says it can grow (the dry run is a fact of the running system). */
async function grow(run: ActionRun, spec: string, mode: string): Promise<Action[]> {
  const at = `${run.where} ${spec}`;
  const device = blockDeviceOf(run, spec);
  if (device === null) return [{ kind: 'log', text: `${at}: no block device found for it: not grown` }];
  const dp = diskAndPartition(run, device);
  if (dp === null) return [{ kind: 'log', text: `${at}: ${device} is not a partition: nothing to grow` }];
  const dry = await diskQuery(run, ['growpart', '--dry-run', dp.disk, dp.partition]);
  if (dry === null) return [leftForRunningSystem(`growpart the partition of ${spec} (mode ${mode})`, false)];
  if (dry.code === 1 && /NOCHANGE/.test(dry.stdout + dry.stderr)) return [{ kind: 'log', text: `${at}: ${device} fills its disk already (NOCHANGE)` }];
  if (dry.code !== 0) {
    return [{ kind: 'report', level: 'error', message: `${spec}: growpart --dry-run ${dp.disk} ${dp.partition} failed (${describeExit(dry)}): ${(dry.stdout + dry.stderr).trim()}` }];
  }
  const before = sectors(run, device);
  return [{
    kind: 'run', argv: ['growpart', dp.disk, dp.partition], why: `grow ${device}`, runningSystem: 'optional',
    then: () => [{ kind: 'log', text: `${at}: ${device} grown from ${before} to ${sectors(run, device)} sectors` }],
  }];
}

export const growpart = actionModule<GrowConfig>({
  name: 'growpart',
  stage: 'init',
  frequency: 'per-boot',
  keys: [],
  schema: SCHEMA,
  // mode off: nothing to do.
  check: (config) => { const cfg = growConfig(config['growpart']); return cfg.mode === 'off' ? null : cfg; },
  async actions(cfg, run): Promise<Action[]> {
    const { files, where, root, report } = run;
    if (!cfg.ignoreDisabled && files.exists(DISABLED_FILE)) return [{ kind: 'log', text: `${where}: disabled by ${DISABLED_FILE}`, why: `disabled by ${DISABLED_FILE}` }];
    // The running system's disks only: under --root, each is left for it.
    if (root !== '/') return cfg.devices.map((d) => leftForRunningSystem(`growpart the partition of ${d} (mode ${cfg.mode})`, false));
    if (cfg.mode === 'gpart') { report('error', "growpart.mode: gpart is FreeBSD's tool: use auto or growpart"); return []; }
    if (!which(files, 'growpart')) {
      if (cfg.mode === 'growpart') { report('error', 'growpart is missing (install cloud-guest-utils)'); return []; }
      return [{ kind: 'log', text: `${where}: no growpart on this system (cloud-guest-utils): nothing grown` }];
    }
    const out: Action[] = [];
    for (const spec of cfg.devices) out.push(...(await grow(run, spec, cfg.mode)).map((a) => ({ ...a, unit: spec })));
    return out;
  },
});
