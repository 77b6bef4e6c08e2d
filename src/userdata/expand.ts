// Raw user-data bytes → the ordered list of typed parts, as cloud-init's
// UserDataProcessor builds it: gzip undone (by magic, bounded), MIME read when
// the first 4 KiB say MIME-Version (the MIME reader is loaded only then),
// text/plain, text/x-not-multipart and text/x-shellscript typed by their first
// line, gzip parts inflated, #include / #include-once fetched and expanded in
// place (depth, loop, size and count limits; a failing URL is a Diag and the
// rest goes on), #cloud-config-archive exploded, parts named part-001, … when
// they have no (safe) file name, Launch-Index worked out and filtered.
import { EMPTY, latin1, asText } from '../bytes.ts';
import { SOURCE_BUDGET } from '../sources/budget.ts';
import type { Files } from '../host/files.ts';
import type { Diag, Part } from '../types.ts';
import { isGzip, gunzipBounded, GzipLimitError } from './gzip.ts';
import { sniffType, SNIFFED_TYPES, NOT_MULTIPART_TYPE } from './sniff.ts';
import { parseIncludeList, fetchUrl } from './include.ts';
import { explodeArchive } from './archive.ts';
import { effectiveLaunchIndex, launchIndexMatches } from './launch-index.ts';
import { sanitizeFilename, partName } from './sanitize.ts';
import { buildMime } from './make-mime.ts';
import type { MimeLeaf } from './mime.ts';

export interface ExpandOptions {
  /** The instance's ami-launch-index; parts for other indexes are dropped. */
  launchIndex?: number;
  /** Where #include-once bodies are kept (0600 on disk: the caller's job). */
  includeCache?: { get(url: string): Uint8Array | null; put(url: string, body: Uint8Array): void };
  /** Total bytes of all documents after decompression, included ones too (default the source budget, sources/budget.ts). */
  maxBytes?: number;
  /** Deepest include nesting (default 10). */
  maxIncludeDepth?: number;
  /** Most URLs fetched or read in one expansion (default 100). */
  maxIncludes?: number;
  /** Per-attempt timeout of an include fetch, ms (default 5000). */
  fetchTimeoutMs?: number;
  /** Retries of an include fetch (default 3), with backoff starting at fetchBackoffMs (default 500). */
  fetchRetries?: number;
  fetchBackoffMs?: number;
  /** file:// includes are read from these files (a root; default this machine's /). */
  files?: Files;
  /** Told of what is worth a line in the log (a redirect followed). */
  note?: (message: string) => void;
  /**
   * Told of each include URL before it is fetched (cached: the body of an
   * #include-once kept from an earlier boot is used); returning false leaves
   * it unfetched, with nothing in its place (`plan` lists it so).
   */
  onInclude?: (include: { url: string; once: boolean; where: string; cached: boolean }) => boolean;
  /** Replaces the built-in fetcher (tests, proxies); gets the byte budget left. */
  fetch?: (url: string, maxBytes: number) => Promise<Uint8Array>;
}

export interface Expanded {
  parts: Part[];
  /** The expanded user-data (saved as user-data.txt): one part as is, else MIME. */
  expanded: Uint8Array;
  diags: Diag[];
  /** Bytes of maxBytes taken: every document, once gzip was undone. */
  used: number;
}

export const DEFAULT_MAX_BYTES = SOURCE_BUDGET;
const DEFAULT_MAX_DEPTH = 10;
const DEFAULT_MAX_INCLUDES = 100;

/** cloud-init's DECOMP_TYPES: parts declared gzip. */
const GZIP_TYPES = new Set([
  'application/gzip', 'application/gzip-compressed', 'application/gzipped', 'application/x-compress',
  'application/x-compressed', 'application/x-gunzip', 'application/x-gzip', 'application/x-gzip-compressed',
]);
const INCLUDE_TYPES = new Set(['text/x-include-url', 'text/x-include-once-url']);
const ARCHIVE_TYPE = 'text/cloud-config-archive';
/** Headers that describe the MIME structure, already applied: not passed on. */
const STRUCTURAL = new Set(['content-type', 'content-disposition', 'content-transfer-encoding', 'mime-version']);

interface Pending { type: string; filename: string | null; body: Uint8Array; headers: Array<[string, string]>; where: string }

interface Ctx {
  opts: ExpandOptions;
  max: number;
  used: number;
  includes: number;
  diags: Diag[];
  out: Pending[];
  fetched: Map<string, Uint8Array>;
}

