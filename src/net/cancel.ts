// Cancelling work in flight (the racing metadata endpoints, a search past its
// deadline), and waiting. Our own small version of AbortController: the
// shipped runtime has none, and this is all ec2-init needs of one.
import { cancelTimer, now, setTimer } from '../host/clock.ts';

export class Cancel {
  private fired = false;
  private readonly listeners = new Set<() => void>();

  /** A Cancel that fires when any of `parents` does (and can also be fired alone). */
  static any(parents: Array<Cancel | undefined>): Cancel {
    const c = new Cancel();
    for (const p of parents) p?.onCancel(() => c.cancel());
    return c;
  }

  get cancelled(): boolean { return this.fired; }

  cancel(): void {
    if (this.fired) return;
    this.fired = true;
    for (const fn of [...this.listeners]) fn();
    this.listeners.clear();
  }

  /** Call `fn` on cancel (at once when already cancelled); returns a function that unregisters it. */
  onCancel(fn: () => void): () => void {
    if (this.fired) { fn(); return () => {}; }
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

/** Wait `ms`, or less when `cancel` fires (then it resolves early, never rejects). */
export function sleep(ms: number, cancel?: Cancel): Promise<void> {
  return new Promise((resolve) => {
    if (cancel?.cancelled) return resolve();
    let off = () => {};
    const timer = setTimer(Math.max(0, ms), () => { off(); resolve(); });
    off = cancel?.onCancel(() => { cancelTimer(timer); resolve(); }) ?? off;
  });
}

/** Milliseconds left until `deadline` (a sys.now() time; never negative). */
export function remaining(deadline: number): number {
  return Math.max(0, deadline - now());
}

/** Jittered exponential backoff: attempt 0 waits 50–100 ms, then doubling, at most capMs. */
export function backoff(attempt: number, baseMs = 100, capMs = 2000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}
