// YAML 1.1 scalars as PyYAML's SafeLoader reads them: which tag a plain
// scalar gets (its implicit resolvers: yes/no/on/off are booleans, 0644 is
// octal, 1:30 is sexagesimal, 1e5 is a string but 1.0e+5 a float), and the
// value each scalar tag builds. The regular expressions describe exactly the
// languages PyYAML's resolvers accept; the value rules follow its
// constructors, including Python's int()/float() leniency for explicit tags
// (!!int ' 12' is 12) and its errors (!!int x, !!bool maybe, 2001-02-30).
export const TAG = {
  null: 'tag:yaml.org,2002:null',
  bool: 'tag:yaml.org,2002:bool',
  int: 'tag:yaml.org,2002:int',
  float: 'tag:yaml.org,2002:float',
  binary: 'tag:yaml.org,2002:binary',
  timestamp: 'tag:yaml.org,2002:timestamp',
  str: 'tag:yaml.org,2002:str',
  merge: 'tag:yaml.org,2002:merge',
  value: 'tag:yaml.org,2002:value',
  seq: 'tag:yaml.org,2002:seq',
  map: 'tag:yaml.org,2002:map',
  set: 'tag:yaml.org,2002:set',
  omap: 'tag:yaml.org,2002:omap',
  pairs: 'tag:yaml.org,2002:pairs',
} as const;