/** Decode user-data: see the file comment. Never throws for bad input: problems are Diags. */
export async function expandUserData(raw: Uint8Array, opts: ExpandOptions = {}): Promise<Expanded> {
  const ctx: Ctx = { opts, max: opts.maxBytes ?? DEFAULT_MAX_BYTES, used: 0, includes: 0, diags: [], out: [], fetched: new Map() };
  await processDocument(raw, ctx, 'user-data', 0, []);

  const parts: Part[] = [];
  for (let i = 0; i < ctx.out.length; i++) {
    const p = ctx.out[i]!;
    const positional = partName(i + 1);
    let filename = positional;
    if (p.filename !== null && p.filename.trim() !== '') {
      const safe = sanitizeFilename(p.filename);
      if (safe === null) warn(ctx, p.where, `file name ${JSON.stringify(p.filename.slice(0, 80))} is not safe: named ${positional}`);
      else {
        if (safe !== p.filename.trim()) warn(ctx, p.where, `file name ${JSON.stringify(p.filename.slice(0, 80))} sanitized to ${JSON.stringify(safe)}`);
        filename = safe;
      }
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of p.headers) if (!Object.hasOwn(headers, k) && !STRUCTURAL.has(k)) setKey(headers, k, v);
    const mergeType = nonEmpty(headers['merge-type']) ?? nonEmpty(headers['x-merge-type']);
    if (mergeType !== undefined) headers['merge-type'] = mergeType;
    const li = await effectiveLaunchIndex(p.type, p.body, headers['launch-index']);
    if (li !== null) headers['launch-index'] = li;
    if (!launchIndexMatches(li, opts.launchIndex)) continue;
    parts.push({ type: p.type, filename, body: p.body, headers });
  }
  return { parts, expanded: serialize(parts), diags: ctx.diags, used: ctx.used };
}

/** user-data.txt: a single plain part as it is, anything else as MIME. */
function serialize(parts: Part[]): Uint8Array {
  if (parts.length === 0) return EMPTY;
  const only = parts[0]!;
  if (parts.length === 1 && /^part-\d{3,}$/.test(only.filename) && only.headers['merge-type'] === undefined
    && only.headers['launch-index'] === undefined && (sniffType(only.body) ?? NOT_MULTIPART_TYPE) === only.type) {
    return only.body;
  }
  return buildMime(parts.map((p) => {
    const headers: Record<string, string> = {};
    if (p.headers['merge-type'] !== undefined) headers['Merge-Type'] = p.headers['merge-type'];
    if (p.headers['launch-index'] !== undefined) headers['Launch-Index'] = p.headers['launch-index'];
    return { content: p.body, type: validType(p.type), filename: p.filename, headers };
  }));
}

function validType(t: string): string {
  return /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/.test(t) ? t : 'application/octet-stream';
}

function setKey(obj: Record<string, string>, k: string, v: string): void {
  Object.defineProperty(obj, k, { value: v, writable: true, enumerable: true, configurable: true });
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
}

function warn(ctx: Ctx, where: string, message: string): void {
  ctx.diags.push({ level: 'warning', where, message });
}
function fail(ctx: Ctx, where: string, message: string): void {
  ctx.diags.push({ level: 'error', where, message });
}

/** Count `n` more bytes against the budget; false (and a Diag) when it is spent. */
function charge(ctx: Ctx, n: number, where: string): boolean {
  if (ctx.used + n > ctx.max) {
    fail(ctx, where, `${n} more bytes go past the ${ctx.max}-byte limit (the budget for all a source gives, ${ctx.used} bytes used): this and the rest are left out`);
    return false;
  }
  ctx.used += n;
  return true;
}

/** Inflate gzip within the budget; null (and a Diag) when it cannot. */
function inflate(ctx: Ctx, data: Uint8Array, where: string): Uint8Array | null {
  try {
    return gunzipBounded(data, ctx.max - ctx.used);
  } catch (e) {
    if (e instanceof GzipLimitError) fail(ctx, where, `gzip data inflates past the ${ctx.max}-byte limit (the budget for all a source gives, ${ctx.used} bytes used): left out`);
    else fail(ctx, where, (e as Error).message);
    return null;
  }
}

