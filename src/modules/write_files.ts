// write_files: files with content, encoding, owner, permissions, append
// (cloud-init's cc_write_files); missing parent directories 0755, with the
// entry's owner. Entries with `defer: true` are written by
// write_files_deferred in the final stage, after users and packages exist.
// Each entry fails alone: a bad one is reported with its index and path.
import { fromBase64, fromLatin1, latin1, utf8 } from '../bytes.ts';
import { resolveOwner } from '../host/accounts.ts';
import { DEFAULT_MAX_BYTES } from '../userdata/expand.ts';
import { gunzipBounded } from '../userdata/gzip.ts';
import type { Module, ModuleRun, Schema } from './module.ts';

interface Entry {
  path: string;
  content: Uint8Array;
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
      source: { type: 'object', description: 'fetching content from a URL is not supported yet' },
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
export function decodeContent(content: string | Uint8Array, encoding: string): Uint8Array {
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
  // Bounded like user-data itself: a small gz+b64 entry must not inflate without limit.
  if (gz) bytes = gunzipBounded(bytes, DEFAULT_MAX_BYTES);
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

function parseEntry(raw: unknown): Entry {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('expected a mapping with at least a path');
  const e = raw as Record<string, unknown>;
  if (typeof e['path'] !== 'string' || !e['path'].startsWith('/')) throw new Error(`'path' must be an absolute path, found ${JSON.stringify(e['path'])}`);
  const given = e['content'];
  const content = decodeContent(given instanceof Uint8Array ? given : given === undefined || given === null ? '' : String(given),
    typeof e['encoding'] === 'string' ? e['encoding'] : '');
  return {
    path: e['path'],
    content,
    mode: parseMode(e['permissions']),
    owner: typeof e['owner'] === 'string' ? e['owner'] : 'root:root',
    append: e['append'] === true,
  };
}

function entries(config: ModuleRun['config'], deferred: boolean): unknown[] {
  const list = config['write_files'];
  if (!Array.isArray(list)) return [];
  return list.filter((e) => Boolean((e as Record<string, unknown> | null)?.['defer']) === deferred);
}

/** For plan: each entry read as run() reads it, so an entry run() would reject is shown rejected. */
function describe(deferred: boolean) {
  return ({ config }: ModuleRun): string[] => entries(config, deferred).map((raw, i) => {
    try {
      const e = parseEntry(raw);
      return `${e.append ? 'append to' : 'write'} ${e.path} (${e.content.length} bytes, mode ${e.mode.toString(8).padStart(4, '0')}, owner ${e.owner})`;
    } catch (e) {
      return `entry ${i + 1}: not written: ${(e as Error).message}`;
    }
  });
}

function writeAll(deferred: boolean) {
  return async ({ ctx, config, where }: ModuleRun): Promise<void> => {
    if (config['write_files'] !== undefined && !Array.isArray(config['write_files'])) {
      throw new Error(`expected a list of files, found ${typeof config['write_files']}`);
    }
    entries(config, deferred).forEach((raw, i) => {
      const label = `${where} entry ${i + 1}${typeof (raw as Record<string, unknown>)?.['path'] === 'string' ? ` (${(raw as Record<string, unknown>)['path']})` : ''}`;
      try {
        const entry = parseEntry(raw);
        const owner = resolveOwner(ctx.files, entry.owner);
        const write = entry.append ? ctx.files.append.bind(ctx.files) : ctx.files.write.bind(ctx.files);
        // Missing parent directories get the entry's owner (cloud-init 25.1's ensure_dir with
        // user and group), so `owner: app` under a new /opt/app/conf/ leaves /opt/app the app's.
        write(entry.path, entry.content, { mode: entry.mode, ...owner, parents: { mode: 0o755, ...owner } });
        ctx.log.info(`${label}: ${entry.append ? 'appended' : 'wrote'} ${entry.content.length} bytes, mode ${entry.mode.toString(8).padStart(4, '0')}, owner ${entry.owner}`);
      } catch (e) {
        ctx.report('error', label, (e as Error).message);
      }
    });
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
