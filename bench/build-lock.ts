// One builder at a time for a cached root: the compare test, the drop-in test
// and the bench each build the same debootstrap root when the cache is empty,
// and on a fresh CI machine two of them start at once (the tests run two files
// at a time). The first takes the lock (a directory: mkdir is atomic) and
// builds; the others wait for it, then use what it built. A lock whose holder
// died (its pid is gone) is taken over.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Run `build` holding the lock `path`, unless `done()` says another holder built it meanwhile. */
export function withBuildLock<T>(path: string, done: () => T | null, build: () => T, log: (s: string) => void): T {
  let told = false;
  for (;;) {
    try {
      mkdirSync(path);
      writeFileSync(join(path, 'pid'), `${process.pid}\n`);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let pid = NaN;
      try { pid = Number(readFileSync(join(path, 'pid'), 'utf8')); } catch { /* being written: look again */ }
      if (Number.isInteger(pid) && pid > 0 && !alive(pid)) { rmSync(path, { recursive: true, force: true }); continue; }
      if (!told) { log(`waiting for process ${Number.isNaN(pid) ? '?' : pid}, which is building it (${path})`); told = true; }
      sleepMs(2000);
    }
  }
  try {
    return done() ?? build();
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}
