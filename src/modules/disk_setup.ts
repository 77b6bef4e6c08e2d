// disk_setup / fs_setup / device_aliases (cloud-init's cc_disk_setup):
// partition tables and filesystems on the instance's extra disks. Devices are
// paths, aliases (device_aliases) or metadata names (ephemeral0, swap), and
// 'name.N' means partition N of that disk.
//
// Safety first, stricter than cloud-init: a disk that has a partition table
// or any signature is never partitioned, and a device with any signature is
// never formatted, unless the entry says `overwrite: true` (or, for fs_setup,
// `replace_fs` names the filesystem found). A device that already has the
// requested filesystem and label is left alone, so a new instance from an
// image of this one keeps its data.
//
// What the disks hold (lsblk, sfdisk --json, blkid -p, their size) is asked
// of the running system before a disk is partitioned; a filesystem's device
// and what is on it are read when its turn comes (a chain of programs, as the
// partitions may just have been made). Partitioning and mkfs need the running
// system's disks: under --root (and in `plan`) each disk and filesystem is a
// note left for it, and the module is not marked done.
import type { Action } from '../host/actions.ts';
import { applyActions } from '../host/apply-actions.ts';
import { describeExit, type RunResult } from '../host/run.ts';
import type { Context } from '../context.ts';
import {
  describeProbe, deviceAliases, deviceNameToDevice, diskQuery, expandDotted, hasData, leftForRunningSystem, nthPartition,
  parseProbe, probeArgv, probeDevice, realDevice, type Probe,
} from './disk-devices.ts';
import { which } from '../host/root-facts.ts';
import { actionModule, shellQuote, type ActionRun, type ReadFiles, type Schema } from './module.ts';
import { applyEnv } from './run-module.ts';

const SCHEMA: Record<string, Schema> = {
  device_aliases: { type: 'object', additionalProperties: { type: 'string' } },
  disk_setup: {
    type: 'object',
    additionalProperties: {
      type: 'object',
      additionalProperties: false,
      properties: {
        table_type: { enum: ['mbr', 'gpt'] },
        layout: {
          oneOf: [
            { enum: ['remove'] },
            { type: 'boolean' },
            { type: 'array', items: { oneOf: [{ type: 'integer' }, { type: 'array', items: { type: ['integer', 'string'] }, minItems: 2 }] } },
          ],
        },
        overwrite: { type: 'boolean' },
      },
    },
  },
  fs_setup: {
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      properties: {
        label: { type: 'string' },
        filesystem: { type: 'string' },
        device: { type: 'string' },
        partition: { oneOf: [{ type: 'integer' }, { type: 'string', pattern: '^([0-9]+|auto|any|none)$' }] },
        overwrite: { type: 'boolean' },
        replace_fs: { type: 'string' },
        extra_opts: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
        cmd: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
      },
    },
  },
};

// ---------------------------------------------------------------------------
// Decisions (pure: unit-tested)

export interface FsWant { filesystem: string | null; label: string | null; overwrite: boolean; replaceFs?: string | null }

/**
 * Whether to make a filesystem on a device, given what a probe found there.
 * Any signature (filesystem, partition table, LVM, RAID, LUKS…) stops it
 * unless overwrite: true, or replace_fs names the filesystem found. The
 * requested filesystem with the requested label is kept even then… unless
 * overwrite: true.
 */
export function fsDecision(found: Probe, want: FsWant): { format: boolean; reason: string; same?: boolean } {
  if (!hasData(found)) return { format: true, reason: 'no filesystem or partition table on it' };
  const same = found.fstype !== null && found.fstype === want.filesystem && (found.label ?? '') === (want.label ?? '');
  if (same && !want.overwrite) return { format: false, same: true, reason: `it has the requested filesystem already (${describeProbe(found)})` };
  if (want.overwrite) return { format: true, reason: `overwrite: true: destroying ${describeProbe(found)}` };
  if (want.replaceFs && found.fstype === want.replaceFs) return { format: true, reason: `replace_fs: ${want.replaceFs}: replacing ${describeProbe(found)}` };
  return { format: false, reason: `it has ${describeProbe(found)}; set overwrite: true to format it anyway` };
}

