// #include / #include-once: the URL list of an include part, and fetching one
// URL (http and https with node:http/https, loaded on first use; file:// and
// bare absolute paths under a root). Each attempt has a timeout; failures that
// may pass (network errors, timeouts, 408, 429, 5xx) are retried with
// exponential backoff; a body larger than the byte budget stops the transfer.
// Recursion, loops, depth and the total budget are the caller's (expand.ts).
import { readFile, stat } from 'node:fs/promises';
import { resolveInRoot } from '../host/paths.ts';
import path from 'node:path';

export interface IncludeEntry { url: string; once: boolean }

// Python's str.splitlines() separators.
const PY_LINES = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

/**
 * The URLs an include part names, as cloud-init reads them: one per line,
 * a line '#include-once' (optionally followed by a URL) turns "once" on for
 * what follows, '#include' turns it off, other '#' lines are comments.
 */
export function parseIncludeList(text: string): IncludeEntry[] {
  const out: IncludeEntry[] = [];
  let once = false;
  for (let line of text.split(PY_LINES)) {
    const lc = line.toLowerCase();
    if (lc.startsWith('#include-once')) {
      line = line.slice('#include-once'.length).trimStart();
      once = true;
    } else if (lc.startsWith('#include')) {
      line = line.slice('#include'.length).trimStart();
      once = false;
    }
    if (line.startsWith('#')) continue;
    const url = line.trim();
    if (url !== '') out.push({ url, once });
  }
  return out;
}

export interface FetchOptions {
  /** Per-attempt timeout (connect to last byte), ms. Default 5000. */
  timeoutMs?: number;
  /** Attempts after the first. Default 3. */
  retries?: number;
  /** First backoff, doubled each retry, ms. Default 500. */
  backoffMs?: number;
  /** Largest body accepted, bytes. */
  maxBytes: number;
  /** file:// paths are read under this directory. Default '/'. */
  root?: string;
  /** Redirects followed. Default 5. */
  maxRedirects?: number;
}

/** A failure that retrying cannot fix (4xx, too large, bad URL, missing file). */
export class FetchError extends Error {
  readonly permanent: boolean;
  constructor(message: string, permanent: boolean) {
    super(message);
    this.name = 'FetchError';
    this.permanent = permanent;
  }
}

/** Fetch one URL; throws FetchError with a one-line reason. */
export async function fetchUrl(url: string, o: FetchOptions): Promise<Buffer> {
  const u = url.trim();
  if (u.startsWith('/')) return readLocal(u, o);
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch {
    throw new FetchError('not a valid URL', true);
  }
  if (parsed.protocol === 'file:') {
    if (parsed.hostname !== '' && parsed.hostname !== 'localhost') throw new FetchError('file URL with a remote host', true);
    return readLocal(decodeURIComponent(parsed.pathname), o);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new FetchError(`unsupported URL scheme ${parsed.protocol}`, true);
  const retries = o.retries ?? 3;
  const backoff = o.backoffMs ?? 500;
  let last: FetchError = new FetchError('not fetched', false);
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await sleep(backoff * 2 ** (attempt - 1));
    try {
      return await httpGet(parsed, o, o.maxRedirects ?? 5);
    } catch (e) {
      last = e instanceof FetchError ? e : new FetchError((e as Error).message, false);
      if (last.permanent) break;
    }
  }
  const tries = retries + 1;
  throw last.permanent ? last : new FetchError(`${last.message} (after ${tries} attempt${tries === 1 ? '' : 's'})`, false);
}

async function readLocal(p: string, o: FetchOptions): Promise<Buffer> {
  // Symlinks in the root resolve against the root, never against this machine's /.
  const full = resolveInRoot(path.resolve(o.root ?? '/'), p);
  try {
    const st = await stat(full);
    if (!st.isFile()) throw new FetchError(`${p} is not a regular file`, true);
    if (st.size > o.maxBytes) throw new FetchError(`${p} is larger than the ${o.maxBytes}-byte limit`, true);
    return await readFile(full);
  } catch (e) {
    if (e instanceof FetchError) throw e;
    throw new FetchError(`cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, true);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type HttpModule = typeof import('node:http');
let httpMod: HttpModule | null = null;
let httpsMod: typeof import('node:https') | null = null;

async function httpGet(url: URL, o: FetchOptions, redirectsLeft: number): Promise<Buffer> {
  const mod: Pick<HttpModule, 'get'> = url.protocol === 'https:'
    ? (httpsMod ??= await import('node:https'))
    : (httpMod ??= await import('node:http'));
  const timeoutMs = o.timeoutMs ?? 5000;
  const result = await new Promise<Buffer | { redirect: string }>((resolve, reject) => {
    let settled = false;
    const finish = (err: FetchError | null, value?: Buffer | { redirect: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) { req.destroy(); reject(err); } else resolve(value!);
    };
    const req = mod.get(url, { headers: { 'user-agent': 'ec2-init', 'accept-encoding': 'identity' } }, (res) => {
      const code = res.statusCode ?? 0;
      if (code >= 300 && code < 400 && res.headers.location !== undefined) {
        res.resume();
        finish(null, { redirect: res.headers.location });
        return;
      }
      if (code < 200 || code >= 300) {
        res.resume();
        const retryable = code === 408 || code === 429 || code >= 500;
        finish(new FetchError(`HTTP status ${code}`, !retryable));
        return;
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > o.maxBytes) {
        finish(new FetchError(`body of ${declared} bytes is larger than the ${o.maxBytes}-byte limit`, true));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > o.maxBytes) {
          finish(new FetchError(`body is larger than the ${o.maxBytes}-byte limit`, true));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => finish(null, Buffer.concat(chunks)));
      res.on('error', (e) => finish(new FetchError(e.message, false)));
      res.on('aborted', () => finish(new FetchError('connection closed before the end of the body', false)));
    });
    req.on('error', (e: NodeJS.ErrnoException) => finish(new FetchError(e.code ?? e.message, false)));
    const timer = setTimeout(() => finish(new FetchError(`timed out after ${timeoutMs} ms`, false)), timeoutMs);
  });
  if (Buffer.isBuffer(result)) return result;
  if (redirectsLeft <= 0) throw new FetchError('too many redirects', true);
  let next: URL;
  try {
    next = new URL(result.redirect, url);
  } catch {
    throw new FetchError('redirect to an invalid URL', true);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new FetchError(`redirect to unsupported scheme ${next.protocol}`, true);
  return httpGet(next, o, redirectsLeft - 1);
}
