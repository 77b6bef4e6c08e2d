// A small MIME reader with the behaviour of Python's email parser (the one
// cloud-init uses): headers until the first line that is not a header,
// multipart/* at any depth by boundary lines, message/* opened, every
// other part a leaf with its Content-Type, filename (RFC 2231 too),
// Content-Transfer-Encoding (base64, quoted-printable) undone and, for text/*,
// its charset converted to UTF-8. Loaded only when user-data is MIME.
import { fromLatin1, latin1, utf8 } from '../bytes.ts';
import { decodeCharset } from './charset.ts';
import { canonicalType, pyStrip } from './sniff.ts';

export interface MimeLeaf {
  /** As Python's get_content_type(), aliases resolved. */
  type: string;
  /** Every header in order, name lower-case, folding undone. */
  headers: Array<[string, string]>;
  /** As Python's get_filename() (Content-Disposition filename, else Content-Type name); null when absent. */
  filename: string | null;
  /** The payload, transfer encoding undone, text converted to UTF-8. */
  body: Uint8Array;
}

export interface ParsedMime { leaves: MimeLeaf[]; warnings: string[] }

/** Deepest multipart nesting read; deeper parts are dropped with a warning. */
const MAX_NESTING = 64;

/** Parse a whole message (the user-data when it says MIME-Version). */
export function parseMime(buf: Uint8Array): ParsedMime {
  const src = latin1(buf);
  const out: ParsedMime = { leaves: [], warnings: [] };
  parseEntity(src, 0, src.length, 'text/plain', 0, out);
  return out;
}

// ---- lines -----------------------------------------------------------------

const EOL = /\r\n|\r|\n/g;

/** [end of line text, start of next line] for the line starting at p (bounded by `end`). */
function lineAt(s: string, p: number, end: number): [number, number] {
  EOL.lastIndex = p;
  const m = EOL.exec(s);
  if (m === null || m.index >= end) return [end, end];
  return [m.index, Math.min(m.index + m[0].length, end)];
}

// ---- headers ---------------------------------------------------------------

const HEADER_LINE = /^(?:From |[\x21-\x39\x3b-\x7e]*:|[\t ])/;

/**
 * Parse the header block at [p, end); returns the headers, where the body
 * starts, and (Python's quirk) a 'From ' line that ended the block and so
 * belongs to the body.
 */
function parseHeaders(s: string, p: number, end: number): { headers: Array<[string, string]>; body: number; from: [number, number] | null } {
  const headers: Array<[string, string]> = [];
  let index = 0; // line number within the header block
  let lastEol = ''; // line ending of the last line of the current header
  let from: [number, number] | null = null; // the block's last line, when it is a 'From ' line
  const done = (body: number): { headers: Array<[string, string]>; body: number; from: [number, number] | null } => ({ headers: finishHeaders(headers), body, from });
  while (p < end) {
    const [le, next] = lineAt(s, p, end);
    if (le === p) return done(next); // the empty line ends the headers
    const line = s.slice(p, Math.min(le, p + 2000));
    if (!HEADER_LINE.test(line)) return done(p); // body starts without a blank line
    from = null;
    if (line.startsWith('From ')) {
      // unixfrom (first line), or a misplaced envelope line: not a header
      if (index > 0) from = [p, next];
    } else if (line[0] === ' ' || line[0] === '\t') {
      // A continuation: kept with the line break before it, as Python keeps it.
      const last = headers[headers.length - 1];
      if (last !== undefined) { last[1] += lastEol + s.slice(p, le); lastEol = s.slice(le, next); }
    } else {
      const colon = line.indexOf(':') >= 0 ? s.indexOf(':', p) - p : -1;
      if (colon > 0) {
        headers.push([s.slice(p, p + colon).toLowerCase(), s.slice(p + colon + 1, le).replace(/^[ \t]+/, '')]);
        lastEol = s.slice(le, next);
      }
    }
    index++;
    p = next;
  }
  return done(end);
}

