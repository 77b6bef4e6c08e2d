// What the root says about the system it boots, each read one way: its
// kernel command line (read once per process), whether it is a container,
// whether its init is systemd, and where its programs are.
import type { Files } from './files.ts';

const cmdlines = new WeakMap<Files, string>();

/**
 * The kernel command line of the system being booted (under --root:
 * <root>/proc/cmdline, normally absent: ''). In a container /proc/cmdline is
 * the host's: there it is PID 1's command line, its arguments joined by
 * spaces (as cloud-init's get_cmdline, ds-identify and systemd read it: how a
 * container is given `ds=nocloud…` or `cloud-init=disabled`). Read once for
 * the process: whether the boot is on, NoCloud's `ds=`, the network's `ip=`
 * and the platform's facts all read the same line.
 */
export function kernelCmdline(files: Files): string {
  let line = cmdlines.get(files);
  if (line === undefined) cmdlines.set(files, line = readCmdline(files));
  return line;
}

function readCmdline(files: Files): string {
  const read = (path: string) => { try { return files.readTextIfExists(path) ?? ''; } catch { return ''; } };
  if (!isContainer(files)) return read('/proc/cmdline');
  return read('/proc/1/cmdline').replace(/\0$/, '').replace(/\0/g, ' ');
}

/**
 * Whether the root's system is a container, from the marks
 * `systemd-detect-virt --container` (cloud-init's is_container) reads:
 * /run/systemd/container (where systemd in a container writes its manager's
 * name), /run/host/container-manager, `container=` in PID 1's environment
 * (read by root only) or libvirt's LIBVIRT_LXC_UUID there, OpenVZ's /proc/vz
 * without /proc/bc.
 */
export function isContainer(files: Pick<Files, 'exists' | 'isDirectory' | 'readTextIfExists'>): boolean {
  if (files.exists('/run/systemd/container') || files.exists('/run/host/container-manager')) return true;
  if (files.isDirectory('/proc/vz') && !files.isDirectory('/proc/bc')) return true;
  let environ = '';
  try { environ = files.readTextIfExists('/proc/1/environ', 65536) ?? ''; } catch { /* not root: the files above tell */ }
  return environ.split('\0').some((e) => e.startsWith('container=') || e.startsWith('LIBVIRT_LXC_UUID='));
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
