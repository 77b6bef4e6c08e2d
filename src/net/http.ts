// The one HTTP client of ec2-init: HTTP/1.1 over sys.connect, plain or TLS,
// or over a unix socket (sys.connectUnix: LXD's /dev/lxd/sock).
// Metadata services, NoCloud seedfrom, #include, phone_home all use it.
//
// One call is one attempt: a per-attempt timeout (connect to last byte), a
// hard deadline shared by every request of a search (sys.now() time), a
// Cancel, a cap on the body. Retries are the caller's policy.
//
// Rules, and why:
// - https verifies the server against the root's own CA bundle (the image's
//   /etc/ssl/certs/ca-certificates.crt, given as `ca`), never this machine's;
//   no bundle is an error, never an unverified connection.
// - Redirects are followed only when the caller asks (`redirects`), at most
//   `max` of them, to http or https — never from https down to http (that
//   would hand an https request to anyone on the path) — and each one is told
//   to `onRedirect` so it is logged. Metadata services never get redirects
//   followed: a redirect there is an answer, not a reason to go elsewhere.
// - user:password in a URL is sent as basic auth to that URL only, never
//   after a redirect.
// - Bodies larger than maxBytes stop the transfer; headers are capped at 64 KiB.
// - Connections are reused (keep-alive) only through a Pool the caller owns.
import { sys, type Socket } from '../host/sys.ts';
import { Cancel, remaining } from './cancel.ts';
import { portOf, resolveUrl, UrlError, parseUrl, type Url } from './url.ts';

export interface HttpResponse {
  status: number;
  /** Header names in lower case; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: Uint8Array;
  /** The URL that answered (after redirects). */
  url: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Give up on this attempt after this long (connect + answer + body). */
  timeoutMs: number;
  /** Absolute sys.now() time no attempt may outlive. */
  deadline?: number;
  cancel?: Cancel;
  /** Reuse connections (keep-alive) across requests to one service. */
  pool?: Pool;
  /** Refuse bodies larger than this (default 16 MiB). */
  maxBytes?: number;
  /** Follow redirects (see the rules above). Without it a 3xx is returned as the answer. */
  redirects?: { max: number; onRedirect: (from: string, to: string) => void };
  /** The CA bundle (PEM) that https servers are verified against; null: none in the root. */
  ca?: () => Uint8Array | null;
  /** SO_MARK of the connection (systemd-imds's locked mode routes the metadata address only for marked sockets). */
  mark?: number;
  /** Connect to this unix socket (sys.connectUnix's address) instead of the URL's host, which still names the Host header. */
  unixSocket?: string;
}

/** Why an attempt got no HTTP answer. */
export type FailureKind = 'refused' | 'unreachable' | 'timeout' | 'reset' | 'too-large' | 'aborted' | 'tls' | 'bad-url' | 'redirect' | 'other';

