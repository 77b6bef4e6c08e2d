// Vultr datasource: Vultr's metadata service, one JSON document.
//
//   GET http://169.254.169.254/v1.json   instance-v2-id, hostname, region, public-keys,
//                                        user-data, vendor-data, interfaces or cloud_interfaces
//
// Sent with `Metadata-Token: cloudinit` and cloud-init's User-Agent form
// ("Cloud-Init/VERSION - OS: Linux Variant: debian"), as cloud-init sends
// them: the service shapes its vendor-data by them. Config (`datasource:
// {Vultr: {…}}`), as cloud-init reads it: `url`, `timeout` (10 s), `retries`
// (30), `wait` (5 s between tries), `user-agent`; retried on 429/5xx/drops.
// The /v1/ tree (one value per request) is not read: v1.json has it all.
//
// Rules, as cloud-init's: asked where DMI's sys_vendor is "Vultr", the
// kernel command line has the word "vultr" (bare metal), or /etc/vultr
// exists. The instance-id is `instance-v2-id`; an empty hostname is "guest";
// the region is the country code (else the region code), lower case. The
// network config is `cloud_interfaces` (v1, given names by MAC here) when the
// service sends it, else made from `interfaces`: the first NIC by DHCP and
// SLAAC, the others static, each with its additional addresses and routes,
// and Vultr's resolvers.
import { utf8 } from '../bytes.ts';
import { osRelease } from '../host/os-release.ts';
import type { Logger } from '../log.ts';
import { HttpError } from '../net/http.ts';
import { nicsByMac, readNics } from '../network/sysfs.ts';
import type { SourceData } from '../types.ts';
import { VERSION } from '../version.ts';
import { isMapping } from '../yaml/index.ts';
import type { ReadBudget } from './budget.ts';
import { oneDocument } from './fetch-within.ts';
import type { Platform } from './platform.ts';
import { pubkeys } from './pubkeys.ts';
import { count, seconds, type Source } from './source.ts';

export const VULTR_URL = 'http://169.254.169.254';
const NAMESERVERS = ['108.61.10.10', '2001:19f0:300:1704::6'];
/** Keys of v1.json that are secrets: kept in the cache, never in instance-data. */
const SECRET_KEYS = ['startup-script'];

export interface VultrOptions {
  url: string;
  timeoutMs: number;
  retries: number;
  pauseMs: number;
  deadline: number;
  userAgent: string;
  nics: Map<string, string>;
  /** What the read may take (the document holds the user-data: counted once). */
  budget: ReadBudget;
}

/** ds-identify's and cloud-init's is_vultr. */
export function onVultr(p: Platform): boolean {
  return p.dmi.sys_vendor === 'Vultr' || p.cmdline.split(/\s+/).includes('vultr') || p.exists('/etc/vultr');
}

type Entry = Record<string, unknown>;

function vultrInterface(nic: Entry, primary: boolean, nics: Map<string, string>): Entry {
  const mac = typeof nic['mac'] === 'string' ? nic['mac'].toLowerCase() : '';
  const name = nics.get(mac);
  if (!name) throw new Error(`no NIC with MAC ${mac || '(none)'} on this machine`);
  const out: Entry = { name, type: 'physical', mac_address: mac };
  const v4 = isMapping(nic['ipv4']) ? nic['ipv4'] : {};
  const v6 = isMapping(nic['ipv6']) ? nic['ipv6'] : {};
  const subnets: Entry[] = primary
    ? [{ type: 'dhcp', control: 'auto' }, { type: 'ipv6_slaac', control: 'auto' }]
    : [{ type: 'static', control: 'auto', address: v4['address'], netmask: v4['netmask'] }];
  if (primary) out['accept-ra'] = 1;
  out['subnets'] = subnets;
  if ('mtu' in nic) out['mtu'] = nic['mtu'];
  if ('accept-ra' in nic) out['accept-ra'] = nic['accept-ra'];
  if ('routes' in nic) subnets[0]!['routes'] = nic['routes'];
  for (const a of Array.isArray(v4['additional']) ? v4['additional'] : []) {
    if (!isMapping(a)) continue;
    subnets.push({ type: 'static', control: 'auto', address: a['address'], netmask: a['netmask'], ...('routes' in a ? { routes: a['routes'] } : {}) });
  }
  for (const a of Array.isArray(v6['additional']) ? v6['additional'] : []) {
    if (!isMapping(a)) continue;
    subnets.push({ type: 'static6', control: 'auto', address: `${String(a['network'])}/${String(a['prefix'])}`, ...('routes' in a ? { routes: a['routes'] } : {}) });
  }
  return out;
}

/**
 * The network config of v1.json, as cloud-init makes it: `cloud_interfaces`
 * with names given by MAC, else one made from `interfaces`. An interface
 * whose MAC is not on this machine is left out (cloud-init gives up on the
 * whole config) and said.
 */
