// The running system itself (not the root being customized): its kernel's
// /proc files. Read only where an effect depends on this machine — memory for
// a swap size, the mount table, the uptime for final_message — and read like
// every other file, through sys, with a size cap.
import { O_NONBLOCK, O_RDONLY, sys } from './sys.ts';

/** A file of this machine's /proc or /sys as text, or null when it cannot be read. */
export function readMachineFile(path: string, maxBytes = 1 << 20): string | null {
  try { return sys.utf8Decode(readHostFile(path, maxBytes)); } catch { return null; }
}

/**
 * A file of this machine named on the command line (--config FILE, schema
 * --config-file, make-mime -a FILE): the operator's own, read as they name it.
 * Throws with the path and the reason.
 */
export function readHostFile(path: string, maxBytes = 64 * 1024 * 1024): Uint8Array {
  let fd: number;
  try { fd = sys.openat(sys.AT_FDCWD, path, O_RDONLY | O_NONBLOCK, 0); } catch (e) {
    throw new Error(`${path}: cannot open (${(e as { code?: string }).code ?? (e as Error).message})`);
  }
  try {
    if (sys.fstat(fd).kind === 'dir') throw new Error(`${path}: is a directory`);
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const buf = new Uint8Array(65536);
      const n = sys.read(fd, buf, 0, buf.length, -1);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > maxBytes) throw new Error(`${path}: larger than ${maxBytes} bytes`);
    }
    const all = new Uint8Array(total);
    let off = 0;
    for (const c of chunks) { all.set(c, off); off += c.length; }
    return all;
  } finally { sys.close(fd); }
}

/** `path` made absolute against the current directory, '.' and '..' resolved (as a name: links are not looked at). */
export function absolutePath(path: string): string {
  const parts = (path.startsWith('/') ? path : `${sys.cwd()}/${path}`).split('/');
  const out: string[] = [];
  for (const p of parts) {
    if (p === '' || p === '.') continue;
    if (p === '..') out.pop(); else out.push(p);
  }
  return `/${out.join('/')}`;
}



/** MemTotal in bytes, or null. */
export function memTotal(): number | null {
  const m = /^MemTotal:\s+(\d+)\s*kB/m.exec(readMachineFile('/proc/meminfo') ?? '');
  return m ? Number(m[1]) * 1024 : null;
}

/** Seconds since this machine booted, as /proc/uptime says it ("12.34"), or null. */
export function uptime(): string | null {
  return readMachineFile('/proc/uptime')?.split(' ')[0] ?? null;
}

/** The running kernel's release ("6.1.0-18-amd64"), or null. */
export function kernelRelease(): string | null {
  return readMachineFile('/proc/sys/kernel/osrelease')?.trim() ?? null;
}

/** This boot's id (a new one every boot), or null. */
export function bootId(): string | null {
  return readMachineFile('/proc/sys/kernel/random/boot_id')?.trim() ?? null;
}
