// mounts / mount_default_fields / swap (cloud-init's cc_mounts): /etc/fstab
// lines for the config's mounts, the instance's ephemeral disk on /mnt and
// its swap device (both from the EC2 block-device-mapping), and a swap file.
// Lines this module writes carry `comment=cloudconfig` in their options, as
// cloud-init's do: every run drops the old ones and writes the config's, so a
// new instance (or a changed config) replaces them and other lines stay as
// they are. `swapon -a`, `mount -a` and `systemctl daemon-reload` need the
// running system: only at root /; under --root they are logged as skipped.
import { asText } from '../bytes.ts';
import type { Action } from '../host/actions.ts';
import { kernelRelease, memTotal } from '../host/machine.ts';
import { describeExit, type RunResult } from '../host/run.ts';
import {
  deviceAliases, devicePathOf, fstabLine, leftForRunningSystem, mountedPoints, mountOf, sanitizeDevname,
} from './disk-devices.ts';
import { fstabEntry, pathUnderRoot } from '../validate/files.ts';
import { usesSystemd, which } from '../host/root-facts.ts';
import { actionModule, type ActionRun, type Schema } from './module.ts';

export const FSTAB = '/etc/fstab';
export const MNT_COMMENT = 'comment=cloudconfig';
const MB = 2 ** 20;
const GB = 2 ** 30;

/**
 * cloud-init's default options, with ec2-init's unit: ordered after
 * ec2-init.service (which wrote them), `nofail` so a missing disk never
 * stops a boot, `_netdev` as cloud-init has added since 22.1. Without
 * systemd, cloud-init writes upstart's `nobootwait`, which mount(8) on a
 * sysvinit system hands to the filesystem and ext4 refuses: `nofail` instead.
 */
export function defaultMountOptions(systemd: boolean): string {
  return systemd ? 'defaults,nofail,x-systemd.after=ec2-init.service,_netdev' : 'defaults,nofail';
}

const FIELD: Schema = { oneOf: [{ type: 'string' }, { type: 'integer' }, { type: 'null' }] };
const SIZE: Schema = { oneOf: [{ type: 'integer' }, { type: 'string', pattern: '^([0-9]+)?\\.?[0-9]+[BKMGT]$' }] };

const SCHEMA: Record<string, Schema> = {
  mounts: {
    type: 'array',
    description: 'fstab entries: [fs_spec, fs_file, fs_vfstype, fs_mntops, fs_freq, fs_passno]; missing fields from mount_default_fields; an entry with no mount point (null) removes that device',
    items: { type: 'array', items: FIELD, minItems: 1 },
  },
  mount_default_fields: { type: 'array', items: FIELD, minItems: 6 },
  swap: {
    type: 'object',
    additionalProperties: false,
    properties: {
      filename: { type: 'string' },
      size: { oneOf: [{ enum: ['auto'] }, ...SIZE.oneOf!] },
      maxsize: SIZE,
    },
  },
};

type Field = string | null;

