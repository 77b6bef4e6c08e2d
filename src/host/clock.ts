// Time: the monotonic clock every deadline and duration is measured on, the
// process's own CPU time, timers (the shipped runtime has no setTimeout), and
// the wall-clock time as cloud-init writes it (rfc2822, make_header).
import { VERSION } from '../version.ts';
import { sys } from './sys.ts';

/** Milliseconds on the monotonic clock (deadlines are times on it). */
export const now = (): number => sys.now();
/** CPU time this process used, ms (its programs left out). */
export const cpuMs = (): number => sys.cpuMs();
export const setTimer = (ms: number, fn: () => void): number => sys.setTimer(ms, fn);
export const cancelTimer = (handle: number): void => sys.cancelTimer(handle);

/** The current time as cloud-init's time_rfc2822 (its make_header's too): 'Wed, 25 Nov 2026 01:54:30 +0000'. */
export function rfc2822(date = new Date()): string {
  return date.toUTCString().replace(/GMT$/, '+0000').replace(/^(\w+), (\d) /, '$1, 0$2 ');
}

/**
 * cloud-init's make_header up to its time ('# Created by ec2-init v. 1.2 on '):
 * a writer puts it first and sets WriteAction.stampAt to its length; the
 * applier writes rfc2822()'s time there, so plan and boot have one digest.
 */
export function makeHeader(base: 'Created' | 'Added'): string {
  return `# ${base} by ec2-init v. ${VERSION} on `;
}
