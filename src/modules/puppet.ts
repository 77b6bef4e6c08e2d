// puppet (cloud-init's cc_puppet, stage final, per instance): install the
// agent from the image's apt (package_name, else puppet-agent, else puppet,
// at `version` when given), merge `conf` into puppet.conf (its sections and
// options; `ca_cert` becomes <ssldir>/certs/ca.pem owned by puppet), write
// `csr_attributes` as YAML, enable the service, run `puppet agent` when
// `exec` is true, and start the service. Paths not given come from
// `puppet config print`, as cloud-init asks them. install_type aio needs a
// script from the Internet: refused (README, "Differences from cloud-init").
// Every section, option name and value is checked before it is a line of
// puppet.conf; csr_attributes (it may hold a challenge password) is 0600.
import { resolveOwner } from '../host/accounts.ts';
import type { Context } from '../context.ts';
import { type Checked, matching, ok, show } from '../validate/check.ts';
import { pathUnderRoot } from '../validate/files.ts';
import { installPackages, manageService, packageSpec } from './distro-actions.ts';
import { hostnameFqdn } from './hostname.ts';
import { isMapping, isTrue, onRunningSystem, optionBool } from './helpers.ts';
import type { Module, ModuleRun, Schema } from './module.ts';
import { pyStr, pyYamlDump, readIni, sortedKeys, writeIni } from './py-formats.ts';

const PACKAGE_NAMES = ['puppet-agent', 'puppet'];
const DEFAULT_ARGS = ['--test'];

const STRING: Schema = { type: 'string' };
const SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    install: { type: 'boolean', description: 'install puppet (default true)' },
    version: STRING,
    install_type: { enum: ['packages', 'aio'], description: 'packages (the image\'s apt); aio is refused by ec2-init (downloads an install script)' },
    collection: STRING,
    aio_install_url: STRING,
    cleanup: { type: 'boolean' },
    conf_file: STRING,
    ssl_dir: STRING,
    csr_attributes_path: STRING,
    package_name: STRING,
    exec: { type: 'boolean', description: 'run puppet agent once (default false)' },
    exec_args: { type: ['array', 'string'], items: STRING },
    start_service: { type: 'boolean', description: 'enable and start the puppet service (default true)' },
    conf: {
      type: 'object',
      description: 'puppet.conf sections (main, server, agent, user) of name: value, and ca_cert (the CA certificate, PEM)',
      properties: { ca_cert: STRING },
      additionalProperties: { type: 'object', additionalProperties: { type: ['string', 'integer', 'number', 'boolean'] } },
    },
    csr_attributes: {
      type: 'object',
      additionalProperties: false,
      properties: { custom_attributes: { type: 'object' }, extension_requests: { type: 'object' } },
    },
  },
};

