// ansible (cloud-init's cc_ansible, stage final, per instance): install
// ansible (`package_name`) from the image's apt when `ansible` is missing
// (install_method: distro), then, on the running system, the galaxy actions,
// ansible-pull of each `pull` entry (its keys as --key=value flags, one call
// for all playbooks from ansible 2.12, one per playbook before) and the
// controller setup (git clone, ansible-playbook), as `run_user` when given
// (su -), with ANSIBLE_CONFIG from ansible_config. install_method pip
// installs from PyPI: refused (README). Under --root the pulls are left for
// the running system: they change the machine ansible runs on.
import { which } from '../host/root-facts.ts';
import type { Context } from '../context.ts';
import { accountName } from '../validate/files.ts';
import { show } from '../validate/check.ts';
import { installPackages, packageSpec } from './distro-actions.ts';
import { sortedKeys } from './py-formats.ts';
import { isMapping, onRunningSystem } from './helpers.ts';
import { shellQuote, type Module, type ModuleRun, type Schema } from './module.ts';

const STRING: Schema = { type: 'string' };
const PULL: Schema = {
  type: 'object',
  required: ['url'],
  additionalProperties: { type: ['string', 'boolean', 'integer'] },
  properties: {
    accept_host_key: { type: 'boolean' }, clean: { type: 'boolean' }, full: { type: 'boolean' }, diff: { type: 'boolean' },
    ssh_common_args: STRING, scp_extra_args: STRING, sftp_extra_args: STRING, private_key: STRING, checkout: STRING,
    module_path: STRING, timeout: STRING, url: STRING, connection: STRING, vault_id: STRING, vault_password_file: STRING,
    verify_commit: { type: 'boolean' }, inventory: STRING, module_name: STRING, sleep: STRING, tags: STRING, skip_tags: STRING,
    playbook_name: STRING, playbook_names: { type: 'array', items: STRING },
  },
};
const SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    install_method: { enum: ['distro', 'pip'], description: "distro (the image's apt); pip is refused by ec2-init (PyPI)" },
    run_user: STRING,
    package_name: STRING,
    ansible_config: STRING,
    galaxy: { type: 'object', required: ['actions'], properties: { actions: { type: 'array', items: { type: 'array', items: STRING } } } },
    pull: { oneOf: [PULL, { type: 'array', items: PULL }] },
    setup_controller: {
      type: 'object',
      properties: {
        repositories: { type: 'array', items: { type: 'object', required: ['path', 'source'], properties: { path: STRING, source: STRING } } },
        run_ansible: { type: 'array', items: { type: 'object', properties: { playbook_dir: STRING, playbook_name: STRING } } },
      },
    },
  },
};

function cfgOf(config: ModuleRun['config']): Record<string, unknown> {
  const c = config['ansible'];
  if (c === null || c === undefined) return {};
  if (!isMapping(c)) throw new Error(`'ansible' must be a mapping, found ${show(c)}`);
  return c;
}

/** cloud-init's validate_config. */
function pulls(cfg: Record<string, unknown>): Record<string, unknown>[] {
  for (const key of ['install_method', 'package_name']) if (!cfg[key]) throw new Error(`missing required key '${key}' in ansible`);
  if (!['distro', 'pip'].includes(String(cfg['install_method']))) throw new Error(`invalid ansible.install_method ${show(cfg['install_method'])} (distro or pip)`);
  const given = cfg['pull'];
  if (given === undefined || given === null) return [];
  const list = isMapping(given) ? [given] : given;
  if (!Array.isArray(list)) throw new Error(`ansible.pull: expected a mapping or a list of them, found ${show(given)}`);
  return list.map((p, i) => {
    if (!isMapping(p)) throw new Error(`ansible.pull[${i}]: expected a mapping`);
    if (!p['url']) throw new Error(`ansible.pull[${i}]: missing required key 'url'`);
    if (!p['playbook_name'] && !p['playbook_names']) throw new Error(`ansible.pull[${i}]: missing required key 'playbook_names'`);
    if (p['playbook_name'] && p['playbook_names']) throw new Error(`ansible.pull[${i}]: 'playbook_name' and 'playbook_names' are mutually exclusive: use 'playbook_names'`);
    return p;
  });
}

/** cloud-init's filter_args: false dropped, '_' → '-', true → --flag, else --flag=value. */
export function pullArgs(cfg: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(cfg)) {
    if (v === false || k === 'playbook_name' || k === 'playbook_names') continue;
    out.push(v === true ? `--${k.replace(/_/g, '-')}` : `--${k.replace(/_/g, '-')}=${String(v)}`);
  }
  return out;
}

/** The version `ansible-pull --version` prints on its first line ([2, 14, 1]), or null. */
export function parseVersion(stdout: string): number[] | null {
  const m = /([\d.]+)/.exec(stdout.split('\n')[0] ?? '');
  return m ? m[1]!.split('.').filter(Boolean).map(Number) : null;
}

const atLeast = (v: number[], want: number[]) => {
  for (let i = 0; i < want.length; i++) if ((v[i] ?? 0) !== want[i]) return (v[i] ?? 0) > want[i]!;
  return true;
};

