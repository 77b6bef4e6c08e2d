// What the disk modules (mounts, disk_setup, lvm, growpart, resize_rootfs)
// share: turning the names people write in cloud-config (sdb, ephemeral0,
// an alias, my_alias.1) into device paths as cloud-init does; reading the
// mount table; probing a device for existing data (blkid -p); and fstab
// lines. Every path is looked up under the root: at / that is the machine's
// own /dev and /sys, under --root a test or an image, never this machine's.
// What the disks hold (lsblk, blkid, sfdisk --json) is asked only of the
// running system's (diskQuery); elsewhere, and in `plan`, a module says
// what it leaves for the running system (leftForRunningSystem).
import type { Action } from '../host/actions.ts';
import { describeExit, type RunResult } from '../host/run.ts';
import { readMachineFile } from '../host/machine.ts';
import type { SavedSource } from '../state/instance.ts';
import type { ActionRun, ReadFiles } from './module.ts';

/** What the lookups read: the root's files (a Context, an ActionRun). */
type Root = { files: ReadFiles };

/**
 * A read-only program about the disks (lsblk, blkid -p, sfdisk --json): its
 * result on the running system; null under --root (the disks there are not
 * the root's) and in `plan` (which then says its step depends on the machine).
 */
export async function diskQuery(run: ActionRun, argv: string[]): Promise<RunResult | null> {
  return run.root === '/' ? run.query(argv) : null;
}

/** What a disk module would do once the running system's disks can be read: a note, skipped under --root. */
export function leftForRunningSystem(what: string, essential: boolean): Action {
  const text = `left for the running system: ${what}`;
  return { kind: 'log', text, why: text, runningSystem: essential ? 'essential' : 'optional' };
}

/** A short kernel name: sda, sda1, xvda, hdb, vdd1, sr0 (cloud-init's DEVICE_NAME_FILTER). */
const DEVICE_NAME = /^([x]{0,1}[shv]d[a-z][0-9]*|sr[0-9]+)$/;
/** server:/path (an NFS export and the like). */
const NETWORK_NAME = /^.+:.*/;

/** 'my_alias.1' → ['my_alias', '1']; 'sdb' → ['sdb', null] (cloud-init's expand_dotted_devname). */
export function expandDotted(name: string): [string, string | null] {
  const i = name.lastIndexOf('.');
  return i === -1 ? [name, null] : [name.slice(0, i), name.slice(i + 1)];
}

/** Names the metadata service gives devices: ami, root, swap, ephemeralN, ebsN. */
export function isMetaDeviceName(name: string): boolean {
  if (['ami', 'root', 'swap'].includes(name)) return true;
  return ['ephemeral', 'ebs'].some((p) => name.startsWith(p) && !name.includes(':'));
}

