// ansible (cloud-init's cc_ansible, stage final, per instance): install
// ansible (`package_name`) from the image's apt when `ansible` is missing
// (install_method: distro), then, on the running system, the galaxy actions,
// ansible-pull of each `pull` entry (its keys as --key=value flags, one call
// for all playbooks from ansible 2.12, one per playbook before) and the
// controller setup (git clone, ansible-playbook), as `run_user` when given
// (su -), with ANSIBLE_CONFIG from ansible_config. install_method pip
// installs from PyPI: refused (README). Under --root the pulls are left for
// the running system: they change the machine ansible runs on.
import type { Action, RunAction } from '../host/actions.ts';
import type { Config } from '../config/merge.ts';
import { which } from '../host/root-facts.ts';
import { accountName } from '../validate/files.ts';
import { show } from '../validate/check.ts';
import { installActions, packageSpec } from './distro-actions.ts';
import { sortedKeys } from './py-formats.ts';
import { isMapping } from './helpers.ts';
import { actionModule, shellQuote, type Report, type Schema } from './module.ts';
import { sectionOf } from './tool-config.ts';

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

/** A pull: its flags (sorted, as cloud-init's final stage reads the config back: py-formats.ts, sortedKeys), its playbooks, whether it asks for --diff. */
interface Pull { args: string[]; playbooks: string[]; diff: boolean }
interface Ansible {
  pkg: string;
  user: string | null;
  env: Record<string, string>;
  /** null: no galaxy key; [] a galaxy key without actions (a warning). */
  galaxy: string[][] | null;
  pulls: Pull[];
  clones: Array<[string, string]>;
  playbooks: Array<{ argv: string[]; dir?: string }>;
}

