// lvm: the specification's "create an lvm volume on boot". cloud-init has no
// such module; its keys are ec2-init's own:
//
//   lvm:
//     volume_groups:
//       - name: data                    # the volume group
//         devices: [/dev/vdb, ephemeral0, my_alias]   # its physical volumes
//         logical_volumes:
//           - name: srv                 # /dev/data/srv
//             size: 10G                 # lvcreate -L 10G; '100%FREE', '50%VG' → lvcreate -l
//             filesystem: ext4          # optional: mkfs.ext4 when it has no filesystem
//             label: srv                # optional
//             mount: /data              # optional: an fstab line and a mount
//             mount_options: defaults,nofail   # optional
//
// Idempotent and never destructive: what exists (pvs/vgs/lvs --reportformat
// json) is kept; a device becomes a physical volume only when blkid -p finds
// nothing on it (no filesystem, partition table, RAID or LUKS signature); an
// LV is formatted only when it has no filesystem; a run with the same config
// changes nothing. Its fstab lines carry `comment=ec2-init-lvm`, so the
// mounts module (which owns comment=cloudconfig lines) leaves them alone and
// a re-run replaces only its own. Everything but the fstab needs the running
// system's disks: under --root it is planned and skipped.
import { describeExit } from '../host/run.ts';
import type { Context } from '../context.ts';
import {
  describeProbe, deviceAliases, deviceNameToDevice, fstabLine, hasData, mountedPoints, probeDevice, realDevice,
} from './disk-devices.ts';
import { formatFilesystem } from './disk_setup.ts';
import { onRunningSystem } from './helpers.ts';
import { usesSystemd, which } from '../host/root-facts.ts';
import { shellQuote, type Module, type ModuleRun, type Schema } from './module.ts';

export const LVM_COMMENT = 'comment=ec2-init-lvm';
const FSTAB = '/etc/fstab';
const NAME = '^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$';
const SIZE = '^([0-9]+(\\.[0-9]+)?[bBsSkKmMgGtTpPeE]?|[0-9]+%(FREE|VG|PVS))$';

const LV_SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'size'],
  properties: {
    name: { type: 'string', pattern: NAME, description: 'the logical volume: /dev/<vg>/<name>' },
    size: { type: ['string', 'integer'], pattern: SIZE, description: "lvcreate -L (10G, 512M; a number is MiB) or -l ('100%FREE', '50%VG')" },
    filesystem: { type: 'string', description: 'mkfs.<filesystem> on it, unless it has a filesystem' },
    label: { type: 'string' },
    mount: { type: 'string', pattern: '^/', description: 'mount point: an fstab line (comment=ec2-init-lvm) and a mount' },
    mount_options: { type: 'string', description: 'fstab options; default defaults,nofail' },
  },
};

const SCHEMA: Record<string, Schema> = {
  lvm: {
    type: 'object',
    additionalProperties: false,
    required: ['volume_groups'],
    properties: {
      volume_groups: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'devices'],
          properties: {
            name: { type: 'string', pattern: NAME },
            devices: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'block devices, aliases (device_aliases) or metadata names (ephemeral0)' },
            logical_volumes: { type: 'array', items: LV_SCHEMA },
          },
        },
      },
    },
  },
};

export interface LogicalVolume { name: string; size: string; filesystem: string | null; label: string | null; mount: string | null; mountOptions: string }
export interface VolumeGroup { name: string; devices: string[]; lvs: LogicalVolume[] }

const NAME_RE = new RegExp(NAME);
const SIZE_RE = new RegExp(SIZE);

