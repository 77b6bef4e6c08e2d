// ISO 9660, read-only, in userspace. Names as the Linux kernel shows them:
// Rock Ridge when present (genisoimage -r, xorriso), else Joliet (-J), else
// the plain names lowercased, without ';1' and a trailing dot. Rock Ridge
// symbolic links and relocated (deep) directories are followed.
// Lookups are case-sensitive, except on plain names (which are lossy).
import { asText, concat, latin1, u16le, u32le, utf16 } from '../../bytes.ts';
import { TooLarge } from '../budget.ts';
import type { Filesystem, Image } from './index.ts';
import { components } from './path.ts';

/** Largest file `read` returns; a bigger one is an error, not a seed. */
const MAX_FILE = 64 * 1024 * 1024;
/** Most path components followed. */
const MAX_DEPTH = 64;

const SECTOR = 2048;
const MAX_DESCRIPTORS = 64;
const MAX_DIR = 16 * 1024 * 1024;
const MAX_CONTINUATIONS = 32;
const MAX_LINKS = 16;
const MAX_CACHED_DIRS = 256;

type Mode = 'rockridge' | 'joliet' | 'plain';

interface Node {
  name: string;
  dir: boolean;
  /** First logical block of the data (extended attribute record skipped). */
  block: number;
  size: number;
  /** Rock Ridge symbolic link target. */
  link?: string;
}

