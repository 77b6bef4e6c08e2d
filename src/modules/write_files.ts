// write_files: files with content, encoding, owner, permissions, append
// (cloud-init's cc_write_files); missing parent directories 0755, with the
// entry's owner. Entries with `defer: true` are written by
// write_files_deferred in the final stage, after users and packages exist.
// Each entry fails alone: a bad one is reported with its index and path.
// `source: {uri, headers}` (cloud-init 23.1+) takes the content from a URL:
// http(s) through the one HTTP client (3 retries, the headers sent), file://
// or a bare absolute path read from the root; the bytes are written as they
// come (no `encoding`). When the URL cannot be read, `content` is written
// instead, with a warning; with no `content` either, the entry is left out.
// All entries of one run share one byte budget (the source budget): what
// user-data can make ec2-init write or inflate is bounded as a whole, not
// per entry.
import { fromBase64, fromLatin1, latin1, utf8 } from '../bytes.ts';
import type { Context } from '../context.ts';
import { resolveOwner } from '../host/accounts.ts';
import { ReadBudget, SOURCE_BUDGET } from '../sources/budget.ts';
import { gunzipBounded, GzipLimitError } from '../userdata/gzip.ts';
import { fetchUrl } from '../userdata/include.ts';
import { controlIn, show } from '../validate/check.ts';
import { pathUnderRoot } from '../validate/files.ts';
import type { Module, ModuleRun, Schema } from './module.ts';

interface Entry {
  path: string;
  /**
   * The inline content decoded, or null when there is none (a source without
   * content). With a source it is decoded only when the source cannot be
   * read, as cloud-init does: a bad fallback does not stop a good URL.
   */
  content: () => Uint8Array | null;
  /** A URL to read the content from first. */
  source: { uri: string; headers: Record<string, string> } | null;
  mode: number;
  owner: string;
  append: boolean;
}

const DEFAULT_MODE = 0o644;

const SCHEMA: Schema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['path'],
    additionalProperties: false,
    properties: {
      path: { type: 'string' },
      content: { type: 'string' },
      source: {
        type: 'object',
        required: ['uri'],
        additionalProperties: false,
        description: 'read the content from this URL (http, https, file); content is the fallback when it cannot be read',
        properties: {
          uri: { type: 'string', description: 'http://, https://, file:// or an absolute path of the root' },
          headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'HTTP request headers' },
        },
      },
      owner: { type: 'string' },
      permissions: { type: ['string', 'integer'] },
      encoding: { enum: ['gz', 'gzip', 'gz+base64', 'gzip+base64', 'gz+b64', 'gzip+b64', 'b64', 'base64', 'text/plain'] },
      append: { type: 'boolean' },
      defer: { type: 'boolean' },
    },
  },
};

/**
 * cloud-init's encodings and their aliases → what to undo, in order. The
 * content is text, or bytes when YAML's !!binary gave them (Terraform's
 * `encoding: gzip` with `content: !!binary` of base64gzip()): cloud-init
 * undoes the encoding on those bytes just the same, so a gzip stream is
 * inflated and b64 is decoded once more; plain bytes are written as they are.
 */
export function decodeContent(content: string | Uint8Array, encoding: string, budget: ReadBudget = new ReadBudget()): Uint8Array {
  const enc = encoding.toLowerCase().trim();
  const gz = ['gz', 'gzip', 'gz+base64', 'gzip+base64', 'gz+b64', 'gzip+b64'].includes(enc);
  const b64 = ['b64', 'base64', 'gz+base64', 'gzip+base64', 'gz+b64', 'gzip+b64'].includes(enc);
  if (!gz && !b64 && !['text/plain', ''].includes(enc)) {
    throw new Error(`unknown encoding '${encoding}' (use b64, gzip+base64 or text/plain)`);
  }
  let bytes: Uint8Array;
  if (content instanceof Uint8Array) bytes = b64 ? fromBase64(latin1(content)) : content.slice();
  // Unencoded gzip in YAML text can only arrive as a latin1-ish string.
  else bytes = b64 ? fromBase64(content) : gz ? fromLatin1(content) : utf8(content);
  // Bounded like user-data itself, all entries together: small gz+b64 entries must not inflate without limit.
  if (gz) {
    try {
      bytes = gunzipBounded(bytes, budget.left());
    } catch (e) {
      if (e instanceof GzipLimitError) throw new Error(`the gzip content inflates past what is left of the ${budget.limit}-byte budget of all write_files entries (${budget.used} bytes used)`);
      throw e;
    }
  }
  budget.take(bytes.length, 'the content');
  return bytes;
}

/** Octal permissions as cloud-init reads them: 0644 (an int in YAML 1.1), '0644', '0o644'. */
function parseMode(value: unknown): number {
  if (value === undefined || value === null) return DEFAULT_MODE;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0o7777) return value;
  if (typeof value === 'string' && /^(0o?)?[0-7]{1,4}$/.test(value.trim())) {
    return parseInt(value.trim().replace(/^0o/, ''), 8);
  }
  throw new Error(`invalid permissions ${JSON.stringify(value)} (use an octal string such as '0644')`);
}

/** A header name (an HTTP token) and a value of one line. */
function checkHeaders(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error("'source.headers' must be a mapping of header names to values");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) throw new Error(`'source.headers': ${show(k)} is not a header name`);
    const value = String(v);
    const c = controlIn(value.replace(/\t/g, ' '));
    if (c) throw new Error(`'source.headers.${k}' has ${c}; a header value is one line`);
    out[k] = value;
  }
  return out;
}

