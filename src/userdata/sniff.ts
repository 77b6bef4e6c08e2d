// Content types of user-data parts, as cloud-init names them.
// sniffType: the type a payload's first line announces (cloud-init's
// handlers.type_from_starts_with: UTF-8 text, lower-cased, leading whitespace
// dropped, longest prefix wins; not UTF-8 or no match → null).
// canonicalType: a declared MIME type, lower-cased, aliases resolved, and
// Python's email rule that a value without exactly one '/' means text/plain.
import { asText } from '../bytes.ts';
import { isUtf8 } from '../host/codecs.ts';

const PREFIXES: ReadonlyArray<readonly [string, string]> = ([
  ['#include', 'text/x-include-url'],
  ['#include-once', 'text/x-include-once-url'],
  ['#!', 'text/x-shellscript'],
  ['#cloud-config', 'text/cloud-config'],
  ['#upstart-job', 'text/upstart-job'],
  ['#part-handler', 'text/part-handler'],
  ['#cloud-boothook', 'text/cloud-boothook'],
  ['#cloud-config-archive', 'text/cloud-config-archive'],
  ['#cloud-config-jsonp', 'text/cloud-config-jsonp'],
  ['## template: jinja', 'text/jinja2'],
  // cloud-init lists these MIME-only types in the same table.
  ['text/x-shellscript-per-boot', 'text/x-shellscript-per-boot'],
  ['text/x-shellscript-per-instance', 'text/x-shellscript-per-instance'],
  ['text/x-shellscript-per-once', 'text/x-shellscript-per-once'],
] as Array<[string, string]>).sort((a, b) => b[0].length - a[0].length);

/** Types whose payload decides the real type (cloud-init's TYPE_NEEDED plus x-shellscript). */
export const SNIFFED_TYPES: ReadonlySet<string> = new Set(['text/plain', 'text/x-not-multipart', 'text/x-shellscript']);

/** The type of a document that is not MIME and announces nothing. */
export const NOT_MULTIPART_TYPE = 'text/x-not-multipart';

// Python's str.isspace() characters that JavaScript's trimStart() leaves, and a run of any of Python's.
const PY_ONLY_SPACE = /^[\x1c-\x1f\x85]$/;
const PY_SPACE_RUN = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*/y;

/** The type cloud-init gives a payload by its first bytes, or null. */
export function sniffType(body: Uint8Array): string | null {
  if (!isUtf8(body)) return null;
  // Only the start matters: the first 64 characters after Python's lstrip()
  // (decoded whole only when it starts with whitespace, or with a non-ASCII byte that may be some).
  const first = body[0] ?? 0;
  const text = first > 0x20 && first < 0x80 ? asText(body.subarray(0, 64)) : asText(body);
  const start = firstNonSpace(text);
  const head = text.slice(start, start + 64).toLowerCase();
  for (const [prefix, type] of PREFIXES) if (head.startsWith(prefix)) return type;
  if (head.startsWith('{') || head.startsWith(SYSTEMD_USERDATA)) {
    // `text` holds only the first 64 characters when the first byte is not whitespace (start is 0 then).
    const whole = first > 0x20 && first < 0x80 ? asText(body) : text;
    if (isSystemdUserData(whole.slice(start))) return 'text/cloud-config';
  }
  return null;
}

/** systemd-imds's own marker line for its JSON user-data. */
const SYSTEMD_USERDATA = '#systemd-userdata\n';

/**
 * A user-data that systemd-imds (systemd ≥ 261) reads: a JSON object, bare
 * or after its `#systemd-userdata` line, with its `systemd.credentials` key.
 * ec2-init reads it as cloud-config (YAML reads JSON, and the marker is a
 * comment), so one user-data carries both the credentials systemd imports
 * and the cloud-config ec2-init applies; `systemd.credentials` is a key the
 * schema knows (nothing for ec2-init to do). cloud-init ignores such a
 * user-data as an unknown type.
 */
function isSystemdUserData(text: string): boolean {
  if (text.startsWith(SYSTEMD_USERDATA)) text = text.slice(SYSTEMD_USERDATA.length);
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.hasOwn(v, 'systemd.credentials');
  } catch { return false; }
}

/**
 * Where Python's str.lstrip() would stop. The whitespace JavaScript and
 * Python share is skipped natively (trimStart: 15 MiB of newlines, taken a
 * byte at a time, was 1.7 s). Where they differ: JavaScript strips a BOM,
 * Python keeps it (the scan stops there); Python strips \x1c-\x1f and \x85,
 * JavaScript does not (a regular expression goes on from there).
 */
function firstNonSpace(text: string): number {
  let p = text.length - text.trimStart().length;
  if (p > 0 && text.lastIndexOf('\ufeff', p - 1) >= 0) return text.indexOf('\ufeff');
  if (p < text.length && PY_ONLY_SPACE.test(text[p]!)) {
    PY_SPACE_RUN.lastIndex = p;
    PY_SPACE_RUN.test(text);
    p = PY_SPACE_RUN.lastIndex;
  }
  return p;
}

const PY_SPACE_CHAR = /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/;

/** Python's str.strip(). */
export function pyStrip(s: string): string {
  let a = 0;
  let z = s.length;
  while (a < z && PY_SPACE_CHAR.test(s[a]!)) a++;
  while (z > a && PY_SPACE_CHAR.test(s[z - 1]!)) z--;
  return s.slice(a, z);
}

const ALIASES: Readonly<Record<string, string>> = {
  'ubuntu-ec2-config': 'text/cloud-config',
  'text/ubuntu-ec2-config': 'text/cloud-config',
  'text/x-upstart': 'text/upstart-job',
};

/**
 * A Content-Type header value (parameters allowed) as the type cloud-init
 * sees: lower case, without parameters, aliases resolved; `fallback` when the
 * value is absent, and text/plain when it is not 'main/sub' (Python's email).
 */
export function canonicalType(value: string | undefined, fallback = 'text/plain'): string {
  if (value === undefined) return fallback;
  const semi = value.indexOf(';');
  const bare = pyStrip(semi < 0 ? value : value.slice(0, semi)).toLowerCase();
  const alias = ALIASES[bare];
  if (alias !== undefined) return alias;
  let slashes = 0;
  for (const ch of bare) if (ch === '/') slashes++;
  return slashes === 1 ? bare : 'text/plain';
}