class Runner {
  private readonly ctx: Context;
  private readonly where: string;
  private readonly user: string | null;
  private readonly env: Record<string, string>;
  constructor(ctx: Context, where: string, user: string | null, env: Record<string, string>) {
    this.ctx = ctx; this.where = where; this.user = user; this.env = env;
  }
  /** cloud-init's do_as: `su - USER -c 'COMMAND'` when a run_user is given. */
  argv(command: string[], cwd?: string): string[] {
    const cd = cwd ? `cd ${shellQuote(cwd)} && ` : '';
    const envs = Object.entries(this.env).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
    if (this.user) return ['su', '-', this.user, '-c', `${cd}${envs ? `env ${envs} ` : ''}${command.map(shellQuote).join(' ')}`];
    return cwd ? ['/bin/sh', '-c', `${cd}exec ${command.map(shellQuote).join(' ')}`] : command;
  }
  async run(command: string[], cwd?: string): Promise<string> {
    const r = await this.ctx.capture(this.argv(command, cwd), { env: this.env, timeoutMs: 3_600_000 });
    if (r.code !== 0) throw new Error(`${command[0]}: exit ${r.code ?? r.signal}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-2).join('; ')}` : ''}`);
    if (r.stdout) this.ctx.log.info(`${this.where}: ${command[0]}: ${r.stdout.trim().split('\n').slice(-1)[0]}`);
    return r.stdout;
  }
}

async function run(r: ModuleRun): Promise<void> {
  const { ctx, where } = r;
  const cfg = cfgOf(r.config);
  if (Object.keys(cfg).length === 0) return;
  const pullList = pulls(cfg);
  if (cfg['install_method'] === 'pip') {
    throw new Error("install_method 'pip' installs ansible from PyPI, which ec2-init does not do: use install_method: distro (the image's 'ansible' package)");
  }
  const pkg = packageSpec(cfg['package_name']);
  if (!pkg.ok) throw new Error(`ansible.package_name: ${pkg.why}`);
  if (which(ctx.files, 'ansible') === null) await installPackages(ctx, r.config, r.instanceId, where, [pkg.value]);
  if (which(ctx.files, 'ansible') === null) throw new Error('command: ansible is not installed');
  let user: string | null = null;
  if (cfg['run_user'] !== undefined) {
    const u = accountName(cfg['run_user']);
    if (!u.ok) throw new Error(`ansible.run_user: ${u.why}`);
    user = u.value;
  }
  const env: Record<string, string> = {};
  if (cfg['ansible_config']) env['ANSIBLE_CONFIG'] = String(cfg['ansible_config']);
  const galaxy = isMapping(cfg['galaxy']) ? cfg['galaxy'] : null;
  const controller = isMapping(cfg['setup_controller']) ? cfg['setup_controller'] : null;
  if (!galaxy && pullList.length === 0 && !controller) return;
  if (!onRunningSystem(ctx, where, 'ansible-galaxy, ansible-pull and the controller setup', { essential: true })) return;
  const runner = new Runner(ctx, where, user, env);
  if (galaxy) {
    const actions = Array.isArray(galaxy['actions']) ? galaxy['actions'] : [];
    if (!actions.length) ctx.report('warning', where, 'ansible.galaxy has no actions');
    for (const a of actions) await runner.run(Array.isArray(a) ? a.map(String) : [String(a)]);
  }
  for (const p of pullList) {
    const names = (p['playbook_name'] ? [p['playbook_name']] : (p['playbook_names'] as unknown[])).map((n) => playbook(n, 'ansible.pull playbook_name'));
    const version = parseVersion(await runner.run(['ansible-pull', '--version']));
    if (!version) ctx.report('warning', where, 'cannot parse the ansible version');
    else if (!atLeast(version, [2, 7, 0]) && p['diff']) throw new Error(`ansible ${version.join('.')} does not support --diff`);
    // In sorted order, as cloud-init's final stage reads the config back (py-formats.ts, sortedKeys).
    const args = pullArgs(sortedKeys(p) as Record<string, unknown>);
    if (version && atLeast(version, [2, 12, 0])) await runner.run(['ansible-pull', ...args, ...names]);
    else for (const n of names) await runner.run(['ansible-pull', ...args, n]);
  }
  if (controller) {
    for (const repo of Array.isArray(controller['repositories']) ? controller['repositories'].filter(isMapping) : []) {
      // `--`: a source or path is never read as an option of git (--upload-pack=…).
      await runner.run(['git', 'clone', '--', String(repo['source']), String(repo['path'])]);
    }
    for (const a of Array.isArray(controller['run_ansible']) ? controller['run_ansible'].filter(isMapping) : []) {
      const { playbook_dir: dir, playbook_name: name, ...rest } = a;
      await runner.run(['ansible-playbook', playbook(name, 'ansible.ansible_config.run_ansible playbook_name'), ...pullArgs(rest)], dir === undefined ? undefined : String(dir));
    }
  }
}

export const ansible: Module = {
  name: 'ansible',
  stage: 'final',
  frequency: 'per-instance',
  keys: ['ansible'],
  schema: { ansible: SCHEMA },
  describe({ ctx, config }) {
    const cfg = cfgOf(config);
    if (Object.keys(cfg).length === 0) return [];
    const later = ctx.root === '/' ? '' : ' (left for the running system with --root)';
    const p = cfg['pull'];
    const n = Array.isArray(p) ? p.length : isMapping(p) ? 1 : 0;
    return [
      ...(which(ctx.files, 'ansible') === null ? [`install ${String(cfg['package_name'])} (${String(cfg['install_method'])})`] : []),
      ...(isMapping(cfg['galaxy']) ? [`ansible-galaxy actions${later}`] : []),
      ...(n ? [`ansible-pull ${n} repositor${n === 1 ? 'y' : 'ies'}${later}`] : []),
      ...(isMapping(cfg['setup_controller']) ? [`set up the ansible controller${later}`] : []),
    ];
  },
  run,
};

/** A playbook name as an argv word: given, and never an option (-e…, --vault-password-file=…). */
function playbook(v: unknown, key: string): string {
  if (typeof v !== 'string' || v === '' || v.startsWith('-')) throw new Error(`${key}: expected a playbook file name not starting with '-', found ${show(v)}`);
  return v;
}
