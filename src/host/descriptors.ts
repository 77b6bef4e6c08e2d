// Reads, locks and closing on a descriptor that files.ts opened (an image
// read in place, the output log read back, the boot lock): the calls those
// callers make on it themselves.
import { sys } from './sys.ts';

/** pread(2): up to `length` bytes at `position` into buf[offset…]; 0 at the end. */
export const readAt = (fd: number, buf: Uint8Array, offset: number, length: number, position: number): number =>
  sys.read(fd, buf, offset, length, position);

export const closeFd = (fd: number): void => sys.close(fd);

/** flock(2) without waiting: true when taken, false when another process holds it. */
export const tryLock = (fd: number, exclusive: boolean): boolean => sys.flock(fd, exclusive, false);
