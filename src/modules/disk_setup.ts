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
// Partitioning and mkfs need the running system's disks: under --root they
// are planned (`plan`, and the log) and skipped.
import { describeExit } from '../host/run.ts';
import type { Context } from '../context.ts';
import {
  describeProbe, deviceAliases, deviceNameToDevice, expandDotted, hasData, nthPartition, probeDevice, realDevice,
  type Probe,
} from './disk-devices.ts';
import { onRunningSystem } from './helpers.ts';
import { which } from '../host/root-facts.ts';
import { shellQuote, type Module, type ModuleRun, type Schema } from './module.ts';

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
// Devices

function resolver(run: ModuleRun): (name: string) => string | null {
  const aliases = deviceAliases(run.config);
  // cloud-init's alias_to_device: the alias's target, through the metadata names.
  return (cand) => {
    const alias = aliases[cand];
    return deviceNameToDevice(run.ctx, run.source, alias ?? cand) ?? alias ?? null;
  };
}

interface DiskDef { device: string; origname: string; layout: Layout; tableType: 'mbr' | 'gpt'; overwrite: boolean }
interface FsDef { device: string; origname: string; partition: string; filesystem: string | null; label: string | null; overwrite: boolean; replaceFs: string | null; extraOpts: string[]; cmd: string | string[] | null }

function diskDefs(run: ModuleRun, warn: (m: string) => void): DiskDef[] {
  const ds = run.config['disk_setup'];
  if (ds === undefined || ds === null) return [];
  if (typeof ds !== 'object' || Array.isArray(ds)) throw new Error(`disk_setup: expected a mapping of devices, found ${JSON.stringify(ds)}`);
  const resolve = resolver(run);
  const out = new Map<string, DiskDef>();
  for (const [name, def] of Object.entries(ds as Record<string, unknown>)) {
    if (def === null || typeof def !== 'object' || Array.isArray(def)) { warn(`disk_setup ${name}: not a mapping: ignored`); continue; }
    const d = def as Record<string, unknown>;
    const device = resolve(name) ?? name;
    const table = d['table_type'] ?? 'mbr';
    if (table !== 'mbr' && table !== 'gpt') { warn(`disk_setup ${name}: table_type must be mbr or gpt: ignored`); continue; }
    out.set(device, { device, origname: name, layout: (d['layout'] ?? false) as Layout, tableType: table, overwrite: d['overwrite'] === true });
  }
  return [...out.values()];
}

