// One ec2-init at a time per root. Every stage (and `clean`) holds an
// exclusive flock(2) on /run/ec2-init.lock under the root for as long as it
// runs; the kernel drops it when the process ends, however it ends, so a
// killed boot never leaves a stale lock behind. `status` uses the same lock
// to tell a running stage from a dead one.
import type { Files } from '../host/files.ts';
import { closeFd, tryLock } from '../host/descriptors.ts';
import { now } from '../host/clock.ts';
import { sleep } from '../net/cancel.ts';

export const LOCK_PATH = '/run/ec2-init.lock';

/** How long a stage waits for the lock: long enough for a `status` that holds it for a moment, never for another boot. */
const WAIT_MS = 500;

export class BootLock {
  private fd: number | null;
  private constructor(fd: number) { this.fd = fd; }

  /** The lock, or null when another process holds it (after waiting briefly). */
  static async take(files: Files): Promise<BootLock | null> {
    const fd = files.openLockFile(LOCK_PATH);
    const until = now() + WAIT_MS;
    for (;;) {
      if (tryLock(fd, true)) return new BootLock(fd);
      if (now() >= until) { closeFd(fd); return null; }
      await sleep(50);
    }
  }

  release(): void {
    if (this.fd !== null) closeFd(this.fd);
    this.fd = null;
  }
}

/**
 * Whether some process holds the boot lock of this root: true, false, or
 * null when that cannot be told (no permission to open the lock: not root).
 */
export function bootLockHeld(files: Files): boolean | null {
  let fd: number;
  try { fd = files.openLockFile(LOCK_PATH, false); } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return false;
    return null;
  }
  try {
    // A shared lock is refused only while a stage holds the exclusive one.
    return !tryLock(fd, false);
  } finally { closeFd(fd); }
}