/** cloud-init's human2bytes: '2G', '512M', '1.5K', '10485760', '100B' → bytes (binary units). */
export function human2bytes(size: string | number): number {
  if (typeof size === 'number') return size;
  const input = size;
  let s = size.trim();
  if (s.endsWith('B')) s = s.slice(0, -1);
  const mult: Record<string, number> = { B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
  let m = 'B';
  const last = s.slice(-1);
  if (last in mult) { m = last; s = s.slice(0, -1); }
  const num = Number(s);
  if (s === '' || !Number.isFinite(num)) throw new Error(`'${input}' is not a valid size`);
  if (num < 0) throw new Error(`'${input}': cannot be negative`);
  return Math.trunc(num * mult[m]!);
}

/** cloud-init's suggested_swapsize: from the memory, within maxsize and the free space of the file's filesystem. */
export function suggestedSwapsize(memsize: number, maxsize: number | null, avail: number | null): number {
  const suggMax = memsize * 2;
  let max = maxsize;
  if (avail === null) max ??= suggMax;
  else if (max === null) max = Math.min(Math.trunc(avail / 4), suggMax);
  else if (max > avail * 0.9) max = Math.trunc(avail * 0.9);
  let min: number;
  if (memsize < 4 * GB) min = memsize;
  else if (memsize < 16 * GB) min = 4 * GB;
  else min = Math.round(Math.sqrt(memsize / GB)) * GB;
  return Math.min(min, max);
}

/** Lines of fstab: those we keep, the first word of each, and the old cloudconfig lines (parse_fstab). */
export function parseFstab(text: string | null): { lines: string[]; devs: Map<string, string>; removed: string[] } {
  const lines: string[] = [];
  const devs = new Map<string, string>();
  const removed: string[] = [];
  for (const line of (text ?? '').split('\n')) {
    if (line.includes(MNT_COMMENT)) { removed.push(line); continue; }
    const toks = line.split(/\s+/).filter(Boolean);
    if (toks.length) { devs.set(toks[0]!, line); lines.push(line); }
  }
  return { lines, devs, removed };
}

/** A token as cloud-init writes it (str() of what YAML gave). */
function str(v: unknown): string {
  if (v === true) return 'True';
  if (v === false) return 'False';
  return String(v);
}

export interface FstabPlan {
  /** The entries this module owns, six fields each, options with comment=cloudconfig. */
  entries: string[][];
  /** The new fstab, or null when there is nothing to write. */
  content: string | null;
  /** '- old line' / '+ new line' (tabs shown as spaces). */
  changes: string[];
  /** Mount points to create (absolute paths). */
  dirs: string[];
}

/**
 * The fstab cloud-init would write (cc_mounts.handle, without effects):
 * `resolve` turns a config name into a device path or null (sanitize_devname).
 */
export function planFstab(opts: {
  fstab: string | null;
  mounts: unknown;
  defaultFields: Field[];
  defaultOptions: string;
  resolve: (name: string) => string | null;
  swapFile: string | null;
  warn: (msg: string) => void;
  /** An entry left out because a field cannot be an fstab token (the message names it). */
  refuse?: (msg: string) => void;
}): FstabPlan {
  const { lines, devs, removed } = parseFstab(opts.fstab);
  const valid = (original: string, sanitized: string | null): sanitized is string => sanitized !== null && !devs.has(sanitized);
  const entries: Field[][] = [];
  const labels = new Map<Field[], string>();
  for (const [index, raw] of (Array.isArray(opts.mounts) ? opts.mounts : []).entries()) {
    if (!Array.isArray(raw) || raw.length === 0) { opts.warn(`mount entry ${JSON.stringify(raw)} is not a list: ignored`); continue; }
    const start = str(raw[0]);
    const sanitized = opts.resolve(start);
    let line: unknown[];
    if (valid(start, sanitized)) line = [sanitized, ...raw.slice(1)];
    // A bare kernel name whose disk does not exist (yet) still means /dev/NAME
    // (cloud-init would write the bare name, which mount cannot use).
    else line = sanitized === null ? [devicePathOf(start), ...raw.slice(1)] : [...raw];
    const fields: Field[] = line.map((t, i) => (t === null || t === undefined ? opts.defaultFields[i] ?? null : str(t)));
    for (let i = fields.length; i < opts.defaultFields.length; i++) fields.push(opts.defaultFields[i] ?? null);
    entries.push(fields);
    labels.set(fields, `mounts[${index}]`);
  }
  // The instance's ephemeral disk on /mnt and its swap device, unless the config names them.
  for (const def of [['ephemeral0', '/mnt', 'auto', opts.defaultOptions, '0', '2'], ['swap', 'none', 'swap', 'sw', '0', '0']]) {
    const sanitized = opts.resolve(def[0]!);
    if (!valid(def[0]!, sanitized)) continue;
    if (entries.some((e) => e[0] === sanitized)) continue;
    const fields = [sanitized, ...def.slice(1)];
    entries.push(fields);
    labels.set(fields, `the ${def[0]} device (${def[0] === 'swap' ? 'swap' : '/mnt'}, from the metadata)`);
  }
  // An entry without a mount point removes every entry of that device up to it.
  const kept: Field[][] = [];
  const deny = new Set<Field>();
  for (const e of [...entries].reverse()) {
    if (e[1] === null || e[1] === undefined || deny.has(e[0]!)) deny.add(e[0]!);
    else kept.unshift(e);
  }
  // Each field must be an fstab token (src/validate/files.ts): a newline would add a line of its own.
  const ours: string[][] = [];
  for (const e of kept) {
    const f = e.map((t) => t ?? 'None');
    const checked = fstabEntry([...f.slice(0, 3), `${f[3]},${MNT_COMMENT}`, ...f.slice(4)]);
    if (checked.ok) ours.push(checked.value);
    else (opts.refuse ?? opts.warn)(`${labels.get(e) ?? 'an entry'}: ${checked.why}; entry left out of ${FSTAB}`);
  }
  // The swap file's line is marked too (cloud-init leaves it unmarked, and lists it again at every new
  // instance); an unmarked line for it (an image cloud-init prepared) is kept as it is.
  if (opts.swapFile !== null && !devs.has(opts.swapFile)) {
    const checked = fstabEntry([opts.swapFile, 'none', 'swap', `sw,${MNT_COMMENT}`, '0', '0']);
    if (checked.ok) ours.push(checked.value);
    else (opts.refuse ?? opts.warn)(`swap.filename: ${checked.why}; entry left out of ${FSTAB}`);
  }
  if (ours.length === 0) return { entries: [], content: null, changes: [], dirs: [] };
  const cfgLines = ours.map(fstabLine);
  const adds = cfgLines.map((l) => l.replace(/\t/g, ' '));
  const drops = removed.map((l) => l.replace(/\t/g, ' '));
  const changes = [...drops.filter((d) => !adds.includes(d)).map((d) => `- ${d}`), ...adds.filter((a) => !drops.includes(a)).map((a) => `+ ${a}`)];
  return {
    entries: ours,
    content: [...lines, ...cfgLines].join('\n') + '\n',
    changes,
    // The mount points as paths (fstab's \040 and \011 read back).
    dirs: ours.map((e) => e[1]!.replace(/\\040/g, ' ').replace(/\\011/g, '\t')).filter((d) => d.startsWith('/')),
  };
}

function defaultFields(config: Record<string, unknown>, systemd: boolean): Field[] {
  const given = config['mount_default_fields'];
  if (Array.isArray(given)) return given.map((v) => (v === null || v === undefined || v === 'None' ? null : str(v)));
  return [null, null, 'auto', defaultMountOptions(systemd), '0', '2'];
}

interface SwapConfig { filename: string; size: number | 'auto'; maxsize: number | null }

function swapConfig(value: unknown): SwapConfig | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`swap: expected a mapping, found ${JSON.stringify(value)}`);
  const s = value as Record<string, unknown>;
  const filename = typeof s['filename'] === 'string' ? s['filename'] : '/swap.img';
  const size = s['size'] ?? 0;
  if (!size || !filename) return null;
  const path = pathUnderRoot(filename);
  if (!path.ok) throw new Error(`swap: filename: ${path.why}`);
  const maxsize = s['maxsize'] === undefined || s['maxsize'] === null ? null : human2bytes(s['maxsize'] as string | number);
  return { filename, size: typeof size === 'string' && size.toLowerCase() === 'auto' ? 'auto' : human2bytes(size as string | number), maxsize };
}

