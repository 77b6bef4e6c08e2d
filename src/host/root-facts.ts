// What the root says about the system it boots, each read one way: its
// kernel command line (read once per process), whether its init is systemd,
// and where its programs are.
import type { Files } from './files.ts';

const cmdlines = new WeakMap<Files, string>();

/**
 * The kernel command line of the system being booted (under --root:
 * <root>/proc/cmdline, normally absent: ''). Read once for the process:
 * whether the boot is on, NoCloud's `ds=`, the network's `ip=` and the
 * platform's facts all read the same line.
 */
export function kernelCmdline(files: Files): string {
  let line = cmdlines.get(files);
  if (line === undefined) cmdlines.set(files, line = files.readTextIfExists('/proc/cmdline') ?? '');
  return line;
}

/**
 * Whether the root's init is systemd: cloud-init's uses_systemd
 * (/run/systemd/system is a directory: systemd is running there), or, with
 * `installed`, systemd being installed in it (an image that has not booted).
 */
export function usesSystemd(files: Pick<Files, 'isDirectory' | 'exists'>, opts: { installed?: boolean } = {}): boolean {
  if (files.isDirectory('/run/systemd/system')) return true;
  return opts.installed === true && (files.exists('/lib/systemd/systemd') || files.exists('/usr/lib/systemd/systemd'));
}

/** The directories a program is looked for in, as cloud-init's default PATH. */
export const PROGRAM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The program's path inside the root (an absolute name as given, others in `dirs`), when it is an executable file; else null. */
export function which(files: Pick<Files, 'stat'>, program: string, dirs: readonly string[] = PROGRAM_DIRS): string | null {
  const candidates = program.includes('/') ? [program] : dirs.map((dir) => `${dir}/${program}`);
  for (const path of candidates) {
    try {
      const st = files.stat(path);
      if (st?.kind === 'file' && (st.perm & 0o111) !== 0) return path;
    } catch { /* not there */ }
  }
  return null;
}
