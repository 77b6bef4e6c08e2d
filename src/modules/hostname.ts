// set_hostname and update_hostname (cloud-init's cc_set_hostname and
// cc_update_hostname, Debian flavour): the name comes from `fqdn` /
// `hostname` in the config, else from the datasource's local-hostname; it is
// written to /etc/hostname and, only when the root is /, applied to the
// running system with `hostname`. `preserve_hostname: true` leaves it alone.
import { machineHostname } from '../host/machine.ts';
import { utf8 } from '../bytes.ts';
import type { Context } from '../context.ts';
import type { SavedSource } from '../state/instance.ts';
import { DATA } from '../state/layout.ts';
import type { Config } from '../config/merge.ts';
import { describeExit } from '../host/run.ts';
import { hostname as validHostname } from '../validate/net.ts';
import { isTrue, onRunningSystem, optionBool } from './helpers.ts';
import type { Module, ModuleRun, Schema } from './module.ts';

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

/** The hostname of the target system: the running one at /, the root's /etc/hostname otherwise. */
function systemHostname(ctx: Context): string {
  if (ctx.root === '/') return machineHostname();
  return readHostnameFile(ctx, HOSTNAME_FILE) ?? '';
}

/** cloud-init's get_fqdn_from_hosts: the canonical name of the /etc/hosts line that has `name` as an alias. */
function fqdnFromHosts(ctx: Context, name: string): string | null {
  const text = ctx.files.readTextIfExists('/etc/hosts') ?? '';
  for (const raw of text.split('\n')) {
    const toks = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (toks.length > 2 && toks.slice(2).includes(name)) return toks[1]!;
  }
  return null;
}

