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
// a re-run replaces only its own. What LVM and the disks hold is asked of the
// running system (pvs/vgs/lvs, blkid -p); under --root (and in `plan`) the
// whole is a note left for the running system, and the module is not marked
// done.
import { fstabEntry } from '../validate/files.ts';
import type { Action } from '../host/actions.ts';
import { describeExit } from '../host/run.ts';
import {
  describeProbe, deviceAliases, deviceNameToDevice, diskQuery, fstabLine, hasData, leftForRunningSystem, mountedPoints,
  parseProbe, probeArgv, realDevice,
} from './disk-devices.ts';
import { formatActions } from './disk_setup.ts';
import { usesSystemd, which } from '../host/root-facts.ts';
import { actionModule, shellQuote, type ActionRun, type Schema } from './module.ts';

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
      const lv = {
        name: l['name'], size,
        filesystem: typeof l['filesystem'] === 'string' ? l['filesystem'] : null,
        label: typeof l['label'] === 'string' ? l['label'] : null,
        mount,
        mountOptions: typeof l['mount_options'] === 'string' ? l['mount_options'] : 'defaults,nofail',
      };
      // Its fstab line passes the one fstab validator (mounts' too): a newline or space in a value is no second line.
      if (mount !== null) {
        const line = fstabEntry(lvFstabFields({ name: v['name'] } as VolumeGroup, lv));
        if (!line.ok) throw new Error(`${lat} (${l['name']}): its fstab line: ${line.why}`);
      }
      return lv;
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
// Actions (the running system only)

interface LvmState { pvs: Map<string, string>; vgs: Set<string>; lvs: Set<string> }

