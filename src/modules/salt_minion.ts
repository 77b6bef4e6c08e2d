// salt_minion (cloud-init's cc_salt_minion, stage final, per instance):
// install salt-minion (pkg_name) from the image's apt, write `conf` to
// <config_dir>/minion and `grains` to <config_dir>/grains as cloud-init's
// safeyaml.dumps writes them (PyYAML, indent 4, '---' … '...'), the key pair
// into pki_dir (made 0700; minion.pem 0600, minion.pub 0644), then enable and
// restart the minion — or, with file_client: local (masterless), disable and
// stop it and run `salt-call --local state.apply`. The YAML is written by our
// own emitter from the parsed values, so no value can add a key or a line.
import { show } from '../validate/check.ts';
import { pathUnderRoot } from '../validate/files.ts';
import { installPackages, manageService, packageSpec, serviceName } from './distro-actions.ts';
import { isMapping, onRunningSystem } from './helpers.ts';
import type { Module, ModuleRun, Schema } from './module.ts';
import { pyYamlDump } from './py-formats.ts';

const SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    pkg_name: { type: 'string', description: 'default salt-minion' },
    service_name: { type: 'string', description: 'default salt-minion' },
    config_dir: { type: 'string', description: 'default /etc/salt' },
    conf: { type: 'object', description: 'the minion configuration (written to <config_dir>/minion)' },
    grains: { type: 'object', description: 'grains (written to <config_dir>/grains)' },
    public_key: { type: 'string' },
    private_key: { type: 'string' },
    pki_dir: { type: 'string', description: 'default <config_dir>/pki/minion when it exists, else <config_dir>/pki' },
  },
};

function cfgOf(config: ModuleRun['config']): Record<string, unknown> {
  const c = config['salt_minion'];
  if (c === null || c === undefined) return {};
  if (!isMapping(c)) throw new Error(`'salt_minion' must be a mapping, found ${show(c)}`);
  return c;
}

function checked<T>(r: { ok: true; value: T } | { ok: false; why: string }, key: string): T {
  if (!r.ok) throw new Error(`salt_minion.${key}: ${r.why}`);
  return r.value;
}

async function run(r: ModuleRun): Promise<void> {
  const { ctx, where } = r;
  const cfg = cfgOf(r.config);
  const pkg = checked(packageSpec(cfg['pkg_name'] ?? 'salt-minion'), 'pkg_name');
  const service = checked(serviceName(cfg['service_name'] ?? 'salt-minion'), 'service_name');
  const confDir = checked(pathUnderRoot(cfg['config_dir'] ?? '/etc/salt'), 'config_dir');

  await installPackages(ctx, r.config, r.instanceId, where, [pkg]);
  ctx.files.mkdir(confDir);
  const conf = cfg['conf'];
  if (conf !== undefined) ctx.files.write(`${confDir}/minion`, pyYamlDump(conf, { indent: 4, explicit: true }), { mode: 0o644 });
  if (cfg['grains'] !== undefined) ctx.files.write(`${confDir}/grains`, pyYamlDump(cfg['grains'], { indent: 4, explicit: true }), { mode: 0o644 });

  if (cfg['public_key'] !== undefined && cfg['private_key'] !== undefined) {
    const dflt = ctx.files.isDirectory(`${confDir}/pki/minion`) ? `${confDir}/pki/minion` : `${confDir}/pki`;
    const pki = checked(pathUnderRoot(cfg['pki_dir'] ?? dflt), 'pki_dir');
    // cloud-init makes it under umask 077.
    if (!ctx.files.isDirectory(pki)) ctx.files.mkdir(pki, 0o700);
    ctx.files.write(`${pki}/minion.pub`, String(cfg['public_key']), { mode: 0o644 });
    ctx.files.write(`${pki}/minion.pem`, String(cfg['private_key']), { mode: 0o600 });
    ctx.log.info(`${where}: key pair in ${pki}`);
  }

  const masterless = isMapping(conf) && conf['file_client'] === 'local';
  for (const action of masterless ? ['disable', 'stop'] as const : ['enable', 'restart'] as const) {
    const done = await manageService(ctx, where, action, service);
    if (!done.ok) throw new Error(`could not ${action} ${service}: ${done.why}`);
  }
  if (masterless && onRunningSystem(ctx, where, 'salt-call --local state.apply', { essential: true })) {
    await ctx.runChecked(`${where} (salt-call)`, ['salt-call', '--local', 'state.apply'], { timeoutMs: 3_600_000 });
  }
}

export const saltMinion: Module = {
  name: 'salt_minion',
  stage: 'final',
  frequency: 'per-instance',
  keys: ['salt_minion'],
  schema: { salt_minion: SCHEMA },
  describe({ ctx, config }) {
    const cfg = cfgOf(config);
    const dir = String(cfg['config_dir'] ?? '/etc/salt');
    const masterless = isMapping(cfg['conf']) && cfg['conf']['file_client'] === 'local';
    const later = ctx.root === '/' ? '' : ' (left for the running system with --root)';
    return [
      `install ${String(cfg['pkg_name'] ?? 'salt-minion')}`,
      ...(cfg['conf'] !== undefined ? [`write ${dir}/minion`] : []),
      ...(cfg['grains'] !== undefined ? [`write ${dir}/grains`] : []),
      ...(cfg['public_key'] !== undefined && cfg['private_key'] !== undefined ? ['write the minion key pair (minion.pem 0600)'] : []),
      masterless ? `disable ${String(cfg['service_name'] ?? 'salt-minion')}; salt-call --local state.apply${later}`
        : `enable ${String(cfg['service_name'] ?? 'salt-minion')}; restart it${later}`,
    ];
  },
  run,
};
