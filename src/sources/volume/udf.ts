// UDF (ECMA-167 with the OSTA UDF profile, revisions 1.02 to 2.60), read-only,
// in userspace: what Azure's provisioning CD-ROM (ovf-env.xml), a disc made
// by genisoimage -udf or pycdlib, or a volume made by mkudffs carries.
//
// The path to a file: the volume recognition sequence (an NSR02/NSR03
// descriptor at byte 32768), the anchor (sector 256, or 512 on an unclosed
// disc), the volume descriptor sequence it points at (partition and logical
// volume descriptors; the reserve copy when the main one is unreadable), the
// file set descriptor, the root directory's ICB, then per directory its file
// identifier descriptors and per file its file entry or extended file entry
// with embedded, short or long allocation descriptors (continued through
// allocation extent descriptors). Partitions: physical, sparable (the sparing
// table remaps packets) and virtual (the VAT of a write-once disc, found in
// its last sector); metadata partitions (UDF 2.50+ on rewritable media, which
// no tool here makes) are refused by name. The label is the logical volume
// identifier, as blkid reports it.
//
// Hostile input: every descriptor's tag is checked (identifier, checksum,
// CRC, location), every extent must lie inside its partition, every count
// and size is capped, continuation chains and ICB indirections are bounded
// and checked for loops; anything else is an error naming the image.
import { concat, latin1, u16le, u32le, utf16 } from '../../bytes.ts';
import { TooLarge } from '../budget.ts';
import type { Filesystem, Image } from './index.ts';
import { components } from './path.ts';

/** Largest file `read` returns; a bigger one is an error, not a seed. */
const MAX_FILE = 64 * 1024 * 1024;
const MAX_DIR = 16 * 1024 * 1024;
/** Most path components followed, and symbolic links per lookup. */
const MAX_DEPTH = 64;
const MAX_LINKS = 16;
/** Volume descriptors read (blkid and the kernel stop at 64 too), and pointer hops between sequences. */
const MAX_VDS = 64;
const MAX_VDS_HOPS = 8;
/** Allocation descriptors of one file, and allocation extent descriptors chained. */
const MAX_EXTENTS = 16384;
const MAX_AED_HOPS = 256;
/** Indirect entries followed from one ICB (strategy 4096). */
const MAX_INDIRECT = 8;
const MAX_PARTITION_MAPS = 16;
const MAX_CACHED_DIRS = 256;

const VRS_START = 32768;
const BLOCK_SIZES = [2048, 512, 1024, 4096];

// Tag identifiers (ECMA-167 3/7.2.1, 4/7.2.1).
const TAG = { PVD: 1, AVDP: 2, VDP: 3, PD: 5, LVD: 6, TD: 8, FSD: 256, FID: 257, AED: 258, IE: 259, FE: 261, EFE: 266 } as const;
// File types (ECMA-167 4/14.6.6; UDF 2.50 for the metadata file).
const FT_DIR = 4;
const FT_FILE = 5;
const FT_SYMLINK = 12;
const FT_VAT = 248;

/** How one partition reference (a partition map of the logical volume) reaches the disc. */
type PartitionMap =
  | { kind: 'physical'; start: number; length: number; number: number; sparing: Map<number, number>; packet: number }
  | { kind: 'virtual'; number: number; table: Uint32Array | null };

/** A run of `length` bytes from logical block `block` of partition reference `part`; `zero`: not recorded, reads as zeros. */
interface Extent { part: number; block: number; length: number; zero: boolean }

interface Entry { name: string; dir: boolean; icb: { part: number; block: number } }

interface Node { type: number; size: number; extents: Extent[]; inline: Uint8Array | null }