/** One document: the user-data itself or an included one. */
async function processDocument(raw: Uint8Array, ctx: Ctx, where: string, depth: number, chain: string[]): Promise<void> {
  let data = raw;
  if (isGzip(data)) {
    const out = inflate(ctx, data, where);
    if (out === null) return;
    data = out;
  }
  if (!charge(ctx, data.length, where)) return;
  if (data.length === 0) return;
  let leaves: MimeLeaf[];
  let mime = false;
  if (latin1(data.subarray(0, 4096)).toLowerCase().includes('mime-version:')) {
    const { parseMime } = await import('./mime.ts');
    const parsed = parseMime(data);
    for (const w of parsed.warnings) warn(ctx, where, w);
    leaves = parsed.leaves;
    mime = true;
  } else {
    leaves = [{ type: NOT_MULTIPART_TYPE, headers: [], filename: null, body: data }];
  }
  for (let i = 0; i < leaves.length; i++) {
    const leaf = leaves[i]!;
    const label = mime ? `${where} MIME part ${i + 1}${leaf.filename ? ` (${JSON.stringify(leaf.filename.slice(0, 80))})` : ''}` : where;
    await processLeaf(leaf, label, ctx, depth, chain);
  }
}

async function processLeaf(leaf: MimeLeaf, where: string, ctx: Ctx, depth: number, chain: string[]): Promise<void> {
  let { type, body, headers } = leaf;
  if (GZIP_TYPES.has(type) || ((type === 'application/octet-stream' || type === 'text/plain') && isGzip(body))) {
    const out = inflate(ctx, body, where);
    if (out === null) return;
    if (!charge(ctx, out.length, where)) return;
    body = out;
    type = 'text/plain';
    // As cloud-init: a decompressed part keeps only its file name and Launch-Index.
    headers = headers.filter(([k]) => k === 'launch-index');
  }
  if (SNIFFED_TYPES.has(type)) type = sniffType(body) ?? type;
  if (INCLUDE_TYPES.has(type)) {
    await resolveIncludes(body, where, ctx, depth, chain);
    return;
  }
  if (type === ARCHIVE_TYPE) {
    const entries = await explodeArchive(body, (m) => warn(ctx, where, m));
    for (const e of entries) {
      if (INCLUDE_TYPES.has(e.type) || e.type === ARCHIVE_TYPE) {
        warn(ctx, where, `${e.type} entry inside a cloud-config-archive is not processed (as cloud-init): skipped`);
        continue;
      }
      ctx.out.push({ ...e, where });
    }
    return;
  }
  ctx.out.push({ type, filename: leaf.filename, body, headers, where });
}

async function resolveIncludes(body: Uint8Array, where: string, ctx: Ctx, depth: number, chain: string[]): Promise<void> {
  const maxDepth = ctx.opts.maxIncludeDepth ?? DEFAULT_MAX_DEPTH;
  const maxIncludes = ctx.opts.maxIncludes ?? DEFAULT_MAX_INCLUDES;
  for (const { url, once } of parseIncludeList(asText(body))) {
    const shown = url.length > 200 ? url.slice(0, 200) + '…' : url;
    if (depth + 1 > maxDepth) { warn(ctx, where, `#include ${shown}: deeper than ${maxDepth} levels of includes: not fetched`); continue; }
    if (chain.includes(url)) { warn(ctx, where, `#include ${shown}: include loop (${[...chain, url].join(' → ')}): not fetched again`); continue; }
    if (ctx.includes >= maxIncludes) { warn(ctx, where, `#include ${shown}: more than ${maxIncludes} includes: not fetched`); continue; }
    ctx.includes++;
    let content: Uint8Array | null = null;
    if (once && ctx.opts.includeCache) content = ctx.opts.includeCache.get(url);
    if (content === null) content = ctx.fetched.get(url) ?? null;
    if (ctx.opts.onInclude && !ctx.opts.onInclude({ url, once, where, cached: content !== null })) continue;
    if (content === null) {
      const left = Math.max(0, ctx.max - ctx.used);
      try {
        content = ctx.opts.fetch
          ? await ctx.opts.fetch(url, left)
          : await fetchUrl(url, {
            maxBytes: left,
            ...(ctx.opts.fetchTimeoutMs !== undefined && { timeoutMs: ctx.opts.fetchTimeoutMs }),
            ...(ctx.opts.fetchRetries !== undefined && { retries: ctx.opts.fetchRetries }),
            ...(ctx.opts.fetchBackoffMs !== undefined && { backoffMs: ctx.opts.fetchBackoffMs }),
            ...(ctx.opts.files !== undefined && { files: ctx.opts.files }),
            onRedirect: (from, to) => ctx.opts.note?.(`${where}: #include ${from} redirected to ${to}`),
          });
      } catch (e) {
        warn(ctx, where, `#include ${shown} failed: ${(e as Error).message}`);
        continue;
      }
      ctx.fetched.set(url, content);
      if (once && ctx.opts.includeCache) ctx.opts.includeCache.put(url, content);
    }
    await processDocument(content, ctx, `include ${shown}`, depth + 1, [...chain, url]);
  }
}
