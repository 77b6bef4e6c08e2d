// wireguard (cloud-init's cc_wireguard, stage config, per instance): install
// wireguard-tools from the image's apt when `wg` is missing, load the kernel
// module, write each interface's configuration (0600: it holds the private
// key), enable and restart wg-quick@<name>, then run the readiness probes.
// cloud-init runs it on Ubuntu only; Debian ships the same tools, so ec2-init
// runs it on Debian too (README). Loading the module, starting the interface
// and the probes need the running system: under --root they are left to it
// (the enabled wg-quick@ unit brings the interface up on the real boot).
import type { Action } from '../host/actions.ts';
import type { Config } from '../config/merge.ts';
import { which } from '../host/root-facts.ts';
import { show } from '../validate/check.ts';
import { pathUnderRoot } from '../validate/files.ts';
import { interfaceName } from '../validate/net.ts';
import { installActions, serviceSequence } from './distro-actions.ts';
import { isMapping } from './helpers.ts';
import { actionModule, type Report, type Schema } from './module.ts';
import { sectionOf } from './tool-config.ts';

const SCHEMA: Schema = {
  type: 'object',
  required: ['interfaces'],
  additionalProperties: false,
  properties: {
    interfaces: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          name: { type: 'string', description: 'the interface (wg0)' },
          config_path: { type: 'string', description: 'its configuration file (/etc/wireguard/wg0.conf)' },
          content: { type: 'string', description: 'the wg-quick configuration (written 0600)' },
        },
      },
    },
    readinessprobe: { type: 'array', items: { type: 'string' }, description: 'shell commands that must succeed once the interfaces are up' },
  },
};

interface Iface { name: string; path: string; content: string }
interface Wireguard { interfaces: Iface[]; probes: string[] }

/** The interfaces, each checked (cloud-init's supplemental_schema_validation, plus the name and path rules), and the probes. */
function check(config: Config, report: Report): Wireguard | null {
  const cfg = sectionOf(config, 'wireguard', report, "'interfaces'");
  if (!cfg) return null;
  const list = cfg['interfaces'];
  if (!Array.isArray(list)) { report('error', `wireguard.interfaces: expected a list, found ${show(list)}`); return null; }
  const interfaces: Iface[] = [];
  list.forEach((entry, i) => {
    const at = `wireguard.interfaces[${i}]`;
    if (!isMapping(entry)) { report('error', `${at}: expected a mapping; left out`); return; }
    const missing = ['name', 'config_path', 'content'].filter((k) => typeof entry[k] !== 'string');
    if (missing.length) { report('error', `${at}: missing or not a string: ${missing.join(', ')}; left out`); return; }
    const name = interfaceName(entry['name']);
    const path = pathUnderRoot(entry['config_path']);
    if (!name.ok || !path.ok) { report('error', `${at}: ${name.ok ? (path as { why: string }).why : name.why}; left out`); return; }
    interfaces.push({ name: name.value, path: path.value, content: entry['content'] as string });
  });
  const given = Array.isArray(cfg['readinessprobe']) ? cfg['readinessprobe'] : [];
  const bad = given.map((p, i) => (typeof p === 'string' ? null : `readinessprobe[${i}] is not a string`)).filter(Boolean);
  // As cloud-init: one bad probe and none runs.
  if (bad.length) report('error', `wireguard: invalid readinessprobe commands: ${bad.join('; ')}; no probe run`);
  return { interfaces, probes: bad.length ? [] : given as string[] };
}

export const wireguard = actionModule<Wireguard>({
  name: 'wireguard',
  stage: 'config',
  frequency: 'per-instance',
  keys: ['wireguard'],
  schema: { wireguard: SCHEMA },
  check,
  actions({ interfaces, probes }, run): Action[] {
    const needed = which(run.files, 'wg') === null;
    const install = needed ? installActions(run, ['wireguard-tools']) : [];
    if (needed && install.length === 0) return [];
    return [
      ...install,
      // A module already loaded (or built in) is no change to modprobe: cloud-init's lsmod check first comes to the same.
      { kind: 'run', argv: ['modprobe', 'wireguard'], timeoutMs: 60_000, why: 'load the wireguard kernel module', runningSystem: 'optional' },
      ...interfaces.flatMap((i): Action[] => [
        { kind: 'write', path: i.path, content: i.content, mode: 0o600, why: `interface ${i.name}` },
        ...serviceSequence(run, `wg-quick@${i.name}`, ['enable', 'restart']),
      ]),
      // Each probe runs; each that fails is reported.
      ...probes.map((p, i): Action => ({
        kind: 'run', argv: ['/bin/sh', '-c', p], timeoutMs: 300_000, why: `readinessprobe[${i}]`, runningSystem: 'essential', unit: `readinessprobe[${i}]`,
      })),
    ];
  },
});
