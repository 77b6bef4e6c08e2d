// Labelled seed volumes (NoCloud `cidata`, config drive `config-2`) read in
// userspace, never mounted: the kernel may lack iso9660/vfat, a boot agent
// should leave no mounts behind, and with --root nothing may be mounted.
// Read-only readers for ISO 9660 (Rock Ridge, Joliet, plain names),
// FAT12/16/32 (long names) and UDF (1.02-2.60: Azure's provisioning disc),
// plus finding a volume by its label.
// Every read is positioned (sys.read at an offset); the device is never read whole.
import { EMPTY, concat } from '../../bytes.ts';
import type { Files } from '../../host/files.ts';
import type { Stat } from '../../host/sys.ts';
import { closeFd, readAt } from '../../host/descriptors.ts';
import { probeIso9660 } from './iso9660.ts';
import { probeUdf } from './udf.ts';
import { probeVfat } from './vfat.ts';

export interface Volume {
  label: string;
  fsType: 'iso9660' | 'vfat' | 'udf';
  /** Names in `dir` ('/' is the root), sorted; [] when it is absent or not a directory. */
  list(dir: string): string[];
  /** The content of the file at `path`; null when it is absent or a directory; TooLarge past maxBytes. */
  read(path: string, maxBytes?: number): Uint8Array | null;
}

/** Bytes of an image or device, read at offsets (for the filesystem readers). */
export interface Image {
  /** The host path, for error messages. */
  readonly name: string;
  /** Exactly `length` bytes at `offset`; throws (naming the image) past the end. */
  at(offset: number, length: number): Uint8Array;
  /** Its size in bytes (UDF's VAT is in the last sector). */
  size(): number;
}

/** A filesystem recognized on an image; its methods take the (re)opened image. */
export interface Filesystem {
  label: string;
  fsType: 'iso9660' | 'vfat' | 'udf';
  list(img: Image, dir: string): string[];
  read(img: Image, path: string, maxBytes?: number): Uint8Array | null;
}

const CHUNK = 64 * 1024;
const MAX_CHUNKS = 64;

/** An image opened for one operation: small reads go through a chunk cache. */
class FileImage implements Image {
  readonly name: string;
  private readonly fd: number;
  private readonly chunks = new Map<number, Uint8Array>();
  private length: number | null;
  constructor(name: string, fd: number, stat: Stat) {
    this.name = name;
    this.fd = fd;
    this.length = stat.kind === 'file' ? stat.size : null;
  }

  at(offset: number, length: number): Uint8Array {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new Error(`${this.name}: bad read of ${length} bytes at offset ${offset}`);
    }
    if (length === 0) return EMPTY;
    const first = Math.floor(offset / CHUNK);
    const last = Math.floor((offset + length - 1) / CHUNK);
    if (first === last) {
      const c = this.chunk(first);
      const start = offset - first * CHUNK;
      if (start + length > c.length) this.short(offset, length);
      return c.subarray(start, start + length);
    }
    if (length > 2 * CHUNK) return this.direct(offset, length);
    const parts: Uint8Array[] = [];
    for (let i = first; i <= last; i++) {
      const c = this.chunk(i);
      const lo = i === first ? offset - i * CHUNK : 0;
      const hi = i === last ? offset + length - i * CHUNK : CHUNK;
      if (hi > c.length) this.short(offset, length);
      parts.push(c.subarray(lo, hi));
    }
    return concat(parts);
  }

  close(): void { closeFd(this.fd); }

  size(): number {
    if (this.length !== null) return this.length;
    // A block device's fstat size is 0: the last byte that reads, found by halving.
    let lo = 0;
    let hi = 2 ** 50;
    while (lo < hi) {
      const mid = Math.floor((lo + hi + 1) / 2);
      if (this.fill(mid - 1, 1).length === 1) lo = mid; else hi = mid - 1;
    }
    this.length = lo;
    return lo;
  }

  private chunk(i: number): Uint8Array {
    let c = this.chunks.get(i);
    if (c) return c;
    c = this.fill(i * CHUNK, CHUNK);
    if (this.chunks.size >= MAX_CHUNKS) this.chunks.delete(this.chunks.keys().next().value!);
    this.chunks.set(i, c);
    return c;
  }

  private direct(offset: number, length: number): Uint8Array {
    const b = this.fill(offset, length);
    if (b.length < length) this.short(offset, length);
    return b;
  }

  /** Up to `length` bytes at `offset` (fewer only at the end of the image). */
  private fill(offset: number, length: number): Uint8Array {
    const buf = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      let n: number;
      try { n = readAt(this.fd, buf, got, length - got, offset + got); } catch (e) {
        throw new Error(`${this.name}: read error at offset ${offset + got}: ${(e as Error).message}`);
      }
      if (n === 0) break;
      got += n;
    }
    return got === length ? buf : buf.subarray(0, got);
  }

  private short(offset: number, length: number): never {
    throw new Error(`${this.name}: truncated image: cannot read ${length} bytes at offset ${offset}`);
  }
}

