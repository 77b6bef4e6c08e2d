// Bytes are Uint8Array everywhere in ec2-init; these are the conversions and
// the few operations it needs, with the codecs done by the host (C in the
// shipped executable: a JavaScript base64 or UTF-8 over MiB of user-data
// would cost seconds there).
import { base64Decode, base64Encode, latin1Decode, latin1Encode, utf8Decode, utf8Encode } from './host/codecs.ts';

export type Bytes = Uint8Array;

export const EMPTY: Bytes = new Uint8Array(0);

/** Text as UTF-8 bytes. */
export function utf8(text: string): Bytes { return utf8Encode(text); }

/** UTF-8 bytes as text (invalid sequences become U+FFFD, as Python's errors='replace'). */
export function asText(b: Bytes): string { return utf8Decode(b); }

/** Each byte as the character of that code (0–255): bytes carried through string code. */
export function latin1(b: Bytes): string { return latin1Decode(b); }

/** Characters 0–255 as those bytes (higher ones are cut to their low byte, as Node's 'latin1' does). */
export function fromLatin1(s: string): Bytes { return latin1Encode(s); }

export function base64(b: Bytes): string { return base64Encode(b); }

/**
 * Base64 to bytes, as leniently as Python's b64decode and Node read it:
 * whitespace and characters outside the alphabet are skipped, the URL-safe
 * '-' and '_' are read as '+' and '/', missing padding is no error.
 */
export function fromBase64(s: string): Bytes {
  let clean = s.replace(/-/g, '+').replace(/_/g, '/').replace(/[^A-Za-z0-9+/]/g, '');
  if (clean.length % 4 === 1) clean = clean.slice(0, -1); // a lone last character holds no whole byte
  return base64Decode(clean + '='.repeat((4 - (clean.length % 4)) % 4));
}

/**
 * Base64 as Python's b64decode reads it (cloud-init's sources do): the padding
 * required; characters outside the alphabet skipped, or with `validate`
 * (validate=True) refused. null when it is not base64.
 */
export function pythonBase64(s: string, validate = false): Bytes | null {
  if (validate && (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s))) return null;
  const clean = s.replace(/[^A-Za-z0-9+/=]/g, '');
  const pad = /=*$/.exec(clean)![0].length;
  const data = clean.slice(0, clean.length - pad);
  if (data.includes('=')) return null;
  const rest = data.length % 4;
  if (rest === 1 || (rest === 2 && pad < 2) || (rest === 3 && pad < 1)) return null;
  return base64Decode(data + '='.repeat((4 - rest) % 4));
}

/**
 * A config value as file content, as cloud-init's util.write_file takes it:
 * bytes (YAML !!binary) as they are, text as UTF-8.
 */
export function fileContent(value: unknown): Bytes {
  return value instanceof Uint8Array ? value : utf8Encode(String(value));
}

export function hex(b: Bytes): string {
  let out = '';
  for (const x of b) out += x.toString(16).padStart(2, '0');
  return out;
}

export function concat(parts: readonly Bytes[]): Bytes {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

export function equal(a: Bytes, b: Bytes): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `b` starts with the bytes of `prefix`. */
export function startsWith(b: Bytes, prefix: Bytes): boolean {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}

/** Little-endian unsigned integers at `off` (the on-disk formats of ISO 9660 and FAT). */
export function u16le(b: Bytes, off: number): number {
  if (off < 0 || off + 2 > b.length) throw new RangeError(`read of 2 bytes at ${off} past the end (${b.length})`);
  return b[off]! | (b[off + 1]! << 8);
}

export function u32le(b: Bytes, off: number): number {
  if (off < 0 || off + 4 > b.length) throw new RangeError(`read of 4 bytes at ${off} past the end (${b.length})`);
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16)) + b[off + 3]! * 0x1000000;
}

/** UTF-16 code units (little-endian by default) to text; an odd last byte is left out. */
export function utf16(b: Bytes, bigEndian = false): string {
  let out = '';
  const units: number[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) {
    units.push(bigEndian ? (b[i]! << 8) | b[i + 1]! : b[i]! | (b[i + 1]! << 8));
    if (units.length === 4096) { out += String.fromCharCode(...units); units.length = 0; }
  }
  return out + String.fromCharCode(...units);
}
