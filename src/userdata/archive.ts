// #cloud-config-archive: a YAML list whose entries become parts, as
// cloud-init explodes it. An entry is a string (its content) or a mapping with
// content, type (else sniffed from the content, default text/cloud-config, or
// application/octet-stream for !!binary), filename, launch-index, and any
// other key kept as a header of the part (Merge-Type, …).
import { asText, utf8 } from '../bytes.ts';
import { sniffType, canonicalType } from './sniff.ts';
import { isMapping as isDict, parseYaml } from '../yaml/index.ts';

export interface ArchiveEntry {
  type: string;
  filename: string | null;
  body: Uint8Array;
  /** Header name (lower case) → value, in entry order; launch-index included when given. */
  headers: Array<[string, string]>;
}

const SKIPPED_KEYS = new Set(['content', 'filename', 'type', 'launch-index', 'content-disposition', 'number-attachments', 'content-type']);

/** The parts of an archive; `warn` hears about entries that cannot be used. */
export async function explodeArchive(payload: Uint8Array, warn: (message: string) => void): Promise<ArchiveEntry[]> {
  let doc: unknown;
  try {
    doc = parseYaml(asText(payload));
  } catch (e) {
    warn(`cloud-config-archive is not valid YAML: ${firstLine((e as Error).message)}`);
    return [];
  }
  if (doc instanceof Set) doc = [...doc];
  if (!Array.isArray(doc)) {
    if (doc !== null) warn('cloud-config-archive is not a YAML list: ignored');
    return [];
  }
  const out: ArchiveEntry[] = [];
  doc.forEach((raw: unknown, i: number) => {
    const ent: Record<string, unknown> | null = typeof raw === 'string' ? { content: raw } : isDict(raw) ? raw : null;
    if (ent === null) { warn(`cloud-config-archive entry ${i + 1} is neither text nor a mapping: skipped`); return; }
    const content = ent['content'] ?? '';
    let body: Uint8Array;
    if (typeof content === 'string') body = utf8(content);
    else if (content instanceof Uint8Array) body = content.slice();
    else if (typeof content === 'number' || typeof content === 'boolean') body = utf8(pyStr(content));
    else { warn(`cloud-config-archive entry ${i + 1}: content is not text: skipped`); return; }
    const declared = ent['type'];
    let type: string;
    if (declared !== undefined && declared !== null && declared !== '' && declared !== false && declared !== 0) {
      type = canonicalType(pyStr(declared));
    } else {
      type = sniffType(body) ?? (content instanceof Uint8Array ? 'application/octet-stream' : 'text/cloud-config');
    }
    const headers: Array<[string, string]> = [];
    if (Object.hasOwn(ent, 'launch-index')) headers.push(['launch-index', pyStr(ent['launch-index'])]);
    for (const [k, v] of Object.entries(ent)) {
      if (SKIPPED_KEYS.has(k.toLowerCase())) continue;
      headers.push([k.toLowerCase(), pyStr(v)]);
    }
    const filename = Object.hasOwn(ent, 'filename') ? pyStr(ent['filename']) : null;
    out.push({ type, filename, body, headers });
  });
  return out;
}

/** Python's str() of a YAML scalar. */
export function pyStr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v) ?? String(v);
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i);
}