const sectionName = (v: unknown): Checked<string> => matching(v, /^[A-Za-z0-9_.-]+$/, 'a puppet.conf section is a word (letters, digits, _ . -)');
const optionName = (v: unknown): Checked<string> => matching(v, /^[A-Za-z0-9_.-]+$/, 'a puppet.conf setting is a word (letters, digits, _ . -)');
function optionValue(v: unknown): Checked<string> {
  if (typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return ok(pyStr(v));
  const t = matching(v, /^[^\n]*$/, 'a puppet.conf value is one line');
  return t.ok ? ok(t.value.trim()) : t;
}

function cfgOf(config: ModuleRun['config']): Record<string, unknown> {
  const c = config['puppet'];
  if (c === null || c === undefined) return {};
  if (!isMapping(c)) throw new Error(`'puppet' must be a mapping, found ${show(c)}`);
  return c;
}

function str(cfg: Record<string, unknown>, key: string): string | undefined {
  const v = cfg[key];
  return v === undefined || v === null ? undefined : String(v);
}

/** `puppet config print SETTING`, as cloud-init asks it for the paths not given. */
async function configValue(ctx: Context, bin: string, setting: string): Promise<string> {
  const r = await ctx.capture([bin, 'config', 'print', setting], { timeoutMs: 120_000 });
  if (r.code === 0 && r.stdout.trim()) return r.stdout.trimEnd();
  throw new Error(`'${bin} config print ${setting}' failed (exit ${r.code ?? r.signal}): give puppet.${setting === 'config' ? 'conf_file' : setting === 'ssldir' ? 'ssl_dir' : 'csr_attributes_path'}`);
}

async function path(ctx: Context, cfg: Record<string, unknown>, key: string, bin: string, setting: string): Promise<string> {
  const given = cfg[key];
  const raw = given === undefined || given === null ? await configValue(ctx, bin, setting) : given;
  const p = pathUnderRoot(raw);
  if (!p.ok) throw new Error(`puppet.${key}: ${p.why}`);
  return p.value;
}

async function install(r: ModuleRun, cfg: Record<string, unknown>): Promise<boolean> {
  const { ctx, where } = r;
  const version = str(cfg, 'version');
  const installType = str(cfg, 'install_type') ?? 'packages';
  if (!optionBool(cfg, 'install', true)) {
    if (version) ctx.log.warn(`${where}: install is false but a version is given: doing nothing`);
    return true;
  }
  if (installType === 'aio') {
    throw new Error("install_type 'aio' runs puppetlabs' install script from the Internet, which ec2-init does not do: "
      + "add puppetlabs' apt repository under apt: sources and use install_type: packages with package_name: puppet-agent");
  }
  if (installType !== 'packages') { ctx.report('warning', where, `unknown install_type '${installType}': puppet not installed or run`); return false; }
  const names = str(cfg, 'package_name') !== undefined ? [str(cfg, 'package_name')!] : PACKAGE_NAMES;
  const errors: string[] = [];
  for (const name of names) {
    const spec = packageSpec(version ? `${name}=${version}` : name);
    if (!spec.ok) throw new Error(`puppet.package_name/version: ${spec.why}`);
    try { await installPackages(ctx, r.config, r.instanceId, where, [spec.value]); return true; } catch (e) {
      errors.push((e as Error).message);
      ctx.log.info(`${where}: ${name} not installed (${(e as Error).message})`);
    }
  }
  if (names.length === 1) throw new Error(errors[0]);
  ctx.report('warning', where, `no installable puppet package in any of: ${names.join(', ')} (${errors.join('; ')})`);
  return true;
}

/** puppet.conf with `conf` merged in, and the CA certificate written. */
function applyConf(r: ModuleRun, cfg: Record<string, unknown>, confPath: string, sslDir: string, user: string): void {
  const { ctx, where } = r;
  // Sections and settings in sorted order, as cloud-init's final stage reads them (py-formats.ts, sortedKeys).
  const conf = sortedKeys(cfg['conf']);
  if (!isMapping(conf)) return;
  const ini = readIni(ctx.files.readTextIfExists(confPath) ?? '', (line, why) => ctx.report('warning', where, `${confPath} line ${line}: ${why}; left out`));
  for (const [section, options] of Object.entries(conf)) {
    if (section === 'ca_cert') {
      if (typeof options !== 'string') { ctx.report('error', where, 'puppet.conf.ca_cert: expected the certificate as text; left out'); continue; }
      let owner;
      try { owner = resolveOwner(ctx.files, `${user}:root`); } catch (e) { ctx.report('error', where, `puppet.conf.ca_cert: ${(e as Error).message}; ca.pem not written`); continue; }
      ctx.files.ensureDir(sslDir, 0o771, owner.uid, owner.gid);
      ctx.files.ensureDir(`${sslDir}/certs`, 0o755, owner.uid, owner.gid);
      ctx.files.write(`${sslDir}/certs/ca.pem`, options, { mode: 0o644, uid: owner.uid, gid: owner.gid });
      continue;
    }
    const s = sectionName(section);
    if (!s.ok) { ctx.report('error', where, `puppet.conf.${show(section)}: ${s.why}; left out`); continue; }
    if (!isMapping(options)) { ctx.report('error', where, `puppet.conf.${s.value}: expected a mapping of settings; left out`); continue; }
    const target = ini.sections.get(s.value) ?? new Map<string, string | null>();
    ini.sections.set(s.value, target);
    for (const [name, value] of Object.entries(options)) {
      const n = optionName(name);
      let v = optionValue(value);
      if (v.ok && n.ok && n.value.toLowerCase() === 'certname') {
        // %f: the fully qualified name, %i: the instance-id; puppet wants it in lower case.
        const fqdn = hostnameFqdn(ctx, r.config, r.source).fqdn;
        v = optionValue(v.value.replace(/%f/g, fqdn).replace(/%i/g, r.instanceId).toLowerCase());
      }
      if (!n.ok || !v.ok) { ctx.report('error', where, `puppet.conf.${s.value}.${show(name)}: ${n.ok ? (v as { why: string }).why : n.why}; left out`); continue; }
      target.set(n.value.toLowerCase(), v.value);
    }
  }
  const old = ctx.files.readIfExists(confPath);
  if (old !== null) ctx.files.write(`${confPath}.old`, old, { mode: ctx.files.stat(confPath)?.perm ?? 0o644 });
  ctx.files.write(confPath, writeIni(ini), { mode: 0o644 });
  ctx.log.info(`${where}: ${confPath} (${Object.keys(conf).length} section(s))`);
}

/** cloud-init's _manage_puppet_services: the first of puppet-agent.service, puppet.service that takes the action; its name. */
async function manage(r: ModuleRun, action: 'enable' | 'start', names: string[]): Promise<string | null> {
  const problems: string[] = [];
  for (const name of names) {
    const done = await manageService(r.ctx, r.where, action, `${name}.service`);
    if (done.ok) return name;
    problems.push(done.why);
  }
  r.ctx.report('warning', r.where, `could not ${action} any of the services ${names.join(', ')}: ${problems.join('; ')}`);
  return null;
}

function execArgs(ctx: Context, where: string, cfg: Record<string, unknown>): string[] {
  const given = cfg['exec_args'];
  if (given === undefined) return DEFAULT_ARGS;
  if (Array.isArray(given)) return given.map(String);
  if (typeof given === 'string') return given.split(/\s+/).filter(Boolean);
  ctx.report('warning', where, `puppet.exec_args: expected a list or a string, found ${show(given)}; ${DEFAULT_ARGS.join(' ')} used`);
  return DEFAULT_ARGS;
}

async function run(r: ModuleRun): Promise<void> {
  const { ctx, where } = r;
  const cfg = cfgOf(r.config);
  const aio = str(cfg, 'install_type') === 'aio';
  const bin = aio ? '/opt/puppetlabs/bin/puppet' : 'puppet';
  let exec = optionBool(cfg, 'exec', false);
  const start = optionBool(cfg, 'start_service', true);
  if (!await install(r, cfg)) exec = false;
  // Asked only when needed: cloud-init asks all three every time.
  const needs = isMapping(cfg['conf']) || cfg['csr_attributes'] !== undefined;
  if (needs) {
    const confPath = await path(ctx, cfg, 'conf_file', bin, 'config');
    const sslDir = await path(ctx, cfg, 'ssl_dir', bin, 'ssldir');
    applyConf(r, cfg, confPath, sslDir, aio ? 'root' : 'puppet');
    if (cfg['csr_attributes'] !== undefined) {
      const csrPath = await path(ctx, cfg, 'csr_attributes_path', bin, 'csr_attributes');
      ctx.files.write(csrPath, pyYamlDump(cfg['csr_attributes']), { mode: 0o600 });
      ctx.log.info(`${where}: ${csrPath}`);
    }
  }
  const enabled = start ? await manage(r, 'enable', PACKAGE_NAMES) : null;
  if (exec) {
    const argv = [bin, 'agent', ...execArgs(ctx, where, cfg)];
    if (onRunningSystem(ctx, where, argv.join(' '), { essential: true })) await ctx.runChecked(`${where} (puppet agent)`, argv, { timeoutMs: 3_600_000 });
  }
  // The unit that was enabled is the one there is (under --root, starting it is only logged).
  if (start) await manage(r, 'start', enabled ? [enabled] : PACKAGE_NAMES);
}

export const puppet: Module = {
  name: 'puppet',
  stage: 'final',
  frequency: 'per-instance',
  keys: ['puppet'],
  schema: { puppet: SCHEMA },
  describe({ ctx, config }) {
    const cfg = cfgOf(config);
    const out: string[] = [];
    if (optionBool(cfg, 'install', true)) out.push(`install ${str(cfg, 'package_name') ?? PACKAGE_NAMES.join(' or ')}${cfg['version'] ? ` ${String(cfg['version'])}` : ''} (${str(cfg, 'install_type') ?? 'packages'})`);
    if (isMapping(cfg['conf'])) out.push(`merge ${Object.keys(cfg['conf']).join(', ')} into ${str(cfg, 'conf_file') ?? 'puppet.conf'}`);
    if (cfg['csr_attributes'] !== undefined) out.push(`write ${str(cfg, 'csr_attributes_path') ?? 'csr_attributes.yaml'} (0600)`);
    const later = ctx.root === '/' ? '' : ' (left for the running system with --root)';
    if (optionBool(cfg, 'start_service', true)) out.push('enable the puppet service');
    if (isTrue(cfg['exec'])) out.push(`run puppet agent${later}`);
    if (optionBool(cfg, 'start_service', true)) out.push(`start the puppet service${later}`);
    return out;
  },
  run,
};
