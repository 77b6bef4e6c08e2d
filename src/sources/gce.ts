// GCE datasource: Google Compute Engine's metadata server, by address.
//
//   GET {base}instance/id                           the instance-id        (required)
//   GET {base}instance/zone                         projects/N/zones/Z     (required)
//   GET {base}instance/hostname                     NAME.c.PROJECT.internal (required)
//   GET {base}instance/attributes/?recursive=True   JSON: user-data, user-data-encoding,
//                                                   ssh-keys, sshKeys, block-project-ssh-keys
//   GET {base}project/attributes/?recursive=True    JSON: ssh-keys, sshKeys
//
// base is http://169.254.169.254/computeMetadata/v1/ (`datasource: {GCE:
// {metadata_url}}`); every request carries `Metadata-Flavor: Google`, which
// the server requires. Asked in the order above, as cloud-init asks, each
// retried (`retries`, default 5, `sec_between_retries` apart, default 1 s) on
// 429/5xx/drops; a required one that does not answer 200 means "not GCE".
//
// Choices, and why:
// - The address, never metadata.google.internal: a DNS name on the boot path
//   needs a resolver that is not configured yet (and can be spoofed); on GCE
//   the name is that address. A configured URL naming metadata.google.internal
//   is asked at the address too.
// - Asked only where DMI says Google (product name "Google Compute Engine" or
//   "Google", or a serial starting "GoogleCloud-"), even when GCE is the only
//   datasource: cloud-init's GCE source makes the same check itself.
// - The answer's own `Metadata-Flavor: Google` is not required (cloud-init
//   does not look at it), but its absence is logged: whatever answered is not
//   Google's server.
// - ssh keys: the instance's `ssh-keys` and `sshKeys`, and the project's
//   unless the instance sets `block-project-ssh-keys: true` or has legacy
//   `sshKeys`; only lines `USER:KEY` whose USER is the default user or
//   "cloudinit", and never a `google-ssh` key whose `expireOn` has passed
//   (cloud-init's filter).
import { asText, fromBase64, utf8 } from '../bytes.ts';
import type { Logger } from '../log.ts';
import { fetchWithRetries } from '../net/fetch.ts';
import { parseUrl } from '../net/url.ts';
import type { SourceData } from '../types.ts';
import type { Config } from '../config/merge.ts';
import { isMapping } from '../yaml/index.ts';
import type { Platform } from './platform.ts';
import { count, seconds, type Source } from './source.ts';

export const GCE_METADATA_URL = 'http://169.254.169.254/computeMetadata/v1/';
const HEADERS = { 'Metadata-Flavor': 'Google' };

export interface GceOptions {
  /** Ends with '/': http://169.254.169.254/computeMetadata/v1/ */
  base: string;
  timeoutMs: number;
  retries: number;
  pauseMs: number;
  deadline: number;
  /** The system config's default user, whose keys (with "cloudinit"'s) are taken. */
  defaultUser: string | null;
}

/** DMI says Google (ds-identify's and cloud-init's platform_reports_gce). */
export function onGce(p: Platform): boolean {
  return p.dmi.product_name === 'Google Compute Engine' || p.dmi.product_name === 'Google' || p.dmi.product_serial.startsWith('GoogleCloud-');
}

/** The configured metadata_url, or the address; metadata.google.internal becomes the address. */
export function gceBase(cfg: Config, log: Logger): string {
  const given = typeof cfg['metadata_url'] === 'string' && cfg['metadata_url'] !== '' ? cfg['metadata_url'] : GCE_METADATA_URL;
  let url = given.endsWith('/') ? given : `${given}/`;
  try {
    const u = parseUrl(url);
    if (u.hostname === 'metadata.google.internal' || u.hostname === 'metadata.google.internal.') {
      url = `http://169.254.169.254${u.port ? `:${u.port}` : ''}${u.pathname}`;
      log.info(`datasource GCE: asking ${url} (metadata.google.internal's address: no DNS on the boot path)`);
    }
  } catch { /* a bad URL fails at the first request, with its reason */ }
  return url;
}