/** Partition table types as sfdisk takes them for GPT: MBR codes and sgdisk codes → sfdisk's shortcuts. */
const GPT_TYPES: Record<string, string> = {
  '83': 'L', '8300': 'L', '82': 'S', '8200': 'S', '8e': 'V', '8e00': 'V', 'fd': 'R', 'fd00': 'R', 'ef': 'U', 'ef00': 'U', 'ef02': '21686148-6449-6E6F-744E-656564454649',
};
const GPT_GUIDS: Record<string, string> = {
  L: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', S: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F', V: 'E6D6D379-F507-44C2-A23C-238F2A3DF928',
  R: 'A19D880F-05FC-4D3B-A006-743F0F84911E', U: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
};

export type Layout = boolean | 'remove' | Array<number | [number, number | string]>;

/** Each partition's percentage and type (MBR code or GPT type; null = Linux). */
function layoutParts(layout: Layout): Array<{ percent: number; type: string | null }> {
  if (layout === true) return [{ percent: 100, type: null }];
  if (!Array.isArray(layout) || layout.length === 0) throw new Error(`invalid partition layout ${JSON.stringify(layout)}`);
  return layout.map((p) => {
    if (Array.isArray(p)) {
      if (p.length !== 2) throw new Error(`partition ${JSON.stringify(p)} must be [percent, type]`);
      return { percent: Number(p[0]), type: String(p[1]).toLowerCase() };
    }
    return { percent: Number(p), type: null };
  });
}

function gptType(type: string | null): string {
  if (type === null) return 'L';
  if (GPT_TYPES[type]) return GPT_TYPES[type]!;
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(type)) return type.toUpperCase();
  throw new Error(`partition type '${type}' has no GPT equivalent here (use 83, 82, 8e, fd, ef, an sgdisk code such as 8300, or a type GUID)`);
}

/**
 * The sfdisk script for a layout (cloud-init's get_partition_mbr_layout and
 * gpt layout): sizes are percentages of `sectors`; the last partition takes
 * the rest. MBR: at most 4 partitions.
 */
export function sfdiskScript(tableType: 'mbr' | 'gpt', layout: Layout, sectors: number): string {
  const parts = layoutParts(layout);
  if (tableType === 'mbr' && parts.length > 4) throw new Error('an MBR layout has at most 4 partitions (only primary partitions are made)');
  const lines = parts.map((p, i) => {
    const type = tableType === 'mbr' ? (p.type ?? '83') : gptType(p.type);
    const size = i === parts.length - 1 ? '' : String(Math.trunc(sectors * (p.percent / 100)));
    return `,${size},${type}`;
  });
  return `label: ${tableType === 'mbr' ? 'dos' : 'gpt'}\n${lines.join('\n')}\n`;
}

/** Whether the partitions found match the layout (count, and types where the layout gives them). */
export function layoutMatches(tableType: 'mbr' | 'gpt', layout: Layout, found: { label: string; types: string[] } | null): boolean {
  if (found === null || found.types.length === 0) return false;
  if ((tableType === 'mbr') !== (found.label === 'dos')) return false;
  if (layout === true) return true;
  const parts = layoutParts(layout);
  if (parts.length !== found.types.length) return false;
  return parts.every((p, i) => {
    if (p.type === null) return true;
    const have = found.types[i]!.toLowerCase();
    if (tableType === 'mbr') return have.replace(/^0x/, '') === p.type;
    const want = gptType(p.type);
    return have === (GPT_GUIDS[want] ?? want).toLowerCase();
  });
}

export interface BlockEntry { name: string; type: string; fstype: string; label: string }

/**
 * cloud-init's find_device_node for partition auto/any: the first device of
 * the disk (lsblk order) with the filesystem (and, for auto, the label) →
 * reuse it; with replace_fs (any), the first with that filesystem; else the
 * first partition without a filesystem; else the bare disk if nothing on it is used.
 */
