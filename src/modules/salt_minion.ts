// salt_minion (cloud-init's cc_salt_minion, stage final, per instance):
// install salt-minion (pkg_name) from the image's apt, write `conf` to
// <config_dir>/minion and `grains` to <config_dir>/grains as cloud-init's
// safeyaml.dumps writes them (PyYAML, indent 4, '---' … '...'), the key pair
// into pki_dir (made 0700; minion.pem 0600, minion.pub 0644), then enable and
// restart the minion — or, with file_client: local (masterless), disable and
// stop it and run `salt-call --local state.apply`. The key pair is
// written once the package is there (the default pki_dir is the one it made). The YAML is written by our
// own emitter from the parsed values, so no value can add a key or a line.
import type { Action } from '../host/actions.ts';
import type { Config } from '../config/merge.ts';
import { pathUnderRoot } from '../validate/files.ts';
import { installActions, packageSpec, serviceName, serviceSequence } from './distro-actions.ts';
import { isMapping } from './helpers.ts';
import { actionModule, type ActionRun, type Report, type Schema } from './module.ts';
import { pyYamlDump } from './py-formats.ts';
import { sectionOf } from './tool-config.ts';

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

const SALT_CALL: Action = { kind: 'run', argv: ['salt-call', '--local', 'state.apply'], timeoutMs: 3_600_000, why: 'salt-call --local state.apply', runningSystem: 'essential' };

interface Salt {
  pkg: string;
  service: string;
  confDir: string;
  conf: unknown;
  grains: unknown;
  /** pkiDir null: the default, decided once the package is there. */
  keys: { pub: string; priv: string; pkiDir: string | null } | null;
  masterless: boolean;
}

function check(config: Config, report: Report): Salt | null {
  const cfg = sectionOf(config, 'salt_minion', report);
  if (!cfg) return null;
  const pkg = packageSpec(cfg['pkg_name'] ?? 'salt-minion');
  const service = serviceName(cfg['service_name'] ?? 'salt-minion');
  const confDir = pathUnderRoot(cfg['config_dir'] ?? '/etc/salt');
  const pkiDir = cfg['pki_dir'] === undefined ? null : pathUnderRoot(cfg['pki_dir']);
  if (!pkg.ok) { report('error', `salt_minion.pkg_name: ${pkg.why}`); return null; }
  if (!service.ok) { report('error', `salt_minion.service_name: ${service.why}`); return null; }
  if (!confDir.ok) { report('error', `salt_minion.config_dir: ${confDir.why}`); return null; }
  if (pkiDir && !pkiDir.ok) { report('error', `salt_minion.pki_dir: ${pkiDir.why}`); return null; }
  const conf = cfg['conf'];
  return {
    pkg: pkg.value, service: service.value, confDir: confDir.value, conf, grains: cfg['grains'],
    keys: cfg['public_key'] !== undefined && cfg['private_key'] !== undefined
      ? { pub: String(cfg['public_key']), priv: String(cfg['private_key']), pkiDir: pkiDir?.ok ? pkiDir.value : null } : null,
    masterless: isMapping(conf) && conf['file_client'] === 'local',
  };
}

/** The key pair in pki_dir: the default is <config_dir>/pki/minion when the package made it, so this reads the root after the install. */
function keyActions(s: Salt, files: ActionRun['files']): Action[] {
  if (!s.keys) return [];
  const pki = s.keys.pkiDir ?? (files.isDirectory(`${s.confDir}/pki/minion`) ? `${s.confDir}/pki/minion` : `${s.confDir}/pki`);
  return [
    // cloud-init makes it under umask 077.
    ...(files.isDirectory(pki) ? [] : [{ kind: 'mkdir', path: pki, mode: 0o700 } as const]),
    { kind: 'write', path: `${pki}/minion.pub`, content: s.keys.pub, mode: 0o644 },
    { kind: 'write', path: `${pki}/minion.pem`, content: s.keys.priv, mode: 0o600, why: 'the minion\'s private key' },
  ];
}

export const saltMinion = actionModule<Salt>({
  name: 'salt_minion',
  stage: 'final',
  frequency: 'per-instance',
  keys: ['salt_minion'],
  schema: { salt_minion: SCHEMA },
  check,
  actions(s, run): Action[] {
    const yaml = (v: unknown) => pyYamlDump(v, { indent: 4, explicit: true });
    // The key pair follows the install: its default directory is the package's.
    const install = installActions(run, [s.pkg], undefined, () => keyActions(s, run.files));
    if (install.length === 0) return [];
    return [
      ...install,
      { kind: 'mkdir', path: s.confDir, mode: 0o755 },
      ...(s.conf !== undefined ? [{ kind: 'write', path: `${s.confDir}/minion`, content: yaml(s.conf), mode: 0o644 } as const] : []),
      ...(s.grains !== undefined ? [{ kind: 'write', path: `${s.confDir}/grains`, content: yaml(s.grains), mode: 0o644 } as const] : []),
      ...serviceSequence(run, s.service, s.masterless ? ['disable', 'stop'] : ['enable', 'restart']),
      ...(s.masterless ? [SALT_CALL] : []),
    ];
  },
});
