// ntp (cloud-init's cc_ntp, Debian flavour): pick a client (`ntp_client`, or
// the first installed of chrony, systemd-timesyncd, ntp, ntpdate — chrony when
// none is), write its configuration from a template (the user's
// `config.template`, the root's /etc/cloud/templates/<name>.tmpl, or the
// built-in one) with the servers, pools, peers and allow lists, install the
// client's package when it is missing (apt-get, chrooted), and restart its
// service — only when the root is / (DESIGN.md §2).
import type { Action } from '../host/actions.ts';
import type { Config } from '../config/merge.ts';
import { isFalse, isMapping } from './helpers.ts';
import { renderTemplate } from './template.ts';
import { which } from '../host/root-facts.ts';
import { installActions, serviceActions } from './distro-actions.ts';
import { actionModule, type ActionRun, type ReadFiles, type Report, type Schema } from './module.ts';
import type { Checked } from '../validate/check.ts';
import { ntpAllow, ntpServer } from '../validate/net.ts';
import { fileIn, pathUnderRoot } from '../validate/files.ts';
import { packageSpec, programName, serviceName } from '../validate/packages.ts';

interface ClientConfig {
  check_exe: string;
  confpath: string;
  packages: string[];
  service_name: string;
  template_name?: string;
  template?: string;
}

/** cloud-init's NTP_CLIENT_CONFIG with its Debian/Ubuntu overrides. */
const CLIENTS: Record<string, ClientConfig> = {
  chrony: { check_exe: 'chronyd', confpath: '/etc/chrony/chrony.conf', packages: ['chrony'], service_name: 'chrony', template_name: 'chrony.conf.{distro}' },
  'systemd-timesyncd': {
    check_exe: '/lib/systemd/systemd-timesyncd', confpath: '/etc/systemd/timesyncd.conf.d/cloud-init.conf',
    packages: [], service_name: 'systemd-timesyncd', template_name: 'timesyncd.conf',
  },
  ntp: { check_exe: 'ntpd', confpath: '/etc/ntp.conf', packages: ['ntp'], service_name: 'ntp', template_name: 'ntp.conf.{distro}' },
  ntpdate: { check_exe: 'ntpdate', confpath: '/etc/ntp.conf', packages: ['ntpdate'], service_name: 'ntpdate', template_name: 'ntp.conf.{distro}' },
  openntpd: { check_exe: 'ntpd', confpath: '/etc/ntpd.conf', packages: [], service_name: 'ntpd', template_name: 'ntpd.conf.{distro}' },
};
const PREFERRED = ['chrony', 'systemd-timesyncd', 'ntp', 'ntpdate'];
const TEMPLATE_DIR = '/etc/cloud/templates';

const LISTS = `{% if pools %}# pools
{% endif %}
{% for pool in pools -%}
pool {{pool}} iburst
{% endfor %}
{%- if servers %}# servers
{% endif %}
{% for server in servers -%}
server {{server}} iburst
{% endfor %}
{% for peer in peers -%}
peer {{peer}}
{% endfor %}
`;

const CHRONY = `## template:jinja
# chrony configuration, written by ec2-init from the cloud-config 'ntp' key.
# See chrony.conf(5).
${LISTS}{% for a in allow -%}
allow {{a}}
{% endfor %}

keyfile /etc/chrony/chrony.keys
driftfile /var/lib/chrony/chrony.drift
logdir /var/log/chrony
# Ignore estimates that are too far off.
maxupdateskew 100.0
# Keep the real-time clock in sync (every 11 minutes).
rtcsync
# Step the clock instead of slewing it if it is off by more than a second,
# in the first three updates only.
makestep 1 3
`;

const NTPD = `## template:jinja
# ntpd configuration, written by ec2-init from the cloud-config 'ntp' key.
# See ntp.conf(5).
driftfile /var/lib/ntp/ntp.drift

${LISTS}{% if allow %}# allow
{% endif %}
{% for a in allow -%}
restrict {{a}}
{% endfor %}

# By default, exchange time with everybody, but do not allow configuration.
restrict -4 default kod notrap nomodify nopeer noquery limited
restrict -6 default kod notrap nomodify nopeer noquery limited
# Local users may interrogate the ntp server more closely.
restrict 127.0.0.1
restrict ::1
# Needed for adding pool entries.
restrict source notrap nomodify noquery
`;

const TIMESYNCD = `## template:jinja
# systemd-timesyncd configuration, written by ec2-init from the cloud-config
# 'ntp' key. See timesyncd.conf(5).

[Time]
{% if servers or pools -%}
NTP={% for host in servers|list + pools|list %}{{ host }} {% endfor -%}
{% endif -%}
`;

const BUILT_IN: Record<string, string> = {
  'chrony.conf.debian': CHRONY, 'chrony.conf.ubuntu': CHRONY,
  'ntp.conf.debian': NTPD, 'ntp.conf.ubuntu': NTPD,
  'timesyncd.conf': TIMESYNCD,
};