export function findDeviceNode(disk: string, entries: BlockEntry[], fsType: string | null, label: string | null, labelMatch: boolean, replaceFs: string | null): { device: string | null; reuse: boolean } {
  let rawUsed = false;
  for (const d of entries) {
    if (replaceFs && d.fstype === replaceFs && !labelMatch) return { device: d.name, reuse: false };
    if (d.fstype === (fsType ?? '') && (!labelMatch || d.label === (label ?? ''))) return { device: d.name, reuse: true };
    if (d.type === 'disk' || d.type === 'part') {
      if (d.type !== 'disk' || d.fstype) rawUsed = true;
      if (d.type === 'part' && !d.fstype) return { device: d.name, reuse: false };
    }
  }
  return rawUsed ? { device: null, reuse: false } : { device: disk, reuse: false };
}

// ---------------------------------------------------------------------------
// The config, checked once (devices are resolved when the actions are made)

interface DiskDef { device: string; origname: string; layout: Layout; tableType: 'mbr' | 'gpt'; overwrite: boolean }
interface FsDef { device: string; origname: string; partition: string; filesystem: string | null; label: string | null; overwrite: boolean; replaceFs: string | null; extraOpts: string[]; cmd: string | string[] | null }
interface DiskSetup { disks: DiskDef[]; fss: FsDef[] }

function checkDisks(config: Record<string, unknown>, report: (level: 'error' | 'warning', m: string) => void): DiskDef[] {
  const ds = config['disk_setup'];
  if (ds === undefined || ds === null) return [];
  if (typeof ds !== 'object' || Array.isArray(ds)) { report('error', `disk_setup: expected a mapping of devices, found ${JSON.stringify(ds)}`); return []; }
  const out: DiskDef[] = [];
  for (const [name, def] of Object.entries(ds as Record<string, unknown>)) {
    if (def === null || typeof def !== 'object' || Array.isArray(def)) { report('warning', `disk_setup ${name}: not a mapping: ignored`); continue; }
    const d = def as Record<string, unknown>;
    const table = d['table_type'] ?? 'mbr';
    if (table !== 'mbr' && table !== 'gpt') { report('warning', `disk_setup ${name}: table_type must be mbr or gpt: ignored`); continue; }
    const layout = (d['layout'] ?? false) as Layout;
    if (layout !== false && layout !== 'remove') {
      try { sfdiskScript(table, layout, 100); } catch (e) { report('warning', `disk_setup ${name}: layout: ${(e as Error).message}: ignored`); continue; }
    }
    out.push({ device: name, origname: name, layout, tableType: table, overwrite: d['overwrite'] === true });
  }
  return out;
}

function checkFs(config: Record<string, unknown>, report: (level: 'error' | 'warning', m: string) => void): FsDef[] {
  const fs = config['fs_setup'];
  if (fs === undefined || fs === null) return [];
  if (!Array.isArray(fs)) { report('error', `fs_setup: expected a list, found ${JSON.stringify(fs)}`); return []; }
  const out: FsDef[] = [];
  fs.forEach((def, i) => {
    const at = `fs_setup entry ${i + 1}`;
    if (def === null || typeof def !== 'object' || Array.isArray(def)) { report('warning', `${at}: not a mapping: ignored`); return; }
    const d = def as Record<string, unknown>;
    if (typeof d['device'] !== 'string') { report('warning', `${at}: no device: ignored`); return; }
    const [dev, part] = expandDotted(d['device']);
    const opts = d['extra_opts'];
    // In 'name.N', N is the partition, whatever 'partition' says.
    const partition = part ?? String(d['partition'] ?? 'any').toLowerCase();
    if (!/^(\d+|auto|any|none)$/.test(partition)) { report('warning', `${at}: invalid partition '${partition}' (a number, auto, any or none): ignored`); return; }
    const cmd = typeof d['cmd'] === 'string' || Array.isArray(d['cmd']) ? (d['cmd'] as string | string[]) : null;
    const filesystem = typeof d['filesystem'] === 'string' ? d['filesystem'] : null;
    if (cmd === null && filesystem === null) { report('warning', `${at}: no way to make the filesystem: give filesystem or cmd: ignored`); return; }
    out.push({
      device: dev, origname: d['device'], partition, filesystem, cmd,
      label: typeof d['label'] === 'string' ? d['label'] : d['label'] === undefined || d['label'] === null ? null : String(d['label']),
      overwrite: d['overwrite'] === true,
      replaceFs: typeof d['replace_fs'] === 'string' ? d['replace_fs'] : null,
      extraOpts: Array.isArray(opts) ? opts.map(String) : typeof opts === 'string' ? opts.split(/\s+/).filter(Boolean) : [],
    });
  });
  return out;
}