/** The config, checked (names, sizes, mount points): throws naming the bad entry. */
export function parseLvm(value: unknown, resolve: (name: string) => string = (n) => n): VolumeGroup[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('lvm: expected a mapping with volume_groups');
  const vgs = (value as Record<string, unknown>)['volume_groups'];
  if (!Array.isArray(vgs)) throw new Error('lvm: volume_groups must be a list');
  return vgs.map((raw, i) => {
    const v = (raw ?? {}) as Record<string, unknown>;
    const at = `lvm volume group ${i + 1}`;
    if (typeof v['name'] !== 'string' || !NAME_RE.test(v['name'])) throw new Error(`${at}: invalid name ${JSON.stringify(v['name'])}`);
    if (!Array.isArray(v['devices']) || v['devices'].length === 0) throw new Error(`${at} (${v['name']}): devices must be a non-empty list`);
    const lvs = (Array.isArray(v['logical_volumes']) ? v['logical_volumes'] : []).map((lr, j) => {
      const l = (lr ?? {}) as Record<string, unknown>;
      const lat = `${at} (${v['name']}) logical volume ${j + 1}`;
      if (typeof l['name'] !== 'string' || !NAME_RE.test(l['name'])) throw new Error(`${lat}: invalid name ${JSON.stringify(l['name'])}`);
      const size = typeof l['size'] === 'number' ? `${l['size']}m` : l['size'];
      if (typeof size !== 'string' || !SIZE_RE.test(size)) throw new Error(`${lat} (${l['name']}): invalid size ${JSON.stringify(l['size'])} (10G, 512M, 100%FREE, 50%VG)`);
      const mount = typeof l['mount'] === 'string' ? l['mount'] : null;
      if (mount !== null && !mount.startsWith('/')) throw new Error(`${lat} (${l['name']}): mount must be an absolute path`);
      if (mount !== null && typeof l['filesystem'] !== 'string') throw new Error(`${lat} (${l['name']}): a mount needs a filesystem`);
      return {
        name: l['name'], size,
        filesystem: typeof l['filesystem'] === 'string' ? l['filesystem'] : null,
        label: typeof l['label'] === 'string' ? l['label'] : null,
        mount,
        mountOptions: typeof l['mount_options'] === 'string' ? l['mount_options'] : 'defaults,nofail',
      };
    });
    return { name: v['name'], devices: (v['devices'] as unknown[]).map((d) => resolve(String(d))), lvs };
  });
}

/** lvcreate's size option: -l for extents and percentages, -L for sizes. */
export function sizeArgs(size: string): string[] {
  return size.includes('%') ? ['-l', size] : ['-L', size];
}

/** The fstab fields of a logical volume that has a mount point (its options carry the marker). */
function lvFstabFields(vg: VolumeGroup, lv: LogicalVolume): string[] {
  return [`/dev/${vg.name}/${lv.name}`, lv.mount!, lv.filesystem!, `${lv.mountOptions},${LVM_COMMENT}`, '0', '2'];
}

/** Our fstab lines for these volume groups (tab-separated, with the marker). */
export function lvmFstabLines(vgs: VolumeGroup[]): string[] {
  return vgs.flatMap((vg) => vg.lvs.filter((lv) => lv.mount !== null).map((lv) => fstabLine(lvFstabFields(vg, lv))));
}

/** fstab with our old lines replaced by `ours` (other lines untouched); null when nothing changes. */
export function fstabWithLvm(old: string | null, ours: string[]): string | null {
  const kept = (old ?? '').split('\n').filter((l) => !l.includes(LVM_COMMENT));
  while (kept.length && kept[kept.length - 1] === '') kept.pop();
  const next = [...kept, ...ours].join('\n') + '\n';
  return next === (old ?? '') || (old === null && ours.length === 0) ? null : next;
}