/** The device aliases of the config (device_aliases: {name: /dev/…}). */
export function deviceAliases(config: Record<string, unknown>): Record<string, string> {
  const a = config['device_aliases'];
  if (a === null || typeof a !== 'object' || Array.isArray(a)) return {};
  return Object.fromEntries(Object.entries(a as Record<string, unknown>).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
}

/**
 * A metadata device name (ephemeral0, swap, ebs1, root) → a device path, from
 * the EC2 block-device-mapping of the datasource's meta-data (EC2; any
 * datasource whose meta-data carries one), as cloud-init's Ec2 datasource
 * does: 'sdb' → /dev/sdb when it exists, else the kernel's other name for it
 * (/dev/xvdb, /dev/vdb), else, for ephemeralN on Nitro instances, the N-th
 * NVMe instance-store disk. Null when it does not exist (ephemeral0 on an
 * instance type without instance store: no bogus fstab line).
 */
export function deviceNameToDevice(ctx: Root, source: SavedSource, name: string): string | null {
  const bdm = source.metaData?.['block-device-mapping'];
  if (bdm === null || typeof bdm !== 'object' || Array.isArray(bdm)) return null;
  let found: string | null = null;
  for (const [entry, device] of Object.entries(bdm as Record<string, unknown>)) {
    if (typeof device !== 'string') continue;
    if (entry === name) { found = device.trim(); break; }
    // Eucalyptus said 'ephemeral' where EC2 says 'ephemeral0'.
    if (entry === 'ephemeral' && name === 'ephemeral0') found = device.trim();
  }
  if (found === null || found === '') return null;
  const path = found.startsWith('/') ? found : `/dev/${found}`;
  if (ctx.files.exists(path)) return path;
  const short = path.split('/').pop()!;
  if (short.startsWith('sd')) {
    for (const to of ['vd', 'xvd', 'vtb']) {
      const cand = `/dev/${to}${short.slice(2)}`;
      if (ctx.files.exists(cand)) return cand;
    }
  }
  const eph = /^ephemeral(\d+)$/.exec(name);
  if (eph) return nvmeInstanceStore(ctx)[Number(eph[1])] ?? null;
  return found;
}

/** NVMe instance-store disks (Nitro), in kernel order: /dev/nvme1n1, /dev/nvme2n1, … */
export function nvmeInstanceStore(ctx: Root): string[] {
  return ctx.files.list('/sys/block')
    .filter((n) => /^nvme\d+n\d+$/.test(n))
    .filter((n) => (ctx.files.readTextIfExists(`/sys/block/${n}/device/model`)?.trim() ?? '') === 'Amazon EC2 NVMe Instance Storage')
    .sort(naturalOrder)
    .map((n) => `/dev/${n}`);
}

/** /dev/sdb + 1 → /dev/sdb1, /dev/nvme1n1p1, /dev/mapper/x-part1: the first that exists. */
export function nthPartition(ctx: Root, device: string, n: string | number): string | null {
  for (const suffix of [`${n}`, `p${n}`, `-part${n}`]) {
    if (ctx.files.exists(`${device}${suffix}`)) return `${device}${suffix}`;
  }
  return null;
}

/** The device's path with symlinks resolved inside the root (/dev/disk/by-label/x → /dev/sdb1). */
export function realDevice(ctx: Root, device: string): string {
  try { return ctx.files.realpath(device); } catch { return device; }
}

/** Whether /sys/block knows the disk (and the partition, when given). */
function isBlockDevice(ctx: Root, device: string, partition: string | null): boolean {
  let sys = `/sys/block/${realDevice(ctx, device).split('/').pop()}`;
  if (partition !== null) sys += `/${realDevice(ctx, partition).split('/').pop()}`;
  return ctx.files.exists(sys);
}

/**
 * cloud-init's sanitize_devname (cc_mounts): 'ephemeral' is ephemeral0, an
 * alias becomes its device, a metadata name its mapped device, a short name
 * /dev/NAME; a disk with partitions stands for its first partition, 'X.N'
 * for partition N. Null when the device does not exist. server:/path is
 * kept as it is.
 */
export function sanitizeDevname(ctx: Root, source: SavedSource, start: string, aliases: Record<string, string>): string | null {
  const name = start === 'ephemeral' ? 'ephemeral0' : start;
  if (NETWORK_NAME.test(start)) return start;
  const [dev, part] = expandDotted(name);
  let device = aliases[dev] ?? dev;
  if (isMetaDeviceName(device)) {
    const mapped = deviceNameToDevice(ctx, source, device);
    if (!mapped) return null;
    device = mapped.startsWith('/') ? mapped : `/dev/${mapped}`;
  } else if (DEVICE_NAME.test(start) || DEVICE_NAME.test(device)) {
    // (cloud-init tests only the whole name: 'vdd.2' would stay 'vdd' there)
    device = `/dev/${device}`;
  }
  const partition = nthPartition(ctx, device, part ?? 1);
  if (part !== null && partition === null) return null;
  if (isBlockDevice(ctx, device, partition)) return partition ?? device;
  return null;
}

/** A short kernel name as a path (sdc → /dev/sdc), for names that do not exist (yet). */
export function devicePathOf(name: string): string {
  return DEVICE_NAME.test(name) ? `/dev/${name}` : name;
}

// ---------------------------------------------------------------------------
/** nvme9n1 before nvme10n1: runs of digits compare as numbers. */
export function naturalOrder(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) return Number(x) - Number(y) || x.length - y.length;
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

// The mount table of the running system

export interface MountEntry { id: string; majMin: string; mountpoint: string; fstype: string; source: string; options: string }

/** /proc/self/mountinfo, parsed (octal escapes undone). Empty when it cannot be read. */
export function mountTable(): MountEntry[] {
  const text = readMachineFile('/proc/self/mountinfo');
  if (text === null) return [];
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text.split('\n').filter(Boolean).map((line) => {
    const [pre = '', post = ''] = line.split(' - ');
    const f = pre.split(' ');
    const g = post.split(' ');
    return { id: f[0] ?? '', majMin: f[2] ?? '', mountpoint: unescape(f[4] ?? ''), options: f[5] ?? '', fstype: g[0] ?? '', source: unescape(g[1] ?? '') };
  });
}

/** The mount that holds `path` of this machine (longest mount point prefix; the last one mounted wins). */
export function mountOf(path: string, table = mountTable()): MountEntry | null {
  let best: MountEntry | null = null;
  for (const m of table) {
    const mp = m.mountpoint;
    const inside = mp === '/' || path === mp || path.startsWith(mp.endsWith('/') ? mp : `${mp}/`);
    if (inside && (best === null || mp.length >= best.mountpoint.length)) best = m;
  }
  return best;
}

/** The block device of a mount of the running system: its source when that exists, else /dev/block/MAJ:MIN's target. */
export function deviceOfMount(ctx: Root, m: MountEntry): string | null {
  if (m.source.startsWith('/dev/') && m.source !== '/dev/root' && ctx.files.exists(m.source)) return realDevice(ctx, m.source);
  const sys = ctx.files.readTextIfExists(`/sys/dev/block/${m.majMin}/uevent`);
  const devname = sys ? /^DEVNAME=(.*)$/m.exec(sys)?.[1] : undefined;
  return devname ? `/dev/${devname}` : null;
}

// ---------------------------------------------------------------------------
// What is on a device

export interface Probe {
  /** TYPE: ext4, xfs, swap, LVM2_member, crypto_LUKS… (null: no filesystem signature). */
  fstype: string | null;
  label: string | null;
  /** PTTYPE: dos, gpt (null: no partition table). */
  pttype: string | null;
  /** blkid found several signatures and would not choose (exit 8): treated as data. */
  ambivalent: boolean;
}

/** What `blkid -p -o export DEVICE` answered. Throws when blkid could not be run or could not read the device. */
export function parseProbe(r: RunResult, device: string): Probe {
  if (r.code === 2) return { fstype: null, label: null, pttype: null, ambivalent: false };
  if (r.code === 8) return { fstype: null, label: null, pttype: null, ambivalent: true };
  if (r.code !== 0) throw new Error(`blkid -p ${device} failed (${describeExit(r)}): ${r.stderr.trim()}`);
  const kv = Object.fromEntries(r.stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  return { fstype: kv['TYPE'] ?? null, label: kv['LABEL'] ?? null, pttype: kv['PTTYPE'] ?? null, ambivalent: false };
}

/** The argv of the low-level probe of a device's content (no cache, partition tables too). */
export const probeArgv = (device: string) => ['blkid', '-p', '-o', 'export', device];

/** Probe a device (chrooted), for callers that run programs themselves. */
export async function probeDevice(ctx: { capture(argv: string[]): Promise<RunResult> }, device: string): Promise<Probe> {
  return parseProbe(await ctx.capture(probeArgv(device)), device);
}

/** "an ext4 filesystem (label data)", "a gpt partition table": what a probe found, for messages. */
export function describeProbe(p: Probe): string {
  if (p.ambivalent) return 'several conflicting signatures';
  const parts: string[] = [];
  if (p.fstype) parts.push(`a ${p.fstype} signature${p.label ? ` (label ${p.label})` : ''}`);
  if (p.pttype) parts.push(`a ${p.pttype} partition table`);
  return parts.join(' and ') || 'nothing';
}

export function hasData(p: Probe): boolean {
  return p.ambivalent || p.fstype !== null || p.pttype !== null;
}

// ---------------------------------------------------------------------------
// fstab

/** One fstab line: its fields (fs_spec, fs_file, fs_vfstype, fs_mntops, fs_freq, fs_passno) tab-separated. */
export function fstabLine(fields: readonly string[]): string {
  return fields.join('\t');
}

/** The mount points of the running system (for "is it mounted already?"). */
export function mountedPoints(): Set<string> {
  return new Set(mountTable().map((m) => m.mountpoint));
}
