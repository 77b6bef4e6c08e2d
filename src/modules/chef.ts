// chef (cloud-init's cc_chef, stage final, every boot): Chef's directories,
// the validation key (0600: it is a secret), /etc/chef/client.rb as
// cloud-init's chef_client.rb template renders it, firstboot.json (the
// run_list and initial_attributes, as Python's json.dumps writes them), the
// `chef` package from the image's apt when chef-client is missing (or
// force_install), then chef-client when `exec` (or a fresh install with exec)
// asks. client.rb is Ruby: every value is checked to be a plain one-line
// string (no quote, backslash or '#{') or a Ruby symbol before it lands there.
// install_type omnibus and gems fetch from the Internet: refused (README).
import type { Action } from '../host/actions.ts';
import type { Config } from '../config/merge.ts';
import { which } from '../host/root-facts.ts';
import { type Checked, matching, show } from '../validate/check.ts';
import { pathUnderRoot } from '../validate/files.ts';
import { installActions } from './distro-actions.ts';
import { isMapping, makeHeader, optionBool } from './helpers.ts';
import { actionModule, type ActionRun, type Report, type Schema } from './module.ts';
import { pyJsonDumps, sortedKeys } from './py-formats.ts';
import { argList, sectionOf } from './tool-config.ts';

const CHEF_DIRS = ['/etc/chef', '/var/log/chef', '/var/lib/chef', '/var/chef/cache', '/var/chef/backup', '/var/run/chef'];
const VALIDATION_PEM = '/etc/chef/validation.pem';
const FIRSTBOOT = '/etc/chef/firstboot.json';
const CLIENT_RB = '/etc/chef/client.rb';
const EXEC = '/usr/bin/chef-client';
const EXEC_ARGS = ['-d', '-i', '1800', '-s', '20'];

/** cloud-init's CHEF_RB_TPL_DEFAULTS. */
const DEFAULTS: Record<string, string | boolean | null> = {
  ssl_verify_mode: ':verify_none', log_level: ':info', log_location: '/var/log/chef/client.log',
  validation_key: VALIDATION_PEM, validation_cert: null, client_key: '/etc/chef/client.pem', json_attribs: FIRSTBOOT,
  file_cache_path: '/var/chef/cache', file_backup_path: '/var/chef/backup', pid_file: '/var/run/chef/client.pid',
  show_time: true, encrypted_data_bag_secret: null,
};
const PATH_KEYS = new Set(['log_location', 'validation_key', 'client_key', 'file_cache_path', 'json_attribs', 'pid_file', 'encrypted_data_bag_secret']);
const SYMBOL_KEYS = new Set(['ssl_verify_mode', 'log_level']);
const TEMPLATE_KEYS = new Set([...Object.keys(DEFAULTS), 'server_url', 'node_name', 'environment', 'validation_name', 'chef_license']);

const STRING: Schema = { type: 'string' };
const SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    directories: { type: 'array', items: STRING, description: 'directories made before anything is written' },
    validation_cert: { type: 'string', description: "the validation key (PEM), or 'system' for one already at validation_key" },
    validation_key: STRING,
    firstboot_path: STRING,
    exec: { type: 'boolean' },
    client_key: STRING, encrypted_data_bag_secret: STRING, environment: STRING, file_backup_path: STRING, file_cache_path: STRING,
    json_attribs: STRING, log_level: STRING, log_location: STRING, node_name: STRING, omnibus_url: STRING,
    omnibus_url_retries: { type: 'integer' }, omnibus_version: STRING, pid_file: STRING, server_url: STRING,
    show_time: { type: 'boolean' }, ssl_verify_mode: STRING, validation_name: STRING, chef_license: STRING,
    force_install: { type: 'boolean' },
    initial_attributes: { type: 'object' },
    install_type: { enum: ['packages', 'gems', 'omnibus'], description: "packages (the image's apt); gems and omnibus are refused by ec2-init (Internet)" },
    run_list: { type: 'array', items: STRING },
    config_path: STRING,
    delete_validation_post_exec: { type: 'boolean' },
    exec_arguments: { type: ['array', 'string'], items: STRING },
  },
};

