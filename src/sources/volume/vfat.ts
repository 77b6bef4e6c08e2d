// FAT12/16/32, read-only, in userspace, with VFAT long file names.
// Lookups are case-insensitive and match the long or the short name, as the
// Linux vfat driver does. Cluster chains are checked: a loop, a free or
// out-of-range cluster, or a chain shorter than the file is an error.
import { EMPTY, concat, latin1, u16le, u32le, utf16 } from '../../bytes.ts';
import { TooLarge } from '../budget.ts';
import type { Filesystem, Image } from './index.ts';
import { components } from './path.ts';

/** Largest file `read` returns; a bigger one is an error, not a seed. */
const MAX_FILE = 64 * 1024 * 1024;
/** Most path components followed. */
const MAX_DEPTH = 64;

/** The FAT spec's limit: 65536 entries of 32 bytes. */
const MAX_DIR = 65536 * 32;
const MAX_CACHED_DIRS = 256;

interface Entry {
  name: string;
  short: string;
  dir: boolean;
  cluster: number;
  size: number;
}

interface Geometry {
  type: 12 | 16 | 32;
  bps: number;
  clusterBytes: number;
  fatOffset: number;
  /** FAT12/16: the fixed root directory region. */
  rootOffset: number;
  rootBytes: number;
  /** FAT32: the root directory's first cluster. */
  rootCluster: number;
  dataOffset: number;
  clusters: number;
}

/** The filesystem on `img` when it is FAT12/16/32, else null. */
export function probeVfat(img: Image): Filesystem | null {
  const bs = img.at(0, 512);
  const g = geometry(bs);
  if (!g) return null;
  const fail = (msg: string): never => { throw new Error(`${img.name}: vfat: ${msg}`); };
  let io: Image = img; // the image of the current operation (each list/read reopens the device)
  const dirs = new Map<number, Entry[]>();

  function fatEntry(c: number): number {
    if (g!.type === 12) {
      const v = u16le(io.at(g!.fatOffset + c + (c >> 1), 2), 0);
      return c & 1 ? v >> 4 : v & 0xfff;
    }
    if (g!.type === 16) return u16le(io.at(g!.fatOffset + c * 2, 2), 0);
    return u32le(io.at(g!.fatOffset + c * 4, 4), 0) & 0x0fffffff;
  }
  const eoc = g.type === 12 ? 0xff8 : g.type === 16 ? 0xfff8 : 0x0ffffff8;

  /** The content of the chain starting at `first`: `size` bytes, or the whole chain (bounded) when size is null. */
  function readChain(first: number, size: number | null, what: string): Uint8Array {
    const limit = size ?? MAX_DIR;
    const parts: Uint8Array[] = [];
    let have = 0;
    let c = first;
    const seen = new Set<number>();
    const visit = (k: number): void => {
      if (seen.has(k)) fail(`${what}: cluster chain loops at cluster ${k}`);
      seen.add(k);
    };
    while (have < limit) {
      if (c < 2 || c > g!.clusters + 1) fail(`${what}: bad cluster ${c} in its chain`);
      // Gather a run of contiguous clusters to read at once.
      visit(c);
      let run = 1;
      let next = fatEntry(c);
      while (next === c + run && next <= g!.clusters + 1 && have + run * g!.clusterBytes < limit) {
        visit(next);
        run++;
        next = fatEntry(c + run - 1);
      }
      const bytes = Math.min(run * g!.clusterBytes, limit - have);
      parts.push(io.at(g!.dataOffset + (c - 2) * g!.clusterBytes, bytes));
      have += bytes;
      if (have >= limit) break;
      if (next >= eoc) {
        if (size !== null) fail(`${what}: cluster chain ends after ${have} of ${size} bytes`);
        break;
      }
      c = next;
    }
    return concat(parts);
  }

  function rootEntries(): Uint8Array {
    if (g!.type === 32) return readChain(g!.rootCluster, null, 'root directory');
    return io.at(g!.rootOffset, g!.rootBytes);
  }

  function readDir(cluster: number): Entry[] {
    const cached = dirs.get(cluster);
    if (cached) return cached;
    const data = cluster === 0 ? rootEntries() : readChain(cluster, null, `directory at cluster ${cluster}`);
    const out = parseDir(data, g!.type).entries;
    if (dirs.size >= MAX_CACHED_DIRS) dirs.clear();
    dirs.set(cluster, out);
    return out;
  }

  function lookup(path: string): Entry | null {
    const parts = components(path);
    if (parts.length > MAX_DEPTH) fail(`path too deep: ${path}`);
    let node: Entry = { name: '', short: '', dir: true, cluster: 0, size: 0 };
    for (const c of parts) {
      if (!node.dir) return null;
      const want = c.toLowerCase();
      const entries = readDir(node.cluster);
      const found = entries.find((e) => e.name.toLowerCase() === want) ?? entries.find((e) => e.short.toLowerCase() === want);
      if (!found) return null;
      // A directory entry pointing at cluster 0 is the root (as in "..").
      node = found;
    }
    return node;
  }

  // The label: the root directory's volume-label entry, else the boot sector's ("NO NAME" is none).
  let label = '';
  try { label = parseDir(rootEntries(), g.type).label ?? ''; } catch { /* reported by list/read */ }
  if (label === '') {
    const b = latin1(bs.subarray(g.type === 32 ? 71 : 43, g.type === 32 ? 82 : 54)).replace(/ +$/, '');
    if (b !== 'NO NAME') label = b;
  }

  return {
    label,
    fsType: 'vfat',
    list(opened: Image, dir: string): string[] {
      io = opened;
      const n = lookup(dir);
      if (!n || !n.dir) return [];
      return readDir(n.cluster).map((e) => e.name).sort();
    },
    read(opened: Image, path: string, maxBytes = MAX_FILE): Uint8Array | null {
      io = opened;
      const n = lookup(path);
      if (!n || n.dir) return null;
      if (n.size > Math.min(maxBytes, MAX_FILE)) throw new TooLarge(`${img.name}: vfat: ${path} is too large (${n.size} bytes; at most ${Math.min(maxBytes, MAX_FILE)})`);
      if (n.size === 0) return EMPTY;
      return readChain(n.cluster, n.size, path).slice();
    },
  };
}