/** cloud-init's validate_config, plus: no user-data word becomes an option of ansible. */
function check(config: Config, report: Report): Ansible | null {
  const cfg = sectionOf(config, 'ansible', report);
  if (!cfg || Object.keys(cfg).length === 0) return null;
  const fail = (message: string) => { report('error', message); return null; };
  for (const key of ['install_method', 'package_name']) if (!cfg[key]) return fail(`missing required key '${key}' in ansible`);
  if (!['distro', 'pip'].includes(String(cfg['install_method']))) return fail(`invalid ansible.install_method ${show(cfg['install_method'])} (distro or pip)`);
  const given = cfg['pull'] ?? [];
  const list = isMapping(given) ? [given] : given;
  if (!Array.isArray(list)) return fail(`ansible.pull: expected a mapping or a list of them, found ${show(given)}`);
  const pulls: Pull[] = [];
  for (const [i, p] of list.entries()) {
    if (!isMapping(p)) return fail(`ansible.pull[${i}]: expected a mapping`);
    if (!p['url']) return fail(`ansible.pull[${i}]: missing required key 'url'`);
    if (!p['playbook_name'] && !p['playbook_names']) return fail(`ansible.pull[${i}]: missing required key 'playbook_names'`);
    if (p['playbook_name'] && p['playbook_names']) return fail(`ansible.pull[${i}]: 'playbook_name' and 'playbook_names' are mutually exclusive: use 'playbook_names'`);
    const names = p['playbook_name'] ? [p['playbook_name']] : Array.isArray(p['playbook_names']) ? p['playbook_names'] : [p['playbook_names']];
    const playbooks = names.map((n) => playbook(n));
    if (playbooks.some((n) => n === null)) { report('error', `ansible.pull[${i}]: ${badPlaybook(names)}; left out`); continue; }
    pulls.push({ args: pullArgs(sortedKeys(p) as Record<string, unknown>), playbooks: playbooks as string[], diff: Boolean(p['diff']) });
  }
  if (cfg['install_method'] === 'pip') {
    return fail("install_method 'pip' installs ansible from PyPI, which ec2-init does not do: use install_method: distro (the image's 'ansible' package)");
  }
  const pkg = packageSpec(cfg['package_name']);
  if (!pkg.ok) return fail(`ansible.package_name: ${pkg.why}`);
  let user: string | null = null;
  if (cfg['run_user'] !== undefined) {
    const u = accountName(cfg['run_user']);
    if (!u.ok) return fail(`ansible.run_user: ${u.why}`);
    user = u.value;
  }
  const galaxy = isMapping(cfg['galaxy']) ? cfg['galaxy'] : null;
  const controller = isMapping(cfg['setup_controller']) ? cfg['setup_controller'] : {};
  const playbooks: Ansible['playbooks'] = [];
  for (const a of Array.isArray(controller['run_ansible']) ? controller['run_ansible'].filter(isMapping) : []) {
    const { playbook_dir: dir, playbook_name: name, ...rest } = a;
    const book = playbook(name);
    if (book === null) { report('error', `ansible.setup_controller.run_ansible: ${badPlaybook([name])}; left out`); continue; }
    playbooks.push({ argv: ['ansible-playbook', book, ...pullArgs(rest)], ...(dir !== undefined && { dir: String(dir) }) });
  }
  return {
    pkg: pkg.value, user, env: cfg['ansible_config'] ? { ANSIBLE_CONFIG: String(cfg['ansible_config']) } : {},
    galaxy: galaxy && (Array.isArray(galaxy['actions']) ? galaxy['actions'] : []).map((a) => (Array.isArray(a) ? a.map(String) : [String(a)])),
    pulls,
    clones: (Array.isArray(controller['repositories']) ? controller['repositories'].filter(isMapping) : []).map((r) => [String(r['source']), String(r['path'])]),
    playbooks,
  };
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

/** cloud-init's do_as: `su - USER -c 'COMMAND'` when a run_user is given; `cwd` by a shell's cd. */
export function asUser(user: string | null, env: Record<string, string>, command: string[], cwd?: string): string[] {
  const cd = cwd ? `cd ${shellQuote(cwd)} && ` : '';
  const envs = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
  if (user) return ['su', '-', user, '-c', `${cd}${envs ? `env ${envs} ` : ''}${command.map(shellQuote).join(' ')}`];
  return cwd ? ['/bin/sh', '-c', `${cd}exec ${command.map(shellQuote).join(' ')}`] : command;
}

export const ansible = actionModule<Ansible>({
  name: 'ansible',
  stage: 'final',
  frequency: 'per-instance',
  keys: ['ansible'],
  schema: { ansible: SCHEMA },
  check,
  actions(a, run): Action[] {
    const out: Action[] = [];
    if (which(run.files, 'ansible') === null) {
      // The package must bring the command (ansible-core alone does not).
      const installed = installActions(run, [a.pkg], undefined,
        () => (which(run.files, 'ansible') === null ? [{ kind: 'report', level: 'error', message: 'command: ansible is not installed' }] : []));
      if (installed.length === 0) return [];
      out.push(...installed);
    }
    // Everything else changes the machine ansible runs on: the running system's.
    const step = (command: string[], why: string, extra: Partial<RunAction> = {}, cwd?: string): Action => ({
      kind: 'run', argv: asUser(a.user, a.env, command, cwd), timeoutMs: 3_600_000, why, runningSystem: 'essential',
      ...(Object.keys(a.env).length && { env: a.env }), ...extra,
    });
    if (a.galaxy !== null && a.galaxy.length === 0) run.report('warning', 'ansible.galaxy has no actions');
    for (const [i, g] of (a.galaxy ?? []).entries()) out.push(step(g, `galaxy action ${i + 1}`));
    for (const [i, p] of a.pulls.entries()) {
      out.push(step(['ansible-pull', '--version'], `the ansible version, for pull ${i + 1}`, {
        then: (r): Action[] => {
          const version = parseVersion(r.stdout);
          if (version && !atLeast(version, [2, 7, 0]) && p.diff) return [{ kind: 'report', level: 'error', message: `ansible ${version.join('.')} does not support --diff` }];
          const warn: Action[] = version ? [] : [{ kind: 'report', level: 'warning', message: 'cannot parse the ansible version' }];
          // One call for all playbooks from ansible 2.12, one per playbook before.
          const calls = version && atLeast(version, [2, 12, 0]) ? [[...p.args, ...p.playbooks]] : p.playbooks.map((n) => [...p.args, n]);
          return [...warn, ...calls.map((c) => step(['ansible-pull', ...c], `pull ${i + 1}`))];
        },
      }));
    }
    // `--`: a source or path is never read as an option of git (--upload-pack=…).
    for (const [source, path] of a.clones) out.push(step(['git', 'clone', '--', source, path], `clone into ${path}`));
    for (const [i, pb] of a.playbooks.entries()) out.push(step(pb.argv, `run_ansible ${i + 1}`, {}, pb.dir));
    return out;
  },
});

/** A playbook name as an argv word: given, and never an option (-e…, --vault-password-file=…); null when not. */
function playbook(v: unknown): string | null {
  return typeof v !== 'string' || v === '' || v.startsWith('-') ? null : v;
}

function badPlaybook(names: unknown[]): string {
  return `expected a playbook file name not starting with '-', found ${names.filter((n) => playbook(n) === null).map(show).join(', ')}`;
}