/** Header values as text (UTF-8 bytes read as characters); folding is kept, as Python keeps it. */
function finishHeaders(headers: Array<[string, string]>): Array<[string, string]> {
  for (const h of headers) h[1] = latin1ToText(h[1]);
  return headers;
}

function header(headers: Array<[string, string]>, name: string): string | undefined {
  for (const [k, v] of headers) if (k === name) return v;
  return undefined;
}

// ---- parameters (Python's email.message parameter rules, RFC 2231) ----------

type ParamValue = string | { charset: string; value: string };

function unquote(v: string): string {
  if (v.length > 1) {
    if (v[0] === '"' && v[v.length - 1] === '"') return v.slice(1, -1).replace(/\\\\/g, '\\').replace(/\\"/g, '"');
    if (v[0] === '<' && v[v.length - 1] === '>') return v.slice(1, -1);
  }
  return v;
}

/** The parameters of a header value, in order, names lower-case, RFC 2231 collapsed. */
export function parseParams(value: string): Array<[string, ParamValue]> {
  const raw: Array<[string, string, boolean]> = [];
  // Split at ';' outside quotes (a quote preceded by a backslash does not count), in one pass.
  let from = 0;
  let quotes = 0;
  for (let i = 0; i <= value.length; i++) {
    const c = value[i];
    if (c === '"' && value[i - 1] !== '\\') quotes++;
    if (i < value.length && (c !== ';' || (i > from && quotes % 2 === 1))) continue;
    // Every element is a parameter, the leading value too (Python: 'filename="x"'
    // alone in a Content-Disposition is found as the filename).
    const f = value.slice(from, i);
    const eq = f.indexOf('=');
    if (eq >= 0) raw.push([pyStrip(f.slice(0, eq)).toLowerCase(), pyStrip(f.slice(eq + 1)), from === 0]);
    else raw.push([pyStrip(f).toLowerCase(), '', from === 0]);
    from = i + 1;
  }
  const out: Array<[string, ParamValue]> = [];
  const sections = new Map<string, Array<{ num: number; value: string; encoded: boolean }>>();
  for (const [name, v, isFirst] of raw) {
    const m = isFirst ? null : /^(\w+)\*(?:(\d+)\*?)?$/.exec(name);
    if (m === null) { out.push([name, unquote(v)]); continue; }
    const list = sections.get(m[1]!) ?? [];
    list.push({ num: m[2] === undefined ? -1 : Number(m[2]), value: unquote(v), encoded: name.endsWith('*') });
    sections.set(m[1]!, list);
  }
  for (const [name, list] of sections) {
    list.sort((a, b) => a.num - b.num || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    let joined = '';
    let extended = false;
    for (const sec of list) {
      if (sec.encoded) { joined += percentDecodeLatin1(sec.value); extended = true; } else joined += sec.value;
    }
    if (extended) {
      const parts = joined.split("'");
      if (parts.length >= 3) out.push([name, { charset: parts[0]!, value: parts.slice(2).join("'") }]);
      else out.push([name, joined]);
    } else out.push([name, joined]);
  }
  return out;
}

function percentDecodeLatin1(s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** A parameter's value as text (Python's collapse_rfc2231_value). */
function collapse(v: ParamValue): string {
  if (typeof v === 'string') return latin1ToText(v);
  const bytes = fromLatin1(v.value);
  return decodeCharset(bytes, v.charset || 'us-ascii') ?? v.value;
}

/** Header text is read byte-per-char; give UTF-8 bytes back their characters. */
function latin1ToText(v: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[\x80-\xff]/.test(v)) return v;
  const b = fromLatin1(v);
  return decodeCharset(b, 'utf-8') ?? v;
}

function param(headers: Array<[string, string]>, hname: string, pname: string): ParamValue | undefined {
  const v = header(headers, hname);
  if (v === undefined) return undefined;
  for (const [k, val] of parseParams(v)) if (k === pname) return val;
  return undefined;
}

// ---- bodies ----------------------------------------------------------------

const PASS_CHARSETS = new Set(['', 'utf-8', 'utf8', 'us-ascii', 'ascii']);

function decodeTransfer(raw: string, cte: string): Uint8Array {
  if (cte === 'base64') return decodeBase64(raw);
  if (cte === 'quoted-printable') return decodeQuotedPrintable(raw);
  return fromLatin1(raw);
}

const B64 = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

/** Python's lenient base64 (email's decode_b over binascii.a2b_base64): junk skipped, decoding stops at padding. */
function decodeBase64(raw: string): Uint8Array {
  const s = raw.replace(/\r\n|\r|\n/g, '');
  return a2bBase64(s) ?? a2bBase64(s + '==') ?? fromLatin1(s);
}

function a2bBase64(s: string): Uint8Array | null {
  const out = new Uint8Array(Math.ceil((s.length * 3) / 4) + 3);
  let n = 0;
  let quad = 0;
  let pads = 0;
  let left = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3d) { // '='
      if (quad >= 2 && quad + ++pads >= 4) return out.subarray(0, n);
      continue;
    }
    const v = c < 256 ? B64[c]! : -1;
    if (v < 0) continue;
    pads = 0;
    if (quad === 0) { left = v; quad = 1; }
    else if (quad === 1) { out[n++] = (left << 2) | (v >> 4); left = v & 0x0f; quad = 2; }
    else if (quad === 2) { out[n++] = ((left << 4) | (v >> 2)) & 0xff; left = v & 0x03; quad = 3; }
    else { out[n++] = ((left << 6) | v) & 0xff; quad = 0; }
  }
  return quad === 0 ? out.subarray(0, n) : null;
}