const parentOf = (file: string) => file.slice(0, file.lastIndexOf('/')) || '/';

/**
 * Create (chrooted) the swap file, then go on with `next(file or null)`:
 * made owner-only before any byte is in it; fallocate, dd when that fails (or
 * on old-kernel xfs), btrfs without CoW; mkswap. A failure removes the file
 * and is a warning (as in cloud-init): fstab then has no line for it.
 */
function swapfileActions(run: ActionRun, file: string, mib: number, next: (swapFile: string | null) => Action[]): Action[] {
  const { where, files, root } = run;
  const dir = parentOf(file);
  const fstype = mountOf(root === '/' ? dir : `${root.replace(/\/$/, '')}${dir}`)?.fstype ?? '';
  const failed = (why: string): Action[] => [
    { kind: 'remove', path: file },
    { kind: 'report', level: 'warning', message: `failed to set up swap: ${why}` },
    ...next(null),
  ];
  const mkswap: Action[] = [
    { kind: 'chmod', path: file, mode: 0o600 },
    {
      kind: 'run', argv: ['mkswap', file], failure: 'ignore', why: 'a swap signature',
      then: (r) => (r.code !== 0 ? failed(`mkswap ${file} failed (${describeExit(r)}): ${r.stderr.trim()}`) : [
        { kind: 'log', text: `${where}: swap file ${file} of ${mib} MiB created (${fstype || 'unknown filesystem'}), mode 0600` },
        ...next(file),
      ]),
    },
  ];
  const dd: Action = {
    kind: 'run', argv: ['dd', 'if=/dev/zero', `of=${file}`, 'bs=1M', `count=${mib}`], failure: 'ignore', why: `fill ${file}`,
    then: (r) => (r.code !== 0 ? failed(`could not create swap file ${file} of ${mib} MiB with dd (${describeExit(r)}): ${r.stderr.trim()}`) : mkswap),
  };
  const kernel = /^(\d+)\.(\d+)/.exec(kernelRelease() ?? ''); // no /proc: assume a current kernel
  const oldXfs = fstype === 'xfs' && kernel !== null && (Number(kernel[1]) < 4 || (Number(kernel[1]) === 4 && Number(kernel[2]) < 18));
  const fill: Action = !oldXfs && which(files, 'fallocate') ? {
    kind: 'run', argv: ['fallocate', '-l', `${mib}M`, file], failure: 'ignore', why: `fill ${file}`,
    then: (r: RunResult) => (r.code === 0 ? mkswap : [{ kind: 'log', text: `${where}: fallocate of ${file} failed (${r.stderr.trim()}); trying dd` }, dd]),
  } : dd;
  return [
    { kind: 'mkdir', path: dir, mode: 0o755 },
    { kind: 'write', path: file, content: '', mode: 0o600, why: 'the swap file, owner-only before any byte is in it' },
    ...(fstype === 'btrfs' ? [
      { kind: 'run', argv: ['truncate', '-s', '0', file], failure: 'ignore' } as Action,
      { kind: 'run', argv: ['chattr', '+C', file], failure: 'ignore', why: 'no copy-on-write for a swap file' } as Action,
    ] : []),
    fill,
  ];
}

