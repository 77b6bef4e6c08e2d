// rsyslog (cloud-init's cc_rsyslog), once per instance in stage init, before
// users_groups: rsyslog configuration files under /etc/rsyslog.d. Each
// `configs` entry (a string, or {content, filename}) goes to its file —
// `config_filename` (20-cloud-config.conf) unless it names one; the first
// entry for a file truncates it, later ones append; each ends with a
// newline. `remotes` ({name: '[filter] [@|@@]host[:port]'}) become one
// "# begin remotes … # end remotes" entry of forward rules ('@' UDP, '@@'
// TCP), each checked by validate/modules.ts first. `install_rsyslog: true`
// installs `packages` from the image's apt when `check_exe` is missing.
// When a file was written rsyslog is reloaded (`systemctl
// reload-or-try-restart rsyslog`, or `service_reload_command`) on the
// running system only. The old list form (`rsyslog: [...]`, with
// rsyslog_filename / rsyslog_dir) is read as cloud-init reads it.
import type { Action } from '../host/actions.ts';
import { pathUnderRoot } from '../validate/files.ts';
import { rsyslogRemote } from '../validate/modules.ts';
import { usesSystemd, which } from '../host/root-facts.ts';
import { installActions } from './distro-actions.ts';
import { packageSpec } from '../validate/packages.ts';
import { isMapping } from './helpers.ts';
import { actionModule, type ActionRun, type ModuleRun, type Schema } from './module.ts';

export interface RsyslogConfig {
  configs: unknown[];
  config_dir: string;
  config_filename: string;
  remotes: Record<string, unknown>;
  service_reload_command: string | string[];
  check_exe: string;
  packages: string[];
  install_rsyslog: boolean;
}

const DEFAULTS: RsyslogConfig = {
  configs: [],
  config_dir: '/etc/rsyslog.d',
  config_filename: '20-cloud-config.conf',
  remotes: {},
  service_reload_command: 'auto',
  check_exe: 'rsyslogd',
  packages: ['rsyslog'],
  install_rsyslog: false,
};

const TYPES: Record<keyof RsyslogConfig, (v: unknown) => boolean> = {
  configs: Array.isArray,
  config_dir: (v) => typeof v === 'string',
  config_filename: (v) => typeof v === 'string',
  remotes: isMapping,
  service_reload_command: (v) => typeof v === 'string' || Array.isArray(v),
  check_exe: (v) => typeof v === 'string',
  packages: Array.isArray,
  install_rsyslog: (v) => typeof v === 'boolean',
};

/** cloud-init's load_config: the defaults filled in, the list form converted; a wrong type throws naming the key. */
export function loadRsyslogConfig(config: ModuleRun['config']): RsyslogConfig {
  const given = config['rsyslog'];
  let my: Record<string, unknown>;
  if (Array.isArray(given)) {
    my = { configs: given };
    if (config['rsyslog_filename'] !== undefined) my['config_filename'] = config['rsyslog_filename'];
    if (config['rsyslog_dir'] !== undefined) my['config_dir'] = config['rsyslog_dir'];
  } else if (isMapping(given)) {
    my = { ...given };
  } else if (given === undefined || given === null) {
    my = {};
  } else {
    throw new Error(`rsyslog: expected a mapping, found ${typeof given}`);
  }
  const out = { ...DEFAULTS } as Record<string, unknown>;
  for (const key of Object.keys(DEFAULTS) as (keyof RsyslogConfig)[]) {
    if (my[key] === undefined) continue;
    if (!TYPES[key](my[key])) throw new Error(`rsyslog.${key}: invalid type (expected ${Array.isArray(DEFAULTS[key]) ? 'a list' : typeof DEFAULTS[key] === 'object' ? 'a mapping' : typeof DEFAULTS[key]}${key === 'service_reload_command' ? ' or a list' : ''})`);
    out[key] = my[key];
  }
  return out as unknown as RsyslogConfig;
}

/** The remotes as one config entry (cloud-init's remotes_to_rsyslog_cfg); bad ones are reported and left out. */
export function remotesEntry(remotes: Record<string, unknown>, warn: (m: string) => void): string | null {
  if (Object.keys(remotes).length === 0) return null;
  const lines = ['# begin remotes'];
  for (const [name, line] of Object.entries(remotes)) {
    if (line === undefined || line === null || line === '' || line === false) continue;
    const r = rsyslogRemote(name, String(line));
    if (r.ok) lines.push(r.value); else warn(`failed loading remote ${name}: ${r.why}`);
  }
  lines.push('# end remotes');
  return `${lines.join('\n')}\n`;
}

export interface RsyslogFile { path: string; content: string }