/** The datasource's name for the host (cloud-init's DataSource.get_hostname). */
function sourceHostname(ctx: Context, source: SavedSource, fqdn: boolean): { name: string; isDefault: boolean; from: string } {
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
export function hostnameFqdn(ctx: Context, config: Config, source: SavedSource): Names {
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

/** hostnameFqdn, checked: the names, or an Error naming the key that is not a hostname. */
export function checkedNames(ctx: Context, config: Config, source: SavedSource): Names {
  const names = hostnameFqdn(ctx, config, source);
  const bad = checkNames(names);
  if (bad) throw new Error(bad);
  return names;
}

/** Debian's choice between the two: the short name unless prefer_fqdn_over_hostname. */
function selectHostname(config: Config, names: Names): string {
  if (isTrue(config['prefer_fqdn_over_hostname']) && names.fqdn) return names.fqdn;
  return names.hostname || names.fqdn;
}

/** The name in a hostname file (first line that is not a comment), or null. */
function readHostnameFile(ctx: Context, path: string): string | null {
  const text = ctx.files.readTextIfExists(path);
  if (text === null) return null;
  for (const line of text.split('\n')) {
    const name = line.replace(/#.*/, '').trim();
    if (name) return name.split(/\s+/)[0]!;
  }
  return null;
}

/**
 * Write `name` into a hostname file, keeping its comments (cloud-init's
 * HostnameConf). A missing file is created unless create_hostname_file is false.
 */
function writeHostnameFile(ctx: Context, config: Config, path: string, name: string, where: string): boolean {
  const old = ctx.files.readTextIfExists(path);
  if (old === null && !optionBool(config, 'create_hostname_file', true)) {
    ctx.log.info(`${where}: create_hostname_file is false: ${path} not created`);
    return false;
  }
  const lines = (old ?? '').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const at = lines.findIndex((l) => l.replace(/#.*/, '').trim() !== '');
  if (at === -1) lines.push(name); else lines[at] = name;
  ctx.files.write(path, lines.join('\n') + '\n', { mode: 0o644 });
  return true;
}

/**
 * `hostname NAME` on the running system (root / only). A name the tool
 * refuses is a warning, not an error: cloud-init's _apply_hostname logs the
 * failure and goes on (/etc/hostname is written already, so the next boot
 * has the name). The kernel takes any name of up to 64 bytes: when `hostname`
 * refused one that fits, the UTS name is set through
 * /proc/sys/kernel/hostname, so the running system has the name it can.
 */
async function applyHostname(ctx: Context, name: string, where: string): Promise<void> {
  if (!onRunningSystem(ctx, where, `hostname ${name}`)) return;
  const r = await ctx.capture(['hostname', name], { timeoutMs: 10_000 });
  if (r.code === 0) return;
  ctx.report('warning', where, `hostname ${name} failed (${describeExit(r, 10_000)}${r.stderr ? `: ${r.stderr.trim()}` : ''}); /etc/hostname has the name for the next boot`);
  if (utf8(name).length > 64 || /[\0\n]/.test(name)) return;
  const uts = await ctx.capture(['/bin/sh', '-c', 'printf %s "$1" > /proc/sys/kernel/hostname', 'sh', name], { timeoutMs: 10_000 });
  if (uts.code === 0) ctx.log.info(`${where}: UTS name set to ${name} through /proc/sys/kernel/hostname`);
}

const SCHEMA: Record<string, Schema> = {
  preserve_hostname: { type: 'boolean', description: 'true: never change the hostname' },
  hostname: { type: 'string', description: 'the hostname (a name with a dot is taken as the fqdn)' },
  fqdn: { type: 'string', description: 'the fully qualified domain name' },
  prefer_fqdn_over_hostname: { type: 'boolean', description: 'write the fqdn, not the short name, as the hostname' },
  create_hostname_file: { type: 'boolean', description: 'false: do not create /etc/hostname when it is missing' },
};

const KEYS_NOTE = (run: ModuleRun): string[] => {
  if (isTrue(run.config['preserve_hostname'])) return ['preserve_hostname: leave the hostname alone'];
  const names = hostnameFqdn(run.ctx, run.config, run.source);
  const bad = checkNames(names);
  if (bad) return [`refused: ${bad}`];
  const name = selectHostname(run.config, names);
  return [`hostname ${name} (fqdn ${names.fqdn}) in ${HOSTNAME_FILE}` + (run.ctx.root === '/' ? ' and on the running system' : '')];
};

export const setHostname: Module = {
  name: 'set_hostname',
  stage: 'init',
  frequency: 'per-instance',
  keys: [],
  schema: SCHEMA,
  describe: KEYS_NOTE,
  async run({ ctx, config, source, where }) {
    if (isTrue(config['preserve_hostname'])) { ctx.log.info(`${where}: preserve_hostname is set: hostname left alone`); return; }
    const names = checkedNames(ctx, config, source);
    let previous: { hostname?: string; fqdn?: string } = {};
    try { previous = JSON.parse(ctx.files.readTextIfExists(SET_HOSTNAME) || '{}') as typeof previous; } catch { /* rewritten below */ }
    if (previous.hostname === names.hostname && previous.fqdn === names.fqdn) {
      ctx.log.info(`${where}: hostname ${names.hostname} (${names.fqdn}) already set`);
      return;
    }
    if (names.isDefault && names.hostname === DEFAULT_HOST) {
      ctx.log.info(`${where}: no hostname given (only 'localhost'): left to the system`);
      return;
    }
    const name = selectHostname(config, names);
    if (writeHostnameFile(ctx, config, HOSTNAME_FILE, name, where)) ctx.log.info(`${where}: ${HOSTNAME_FILE}: ${name}`);
    await applyHostname(ctx, name, where);
    ctx.files.write(SET_HOSTNAME, JSON.stringify({ hostname: names.hostname, fqdn: names.fqdn }) + '\n', { mode: 0o644 });
  },
};

export const updateHostname: Module = {
  name: 'update_hostname',
  stage: 'init',
  frequency: 'per-boot',
  keys: [],
  schema: {},
  describe: KEYS_NOTE,
  async run({ ctx, config, source, where }) {
    if (isTrue(config['preserve_hostname'])) { ctx.log.debug(`${where}: preserve_hostname is set: hostname left alone`); return; }
    const names = checkedNames(ctx, config, source);
    if (names.isDefault && names.hostname === DEFAULT_HOST) return;
    const name = selectHostname(config, names);
    const previous = readHostnameFile(ctx, PREVIOUS_HOSTNAME);
    const current = readHostnameFile(ctx, HOSTNAME_FILE);
    const update: string[] = [];
    if (!previous || previous !== name) update.push(PREVIOUS_HOSTNAME);
    // Someone changed /etc/hostname since we wrote it: theirs wins (cloud-init's rule).
    if (!current || (current === previous && current !== name)) update.push(HOSTNAME_FILE);
    if (current && previous && current !== previous) {
      ctx.log.info(`${where}: ${HOSTNAME_FILE} (${current}) differs from ${PREVIOUS_HOSTNAME} (${previous}): assuming a user-maintained hostname`);
    }
    for (const path of update) writeHostnameFile(ctx, config, path, name, where);
    if (update.includes(HOSTNAME_FILE)) {
      ctx.log.info(`${where}: ${HOSTNAME_FILE}: ${name}`);
      await applyHostname(ctx, names.hostname, where);
    }
  },
};
