// wireguard (cloud-init's cc_wireguard, stage config, per instance): install
// wireguard-tools from the image's apt when `wg` is missing, load the kernel
// module, write each interface's configuration (0600: it holds the private
// key), enable and restart wg-quick@<name>, then run the readiness probes.
// cloud-init runs it on Ubuntu only; Debian ships the same tools, so ec2-init
// runs it on Debian too (README). Loading the module, starting the interface
// and the probes need the running system: under --root they are left to it
// (the enabled wg-quick@ unit brings the interface up on the real boot).
import { which } from '../host/root-facts.ts';
import { show } from '../validate/check.ts';
import { pathUnderRoot } from '../validate/files.ts';
import { interfaceName } from '../validate/net.ts';
import { installPackages, manageService } from './distro-actions.ts';
import { isMapping, onRunningSystem } from './helpers.ts';
import type { Module, ModuleRun, Schema } from './module.ts';

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

function cfgOf(config: ModuleRun['config']): Record<string, unknown> {
  const c = config['wireguard'];
  if (!isMapping(c)) throw new Error(`'wireguard' must be a mapping with 'interfaces', found ${show(c)}`);
  return c;
}

/** The interfaces, each checked (cloud-init's supplemental_schema_validation, plus the name and path rules). */
function interfaces(r: ModuleRun, cfg: Record<string, unknown>): Iface[] {
  const list = cfg['interfaces'];
  if (!Array.isArray(list)) throw new Error(`wireguard.interfaces: expected a list, found ${show(list)}`);
  const out: Iface[] = [];
  list.forEach((entry, i) => {
    const at = `wireguard.interfaces[${i}]`;
    if (!isMapping(entry)) { r.ctx.report('error', r.where, `${at}: expected a mapping; left out`); return; }
    const missing = ['name', 'config_path', 'content'].filter((k) => typeof entry[k] !== 'string');
    if (missing.length) { r.ctx.report('error', r.where, `${at}: missing or not a string: ${missing.join(', ')}; left out`); return; }
    const name = interfaceName(entry['name']);
    const path = pathUnderRoot(entry['config_path']);
    if (!name.ok || !path.ok) { r.ctx.report('error', r.where, `${at}: ${name.ok ? (path as { why: string }).why : name.why}; left out`); return; }
    out.push({ name: name.value, path: path.value, content: entry['content'] as string });
  });
  return out;
}

async function run(r: ModuleRun): Promise<void> {
  const { ctx, where } = r;
  const cfg = cfgOf(r.config);
  const ifaces = interfaces(r, cfg);
  if (which(ctx.files, 'wg') === null) {
    await installPackages(ctx, r.config, r.instanceId, where, ['wireguard-tools']);
  }
  if (onRunningSystem(ctx, where, 'modprobe wireguard')) {
    const lsmod = await ctx.capture(['lsmod'], { timeoutMs: 30_000 });
    if (!/wireguard/.test(lsmod.stdout) && !await ctx.runChecked(`${where} (modprobe)`, ['modprobe', 'wireguard'], { timeoutMs: 60_000 })) {
      throw new Error('could not load the wireguard kernel module');
    }
  }
  for (const i of ifaces) {
    ctx.files.write(i.path, i.content, { mode: 0o600 });
    ctx.log.info(`${where}: ${i.name}: ${i.path}`);
    for (const action of ['enable', 'restart'] as const) {
      const done = await manageService(ctx, where, action, `wg-quick@${i.name}`);
      if (!done.ok) throw new Error(`could not ${action} wg-quick@${i.name}: ${done.why}`);
    }
  }
  const probes = cfg['readinessprobe'];
  if (!Array.isArray(probes) || probes.length === 0) return;
  const bad = probes.map((p, i) => (typeof p === 'string' ? null : `readinessprobe[${i}] is not a string`)).filter(Boolean);
  if (bad.length) throw new Error(`invalid readinessprobe commands: ${bad.join('; ')}`);
  if (!onRunningSystem(ctx, where, `${probes.length} readiness probe(s)`, { essential: true })) return;
  const failed: string[] = [];
  for (const [i, p] of probes.entries()) {
    const res = await ctx.run(['/bin/sh', '-c', p as string], { timeoutMs: 300_000 });
    if (res.code !== 0) failed.push(`readinessprobe[${i}]: exit ${res.code ?? res.signal}`);
  }
  if (failed.length) throw new Error(`readiness probe failed: ${failed.join('; ')}`);
}

export const wireguard: Module = {
  name: 'wireguard',
  stage: 'config',
  frequency: 'per-instance',
  keys: ['wireguard'],
  schema: { wireguard: SCHEMA },
  describe({ ctx, config }) {
    const cfg = cfgOf(config);
    const list = Array.isArray(cfg['interfaces']) ? cfg['interfaces'].filter(isMapping) : [];
    const later = ctx.root === '/' ? '' : ' (started by the running system with --root)';
    return [
      ...(which(ctx.files, 'wg') === null ? ['install wireguard-tools'] : []),
      ...list.map((i) => `write ${String(i['config_path'])} (0600); enable and restart wg-quick@${String(i['name'])}${later}`),
      ...(Array.isArray(cfg['readinessprobe']) && cfg['readinessprobe'].length ? [`run ${cfg['readinessprobe'].length} readiness probe(s)${later}`] : []),
    ];
  },
  run,
};