async function lvmReport<T>(run: ActionRun, argv: string[], key: string): Promise<T[] | null> {
  const r = await diskQuery(run, [...argv, '--reportformat', 'json']);
  if (r === null) return null;
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${describeExit(r)}): ${r.stderr.trim()}`);
  const json = JSON.parse(r.stdout) as { report?: Array<Record<string, T[]>> };
  return json.report?.[0]?.[key] ?? [];
}

/** What LVM knows now: PV → its VG ('' for none), the VGs, the LVs as vg/lv (null: not asked here). */
async function lvmState(run: ActionRun): Promise<LvmState | null> {
  const pvs = await lvmReport<{ pv_name: string; vg_name: string }>(run, ['pvs', '-o', 'pv_name,vg_name'], 'pv');
  const vgs = await lvmReport<{ vg_name: string }>(run, ['vgs', '-o', 'vg_name'], 'vg');
  const lvs = await lvmReport<{ lv_name: string; vg_name: string }>(run, ['lvs', '-o', 'lv_name,vg_name'], 'lv');
  if (pvs === null || vgs === null || lvs === null) return null;
  return {
    pvs: new Map(pvs.map((p) => [realDevice(run, p.pv_name), p.vg_name])),
    vgs: new Set(vgs.map((v) => v.vg_name)),
    lvs: new Set(lvs.map((l) => `${l.vg_name}/${l.lv_name}`)),
  };
}

/** pvcreate for each device that is not a PV yet, when it is safe to: a string says why not (null: not asked here). */
async function pvActions(run: ActionRun, vg: VolumeGroup, state: LvmState, devices: string[]): Promise<Action[] | string | null> {
  for (const device of devices) {
    const owner = state.pvs.get(device);
    if (owner !== undefined) {
      if (owner !== '' && owner !== vg.name) return `${device} belongs to volume group ${owner} already: ${vg.name} not changed`;
      continue;
    }
    if (!run.files.exists(device)) return `${device} does not exist: ${vg.name} not changed`;
    const r = await diskQuery(run, probeArgv(device));
    if (r === null) return null;
    const probe = parseProbe(r, device);
    if (hasData(probe)) return `${device} has ${describeProbe(probe)}: not made a physical volume (ec2-init never destroys data); ${vg.name} not changed`;
  }
  return devices.filter((d) => !state.pvs.has(d)).flatMap((device): Action[] => {
    state.pvs.set(device, '');
    return [
      { kind: 'run', argv: ['pvcreate', device], runningSystem: 'essential' },
      { kind: 'log', text: `${run.where} ${vg.name}: pvcreate ${device}` },
    ];
  });
}

/** One volume group: its PVs and the group, its LVs and their filesystems (null: not asked here). */
async function vgActions(run: ActionRun, vg: VolumeGroup, state: LvmState): Promise<Action[] | null> {
  const { where, files, report } = run;
  const at = `${where} ${vg.name}`;
  const devices = vg.devices.map((d) => realDevice(run, d));
  const out: Action[] = [];
  const missing = state.vgs.has(vg.name) ? devices.filter((d) => state.pvs.get(d) !== vg.name) : devices;
  if (missing.length) {
    const pvs = await pvActions(run, vg, state, missing);
    if (pvs === null) return null;
    if (typeof pvs === 'string') { report('error', pvs); return []; }
    out.push(...pvs);
    // A device added to the config: the group grows (vgextend), never shrinks.
    const verb = state.vgs.has(vg.name) ? 'vgextend' : 'vgcreate';
    out.push({ kind: 'run', argv: [verb, vg.name, ...missing], runningSystem: 'essential' }, { kind: 'log', text: `${at}: ${verb} ${vg.name} ${missing.join(' ')}` });
  } else out.push({ kind: 'log', text: `${at}: volume group exists with its devices` });
  for (const lv of vg.lvs) {
    const lat = `${at}/${lv.name}`;
    const path = `/dev/${vg.name}/${lv.name}`;
    if (state.lvs.has(`${vg.name}/${lv.name}`)) out.push({ kind: 'log', text: `${lat}: logical volume exists` });
    else {
      out.push(
        {
          kind: 'run', argv: ['lvcreate', '--yes', '-n', lv.name, ...sizeArgs(lv.size), vg.name], runningSystem: 'essential', logOutput: true,
          // Its fstab line only once the volume is there: a failed lvcreate (its unit stops) writes none.
          then: (r): Action[] => (r.code === 0 && lv.mount
            ? [{ kind: 'append', path: FSTAB, content: `${fstabLine(lvFstabFields(vg, lv))}\n`, mode: 0o644, why: `the fstab line of ${path}` }] : []),
        },
        { kind: 'log', text: `${lat}: lvcreate ${sizeArgs(lv.size).join(' ')}` },
        ...(which(files, 'udevadm') ? [{ kind: 'run', argv: ['udevadm', 'settle'], failure: 'ignore' } as Action] : []),
      );
    }
    if (lv.filesystem) {
      const def = { filesystem: lv.filesystem, label: lv.label, overwrite: false, replaceFs: null, extraOpts: [], cmd: null, device: path };
      // Read when its turn comes: the volume may just have been made.
      out.push({
        kind: 'run', argv: probeArgv(path), failure: 'ignore', why: `what is on ${path}`,
        then: (r): Action[] => {
          try { return formatActions(files, lat, def, path, parseProbe(r, path), { runningSystem: 'essential' }); } catch (e) {
            return [{ kind: 'report', level: 'error', message: `${vg.name}/${lv.name}: ${(e as Error).message}` }];
          }
        },
      });
    }
  }
  return out.map((a) => ({ ...a, unit: `volume group ${vg.name}` }));
}

/** The config's volume groups with their devices as paths (aliases and metadata names resolved). */
function resolved(run: ActionRun, vgs: VolumeGroup[]): VolumeGroup[] {
  const aliases = deviceAliases(run.config);
  return vgs.map((vg) => ({
    ...vg,
    devices: vg.devices.map((name) => {
      const alias = aliases[name] ?? name;
      return deviceNameToDevice(run, run.source, alias) ?? (alias.startsWith('/') ? alias : `/dev/${alias}`);
    }),
  }));
}

export const lvm = actionModule<VolumeGroup[]>({
  name: 'lvm',
  stage: 'init',
  frequency: 'per-instance',
  keys: ['lvm'],
  schema: SCHEMA,
  check(config, report) {
    try { return parseLvm(config['lvm']); } catch (e) { report('error', (e as Error).message); return null; }
  },
  async actions(value, run): Promise<Action[]> {
    const { files, where, root, report } = run;
    const vgs = resolved(run, value);
    const left = [leftForRunningSystem(plannedCommands(vgs).join('; '), true)];
    if (root !== '/') return left;
    for (const tool of ['pvcreate', 'vgcreate', 'lvcreate', 'pvs']) {
      if (!which(files, tool)) { report('error', `${tool} is missing: install lvm2`); return []; }
    }
    const state = await lvmState(run);
    if (state === null) return left;
    // fstab first: our old lines replaced by those of the volumes that exist; a new
    // volume's line is appended by its lvcreate's `then`, once the volume is there.
    const existing = vgs.map((vg) => ({ ...vg, lvs: vg.lvs.filter((lv) => state.lvs.has(`${vg.name}/${lv.name}`)) }));
    const ours = lvmFstabLines(existing);
    const next = fstabWithLvm(files.readTextIfExists(FSTAB) ?? null, ours);
    const out: Action[] = [];
    if (next !== null) out.push({ kind: 'write', path: FSTAB, content: next, mode: 0o644 }, { kind: 'log', text: `${where}: ${FSTAB}: ${ours.length} line(s) of ours` });
    for (const vg of vgs) {
      let made: Action[] | null;
      try { made = await vgActions(run, vg, state); } catch (e) { report('error', `${vg.name}: ${(e as Error).message}`); continue; }
      if (made === null) return left;
      out.push(...made);
    }
    // Then the mounts (a volume whose creation failed is reported, and has no fstab line to mount by).
    const added = lvmFstabLines(vgs).length > ours.length;
    if ((next !== null || added) && usesSystemd(files)) out.push({ kind: 'run', argv: ['systemctl', 'daemon-reload'] });
    const mounted = mountedPoints();
    for (const mp of vgs.flatMap((vg) => vg.lvs.flatMap((lv) => (lv.mount ? [lv.mount] : [])))) {
      if (mounted.has(mp)) { out.push({ kind: 'log', text: `${where}: ${mp} is mounted already` }); continue; }
      out.push({ kind: 'mkdir', path: mp, mode: 0o755, unit: `mount ${mp}` }, { kind: 'run', argv: ['mount', mp], unit: `mount ${mp}` }, { kind: 'log', text: `${where}: mounted ${mp}`, unit: `mount ${mp}` });
    }
    return out;
  },
});
