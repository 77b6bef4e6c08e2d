// Bounded gunzip: gzip is recognized by its magic bytes and inflated with
// zlib (through sys), which stops as soon as the output would pass the limit
// (a gzip bomb costs at most `limit` bytes of memory, never its full size).
import { gunzip } from '../host/codecs.ts';

/** True when `buf` starts with the gzip magic (1f 8b). */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** Thrown when the inflated data would be larger than the limit. */
export class GzipLimitError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`gzip data inflates to more than ${limit} bytes`);
    this.name = 'GzipLimitError';
    this.limit = limit;
  }
}

/**
 * Inflate gzip data (all members) to at most `limit` bytes.
 * Throws GzipLimitError past the limit, and Error for corrupt or truncated data.
 */
export function gunzipBounded(buf: Uint8Array, limit: number): Uint8Array {
  if (limit < 0) limit = 0;
  let out: Uint8Array;
  try {
    out = gunzip(buf, Math.min(limit, 2 ** 32));
  } catch (e) {
    if ((e as { code?: string }).code === 'E2BIG') throw new GzipLimitError(limit);
    throw new Error(`gzip data could not be decompressed: ${(e as Error).message}`);
  }
  if (out.length > limit) throw new GzipLimitError(limit);
  return out;
}
