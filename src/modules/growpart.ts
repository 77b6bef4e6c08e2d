// growpart (cloud-init's cc_growpart): grow the partition that holds / (or
// the given devices and mount points) to fill its disk, with growpart from
// cloud-guest-utils, every boot (a disk enlarged while the instance was
// stopped grows at the next boot). It runs without any config, as in
// cloud-init: mode auto, devices ['/']. Growing a partition is an effect on
// the running system's disks: under --root it is planned and skipped.
import type { Context } from '../context.ts';
import { describeExit } from '../host/run.ts';
import { deviceOfMount, mountTable, realDevice } from './disk-devices.ts';
import { isFalse, onRunningSystem } from './helpers.ts';
import { which } from '../host/root-facts.ts';
import type { Module, ModuleRun, Schema } from './module.ts';

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

/** The disk and partition number of a partition device (/dev/vda1 → /dev/vda, 1), from sysfs; null when it is no partition. */
export function diskAndPartition(ctx: Context, device: string): { disk: string; partition: string } | null {
  const name = realDevice(ctx, device).split('/').pop()!;
  const partition = ctx.files.readTextIfExists(`/sys/class/block/${name}/partition`)?.trim();
  if (!partition) return null;
  // /sys/class/block/vda1 → …/block/vda/vda1: the disk is the parent directory (resolved first: '..' is lexical).
  const disk = realDevice(ctx, `/sys/class/block/${name}`).split('/').slice(-2)[0]!;
  return { disk: `/dev/${disk}`, partition };
}

/** The block device behind a mount point or device path of the running system. */
function blockDeviceOf(ctx: Context, spec: string): string | null {
  if (spec.startsWith('/dev/')) return ctx.files.exists(spec) ? realDevice(ctx, spec) : null;
  const table = mountTable();
  const m = [...table].reverse().find((e) => e.mountpoint === spec);
  return m ? deviceOfMount(ctx, m) : null;
}

function sectors(ctx: Context, device: string): string {
  return ctx.files.readTextIfExists(`/sys/class/block/${device.split('/').pop()}/size`)?.trim() ?? '?';
}

async function grow(ctx: Context, where: string, spec: string): Promise<void> {
  const at = `${where} ${spec}`;
  const device = blockDeviceOf(ctx, spec);
  if (device === null) { ctx.log.info(`${at}: no block device found for it: not grown`); return; }
  const dp = diskAndPartition(ctx, device);
  if (dp === null) { ctx.log.info(`${at}: ${device} is not a partition: nothing to grow`); return; }
  const before = sectors(ctx, device);
  const dry = await ctx.capture(['growpart', '--dry-run', dp.disk, dp.partition]);
  if (dry.code === 1 && /NOCHANGE/.test(dry.stdout + dry.stderr)) { ctx.log.info(`${at}: ${device} fills its disk already (NOCHANGE)`); return; }
  if (dry.code !== 0) throw new Error(`growpart --dry-run ${dp.disk} ${dp.partition} failed (${describeExit(dry)}): ${(dry.stdout + dry.stderr).trim()}`);
  const r = await ctx.capture(['growpart', dp.disk, dp.partition]);
  if (r.code !== 0) throw new Error(`growpart ${dp.disk} ${dp.partition} failed (${describeExit(r)}): ${(r.stdout + r.stderr).trim()}`);
  ctx.log.info(`${at}: ${device} grown from ${before} to ${sectors(ctx, device)} sectors`);
}

function planned(r: ModuleRun): string[] {
  const cfg = growConfig(r.config['growpart']);
  if (cfg.mode === 'off') return ['mode off: nothing'];
  if (!cfg.ignoreDisabled && r.ctx.files.exists(DISABLED_FILE)) return [`disabled by ${DISABLED_FILE}`];
  return cfg.devices.map((d) => `growpart the partition of ${d} (mode ${cfg.mode})`);
}

async function run(r: ModuleRun): Promise<void> {
  const { ctx, where } = r;
  const cfg = growConfig(r.config['growpart']);
  if (cfg.mode === 'off') { ctx.log.debug(`${where}: mode off`); return; }
  if (!cfg.ignoreDisabled && ctx.files.exists(DISABLED_FILE)) { ctx.log.info(`${where}: disabled by ${DISABLED_FILE}`); return; }
  if (!onRunningSystem(ctx, where, planned(r).join('; '))) return;
  if (cfg.mode === 'gpart') throw new Error("mode gpart is FreeBSD's tool: use auto or growpart");
  if (!which(ctx.files, 'growpart')) {
    if (cfg.mode === 'growpart') throw new Error('growpart is missing (install cloud-guest-utils)');
    ctx.log.info(`${where}: no growpart on this system (cloud-guest-utils): nothing grown`);
    return;
  }
  for (const spec of cfg.devices) {
    try { await grow(ctx, where, spec); } catch (e) { ctx.report('error', `${where} ${spec}`, (e as Error).message); }
  }
}

export const growpart: Module = {
  name: 'growpart',
  stage: 'init',
  frequency: 'per-boot',
  keys: [],
  schema: SCHEMA,
  describe: (r) => planned(r).map((l) => (r.ctx.root === '/' || !l.startsWith('growpart ') ? l : `skipped with --root: ${l}`)),
  run,
};