const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9A-Fa-f]$/.test(c);

/** Python's quopri.decodestring (binascii.a2b_qp): '=' soft breaks and =XX escapes; anything else kept. */
function decodeQuotedPrintable(raw: string): Uint8Array {
  if (!raw.includes('=')) return fromLatin1(raw);
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const eq = raw.indexOf('=', i);
    if (eq < 0) { out += raw.slice(i); break; }
    out += raw.slice(i, eq);
    i = eq + 1;
    if (i >= raw.length) break;
    const c = raw[i]!;
    if (c === '\n' || c === '\r') {
      if (c !== '\n') { const nl = raw.indexOf('\n', i); i = nl < 0 ? raw.length : nl; }
      if (i < raw.length) i++;
    } else if (c === '=') {
      out += '=';
      i++;
    } else if (isHex(c) && isHex(raw[i + 1])) {
      out += String.fromCharCode(parseInt(raw.slice(i, i + 2), 16));
      i += 2;
    } else {
      out += '=';
    }
  }
  return fromLatin1(out);
}

// ---- entities --------------------------------------------------------------

function parseEntity(s: string, start: number, end: number, defaultType: string, depth: number, out: ParsedMime, inMultipart = false): void {
  const parsed = parseHeaders(s, start, end);
  const headers = parsed.headers;
  let body = parsed.body;
  if (parsed.from !== null) {
    // Python puts a 'From ' line that ends the headers back in front of the body.
    const [a, b] = parsed.from;
    s = s.slice(a, b) + s.slice(body, end);
    end = s.length;
    body = 0;
  }
  const type = canonicalType(header(headers, 'content-type'), defaultType);
  const slash = type.indexOf('/');
  const main = type.slice(0, slash);
  if (main === 'multipart') {
    if (depth >= MAX_NESTING) { out.warnings.push(`MIME nesting deeper than ${MAX_NESTING}: inner parts dropped`); return; }
    const b = param(headers, 'content-type', 'boundary');
    const boundary = b === undefined ? '' : pyStrip('x' + collapse(b)).slice(1); // Python's rstrip()
    if (boundary === '') { out.warnings.push(`${type} without a boundary: ignored`); return; }
    const subDefault = type === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
    const ranges = splitMultipart(s, body, end, '--' + boundary);
    if (ranges === null) { out.warnings.push(`${type}: boundary never found: ignored`); return; }
    for (const [a, z] of ranges) parseEntity(s, a, z, subDefault, depth + 1, out, true);
    return;
  }
  if (main === 'message' && type !== 'message/delivery-status') {
    // As Python: any message/* holds one message, read as its own leaves.
    if (depth >= MAX_NESTING) { out.warnings.push(`MIME nesting deeper than ${MAX_NESTING}: inner parts dropped`); return; }
    parseEntity(s, body, end, 'text/plain', depth + 1, out, inMultipart);
    return;
  }
  // Inside a multipart, the line ending before the next boundary belongs to the boundary.
  let z = end;
  if (inMultipart && z > body) {
    if (s[z - 1] === '\n') { z--; if (z > body && s[z - 1] === '\r') z--; } else if (s[z - 1] === '\r') z--;
  }
  // As Python: the value lower-cased, not trimmed ('base64 ' is not base64 there either).
  const cte = (header(headers, 'content-transfer-encoding') ?? '').toLowerCase();
  let bytes = decodeTransfer(s.slice(body, z), cte);
  if (main === 'text') {
    const cs = param(headers, 'content-type', 'charset');
    const charset = cs === undefined ? '' : pyStrip(collapse(cs)).toLowerCase();
    if (!PASS_CHARSETS.has(charset)) {
      const text = decodeCharset(bytes, charset);
      if (text !== null) bytes = utf8(text);
      else out.warnings.push(`charset ${JSON.stringify(charset.slice(0, 40))} not known: payload kept as is`);
    }
  }
  let fn = param(headers, 'content-disposition', 'filename');
  if (fn === undefined) fn = param(headers, 'content-type', 'name');
  const filename = fn === undefined ? null : pyStrip(collapse(fn));
  out.leaves.push({ type, headers: headers.map(([k, v]) => [k, unfold(v)]), filename, body: bytes });
}

