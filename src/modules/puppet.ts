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
import type { Action } from '../host/actions.ts';
import type { Files } from '../host/files.ts';
import { resolveOwner } from '../host/accounts.ts';
import { describeExit } from '../host/run.ts';
import type { Config } from '../config/merge.ts';
import type { Context } from '../context.ts';
import { type Checked, matching, ok, show } from '../validate/check.ts';
import { pathUnderRoot } from '../validate/files.ts';
import { firstServiceActions, installActions, installFirstActions, packageSpec } from './distro-actions.ts';
import { hostnameFqdn } from './hostname.ts';
import { isMapping, optionBool } from './helpers.ts';
import { actionModule, type ActionRun, type Report, type Schema } from './module.ts';
import { pyStr, pyYamlDump, readIni, sortedKeys, writeIni } from './py-formats.ts';
import { argList, sectionOf } from './tool-config.ts';

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

const UNITS = PACKAGE_NAMES.map((n) => `${n}.service`);
type PathKey = 'conf_file' | 'ssl_dir' | 'csr_attributes_path';
const SETTING: Record<PathKey, string> = { conf_file: 'config', ssl_dir: 'ssldir', csr_attributes_path: 'csr_attributes' };

interface Section { name: string; options: Array<[string, string]> }
interface Puppet {
  /** The packages to try in turn (none: not installed); `versionIgnored`: install is false but a version is given. */
  candidates: string[];
  versionIgnored: boolean;
  bin: string;
  /** The user that owns the ssl dir (puppet; root for an aio install). */
  user: string;
  /** conf: its sections (checked; certname's %f and %i still in), the CA certificate. null: no conf. */
  conf: { sections: Section[]; caCert: string | null; count: number } | null;
  csrAttributes: unknown;
  /** The paths given (each checked); the others are asked of `puppet config print`. */
  paths: Partial<Record<PathKey, string>>;
  exec: boolean;
  execArgs: string[];
  start: boolean;
}

function str(cfg: Record<string, unknown>, key: string): string | undefined {
  const v = cfg[key];
  return v === undefined || v === null ? undefined : String(v);
}

/** conf's sections and settings (in sorted order, as cloud-init's final stage reads them: py-formats.ts, sortedKeys), each checked. */
function checkConf(given: unknown, report: Report): Puppet['conf'] {
  const conf = sortedKeys(given);
  if (!isMapping(conf)) return null;
  const sections: Section[] = [];
  let caCert: string | null = null;
  for (const [section, options] of Object.entries(conf)) {
    if (section === 'ca_cert') {
      if (typeof options === 'string') caCert = options;
      else report('error', 'puppet.conf.ca_cert: expected the certificate as text; left out');
      continue;
    }
    const s = sectionName(section);
    if (!s.ok) { report('error', `puppet.conf.${show(section)}: ${s.why}; left out`); continue; }
    if (!isMapping(options)) { report('error', `puppet.conf.${s.value}: expected a mapping of settings; left out`); continue; }
    const out: Section = { name: s.value, options: [] };
    for (const [name, value] of Object.entries(options)) {
      const n = optionName(name);
      const v = optionValue(value);
      if (!n.ok || !v.ok) { report('error', `puppet.conf.${s.value}.${show(name)}: ${n.ok ? (v as { why: string }).why : n.why}; left out`); continue; }
      out.options.push([n.value.toLowerCase(), v.value]);
    }
    sections.push(out);
  }
  return { sections, caCert, count: Object.keys(conf).length };
}

function check(config: Config, report: Report): Puppet | null {
  const cfg = sectionOf(config, 'puppet', report);
  if (!cfg) return null;
  const version = str(cfg, 'version');
  const installType = str(cfg, 'install_type') ?? 'packages';
  const install = optionBool(cfg, 'install', true);
  let exec = optionBool(cfg, 'exec', false);
  const candidates: string[] = [];
  if (install && installType === 'aio') {
    report('error', "install_type 'aio' runs puppetlabs' install script from the Internet, which ec2-init does not do: "
      + "add puppetlabs' apt repository under apt: sources and use install_type: packages with package_name: puppet-agent");
    return null;
  }
  if (install && installType !== 'packages') {
    report('warning', `unknown install_type '${installType}': puppet not installed or run`);
    exec = false;
  } else if (install) {
    for (const name of str(cfg, 'package_name') !== undefined ? [str(cfg, 'package_name')!] : PACKAGE_NAMES) {
      const spec = packageSpec(version ? `${name}=${version}` : name);
      if (!spec.ok) { report('error', `puppet.package_name/version: ${spec.why}`); return null; }
      candidates.push(spec.value);
    }
  }
  const paths: Puppet['paths'] = {};
  let pathsOk = true;
  for (const key of Object.keys(SETTING) as PathKey[]) {
    if (cfg[key] === undefined || cfg[key] === null) continue;
    const p = pathUnderRoot(cfg[key]);
    if (p.ok) paths[key] = p.value;
    else { report('error', `puppet.${key}: ${p.why}; conf and csr_attributes not written`); pathsOk = false; }
  }
  const aio = installType === 'aio';
  return {
    candidates, versionIgnored: !install && version !== undefined,
    bin: aio ? '/opt/puppetlabs/bin/puppet' : 'puppet', user: aio ? 'root' : 'puppet',
    conf: pathsOk ? checkConf(cfg['conf'], report) : null,
    csrAttributes: pathsOk ? cfg['csr_attributes'] : undefined,
    paths, exec, execArgs: argList(cfg, 'exec_args', 'puppet.exec_args', DEFAULT_ARGS, true, report),
    start: optionBool(cfg, 'start_service', true),
  };
}

