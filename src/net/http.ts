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
import type { Socket } from '../host/sys.ts';
import { connectTcp, connectUnix, resolveName } from '../host/sockets.ts';
import { now } from '../host/clock.ts';
import { base64Encode, latin1Decode, utf8Encode } from '../host/codecs.ts';
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
  /** Connect from this local port (Scaleway's privileged source port); never with a pool. */
  localPort?: number;
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

// systemd-imds's locked mode (src/sources/systemd-imds.ts) routes the metadata
// address only for sockets that carry its mark. Where its early network is set
// up, the search says so once (markMetadataConnections), and from then on every
// connection to a metadata address carries the mark, whichever source, token
// request or connectivity check opens it.
let metadataMark: number | undefined;

/** The SO_MARK of every later connection to a metadata address (undefined: none). */
export function markMetadataConnections(mark: number | undefined): void { metadataMark = mark; }

/** Where metadata services answer: IPv4 link-local (169.254.0.0/16), IPv6 link-local (fe80::/10), EC2's fd00:ec2::254. */
export function isMetadataAddress(address: string): boolean {
  const a = address.toLowerCase();
  return a.startsWith('169.254.') || /^fe[89ab][0-9a-f]:/.test(a) || a === 'fd00:ec2::254';
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
  const end = now() + budget;
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
  const ms = Math.floor(end - now());
  if (ms <= 0) throw new HttpError('timeout', 'no answer in time');
  return ms;
}

async function open(url: Url, end: number, opts: RequestOptions): Promise<Socket> {
  if (opts.unixSocket !== undefined) {
    try { return await connectUnix(opts.unixSocket, left(end)); } catch (e) { throw classify(e); }
  }
  const host = url.hostname;
  const literal = /^[0-9.]+$/.test(host) || host.includes(':');
  let addresses: string[];
  try { addresses = literal ? [host] : await resolveName(host, left(end)); } catch (e) {
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
      return await connectTcp({
        address, port: portOf(url), timeoutMs: left(end), ...(tls && { tls }),
        ...(metadataMark !== undefined && isMetadataAddress(address) && { mark: metadataMark }), ...(opts.localPort && { localPort: opts.localPort }),
      });
    } catch (e) { last = e; }
  }
  throw classify(last);
}

