// Time: the monotonic clock every deadline and duration is measured on, the
// process's own CPU time, and timers (the shipped runtime has no setTimeout).
import { sys } from './sys.ts';

/** Milliseconds on the monotonic clock (deadlines are times on it). */
export const now = (): number => sys.now();
/** CPU time this process used, ms (its programs left out). */
export const cpuMs = (): number => sys.cpuMs();
export const setTimer = (ms: number, fn: () => void): number => sys.setTimer(ms, fn);
export const cancelTimer = (handle: number): void => sys.cancelTimer(handle);
