// UpCloud datasource: one JSON document.
//
//   GET http://169.254.169.254/metadata/v1.json
//     instance_id, hostname, public_keys, region, user_data, vendor_data,
//     network: {interfaces: [{mac, ip_addresses: [{address, dhcp, family, gateway, network, dns}]}], dns}
//
// As cloud-init's DataSourceUpCloud (and helpers/upcloud.py): asked only where
// DMI's sys_vendor is UpCloud — even when it is the only datasource listed,
// as cloud-init's own check does — and the instance-id falls back to DMI's
// system uuid. Retries as cloud-init's (30, 2 s apart, 2 s each), under the
// search's deadline. `datasource: {UpCloud: {metadata_url, retries, timeout,
// wait_retry}}` points it elsewhere.
//
// Network config: a v1 config, a physical entry per interface of the
// metadata (found on this machine by MAC): DHCP where the address says dhcp
// (IPv6 by DHCPv6-stateless, UpCloud's SLAAC), else a static address with its
// gateway and prefix, its DNS where it differs from the global list, and the
// global DNS as a nameserver entry. An interface whose MAC this machine lacks
// is left out with a warning (cloud-init refuses the whole config).
import { utf8 } from '../bytes.ts';
import { readNics, nicsByMac } from '../network/sysfs.ts';
import type { SourceData } from '../types.ts';
import { isMapping } from '../yaml/index.ts';
import { oneDocument } from './fetch-within.ts';
import { pubkeys } from './pubkeys.ts';
import { count, seconds, text, type Source, type SourceRun } from './source.ts';

export const UPCLOUD_URL = 'http://169.254.169.254/metadata/v1.json';

/** cloud-init's v1 network config of UpCloud's `network` metadata; `missing` gets the interfaces this machine lacks. */
export function upcloudNetworkConfig(net: Record<string, unknown>, macs: Map<string, string>, missing: (what: string) => void): Record<string, unknown> {
  const globalDns = Array.isArray(net['dns']) ? net['dns'] : [];
  const config: Record<string, unknown>[] = [];
  const interfaces = Array.isArray(net['interfaces']) ? net['interfaces'] : [];
  interfaces.forEach((raw, i) => {
    if (!isMapping(raw)) { missing(`network.interfaces[${i}] is not a mapping`); return; }
    const mac = typeof raw['mac'] === 'string' ? raw['mac'].toLowerCase() : '';
    const name = macs.get(mac);
    if (!name) { missing(`network.interfaces[${i}]: no interface with MAC ${mac || '(none)'} on this machine; left out`); return; }
    const subnets: Record<string, unknown>[] = [];
    for (const ip of Array.isArray(raw['ip_addresses']) ? raw['ip_addresses'] : []) {
      if (!isMapping(ip)) continue;
      const v6 = ip['family'] === 'IPv6';
      if (ip['dhcp'] === true) { subnets.push({ type: v6 ? 'ipv6_dhcpv6-stateless' : 'dhcp' }); continue; }
      const sub: Record<string, unknown> = { type: v6 ? 'static6' : 'static', control: 'auto', address: ip['address'] };
      if (text(ip['gateway'])) sub['gateway'] = ip['gateway'];
      const network = text(ip['network']);
      if (network?.includes('/')) sub['netmask'] = network.split('/')[1];
      const dns = ip['dns'];
      if (Array.isArray(dns) && dns.length > 0 && JSON.stringify(dns) !== JSON.stringify(globalDns)) sub['dns_nameservers'] = dns;
      subnets.push(sub);
    }
    config.push({ type: 'physical', name, mac_address: mac, subnets });
  });
  if (globalDns.length > 0) config.push({ type: 'nameserver', address: globalDns });
  return { version: 1, config };
}

async function readUpCloud(run: SourceRun): Promise<SourceData | null> {
  const { platform, cfg, log, ctx, deadline, budget } = run;
  const serverUuid = platform.dmi.product_uuid.toLowerCase();
  if (!serverUuid) throw new Error('DMI says UpCloud but gives no system uuid (/sys/class/dmi/id/product_uuid): contact UpCloud support');
  const url = text(cfg['metadata_url']) ?? UPCLOUD_URL;
  const { doc: md, body } = await oneDocument(budget, url, {
    timeoutMs: seconds(cfg['timeout'], 2), deadline, retries: count(cfg['retries'], 30),
    pause: { fixedMs: seconds(cfg['wait_retry'], 2) }, log, what: 'datasource UpCloud',
  });
  const network = isMapping(md['network']) ? md['network'] : null;
  let networkConfig: Record<string, unknown> | undefined;
  if (network) {
    networkConfig = upcloudNetworkConfig(network, nicsByMac(readNics(ctx.files)),
      (what) => ctx.report('warning', 'datasource UpCloud', `network config: ${what}`));
  } else {
    ctx.report('warning', 'datasource UpCloud', `${url} has no network mapping: no network config from the metadata`);
  }
  const instanceId = text(md['instance_id']) ?? serverUuid;
  const keys = pubkeys(md['public_keys']);
  // cloud-init's self.metadata: what `query ds.meta_data.*` shows.
  const metaData = {
    'instance-id': instanceId,
    'local-hostname': md['hostname'] ?? null,
    network: md['network'] ?? null,
    'public-keys': md['public_keys'] ?? null,
    availability_zone: md['region'] ?? 'default',
  };
  const bytesOf = (v: unknown): Uint8Array | null => (typeof v === 'string' && v !== '' ? utf8(v) : null);
  log.info(`datasource UpCloud: ${url}: server ${instanceId}, region ${text(md['region']) ?? '-'}, ${keys.length} key(s)`);
  return {
    name: 'UpCloud',
    provider: 'upcloud',
    instanceId,
    localHostname: text(md['hostname']),
    metaData,
    userData: bytesOf(md['user_data']),
    vendorData: bytesOf(md['vendor_data']),
    publicKeys: keys,
    availabilityZone: text(md['region']) ?? 'default',
    cloudName: 'upcloud',
    platform: 'upcloud',
    subplatform: `metadata (${url})`,
    ...(networkConfig && { networkConfig }),
    cache: { 'v1.json': body },
  };
}

export const upCloud: Source = {
  name: 'UpCloud',
  reach: 'link-local',
  detect: (p) => p.dmi.sys_vendor === 'UpCloud',
  notDetected: "DMI's sys_vendor is not UpCloud",
  detectWhenForced: true,
  read: readUpCloud,
};
