// set_hostname and update_hostname (cloud-init's cc_set_hostname and
// cc_update_hostname, Debian flavour): the name comes from `fqdn` /
// `hostname` in the config, else from the datasource's local-hostname; it is
// written to /etc/hostname and, only when the root is /, applied to the
// running system with `hostname`. `preserve_hostname: true` leaves it alone.
import { machineHostname } from '../host/machine.ts';
import { utf8 } from '../bytes.ts';
import type { Action } from '../host/actions.ts';
import type { SavedSource } from '../state/instance.ts';
import { DATA } from '../state/layout.ts';
import type { Config } from '../config/merge.ts';
import { describeExit } from '../host/run.ts';
import { hostname as validHostname } from '../validate/net.ts';
import { isTrue, optionBool } from './helpers.ts';
import { actionModule, type ActionRun, type ReadFiles, type Schema } from './module.ts';

const HOSTNAME_FILE = '/etc/hostname';
/** What set_hostname last set (cloud-init's data/set-hostname: JSON). */
const SET_HOSTNAME = `${DATA}/set-hostname`;
/** What update_hostname last wrote (cloud-init's data/previous-hostname). */
const PREVIOUS_HOSTNAME = `${DATA}/previous-hostname`;
const DEFAULT_HOST = 'localhost';
const DEFAULT_DOMAIN = 'localdomain';

export interface Names {
  hostname: string;
  fqdn: string;
  /** Nothing named the host: cloud-init's 'localhost' fallback. */
  isDefault: boolean;
  /** Where each came from, for messages: "cloud-config 'fqdn'", "meta-data local-hostname", "/etc/hostname". */
  from: { hostname: string; fqdn: string };
}

/** What the names are read from: the root's files, and whether it is the running system (a Context, or a module's facts). */
export interface HostFacts { files: ReadFiles; root: string }

/** The hostname of the target system: the running one at /, the root's /etc/hostname otherwise. */
function systemHostname(ctx: HostFacts): string {
  if (ctx.root === '/') return machineHostname();
  return readHostnameFile(ctx.files, HOSTNAME_FILE) ?? '';
}

/** cloud-init's get_fqdn_from_hosts: the canonical name of the /etc/hosts line that has `name` as an alias. */
function fqdnFromHosts(ctx: HostFacts, name: string): string | null {
  const text = ctx.files.readTextIfExists('/etc/hosts') ?? '';
  for (const raw of text.split('\n')) {
    const toks = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (toks.length > 2 && toks.slice(2).includes(name)) return toks[1]!;
  }
  return null;
}

/** The datasource's name for the host (cloud-init's DataSource.get_hostname). */
function sourceHostname(ctx: HostFacts, source: SavedSource, fqdn: boolean): { name: string; isDefault: boolean; from: string } {
  const local = source.localHostname ?? source.metaData?.['local-hostname'];
  let toks: string[];
  let isDefault = false;
  let from = 'meta-data local-hostname';
  if (local === undefined || local === null || String(local) === '') {
    const sys = systemHostname(ctx);
    const fromHosts = sys ? fqdnFromHosts(ctx, sys) : null;
    from = ctx.root === '/' ? 'the running system\'s hostname' : HOSTNAME_FILE;
    if (fromHosts && fromHosts.indexOf('.') > 0) { toks = fromHosts.split('.'); from = '/etc/hosts'; }
    else if (sys && sys.indexOf('.') > 0) toks = sys.split('.');
    else if (sys) toks = [sys, DEFAULT_DOMAIN];
    else { toks = [DEFAULT_HOST, DEFAULT_DOMAIN]; isDefault = true; from = 'the default'; }
  } else {
    const lhost = String(local);
    // An IPv4 address as local-hostname becomes ip-a-b-c-d (LP: #475354).
    toks = /^\d{1,3}(\.\d{1,3}){3}$/.test(lhost) ? [`ip-${lhost.replace(/\./g, '-')}`] : lhost.split('.');
  }
  const host = toks[0]!;
  const domain = toks.length > 1 ? toks.slice(1).join('.') : DEFAULT_DOMAIN;
  return { name: fqdn && domain !== DEFAULT_DOMAIN ? `${host}.${domain}` : host, isDefault, from };
}

