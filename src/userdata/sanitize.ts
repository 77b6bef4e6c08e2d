// File names from MIME headers and archives are never trusted as paths:
// separators, NUL and control characters become '_', '.' and '..' are refused,
// and the name is cut to 255 UTF-8 bytes. A refused name means the part gets
// its positional name (part-001, …) instead.
import { asText, utf8 } from '../bytes.ts';

const MAX_BYTES = 255;

/** A name safe to use as one path component, or null when nothing usable is left. */
export function sanitizeFilename(name: string | null | undefined): string | null {
  if (name === null || name === undefined) return null;
  // eslint-disable-next-line no-control-regex
  let out = name.replace(/[\x00-\x1f\x7f\u0080-\u009f/\\\u2028\u2029]/g, '_').trim();
  if (out === '' || /^\.+$/.test(out)) return null;
  if (utf8(out).length > MAX_BYTES) {
    // Cut at a byte limit, then drop a character split by the cut.
    out = asText(utf8(out).subarray(0, MAX_BYTES)).replace(/\uFFFD+$/, '');
  }
  return out === '' ? null : out;
}

/** cloud-init's positional name for the n-th part (1-based): part-001. */
export function partName(n: number): string {
  return `part-${String(n).padStart(3, '0')}`;
}