/** cloud-init's alias_to_device: the alias's target, through the metadata names. */
function resolver(run: ActionRun): (name: string) => string {
  const aliases = deviceAliases(run.config);
  return (cand) => {
    const alias = aliases[cand];
    return deviceNameToDevice(run, run.source, alias ?? cand) ?? alias ?? cand;
  };
}

/** cloud-init's force flags of mkfs. */
function forceFlag(fs: string): string | null {
  if (fs.toLowerCase().includes('ext')) return '-F';
  return ['btrfs', 'xfs', 'reiserfs', 'swap'].includes(fs.toLowerCase()) ? '-f' : null;
}

/** Python's '%(name)s' substitution of cloud-init's fs_setup cmd. */
function substitute(word: string, vars: Record<string, string | null>): string {
  return word.replace(/%\((\w+)\)s/g, (all, k: string) => (k in vars ? String(vars[k] ?? 'None') : all));
}

/** The mkfs argv (or shell line) for a definition on `device`. */
export function mkfsCommand(def: FsDef | Omit<FsDef, 'origname' | 'partition'>, device: string, force: boolean, mkfsPath?: string): string[] {
  const vars = { label: def.label, filesystem: def.filesystem, device };
  if (typeof def.cmd === 'string') return ['/bin/sh', '-c', substitute(def.cmd, vars)];
  if (Array.isArray(def.cmd)) return def.cmd.map((w) => substitute(w, vars));
  if (!def.filesystem) throw new Error('no way to make the filesystem: give filesystem or cmd');
  const argv = [mkfsPath ?? (def.filesystem === 'swap' ? 'mkswap' : `mkfs.${def.filesystem}`)];
  if (def.label) argv.push('-L', def.label);
  const flag = force ? forceFlag(def.filesystem) : null;
  if (flag) argv.push(flag);
  argv.push(...def.extraOpts, device);
  return argv;
}

// ---------------------------------------------------------------------------
// Actions

const LSBLK = ['lsblk', '--pairs', '--paths', '--output', 'NAME,TYPE,FSTYPE,LABEL'];

