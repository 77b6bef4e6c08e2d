// A tiny HTTP client for metadata services, on node:http (fetch/undici costs
// ~25 ms to load; node:http ~3 ms). One attempt per call: a per-request
// timeout, a hard deadline shared by every request of a search (an absolute
// time on the monotonic clock, performance.now()), an abort signal, and a cap
// on the body size. Retries are the caller's policy; `backoff` and `sleep`
// help with them.
import http from 'node:http';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Give up on this attempt after this long (connect + answer + body). */
  timeoutMs: number;
  /** Absolute performance.now() time no attempt may outlive. */
  deadline?: number;
  signal?: AbortSignal;
  /** Reuse connections (keep-alive) across requests to one service. */
  agent?: http.Agent;
  /** Refuse bodies larger than this (default 16 MiB). */
  maxBytes?: number;
}

/** Why an attempt got no HTTP answer. */
export type FailureKind = 'refused' | 'unreachable' | 'timeout' | 'reset' | 'too-large' | 'aborted' | 'other';

export class HttpError extends Error {
  readonly kind: FailureKind;
  constructor(kind: FailureKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

/** Milliseconds left until `deadline` (never negative). */
export function remaining(deadline: number): number {
  return Math.max(0, deadline - performance.now());
}

export function request(url: string, opts: RequestOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const budget = Math.floor(Math.min(opts.timeoutMs, opts.deadline === undefined ? Infinity : remaining(opts.deadline)));
    if (budget <= 0) return reject(new HttpError('timeout', 'deadline reached'));
    if (opts.signal?.aborted) return reject(new HttpError('aborted', 'aborted'));
    const u = new URL(url);
    const maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
    let settled = false;
    const finish = (err: HttpError | null, res?: HttpResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) { req.destroy(); reject(err); } else resolve(res!);
    };
    const onAbort = (): void => finish(new HttpError('aborted', 'aborted'));
    const req = http.request({
      hostname: u.hostname.replace(/^\[(.*)\]$/, '$1'), // IPv6 literal without brackets
      port: u.port || 80,
      path: u.pathname + u.search,
      method: opts.method ?? 'GET',
      headers: opts.headers,
      agent: opts.agent ?? false,
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) finish(new HttpError('too-large', `answer larger than ${maxBytes} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (e) => finish(classify(e)));
      res.on('close', () => finish(new HttpError('reset', 'connection dropped mid-answer')));
    });
    const timer = setTimeout(() => finish(new HttpError('timeout', `no answer within ${budget} ms`)), budget);
    req.on('error', (e) => finish(classify(e)));
    opts.signal?.addEventListener('abort', onAbort);
    req.end();
  });
}

function classify(e: Error & { code?: string }): HttpError {
  switch (e.code) {
    case 'ECONNREFUSED': return new HttpError('refused', 'connection refused');
    case 'ENETUNREACH': case 'EHOSTUNREACH': case 'ENETDOWN': case 'EHOSTDOWN': case 'EADDRNOTAVAIL':
      return new HttpError('unreachable', `no route (${e.code})`);
    case 'ECONNRESET': case 'EPIPE': case 'ECONNABORTED':
      return new HttpError('reset', `connection dropped (${e.code})`);
    default: return new HttpError('other', e.code ? `${e.message} (${e.code})` : e.message);
  }
}

/** Jittered exponential backoff: attempt 0 waits 50–100 ms, then doubling, at most capMs. */
export function backoff(attempt: number, baseMs = 100, capMs = 2000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Wait `ms`, or less when `signal` aborts (then it resolves early, never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}
