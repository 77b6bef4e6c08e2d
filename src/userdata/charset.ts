// Text in the charsets MIME user-data declares, decoded the way Python's
// codecs decode it (strictly: a byte the charset does not have fails, and the
// caller keeps the raw bytes). The shipped runtime has no TextDecoder; these
// are the charsets user-data is written in. Any other charset is "unknown"
// (null), as an unknown codec name is in Python.
import { isUtf8, latin1Decode, utf8Decode } from '../host/codecs.ts';

// Windows-1252's 0x80–0x9f (undefined bytes as 0: a decoding error, as in Python's cp1252).
const CP1252 = [
  0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
  0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
];
// Where ISO-8859-15 differs from ISO-8859-1.
const LATIN9: Record<number, number> = { 0xa4: 0x20ac, 0xa6: 0x0160, 0xa8: 0x0161, 0xb4: 0x017d, 0xb8: 0x017e, 0xbc: 0x0152, 0xbd: 0x0153, 0xbe: 0x0178 };

function byTable(bytes: Uint8Array, map: (b: number) => number): string | null {
  let out = '';
  for (const b of bytes) {
    const c = map(b);
    if (c === 0 && b !== 0) return null;
    out += String.fromCharCode(c);
  }
  return out;
}

function utf16(bytes: Uint8Array, bigEndian: boolean): string | null {
  if (bytes.length % 2 !== 0) return null;
  let out = '';
  for (let i = 0; i < bytes.length; i += 2) out += String.fromCharCode(bigEndian ? (bytes[i]! << 8) | bytes[i + 1]! : bytes[i]! | (bytes[i + 1]! << 8));
  return out;
}

/** `bytes` as text in `charset`, or null when the charset is unknown or the bytes are not valid in it. */
export function decodeCharset(bytes: Uint8Array, charset: string): string | null {
  const name = charset.trim().toLowerCase().replace(/_/g, '-');
  switch (name) {
    case 'utf-8': case 'utf8': case 'unicode-1-1-utf-8':
      return isUtf8(bytes) ? utf8Decode(bytes) : null;
    case 'us-ascii': case 'ascii': case 'ansi-x3.4-1968': case 'iso646-us':
      return bytes.every((b) => b < 0x80) ? latin1Decode(bytes) : null;
    case 'iso-8859-1': case 'iso8859-1': case 'latin1': case 'latin-1': case 'l1': case 'iso-ir-100':
      return latin1Decode(bytes);
    case 'windows-1252': case 'cp1252':
      return byTable(bytes, (b) => (b >= 0x80 && b < 0xa0 ? CP1252[b - 0x80]! : b));
    case 'iso-8859-15': case 'iso8859-15': case 'latin-9': case 'latin9':
      return byTable(bytes, (b) => LATIN9[b] ?? b);
    case 'utf-16': {
      if (bytes[0] === 0xfe && bytes[1] === 0xff) return utf16(bytes.subarray(2), true);
      if (bytes[0] === 0xff && bytes[1] === 0xfe) return utf16(bytes.subarray(2), false);
      return utf16(bytes, false);
    }
    case 'utf-16le': return utf16(bytes, false);
    case 'utf-16be': return utf16(bytes, true);
    default: return null;
  }
}