/**
 * The paths not given, asked of `puppet config print` once puppet is there
 * (as cloud-init asks them), then `done` with all of them.
 */
function askPaths(p: Puppet, keys: PathKey[], found: Partial<Record<PathKey, string>>, done: (paths: Partial<Record<PathKey, string>>) => Action[]): Action[] {
  const key = keys.find((k) => found[k] === undefined);
  if (key === undefined) return done(found);
  const setting = SETTING[key];
  return [{
    kind: 'run', argv: [p.bin, 'config', 'print', setting], timeoutMs: 120_000, failure: 'ignore', why: `puppet config print ${setting}`,
    then: (r): Action[] => {
      if (r.code !== 0 || !r.stdout.trim()) {
        return [{ kind: 'report', level: 'error', message: `'${p.bin} config print ${setting}' failed (${describeExit(r, 120_000)}): give puppet.${key}` }];
      }
      const path = pathUnderRoot(r.stdout.trimEnd());
      if (!path.ok) return [{ kind: 'report', level: 'error', message: `puppet.${key} (from '${p.bin} config print ${setting}'): ${path.why}` }];
      return askPaths(p, keys, { ...found, [key]: path.value }, done);
    },
  }];
}

/** puppet.conf with conf merged in (the package's own read once it is there), the CA certificate, csr_attributes.yaml. */
function confActions(p: Puppet, run: ActionRun, certname: (v: string) => string, paths: Partial<Record<PathKey, string>>): Action[] {
  const out: Action[] = [];
  if (p.conf) {
    const confPath = paths.conf_file!;
    const sslDir = paths.ssl_dir!;
    const ini = readIni(run.files.readTextIfExists(confPath) ?? '', (line, why) => {
      out.push({ kind: 'report', level: 'warning', message: `${confPath} line ${line}: ${why}; left out` });
    });
    if (p.conf.caCert !== null) {
      try {
        const owner = resolveOwner(run.files as Files, `${p.user}:root`);
        out.push(
          { kind: 'mkdir', path: sslDir, mode: 0o771, ...owner },
          { kind: 'mkdir', path: `${sslDir}/certs`, mode: 0o755, ...owner },
          { kind: 'write', path: `${sslDir}/certs/ca.pem`, content: p.conf.caCert, mode: 0o644, ...owner, why: 'the CA certificate' },
        );
      } catch (e) {
        out.push({ kind: 'report', level: 'error', message: `puppet.conf.ca_cert: ${(e as Error).message}; ca.pem not written` });
      }
    }
    for (const section of p.conf.sections) {
      const target = ini.sections.get(section.name) ?? new Map<string, string | null>();
      ini.sections.set(section.name, target);
      for (const [name, value] of section.options) {
        const v = name === 'certname' ? optionValue(certname(value)) : ok(value);
        if (!v.ok) { out.push({ kind: 'report', level: 'error', message: `puppet.conf.${section.name}.${name}: ${v.why}; left out` }); continue; }
        target.set(name, v.value);
      }
    }
    const old = run.files.readIfExists(confPath);
    if (old !== null) out.push({ kind: 'write', path: `${confPath}.old`, content: old, mode: run.files.stat(confPath)?.perm ?? 0o644, why: 'the puppet.conf before' });
    out.push({ kind: 'write', path: confPath, content: writeIni(ini), mode: 0o644, why: `${p.conf.count} section(s) merged` });
  }
  if (p.csrAttributes !== undefined) {
    out.push({ kind: 'write', path: paths.csr_attributes_path!, content: pyYamlDump(p.csrAttributes), mode: 0o600, why: 'csr_attributes' });
  }
  return out;
}

export const puppet = actionModule<Puppet>({
  name: 'puppet',
  stage: 'final',
  frequency: 'per-instance',
  keys: ['puppet'],
  schema: { puppet: SCHEMA },
  check,
  actions(p, run): Action[] {
    // certname: %f the fully qualified name, %i the instance-id; puppet wants it in lower case.
    const certname = (v: string) => v.replace(/%f/g, () => hostnameFqdn({ root: run.root, files: run.files } as Context, run.config, run.source).fqdn)
      .replace(/%i/g, run.instanceId).toLowerCase();
    const keys: PathKey[] = [...(p.conf ? ['conf_file', 'ssl_dir'] as const : []), ...(p.csrAttributes !== undefined ? ['csr_attributes_path'] as const : [])];
    // Once puppet is there: its puppet.conf is the one merged into, its `config print` the one asked.
    const conf = () => (keys.length ? askPaths(p, keys, p.paths, (paths) => confActions(p, run, certname, paths)) : []);
    const install = p.candidates.length === 0 ? conf()
      : p.candidates.length === 1 ? installActions(run, p.candidates, undefined, conf)
        : installFirstActions(run, p.candidates, undefined, conf);
    if (p.candidates.length === 1 && install.length === 0) return [];
    const agent: Action[] = p.exec
      // A failed run is reported; the service is still started, as before.
      ? [{ kind: 'run', argv: [p.bin, 'agent', ...p.execArgs], timeoutMs: 3_600_000, why: 'puppet agent', runningSystem: 'essential', unit: 'puppet agent' }]
      : [];
    return [
      ...(p.versionIgnored ? [{ kind: 'log', text: `${run.where}: install is false but a version is given: doing nothing` } as const] : []),
      ...install,
      // cloud-init's _manage_puppet_services: the first unit that takes it; the one enabled is the one started.
      ...(p.start
        ? firstServiceActions(run, 'enable', UNITS, (unit) => [...agent, ...firstServiceActions(run, 'start', unit ? [unit] : UNITS)])
        : agent),
    ];
  },
});
