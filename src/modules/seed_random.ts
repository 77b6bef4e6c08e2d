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
import { onRunningSystem } from './helpers.ts';
import { which } from '../host/root-facts.ts';
import { shellQuote, type Module, type ModuleRun, type Schema } from './module.ts';

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

function seedBytes({ config, source }: ModuleRun): { file: string; bytes: Uint8Array } {
  const cfg = (config['random_seed'] ?? {}) as Record<string, unknown>;
  const file = typeof cfg['file'] === 'string' && cfg['file'] ? cfg['file'] : '/dev/urandom';
  const parts: Uint8Array[] = [];
  const data = cfg['data'];
  if ((typeof data === 'string' || data instanceof Uint8Array) && data.length) parts.push(decode(data, cfg['encoding']));
  const fromMeta = source.metaData?.['random_seed'];
  if (typeof fromMeta === 'string' && fromMeta) parts.push(utf8(fromMeta));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { bytes.set(p, at); at += p.length; }
  return { file, bytes };
}

export const seedRandom: Module = {
  name: 'seed_random',
  stage: 'init',
  frequency: 'per-instance',
  // cloud-init runs it on every instance for the datasource's seed; with nothing to add it does nothing.
  keys: [],
  schema: { random_seed: SCHEMA },
  describe: (run) => {
    const { file, bytes } = seedBytes(run);
    const cmd = (run.config['random_seed'] as Record<string, unknown> | undefined)?.['command'];
    return [
      ...(bytes.length ? [`append ${bytes.length} byte(s) of seed to ${file}`] : []),
      ...(Array.isArray(cmd) && cmd.length ? [`run ${cmd.map(String).join(' ')} (RANDOM_SEED_FILE=${file})`] : []),
    ];
  },
  async run(run) {
    const { ctx, config, where } = run;
    const cfg = (config['random_seed'] ?? {}) as Record<string, unknown>;
    const { file, bytes } = seedBytes(run);
    if (bytes.length) {
      let kind: string | undefined;
      try { kind = ctx.files.stat(file)?.kind; } catch { kind = undefined; }
      if (kind === undefined || kind === 'file') {
        if (kind === undefined && file.startsWith('/dev/')) ctx.log.info(`${where}: ${file} is not in the root: seed not written`);
        else { ctx.files.append(file, bytes, { mode: 0o600 }); ctx.log.info(`${where}: ${bytes.length} byte(s) of seed appended to ${file}`); }
      } else if (onRunningSystem(ctx, where, `add ${bytes.length} byte(s) of seed to ${file}`)) {
        // A device (/dev/urandom): written by a program, as an append on the device itself.
        if (await ctx.runChecked(where, ['/bin/sh', '-c', `cat >> ${shellQuote(file)}`], { input: bytes })) {
          ctx.log.info(`${where}: ${bytes.length} byte(s) of seed entropy added to ${file}`);
        }
      }
    }
    const command = cfg['command'];
    if (!Array.isArray(command) || command.length === 0) {
      if (cfg['command_required'] === true) ctx.report('error', where, 'random_seed.command_required is true but no command is given');
      return;
    }
    const argv = command.map(String);
    if (!which(ctx.files, argv[0]!)) {
      if (cfg['command_required'] === true) ctx.report('error', where, `random_seed.command '${argv[0]}' not found in the root but command_required is true`);
      else ctx.log.info(`${where}: random_seed.command '${argv[0]}' not found: skipped (not required)`);
      return;
    }
    if (await ctx.runChecked(where, argv, { env: { RANDOM_SEED_FILE: file } })) ctx.log.info(`${where}: ${argv.join(' ')}: exit 0`);
  },
};