function unfold(v: string): string {
  return v.replace(/\r\n|\r|\n/g, '');
}

/**
 * The [start, end) ranges of the parts of a multipart body (each up to the
 * start of the boundary line that ends it), or null when no boundary line is
 * found. As Python: boundary lines right after a boundary line start no part.
 */
function splitMultipart(s: string, start: number, end: number, delim: string): Array<[number, number]> | null {
  const ranges: Array<[number, number]> = [];
  let partStart = -1;
  let p = start;
  for (;;) {
    const hit = nextDelimiter(s, p, start, end, delim);
    if (hit === null) break;
    if (partStart >= 0) ranges.push([partStart, hit.at]);
    if (hit.close) return partStart >= 0 ? ranges : null;
    p = hit.next;
    // Skip boundary lines that follow at once (a closing one too).
    let again = delimiterLineAt(s, p, end, delim);
    while (again !== null) {
      p = again.next;
      again = delimiterLineAt(s, p, end, delim);
    }
    partStart = p;
  }
  if (partStart < 0) return null;
  ranges.push([partStart, end]); // no closing boundary: the last part runs to the end
  return ranges;
}

/** The next boundary line at or after p: where it starts, where the next line starts, whether it closes. */
function nextDelimiter(s: string, p: number, start: number, end: number, delim: string): { at: number; next: number; close: boolean } | null {
  for (let at = s.indexOf(delim, p); at >= 0 && at < end; at = s.indexOf(delim, at + 1)) {
    if (at !== start && s[at - 1] !== '\n' && s[at - 1] !== '\r') continue; // not at a line start
    const line = delimiterLineAt(s, at, end, delim);
    if (line !== null) return { at, next: line.next, close: line.close };
  }
  return null;
}

/** When the line at p is a boundary line ('--b', '--b--', then only blanks): where the next line starts, whether it closes. */
function delimiterLineAt(s: string, p: number, end: number, delim: string): { next: number; close: boolean } | null {
  if (p >= end || !s.startsWith(delim, p)) return null;
  let i = p + delim.length;
  const close = i + 1 < end && s[i] === '-' && s[i + 1] === '-';
  if (close) i += 2;
  while (i < end && (s[i] === ' ' || s[i] === '\t')) i++;
  if (i >= end) return { next: end, close };
  if (s[i] === '\n') return { next: i + 1, close };
  if (s[i] === '\r') return { next: i + 1 < end && s[i + 1] === '\n' ? i + 2 : i + 1, close };
  return null;
}
