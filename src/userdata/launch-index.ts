// Launch-Index: which instances of a multi-instance launch a part is for.
// As cloud-init: a part's Launch-Index header wins; a text/cloud-config part
// without one takes its `launch-index` key (when it is an integer). When the
// instance's ami-launch-index is known, a part whose index is set and is not
// that integer (a non-integer index never matches) is dropped; parts without
// an index are kept for every instance.
import { asText } from '../bytes.ts';
import { isMapping as isDict, parseYaml } from '../yaml/index.ts';

/** Python's int() of a header or YAML value, or null (cloud-init's safe_int). */
export function pyInt(v: unknown): number | null {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : null;
  if (typeof v === 'string') {
    const s = v.trim();
    if (!/^[+-]?\d+(?:_\d+)*$/.test(s)) return null;
    const n = Number(s.replaceAll('_', ''));
    return Number.isSafeInteger(n) ? n : null;
  }
  return null;
}

/**
 * The Launch-Index a part ends up with: `header` when present, else the
 * payload's `launch-index` key for text/cloud-config parts; null when none.
 */
export async function effectiveLaunchIndex(type: string, body: Uint8Array, header: string | undefined): Promise<string | null> {
  if (header !== undefined) return header;
  if (type !== 'text/cloud-config') return null;
  const text = asText(body);
  // Cheap test first: the key can only be there if its text (or an escape) is.
  // (includes(), not a regular expression: a native scan, which matters for a 16 MiB part.)
  if (!text.includes('launch') && !text.includes('\\x') && !text.includes('\\u') && !text.includes('\\U')) return null;
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    return null;
  }
  if (!isDict(doc) || !Object.hasOwn(doc, 'launch-index')) return null;
  const n = pyInt(doc['launch-index']);
  return n === null ? null : String(n);
}

/** Whether a part with this Launch-Index is for the instance with index `wanted`. */
export function launchIndexMatches(partIndex: string | null | undefined, wanted: number | null | undefined): boolean {
  if (wanted === null || wanted === undefined) return true;
  if (partIndex === null || partIndex === undefined) return true;
  return pyInt(partIndex) === wanted;
}