const BOOL = new Set(['yes', 'Yes', 'YES', 'no', 'No', 'NO', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE', 'on', 'On', 'ON', 'off', 'Off', 'OFF']);
const NULL = new Set(['~', 'null', 'Null', 'NULL', '']);
const INT = /^(?:[-+]?0b[01_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const FLOAT = /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const TIMESTAMP = /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/;

/**
 * The tag of an untagged plain scalar (or one tagged '!'). PyYAML picks the
 * candidate resolvers by the first character, then tries them in order.
 */
export function resolveImplicit(value: string): string {
  if (value.length === 0) return TAG.null;
  const c = value.charCodeAt(0);
  // Most scalars start with a letter no resolver wants: decided without looking further.
  if (c >= 97 && c <= 122 ? !LOWER_CANDIDATES[c - 97] : c >= 65 && c <= 90 ? !LOWER_CANDIDATES[c - 65] : c > 126) return TAG.str;
  // Python's `$` also matches before one final newline (only reachable with `! "…\n"`).
  const v = value.charCodeAt(value.length - 1) === 10 ? value.slice(0, -1) : value;
  switch (c) {
    case 121: case 89: case 116: case 84: case 102: case 70: case 111: case 79: // y Y t T f F o O
      return BOOL.has(v) ? TAG.bool : TAG.str;
    case 110: case 78: // n N
      return BOOL.has(v) ? TAG.bool : NULL.has(v) ? TAG.null : TAG.str;
    case 126: return NULL.has(v) ? TAG.null : TAG.str; // ~
    case 60: return v === '<<' ? TAG.merge : TAG.str;
    case 61: return v === '=' ? TAG.value : TAG.str;
    case 46: return FLOAT.test(v) ? TAG.float : TAG.str; // .
    case 45: case 43: // - +
      return FLOAT.test(v) ? TAG.float : INT.test(v) ? TAG.int : TAG.str;
    default:
      if (c < 48 || c > 57) return TAG.str;
      if (isDecimal(v)) return TAG.int; // the common case, without a regular expression
      return FLOAT.test(v) ? TAG.float : INT.test(v) ? TAG.int : TIMESTAMP.test(v) ? TAG.timestamp : TAG.str;
  }
}

/** Letters a..z (either case) that start a boolean or null: f n o t y. */
const LOWER_CANDIDATES: readonly boolean[] = Array.from('abcdefghijklmnopqrstuvwxyz', (ch) => 'fnoty'.includes(ch));

/** Digits without a leading zero (or just "0"), short enough to be exact in a double. */
function isDecimal(v: string): boolean {
  const n = v.length;
  if (n > 15 || (n > 1 && v.charCodeAt(0) === 48)) return false;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return n > 0;
}

/** Thrown for a scalar its tag cannot read; the constructor adds the position. */
export class ScalarError extends Error {}

const BOOL_VALUES: ReadonlyMap<string, boolean> = new Map([
  ['yes', true], ['no', false], ['true', true], ['false', false], ['on', true], ['off', false],
]);

export function constructBool(value: string): boolean {
  const b = BOOL_VALUES.get(value.toLowerCase());
  if (b === undefined) throw new ScalarError(`cannot read ${JSON.stringify(value)} as a boolean (!!bool)`);
  return b;
}

// Python's str.strip() whitespace, which int() and float() ignore around a number.
const PY_SPACE = /^[\s\x1c-\x1f\x85]+|[\s\x1c-\x1f\x85]+$/g;
const DIGITS: Readonly<Record<number, RegExp>> = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ };
const PREFIX: Readonly<Record<number, string>> = { 2: '0b', 8: '0o', 16: '0x' };

/** Python's int(text, base) (after PyYAML removed the underscores), as a BigInt; null where Python raises. */
function pyInt(text: string, base: 2 | 8 | 10 | 16): bigint | null {
  let s = text.replace(PY_SPACE, '');
  let negative = false;
  if (s[0] === '+' || s[0] === '-') {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (base !== 10 && s.slice(0, 2).toLowerCase() === PREFIX[base]) s = s.slice(2);
  if (!DIGITS[base]!.test(s)) return null;
  const n = BigInt(base === 10 ? s : PREFIX[base] + s);
  return negative ? -n : n;
}

function toNumber(n: bigint): number {
  const x = Number(n);
  return x === 0 ? 0 : x; // an int is never -0
}

/** PyYAML's int: signs, 0b binary, 0x hex, 0-prefixed octal, base-60 (1:30), underscores anywhere. */
export function constructInt(value: string): number {
  if (isDecimal(value)) return Number(value); // the usual case, exact in a double
  return toNumber(exactInt(value));
}

/** The exact integer PyYAML's int builds (Python ints have no size limit; a JS number rounds past 2^53). */
export function exactInt(value: string): bigint {
  const bad = () => new ScalarError(`cannot read ${JSON.stringify(value)} as an integer (!!int)`);
  let v = value.replace(/_/g, '');
  if (v === '') throw bad();
  const sign = v[0] === '-' ? -1n : 1n;
  if (v[0] === '+' || v[0] === '-') v = v.slice(1);
  if (v === '0') return 0n;
  let n: bigint | null;
  if (v.startsWith('0b')) n = pyInt(v.slice(2), 2);
  else if (v.startsWith('0x')) n = pyInt(v.slice(2), 16);
  else if (v[0] === '0') n = pyInt(v, 8);
  else if (v.includes(':')) {
    n = 0n;
    let base = 1n;
    for (const part of v.split(':').reverse()) {
      const digit = pyInt(part, 10);
      if (digit === null) throw bad();
      n += digit * base;
      base *= 60n;
    }
  } else if (v === '') {
    n = null; // a lone sign: Python fails on value[0]
  } else {
    n = pyInt(v, 10);
  }
  if (n === null) throw bad();
  return sign * n;
}

const PY_FLOAT = /^[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?|inf|infinity|nan)$/;

/** Python's float(text) on lower-case text; null where Python raises. */
function pyFloat(text: string): number | null {
  const s = text.replace(PY_SPACE, '');
  if (!PY_FLOAT.test(s)) return null;
  const unsigned = s.replace(/^[+-]/, '');
  if (unsigned === 'inf' || unsigned === 'infinity') return s[0] === '-' ? -Infinity : Infinity;
  if (unsigned === 'nan') return NaN;
  return Number(s);
}

/** PyYAML's float: .inf, .nan, base-60 (1:30.5), underscores, exponents. */
export function constructFloat(value: string): number {
  const bad = () => new ScalarError(`cannot read ${JSON.stringify(value)} as a number (!!float)`);
  let v = value.replace(/_/g, '').toLowerCase();
  if (v === '') throw bad();
  const sign = v[0] === '-' ? -1 : 1;
  if (v[0] === '+' || v[0] === '-') v = v.slice(1);
  if (v === '.inf') return sign * Infinity;
  if (v === '.nan') return NaN;
  if (v.includes(':')) {
    let sum = 0;
    let base = 1;
    for (const part of v.split(':').reverse()) {
      const digit = pyFloat(part);
      if (digit === null) throw bad();
      sum += digit * base;
      base *= 60;
    }
    return sign * sum;
  }
  const x = pyFloat(v);
  if (x === null) throw bad();
  return sign * x;
}

const B64 = new Int16Array(128).fill(-1);
for (const [i, ch] of Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/').entries()) B64[ch.charCodeAt(0)] = i;

/**
 * !!binary: base64 as Python's base64.decodebytes reads it — characters
 * outside the alphabet (line breaks, spaces) are skipped, '=' ends the data
 * once the group is complete, and a group cut short is an error.
 */
export function constructBinary(value: string): Uint8Array {
  // Python encodes the text to ASCII before decoding anything.
  const nonAscii = /[^\x00-\x7f]/u.exec(value);
  if (nonAscii) {
    const c = nonAscii[0].codePointAt(0)!;
    const hex = c < 0x100 ? `\\x${c.toString(16).padStart(2, '0')}` : c < 0x10000 ? `\\u${c.toString(16).padStart(4, '0')}` : `\\U${c.toString(16).padStart(8, '0')}`;
    const position = Array.from(value.slice(0, nonAscii.index)).length;
    throw new ScalarError(`failed to convert base64 data into ascii: 'ascii' codec can't encode character '${hex}' in position ${position}: ordinal not in range(128)`);
  }
  const out = new Uint8Array(Math.floor((value.length * 3) / 4) + 3);
  let n = 0;
  let quad = 0; // characters of the current group of four seen
  let left = 0; // bits carried to the next byte
  let pads = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 61) { // '='
      if (quad >= 2 && quad + ++pads >= 4) return out.slice(0, n);
      continue;
    }
    const d = B64[c]!;
    if (d < 0) continue;
    pads = 0;
    switch (quad) {
      case 0: left = d; quad = 1; break;
      case 1: out[n++] = (left << 2) | (d >> 4); left = d & 0x0f; quad = 2; break;
      case 2: out[n++] = (left << 4) | (d >> 2); left = d & 0x03; quad = 3; break;
      default: out[n++] = (left << 6) | d; quad = 0;
    }
  }
  if (quad !== 0) {
    throw new ScalarError(quad === 1
      ? `failed to decode base64 data: Invalid base64-encoded string: number of data characters (${Math.floor(n / 3) * 4 + 1}) cannot be 1 more than a multiple of 4`
      : 'failed to decode base64 data: Incorrect padding');
  }
  return out.slice(0, n);
}

const TIMESTAMP_PARTS = /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9]{1,2})(?::([0-9]{2}))?))?)?$/;

