// DigitalOcean datasource: the droplet metadata service, one JSON document.
//
//   GET http://169.254.169.254/metadata/v1.json   droplet_id, hostname, region, public_keys,
//                                                 user_data, vendor_data, interfaces, dns
//
// Reached over a link-local address (169.254.x.y/16 on the first NIC, set up
// by init-local's ephemeral network): no DHCP is needed on DigitalOcean.
// Config (`datasource: {DigitalOcean: {…}}`), as cloud-init reads it:
// `metadata_url`, `timeout` (2 s), `retries` (30), `wait_retry` (2 s between
// tries); retried on 429/5xx/drops.
//
// Rules, as cloud-init's: asked only where DMI's sys_vendor is
// "DigitalOcean" (even as the only datasource); DMI's serial is the droplet
// id, the instance-id when the metadata has none. The region is the
// availability zone (cloud-init's v1.region stays null). The network config
// converts `interfaces` to v1: the public NIC is named eth0 and the private
// one eth1 (matched by MAC), static addresses with the gateway only on the
// public NIC's own (non-anchor) addresses, and `dns.nameservers` as global DNS.
import { utf8 } from '../bytes.ts';
import type { Logger } from '../log.ts';
import { HttpError } from '../net/http.ts';
import { nicsByMac, readNics } from '../network/sysfs.ts';
import type { SourceData } from '../types.ts';
import { isMapping } from '../yaml/index.ts';
import type { ReadBudget } from './budget.ts';
import { oneDocument } from './fetch-within.ts';
import type { Platform } from './platform.ts';
import { pubkeys } from './pubkeys.ts';
import { count, seconds, type Source } from './source.ts';

export const DO_METADATA_URL = 'http://169.254.169.254/metadata/v1.json';

/** Names DigitalOcean's NIC types get (cloud-init's NIC_MAP); other types keep this machine's name. */
const NIC_MAP: Record<string, string> = { public: 'eth0', private: 'eth1' };

export interface DigitalOceanOptions {
  url: string;
  timeoutMs: number;
  retries: number;
  pauseMs: number;
  deadline: number;
  /** DMI's serial number: the droplet id. */
  dropletId: string;
  /** What the read may take (the document holds the user-data: counted once). */
  budget: ReadBudget;
  nics: Map<string, string>;
}

/**
 * `interfaces` ({public: [nic], private: [nic]}) and the nameservers as
 * network config v1, as cloud-init converts them. A NIC whose MAC is not on
 * this machine is left out (cloud-init gives up on the whole config) and said.
 */
export function digitalOceanNetwork(interfaces: unknown, nameservers: unknown, nics: Map<string, string>, log: Logger): Record<string, unknown> | undefined {
  if (!isMapping(interfaces)) return undefined;
  const config: Record<string, unknown>[] = [];
  for (const [kind, list] of Object.entries(interfaces)) {
    const nic = Array.isArray(list) ? list[0] : undefined;
    if (!isMapping(nic)) continue;
    const mac = typeof nic['mac'] === 'string' ? nic['mac'].toLowerCase() : '';
    const here = nics.get(mac);
    if (!here) {
      log.warn(`datasource DigitalOcean: interfaces.${kind}: no NIC with MAC ${mac || '(none)'} on this machine; not configured`);
      continue;
    }
    const type = typeof nic['type'] === 'string' ? nic['type'] : 'unknown';
    const subnets: Record<string, unknown>[] = [];
    for (const key of ['ipv4', 'ipv6', 'anchor_ipv4', 'anchor_ipv6']) {
      const raw = nic[key];
      if (!isMapping(raw) || typeof raw['ip_address'] !== 'string') continue;
      const address = raw['ip_address'];
      const s: Record<string, unknown> = { type: 'static', control: 'auto' };
      if (address.includes(':')) s['address'] = `${address}/${String(raw['cidr'])}`;
      else { s['address'] = address; s['netmask'] = raw['netmask']; }
      if (type === 'public' && !key.startsWith('anchor') && typeof raw['gateway'] === 'string' && raw['gateway'] !== '') s['gateway'] = raw['gateway'];
      subnets.push(s);
    }
    config.push({ type: 'physical', mac_address: mac, name: NIC_MAP[type] ?? here, subnets });
  }
  const dns = Array.isArray(nameservers) ? nameservers.filter((a): a is string => typeof a === 'string') : [];
  if (dns.length) config.push({ type: 'nameserver', address: dns });
  return config.length ? { version: 1, config } : undefined;
}

export async function readDigitalOcean(o: DigitalOceanOptions, log: Logger): Promise<SourceData | null> {
  let got;
  try {
    got = await oneDocument(o.budget, o.url, { timeoutMs: o.timeoutMs, deadline: o.deadline, retries: o.retries, pause: { fixedMs: o.pauseMs }, log, what: 'datasource DigitalOcean' });
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    log.warn(`datasource DigitalOcean: ${o.url}: ${e.message}; no metadata service (DMI says DigitalOcean)`);
    return null;
  }
  const md = got.doc;
  const idText = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  const instanceId = idText(md['droplet_id']) ?? o.dropletId;
  const hostname = idText(md['hostname']) ?? o.dropletId;
  const zone = idText(md['region']) ?? 'default';
  const dns = isMapping(md['dns']) ? md['dns']['nameservers'] : undefined;
  const metaData: Record<string, unknown> = {
    'instance-id': instanceId,
    'local-hostname': hostname,
    interfaces: md['interfaces'] ?? null,
    'public-keys': md['public_keys'] ?? null,
    availability_zone: zone,
  };
  const userData = typeof md['user_data'] === 'string' ? utf8(md['user_data']) : null;
  log.info(`datasource DigitalOcean: ${o.url}: droplet ${instanceId}, region ${zone}, user-data ${userData ? `${userData.length} bytes` : 'none'}`);
  return {
    name: 'DigitalOcean',
    provider: 'digitalocean',
    instanceId,
    localHostname: hostname,
    metaData,
    userData,
    vendorData: typeof md['vendor_data'] === 'string' ? utf8(md['vendor_data']) : null,
    publicKeys: pubkeys(md['public_keys']),
    availabilityZone: zone,
    cloudName: 'digitalocean',
    platform: 'digitalocean',
    subplatform: `metadata (${o.url})`,
    networkConfig: digitalOceanNetwork(md['interfaces'], dns, o.nics, log),
    // The whole document (auth_key included), owner-only like every cache.
    cache: { 'metadata.json': got.body },
  };
}

export const digitalOcean: Source = {
  name: 'DigitalOcean',
  reach: 'link-local',
  ephemeral: 'link-local4',
  detect: (p: Platform) => p.dmi.sys_vendor === 'DigitalOcean',
  notDetected: 'DMI sys_vendor is not DigitalOcean',
  detectWhenForced: true,
  read({ ctx, platform, cfg, deadline, log, budget }) {
    if (!platform.dmi.product_serial) throw new Error('DMI says DigitalOcean but has no serial number (the droplet id); file a support ticket with DigitalOcean');
    return readDigitalOcean({
      url: typeof cfg['metadata_url'] === 'string' && cfg['metadata_url'] !== '' ? cfg['metadata_url'] : DO_METADATA_URL,
      timeoutMs: seconds(cfg['timeout'], 2),
      retries: count(cfg['retries'], 30),
      pauseMs: seconds(cfg['wait_retry'], 2),
      deadline,
      dropletId: platform.dmi.product_serial,
      budget,
      nics: nicsByMac(readNics(ctx.files)),
    }, log);
  },
};