/** Send the request on `socket`, read the answer; keeps the socket for the pool when it can. */
async function exchange(socket: Socket, url: Url, opts: RequestOptions, end: number, origin: string): Promise<HttpResponse> {
  const off = opts.cancel?.onCancel(() => socket.close()) ?? (() => {});
  let keep = false;
  try {
    const body = typeof opts.body === 'string' ? utf8Encode(opts.body) : opts.body;
    const method = opts.method ?? 'GET';
    const hostHeader = `${url.hostname.includes(':') ? `[${url.hostname}]` : url.hostname}${url.port ? `:${url.port}` : ''}`;
    // The caller's User-Agent replaces ours (Vultr's service reads cloud-init's).
    const ownAgent = Object.keys(opts.headers ?? {}).some((k) => k.toLowerCase() === 'user-agent');
    const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${hostHeader}`, ...(ownAgent ? [] : ['User-Agent: ec2-init']), 'Accept-Encoding: identity',
      `Connection: ${opts.pool ? 'keep-alive' : 'close'}`];
    if (url.auth) lines.push(`Authorization: Basic ${base64Encode(utf8Encode(url.auth))}`);
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) throw new HttpError('other', `header ${k} holds a line break`);
      lines.push(`${k}: ${v}`);
    }
    if (body !== undefined || method === 'PUT' || method === 'POST') lines.push(`Content-Length: ${body?.length ?? 0}`);
    const head = utf8Encode(`${lines.join('\r\n')}\r\n\r\n`);
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

  /** Exactly `n` bytes. Gathered in pieces and joined once: a 16 MiB body is not copied again at every read. */
  async exactly(n: number): Promise<Uint8Array> {
    if (this.buf.length >= n) return this.take(n);
    const pieces: Uint8Array[] = [this.buf];
    let have = this.buf.length;
    this.buf = new Uint8Array(0);
    while (have < n) {
      if (!await this.more()) throw new HttpError('reset', 'connection dropped mid-answer');
      pieces.push(this.buf);
      have += this.buf.length;
      this.buf = new Uint8Array(0);
    }
    const all = concat(pieces);
    this.buf = all.subarray(n);
    return all.subarray(0, n);
  }

  private take(n: number): Uint8Array {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Everything until the peer closes, at most `max` bytes. */
  async rest(max: number): Promise<Uint8Array> {
    const pieces: Uint8Array[] = [this.buf];
    let have = this.buf.length;
    this.buf = new Uint8Array(0);
    while (await this.more()) {
      pieces.push(this.buf);
      have += this.buf.length;
      this.buf = new Uint8Array(0);
      if (have > max) throw new HttpError('too-large', `answer larger than ${max} bytes`);
    }
    return concat(pieces);
  }
}

/**
 * The status line: HTTP/1.0 or 1.1, a status code of exactly three digits
 * from 100 to 599, then a space and a reason (possibly empty) or nothing.
 * "HTTP/1.1 2000000000000000000 OK" is not a 200.
 */
const STATUS_LINE = /^HTTP\/1\.[01] ([1-5]\d\d)(?: [^\x00-\x08\x0a-\x1f\x7f]*)?$/;
/** A header name: an RFC 9110 token, nothing around it (no space before the colon). */
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What a header value may not hold (RFC 9110 §5.5: NUL, CR, LF; other controls but tab as well). */
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

async function readResponse(reader: Reader, method: string, maxBytes: number, href: string): Promise<{ response: HttpResponse; reusable: boolean }> {
  let lines: string[];
  let status: number;
  // 1xx answers (100 Continue) come before the real one.
  for (;;) {
    lines = latin1Decode(await reader.until('head', MAX_HEADER_BYTES)).slice(0, -4).split('\r\n');
    const m = STATUS_LINE.exec(lines[0]!);
    if (!m) throw new HttpError('other', `not an HTTP answer (status line ${JSON.stringify(lines[0]!.slice(0, 80))})`);
    status = Number(m[1]);
    if (status >= 200 || status === 101) break;
  }
  const headers = parseHeaders(lines.slice(1));
  const closes = /(^|,)\s*close\s*(,|$)/i.test(headers['connection'] ?? '') || lines[0]!.startsWith('HTTP/1.0');
  let body: Uint8Array;
  let reusable = !closes;
  const te = headers['transfer-encoding'];
  if (method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200)) body = new Uint8Array(0);
  else if (te !== undefined) {
    // Only chunked is asked for (Accept-Encoding: identity, no TE header): any other coding is refused, not passed on as the body.
    if (!/^chunked$/i.test(te.trim())) throw new HttpError('other', `unsupported Transfer-Encoding ${JSON.stringify(te.slice(0, 80))}`);
    body = await readChunked(reader, maxBytes);
    // With a Content-Length beside it the length is the chunks' (RFC 9112 §6.3), and the connection is not trusted again.
    if (headers['content-length'] !== undefined) reusable = false;
  } else if (headers['content-length'] !== undefined) {
    const length = contentLength(headers['content-length']);
    if (length > maxBytes) throw new HttpError('too-large', `answer larger than ${maxBytes} bytes (Content-Length ${length})`);
    body = await reader.exactly(length);
  } else {
    body = await reader.rest(maxBytes);
    reusable = false;
  }
  return { response: { status, headers, body: body, url: href }, reusable };
}

/**
 * Header lines → names in lower case, repeated ones joined with ', '. A line
 * that is not `name: value` with a token name, or a value with control
 * characters, makes the answer malformed (another parser could read it
 * otherwise); an obsolete folded line (starting with a space or a tab)
 * continues the value before it, joined by a space (RFC 9112 §5.2).
 */
function parseHeaders(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  let last: string | null = null;
  for (const line of lines) {
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (last === null || BAD_VALUE.test(line)) throw new HttpError('other', `malformed header line ${JSON.stringify(line.slice(0, 80))}`);
      headers[last] = `${headers[last]} ${line.trim()}`.trim();
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (!FIELD_NAME.test(name) || BAD_VALUE.test(value)) throw new HttpError('other', `malformed header line ${JSON.stringify(line.slice(0, 80))}`);
    const key = name.toLowerCase();
    Object.defineProperty(headers, key, {
      value: headers[key] === undefined || !Object.hasOwn(headers, key) ? value : `${headers[key]}, ${value}`,
      writable: true, enumerable: true, configurable: true,
    });
    last = key;
  }
  return headers;
}

/** Content-Length: digits only; repeated (or a list), every copy the same (RFC 9110 §8.6); else the answer is malformed. */
function contentLength(value: string): number {
  const copies = value.split(',').map((v) => v.trim());
  const first = copies[0]!;
  if (!/^\d{1,15}$/.test(first) || copies.some((c) => c !== first)) {
    throw new HttpError('other', `bad Content-Length ${JSON.stringify(value.slice(0, 80))}`);
  }
  return Number(first);
}

/**
 * A chunked body: each chunk's size is hex digits only (an optional
 * extension after ';'), its data is followed by exactly CRLF, the last
 * chunk (size 0) by trailers up to an empty line, all within the caps.
 */
async function readChunked(reader: Reader, maxBytes: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const line = latin1Decode(await reader.until('line', 1024)).slice(0, -2);
    const m = /^([0-9A-Fa-f]+)[ \t]*(?:;[^\r\n]*)?$/.exec(line);
    if (!m) throw new HttpError('other', `bad chunk size line ${JSON.stringify(line.slice(0, 80))}`);
    // Leading zeros are allowed; more significant digits than any allowed body has are "too large", never rounded.
    const digits = m[1]!.replace(/^0+(?=.)/, '');
    const size = digits.length > 12 ? Infinity : parseInt(digits, 16);
    if (size === 0) break;
    total += size;
    if (total > maxBytes) throw new HttpError('too-large', `answer larger than ${maxBytes} bytes`);
    parts.push(await reader.exactly(size));
    const crlf = await reader.exactly(2);
    if (crlf[0] !== 13 || crlf[1] !== 10) throw new HttpError('other', 'a chunk is not followed by CRLF (its size is wrong?)');
  }
  // Trailers, up to the empty line, within the header cap altogether.
  for (let trailers = 0; ;) {
    const line = await reader.until('line', MAX_HEADER_BYTES);
    if (line.length === 2) break;
    trailers += line.length;
    if (trailers > MAX_HEADER_BYTES) throw new HttpError('too-large', `answer trailers larger than ${MAX_HEADER_BYTES} bytes`);
  }
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