function distroName(config: Config): string {
  const info = config['system_info'];
  const d = info && typeof info === 'object' ? (info as Record<string, unknown>)['distro'] : undefined;
  return typeof d === 'string' && d ? d : 'debian';
}

function distroNtpClient(config: Config): string {
  const info = config['system_info'];
  const c = info && typeof info === 'object' ? (info as Record<string, unknown>)['ntp_client'] : undefined;
  return typeof c === 'string' && c ? c : 'auto';
}

/** cloud-init's select_ntp_client: the user's choice, the distro's, or the first installed. */
function selectClient(files: ReadFiles, requested: unknown, config: Config): { name: string; client: Partial<ClientConfig> } {
  if (typeof requested === 'string' && requested && requested !== 'auto') return { name: requested, client: { ...CLIENTS[requested] } };
  const fromDistro = distroNtpClient(config);
  if (fromDistro !== 'auto') return { name: fromDistro, client: { ...CLIENTS[fromDistro] } };
  const installed = PREFERRED.find((name) => which(files, CLIENTS[name]!.check_exe) !== null);
  const name = installed ?? PREFERRED[0]!;
  return { name, client: { ...CLIENTS[name] } };
}

/** cloud-init's supplemental_schema_validation of the merged client config. */
function validate(client: Record<string, unknown>): ClientConfig {
  const errors: string[] = [];
  const missing = ['check_exe', 'confpath', 'packages', 'service_name'].filter((k) => !(k in client));
  if (missing.length) errors.push(`missing required ntp:config keys: ${missing.join(', ')}`);
  else if (!client['template'] && !client['template_name']) errors.push('either ntp:config:template or ntp:config:template_name is required');
  // What lands in a path, apt-get's or systemctl's argv passes its validator first.
  const checked = (key: string, c: Checked<unknown>, fix: string) => { if (!c.ok) errors.push(`ntp:config:${key}: ${c.why} (${fix})`); };
  for (const [key, value] of Object.entries(client)) {
    if (key === 'packages') {
      if (!Array.isArray(value)) errors.push(`expected a list of package names for ntp:config:packages, found ${JSON.stringify(value)}`);
      else for (const p of value) checked(key, packageSpec(p), 'Debian package names, optionally =version');
    } else if (key === 'confpath') checked(key, pathUnderRoot(value), 'the absolute path of the client\'s config file');
    else if (value !== undefined && value !== null && typeof value !== 'string') errors.push(`expected a string for ntp:config:${key}, found ${JSON.stringify(value)}`);
    else if (key === 'service_name') checked(key, serviceName(value), 'the unit name systemctl restarts');
    else if (key === 'template_name' && value) checked(key, fileIn(TEMPLATE_DIR, value), `a template file name in ${TEMPLATE_DIR}, without .tmpl`);
  }
  if (errors.length) throw new Error(`invalid ntp configuration: ${errors.join('; ')}`);
  return client as unknown as ClientConfig;
}

/**
 * The user's ntp.config overrides, a bad check_exe left out: it only tells
 * whether the client is installed (cloud-init looks it up with subp.which and,
 * not finding it, installs the packages), so the client's own is looked for
 * instead; a client of the user's own without one is then missing it.
 */
function checkExe(report: Report, base: Partial<ClientConfig>, user: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (user === undefined || !('check_exe' in user)) return user;
  const r = programName(user['check_exe']);
  if (r.ok) return { ...user, check_exe: r.value };
  const { check_exe: _, ...rest } = user;
  const instead = base.check_exe ? `; the client's own ${base.check_exe} is looked for instead` : '';
  report('error', `ntp:config:check_exe: ${r.why} (give the program the client's package installs, e.g. chronyd or /usr/sbin/ntpd)${instead}`);
  return rest;
}

/**
 * ntp.servers, pools, peers, allow: each entry checked by its rule (a hostname
 * or address; allow also a network), so that one entry is one line of the
 * client's config. An entry that is not is an error naming it, and left out.
 */
function entries(report: Report, cfg: Record<string, unknown>, key: string, rule: (v: unknown) => Checked<string>): string[] {
  const v = cfg[key];
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const [i, x] of v.entries()) {
    const r = rule(x);
    if (r.ok) out.push(r.value);
    else report('error', `ntp.${key}[${i}]: ${r.why}; left out`);
  }
  return out;
}

/** cloud-init's generate_server_names: {0-3}.<distro>.pool.ntp.org. */
function defaultPools(distro: string): string[] {
  const pool = distro === 'sles' ? 'opensuse' : ['alpine', 'eurolinux'].includes(distro) ? '' : distro;
  return [0, 1, 2, 3].map((i) => [String(i), pool, 'pool.ntp.org'].filter(Boolean).join('.'));
}

