// The running system itself (not the root being customized): its kernel's
// /proc files. Read only where an effect depends on this machine — memory for
// a swap size, the mount table, the uptime for final_message — and read like
// every other file, through sys, with a size cap.
import { writeAll } from './files.ts';
import { O_CREAT, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_TRUNC, O_WRONLY, sys } from './sys.ts';

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

/** This machine's host name (gethostname). */
export function machineHostname(): string {
  return sys.hostname();
}

/** Whether `path` of this machine is a directory (links followed): the --root given. */
export function isHostDirectory(path: string): boolean {
  try { return sys.fstatat(sys.AT_FDCWD, path, false).kind === 'dir'; } catch { return false; }
}

/** Write `text` to this machine's console, without waiting on it and without making it ours; false when there is none. */
export function writeConsole(text: string): boolean {
  try {
    const fd = sys.openat(sys.AT_FDCWD, '/dev/console', O_WRONLY | O_NOCTTY | O_NONBLOCK, 0);
    try { writeAll(fd, sys.utf8Encode(text)); } finally { sys.close(fd); }
    return true;
  } catch { return false; }
}

/**
 * A file of this machine named on the command line (collect-logs' tarball,
 * analyze plot's --output), created or truncated with `mode` (set again on a
 * file that was there), never written through a link. Throws with the path
 * and the reason.
 */
export function writeHostFile(path: string, bytes: Uint8Array, mode: number): void {
  let fd: number;
  try { fd = sys.openat(sys.AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode); } catch (e) {
    throw new Error(`${path}: cannot write (${(e as { code?: string }).code ?? (e as Error).message})`);
  }
  try {
    sys.fchmod(fd, mode);
    writeAll(fd, bytes);
  } finally { sys.close(fd); }
}