function fsDefs(run: ModuleRun, warn: (m: string) => void): FsDef[] {
  const fs = run.config['fs_setup'];
  if (fs === undefined || fs === null) return [];
  if (!Array.isArray(fs)) throw new Error(`fs_setup: expected a list, found ${JSON.stringify(fs)}`);
  const resolve = resolver(run);
  const out: FsDef[] = [];
  fs.forEach((def, i) => {
    if (def === null || typeof def !== 'object' || Array.isArray(def)) { warn(`fs_setup entry ${i + 1}: not a mapping: ignored`); return; }
    const d = def as Record<string, unknown>;
    if (typeof d['device'] !== 'string') { warn(`fs_setup entry ${i + 1}: no device: ignored`); return; }
    const [dev, part] = expandDotted(d['device']);
    const device = resolve(dev) ?? dev;
    const opts = d['extra_opts'];
    out.push({
      device, origname: d['device'],
      // In 'name.N', N is the partition, whatever 'partition' says.
      partition: part ?? String(d['partition'] ?? 'any').toLowerCase(),
      filesystem: typeof d['filesystem'] === 'string' ? d['filesystem'] : null,
      label: typeof d['label'] === 'string' ? d['label'] : d['label'] === undefined || d['label'] === null ? null : String(d['label']),
      overwrite: d['overwrite'] === true,
      replaceFs: typeof d['replace_fs'] === 'string' ? d['replace_fs'] : null,
      extraOpts: Array.isArray(opts) ? opts.map(String) : typeof opts === 'string' ? opts.split(/\s+/).filter(Boolean) : [],
      cmd: typeof d['cmd'] === 'string' || Array.isArray(d['cmd']) ? (d['cmd'] as string | string[]) : null,
    });
  });
  return out;
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
// Effects (root / only, except formatFilesystem, which works on any path)

async function lsblk(ctx: Context, device: string, nodeps = false): Promise<BlockEntry[]> {
  const r = await ctx.capture(['lsblk', '--pairs', '--paths', '--output', 'NAME,TYPE,FSTYPE,LABEL', ...(nodeps ? ['--nodeps'] : []), device]);
  if (r.code !== 0) throw new Error(`lsblk ${device} failed (${describeExit(r)}): ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter((l) => l.trim()).map((line) => {
    const kv: Record<string, string> = {};
    for (const m of line.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) kv[m[1]!.toLowerCase()] = m[2]!.replace(/\\x([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    return { name: kv['name'] ?? '', type: kv['type'] ?? '', fstype: kv['fstype'] ?? '', label: kv['label'] ?? '' };
  });
}

async function deviceType(ctx: Context, device: string): Promise<string | null> {
  try { return (await lsblk(ctx, device, true))[0]?.type ?? null; } catch { return null; }
}

async function settle(ctx: Context): Promise<void> {
  if (which(ctx.files, 'udevadm')) await ctx.capture(['udevadm', 'settle']);
}

async function rereadPartitions(ctx: Context, device: string): Promise<void> {
  await settle(ctx);
  const r = which(ctx.files, 'partprobe') ? await ctx.capture(['partprobe', device]) : await ctx.capture(['blockdev', '--rereadpt', device]);
  if (r.code !== 0) ctx.log.warn(`re-reading the partition table of ${device} failed: ${r.stderr.trim()}`);
  await settle(ctx);
}

/**
 * Make the filesystem of `def` on `device` (a block device, or at the
 * caller's risk an image file) unless fsDecision says no. Returns what it did.
 */
export async function formatFilesystem(ctx: Context, where: string, def: Omit<FsDef, 'origname' | 'partition'>, device: string, opts: { forceDisk?: boolean } = {}): Promise<'formatted' | 'kept'> {
  const found = await probeDevice(ctx, device);
  const decision = fsDecision(found, def);
  if (!decision.format) {
    if (decision.same) ctx.log.info(`${where}: ${device}: not formatted: ${decision.reason}`);
    else ctx.report('warning', where, `${device} not formatted: ${decision.reason}`);
    return 'kept';
  }
  const mkfs = def.cmd === null && def.filesystem ? (which(ctx.files, `mkfs.${def.filesystem}`) ?? which(ctx.files, `mk${def.filesystem}`)) : undefined;
  if (mkfs === null) throw new Error(`cannot make a ${def.filesystem} filesystem on ${device}: no mkfs.${def.filesystem} in the system (install its package)`);
  const argv = mkfsCommand(def, device, def.overwrite || hasData(found) || opts.forceDisk === true, mkfs);
  if (def.cmd !== null && (def.overwrite || def.extraOpts.length)) ctx.log.warn(`${where}: overwrite and extra_opts are ignored because cmd is given`);
  ctx.log.info(`${where}: ${device}: ${decision.reason}: ${argv.map(shellQuote).join(' ')}`);
  const r = await ctx.capture(argv);
  if (r.code !== 0) throw new Error(`${argv.map(shellQuote).join(' ')} failed (${describeExit(r)}): ${r.stderr.trim()}`);
  return 'formatted';
}

async function partitionDisk(ctx: Context, where: string, def: DiskDef): Promise<void> {
  const at = `${where} ${def.origname}`;
  if (def.layout === false) { ctx.log.info(`${at}: layout false: not partitioned`); return; }
  if (!ctx.files.exists(def.device)) {
    await settle(ctx);
    if (!ctx.files.exists(def.device)) throw new Error(`${def.device} does not exist`);
  }
  const device = realDevice(ctx, def.device);
  if (await deviceType(ctx, device) !== 'disk') throw new Error(`${device} is not a disk (lsblk TYPE disk): not partitioned`);
  if (def.layout === 'remove') {
    if (!def.overwrite) {
      ctx.report('warning', at, `layout: remove erases ${device}'s partition table and filesystems: set overwrite: true to do it`);
      return;
    }
    for (const d of await lsblk(ctx, device)) {
      if (d.type !== 'disk' && d.type !== 'crypt' && !(await ctx.runChecked(at, ['wipefs', '--all', d.name]))) return;
    }
    if (await ctx.runChecked(at, ['wipefs', '--all', device])) ctx.log.info(`${at}: partition table of ${device} removed`);
    await rereadPartitions(ctx, device);
    return;
  }
  const table = await ctx.capture(['sfdisk', '--json', device]);
  let found: { label: string; types: string[] } | null = null;
  if (table.code === 0 && table.stdout.trim()) {
    const pt = (JSON.parse(table.stdout) as { partitiontable?: { label?: string; partitions?: Array<{ type?: string }> } }).partitiontable;
    found = { label: pt?.label ?? '', types: (pt?.partitions ?? []).map((p) => String(p.type ?? '')) };
  }
  if (layoutMatches(def.tableType, def.layout, found)) { ctx.log.info(`${at}: ${device} has the requested partitions already`); return; }
  if (!def.overwrite) {
    const used = (await lsblk(ctx, device)).length > 1;
    const probe = await probeDevice(ctx, device);
    if (used || hasData(probe)) {
      ctx.report('warning', at, `${device} not partitioned: it has ${used ? 'partitions' : describeProbe(probe)}; set overwrite: true to replace them`);
      return;
    }
  }
  const bytes = await ctx.capture(['blockdev', '--getsize64', device]);
  const sector = await ctx.capture(['blockdev', '--getss', device]);
  if (bytes.code !== 0 || sector.code !== 0) throw new Error(`cannot read the size of ${device}: ${bytes.stderr.trim()} ${sector.stderr.trim()}`);
  const script = sfdiskScript(def.tableType, def.layout, Math.trunc(Number(bytes.stdout.trim()) / Number(sector.stdout.trim())));
  if (!which(ctx.files, 'sfdisk')) throw new Error('sfdisk is missing (install fdisk)');
  const r = await ctx.capture(['sfdisk', '--force', device], { input: script });
  if (r.code !== 0) throw new Error(`sfdisk --force ${device} failed (${describeExit(r)}): ${r.stderr.trim()}`);
  ctx.log.info(`${at}: ${device} partitioned (${def.tableType}): ${script.trim().split('\n').join('; ')}`);
  await rereadPartitions(ctx, device);
}