export interface TimestampParts {
  year: number; month: number; day: number;
  /** Absent for a date. */
  time?: { hour: number; minute: number; second: number; microsecond: number; offsetMinutes: number | null };
}

/**
 * The fields of a YAML timestamp, checked the way Python's date and datetime
 * check them (2001-02-30 and 25:00:00 are errors there, so they are here).
 */
export function timestampParts(value: string): TimestampParts {
  const m = TIMESTAMP_PARTS.exec(value.endsWith('\n') ? value.slice(0, -1) : value);
  if (!m) throw new ScalarError(`cannot read ${JSON.stringify(value)} as a timestamp (!!timestamp)`);
  const bad = (what: string) => new ScalarError(`invalid timestamp ${JSON.stringify(value)}: ${what}`);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (year < 1) throw bad('year 0 is out of range');
  if (month < 1 || month > 12) throw bad('month must be in 1..12');
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  if (day < 1 || day > days) throw bad('day is out of range for month');
  if (m[4] === undefined) return { year, month, day };
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (hour > 23) throw bad('hour must be in 0..23');
  if (minute > 59) throw bad('minute must be in 0..59');
  if (second > 59) throw bad('second must be in 0..59');
  const microsecond = m[7] ? Number(m[7].slice(0, 6).padEnd(6, '0')) : 0;
  let offsetMinutes: number | null = null;
  if (m[9] !== undefined) {
    offsetMinutes = (Number(m[10]) * 60 + Number(m[11] ?? 0)) * (m[9] === '-' ? -1 : 1);
    if (Math.abs(offsetMinutes) >= 24 * 60) throw bad('the UTC offset must be less than 24 hours');
  } else if (m[8] === 'Z') {
    offsetMinutes = 0;
  }
  return { year, month, day, time: { hour, minute, second, microsecond, offsetMinutes } };
}