/** lsblk --pairs output: one entry per device (the disk first, then its partitions). */
export function parseLsblk(stdout: string): BlockEntry[] {
  return stdout.split('\n').filter((l) => l.trim()).map((line) => {
    const kv: Record<string, string> = {};
    for (const m of line.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) kv[m[1]!.toLowerCase()] = m[2]!.replace(/\\x([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    return { name: kv['name'] ?? '', type: kv['type'] ?? '', fstype: kv['fstype'] ?? '', label: kv['label'] ?? '' };
  });
}

/** lsblk of a device on the running system (null: not asked, under --root or in plan); throws when it fails. */
async function lsblk(run: ActionRun, device: string, nodeps = false): Promise<BlockEntry[] | null> {
  const r = await diskQuery(run, [...LSBLK, ...(nodeps ? ['--nodeps'] : []), device]);
  if (r === null) return null;
  if (r.code !== 0) throw new Error(`lsblk ${device} failed (${describeExit(r)}): ${r.stderr.trim()}`);
  return parseLsblk(r.stdout);
}

/** udev settles (when there is udevadm): the kernel's new partitions get their nodes. */
function settle(files: ReadFiles): Action[] {
  return which(files, 'udevadm') ? [{ kind: 'run', argv: ['udevadm', 'settle'], failure: 'ignore' }] : [];
}

/** The kernel reads the new partition table: partprobe, else blockdev --rereadpt; a failure is logged. */
function rereadPartitions(run: ActionRun, device: string): Action[] {
  const argv = which(run.files, 'partprobe') ? ['partprobe', device] : ['blockdev', '--rereadpt', device];
  return [
    ...settle(run.files),
    {
      kind: 'run', argv, failure: 'ignore', why: `re-read the partition table of ${device}`,
      then: (r) => (r.code === 0 ? [] : [{ kind: 'log', text: `${run.where}: re-reading the partition table of ${device} failed: ${r.stderr.trim()}` }]),
    },
    ...settle(run.files),
  ];
}

/**
 * What to do on `device` given what blkid -p found there (fsDecision): the
 * mkfs to run, or a line saying why not. Throws when no mkfs for the
 * filesystem is installed. `runningSystem`: the module's (a disk), or none
 * (an image file).
 */
export function formatActions(files: ReadFiles, at: string, def: Omit<FsDef, 'origname' | 'partition'>, device: string, found: Probe,
  opts: { forceDisk?: boolean; runningSystem?: 'essential' } = {}): Action[] {
  const decision = fsDecision(found, def);
  if (!decision.format) {
    return decision.same
      ? [{ kind: 'log', text: `${at}: ${device}: not formatted: ${decision.reason}` }]
      : [{ kind: 'report', level: 'warning', message: `${device} not formatted: ${decision.reason}` }];
  }
  const mkfs = def.cmd === null && def.filesystem ? (which(files, `mkfs.${def.filesystem}`) ?? which(files, `mk${def.filesystem}`)) : undefined;
  if (mkfs === null) throw new Error(`cannot make a ${def.filesystem} filesystem on ${device}: no mkfs.${def.filesystem} in the system (install its package)`);
  const argv = mkfsCommand(def, device, def.overwrite || hasData(found) || opts.forceDisk === true, mkfs);
  return [
    ...(def.cmd !== null && (def.overwrite || def.extraOpts.length) ? [{ kind: 'log', text: `${at}: overwrite and extra_opts are ignored because cmd is given` } as Action] : []),
    { kind: 'log', text: `${at}: ${device}: ${decision.reason}: ${argv.map(shellQuote).join(' ')}` },
    { kind: 'run', argv, why: `make the ${def.filesystem ?? 'cmd'} filesystem on ${device}`, ...(opts.runningSystem && { runningSystem: opts.runningSystem }) },
  ];
}

/**
 * Make the filesystem of `def` on `device` (a block device, or at the
 * caller's risk an image file) unless fsDecision says no. Returns what it did.
 */
export async function formatFilesystem(ctx: Context, where: string, def: Omit<FsDef, 'origname' | 'partition'>, device: string, opts: { forceDisk?: boolean } = {}): Promise<'formatted' | 'kept'> {
  const actions = formatActions(ctx.files, where, def, device, await probeDevice(ctx, device), opts);
  const ok = await applyActions(applyEnv(ctx), where, actions);
  if (!ok) throw new Error(`making the filesystem on ${device} failed`);
  return actions.some((a) => a.kind === 'run') ? 'formatted' : 'kept';
}

/** A disk's partitioning, from what the running system says is on it (null: it cannot be asked here). */
async function diskActions(run: ActionRun, def: DiskDef): Promise<Action[] | null> {
  const { files, where, report } = run;
  const at = `${where} ${def.origname}`;
  const warn = (m: string): Action[] => { report('warning', `${def.origname}: ${m}`); return []; };
  if (def.layout === false) return [{ kind: 'log', text: `${at}: layout false: not partitioned` }];
  if (!files.exists(def.device)) {
    if (which(files, 'udevadm') && (await diskQuery(run, ['udevadm', 'settle'])) === null) return null;
    if (!files.exists(def.device)) return warn(`${def.device} does not exist`);
  }
  const device = realDevice(run, def.device);
  const self = await lsblk(run, device, true);
  if (self === null) return null;
  if (self[0]?.type !== 'disk') return warn(`${device} is not a disk (lsblk TYPE disk): not partitioned`);
  const essential = { runningSystem: 'essential' } as const;
  if (def.layout === 'remove') {
    if (!def.overwrite) return warn(`layout: remove erases ${device}'s partition table and filesystems: set overwrite: true to do it`);
    const all = await lsblk(run, device);
    if (all === null) return null;
    return [
      ...all.filter((d) => d.type !== 'disk' && d.type !== 'crypt').map((d): Action => ({ kind: 'run', argv: ['wipefs', '--all', d.name], ...essential })),
      { kind: 'run', argv: ['wipefs', '--all', device], why: `remove the partition table of ${device}`, ...essential },
      { kind: 'log', text: `${at}: partition table of ${device} removed` },
      ...rereadPartitions(run, device),
    ];
  }
  const table = await diskQuery(run, ['sfdisk', '--json', device]);
  if (table === null) return null;
  let found: { label: string; types: string[] } | null = null;
  if (table.code === 0 && table.stdout.trim()) {
    const pt = (JSON.parse(table.stdout) as { partitiontable?: { label?: string; partitions?: Array<{ type?: string }> } }).partitiontable;
    found = { label: pt?.label ?? '', types: (pt?.partitions ?? []).map((p) => String(p.type ?? '')) };
  }
  if (layoutMatches(def.tableType, def.layout, found)) return [{ kind: 'log', text: `${at}: ${device} has the requested partitions already` }];
  if (!def.overwrite) {
    const all = await lsblk(run, device);
    const probe = await diskQuery(run, probeArgv(device));
    if (all === null || probe === null) return null;
    const used = all.length > 1;
    const p = parseProbe(probe, device);
    if (used || hasData(p)) return warn(`${device} not partitioned: it has ${used ? 'partitions' : describeProbe(p)}; set overwrite: true to replace them`);
  }
  const bytes = await diskQuery(run, ['blockdev', '--getsize64', device]);
  const sector = await diskQuery(run, ['blockdev', '--getss', device]);
  if (bytes === null || sector === null) return null;
  if (bytes.code !== 0 || sector.code !== 0) return warn(`cannot read the size of ${device}: ${bytes.stderr.trim()} ${sector.stderr.trim()}`);
  const script = sfdiskScript(def.tableType, def.layout, Math.trunc(Number(bytes.stdout.trim()) / Number(sector.stdout.trim())));
  if (!which(files, 'sfdisk')) return warn('sfdisk is missing (install fdisk)');
  return [{
    kind: 'run', argv: ['sfdisk', '--force', device], input: script, failure: 'ignore', why: `partition ${device} (${def.tableType})`, ...essential,
    then: (r: RunResult): Action[] => (r.code !== 0
      ? [{ kind: 'report', level: 'warning', message: `${def.origname}: sfdisk --force ${device} failed (${describeExit(r)}): ${r.stderr.trim()}` }]
      : [{ kind: 'log', text: `${at}: ${device} partitioned (${def.tableType}): ${script.trim().split('\n').join('; ')}` }, ...rereadPartitions(run, device)]),
  }];
}

/**
 * A filesystem: its device and what is on it are read when its turn comes
 * (after the disks are partitioned): lsblk of the disk, the partition it
 * names (or the first free one), blkid -p of that, then mkfs.
 */
async function fsActions(run: ActionRun, def: FsDef): Promise<Action[] | null> {
  const { files, where, report } = run;
  const at = `${where} ${def.origname}`;
  const warning = (m: string): Action[] => [{ kind: 'report', level: 'warning', message: `${def.origname}: ${m}` }];
  if (!files.exists(def.device)) {
    if (which(files, 'udevadm') && (await diskQuery(run, ['udevadm', 'settle'])) === null) return null;
    if (!files.exists(def.device)) { report('warning', `${def.origname}: ${def.device} does not exist`); return []; }
  }
  const disk = realDevice(run, def.device);
  const format = (device: string, forceDisk: boolean): Action => ({
    kind: 'run', argv: probeArgv(device), failure: 'ignore', why: `what is on ${device}`,
    then: (r) => {
      try { return formatActions(files, at, def, device, parseProbe(r, device), { forceDisk, runningSystem: 'essential' }); } catch (e) { return warning((e as Error).message); }
    },
  });
  return [{
    kind: 'run', argv: [...LSBLK, disk], failure: 'ignore', why: `the devices of ${disk}`,
    then: (r) => {
      if (r.code !== 0) return warning(`lsblk ${disk} failed (${describeExit(r)}): ${r.stderr.trim()}`);
      const entries = parseLsblk(r.stdout);
      let device = disk;
      if (/^\d+$/.test(def.partition)) {
        const p = nthPartition(run, disk, def.partition);
        if (p === null) return warning(`${disk} has no partition ${def.partition}`);
        device = p;
      } else if (def.partition === 'auto' || def.partition === 'any') {
        const found = findDeviceNode(disk, entries, def.filesystem, def.label, def.partition === 'auto', def.replaceFs);
        if (found.reuse) return [{ kind: 'log', text: `${at}: ${found.device} has the requested filesystem already: not formatted` }];
        if (found.device === null) return warning(`no free device on ${disk} for the filesystem: not formatted`);
        device = found.device;
      }
      return [format(device, entries.find((e) => e.name === device)?.type === 'disk')];
    },
  }];
}

// ---------------------------------------------------------------------------

/** What would be done, one line per disk and filesystem (for plan, and the log under --root). */
function plannedLines(disks: DiskDef[], fss: FsDef[]): string[] {
  const lines: string[] = [];
  for (const d of disks) {
    if (d.layout === false) { lines.push(`${d.device}: not partitioned (layout false)`); continue; }
    if (d.layout === 'remove') { lines.push(`${d.device}: wipefs --all (layout remove${d.overwrite ? '' : ', refused without overwrite: true'})`); continue; }
    const script = sfdiskScript(d.tableType, d.layout, 100).trim().split('\n').slice(1).join('; ');
    lines.push(`sfdisk --force ${d.device} (${d.tableType}, ${layoutParts(d.layout).map((p) => `${p.percent}%${p.type ? ` type ${p.type}` : ''}`).join(', ')}: ${script.replace(/,(\d+),/g, ',$1%,')})` +
      (d.overwrite ? ', overwrite: true' : ', unless it has partitions or data'));
  }
  for (const f of fss) {
    const numbered = /^\d+$/.test(f.partition);
    const device = numbered ? `${f.device}${/\d$/.test(f.device) ? 'p' : ''}${f.partition}` : f.partition === 'none' ? f.device : '<device>';
    const where = numbered ? `partition ${f.partition} of ${f.device}` : f.partition === 'none' ? f.device : `the first free partition of ${f.device}, or ${f.device} itself (partition ${f.partition}), unless one has a ${f.filesystem ?? 'matching'} filesystem${f.partition === 'auto' ? ` labelled ${f.label ?? '""'}` : ''}`;
    lines.push(`${mkfsCommand(f, device, f.overwrite).map(shellQuote).join(' ')} on ${where}${f.overwrite ? ', overwrite: true' : ', unless it has data'}`);
  }
  return lines;
}

export const diskSetup = actionModule<DiskSetup>({
  name: 'disk_setup',
  stage: 'init',
  frequency: 'per-instance',
  keys: ['disk_setup', 'fs_setup'],
  schema: SCHEMA,
  check(config, report) {
    const disks = checkDisks(config, report);
    const fss = checkFs(config, report);
    return disks.length || fss.length ? { disks, fss } : null;
  },
  async actions(value, run): Promise<Action[]> {
    const resolve = resolver(run);
    // One definition per device (a later one for the same disk wins, as in cloud-init).
    const disks = [...new Map(value.disks.map((d) => { const device = resolve(d.device); return [device, { ...d, device }] as const; })).values()];
    const fss = value.fss.map((f) => ({ ...f, device: resolve(f.device) }));
    const left = () => plannedLines(disks, fss).map((l) => leftForRunningSystem(l, true));
    if (run.root !== '/') return left();
    // A disk or filesystem that cannot be done (a device that does not exist, …) is a warning and
    // the others go on: cloud-init logs "Failed partitioning operation" / "Failed during filesystem
    // operation" as warnings and never fails the module for them. Each is a unit of its own.
    const out: Action[] = [];
    for (const [i, d] of disks.entries()) {
      let made: Action[] | null;
      try { made = await diskActions(run, d); } catch (e) { run.report('warning', `${d.origname}: ${(e as Error).message}`); continue; }
      if (made === null) return left();
      out.push(...made.map((a) => ({ ...a, unit: `disk ${i + 1}` })));
    }
    for (const [i, f] of fss.entries()) {
      const made = await fsActions(run, f);
      if (made === null) return left();
      out.push(...made.map((a) => ({ ...a, unit: `filesystem ${i + 1}` })));
    }
    return out;
  },
});

export type { FsDef, DiskDef };