/** The default user's name as cloud-init's GCE source sees it: system config `users` naming "default" (or `user`), else none. */
export function gceDefaultUser(system: Config): string | null {
  const users = system['users'];
  const old = system['user'];
  const named = (v: unknown) => v === 'default' || (isMapping(v) && v['name'] === 'default');
  const hasDefault = (Array.isArray(users) && users.some(named)) || (typeof users === 'string' && users.split(',').map((s) => s.trim()).includes('default'))
    || (isMapping(users) && 'default' in users) || (old !== undefined && old !== null && old !== '');
  if (!hasDefault) return null;
  if (typeof old === 'string' && old !== '') return old;
  if (isMapping(old) && typeof old['name'] === 'string') return old['name'];
  const info = isMapping(system['system_info']) ? system['system_info'] : {};
  const du = isMapping(info['default_user']) ? info['default_user'] : isMapping(system['default_user']) ? system['default_user'] : null;
  return du && typeof du['name'] === 'string' ? du['name'] : null;
}

/** A `google-ssh {"userName": …, "expireOn": …}` key whose expiry has passed (cloud-init's _has_expired). */
export function keyExpired(key: string, now: number): boolean {
  const m = /^\S+\s+\S+\s+(\S+)\s+([\s\S]*)$/.exec(key.trim());
  if (!m || m[1] !== 'google-ssh') return false;
  let json: unknown;
  try { json = JSON.parse(m[2]!); } catch { return false; }
  if (!isMapping(json) || typeof json['expireOn'] !== 'string') return false;
  // %Y-%m-%dT%H:%M:%S%z, as strptime reads it: Z, +HHMM or +HH:MM.
  const t = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}:?\d{2})$/.exec(json['expireOn']);
  if (!t) return false;
  const [, y, mo, d, h, mi, s, z] = t;
  let offsetMin = 0;
  if (z !== 'Z') {
    const digits = z!.slice(1).replace(':', '');
    offsetMin = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * (z!.startsWith('-') ? -1 : 1);
  }
  const at = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offsetMin * 60_000;
  return now > at;
}

/** The key lines of the instance's and (unless blocked) the project's attributes, as cloud-init joins them. */
export function keyLines(instance: Record<string, unknown>, project: Record<string, unknown>): string[] {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  const lines = [str(instance['sshKeys']), str(instance['ssh-keys'])];
  const block = typeof instance['block-project-ssh-keys'] === 'string' ? instance['block-project-ssh-keys'].toLowerCase() : '';
  if (block !== 'true' && !str(instance['sshKeys'])) lines.push(str(project['ssh-keys']), str(project['sshKeys']));
  return lines.filter((l): l is string => l !== null).join('\n').split(/\r\n|\r|\n/);
}

/** The keys of `lines` (USER:KEY) that belong to the default user or "cloudinit" and have not expired. */
export function filterKeys(lines: string[], defaultUser: string | null, now: number): string[] {
  const out: string[] = [];
  for (const line of lines) {
    // eslint-disable-next-line no-control-regex
    if (!line || !/^[\x00-\x7f]*$/.test(line)) continue;
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const user = line.slice(0, colon);
    const key = line.slice(colon + 1);
    if ((user === 'cloudinit' || (defaultUser !== null && user === defaultUser)) && !keyExpired(key, now)) out.push(key);
  }
  return out;
}

function parseAttributes(text: string | null, what: string): Record<string, unknown> {
  if (text === null || text.trim() === '') return {};
  let v: unknown;
  try { v = JSON.parse(text); } catch (e) { throw new Error(`${what}: not JSON (${(e as Error).message})`); }
  if (!isMapping(v)) throw new Error(`${what}: expected a JSON object`);
  return v;
}