export function vultrNetwork(md: Entry, nics: Map<string, string>, log: Logger): Record<string, unknown> | undefined {
  const ci = md['cloud_interfaces'];
  if (isMapping(ci) && Array.isArray(ci['config'])) {
    const config: unknown[] = [];
    for (const [i, e] of (ci['config'] as unknown[]).entries()) {
      if (!isMapping(e) || e['type'] !== 'physical') { config.push(e); continue; }
      const mac = typeof e['mac_address'] === 'string' ? e['mac_address'].toLowerCase() : '';
      const name = nics.get(mac);
      if (!name) { log.warn(`datasource Vultr: cloud_interfaces.config[${i}]: no NIC with MAC ${mac || '(none)'} on this machine; not configured`); continue; }
      config.push({ ...e, name });
    }
    return { ...ci, config };
  }
  const list = Array.isArray(md['interfaces']) ? md['interfaces'] as unknown[] : [];
  const config: unknown[] = [{ type: 'nameserver', address: [...NAMESERVERS] }];
  for (const [i, nic] of list.entries()) {
    if (!isMapping(nic) || (i > 0 && nic['unconfigured'])) continue;
    try { config.push(vultrInterface(nic, i === 0, nics)); } catch (e) {
      log.warn(`datasource Vultr: interfaces[${i}]: ${(e as Error).message}; not configured`);
    }
  }
  return { version: 1, config };
}

export async function readVultr(o: VultrOptions, log: Logger): Promise<SourceData | null> {
  const url = `${o.url.replace(/\/+$/, '')}/v1.json`;
  let got;
  try {
    got = await oneDocument(o.budget, url, {
      headers: { 'Metadata-Token': 'cloudinit', 'User-Agent': o.userAgent },
      timeoutMs: o.timeoutMs, deadline: o.deadline, retries: o.retries, pause: { fixedMs: o.pauseMs }, log, what: 'datasource Vultr',
    });
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    log.warn(`datasource Vultr: ${url}: ${e.message}; no metadata service`);
    return null;
  }
  const md = got.doc;
  const instanceId = md['instance-v2-id'];
  if (typeof instanceId !== 'string' || instanceId === '') throw new Error(`${url}: no instance-v2-id (the instance-id)`);
  const hostname = typeof md['hostname'] === 'string' && md['hostname'] !== '' ? md['hostname'] : 'guest';
  const region = isMapping(md['region']) ? md['region'] : {};
  const code = typeof region['countrycode'] === 'string' ? region['countrycode'] : typeof region['regioncode'] === 'string' ? region['regioncode'] : undefined;
  const ud = md['user-data'];
  const vd = md['vendor-data'];
  if (vd !== undefined && vd !== null && typeof vd !== 'string') log.warn('datasource Vultr: vendor-data is not a string; ignored');
  const metaData: Entry = { ...md, 'instance-id': instanceId, 'local-hostname': hostname, region: code?.toLowerCase() ?? null };
  for (const k of SECRET_KEYS) delete metaData[k];
  log.info(`datasource Vultr: ${url}: instance ${instanceId}, user-data ${typeof ud === 'string' && ud !== '' ? `${ud.length} characters` : 'none'}`);
  return {
    name: 'Vultr',
    provider: 'vultr',
    instanceId,
    localHostname: hostname,
    metaData,
    userData: typeof ud === 'string' && ud !== '' ? utf8(ud) : null,
    vendorData: typeof vd === 'string' && vd !== '' ? utf8(vd) : null,
    publicKeys: pubkeys(md['public-keys']),
    region: code?.toLowerCase(),
    cloudName: 'vultr',
    platform: 'vultr',
    // cloud-init's Vultr source names no metadata address.
    subplatform: 'unknown',
    networkConfig: vultrNetwork(md, o.nics, log),
    cache: { 'v1.json': got.body },
  };
}

export const vultr: Source = {
  name: 'Vultr',
  reach: 'link-local',
  ephemeral: 'dhcp4',
  detect: onVultr,
  notDetected: 'not Vultr (DMI sys_vendor, "vultr" on the kernel command line, /etc/vultr)',
  detectWhenForced: true,
  read({ ctx, cfg, deadline, log, budget }) {
    const variant = osRelease(ctx.files)['ID'] ?? 'linux';
    return readVultr({
      url: typeof cfg['url'] === 'string' && cfg['url'] !== '' ? cfg['url'] : VULTR_URL,
      timeoutMs: seconds(cfg['timeout'], 10),
      retries: count(cfg['retries'], 30),
      pauseMs: seconds(cfg['wait'], 5),
      deadline,
      userAgent: typeof cfg['user-agent'] === 'string' && cfg['user-agent'] !== '' ? cfg['user-agent'] : `Cloud-Init/25.1 (ec2-init ${VERSION}) - OS: Linux Variant: ${variant}`,
      nics: nicsByMac(readNics(ctx.files)),
      budget,
    }, log);
  },
};