/** The files the entries make (cloud-init's apply_rsyslog_changes), in order; bad entries reported and left out. */
export function rsyslogFiles(cfg: RsyslogConfig, configs: unknown[], warn: (m: string) => void): RsyslogFile[] {
  const files: RsyslogFile[] = [];
  configs.forEach((ent, i) => {
    let content: string;
    let filename: unknown = cfg.config_filename;
    if (isMapping(ent)) {
      if (ent['content'] === undefined) { warn(`no 'content' in config entry ${i + 1}`); return; }
      content = String(ent['content']);
      if (ent['filename'] !== undefined && ent['filename'] !== null) filename = ent['filename'];
    } else {
      content = String(ent);
    }
    const name = String(filename).trim();
    if (!name) { warn(`entry ${i + 1} has an empty filename`); return; }
    const full = pathUnderRoot(name.startsWith('/') ? name : `${cfg.config_dir.replace(/\/+$/, '')}/${name}`);
    if (!full.ok) { warn(`entry ${i + 1}: the file ${full.why}`); return; }
    const text = content.endsWith('\n') ? content : `${content}\n`;
    const seen = files.find((f) => f.path === full.value);
    if (seen) seen.content += text; else files.push({ path: full.value, content: text });
  });
  return files;
}

/** The reload (cloud-init's reload_syslog), for the running system only; a failure is a warning. */
function reload(run: Pick<ActionRun, 'files'>, command: string | string[]): Action {
  const argv = command === 'auto'
    ? (usesSystemd(run.files) ? ['systemctl', 'reload-or-try-restart', 'rsyslog'] : ['service', 'rsyslog', 'restart'])
    // cloud-init runs a string as one program name (no shell), a list as an argv.
    : Array.isArray(command) ? command.map(String) : [command];
  return { kind: 'run', argv, timeoutMs: 120_000, runningSystem: 'optional', failure: 'warning', why: 'reload rsyslog' };
}

/** What check() makes of the config: the files to write, and what to install first when `check_exe` is missing. */
export interface RsyslogValue { files: RsyslogFile[]; install: string[] | null; checkExe: string; reload: string | string[] }

const SCHEMA: Schema = {
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      properties: {
        config_dir: { type: 'string', description: 'default /etc/rsyslog.d' },
        config_filename: { type: 'string', description: 'default 20-cloud-config.conf' },
        configs: {
          type: 'array',
          items: { oneOf: [{ type: 'string' }, { type: 'object', required: ['content'], additionalProperties: false, properties: { filename: { type: 'string' }, content: { type: 'string' } } }] },
        },
        remotes: { type: 'object', additionalProperties: { type: ['string', 'null'] }, description: "name → '[filter] [@|@@]host[:port]'" },
        service_reload_command: { oneOf: [{ enum: ['auto'] }, { type: 'array', items: { type: 'string' } }] },
        install_rsyslog: { type: 'boolean' },
        check_exe: { type: 'string' },
        packages: { type: 'array', items: { type: 'string' } },
      },
    },
    { type: 'array', deprecated: 'rsyslog as a list is deprecated since cloud-init 22.2: use rsyslog.configs' },
  ],
};

export const rsyslog = actionModule<RsyslogValue>({
  name: 'rsyslog',
  stage: 'init',
  frequency: 'per-instance',
  keys: ['rsyslog'],
  schema: {
    rsyslog: SCHEMA,
    rsyslog_filename: { type: 'string', deprecated: 'with rsyslog as a list only (cloud-init 22.2): use rsyslog.config_filename' },
    rsyslog_dir: { type: 'string', deprecated: 'with rsyslog as a list only (cloud-init 22.2): use rsyslog.config_dir' },
  },
  check(config, report) {
    let cfg: RsyslogConfig;
    try { cfg = loadRsyslogConfig(config); } catch (e) { report('error', (e as Error).message); return null; }
    const warn = (m: string) => report('warning', m);
    const configs = [...cfg.configs];
    const remotes = remotesEntry(cfg.remotes, warn);
    if (remotes) configs.push(remotes);
    // Names go into apt-get's argv: a package name, never an option (-o…); a bad one is left out.
    const install = cfg.install_rsyslog ? cfg.packages.flatMap((p, i) => {
      const c = packageSpec(p);
      if (c.ok) return [c.value];
      report('error', `rsyslog.packages[${i}]: ${c.why}; left out`);
      return [];
    }) : null;
    return { files: rsyslogFiles(cfg, configs, warn), install, checkExe: cfg.check_exe, reload: cfg.service_reload_command };
  },
  actions(value, run) {
    const actions: Action[] = [];
    if (value.install !== null && which(run.files, value.checkExe) === null) {
      const install = installActions(run, value.install);
      if (install.length === 0 && value.install.length) return []; // no apt-get: reported, nothing done
      actions.push(...install);
    }
    if (value.files.length === 0) return [...actions, { kind: 'log', text: `${run.where}: no configs: nothing to write` }];
    for (const f of value.files) actions.push({ kind: 'write', path: f.path, content: f.content, mode: 0o644, parents: { mode: 0o755 } });
    actions.push(reload(run, value.reload));
    return actions;
  },
});
