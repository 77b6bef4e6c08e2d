// chef (cloud-init's cc_chef, stage final, every boot): Chef's directories,
// the validation key (0600: it is a secret), /etc/chef/client.rb as
// cloud-init's chef_client.rb template renders it, firstboot.json (the
// run_list and initial_attributes, as Python's json.dumps writes them), the
// `chef` package from the image's apt when chef-client is missing (or
// force_install), then chef-client when `exec` (or a fresh install with exec)
// asks. client.rb is Ruby: every value is checked to be a plain one-line
// string (no quote, backslash or '#{') or a Ruby symbol before it lands there.
// install_type omnibus and gems fetch from the Internet: refused (README).
import { which } from '../host/root-facts.ts';
import type { Context } from '../context.ts';
import { VERSION } from '../version.ts';
import { type Checked, matching, show } from '../validate/check.ts';
import { pathUnderRoot } from '../validate/files.ts';
import { installPackages } from './distro-actions.ts';
import { isMapping, onRunningSystem, optionBool, rfc2822 } from './helpers.ts';
import type { Module, ModuleRun, Schema } from './module.ts';
import { pyJsonDumps, sortedKeys } from './py-formats.ts';

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

function cfgOf(config: ModuleRun['config']): Record<string, unknown> {
  const c = config['chef'];
  if (!isMapping(c)) throw new Error(`'chef' must be a mapping, found ${show(c)}`);
  return c;
}

/** cloud-init's get_template_params, each value checked. */
function params(ctx: Context, where: string, cfg: Record<string, unknown>, iid: string): Record<string, string | boolean | null> {
  const p: Record<string, string | boolean | null> = { ...DEFAULTS };
  for (const [k, v] of Object.entries(cfg)) {
    if (!TEMPLATE_KEYS.has(k)) continue;
    p[k] = v === null ? null : k === 'show_time' ? optionBool(cfg, k, true) : String(v);
  }
  p['node_name'] = cfg['node_name'] !== undefined ? String(cfg['node_name']) : iid;
  p['environment'] = cfg['environment'] !== undefined ? String(cfg['environment']) : '_default';
  for (const [k, v] of Object.entries(p)) {
    // validation_cert only says whether client.rb names the key (its text goes to the key file).
    if (typeof v !== 'string' || v === '' || k === 'validation_cert') continue;
    const c = SYMBOL_KEYS.has(k) ? rubySymbol(v) : PATH_KEYS.has(k) ? pathUnderRoot(v) : rubyString(v);
    const safe = c.ok && (!PATH_KEYS.has(k) || rubyString(v).ok);
    if (!safe) { ctx.report('error', where, `chef.${k}: ${c.ok ? 'a path without " or \\' : c.why}; left out of client.rb`); p[k] = null; }
  }
  return p;
}