/** The filesystem on `img` when it is UDF, else null. */
export function probeUdf(img: Image): Filesystem | null {
  const fail = (msg: string): never => { throw new Error(`${img.name}: udf: ${msg}`); };
  // 1. The volume recognition sequence names an NSR descriptor (blkid's test too).
  const found = findAnchor(img);
  if (!found) return null;
  const { bs, anchor } = found;

  // 2. The volume descriptor sequence: the main one, else the reserve.
  let vds: Descriptors | null = null;
  let why = '';
  for (const at of [16, 24]) {
    try {
      vds = readSequence(img, bs, u32le(anchor, at + 4), u32le(anchor, at));
      if (vds.lvd && vds.pds.size > 0) break;
      why = 'no logical volume or partition descriptor';
    } catch (e) { why = (e as Error).message; }
    vds = null;
  }
  if (!vds) return fail(`volume descriptor sequence: ${why}`);
  const lvd = vds.lvd!;
  if (!latin1(lvd.subarray(217, 240)).startsWith('*OSTA UDF Compliant')) return null;
  const lbs = u32le(lvd, 212);
  if (lbs !== bs) fail(`logical block size ${lbs} is not the sector size ${bs}`);
  const label = udfCharset(lvd.subarray(20, 84)) ? dstring(lvd.subarray(84, 212)) : '';

  // 3. Partition maps: how each partition reference reaches the disc.
  const mapCount = u32le(lvd, 268);
  const mapBytes = u32le(lvd, 264);
  if (mapCount > MAX_PARTITION_MAPS || 440 + mapBytes > lvd.length) fail(`${mapCount} partition maps in ${mapBytes} bytes: malformed logical volume descriptor`);
  const maps: PartitionMap[] = [];
  const pdOf = (n: number) => vds!.pds.get(n) ?? fail(`partition ${n} has no partition descriptor`);
  for (let pos = 440, i = 0; i < mapCount; i++) {
    const type = lvd[pos]!;
    const len = lvd[pos + 1]!;
    if (len < 6 || pos + len > 440 + mapBytes) fail(`partition map ${i} is malformed`);
    const m = lvd.subarray(pos, pos + len);
    pos += len;
    if (type === 1) {
      const pd = pdOf(u16le(m, 4));
      maps.push({ kind: 'physical', start: u32le(pd, 188), length: u32le(pd, 192), number: u16le(m, 4), sparing: new Map(), packet: 1 });
    } else if (type === 2 && len >= 64) {
      const ident = latin1(m.subarray(5, 28)).replace(/\0+$/, '');
      const number = u16le(m, 38);
      if (ident === '*UDF Sparable Partition') {
        const pd = pdOf(number);
        const packet = u16le(m, 40);
        if (packet === 0 || (packet & (packet - 1)) !== 0) fail(`sparable partition ${number}: packet length ${packet}`);
        maps.push({ kind: 'physical', start: u32le(pd, 188), length: u32le(pd, 192), number, packet, sparing: sparingTable(img, bs, m) });
      } else if (ident === '*UDF Virtual Partition') {
        pdOf(number);
        maps.push({ kind: 'virtual', number, table: null });
      } else if (ident === '*UDF Metadata Partition') {
        fail('metadata partition (UDF 2.50+ on rewritable media) is not supported');
      } else fail(`partition map ${i}: unknown type ${JSON.stringify(ident)}`);
    } else fail(`partition map ${i}: unknown type ${type}`);
  }
  if (maps.length === 0) fail('no partition maps');

  let io: Image = img;

  /** A virtual partition lives on the physical one of its number: that map's reference. */
  const physicalRef = (number: number): number => {
    const ref = maps.findIndex((m) => m.kind === 'physical' && m.number === number);
    return ref >= 0 ? ref : fail(`virtual partition on partition ${number}, which has no map`);
  };

  /** The absolute sector of `block` of partition reference `part`, and how many following blocks are contiguous with it. */
  function locate(part: number, block: number): { sector: number; run: number } {
    const m = maps[part] ?? fail(`partition reference ${part} does not exist`);
    if (m.kind === 'physical') {
      if (block >= m.length) fail(`block ${block} is past the end of partition ${m.number} (${m.length} blocks)`);
      const packetStart = block - (block % m.packet);
      const moved = m.sparing.get(packetStart);
      const left = Math.min(m.packet - (block - packetStart), m.length - block);
      return { sector: (moved ?? m.start + packetStart) + (block - packetStart), run: m.sparing.size ? left : m.length - block };
    }
    // A virtual partition's blocks are where its allocation table (the VAT) says, one by one.
    const table = vat(m);
    const to = block < table.length ? table[block]! : 0xffffffff;
    if (to === 0xffffffff) fail(`block ${block} of the virtual partition is not mapped`);
    return { sector: locate(physicalRef(m.number), to).sector, run: 1 };
  }

  /**
   * The VAT of a write-once disc: a file whose entry is in the last recorded
   * sector (UDF 2.00+: file type 248, a header, then the table; 1.50: the
   * table, then the "*UDF Virtual Alloc Tbl" identifier and a pointer).
   */
  function vat(m: Extract<PartitionMap, { kind: 'virtual' }>): Uint32Array {
    if (m.table) return m.table;
    const phys = physicalRef(m.number);
    const pm = maps[phys] as Extract<PartitionMap, { kind: 'physical' }>;
    const last = Math.floor(io.size() / bs) - 1;
    const errors: string[] = [];
    for (let sector = last; sector >= last - 3 && sector >= pm.start; sector--) {
      try {
        const node = fileEntry({ part: phys, block: sector - pm.start });
        const data = content(node, MAX_DIR, 'the VAT');
        let entries: Uint8Array;
        if (node.type === FT_VAT) {
          const header = u16le(data, 0);
          if (header < 152 || header > data.length) throw new Error(`VAT header of ${header} bytes`);
          entries = data.subarray(header);
        } else if (node.type === 0 && data.length >= 36 && latin1(data.subarray(data.length - 35, data.length - 12)).replace(/\0+$/, '') === '*UDF Virtual Alloc Tbl') {
          entries = data.subarray(0, data.length - 36);
        } else throw new Error(`file type ${node.type} is not a VAT`);
        const table = new Uint32Array(Math.floor(entries.length / 4));
        for (let i = 0; i < table.length; i++) table[i] = u32le(entries, 4 * i);
        m.table = table;
        return table;
      } catch (e) { errors.push(`sector ${sector}: ${(e as Error).message}`); }
    }
    return fail(`no VAT in the last sectors (${errors.join('; ') || 'the image is too small'})`);
  }

  /** `length` bytes from logical block `block` of `part`, all inside the partition. */
  function readBlocks(part: number, block: number, length: number): Uint8Array {
    const parts: Uint8Array[] = [];
    let left = length;
    let b = block;
    while (left > 0) {
      const { sector, run } = locate(part, b);
      const n = Math.min(left, run * bs);
      parts.push(io.at(sector * bs, n));
      left -= n;
      b += Math.ceil(n / bs);
    }
    return parts.length === 1 ? parts[0]! : concat(parts);
  }

  /** One descriptor of one block at `loc`, its tag checked (identifier among `ids`, checksum, CRC, location). */
  function tagged(loc: { part: number; block: number }, ids: number[], what: string): Uint8Array {
    const d = readBlocks(loc.part, loc.block, bs);
    checkTag(d, ids, loc.block, `${what} at block ${loc.block} of partition reference ${loc.part}`, fail);
    return d;
  }

  /** A file's entry: its type, size and where its bytes are (indirect entries of strategy 4096 followed). */
  function fileEntry(icb: { part: number; block: number }): Node {
    let loc = icb;
    let d = tagged(loc, [TAG.FE, TAG.EFE, TAG.IE], 'file entry');
    const seen = new Set<string>();
    for (let hops = 0; ; hops++) {
      if (u16le(d, 0) === TAG.IE) {
        if (hops >= MAX_INDIRECT || seen.has(`${loc.part}:${loc.block}`)) fail(`indirect entries loop or nest too deep at block ${loc.block}`);
        seen.add(`${loc.part}:${loc.block}`);
        loc = { part: u16le(d, 44), block: u32le(d, 40) };
        d = tagged(loc, [TAG.FE, TAG.EFE, TAG.IE], 'file entry');
        continue;
      }
      // Strategy 4096 (write-once media): a newer entry may follow, through an indirect entry in the next block.
      if (u16le(d, 20) === 4096 && hops < MAX_INDIRECT) {
        let next: Uint8Array | null = null;
        try { next = readBlocks(loc.part, loc.block + 1, bs); } catch { next = null; }
        if (next && u16le(next, 0) === TAG.IE && tagOk(next, loc.block + 1)) {
          const target = { part: u16le(next, 44), block: u32le(next, 40) };
          if (u32le(next, 36) !== 0 && !seen.has(`${target.part}:${target.block}`)) {
            seen.add(`${loc.part}:${loc.block}`);
            loc = target;
            d = tagged(loc, [TAG.FE, TAG.EFE, TAG.IE], 'file entry');
            continue;
          }
        }
      }
      break;
    }
    const extended = u16le(d, 0) === TAG.EFE;
    const type = d[27]!;
    const adType = u16le(d, 34) & 7;
    const size = u64(d, 56);
    const eaLen = u32le(d, extended ? 208 : 168);
    const adLen = u32le(d, extended ? 212 : 172);
    const adStart = (extended ? 216 : 176) + eaLen;
    if (adStart + adLen > d.length || adStart + adLen < adStart) fail(`file entry at block ${loc.block}: extended attributes and allocation descriptors overrun the block`);
    const ads = d.subarray(adStart, adStart + adLen);
    if (adType === 3) {
      if (size > adLen) fail(`file entry at block ${loc.block}: ${size} bytes of embedded data in ${adLen}`);
      return { type, size, extents: [], inline: ads.slice(0, size) };
    }
    if (adType !== 0 && adType !== 1) fail(`file entry at block ${loc.block}: allocation descriptor type ${adType} is not supported`);
    return { type, size, extents: allocation(ads, adType as 0 | 1, loc.part, size), inline: null };
  }

  /** The extents that short (0) or long (1) allocation descriptors list, continuations followed, until `size` bytes. */
  function allocation(first: Uint8Array, adType: 0 | 1, part: number, size: number): Extent[] {
    const out: Extent[] = [];
    const width = adType === 0 ? 8 : 16;
    const seen = new Set<string>();
    let ads = first;
    let total = 0;
    for (let hops = 0; ;) {
      let next: { part: number; block: number; length: number } | null = null;
      for (let pos = 0; pos + width <= ads.length; pos += width) {
        const raw = u32le(ads, pos);
        const length = raw & 0x3fffffff;
        const kind = raw >>> 30;
        if (length === 0) break;
        const block = u32le(ads, pos + 4);
        const p = adType === 0 ? part : u16le(ads, pos + 8);
        if (kind === 3) { next = { part: p, block, length }; break; }
        if (out.length >= MAX_EXTENTS) fail(`more than ${MAX_EXTENTS} extents in one file`);
        out.push({ part: p, block, length, zero: kind !== 0 });
        total += length;
        if (total >= size) return out;
      }
      if (!next) break;
      if (++hops > MAX_AED_HOPS || seen.has(`${next.part}:${next.block}`)) fail(`allocation extent descriptors loop or chain too long at block ${next.block}`);
      seen.add(`${next.part}:${next.block}`);
      const aed = tagged(next, [TAG.AED], 'allocation extent descriptor');
      const len = u32le(aed, 20);
      if (24 + len > aed.length || len > next.length) fail(`allocation extent descriptor at block ${next.block}: ${len} bytes of descriptors do not fit`);
      ads = aed.subarray(24, 24 + len);
    }
    if (total < size) fail(`allocation descriptors cover ${total} of ${size} bytes`);
    return out;
  }

  /** A file's bytes (at most `max`). */
  function content(node: Node, max: number, what: string): Uint8Array {
    if (node.size > max) fail(`${what} is too large (${node.size} bytes; at most ${max})`);
    if (node.inline) return node.inline;
    const out = new Uint8Array(node.size);
    let off = 0;
    for (const e of node.extents) {
      if (off >= node.size) break;
      const n = Math.min(e.length, node.size - off);
      if (!e.zero) out.set(readBlocks(e.part, e.block, n), off);
      off += n;
    }
    return out;
  }

  // 4. The file set descriptor, read on first use: the root directory's ICB.
  let root: { part: number; block: number } | null = null;
  const fsdAt = { part: u16le(lvd, 256), block: u32le(lvd, 252) };
  const rootIcb = () => {
    if (root) return root;
    const fsd = tagged(fsdAt, [TAG.FSD], 'file set descriptor');
    root = { part: u16le(fsd, 408), block: u32le(fsd, 404) };
    return root;
  };

  const dirs = new Map<string, Entry[]>();
  function readDir(icb: { part: number; block: number }): Entry[] {
    const key = `${icb.part}:${icb.block}`;
    const cached = dirs.get(key);
    if (cached) return cached;
    const node = fileEntry(icb);
    if (node.type !== FT_DIR) fail(`block ${icb.block} is not a directory (file type ${node.type})`);
    const data = content(node, MAX_DIR, `directory at block ${icb.block}`);
    const out: Entry[] = [];
    for (let pos = 0; pos < data.length;) {
      if (pos + 38 > data.length) fail(`directory at block ${icb.block}: truncated file identifier at offset ${pos}`);
      const fid = data.subarray(pos);
      const idLen = fid[19]!;
      const iuLen = u16le(fid, 36);
      const len = (38 + iuLen + idLen + 3) & ~3;
      if (pos + 38 + iuLen + idLen > data.length) fail(`directory at block ${icb.block}: file identifier at offset ${pos} runs past the directory`);
      checkTag(fid.subarray(0, Math.min(len, fid.length)), [TAG.FID], null, `directory at block ${icb.block}: file identifier at offset ${pos}`, fail);
      pos += len;
      const flags = fid[18]!;
      // Deleted, the parent entry, hidden (the kernel hides them too).
      if (flags & (0x04 | 0x08 | 0x01)) continue;
      const name = fileName(fid.subarray(38 + iuLen, 38 + iuLen + idLen));
      if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) continue;
      out.push({ name, dir: (flags & 0x02) !== 0, icb: { part: u16le(fid, 28), block: u32le(fid, 24) } });
    }
    if (dirs.size >= MAX_CACHED_DIRS) dirs.clear();
    dirs.set(key, out);
    return out;
  }

  /** The entry at `path`, symbolic links followed inside the volume; null when absent. */
  function lookup(path: string): { icb: { part: number; block: number }; dir: boolean } | null {
    const pending = components(path);
    const stack: Array<{ part: number; block: number }> = [rootIcb()];
    let node: { icb: { part: number; block: number }; dir: boolean } = { icb: stack[0]!, dir: true };
    let steps = 0;
    let links = 0;
    while (pending.length > 0) {
      if (++steps > MAX_DEPTH * 4) fail(`path too deep: ${path}`);
      const c = pending.shift()!;
      if (c === '.') continue;
      if (c === '..') { if (stack.length > 1) stack.pop(); node = { icb: stack[stack.length - 1]!, dir: true }; continue; }
      if (!node.dir) return null;
      if (stack.length > MAX_DEPTH) fail(`path too deep: ${path}`);
      const found = readDir(node.icb).find((e) => e.name === c);
      if (!found) return null;
      if (!found.dir) {
        const entry = fileEntry(found.icb);
        if (entry.type === FT_SYMLINK) {
          if (++links > MAX_LINKS) fail(`too many symbolic links in ${path}`);
          const target = symlinkTarget(content(entry, 4096, `symbolic link ${c}`), fail);
          if (target.absolute) stack.length = 1;
          node = { icb: stack[stack.length - 1]!, dir: true };
          pending.unshift(...target.parts);
          if (pending.length > MAX_DEPTH * 4) fail(`path too deep: ${path}`);
          continue;
        }
      }
      node = { icb: found.icb, dir: found.dir };
      if (found.dir) stack.push(found.icb);
    }
    return node;
  }

  return {
    label,
    fsType: 'udf',
    list(opened: Image, dir: string): string[] {
      io = opened;
      const n = lookup(dir);
      if (!n || !n.dir) return [];
      return readDir(n.icb).map((e) => e.name).sort();
    },
    read(opened: Image, path: string, maxBytes = MAX_FILE): Uint8Array | null {
      io = opened;
      const n = lookup(path);
      if (!n || n.dir) return null;
      const entry = fileEntry(n.icb);
      if (entry.type !== FT_FILE) return null;
      // Past what the caller asked for (what is left of a source's budget): refused before it is read.
      if (entry.size > maxBytes) throw new TooLarge(`${img.name}: udf: ${path} is too large (${entry.size} bytes; at most ${maxBytes})`);
      return content(entry, MAX_FILE, path).slice();
    },
  };
}