/** The layout from a boot sector; null when it is not a FAT boot sector. */
function geometry(bs: Uint8Array): Geometry | null {
  if (!(bs[0] === 0xeb && bs[2] === 0x90) && bs[0] !== 0xe9) return null;
  if (bs[510] !== 0x55 || bs[511] !== 0xaa) return null;
  const oem = latin1(bs.subarray(3, 11));
  if (oem === 'NTFS    ' || oem === 'EXFAT   ') return null;
  const bps = u16le(bs, 11);
  const spc = bs[13]!;
  const reserved = u16le(bs, 14);
  const fats = bs[16]!;
  const rootEntries = u16le(bs, 17);
  const total = u16le(bs, 19) || u32le(bs, 32);
  const media = bs[21]!;
  const fatSectors = u16le(bs, 22) || u32le(bs, 36);
  if (![512, 1024, 2048, 4096].includes(bps)) return null;
  if (spc === 0 || (spc & (spc - 1)) !== 0) return null;
  if (reserved === 0 || fats === 0 || fats > 4 || fatSectors === 0 || total === 0) return null;
  if (media !== 0xf0 && media < 0xf8) return null;
  const rootSectors = Math.ceil((rootEntries * 32) / bps);
  const dataSector = reserved + fats * fatSectors + rootSectors;
  if (total <= dataSector) return null;
  const clusters = Math.floor((total - dataSector) / spc);
  if (clusters < 1) return null;
  const type: 12 | 16 | 32 = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
  if (type === 32 ? rootEntries !== 0 || u16le(bs, 22) !== 0 : rootEntries === 0) return null;
  // The FAT must hold an entry for every cluster.
  if ((fatSectors * bps * 8) / type < clusters + 2) return null;
  const rootCluster = type === 32 ? u32le(bs, 44) : 0;
  if (type === 32 && (rootCluster < 2 || rootCluster > clusters + 1)) return null;
  return {
    type,
    bps,
    clusterBytes: bps * spc,
    fatOffset: reserved * bps,
    rootOffset: (reserved + fats * fatSectors) * bps,
    rootBytes: rootSectors * bps,
    rootCluster,
    dataOffset: dataSector * bps,
    clusters,
  };
}

/** Directory entries (long names assembled and checked), and a volume label entry if any. */
function parseDir(data: Uint8Array, type: 12 | 16 | 32): { entries: Entry[]; label?: string } {
  const entries: Entry[] = [];
  let label: string | undefined;
  let lfn: string[] = [];
  let lfnSeq = 0;
  let lfnSum = -1;
  for (let pos = 0; pos + 32 <= data.length; pos += 32) {
    const e = data.subarray(pos, pos + 32);
    const first = e[0]!;
    if (first === 0) break;
    if (first === 0xe5) { lfnSeq = 0; continue; }
    const attr = e[11]!;
    if ((attr & 0x3f) === 0x0f) {
      const seq = first & 0x1f;
      if (first & 0x40) { lfn = []; lfnSeq = seq; lfnSum = e[13]!; }
      else if (seq !== lfnSeq - 1 || e[13] !== lfnSum) { lfnSeq = 0; continue; }
      else lfnSeq = seq;
      if (seq === 0) { lfnSeq = 0; continue; }
      lfn[seq - 1] = lfnChars(e);
      continue;
    }
    const base = latin1(e.subarray(0, 8)).replace(/ +$/, '');
    const ext = latin1(e.subarray(8, 11)).replace(/ +$/, '');
    if (attr & 0x08) {
      if (!(attr & 0x10) && label === undefined) label = (base + latin1(e.subarray(8, 11))).replace(/ +$/, '');
      lfnSeq = 0;
      continue;
    }
    const haveLfn = lfnSeq === 1 && lfnSum === checksum(e);
    lfnSeq = 0;
    let b = first === 0x05 ? '\u00e5' + base.slice(1) : base;
    let x = ext;
    if (e[12]! & 0x08) b = b.toLowerCase();
    if (e[12]! & 0x10) x = x.toLowerCase();
    const short = x ? `${b}.${x}` : b;
    if (short === '.' || short === '..') continue;
    const name = haveLfn ? lfn.join('') : short;
    if (name === '' || name.includes('/')) continue;
    const hi = type === 32 ? u16le(e, 20) : 0;
    entries.push({ name, short, dir: (attr & 0x10) !== 0, cluster: (hi << 16) | u16le(e, 26), size: u32le(e, 28) });
  }
  return label === undefined ? { entries } : { entries, label };
}

function lfnChars(e: Uint8Array): string {
  const units = concat([e.subarray(1, 11), e.subarray(14, 26), e.subarray(28, 32)]);
  let end = 0;
  while (end + 2 <= units.length && u16le(units, end) !== 0) end += 2;
  return utf16(units.subarray(0, end));
}

function checksum(e: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = ((((sum & 1) << 7) | (sum >> 1)) + e[i]!) & 0xff;
  return sum;
}