/**
 * The client's package, installed from the image's apt when its program is
 * missing (cloud-init's distro.install_packages: distro-actions.ts), as one
 * unit; null when there is no apt-get to do it (reported).
 */
function install(run: ActionRun, client: ClientConfig): Action[] | null {
  if (client.packages.length === 0 || which(run.files, client.check_exe) !== null) return [];
  if (which(run.files, 'apt-get') === null) {
    run.report('error', `${client.check_exe} is not installed and there is no apt-get under the root to install ${client.packages.join(' ')}`);
    return null;
  }
  return installActions(run, client.packages, 'install');
}

const LIST: Schema = { type: 'array', items: { type: 'string' } };
const SCHEMA: Schema = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    pools: { ...LIST, description: 'NTP pools (pool ... iburst); none and no servers: {0-3}.<distro>.pool.ntp.org' },
    servers: { ...LIST, description: 'NTP servers (server ... iburst)' },
    peers: { ...LIST, description: 'NTP peers' },
    allow: { ...LIST, description: 'networks allowed to query this host (chrony, ntp)' },
    ntp_client: { type: 'string', description: `auto (default), or one of ${Object.keys(CLIENTS).join(', ')}, or a name of your own with config` },
    enabled: { type: 'boolean', description: 'false: do nothing' },
    config: {
      type: 'object',
      additionalProperties: false,
      description: "overrides of the client's settings (a client of your own needs all of them)",
      properties: {
        confpath: { type: 'string' },
        check_exe: { type: 'string' },
        packages: LIST,
        service_name: { type: 'string' },
        template: { type: 'string', description: 'the config file template (Jinja subset with "## template: jinja", else $name)' },
        template_name: { type: 'string' },
      },
    },
  },
};

interface NtpValue {
  requested: unknown;
  /** ntp.config: overrides of the client's settings, checked with them in actions(). */
  user: Record<string, unknown> | undefined;
  servers: string[];
  pools: string[];
  peers: string[];
  allow: string[];
}

export const ntp = actionModule<NtpValue>({
  name: 'ntp',
  stage: 'config',
  frequency: 'per-instance',
  keys: ['ntp'],
  schema: { ntp: SCHEMA },
  check(config, report) {
    const cfg = config['ntp'] ?? {};
    if (!isMapping(cfg)) { report('error', `ntp: must be a mapping, found ${Array.isArray(cfg) ? 'a list' : typeof cfg}`); return null; }
    // enabled: false: nothing to do.
    if (isFalse(cfg['enabled'] ?? true)) return null;
    const user = cfg['config'];
    if (user !== undefined && !isMapping(user)) { report('error', "ntp.config: must be a mapping"); return null; }
    return {
      requested: cfg['ntp_client'], user,
      servers: entries(report, cfg, 'servers', ntpServer), pools: entries(report, cfg, 'pools', ntpServer),
      peers: entries(report, cfg, 'peers', ntpServer), allow: entries(report, cfg, 'allow', ntpAllow),
    };
  },
  actions(v, run): Action[] {
    const { files, config, report } = run;
    const { name, client: base } = selectClient(files, v.requested, config);
    let client: ClientConfig;
    try { client = validate({ ...base, ...checkExe(report, base, v.user) }); } catch (e) { report('error', (e as Error).message); return []; }
    const distro = distroName(config);
    let template = client.template;
    if (!template) {
      const templateName = client.template_name!.replace('{distro}', distro);
      template = files.readTextIfExists(`${TEMPLATE_DIR}/${templateName}.tmpl`) ?? BUILT_IN[templateName];
      if (template === undefined) {
        report('error', `no template ${templateName} for ntp client ${name} (put one in ${TEMPLATE_DIR}/${templateName}.tmpl or give ntp.config.template)`);
        return [];
      }
    }
    let { servers, pools } = v;
    if (servers.length === 0 && pools.length === 0) {
      if (distro === 'alpine' && client.service_name === 'ntpd') servers = defaultPools(distro);
      else pools = defaultPools(distro);
    }
    const rendered = renderTemplate(template, { servers, pools, peers: v.peers, allow: v.allow });
    const actions: Action[] = [];
    // As cloud-init: the file the image had is kept beside ours as .dist.
    const old = files.readIfExists(client.confpath);
    if (old !== null) actions.push({ kind: 'write', path: `${client.confpath}.dist`, content: old, mode: 0o644, why: 'the image\'s own' });
    actions.push({ kind: 'write', path: client.confpath, content: rendered, mode: 0o644, why: `${name}: ${servers.length} server(s), ${pools.length} pool(s)` });
    const installing = install(run, client);
    // No way to install the missing client: its config is written, the service is not restarted.
    if (installing === null) return actions;
    // cloud-init's manage_service('reload'): systemctl reload-or-restart (service … restart without systemd).
    return [...actions, ...installing, ...serviceActions(run, 'reload', client.service_name)];
  },
});