interface MountsConfig { mounts: unknown; swap: SwapConfig | null }

/** The swap file's actions (then the rest), or the rest at once with the swap file to list (handle_swapcfg). */
function swapThen(run: ActionRun, cfg: SwapConfig | null, rest: (swapFile: string | null) => Action[]): Action[] {
  const { files, where, root, report } = run;
  if (cfg === null) return rest(null);
  if (files.exists(cfg.filename)) return [{ kind: 'log', text: `${where}: swap file ${cfg.filename} exists already; not re-created` }, ...rest(cfg.filename)];
  let size: number;
  if (cfg.size === 'auto') {
    // The size follows the memory of the machine it will run on: only the running system knows it.
    if (root !== '/') return [leftForRunningSystem(`swap file ${cfg.filename} of size auto (it depends on the instance's memory)`, false), ...rest(null)];
    const mem = memTotal();
    if (mem === null) return [{ kind: 'log', text: `${where}: not creating swap: cannot read /proc/meminfo` }, ...rest(null)];
    let dir = parentOf(cfg.filename);
    while (dir !== '/' && !files.isDirectory(dir)) dir = parentOf(dir);
    const st = files.statfs(dir);
    size = suggestedSwapsize(mem, cfg.maxsize, st.bsize * st.bfree);
  } else size = cfg.size;
  const mib = Math.trunc(size / MB);
  if (mib < 1) {
    report('warning', `swap file ${cfg.filename} not created: size ${size} bytes is less than 1 MiB`);
    return rest(null);
  }
  return swapfileActions(run, cfg.filename, mib, rest);
}