/** The block size whose anchor (at sector 256, else 512) follows a recognition sequence naming NSR02/NSR03. */
function findAnchor(img: Image): { bs: number; anchor: Uint8Array } | null {
  for (const bs of BLOCK_SIZES) {
    const vsd = Math.max(bs, 2048);
    let nsr = false;
    for (let i = 0; i < 64; i++) {
      let d: Uint8Array;
      try { d = img.at(VRS_START + i * vsd, 7); } catch { break; }
      const id = latin1(d.subarray(1, 6));
      if (id === 'NSR02' || id === 'NSR03') { nsr = true; break; }
      if (!['BEA01', 'BOOT2', 'CD001', 'CDW02', 'TEA01'].includes(id)) break;
    }
    if (!nsr) continue;
    for (const sector of [256, 512]) {
      let d: Uint8Array;
      try { d = img.at(sector * bs, bs); } catch { continue; }
      if (u16le(d, 0) === TAG.AVDP && tagOk(d, sector)) return { bs, anchor: d.slice() };
    }
  }
  return null;
}

interface Descriptors { lvd: Uint8Array | null; pds: Map<number, Uint8Array> }

/** The volume descriptors of the sequence at `sector` (`length` bytes), pointers to further sequences followed. */
function readSequence(img: Image, bs: number, sector: number, length: number): Descriptors {
  const out: Descriptors = { lvd: null, pds: new Map() };
  const seq = new Map<number, number>();
  const seen = new Set<number>();
  let count = Math.min(Math.floor(length / bs), MAX_VDS);
  let read = 0;
  let hops = 0;
  for (let s = sector; count > 0; s++, count--) {
    if (++read > MAX_VDS) throw new Error(`more than ${MAX_VDS} volume descriptors`);
    const d = img.at(s * bs, bs);
    const id = u16le(d, 0);
    if (id === 0 || id === TAG.TD || !tagOk(d, s)) break;
    const num = u32le(d, 16);
    if (id === TAG.VDP) {
      const next = u32le(d, 24);
      if (++hops > MAX_VDS_HOPS || seen.has(next)) throw new Error('volume descriptor pointers loop');
      seen.add(next);
      s = next - 1;
      count = Math.min(Math.floor(u32le(d, 20) / bs), MAX_VDS) + 1;
      continue;
    }
    // The prevailing descriptor of each kind has the highest sequence number.
    if (id === TAG.LVD && (out.lvd === null || num > (seq.get(-1) ?? -1))) { out.lvd = d.slice(); seq.set(-1, num); }
    if (id === TAG.PD) {
      const n = u16le(d, 22);
      if (!out.pds.has(n) || num > (seq.get(n) ?? -1)) { out.pds.set(n, d.slice()); seq.set(n, num); }
    }
  }
  return out;
}