/** client.rb as cloud-init's chef_client.rb.tmpl renders it (trim_blocks: a line per set value). */
function clientRb(p: Record<string, string | boolean | null>): string {
  const lines = [`# Created by ec2-init v. ${VERSION} on ${rfc2822()}`];
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

async function install(r: ModuleRun, cfg: Record<string, unknown>): Promise<boolean> {
  const type = cfg['install_type'] === undefined ? 'packages' : String(cfg['install_type']);
  if (type === 'gems' || type === 'omnibus') {
    throw new Error(`install_type '${type}' downloads ${type === 'gems' ? 'Chef from rubygems.org' : "Chef's omnibus install script"} from the Internet, which ec2-init does not do: `
      + "add Chef's apt repository under apt: sources and use install_type: packages (the package 'chef')");
  }
  if (type !== 'packages') { r.ctx.report('warning', r.where, `unknown install_type '${type}': chef not installed or run`); return false; }
  await installPackages(r.ctx, r.config, r.instanceId, r.where, ['chef']);
  return optionBool(cfg, 'exec', false);
}

function execArgs(ctx: Context, where: string, cfg: Record<string, unknown>): string[] {
  const given = cfg['exec_arguments'];
  if (given === undefined) return EXEC_ARGS;
  if (Array.isArray(given)) return given.map(String);
  if (typeof given === 'string') return [given];
  ctx.report('warning', where, `chef.exec_arguments: expected a list or a string, found ${show(given)}; ${EXEC_ARGS.join(' ')} used`);
  return EXEC_ARGS;
}

async function run(r: ModuleRun): Promise<void> {
  const { ctx, where } = r;
  const cfg = cfgOf(r.config);
  const dirs = Array.isArray(cfg['directories']) && cfg['directories'].length ? cfg['directories'] : CHEF_DIRS;
  for (const d of [...dirs, '/etc/chef']) {
    const p = pathUnderRoot(d);
    if (p.ok) ctx.files.mkdir(p.value);
    else ctx.report('error', where, `chef.directories: ${p.why}; left out`);
  }
  const keyPath = pathUnderRoot(cfg['validation_key'] ?? VALIDATION_PEM);
  const cert = cfg['validation_cert'];
  if (!keyPath.ok) ctx.report('error', where, `chef.validation_key: ${keyPath.why}`);
  else if (typeof cert === 'string' && cert !== '' && cert !== 'system') ctx.files.write(keyPath.value, cert, { mode: 0o600 });
  else if (cert === 'system' && !ctx.files.exists(keyPath.value)) ctx.report('warning', where, `validation_cert is 'system' but there is no ${keyPath.value}`);

  const rbPath = pathUnderRoot(cfg['config_path'] ?? CLIENT_RB);
  if (!rbPath.ok) throw new Error(`chef.config_path: ${rbPath.why}`);
  const p = params(ctx, where, cfg, r.instanceId);
  for (const [k, v] of Object.entries(p)) if (PATH_KEYS.has(k) && typeof v === 'string' && v) ctx.files.mkdir(dirOf(v));
  ctx.files.write(rbPath.value, clientRb(p), { mode: 0o644 });

  const fb = cfg['firstboot_path'] === undefined ? FIRSTBOOT : cfg['firstboot_path'];
  if (fb === '' || fb === null) ctx.log.info(`${where}: firstboot_path is empty: no first-boot JSON`);
  else {
    const fbPath = pathUnderRoot(fb);
    if (!fbPath.ok) ctx.report('error', where, `chef.firstboot_path: ${fbPath.why}`);
    else {
      const initial: Record<string, unknown> = {};
      if (cfg['run_list'] !== undefined) initial['run_list'] = cfg['run_list'];
      if (isMapping(cfg['initial_attributes'])) Object.assign(initial, sortedKeys(cfg['initial_attributes']));
      ctx.files.write(fbPath.value, pyJsonDumps(initial), { mode: 0o644 });
    }
  }

  const installed = which(ctx.files, EXEC) !== null;
  const exec = !installed || optionBool(cfg, 'force_install', false) ? await install(r, cfg) : optionBool(cfg, 'exec', false);
  if (!exec) return;
  const argv = [EXEC, ...execArgs(ctx, where, cfg)];
  if (!onRunningSystem(ctx, where, argv.join(' '), { essential: true })) return;
  if (!await ctx.runChecked(`${where} (chef-client)`, argv, { timeoutMs: 3_600_000 })) return;
  if (optionBool(cfg, 'delete_validation_post_exec', false) && keyPath.ok && ctx.files.exists(keyPath.value)) ctx.files.unlink(keyPath.value);
}

export const chef: Module = {
  name: 'chef',
  stage: 'final',
  frequency: 'per-boot',
  keys: ['chef'],
  schema: { chef: SCHEMA },
  describe({ ctx, config }) {
    const cfg = cfgOf(config);
    const out = [`write ${String(cfg['config_path'] ?? CLIENT_RB)} and ${String(cfg['firstboot_path'] ?? FIRSTBOOT)}`];
    if (typeof cfg['validation_cert'] === 'string' && cfg['validation_cert'] !== 'system') out.push(`write ${String(cfg['validation_key'] ?? VALIDATION_PEM)} (0600)`);
    if (which(ctx.files, EXEC) === null || optionBool(cfg, 'force_install', false)) out.push(`install chef (${String(cfg['install_type'] ?? 'packages')})`);
    if (optionBool(cfg, 'exec', false)) out.push(`run chef-client${ctx.root === '/' ? '' : ' (left for the running system with --root)'}`);
    return out;
  },
  run,
};