function plan(run: ActionRun, mounts: unknown, swapFile: string | null, warn: (msg: string) => void, refuse: (msg: string) => void = warn): FstabPlan {
  const { files, source, config, root } = run;
  const systemd = usesSystemd(files, { installed: root !== '/' });
  const aliases = deviceAliases(config);
  return planFstab({
    fstab: files.readTextIfExists(FSTAB) ?? null,
    mounts,
    defaultFields: defaultFields(config, systemd),
    defaultOptions: defaultMountOptions(systemd),
    resolve: (name) => sanitizeDevname(run, source, name, aliases),
    swapFile,
    warn,
    refuse,
  });
}

/** fstab, the mount points, and (on the running system) swapon / mount -a / daemon-reload. */
function fstabActions(run: ActionRun, mounts: unknown, swapFile: string | null): Action[] {
  const { files, where, root, report } = run;
  const p = plan(run, mounts, swapFile, (message) => report('warning', message), (message) => report('error', message));
  if (p.content === null) return [{ kind: 'log', text: `${where}: no fstab changes needed` }];
  const old = files.readIfExists(FSTAB);
  const out: Action[] = [
    // A mount point that cannot be made is a warning; the others and fstab go on.
    ...p.dirs.map((d): Action => ({ kind: 'mkdir', path: d, mode: 0o755, unit: `mount point ${d}` })),
    ...((old === null ? null : asText(old)) !== p.content ? [{ kind: 'write', path: FSTAB, content: p.content, mode: 0o644, unit: 'fstab' } as Action] : []),
    { kind: 'log', text: `${where}: ${FSTAB}: ${p.changes.length ? p.changes.join('; ') : 'no changes'}`, unit: 'fstab' },
  ];
  // Activation: the running system only.
  const swap = p.entries.some((e) => e[2] === 'swap');
  const mounted = mountedPoints();
  const needMount = p.changes.length > 0 || p.dirs.some((d) => !mounted.has(d));
  const systemd = usesSystemd(files, { installed: root !== '/' });
  if (swap) out.push({ kind: 'run', argv: ['swapon', '-a'], why: 'swapon -a', runningSystem: 'optional', unit: 'swapon' });
  if (needMount) {
    // nofail lines may fail to mount (a disk not there yet): mount's own message says which.
    out.push({ kind: 'run', argv: ['mount', '-a'], why: 'mount -a', failure: 'warning', runningSystem: 'optional', unit: 'mount' });
    if (systemd) out.push({ kind: 'run', argv: ['systemctl', 'daemon-reload'], why: 'systemctl daemon-reload', runningSystem: 'optional', unit: 'mount' });
  }
  return out;
}

export const mounts = actionModule<MountsConfig>({
  name: 'mounts',
  stage: 'init',
  frequency: 'per-instance',
  // As cloud-init: it always runs (the ephemeral disk and swap of the metadata need no config).
  keys: [],
  schema: SCHEMA,
  check(config, report) {
    const given = config['mounts'];
    if (given !== undefined && given !== null && !Array.isArray(given)) {
      report('error', `mounts: expected a list of entries, found ${JSON.stringify(given)}`);
      return null;
    }
    let swap: SwapConfig | null = null;
    try { swap = swapConfig(config['swap']); } catch (e) { report('warning', (e as Error).message); }
    return { mounts: given, swap };
  },
  actions: ({ mounts, swap }, run) => swapThen(run, swap, (swapFile) => fstabActions(run, mounts, swapFile)),
});