/** A sparable partition's sparing table (original packet → mapped sector), the first readable copy; none: no remapping. */
function sparingTable(img: Image, bs: number, map: Uint8Array): Map<number, number> {
  const copies = Math.min(map[42]!, 4);
  const size = u32le(map, 44);
  for (let i = 0; i < copies; i++) {
    const sector = u32le(map, 48 + 4 * i);
    try {
      const d = img.at(sector * bs, Math.min(Math.max(size, 56), 16 * bs));
      if (latin1(d.subarray(17, 40)).replace(/\0+$/, '') !== '*UDF Sparing Table' || !tagOk(d, sector)) continue;
      const entries = u16le(d, 48);
      const table = new Map<number, number>();
      for (let e = 0; e < entries && 56 + 8 * e + 8 <= d.length; e++) {
        const original = u32le(d, 56 + 8 * e);
        if (original < 0xfffffff0) table.set(original, u32le(d, 60 + 8 * e));
      }
      return table;
    } catch { /* the next copy */ }
  }
  return new Map();
}

/** Checksum, CRC and (when given) location of a descriptor tag. */
function tagOk(d: Uint8Array, location: number | null): boolean {
  if (d.length < 16) return false;
  let sum = 0;
  for (let i = 0; i < 16; i++) if (i !== 4) sum = (sum + d[i]!) & 0xff;
  if (sum !== d[4]) return false;
  if (location !== null && u32le(d, 12) !== location) return false;
  const crcLen = u16le(d, 10);
  if (16 + crcLen > d.length) return false;
  return crc16(d.subarray(16, 16 + crcLen)) === u16le(d, 8);
}