/** cloud-init's util.get_hostname_fqdn: config `fqdn` / `hostname` first, the datasource's otherwise. */
export function hostnameFqdn(ctx: HostFacts, config: Config, source: SavedSource): Names {
  const cfgFqdn = config['fqdn'];
  const cfgHost = config['hostname'];
  const FQDN = "cloud-config 'fqdn'";
  const HOST = "cloud-config 'hostname'";
  if (cfgFqdn !== undefined && cfgFqdn !== null) {
    const fqdn = String(cfgFqdn);
    const given = cfgHost !== undefined && cfgHost !== null;
    return { fqdn, hostname: given ? String(cfgHost) : fqdn.split('.')[0]!, isDefault: false, from: { fqdn: FQDN, hostname: given ? HOST : FQDN } };
  }
  if (typeof cfgHost === 'string' && cfgHost.indexOf('.') > 0) {
    return { fqdn: cfgHost, hostname: cfgHost.slice(0, cfgHost.indexOf('.')), isDefault: false, from: { fqdn: HOST, hostname: HOST } };
  }
  const long = sourceHostname(ctx, source, true);
  if (cfgHost !== undefined && cfgHost !== null) return { fqdn: long.name, hostname: String(cfgHost), isDefault: false, from: { fqdn: long.from, hostname: HOST } };
  const short = sourceHostname(ctx, source, false);
  return { fqdn: long.name, hostname: short.name, isDefault: short.isDefault, from: { fqdn: long.from, hostname: short.from } };
}

/**
 * The names as they may be written (/etc/hostname, /etc/hosts) and given to
 * hostname(1): each a hostname by src/validate/net.ts's rule. A name that is
 * not (a newline would add a line to both files) is an error naming where it
 * came from; nothing is written then.
 */
export function checkNames(n: Names): string | null {
  for (const which of ['hostname', 'fqdn'] as const) {
    const r = validHostname(n[which]);
    if (!r.ok) return `${n.from[which]}: ${r.why}; the hostname is left as it is`;
  }
  return null;
}

/** hostnameFqdn, checked: the names, or null when one is not a hostname (reported, naming where it came from). */
export function checkedNames(run: HostFacts & { report: ActionRun['report'] }, config: Config, source: SavedSource): Names | null {
  const names = hostnameFqdn(run, config, source);
  const bad = checkNames(names);
  if (bad) { run.report('error', bad); return null; }
  return names;
}

/** Debian's choice between the two: the short name unless prefer_fqdn_over_hostname. */
function selectHostname(config: Config, names: Names): string {
  if (isTrue(config['prefer_fqdn_over_hostname']) && names.fqdn) return names.fqdn;
  return names.hostname || names.fqdn;
}