/** The filesystem on `img` when it is ISO 9660, else null. */
export function probeIso9660(img: Image): Filesystem | null {
  let pvd: Uint8Array | null = null;
  let joliet: Uint8Array | null = null;
  for (let i = 0; i < MAX_DESCRIPTORS; i++) {
    let d: Uint8Array;
    try { d = img.at((16 + i) * SECTOR, SECTOR); } catch { if (pvd) break; return null; }
    if (latin1(d.subarray(1, 6)) !== 'CD001') { if (pvd) break; return null; }
    const type = d[0]!;
    if (type === 255) break;
    if (type === 1 && !pvd) pvd = d.slice();
    if (type === 2 && !joliet && d[88] === 0x25 && d[89] === 0x2f && [0x40, 0x43, 0x45].includes(d[90]!)) joliet = d.slice();
  }
  if (!pvd) return null;
  const blockSize = u16le(pvd, 128);
  if (![512, 1024, 2048].includes(blockSize)) return null;
  const fail = (msg: string): never => { throw new Error(`${img.name}: iso9660: ${msg}`); };

  const rootOf = (vd: Uint8Array): Node => {
    const r = vd.subarray(156, 190);
    if (r[0]! < 34 || !(r[25]! & 2)) fail('bad root directory record');
    return { name: '', dir: true, block: u32le(r, 2) + r[1]!, size: u32le(r, 10) };
  };

  // Rock Ridge: the SUSP "SP" entry opens the system use area of the root's "." record.
  let mode: Mode = 'plain';
  let skip = 0;
  let root = rootOf(pvd);
  try {
    const first = img.at(root.block * blockSize, SECTOR);
    const len = first[0]!;
    const su = 33 + first[32]! + (first[32]! % 2 === 0 ? 1 : 0);
    if (len >= su + 7 && latin1(first.subarray(su, su + 2)) === 'SP' && first[su + 4] === 0xbe && first[su + 5] === 0xef) {
      mode = 'rockridge';
      skip = first[su + 6]!;
    }
  } catch { /* unreadable root: reported by list/read */ }
  if (mode === 'plain' && joliet) { mode = 'joliet'; root = rootOf(joliet); }

  const pvdLabel = latin1(pvd.subarray(40, 72)).replace(/[ \0]+$/, '');
  let label = pvdLabel;
  if (joliet) {
    // The Joliet label keeps the case and length the primary one may have lost.
    const j = ucs2(joliet.subarray(40, 72)).replace(/[ \0]+$/, '');
    if (j !== '' && (pvdLabel === '' || j.toUpperCase().startsWith(pvdLabel.toUpperCase()))) label = j;
  }

  const dirs = new Map<number, Node[]>();
  // The image of the current operation (each list/read reopens the device).
  let io: Image = img;

  /** A Rock Ridge system use area: the name, link target, relocation entries. */
  function susp(area: Uint8Array, out: { nm?: string; sl?: string; cl?: number; re?: boolean }): void {
    let buf = area;
    let pos = 0;
    let hops = 0;
    let nm: Uint8Array[] | null = null;
    let sl: string[] | null = null;
    let slPending = '';
    for (;;) {
      if (pos + 4 > buf.length) {
        break;
      }
      const sig = latin1(buf.subarray(pos, pos + 2));
      const len = buf[pos + 2]!;
      if (len < 4 || pos + len > buf.length) break;
      const e = buf.subarray(pos, pos + len);
      pos += len;
      if (sig === 'ST') break;
      if (sig === 'CE' && len >= 28) {
        if (++hops > MAX_CONTINUATIONS) fail('too many Rock Ridge continuation areas');
        const at = u32le(e, 4) * blockSize + u32le(e, 12);
        const clen = u32le(e, 20);
        if (clen > blockSize * 4) fail('oversized Rock Ridge continuation area');
        buf = io.at(at, clen);
        pos = 0;
        continue;
      }
      if (sig === 'NM' && len >= 5) {
        if (e[4]! & 6) continue; // "." or ".."
        (nm ??= []).push(e.subarray(5));
      } else if (sig === 'SL' && len >= 5) {
        sl ??= [];
        let p = 5;
        while (p + 2 <= e.length) {
          const flags = e[p]!;
          const clen = e[p + 1]!;
          const text = asText(e.subarray(p + 2, Math.min(e.length, p + 2 + clen)));
          p += 2 + clen;
          let part: string;
          if (flags & 2) part = '.';
          else if (flags & 4) part = '..';
          else if (flags & 8) part = '';
          else part = text;
          slPending += part;
          if (!(flags & 1)) { sl.push(slPending); slPending = ''; }
        }
      } else if (sig === 'CL' && len >= 12) {
        out.cl = u32le(e, 4);
      } else if (sig === 'RE') {
        out.re = true;
      }
    }
    if (nm) out.nm = asText(concat(nm));
    if (sl) {
      if (slPending !== '') sl.push(slPending);
      // A leading '' component is the root: "/a/b".
      out.sl = sl.length === 1 && sl[0] === '' ? '/' : sl.join('/');
    }
  }

  function readDir(d: Node): Node[] {
    const cached = dirs.get(d.block);
    if (cached) return cached;
    if (d.size > MAX_DIR) fail(`directory of ${d.size} bytes at block ${d.block} is too large`);
    const data = io.at(d.block * blockSize, d.size);
    const out: Node[] = [];
    let pos = 0;
    let multi: Node | null = null;
    while (pos < data.length) {
      const len = data[pos]!;
      const blockEnd = Math.min(data.length, (Math.floor(pos / blockSize) + 1) * blockSize);
      if (len === 0) { pos = blockEnd; continue; }
      if (len < 34 || pos + len > blockEnd) fail(`malformed directory record at block ${d.block}, offset ${pos}`);
      const r = data.subarray(pos, pos + len);
      pos += len;
      const nameLen = r[32]!;
      if (33 + nameLen > len) fail(`malformed directory record at block ${d.block}`);
      const raw = r.subarray(33, 33 + nameLen);
      if (nameLen === 1 && (raw[0] === 0 || raw[0] === 1)) continue; // "." and ".."
      const flags = r[25]!;
      if (r[26] !== 0 || r[27] !== 0) fail('interleaved files are not supported');
      let name: string;
      const node: Node = { name: '', dir: (flags & 2) !== 0, block: u32le(r, 2) + r[1]!, size: u32le(r, 10) };
      if (mode === 'joliet') {
        name = plainName(ucs2(raw), false);
      } else {
        name = plainName(latin1(raw), mode === 'plain');
        if (mode === 'rockridge') {
          const su = 33 + nameLen + (nameLen % 2 === 0 ? 1 : 0) + skip;
          const rr: { nm?: string; sl?: string; cl?: number; re?: boolean } = {};
          if (su < len) susp(r.subarray(su), rr);
          if (rr.re) continue; // a relocated directory: shown where its "CL" entry is
          if (rr.nm !== undefined) name = rr.nm;
          if (rr.sl !== undefined) node.link = rr.sl;
          if (rr.cl !== undefined) {
            node.dir = true;
            node.block = rr.cl;
            const self = io.at(rr.cl * blockSize, 34);
            node.block = u32le(self, 2) + self[1]!;
            node.size = u32le(self, 10);
          }
        }
      }
      node.name = name;
      // A file in several extents (> 4 GiB): its records follow each other, all but the last flagged.
      if (multi && multi.name === name && !node.dir) {
        multi.size += node.size;
        if (!(flags & 0x80)) multi = null;
        continue;
      }
      multi = flags & 0x80 ? node : null;
      if (multi) node.size = Number.MAX_SAFE_INTEGER / 2; // too large to read; only listed
      out.push(node);
    }
    if (dirs.size >= MAX_CACHED_DIRS) dirs.clear();
    dirs.set(d.block, out);
    return out;
  }

  /** The node at `path`, symbolic links followed; null when absent. */
  function lookup(path: string): Node | null {
    const pending = components(path);
    const stack: Node[] = [root];
    let node: Node = root;
    let steps = 0;
    let links = 0;
    while (pending.length > 0) {
      if (++steps > MAX_DEPTH * 4) fail(`path too deep: ${path}`);
      const c = pending.shift()!;
      if (c === '.') continue;
      if (c === '..') { if (stack.length > 1) stack.pop(); node = stack[stack.length - 1]!; continue; }
      if (!node.dir) return null;
      if (stack.length > MAX_DEPTH) fail(`path too deep: ${path}`);
      const entries = readDir(node);
      const found = mode === 'plain'
        ? entries.find((e) => e.name === c.toLowerCase())
        : entries.find((e) => e.name === c);
      if (!found) return null;
      if (found.link !== undefined) {
        if (++links > MAX_LINKS) fail(`too many symbolic links in ${path}`);
        const target = found.link.split('/');
        if (found.link.startsWith('/')) { stack.length = 1; node = root; }
        pending.unshift(...target.filter((t) => t !== ''));
        if (pending.length > MAX_DEPTH * 4) fail(`path too deep: ${path}`);
        continue;
      }
      node = found;
      if (found.dir) stack.push(found);
    }
    return node;
  }

  return {
    label,
    fsType: 'iso9660',
    list(opened: Image, dir: string): string[] {
      io = opened;
      const n = lookup(dir);
      if (!n || !n.dir) return [];
      return readDir(n).map((e) => e.name).sort();
    },
    read(opened: Image, path: string, maxBytes = MAX_FILE): Uint8Array | null {
      io = opened;
      const n = lookup(path);
      if (!n || n.dir) return null;
      if (n.size > Math.min(maxBytes, MAX_FILE)) throw new TooLarge(`${img.name}: iso9660: ${path} is too large (${n.size} bytes; at most ${Math.min(maxBytes, MAX_FILE)})`);
      return io.at(n.block * blockSize, n.size).slice();
    },
  };
}

/** A name as the kernel shows it: no ';1' version, no trailing dot; plain names lowercased. */
function plainName(name: string, lower: boolean): string {
  let n = name.replace(/;\d*$/, '');
  if (n.endsWith('.') && n.length > 1) n = n.slice(0, -1);
  return lower ? n.toLowerCase() : n;
}

/** UCS-2 big-endian (Joliet) to a string. */
function ucs2(b: Uint8Array): string {
  return utf16(b, true);
}