function checkTag(d: Uint8Array, ids: number[], location: number | null, what: string, fail: (m: string) => never): void {
  if (d.length < 16) fail(`${what}: truncated`);
  const id = u16le(d, 0);
  if (!ids.includes(id)) fail(`${what}: descriptor ${id}, not ${ids.join(' or ')}`);
  if (!tagOk(d, location)) fail(`${what}: bad descriptor tag (checksum, CRC or location)`);
}

/** CRC-ITU-T (x^16 + x^12 + x^5 + 1, initial 0), as ECMA-167 7.2.6 computes it. */
function crc16(b: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < b.length; i++) {
    crc ^= b[i]! << 8;
    for (let k = 0; k < 8; k++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function u64(b: Uint8Array, off: number): number {
  const hi = u32le(b, off + 4);
  if (hi >= 0x200000) return Number.MAX_SAFE_INTEGER;
  return hi * 0x100000000 + u32le(b, off);
}

/** A charspec of "OSTA Compressed Unicode" (CS0): dstrings in it are what blkid reads. */
function udfCharset(cs: Uint8Array): boolean {
  return cs[0] === 0 && latin1(cs.subarray(1, 24)) === 'OSTA Compressed Unicode';
}

/** OSTA compressed unicode: the compression id (8 or 254: one byte a character; 16 or 255: UTF-16BE), then the characters. */
function cs0(b: Uint8Array): string {
  if (b.length === 0) return '';
  const id = b[0]!;
  if (id === 8 || id === 254) return latin1(b.subarray(1));
  if (id === 16 || id === 255) return utf16(b.subarray(1), true);
  return '';
}

/** A fixed-size dstring: its last byte is the used length (compression id included). */
function dstring(field: Uint8Array): string {
  const used = field[field.length - 1]!;
  if (used === 0 || used > field.length - 1) return '';
  return cs0(field.subarray(0, used));
}

function fileName(b: Uint8Array): string { return cs0(b); }

/** A symbolic link's path components (ECMA-167 4/14.16): root, '..', '.', names. */
function symlinkTarget(data: Uint8Array, fail: (m: string) => never): { absolute: boolean; parts: string[] } {
  const parts: string[] = [];
  let absolute = false;
  for (let pos = 0; pos < data.length;) {
    if (pos + 4 > data.length) fail('malformed symbolic link');
    const type = data[pos]!;
    const len = data[pos + 1]!;
    if (pos + 4 + len > data.length) fail('malformed symbolic link');
    const ident = data.subarray(pos + 4, pos + 4 + len);
    pos += 4 + len;
    if (type === 1 || type === 2) { absolute = true; parts.length = 0; } else if (type === 3) parts.push('..');
    else if (type === 4) parts.push('.');
    else if (type === 5) {
      const name = cs0(ident);
      if (name === '' || name.includes('/')) fail('malformed symbolic link');
      parts.push(name);
    } else fail(`symbolic link component type ${type}`);
  }
  return { absolute, parts };
}