async function makeFs(ctx: Context, where: string, def: FsDef): Promise<void> {
  const at = `${where} ${def.origname}`;
  if (!ctx.files.exists(def.device)) {
    await settle(ctx);
    if (!ctx.files.exists(def.device)) throw new Error(`${def.device} does not exist`);
  }
  let device = realDevice(ctx, def.device);
  if (/^\d+$/.test(def.partition)) {
    const p = nthPartition(ctx, device, def.partition);
    if (p === null) throw new Error(`${device} has no partition ${def.partition}`);
    device = p;
  } else if (def.partition === 'auto' || def.partition === 'any') {
    const found = findDeviceNode(device, await lsblk(ctx, device), def.filesystem, def.label, def.partition === 'auto', def.replaceFs);
    if (found.reuse) { ctx.log.info(`${at}: ${found.device} has the requested filesystem already: not formatted`); return; }
    if (found.device === null) { ctx.report('warning', at, `no free device on ${device} for the filesystem: not formatted`); return; }
    device = found.device;
  } else if (def.partition !== 'none') {
    throw new Error(`invalid partition '${def.partition}' (a number, auto, any or none)`);
  }
  await formatFilesystem(ctx, at, def, device, { forceDisk: (await deviceType(ctx, device)) === 'disk' });
}