export async function readGce(o: GceOptions, log: Logger): Promise<SourceData | null> {
  let unflavoured = false;
  // The value of one path, or null when it does not answer 200 (cloud-init's get_value).
  const get = async (path: string): Promise<string | null> => {
    const url = o.base + path;
    try {
      const r = await fetchWithRetries(url, { headers: HEADERS, timeoutMs: o.timeoutMs, deadline: o.deadline, retries: o.retries, pause: { fixedMs: o.pauseMs }, log, what: 'datasource GCE' });
      if (r.status !== 200) { log.info(`datasource GCE: ${path}: HTTP ${r.status}`); return null; }
      if (r.headers['metadata-flavor'] !== 'Google') unflavoured = true;
      return asText(r.body);
    } catch (e) {
      log.info(`datasource GCE: ${path}: ${(e as Error).message}`);
      return null;
    }
  };
  const required: Array<[string, string]> = [['instance-id', 'instance/id'], ['availability-zone', 'instance/zone'], ['local-hostname', 'instance/hostname']];
  const md: Record<string, unknown> = {};
  for (const [key, path] of required) {
    const value = await get(path);
    if (value === null) {
      log.warn(`datasource GCE: ${o.base}${path} did not answer; not GCE's metadata server (DMI says Google)`);
      return null;
    }
    md[key] = value;
  }
  const instance = parseAttributes(await get('instance/attributes/?recursive=True'), 'instance/attributes');
  const project = parseAttributes(await get('project/attributes/?recursive=True'), 'project/attributes');
  if (unflavoured) log.warn(`datasource GCE: ${o.base} answered without 'Metadata-Flavor: Google': not Google's metadata server?`);
  const zone = String(md['availability-zone']).split('/').pop() ?? '';
  md['availability-zone'] = zone;
  const lines = keyLines(instance, project);
  md['public-keys-data'] = lines;
  md['instance-data'] = instance;
  md['project-data'] = project;
  let userData: Uint8Array | null = null;
  if (typeof instance['user-data'] === 'string') {
    const encoding = instance['user-data-encoding'];
    if (encoding === 'base64') userData = fromBase64(instance['user-data']);
    else {
      if (typeof encoding === 'string' && encoding !== '') log.warn(`datasource GCE: unknown user-data-encoding '${encoding}'; user-data taken as it is`);
      userData = utf8(instance['user-data']);
    }
  }
  const instanceId = String(md['instance-id']).trim();
  const keys = filterKeys(lines, o.defaultUser, Date.now());
  log.info(`datasource GCE: ${o.base}: instance ${instanceId}, zone ${zone}, ${keys.length} ssh key(s) for ${o.defaultUser ?? '(no default user)'}/cloudinit, user-data ${userData ? `${userData.length} bytes` : 'none'}`);
  return {
    name: 'GCE',
    provider: 'gce',
    instanceId,
    // GCE's names are long FQDNs; cloud-init takes the first label.
    localHostname: String(md['local-hostname']).trim().split('.')[0] || undefined,
    metaData: md,
    userData,
    publicKeys: keys,
    availabilityZone: zone || undefined,
    region: zone.includes('-') ? zone.slice(0, zone.lastIndexOf('-')) : zone || undefined,
    cloudName: 'gce',
    platform: 'gce',
    subplatform: `metadata (${o.base})`,
    cache: { 'meta-data.json': JSON.stringify(md, null, 2) + '\n' },
  };
}

export const gce: Source = {
  name: 'GCE',
  reach: 'link-local',
  ephemeral: 'dhcp4',
  detect: onGce,
  notDetected: 'DMI does not say Google',
  detectWhenForced: true,
  read({ platform, system, cfg, deadline, log }) {
    return readGce({
      base: gceBase(cfg, log),
      timeoutMs: seconds(cfg['timeout'], 10),
      retries: count(cfg['retries'], 5),
      pauseMs: seconds(cfg['sec_between_retries'], 1),
      deadline,
      defaultUser: gceDefaultUser(system),
    }, log);
  },
};