export class HttpError extends Error {
  readonly kind: FailureKind;
  constructor(kind: FailureKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

const MAX_HEADER_BYTES = 64 * 1024;
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/** Idle keep-alive connections, per origin. The owner closes it when done. */
export class Pool {
  private readonly idle = new Map<string, Socket[]>();
  take(origin: string): Socket | undefined { return this.idle.get(origin)?.pop(); }
  give(origin: string, socket: Socket): void {
    const list = this.idle.get(origin) ?? [];
    if (list.length >= 16) { socket.close(); return; }
    list.push(socket);
    this.idle.set(origin, list);
  }
  close(): void {
    for (const list of this.idle.values()) for (const s of list) s.close();
    this.idle.clear();
  }
}

/** One request (following redirects only when asked). */
export async function request(url: string | Url, opts: RequestOptions): Promise<HttpResponse> {
  let target: Url;
  try { target = typeof url === 'string' ? parseUrl(url) : url; } catch (e) { throw new HttpError('bad-url', (e as Error).message); }
  for (let hops = 0; ; hops++) {
    const res = await once(target, opts);
    const location = res.headers['location'];
    if (!opts.redirects || res.status < 300 || res.status >= 400 || location === undefined || res.status === 304) return res;
    if (hops >= opts.redirects.max) throw new HttpError('redirect', `more than ${opts.redirects.max} redirects`);
    let next: Url;
    try { next = resolveUrl(target, location); } catch (e) {
      throw new HttpError('redirect', `redirect to an invalid URL (${(e as UrlError).message})`);
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new HttpError('redirect', `redirect to unsupported scheme ${next.protocol}`);
    if (target.protocol === 'https:' && next.protocol === 'http:') throw new HttpError('redirect', `redirect from https down to http refused (${next.href})`);
    opts.redirects.onRedirect(target.href, next.href);
    target = { ...next, auth: '' };
  }
}

async function once(url: Url, opts: RequestOptions): Promise<HttpResponse> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HttpError('bad-url', `unsupported URL scheme ${url.protocol}`);
  const budget = Math.floor(Math.min(opts.timeoutMs, opts.deadline === undefined ? Infinity : remaining(opts.deadline)));
  if (budget <= 0) throw new HttpError('timeout', 'deadline reached');
  if (opts.cancel?.cancelled) throw new HttpError('aborted', 'aborted');
  const end = sys.now() + budget;
  const origin = opts.unixSocket !== undefined ? `unix:${opts.unixSocket}` : `${url.protocol}//${url.hostname}:${portOf(url)}`;
  const reused = opts.pool?.take(origin);
  try {
    try {
      return await exchange(reused ?? await open(url, end, opts), url, opts, end, origin);
    } catch (e) {
      // A kept-alive connection the server closed meanwhile: once more, on a new one.
      if (reused && e instanceof HttpError && e.kind === 'reset') return await exchange(await open(url, end, opts), url, opts, end, origin);
      throw e;
    }
  } catch (e) {
    if (e instanceof HttpError && e.kind === 'timeout') throw new HttpError('timeout', `timed out after ${budget} ms`);
    throw e;
  }
}

function left(end: number): number {
  const ms = Math.floor(end - sys.now());
  if (ms <= 0) throw new HttpError('timeout', 'no answer in time');
  return ms;
}

async function open(url: Url, end: number, opts: RequestOptions): Promise<Socket> {
  if (opts.unixSocket !== undefined) {
    try { return await sys.connectUnix(opts.unixSocket, left(end)); } catch (e) { throw classify(e); }
  }
  const host = url.hostname;
  const literal = /^[0-9.]+$/.test(host) || host.includes(':');
  let addresses: string[];
  try { addresses = literal ? [host] : await sys.resolve(host, left(end)); } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError('unreachable', `cannot resolve ${host} (${(e as { code?: string }).code ?? (e as Error).message})`);
  }
  let tls: { servername: string; ca: Uint8Array } | undefined;
  if (url.protocol === 'https:') {
    const ca = opts.ca?.() ?? null;
    if (ca === null) throw new HttpError('tls', `https needs the root's CA bundle (${CA_BUNDLES[0]}, from the ca-certificates package): none found`);
    tls = { servername: host, ca };
  }
  let last: unknown = null;
  for (const address of addresses) {
    try {
      return await sys.connect({ address, port: portOf(url), timeoutMs: left(end), ...(tls && { tls }), ...(opts.mark !== undefined && { mark: opts.mark }) });
    } catch (e) { last = e; }
  }
  throw classify(last);
}

/** Send the request on `socket`, read the answer; keeps the socket for the pool when it can. */
async function exchange(socket: Socket, url: Url, opts: RequestOptions, end: number, origin: string): Promise<HttpResponse> {
  const off = opts.cancel?.onCancel(() => socket.close()) ?? (() => {});
  let keep = false;
  try {
    const body = typeof opts.body === 'string' ? sys.utf8Encode(opts.body) : opts.body;
    const method = opts.method ?? 'GET';
    const hostHeader = `${url.hostname.includes(':') ? `[${url.hostname}]` : url.hostname}${url.port ? `:${url.port}` : ''}`;
    // The caller's User-Agent replaces ours (Vultr's service reads cloud-init's).
    const ownAgent = Object.keys(opts.headers ?? {}).some((k) => k.toLowerCase() === 'user-agent');
    const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${hostHeader}`, ...(ownAgent ? [] : ['User-Agent: ec2-init']), 'Accept-Encoding: identity',
      `Connection: ${opts.pool ? 'keep-alive' : 'close'}`];
    if (url.auth) lines.push(`Authorization: Basic ${sys.base64Encode(sys.utf8Encode(url.auth))}`);
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) throw new HttpError('other', `header ${k} holds a line break`);
      lines.push(`${k}: ${v}`);
    }
    if (body !== undefined || method === 'PUT' || method === 'POST') lines.push(`Content-Length: ${body?.length ?? 0}`);
    const head = sys.utf8Encode(`${lines.join('\r\n')}\r\n\r\n`);
    try {
      await socket.write(body ? concat([head, body]) : head, left(end));
    } catch (e) { throw classify(e); }
    const reader = new Reader(socket, end, opts.cancel);
    const res = await readResponse(reader, method, opts.maxBytes ?? DEFAULT_MAX_BYTES, url.href);
    keep = opts.pool !== undefined && res.reusable && !reader.ended;
    return res.response;
  } finally {
    off();
    if (keep) opts.pool!.give(origin, socket); else socket.close();
  }
}

/** Buffered reads from a socket, each bounded by the attempt's end. */
class Reader {
  private buf: Uint8Array = new Uint8Array(0);
  private readonly socket: Socket;
  private readonly end: number;
  private readonly cancel: Cancel | undefined;
  ended = false;
  constructor(socket: Socket, end: number, cancel?: Cancel) {
    this.socket = socket;
    this.end = end;
    this.cancel = cancel;
  }

  /** Read more into the buffer; false at the end of the stream. */
  private async more(): Promise<boolean> {
    if (this.ended) return false;
    let chunk: Uint8Array | null;
    try { chunk = await this.socket.read(65536, left(this.end)); } catch (e) {
      if (this.cancel?.cancelled) throw new HttpError('aborted', 'aborted');
      throw classify(e);
    }
    if (chunk === null) { this.ended = true; return false; }
    this.buf = this.buf.length === 0 ? chunk : concat([this.buf, chunk]);
    return true;
  }

  /** The bytes up to and including `\r\n\r\n` (or `\r\n` when `line`), at most `max`. */
  async until(marker: 'head' | 'line', max: number): Promise<Uint8Array> {
    for (;;) {
      const at = indexOfCrlf(this.buf, marker === 'head');
      if (at >= 0) {
        const n = at + (marker === 'head' ? 4 : 2);
        const out = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
        return out;
      }
      if (this.buf.length > max) throw new HttpError('too-large', `answer headers larger than ${max} bytes`);
      if (!await this.more()) throw new HttpError('reset', 'connection closed before the end of the answer');
    }
  }

  /** Exactly `n` bytes. */
  async exactly(n: number): Promise<Uint8Array> {
    while (this.buf.length < n) {
      if (!await this.more()) throw new HttpError('reset', 'connection dropped mid-answer');
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Everything until the peer closes, at most `max` bytes. */
  async rest(max: number): Promise<Uint8Array> {
    while (await this.more()) {
      if (this.buf.length > max) throw new HttpError('too-large', `answer larger than ${max} bytes`);
    }
    const out = this.buf;
    this.buf = new Uint8Array(0);
    return out;
  }
}

async function readResponse(reader: Reader, method: string, maxBytes: number, href: string): Promise<{ response: HttpResponse; reusable: boolean }> {
  let head: string;
  let status: number;
  // 1xx answers (100 Continue) come before the real one.
  for (;;) {
    head = sys.latin1Decode(await reader.until('head', MAX_HEADER_BYTES));
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (!m) throw new HttpError('other', 'not an HTTP answer');
    status = Number(m[1]);
    if (status >= 200 || status === 101) break;
  }
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const closes = /(^|,)\s*close\s*(,|$)/i.test(headers['connection'] ?? '') || head.startsWith('HTTP/1.0');
  let body: Uint8Array;
  let reusable = !closes;
  if (method === 'HEAD' || status === 204 || status === 304) body = new Uint8Array(0);
  else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = await readChunked(reader, maxBytes);
  else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (!Number.isSafeInteger(length) || length < 0) throw new HttpError('other', `bad Content-Length ${headers['content-length']}`);
    if (length > maxBytes) throw new HttpError('too-large', `answer larger than ${maxBytes} bytes (Content-Length ${length})`);
    body = await reader.exactly(length);
  } else {
    body = await reader.rest(maxBytes);
    reusable = false;
  }
  return { response: { status, headers, body: body, url: href }, reusable };
}

async function readChunked(reader: Reader, maxBytes: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const line = sys.latin1Decode(await reader.until('line', 1024)).trim();
    const size = parseInt(line.split(';')[0]!, 16);
    if (!Number.isFinite(size) || size < 0) throw new HttpError('other', `bad chunk size '${line}'`);
    if (size === 0) break;
    total += size;
    if (total > maxBytes) throw new HttpError('too-large', `answer larger than ${maxBytes} bytes`);
    parts.push(await reader.exactly(size));
    await reader.exactly(2); // the CRLF after the chunk
  }
  // Trailers, up to the empty line.
  while ((await reader.until('line', MAX_HEADER_BYTES)).length > 2) { /* ignored */ }
  return concat(parts);
}

function indexOfCrlf(b: Uint8Array, double: boolean): number {
  for (let i = 0; i + 1 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && (!double || (b[i + 2] === 13 && b[i + 3] === 10))) return i;
  }
  return -1;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

/** An HttpError for a failed socket call. */
export function classify(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  const code = (e as { code?: string } | null)?.code;
  const message = (e as Error | null)?.message ?? String(e);
  switch (code) {
    case 'ECONNREFUSED': return new HttpError('refused', 'connection refused');
    case 'ENETUNREACH': case 'EHOSTUNREACH': case 'ENETDOWN': case 'EHOSTDOWN': case 'EADDRNOTAVAIL':
      return new HttpError('unreachable', `no route (${code})`);
    case 'ECONNRESET': case 'EPIPE': case 'ECONNABORTED':
      return new HttpError('reset', `connection dropped (${code})`);
    case 'ETIMEDOUT': return new HttpError('timeout', 'no answer in time');
    case 'ECANCELED': return new HttpError('aborted', 'aborted');
    case 'ECERT': return new HttpError('tls', `TLS: ${message.replace(/^connect: /, '')}`);
    default: return new HttpError('other', code ? `${message} (${code})` : message);
  }
}

/** Where Debian (and others) keep the CA bundle, inside the root. */
export const CA_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'];

/** The root's CA bundle, read once when first needed (https only). */
export function rootCaBundle(read: (path: string) => Uint8Array | null): () => Uint8Array | null {
  let cached: Uint8Array | null | undefined;
  return () => {
    if (cached !== undefined) return cached;
    cached = null;
    for (const p of CA_BUNDLES) {
      try { cached = read(p); } catch { cached = null; }
      if (cached) break;
    }
    return cached;
  };
}
