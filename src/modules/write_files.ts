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
import { resolveOwner } from '../host/accounts.ts';
import type { Action } from '../host/actions.ts';
import { ReadBudget, SOURCE_BUDGET } from '../sources/budget.ts';
import { gunzipBounded, GzipLimitError } from '../userdata/gzip.ts';
import { controlIn, show } from '../validate/check.ts';
import { pathUnderRoot } from '../validate/files.ts';
import type { Config } from '../config/merge.ts';
import { actionModule, type ActionRun, type Module, type Report, type Schema } from './module.ts';

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

/** The entries of one run, checked (each bad one reported and left out), and the byte budget they share. */
interface Checked { entries: Array<{ label: string; entry: Entry }>; budget: ReadBudget }

function checkEntries(deferred: boolean) {
  return (config: Config, report: Report): Checked | null => {
    const list = config['write_files'];
    if (list !== undefined && list !== null && !Array.isArray(list)) {
      report('error', `write_files: expected a list of files, found ${typeof list}`);
      return null;
    }
    const budget = new ReadBudget(SOURCE_BUDGET);
    const mine = (Array.isArray(list) ? list : []).filter((e) => Boolean((e as Record<string, unknown> | null)?.['defer']) === deferred);
    const entries: Checked['entries'] = [];
    for (const [i, raw] of mine.entries()) {
      const label = `entry ${i + 1}${typeof (raw as Record<string, unknown>)?.['path'] === 'string' ? ` (${(raw as Record<string, unknown>)['path']})` : ''}`;
      try {
        entries.push({ label, entry: parseEntry(raw, budget) });
      } catch (e) {
        report('error', `${label}: ${(e as Error).message}`);
      }
    }
    return entries.length ? { entries, budget } : null;
  };
}

/** The write (or append) of `content` for the entry, its owner on the missing parent directories too (cloud-init 25.1's ensure_dir with user and group). */
function put(entry: Entry, content: Uint8Array, owner: { uid?: number; gid?: number }, unit: string): Action {
  const common = { path: entry.path, content, mode: entry.mode, ...owner, parents: { mode: 0o755, ...owner }, unit, why: `owner ${entry.owner}` };
  return entry.append ? { kind: 'append', ...common } : { kind: 'write', ...common };
}

/**
 * A source URL: fetched through the one client (cloud-init: 3 retries, 3 s
 * apart), its bytes written within the budget; when it cannot be read the
 * entry's content is written instead, with a warning, or nothing.
 */
function fetched(label: string, entry: Entry, source: NonNullable<Entry['source']>, budget: ReadBudget, owner: { uid?: number; gid?: number }): Action {
  return {
    kind: 'fetch', url: source.uri, headers: source.headers, maxBytes: budget.left(), retries: 3, pauseMs: 3000, timeoutMs: 30_000,
    unit: label, why: `the content of ${entry.path}`,
    then: (result): Action[] => {
      let why: string;
      if ('body' in result) {
        try {
          budget.take(result.body.length, source.uri);
          return [put(entry, result.body, owner, label)];
        } catch (e) { why = (e as Error).message; }
      } else why = result.error;
      why = `could not read ${source.uri}: ${why}`;
      let fallback: Uint8Array | null;
      try { fallback = entry.content(); } catch (e) {
        return [{ kind: 'report', level: 'error', message: `${label}: ${why}; its content cannot be used either: ${(e as Error).message}` }];
      }
      if (fallback === null) return [{ kind: 'report', level: 'warning', message: `${label}: ${why}; no content to fall back to: not written` }];
      return [{ kind: 'report', level: 'warning', message: `${label}: ${why}; wrote the entry's content instead` }, put(entry, fallback, owner, label)];
    },
  };
}

function writeActions(deferred: boolean) {
  return ({ entries, budget }: Checked, run: ActionRun): Action[] => entries.flatMap(({ label, entry }): Action[] => {
    let owner: { uid?: number; gid?: number };
    try {
      owner = resolveOwner(run.files, entry.owner);
    } catch (e) {
      if (!(run.planning && deferred)) { run.report('error', `${label}: ${(e as Error).message}`); return []; }
      // A deferred entry's owner may be a user this boot creates before stage final: its ids are a fact of the boot.
      owner = run.bootFact?.(() => resolveOwner(run.files, entry.owner)) ?? {};
    }
    if (entry.source) return [fetched(label, entry, entry.source, budget, owner)];
    return [put(entry, entry.content()!, owner, label)];
  });
}

/** The paths of the entries that pass check() (its reports are the module's own, when it runs). */
function plannedPaths(deferred: boolean, config: Config): string[] {
  return checkEntries(deferred)(config, () => {})?.entries.map((e) => e.entry.path) ?? [];
}

export const writeFiles: Module = actionModule<Checked>({
  name: 'write_files',
  stage: 'init',
  frequency: 'per-instance',
  keys: ['write_files'],
  schema: { write_files: SCHEMA },
  // The files it writes, for the plan of what runs later (a script put in scripts/per-boot).
  writes: (run) => plannedPaths(false, run.config),
  check: checkEntries(false),
  actions: writeActions(false),
});

export const writeFilesDeferred: Module = actionModule<Checked>({
  name: 'write_files_deferred',
  stage: 'final',
  frequency: 'per-instance',
  keys: ['write_files'],
  writes: (run) => plannedPaths(true, run.config),
  check: checkEntries(true),
  actions: writeActions(true),
});