/** Open for reading (without blocking on a drive with no medium); null when absent or neither a file nor a block device. */
function openImage(files: Files, path: string): FileImage | null {
  let opened: { fd: number; stat: Stat } | null;
  try { opened = files.openForReading(path); } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT' || (e as { code?: string }).code === 'ENOTDIR' || (e as { code?: string }).code === 'EINVAL') return null;
    throw new Error(`${path}: cannot open: ${(e as Error).message}`);
  }
  return opened ? new FileImage(path, opened.fd, opened.stat) : null;
}

function withImage<T>(files: Files, path: string, fn: (img: Image) => T, absent: T): T {
  const img = openImage(files, path);
  if (!img) return absent;
  try { return fn(img); } finally { img.close(); }
}

/** Open a block device or image file (a path under `files`' root); null when it is none of iso9660, vfat and udf. Reads at offsets — never the whole device. */
export function openVolume(files: Files, path: string): Volume | null {
  const fs = withImage(files, path, (img) => probe(img), null);
  if (!fs) return null;
  return {
    label: fs.label,
    fsType: fs.fsType,
    list: (dir) => withImage(files, path, (img) => fs.list(img, dir), []),
    read: (p, maxBytes) => withImage(files, path, (img) => fs.read(img, p, maxBytes), null),
  };
}

/**
 * The filesystem on `img`, or null; a truncated or garbled head is "not
 * recognized". UDF first: a disc with both (genisoimage -udf) is UDF to
 * blkid, so its label is the UDF one.
 */
function probe(img: Image): Filesystem | null {
  for (const p of [probeUdf, probeIso9660, probeVfat]) {
    let fs: Filesystem | null = null;
    try { fs = p(img); } catch { fs = null; }
    if (fs) return fs;
  }
  return null;
}

/**
 * The device (a path of the root) holding a volume labelled exactly one of
 * `labels` (cidata and CIDATA are both listed: the match is exact, as in
 * cloud-init), or null. Looks first at /dev/disk/by-label/<label> (links
 * resolved inside the root), then probes every block device listed in
 * /sys/class/block (device node /dev/<name>). Fast (< 5 ms when nothing
 * matches); never throws on unreadable devices.
 */
export function findVolumeByLabel(files: Files, labels: string[]): string | null {
  const wanted = new Set(labels);
  const matches = (path: string): boolean => {
    try {
      const v = openVolume(files, path);
      return v !== null && wanted.has(v.label);
    } catch { return false; }
  };
  const tried = new Set<string>();
  for (const label of labels) {
    if (label === '' || label.includes('/') || label === '.' || label === '..') continue;
    let p: string;
    try { p = files.realpath(`/dev/disk/by-label/${label}`); } catch { continue; }
    tried.add(p);
    if (matches(p)) return p;
  }
  for (const name of files.list('/sys/class/block')) {
    // A floppy drive with no disk can stall a read for seconds; a seed there needs a by-label link.
    if (/^fd\d/.test(name)) continue;
    // An empty device (no medium, unattached loop) has size 0: nothing to probe.
    try {
      if (files.readTextIfExists(`/sys/class/block/${name}/size`, 64)?.trim() === '0') continue;
    } catch { /* no size attribute (a fake root): probe anyway */ }
    let dev: string;
    try { dev = files.realpath(`/dev/${name.replace(/!/g, '/')}`); } catch { continue; }
    if (tried.has(dev)) continue;
    tried.add(dev);
    if (matches(dev)) return dev;
  }
  return null;
}
