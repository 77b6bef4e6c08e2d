// #include / #include-once: the URL list of an include part, and fetching one
// URL (http and https with node:http/https, loaded on first use; file:// and
// bare absolute paths under a root). Each attempt has a timeout; failures that
// may pass (network errors, timeouts, 408, 429, 5xx) are retried with
// net/fetch.ts's backoff; a body larger than the byte budget stops the transfer.
// Recursion, loops, depth and the total budget are the caller's (expand.ts).
import { Files, PathError } from '../host/files.ts';
import { fetchWithRetries } from '../net/fetch.ts';
import { HttpError, rootCaBundle, type HttpResponse } from '../net/http.ts';
import { fileUrlPath, isFileUrl, readFileUrl } from '../net/file-url.ts';
import { parseUrl, type Url } from '../net/url.ts';

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
  /** The same pause before every retry instead of doubling it (cloud-init's sec_between). */
  fixedPause?: boolean;
  /** Largest body accepted, bytes. */
  maxBytes: number;
  /** file:// paths are read from these files (a root). Default: this machine's /. */
  files?: Files;
  /** Redirects followed. Default 5. */
  maxRedirects?: number;
  /** Told of each redirect followed (for the log). */
  onRedirect?: (from: string, to: string) => void;
  /** Request headers of http(s) URLs (write_files' source.headers). */
  headers?: Record<string, string>;
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
export async function fetchUrl(url: string, o: FetchOptions): Promise<Uint8Array> {
  const u = url.trim();
  if (isFileUrl(u)) return readLocal(u, o);
  let parsed: Url;
  try {
    parsed = parseUrl(u);
  } catch (e) {
    throw new FetchError(`not a valid URL (${(e as Error).message})`, true);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new FetchError(`unsupported URL scheme ${parsed.protocol}`, true);
  const retries = o.retries ?? 3;
  let res: HttpResponse;
  try {
    res = await fetchWithRetries(parsed, {
      timeoutMs: o.timeoutMs ?? 5000,
      maxBytes: o.maxBytes,
      ...(o.headers && { headers: o.headers }),
      redirects: { max: o.maxRedirects ?? 5, onRedirect: (from, to) => o.onRedirect?.(from, to) },
      ...(o.files && { ca: rootCaBundle((p) => o.files!.readIfExists(p)) }),
      retries,
      pause: o.fixedPause ? { fixedMs: o.backoffMs ?? 500 } : { baseMs: o.backoffMs ?? 500, capMs: 30_000 },
      // cloud-init's rule for includes: 408 too, and any failure that may pass (a refused connection as well).
      retryStatus: (code) => code === 408 || code === 429 || code >= 500,
      retryFailure: (e) => !PERMANENT.includes(e.kind),
    });
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    const message = e.kind === 'too-large' ? `body is larger than the ${o.maxBytes}-byte limit` : e.message;
    if (PERMANENT.includes(e.kind)) throw new FetchError(message, true);
    throw new FetchError(`${message}${after(retries)}`, false);
  }
  const code = res.status;
  if (code >= 200 && code < 300) return res.body;
  const retryable = code === 408 || code === 429 || code >= 500;
  throw new FetchError(`HTTP status ${code}${retryable ? after(retries) : ''}`, !retryable);
}

/** Too large, a bad URL, a refused redirect, an untrusted certificate: trying again changes nothing. */
const PERMANENT = ['too-large', 'bad-url', 'redirect', 'tls'];

const after = (retries: number) => ` (after ${retries + 1} attempt${retries === 0 ? '' : 's'})`;

async function readLocal(url: string, o: FetchOptions): Promise<Uint8Array> {
  // Symlinks in the root resolve against the root, never against this machine's /.
  const files = o.files ?? new Files('/');
  let p = url;
  try {
    p = fileUrlPath(url);
    const body = readFileUrl(files, url, o.maxBytes);
    if (body === null) throw new FetchError(`cannot read ${p}: ENOENT`, true);
    return body;
  } catch (e) {
    if (e instanceof FetchError) throw e;
    if (e instanceof PathError && e.code === 'EFBIG') throw new FetchError(`${p} is larger than the ${o.maxBytes}-byte limit`, true);
    const code = (e as { code?: string }).code;
    throw new FetchError(code ? `cannot read ${p}: ${code}` : (e as Error).message, true);
  }
}