/** The commands a first run would take (for plan and the log under --root). */
export function plannedCommands(vgs: VolumeGroup[]): string[] {
  const out: string[] = [];
  for (const vg of vgs) {
    out.push(`pvcreate ${vg.devices.join(' ')} (each only if blkid finds nothing on it)`);
    out.push(`vgcreate ${vg.name} ${vg.devices.join(' ')} (unless it exists)`);
    for (const lv of vg.lvs) {
      out.push(`lvcreate --yes -n ${lv.name} ${sizeArgs(lv.size).join(' ')} ${vg.name} (unless it exists)`);
      if (lv.filesystem) out.push(`mkfs.${lv.filesystem}${lv.label ? ` -L ${shellQuote(lv.label)}` : ''} /dev/${vg.name}/${lv.name} (unless it has a filesystem)`);
      if (lv.mount) out.push(`fstab: ${lvFstabFields(vg, lv).join(' ')}; mount ${lv.mount}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Effects (root / only)

interface LvmState { pvs: Map<string, string>; vgs: Set<string>; lvs: Set<string> }

async function report<T>(ctx: Context, argv: string[], key: string): Promise<T[]> {
  const r = await ctx.capture([...argv, '--reportformat', 'json']);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${describeExit(r)}): ${r.stderr.trim()}`);
  const json = JSON.parse(r.stdout) as { report?: Array<Record<string, T[]>> };
  return json.report?.[0]?.[key] ?? [];
}

/** What LVM knows now: PV → its VG ('' for none), the VGs, the LVs as vg/lv. */
async function lvmState(ctx: Context): Promise<LvmState> {
  const pvs = await report<{ pv_name: string; vg_name: string }>(ctx, ['pvs', '-o', 'pv_name,vg_name'], 'pv');
  const vgs = await report<{ vg_name: string }>(ctx, ['vgs', '-o', 'vg_name'], 'vg');
  const lvs = await report<{ lv_name: string; vg_name: string }>(ctx, ['lvs', '-o', 'lv_name,vg_name'], 'lv');
  return {
    pvs: new Map(pvs.map((p) => [realDevice(ctx, p.pv_name), p.vg_name])),
    vgs: new Set(vgs.map((v) => v.vg_name)),
    lvs: new Set(lvs.map((l) => `${l.vg_name}/${l.lv_name}`)),
  };
}

/** Make each device a PV if it is safe to; false (reported) when one is not. */
async function preparePvs(ctx: Context, at: string, vg: VolumeGroup, state: LvmState, devices: string[]): Promise<boolean> {
  for (const device of devices) {
    const owner = state.pvs.get(device);
    if (owner !== undefined) {
      if (owner !== '' && owner !== vg.name) { ctx.report('error', at, `${device} belongs to volume group ${owner} already: ${vg.name} not changed`); return false; }
      continue;
    }
    if (!ctx.files.exists(device)) { ctx.report('error', at, `${device} does not exist: ${vg.name} not changed`); return false; }
    const probe = await probeDevice(ctx, device);
    if (hasData(probe)) { ctx.report('error', at, `${device} has ${describeProbe(probe)}: not made a physical volume (ec2-init never destroys data); ${vg.name} not changed`); return false; }
  }
  for (const device of devices) {
    if (state.pvs.has(device)) continue;
    if (!(await ctx.runChecked(at, ['pvcreate', device]))) return false;
    state.pvs.set(device, '');
    ctx.log.info(`${at}: pvcreate ${device}`);
  }
  return true;
}

async function applyVg(ctx: Context, where: string, vg: VolumeGroup, state: LvmState, fstab: string[]): Promise<void> {
  const at = `${where} ${vg.name}`;
  const devices = vg.devices.map((d) => realDevice(ctx, d));
  if (!state.vgs.has(vg.name)) {
    if (!(await preparePvs(ctx, at, vg, state, devices))) return;
    if (!(await ctx.runChecked(at, ['vgcreate', vg.name, ...devices]))) return;
    state.vgs.add(vg.name);
    ctx.log.info(`${at}: vgcreate ${vg.name} ${devices.join(' ')}`);
  } else {
    const missing = devices.filter((d) => state.pvs.get(d) !== vg.name);
    if (missing.length) {
      // A device added to the config: the group grows (vgextend), never shrinks.
      if (!(await preparePvs(ctx, at, vg, state, missing))) return;
      if (!(await ctx.runChecked(at, ['vgextend', vg.name, ...missing]))) return;
      ctx.log.info(`${at}: vgextend ${vg.name} ${missing.join(' ')}`);
    } else ctx.log.info(`${at}: volume group exists with its devices`);
  }
  for (const lv of vg.lvs) {
    const lat = `${at}/${lv.name}`;
    const path = `/dev/${vg.name}/${lv.name}`;
    if (state.lvs.has(`${vg.name}/${lv.name}`)) ctx.log.info(`${lat}: logical volume exists`);
    else {
      if (!(await ctx.runChecked(lat, ['lvcreate', '--yes', '-n', lv.name, ...sizeArgs(lv.size), vg.name]))) continue;
      state.lvs.add(`${vg.name}/${lv.name}`);
      ctx.log.info(`${lat}: lvcreate ${sizeArgs(lv.size).join(' ')}`);
      if (which(ctx.files, 'udevadm')) await ctx.capture(['udevadm', 'settle']);
    }
    if (lv.filesystem) {
      try {
        await formatFilesystem(ctx, lat, { filesystem: lv.filesystem, label: lv.label, overwrite: false, replaceFs: null, extraOpts: [], cmd: null, device: path }, path);
      } catch (e) { ctx.report('error', lat, (e as Error).message); continue; }
    }
    if (lv.mount) fstab.push(fstabLine(lvFstabFields(vg, lv)));
  }
}

function volumeGroups(r: ModuleRun): VolumeGroup[] {
  const aliases = deviceAliases(r.config);
  return parseLvm(r.config['lvm'], (name) => {
    const alias = aliases[name] ?? name;
    return deviceNameToDevice(r.ctx, r.source, alias) ?? (alias.startsWith('/') ? alias : `/dev/${alias}`);
  });
}

async function run(r: ModuleRun): Promise<void> {
  const { ctx, where } = r;
  const vgs = volumeGroups(r);
  if (!onRunningSystem(ctx, where, plannedCommands(vgs).join('; '), { essential: true })) return;
  for (const tool of ['pvcreate', 'vgcreate', 'lvcreate', 'pvs']) {
    if (!which(ctx.files, tool)) throw new Error(`${tool} is missing: install lvm2`);
  }
  const state = await lvmState(ctx);
  const fstab: string[] = [];
  for (const vg of vgs) {
    try { await applyVg(ctx, where, vg, state, fstab); } catch (e) { ctx.report('error', `${where} ${vg.name}`, (e as Error).message); }
  }
  const old = ctx.files.readTextIfExists(FSTAB) ?? null;
  const next = fstabWithLvm(old, fstab);
  if (next !== null) {
    ctx.files.write(FSTAB, next, { mode: 0o644 });
    ctx.log.info(`${where}: ${FSTAB}: ${fstab.length} line(s) of ours`);
  }
  const mounted = mountedPoints();
  const mounts = vgs.flatMap((vg) => vg.lvs.filter((lv) => lv.mount && fstab.some((l) => l.startsWith(`/dev/${vg.name}/${lv.name}\t`))).map((lv) => lv.mount!));
  if (next !== null && usesSystemd(ctx.files, { installed: ctx.root !== '/' })) await ctx.runChecked(where, ['systemctl', 'daemon-reload']);
  for (const mp of mounts) {
    if (mounted.has(mp)) { ctx.log.info(`${where}: ${mp} is mounted already`); continue; }
    ctx.files.mkdir(mp);
    if (await ctx.runChecked(where, ['mount', mp])) ctx.log.info(`${where}: mounted ${mp}`);
  }
}

export const lvm: Module = {
  name: 'lvm',
  stage: 'init',
  frequency: 'per-instance',
  keys: ['lvm'],
  schema: SCHEMA,
  describe: (r) => {
    let lines: string[];
    try { lines = plannedCommands(volumeGroups(r)); } catch (e) { return [`invalid: ${(e as Error).message}`]; }
    return r.ctx.root === '/' ? lines : lines.map((l) => `skipped with --root: ${l}`);
  },
  run,
};
