// What a test needs from this machine (root, a program, a package's file,
// a python3 module), and the one rule for when it is missing: without CI a
// test may skip, naming what is missing and how to get it; under CI (the CI
// environment variable set, as .ci/run runs) a missing prerequisite is a
// failure, never a skip. Integration tests ask here for root and tools; unit
// tests never need root, and ask only for the reference implementations some
// of them compare with (python3's email, jinja2, PyYAML; gzip).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CI = Boolean(process.env['CI']);

/** The rule: `reason` is why a test cannot run here. A skip reason without CI; under CI it throws. */
export function unavailable(reason: string): string {
  if (CI) throw new Error(`${reason} — CI is set: a missing prerequisite is a failure, not a skip`);
  return reason;
}

// Programs in sbin count too (useradd, mkfs.vfat, debootstrap), whatever the caller's PATH.
const PATH = `${process.env['PATH'] ?? ''}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;

/** Whether this machine has the program (on PATH or in an sbin directory). */
export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'ignore', env: { PATH } }).status === 0;
}

/** null when every program is here; else why not (a skip reason, or a failure under CI). */
export function needCommands(names: string[], packages: string): string | null {
  const missing = names.filter((n) => !hasCommand(n));
  return missing.length === 0 ? null : unavailable(`missing: ${missing.join(', ')} (apt-get install -y ${packages})`);
}

/** null when the file of a package is on this machine; else why not. */
export function needFile(path: string, pkg: string): string | null {
  return existsSync(path) ? null : unavailable(`${path} is missing on this machine (apt-get install -y ${pkg})`);
}

/** null when python3 imports the module; else why not. */
export function needPython(module: string, pkg: string, python = 'python3'): string | null {
  return spawnSync(python, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0
    ? null : unavailable(`${python} cannot import ${module} (apt-get install -y ${pkg})`);
}

/** null when running as root; else why not. `why`: what root is needed for. */
export function needRoot(why: string): string | null {
  return process.getuid?.() === 0 ? null : unavailable(`needs root (${why}): run as root, as CI does`);
}