// ---------------------------------------------------------------------------

/** What would be done, one line per disk and filesystem (for plan, and the log under --root). */
function planned(run: ModuleRun, warn: (m: string) => void): string[] {
  const lines: string[] = [];
  for (const d of diskDefs(run, warn)) {
    if (d.layout === false) { lines.push(`${d.device}: not partitioned (layout false)`); continue; }
    if (d.layout === 'remove') { lines.push(`${d.device}: wipefs --all (layout remove${d.overwrite ? '' : ', refused without overwrite: true'})`); continue; }
    let script: string;
    try { script = sfdiskScript(d.tableType, d.layout, 100).trim().split('\n').slice(1).join('; '); } catch (e) { lines.push(`${d.device}: ${(e as Error).message}`); continue; }
    lines.push(`sfdisk --force ${d.device} (${d.tableType}, ${layoutParts(d.layout).map((p) => `${p.percent}%${p.type ? ` type ${p.type}` : ''}`).join(', ')}: ${script.replace(/,(\d+),/g, ',$1%,')})` +
      (d.overwrite ? ', overwrite: true' : ', unless it has partitions or data'));
  }
  for (const f of fsDefs(run, warn)) {
    const numbered = /^\d+$/.test(f.partition);
    const device = numbered ? `${f.device}${/\d$/.test(f.device) ? 'p' : ''}${f.partition}` : f.partition === 'none' ? f.device : '<device>';
    const where = numbered ? `partition ${f.partition} of ${f.device}` : f.partition === 'none' ? f.device : `the first free partition of ${f.device}, or ${f.device} itself (partition ${f.partition}), unless one has a ${f.filesystem ?? 'matching'} filesystem${f.partition === 'auto' ? ` labelled ${f.label ?? '""'}` : ''}`;
    let cmd: string;
    try { cmd = mkfsCommand(f, device, f.overwrite).map(shellQuote).join(' '); } catch (e) { cmd = (e as Error).message; }
    lines.push(`${cmd} on ${where}${f.overwrite ? ', overwrite: true' : ', unless it has data'}`);
  }
  return lines;
}

async function run(r: ModuleRun): Promise<void> {
  const { ctx, where } = r;
  const warn = (m: string) => ctx.report('warning', where, m);
  if (ctx.root !== '/') {
    for (const line of planned(r, warn)) onRunningSystem(ctx, where, line, { essential: true });
    return;
  }
  // A disk or filesystem that cannot be done (a device that does not exist, …) is a warning and
  // the others go on: cloud-init logs "Failed partitioning operation" / "Failed during filesystem
  // operation" as warnings and never fails the module for them.
  for (const d of diskDefs(r, warn)) {
    try { await partitionDisk(ctx, where, d); } catch (e) { ctx.report('warning', `${where} ${d.origname}`, (e as Error).message); }
  }
  for (const f of fsDefs(r, warn)) {
    try { await makeFs(ctx, where, f); } catch (e) { ctx.report('warning', `${where} ${f.origname}`, (e as Error).message); }
  }
}

export const diskSetup: Module = {
  name: 'disk_setup',
  stage: 'init',
  frequency: 'per-instance',
  keys: ['disk_setup', 'fs_setup'],
  schema: SCHEMA,
  describe: (r) => {
    const problems: string[] = [];
    const lines = planned(r, (m) => problems.push(m));
    return [...(r.ctx.root === '/' ? lines : lines.map((l) => `skipped with --root: ${l}`)), ...problems];
  },
  run,
};

export type { FsDef, DiskDef };