/** The name in a hostname file (first line that is not a comment), or null. */
function readHostnameFile(files: ReadFiles, path: string): string | null {
  const text = files.readTextIfExists(path);
  if (text === null) return null;
  for (const line of text.split('\n')) {
    const name = line.replace(/#.*/, '').trim();
    if (name) return name.split(/\s+/)[0]!;
  }
  return null;
}

/**
 * `name` written into a hostname file, keeping its comments (cloud-init's
 * HostnameConf); null when the file is missing and create_hostname_file is
 * false (logged).
 */
function hostnameFileWrite(run: ActionRun, cfg: HostnameConfig, path: string, name: string): Action | null {
  const old = run.files.readTextIfExists(path);
  if (old === null && !cfg.createFile) {
    run.log.info(`${run.where}: create_hostname_file is false: ${path} not created`);
    return null;
  }
  const lines = (old ?? '').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const at = lines.findIndex((l) => l.replace(/#.*/, '').trim() !== '');
  if (at === -1) lines.push(name); else lines[at] = name;
  return { kind: 'write', path, content: lines.join('\n') + '\n', mode: 0o644, why: name };
}

/**
 * `hostname NAME` on the running system (root / only). A name the tool
 * refuses is a warning, not an error: cloud-init's _apply_hostname logs the
 * failure and goes on (/etc/hostname is written already, so the next boot
 * has the name). The kernel takes any name of up to 64 bytes: when `hostname`
 * refused one that fits, the UTS name is set through
 * /proc/sys/kernel/hostname, so the running system has the name it can.
 */
function applyHostname(name: string, where: string): Action {
  return {
    kind: 'run', argv: ['hostname', name], timeoutMs: 10_000, runningSystem: 'optional', failure: 'ignore', why: `hostname ${name}`,
    then: (r): Action[] => {
      if (r.code === 0) return [];
      const warning: Action = { kind: 'report', level: 'warning', message: `hostname ${name} failed (${describeExit(r, 10_000)}${r.stderr ? `: ${r.stderr.trim()}` : ''}); /etc/hostname has the name for the next boot` };
      if (utf8(name).length > 64 || /[\0\n]/.test(name)) return [warning];
      return [warning, {
        kind: 'run', argv: ['/bin/sh', '-c', 'printf %s "$1" > /proc/sys/kernel/hostname', 'sh', name], timeoutMs: 10_000, failure: 'ignore',
        why: 'the UTS name', then: (uts) => (uts.code === 0 ? [{ kind: 'log', text: `${where}: UTS name set to ${name} through /proc/sys/kernel/hostname` }] : []),
      }];
    },
  };
}

const SCHEMA: Record<string, Schema> = {
  preserve_hostname: { type: 'boolean', description: 'true: never change the hostname' },
  hostname: { type: 'string', description: 'the hostname (a name with a dot is taken as the fqdn)' },
  fqdn: { type: 'string', description: 'the fully qualified domain name' },
  prefer_fqdn_over_hostname: { type: 'boolean', description: 'write the fqdn, not the short name, as the hostname' },
  create_hostname_file: { type: 'boolean', description: 'false: do not create /etc/hostname when it is missing' },
};

/** The keys both modules read, once; the names themselves depend on the datasource and the root (actions()). */
interface HostnameConfig {
  /** preserve_hostname: true: the hostname is left alone. */
  preserve: boolean;
  /** fqdn, hostname and prefer_fqdn_over_hostname, as hostnameFqdn and selectHostname read them. */
  names: Config;
  createFile: boolean;
}

function checkHostnameConfig(config: Config): HostnameConfig {
  const names: Config = {};
  for (const key of ['fqdn', 'hostname', 'prefer_fqdn_over_hostname']) if (config[key] !== undefined) names[key] = config[key];
  return { preserve: isTrue(config['preserve_hostname']), names, createFile: optionBool(config, 'create_hostname_file', true) };
}

/** What set_hostname does: the names and the name it sets, and its actions (null: nothing to do, logged). */
function setHostnameActions(run: ActionRun, cfg: HostnameConfig): { name: string; actions: Action[] } | null {
  const { files, log, where } = run;
  if (cfg.preserve) { log.info(`${where}: preserve_hostname is set: hostname left alone`); return null; }
  const names = checkedNames(run, cfg.names, run.source);
  if (!names) return null;
  let previous: { hostname?: string; fqdn?: string } = {};
  try { previous = JSON.parse(files.readTextIfExists(SET_HOSTNAME) || '{}') as typeof previous; } catch { /* rewritten below */ }
  if (previous.hostname === names.hostname && previous.fqdn === names.fqdn) {
    log.info(`${where}: hostname ${names.hostname} (${names.fqdn}) already set`);
    return null;
  }
  if (names.isDefault && names.hostname === DEFAULT_HOST) {
    log.info(`${where}: no hostname given (only 'localhost'): left to the system`);
    return null;
  }
  const name = selectHostname(cfg.names, names);
  const file = hostnameFileWrite(run, cfg, HOSTNAME_FILE, name);
  return {
    name,
    actions: [
      ...(file ? [file] : []),
      applyHostname(name, where),
      { kind: 'write', path: SET_HOSTNAME, content: JSON.stringify({ hostname: names.hostname, fqdn: names.fqdn }) + '\n', mode: 0o644, why: 'what set_hostname set' },
    ],
  };
}

export const setHostname = actionModule<HostnameConfig>({
  name: 'set_hostname',
  stage: 'init',
  frequency: 'per-instance',
  keys: [],
  schema: SCHEMA,
  check: checkHostnameConfig,
  actions: (cfg, run) => setHostnameActions(run, cfg)?.actions ?? [],
});

export const updateHostname = actionModule<HostnameConfig>({
  name: 'update_hostname',
  stage: 'init',
  frequency: 'per-boot',
  keys: [],
  schema: {},
  check: checkHostnameConfig,
  actions(cfg, run): Action[] {
    const { files, log, where } = run;
    if (cfg.preserve) { log.debug(`${where}: preserve_hostname is set: hostname left alone`); return []; }
    const names = checkedNames(run, cfg.names, run.source);
    if (!names || (names.isDefault && names.hostname === DEFAULT_HOST)) return [];
    const name = selectHostname(cfg.names, names);
    const previous = readHostnameFile(files, PREVIOUS_HOSTNAME);
    // Planned after set_hostname on this boot: /etc/hostname will hold the name set_hostname writes, this one.
    const current = run.planning && run.plannedFiles?.includes(HOSTNAME_FILE) ? name : readHostnameFile(files, HOSTNAME_FILE);
    const update: string[] = [];
    if (!previous || previous !== name) update.push(PREVIOUS_HOSTNAME);
    // Someone changed /etc/hostname since we wrote it: theirs wins (cloud-init's rule).
    if (!current || (current === previous && current !== name)) update.push(HOSTNAME_FILE);
    if (current && previous && current !== previous) {
      log.info(`${where}: ${HOSTNAME_FILE} (${current}) differs from ${PREVIOUS_HOSTNAME} (${previous}): assuming a user-maintained hostname`);
    }
    const actions = update.flatMap((path) => hostnameFileWrite(run, cfg, path, name) ?? []);
    if (update.includes(HOSTNAME_FILE)) actions.push(applyHostname(names.hostname, where));
    return actions;
  },
});
