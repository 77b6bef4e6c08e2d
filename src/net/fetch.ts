// The one retry policy over the HTTP client (http.ts makes one attempt per
// call): which failures are worth another attempt, how long to pause between
// attempts, and when to stop. Every caller that retries asks through here
// (the metadata services, seed URLs, #include URLs), each with its own counts
// and pauses from config; a caller with its own rule of what is worth
// retrying (an #include retries a refused connection, EC2 a token request
// that timed out only when it may fall back) says it in the options, not in
// a loop of its own.
//
// Rules, and why:
// - Retried: 429 and 5xx answers (the service is there but busy or starting),
//   connections dropped or reset, and timeouts (a packet lost). Not retried:
//   refused or unreachable (nothing listens there; a retry only costs time
//   on a machine that is not on this cloud), bad URLs, TLS failures, bodies
//   over the cap, redirect errors: the same attempt would fail the same way.
// - Every attempt is cut to the deadline; an attempt that could not get an
//   answer before it (less than MIN_ATTEMPT_MS left after the pause) is not made.
// - The pause is jittered exponential backoff (so a fleet booting at once
//   spreads out) unless the config gives a fixed pause, as cloud-init's
//   `sec_between_retries` does.
import type { Logger } from '../log.ts';
import { backoff, remaining, sleep } from './cancel.ts';
import { HttpError, request, type FailureKind, type HttpResponse, type RequestOptions } from './http.ts';
import type { Url } from './url.ts';

export interface FetchOptions extends Omit<RequestOptions, 'deadline'> {
  /** Absolute sys.now() time no attempt may outlive (none: only `retries` ends the tries). */
  deadline?: number;
  /** Attempts after the first (0: one attempt). */
  retries: number;
  /** Pause between attempts: a fixed one, or jittered backoff from baseMs doubling up to capMs (default 100 ms, 2 s). */
  pause?: { fixedMs: number } | { baseMs: number; capMs: number };
  /** Answers worth another attempt (default: 429 and 5xx). */
  retryStatus?: (status: number) => boolean;
  /** Failures (no answer) worth another attempt (default: dropped connections and timeouts). */
  retryFailure?: (e: HttpError) => boolean;
  /** Before each attempt: options of its own (what is left of a byte budget); may throw an HttpError to stop. */
  eachAttempt?: () => Partial<RequestOptions>;
  /** Told of each answer (a byte budget counts it). */
  onAnswer?: (res: HttpResponse) => void;
  /** The error when the time runs out before a retry (default: a timeout saying so). */
  giveUp?: (why: string, kind: FailureKind, attempts: number) => HttpError;
  /** Each retry is logged at debug level with this prefix ('datasource GCE'). */
  log?: Logger;
  what?: string;
}

/** Less than this left before a deadline: no attempt is made (none could get an answer). */
export const MIN_ATTEMPT_MS = 20;

export const retryableStatus = (status: number): boolean => status === 429 || status >= 500;

/** Whether a failed attempt (no HTTP answer) is worth another. */
export function retryableFailure(e: HttpError): boolean {
  return e.kind === 'reset' || e.kind === 'timeout';
}

/**
 * GET (or opts.method) `url` until an answer that is not retryable, or the
 * retries or the deadline run out. Returns the last answer, whatever its
 * status (the caller decides what a 404 means); throws the last HttpError
 * when no attempt got an answer.
 */
export async function fetchWithRetries(url: string | Url, opts: FetchOptions): Promise<HttpResponse> {
  const retryStatus = opts.retryStatus ?? retryableStatus;
  const retryFailure = opts.retryFailure ?? retryableFailure;
  const deadline = opts.deadline ?? Infinity;
  for (let attempt = 0; ; attempt++) {
    let why: string;
    let kind: FailureKind;
    try {
      const res = await request(url, { ...opts, ...opts.eachAttempt?.(), deadline });
      opts.onAnswer?.(res);
      if (!retryStatus(res.status) || attempt >= opts.retries) return res;
      why = `HTTP ${res.status}`;
      kind = 'other';
    } catch (e) {
      if (!(e instanceof HttpError) || !retryFailure(e) || attempt >= opts.retries) throw e;
      why = e.message;
      kind = e.kind;
    }
    const wait = pauseFor(opts.pause, attempt);
    if (remaining(deadline) < wait + MIN_ATTEMPT_MS || opts.cancel?.cancelled) {
      throw opts.giveUp?.(why, kind, attempt + 1) ?? new HttpError('timeout', `${why}, still after ${attempt + 1} attempt(s) when the time ran out`);
    }
    opts.log?.debug(`${opts.what ?? 'fetch'}: ${typeof url === 'string' ? url : url.href}: ${why}; attempt ${attempt + 2} in ${wait} ms`);
    await sleep(wait, opts.cancel);
  }
}

/** The pause before attempt `attempt + 1` (also for callers that try a list of URLs in rounds). */
export function pauseFor(pause: FetchOptions['pause'], attempt: number): number {
  if (pause && 'fixedMs' in pause) return Math.max(0, pause.fixedMs);
  return backoff(attempt, pause?.baseMs ?? 100, pause?.capMs ?? 2000);
}

/**
 * The first of `urls` for which `tryOne` gives a value, tried in rounds (each
 * URL once a round, in order) until `until`, `pause` between rounds: cloud-init's
 * wait_for_url over several URLs (OpenStack's and Oracle's metadata services).
 * With `stopMidRound`, the time running out ends a round too. Null when none did.
 */
export async function firstInRounds<T>(urls: readonly string[], tryOne: (url: string) => Promise<T | null>,
  o: { until: number; pause: NonNullable<FetchOptions['pause']>; stopMidRound?: boolean }): Promise<T | null> {
  for (let round = 0; ; round++) {
    for (const url of urls) {
      const found = await tryOne(url);
      if (found !== null) return found;
      if (o.stopMidRound && remaining(o.until) === 0) return null;
    }
    const wait = pauseFor(o.pause, round);
    if (remaining(o.until) < wait + MIN_ATTEMPT_MS) return null;
    await sleep(wait);
  }
}
