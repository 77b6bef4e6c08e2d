// URLs as ec2-init needs them (http, https, file), parsed by hand: the
// shipped runtime has no URL class, and a boot agent should accept exactly
// what it can fetch. A URL with spaces or control characters is refused
// rather than guessed at: they would otherwise end up inside a request line.

export interface Url {
  /** 'http:', 'https:', 'file:' (lower case, with the colon, as WHATWG URL says it). */
  protocol: string;
  /** Host name or address, lower case; an IPv6 address without its brackets. '' for file URLs. */
  hostname: string;
  /** The port as written ('' when none was). */
  port: string;
  /** Path and query as sent in a request ('/latest/meta-data/?x=1'); at least '/'. */
  pathname: string;
  search: string;
  /** The whole URL, normalized, without a fragment and without user:password (safe to log). */
  href: string;
  /** 'user:password' as written before the host (percent-decoded), sent as HTTP basic auth; '' when none. */
  auth: string;
}

export class UrlError extends Error {}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/** Parse an absolute URL; throws UrlError saying what is wrong. */
export function parseUrl(text: string): Url {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f]/.test(text)) throw new UrlError('URL contains spaces or control characters');
  const m = SCHEME.exec(text);
  if (!m) throw new UrlError('not an absolute URL (no scheme)');
  const protocol = `${m[1]!.toLowerCase()}:`;
  let rest = text.slice(m[0].length);
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  if (!rest.startsWith('//')) {
    if (protocol === 'file:') return build(protocol, '', '', rest || '/');
    throw new UrlError('not an absolute URL (no //host)');
  }
  rest = rest.slice(2);
  const slash = rest.search(/[/?]/);
  let authority = slash < 0 ? rest : rest.slice(0, slash);
  const pathAndQuery = slash < 0 ? '/' : rest.slice(slash);
  const at = authority.lastIndexOf('@');
  let auth = '';
  if (at >= 0) {
    try { auth = decodeURIComponent(authority.slice(0, at)); } catch { throw new UrlError('bad %-escape in the user name or password'); }
    authority = authority.slice(at + 1);
  }
  let hostname: string;
  let port = '';
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0) throw new UrlError('unterminated IPv6 address');
    hostname = authority.slice(1, end).toLowerCase();
    if (!/^[0-9a-f:.]+$/.test(hostname) || !hostname.includes(':')) throw new UrlError(`bad IPv6 address [${hostname}]`);
    const after = authority.slice(end + 1);
    if (after !== '' && !after.startsWith(':')) throw new UrlError('junk after the IPv6 address');
    port = after.slice(1);
  } else {
    const colon = authority.lastIndexOf(':');
    hostname = (colon < 0 ? authority : authority.slice(0, colon)).toLowerCase();
    port = colon < 0 ? '' : authority.slice(colon + 1);
    if (!/^[a-z0-9._~%!$&'()*+,;=-]*$/.test(hostname)) throw new UrlError(`bad host name '${hostname}'`);
  }
  if (port !== '' && (!/^\d{1,5}$/.test(port) || Number(port) > 65535)) throw new UrlError(`bad port '${port}'`);
  if (protocol !== 'file:' && hostname === '') throw new UrlError('URL without a host');
  return build(protocol, hostname, port, pathAndQuery.startsWith('/') ? pathAndQuery : `/${pathAndQuery}`, auth);
}

function build(protocol: string, hostname: string, port: string, pathAndQuery: string, auth = ''): Url {
  const q = pathAndQuery.indexOf('?');
  const pathname = normalizePath(q < 0 ? pathAndQuery : pathAndQuery.slice(0, q));
  const search = q < 0 ? '' : pathAndQuery.slice(q);
  const host = hostname.includes(':') ? `[${hostname}]` : hostname;
  const defaultPort = (protocol === 'http:' && port === '80') || (protocol === 'https:' && port === '443');
  const shownPort = port === '' || defaultPort ? '' : `:${port}`;
  return { protocol, hostname, port: defaultPort ? '' : port, pathname, search, href: `${protocol}//${host}${shownPort}${pathname}${search}`, auth };
}

/** Resolve '.' and '..' segments (RFC 3986 remove_dot_segments). */
function normalizePath(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  for (const [i, s] of segments.entries()) {
    if (s === '.') { if (i === segments.length - 1) out.push(''); continue; }
    if (s === '..') { if (out.length > 1) out.pop(); if (i === segments.length - 1) out.push(''); continue; }
    out.push(s);
  }
  const joined = out.join('/');
  return joined.startsWith('/') ? joined : `/${joined}`;
}

/** The URL a reference (a Location header) names, relative to `base`. */
export function resolveUrl(base: Url, ref: string): Url {
  if (SCHEME.test(ref)) return parseUrl(ref);
  if (ref.startsWith('//')) return parseUrl(`${base.protocol}${ref}`);
  const host = base.hostname.includes(':') ? `[${base.hostname}]` : base.hostname;
  const origin = `${base.protocol}//${host}${base.port ? `:${base.port}` : ''}`;
  if (ref.startsWith('/')) return parseUrl(`${origin}${ref}`);
  if (ref.startsWith('?')) return parseUrl(`${origin}${base.pathname}${ref}`);
  const dir = base.pathname.slice(0, base.pathname.lastIndexOf('/') + 1);
  return parseUrl(`${origin}${dir}${ref}`);
}

/** The port to connect to. */
export function portOf(url: Url): number {
  return url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/** Percent-decoding of a path (file URLs); throws UrlError on a bad escape. */
export function decodePath(path: string): string {
  try { return decodeURIComponent(path); } catch { throw new UrlError(`bad %-escape in ${path}`); }
}