function parseSource(raw: unknown): Entry['source'] {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error("'source' must be a mapping with a 'uri'");
  const src = raw as Record<string, unknown>;
  const uri = src['uri'];
  // cloud-init: an empty or missing uri means no URL; the content is used.
  if (uri === undefined || uri === null || uri === '') return null;
  if (typeof uri !== 'string') throw new Error("'source.uri' must be a string");
  const c = controlIn(uri);
  if (c) throw new Error(`'source.uri' has ${c}`);
  return { uri: uri.trim(), headers: checkHeaders(src['headers']) };
}

function parseEntry(raw: unknown, budget: ReadBudget): Entry {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('expected a mapping with at least a path');
  const e = raw as Record<string, unknown>;
  const path = pathUnderRoot(e['path']);
  if (!path.ok) throw new Error(`'path': ${path.why}`);
  const source = parseSource(e['source']);
  const given = e['content'];
  const encoding = typeof e['encoding'] === 'string' ? e['encoding'] : '';
  // Without a source, no content is an empty file; with one, no content means no fallback.
  const decode = () => (given === undefined || given === null
    ? (source ? null : new Uint8Array(0))
    : decodeContent(given instanceof Uint8Array ? given : String(given), encoding, budget));
  let decoded: Uint8Array | null | undefined = source ? undefined : decode();
  const content = () => (decoded === undefined ? (decoded = decode()) : decoded);
  return {
    path: path.value,
    content,
    source,
    mode: parseMode(e['permissions']),
    owner: typeof e['owner'] === 'string' ? e['owner'] : 'root:root',
    append: e['append'] === true,
  };
}

/** The source's bytes (read within the budget), or the inline content when it cannot be read; null when neither. */
async function loadContent(ctx: Context, label: string, entry: Entry, budget: ReadBudget): Promise<Uint8Array | null> {
  if (!entry.source) return entry.content();
  try {
    const body = await fetchUrl(entry.source.uri, {
      maxBytes: budget.left(),
      files: ctx.files,
      headers: entry.source.headers,
      // cloud-init: 3 retries, 3 s apart.
      retries: 3,
      backoffMs: 3000,
      fixedPause: true,
      timeoutMs: 30_000,
      onRedirect: (from, to) => ctx.log.info(`${label}: ${from} redirected to ${to}`),
    });
    budget.take(body.length, entry.source.uri);
    ctx.log.info(`${label}: read ${body.length} bytes from ${entry.source.uri}`);
    return body;
  } catch (e) {
    const why = `could not read ${entry.source.uri}: ${(e as Error).message}`;
    const fallback = entry.content();
    if (fallback === null) {
      ctx.report('warning', label, `${why}; no content to fall back to: not written`);
      return null;
    }
    ctx.report('warning', label, `${why}; wrote the entry's content instead`);
    return fallback;
  }
}

function entries(config: ModuleRun['config'], deferred: boolean): unknown[] {
  const list = config['write_files'];
  if (!Array.isArray(list)) return [];
  return list.filter((e) => Boolean((e as Record<string, unknown> | null)?.['defer']) === deferred);
}

/** For plan: each entry read as run() reads it, so an entry run() would reject is shown rejected. */
function describe(deferred: boolean) {
  return ({ config }: ModuleRun): string[] => {
    const budget = new ReadBudget(SOURCE_BUDGET);
    return entries(config, deferred).map((raw, i) => {
    try {
      const e = parseEntry(raw, budget);
      const inline = e.source ? null : e.content();
      const what = e.source ? `content of ${e.source.uri}${raw && (raw as Record<string, unknown>)['content'] != null ? ', or its content when it cannot be read' : ''}` : `${inline!.length} bytes`;
      return `${e.append ? 'append to' : 'write'} ${e.path} (${what}, mode ${e.mode.toString(8).padStart(4, '0')}, owner ${e.owner})`;
    } catch (e) {
      return `entry ${i + 1}: not written: ${(e as Error).message}`;
    }
    });
  };
}

function writeAll(deferred: boolean) {
  return async ({ ctx, config, where }: ModuleRun): Promise<void> => {
    if (config['write_files'] !== undefined && !Array.isArray(config['write_files'])) {
      throw new Error(`expected a list of files, found ${typeof config['write_files']}`);
    }
    const budget = new ReadBudget(SOURCE_BUDGET);
    for (const [i, raw] of entries(config, deferred).entries()) {
      const label = `${where} entry ${i + 1}${typeof (raw as Record<string, unknown>)?.['path'] === 'string' ? ` (${(raw as Record<string, unknown>)['path']})` : ''}`;
      try {
        const entry = parseEntry(raw, budget);
        const content = await loadContent(ctx, label, entry, budget);
        if (content === null) continue;
        const owner = resolveOwner(ctx.files, entry.owner);
        const write = entry.append ? ctx.files.append.bind(ctx.files) : ctx.files.write.bind(ctx.files);
        // Missing parent directories get the entry's owner (cloud-init 25.1's ensure_dir with
        // user and group), so `owner: app` under a new /opt/app/conf/ leaves /opt/app the app's.
        write(entry.path, content, { mode: entry.mode, ...owner, parents: { mode: 0o755, ...owner } });
        ctx.log.info(`${label}: ${entry.append ? 'appended' : 'wrote'} ${content.length} bytes, mode ${entry.mode.toString(8).padStart(4, '0')}, owner ${entry.owner}`);
      } catch (e) {
        ctx.report('error', label, (e as Error).message);
      }
    }
  };
}

export const writeFiles: Module = {
  name: 'write_files',
  stage: 'init',
  frequency: 'per-instance',
  keys: ['write_files'],
  schema: { write_files: SCHEMA },
  describe: describe(false),
  run: writeAll(false),
};

export const writeFilesDeferred: Module = {
  name: 'write_files_deferred',
  stage: 'final',
  frequency: 'per-instance',
  keys: ['write_files'],
  describe: describe(true),
  run: writeAll(true),
};
