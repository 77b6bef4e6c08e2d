// Raw user-data bytes → an ordered list of typed parts.
// This first version handles a single document, gzipped or not; MIME
// multipart, #include and archives are added in issue 3.
import { gunzipSync } from 'node:zlib';
import type { Diag, Part } from '../types.ts';
import { sniffType } from './sniff.ts';

export interface Expanded {
  parts: Part[];
  /** The expanded user-data as text (saved as user-data.txt). */
  expanded: Buffer;
  diags: Diag[];
}

const MAX_SIZE = 16 * 1024 * 1024;

export async function expandUserData(raw: Buffer): Promise<Expanded> {
  const diags: Diag[] = [];
  let body = raw;
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      body = gunzipSync(raw, { maxOutputLength: MAX_SIZE });
    } catch (e) {
      diags.push({ level: 'error', where: 'user-data', message: `gzip data could not be decompressed: ${(e as Error).message}` });
      return { parts: [], expanded: Buffer.alloc(0), diags };
    }
  }
  if (body.length === 0) return { parts: [], expanded: body, diags };
  const part: Part = { type: sniffType(body), filename: 'part-001', body, headers: {} };
  return { parts: [part], expanded: body, diags };
}
