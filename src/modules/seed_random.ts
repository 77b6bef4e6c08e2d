// seed_random (cloud-init's cc_seed_random), first in stage init, once per
// instance: `random_seed.data` (decoded by `encoding`) and the datasource's
// own meta-data `random_seed` (OpenStack, Azure) are appended to
// `random_seed.file` (/dev/urandom unless told), then `random_seed.command`
// runs with RANDOM_SEED_FILE set. Mixing bytes into the kernel's pool is an
// effect on the running system: under --root a device target is skipped
// (never a regular file made at the image's /dev/urandom); a regular file
// target is appended to inside the root. A missing command is skipped unless
// `command_required`, which makes it an error, as in cloud-init.
import { fromBase64, fromLatin1, latin1, utf8 } from '../bytes.ts';
import { DEFAULT_MAX_BYTES } from '../userdata/expand.ts';
import { gunzipBounded } from '../userdata/gzip.ts';
import { isMapping } from './helpers.ts';
import type { Action } from '../host/actions.ts';
import { which } from '../host/root-facts.ts';
import { pathUnderRoot } from '../validate/files.ts';
import { actionModule, shellQuote, type Report, type Schema } from './module.ts';

const SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    file: { type: 'string' },
    data: { type: 'string' },
    encoding: { enum: ['raw', 'base64', 'b64', 'gzip', 'gz'] },
    command: { type: 'array', items: { type: 'string' } },
    command_required: { type: 'boolean' },
  },
};

/** `data` undone by `encoding`; !!binary data are bytes, decoded the same (cloud-init's _decode). */
function decode(data: string | Uint8Array, encoding: unknown): Uint8Array {
  const enc = typeof encoding === 'string' ? encoding.toLowerCase() : 'raw';
  if (enc === 'base64' || enc === 'b64') return fromBase64(typeof data === 'string' ? data : latin1(data));
  if (enc === 'gzip' || enc === 'gz') return gunzipBounded(typeof data === 'string' ? fromLatin1(data) : data, DEFAULT_MAX_BYTES);
  return typeof data === 'string' ? utf8(data) : data;
}

interface SeedConfig {
  /** The target: an absolute path under the root (null: refused, reported). */
  file: string | null;
  /** random_seed.data, decoded (null: none, or not decodable: reported). */
  data: Uint8Array | null;
  command: string[] | null;
  commandRequired: boolean;
}

/** random_seed, read once: a bad entry is reported with its key and left out, the rest kept. */
export function checkSeed(config: Record<string, unknown>, report: Report): SeedConfig {
  const raw = config['random_seed'];
  const cfg = isMapping(raw) ? raw : {};
  if (raw !== undefined && raw !== null && !isMapping(raw)) report('error', 'random_seed: expected a mapping (file, data, encoding, command, command_required)');
  let file: string | null = '/dev/urandom';
  if (cfg['file'] !== undefined && cfg['file'] !== null && cfg['file'] !== '') {
    const p = pathUnderRoot(cfg['file']);
    file = p.ok ? p.value : null;
    if (!p.ok) report('error', `random_seed.file: ${p.why}; give an absolute path without '.' or '..' (the default is /dev/urandom); no seed written`);
  }
  let data: Uint8Array | null = null;
  const given = cfg['data'];
  if ((typeof given === 'string' || given instanceof Uint8Array) && given.length) {
    try { data = decode(given, cfg['encoding']); } catch (e) {
      report('error', `random_seed.data: cannot decode it as ${String(cfg['encoding'] ?? 'raw')}: ${(e as Error).message}; no seed data added`);
    }
  }
  const cmd = cfg['command'];
  const command = Array.isArray(cmd) && cmd.length ? cmd.map(String) : null;
  return { file, data, command, commandRequired: cfg['command_required'] === true };
}

export const seedRandom = actionModule<SeedConfig>({
  name: 'seed_random',
  stage: 'init',
  frequency: 'per-instance',
  // cloud-init runs it on every instance for the datasource's seed; with nothing to add it does nothing.
  keys: [],
  schema: { random_seed: SCHEMA },
  check: checkSeed,
  actions({ file, data, command, commandRequired }, { source, files, report, log, where }): Action[] {
    const parts: Uint8Array[] = data ? [data] : [];
    const fromMeta = source.metaData?.['random_seed'];
    if (typeof fromMeta === 'string' && fromMeta) parts.push(utf8(fromMeta));
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { bytes.set(p, at); at += p.length; }
    const actions: Action[] = [];
    if (bytes.length && file !== null) {
      let kind: string | undefined;
      try { kind = files.stat(file)?.kind; } catch { kind = undefined; }
      const what = `add ${bytes.length} byte(s) of seed to ${file}`;
      if (kind === undefined && file.startsWith('/dev/')) log.info(`${where}: ${file} is not in the root: seed not written`);
      else if (kind === undefined || kind === 'file') actions.push({ kind: 'append', path: file, content: bytes, mode: 0o600, why: what });
      // A device (/dev/urandom): written by a program, as an append on the device itself; the kernel's pool is the running system's.
      else actions.push({ kind: 'run', argv: ['/bin/sh', '-c', `cat >> ${shellQuote(file)}`], input: bytes, why: what, runningSystem: 'optional' });
    }
    if (command === null) {
      if (commandRequired) report('error', 'random_seed.command_required is true but no command is given');
      return actions;
    }
    if (!which(files, command[0]!)) {
      if (commandRequired) report('error', `random_seed.command '${command[0]}' not found in the root but command_required is true`);
      else log.info(`${where}: random_seed.command '${command[0]}' not found: skipped (not required)`);
      return actions;
    }
    // No units: as in cloud-init, a seed that could not be written stops the module before its command.
    actions.push({ kind: 'run', argv: command, ...(file !== null && { env: { RANDOM_SEED_FILE: file } }), why: 'random_seed.command' });
    return actions;
  },
});