/** A value of client.rb inside double quotes: one line, nothing Ruby would interpret. */
const rubyString = (v: unknown): Checked<string> => matching(v, /^(?!.*#\{)[^"\\\n]*$/, 'a client.rb value is one line without " or \\ or #{');
const rubySymbol = (v: unknown): Checked<string> => matching(v, /^:[a-z_]+$/, 'expected a Ruby symbol such as :info');

/** cloud-init's get_template_params, each value checked. */
function params(report: Report, cfg: Record<string, unknown>): Record<string, string | boolean | null> {
  const p: Record<string, string | boolean | null> = { ...DEFAULTS };
  for (const [k, v] of Object.entries(cfg)) {
    if (!TEMPLATE_KEYS.has(k)) continue;
    p[k] = v === null ? null : k === 'show_time' ? optionBool(cfg, k, true) : String(v);
  }
  // null: the instance-id, known when the actions are made.
  p['node_name'] = cfg['node_name'] !== undefined ? String(cfg['node_name']) : null;
  p['environment'] = cfg['environment'] !== undefined ? String(cfg['environment']) : '_default';
  for (const [k, v] of Object.entries(p)) {
    // validation_cert only says whether client.rb names the key (its text goes to the key file).
    if (typeof v !== 'string' || v === '' || k === 'validation_cert') continue;
    const c = SYMBOL_KEYS.has(k) ? rubySymbol(v) : PATH_KEYS.has(k) ? pathUnderRoot(v) : rubyString(v);
    const safe = c.ok && (!PATH_KEYS.has(k) || rubyString(v).ok);
    if (!safe) { report('error', `chef.${k}: ${c.ok ? 'a path without " or \\' : c.why}; left out of client.rb`); p[k] = null; }
  }
  return p;
}

/** client.rb's first line (cloud-init's make_header); the time of writing follows it (WriteAction.stampAt). */
const CLIENT_RB_HEADER = makeHeader('Created');

/** client.rb as cloud-init's chef_client.rb.tmpl renders it (trim_blocks: a line per set value). */
function clientRb(p: Record<string, string | boolean | null>): string {
  // cloud-init's make_header: the time goes in when it is written (stampAt), so plan and boot have one digest.
  const lines = [`${CLIENT_RB_HEADER}`];
  const q = (k: string, label: string) => { if (p[k]) lines.push(`${label.padEnd(22)} "${String(p[k])}"`); };
  q('chef_license', 'chef_license');
  if (p['log_level']) lines.push(`log_level              ${String(p['log_level'])}`);
  if (p['ssl_verify_mode']) lines.push(`ssl_verify_mode        ${String(p['ssl_verify_mode'])}`);
  q('log_location', 'log_location');
  q('validation_name', 'validation_client_name');
  if (p['validation_cert']) q('validation_key', 'validation_key');
  q('client_key', 'client_key');
  q('server_url', 'chef_server_url');
  q('environment', 'environment');
  q('node_name', 'node_name');
  q('json_attribs', 'json_attribs');
  q('file_cache_path', 'file_cache_path');
  q('file_backup_path', 'file_backup_path');
  q('pid_file', 'pid_file');
  if (p['show_time']) lines.push('Chef::Log::Formatter.show_time = true');
  if (p['encrypted_data_bag_secret']) lines.push(`encrypted_data_bag_secret "${String(p['encrypted_data_bag_secret'])}"`);
  // cloud-init's renderer adds the newline Jinja drops at the template's end: an empty last line.
  return `${lines.join('\n')}\n\n`;
}

function dirOf(path: string): string { return path.slice(0, path.lastIndexOf('/')) || '/'; }

interface Chef {
  dirs: string[];
  /** The validation key's path (null: not a path, reported) and what to put there. */
  key: string | null;
  cert: unknown;
  /** client.rb's path (null: not a path, reported: nothing after the key is done, as cloud-init stops there). */
  rb: string | null;
  params: Record<string, string | boolean | null>;
  /** No node_name given: the instance-id is the node's name. */
  nodeIsIid: boolean;
  /** firstboot.json's path; '' when none is wanted; null when not a path (reported). */
  firstboot: string | null;
  firstbootJson: string;
  installType: string;
  exec: boolean;
  forceInstall: boolean;
  execArgs: string[];
  deleteKey: boolean;
}

function check(config: Config, report: Report): Chef | null {
  const cfg = sectionOf(config, 'chef', report, '');
  if (!cfg) return null;
  const given = Array.isArray(cfg['directories']) && cfg['directories'].length ? cfg['directories'] : CHEF_DIRS;
  const dirs: string[] = [];
  for (const d of [...given, '/etc/chef']) {
    const p = pathUnderRoot(d);
    if (p.ok) dirs.push(p.value);
    else report('error', `chef.directories: ${p.why}; left out`);
  }
  const key = pathUnderRoot(cfg['validation_key'] ?? VALIDATION_PEM);
  if (!key.ok) report('error', `chef.validation_key: ${key.why}`);
  const rb = pathUnderRoot(cfg['config_path'] ?? CLIENT_RB);
  if (!rb.ok) report('error', `chef.config_path: ${rb.why}`);
  const fb = cfg['firstboot_path'] === undefined ? FIRSTBOOT : cfg['firstboot_path'];
  const fbPath = fb === '' || fb === null ? null : pathUnderRoot(fb);
  if (fbPath && !fbPath.ok) report('error', `chef.firstboot_path: ${fbPath.why}`);
  return {
    dirs, key: key.ok ? key.value : null, cert: cfg['validation_cert'], rb: rb.ok ? rb.value : null,
    params: rb.ok ? params(report, cfg) : {}, nodeIsIid: cfg['node_name'] === undefined,
    firstboot: fbPath === null ? '' : fbPath.ok ? fbPath.value : null, firstbootJson: firstbootJson(cfg),
    installType: cfg['install_type'] === undefined ? 'packages' : String(cfg['install_type']),
    exec: optionBool(cfg, 'exec', false), forceInstall: optionBool(cfg, 'force_install', false),
    execArgs: argList(cfg, 'exec_arguments', 'chef.exec_arguments', EXEC_ARGS, false, report),
    deleteKey: optionBool(cfg, 'delete_validation_post_exec', false),
  };
}

/** firstboot.json: the run_list and initial_attributes, as Python's json.dumps writes them. */
function firstbootJson(cfg: Record<string, unknown>): string {
  const initial: Record<string, unknown> = {};
  if (cfg['run_list'] !== undefined) initial['run_list'] = cfg['run_list'];
  if (isMapping(cfg['initial_attributes'])) Object.assign(initial, sortedKeys(cfg['initial_attributes']));
  return pyJsonDumps(initial);
}

/** The install (when chef-client is missing, or force_install) and whether chef-client runs then; null: refused, reported. */
function install(c: Chef, run: ActionRun): { actions: Action[]; exec: boolean } | null {
  if (which(run.files, EXEC) !== null && !c.forceInstall) return { actions: [], exec: c.exec };
  if (c.installType === 'gems' || c.installType === 'omnibus') {
    run.report('error', `install_type '${c.installType}' downloads ${c.installType === 'gems' ? 'Chef from rubygems.org' : "Chef's omnibus install script"} from the Internet, which ec2-init does not do: `
      + "add Chef's apt repository under apt: sources and use install_type: packages (the package 'chef')");
    return null;
  }
  if (c.installType !== 'packages') { run.report('warning', `unknown install_type '${c.installType}': chef not installed or run`); return { actions: [], exec: false }; }
  const actions = installActions(run, ['chef']);
  return actions.length ? { actions, exec: c.exec } : null;
}

export const chef = actionModule<Chef>({
  name: 'chef',
  stage: 'final',
  frequency: 'per-boot',
  keys: ['chef'],
  schema: { chef: SCHEMA },
  check,
  actions(c, run): Action[] {
    // Each directory once (the list names /etc/chef again, and client.rb's paths share theirs).
    const made = new Set<string>();
    const mkdir = (path: string): Action[] => (made.has(path) ? [] : (made.add(path), [{ kind: 'mkdir', path, mode: 0o755 }]));
    const out: Action[] = c.dirs.flatMap(mkdir);
    if (c.key !== null && typeof c.cert === 'string' && c.cert !== '' && c.cert !== 'system') {
      out.push({ kind: 'write', path: c.key, content: c.cert, mode: 0o600, why: 'the validation key' });
    } else if (c.key !== null && c.cert === 'system' && !run.files.exists(c.key)) {
      run.report('warning', `validation_cert is 'system' but there is no ${c.key}`);
    }
    if (c.rb === null) return out;
    // The instance-id comes from the datasource: checked as any client.rb value.
    const iid = c.nodeIsIid && rubyString(run.instanceId).ok ? run.instanceId : null;
    if (c.nodeIsIid && iid === null) run.report('error', `chef.node_name: the instance-id ${show(run.instanceId)} is not a client.rb value (one line without " or \\ or #{); left out of client.rb`);
    const p = c.nodeIsIid ? { ...c.params, node_name: iid } : c.params;
    for (const [k, v] of Object.entries(p)) if (PATH_KEYS.has(k) && typeof v === 'string' && v) out.push(...mkdir(dirOf(v)));
    out.push({ kind: 'write', path: c.rb, content: clientRb(p), mode: 0o644, stampAt: CLIENT_RB_HEADER.length });
    if (c.firstboot === '') out.push({ kind: 'log', text: `${run.where}: firstboot_path is empty: no first-boot JSON` });
    else if (c.firstboot !== null) out.push({ kind: 'write', path: c.firstboot, content: c.firstbootJson, mode: 0o644 });
    const installing = install(c, run);
    if (installing === null) return out;
    out.push(...installing.actions);
    if (!installing.exec) return out;
    const key = c.key;
    out.push({
      kind: 'run', argv: [EXEC, ...c.execArgs], timeoutMs: 3_600_000, why: 'chef-client', runningSystem: 'essential',
      ...(c.deleteKey && key !== null && {
        logOutput: true,
        then: (): Action[] => (run.files.exists(key) ? [{ kind: 'remove', path: key, why: 'delete_validation_post_exec' }] : []),
      }),
    });
    return out;
  },
});
