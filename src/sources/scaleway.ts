// Scaleway datasource: the instance's metadata API.
//
//   GET {url}/                          is the API there? (the first URL to answer 200 serves the rest)
//   GET {url}/conf?format=json          id, hostname, zone, ssh_public_keys, tags, public_ips, …
//   GET {url}/user_data/cloud-init      FROM A SOURCE PORT BELOW 1024; 404: none
//   GET {url}/vendor_data/cloud-init    likewise
// {url}: http://169.254.42.42, then http://[fd00:42::42].
//
// The API gives user-data and vendor-data only to a client whose source port
// is privileged (< 1024), i.e. to root. As cloud-init's DataSourceScaleway:
// the request is made from port 1, then port 2, … (max(retries, 2) - 1 ports),
// the next port after any failure (the port in use, 429, 5xx…), 5 s later
// when the service answered (ec2-init: at once when the port was taken —
// cloud-init pauses then too, though the service was never asked);
// `datasource: {Scaleway: {retries (3), timeout (10 s), max_wait (2 s),
// metadata_urls}}`. Asked where DMI's sys_vendor is Scaleway, the kernel
// command line says `scaleway`, or /var/run/scaleway exists; read in
// init-local over the short-lived DHCPv4 network, then IPv6 (cloud-init reads
// it there only).
//
// Keys: ssh_public_keys[].key and each tag AUTHORIZED_KEY=<key with '_' for
// spaces>. Zone fr-par-1 is the availability zone, fr-par the region.
// Network config (v2, on the fallback NIC): DHCPv4 for the public address
// the DHCP lease gave, with an on-link route to the API (169.254.42.42/32 via
// 62.210.0.1); every other public address static, IPv6 ones with a default
// route via their gateway. The lease: init-local's short-lived network's;
// read after networking (ec2-init only), the image's DHCP client's lease
// file (leases.ts).
//
// Where ec2-init differs: `metadata_urls` replaces the built-in addresses
// (cloud-init appends to them, so a test or proxy URL is asked only after
// 169.254.42.42 and fd00:42::42 were).
import { now } from '../host/clock.ts';
import type { Logger } from '../log.ts';
import { Cancel, remaining, sleep } from '../net/cancel.ts';
import { fetchWithRetries } from '../net/fetch.ts';
import { HttpError, request } from '../net/http.ts';
import { fallbackNic } from '../network/fallback.ts';
import { readNics } from '../network/sysfs.ts';
import type { SourceData } from '../types.ts';
import { isMapping } from '../yaml/index.ts';
import { fromDhclient, fromNetworkd } from './leases.ts';
import { count, jsonObject, seconds, text, urls, type Source, type SourceRun } from './source.ts';

export const SCALEWAY_URLS = ['http://169.254.42.42', 'http://[fd00:42::42]'];
/** Pause after a failed user-data or vendor-data request, before the next port (cloud-init's). */
const PORT_PAUSE_MS = 5000;

/** The keys of conf: ssh_public_keys, then AUTHORIZED_KEY= tags. */
export function scalewayKeys(conf: Record<string, unknown>): string[] {
  const keys: string[] = [];
  for (const k of Array.isArray(conf['ssh_public_keys']) ? conf['ssh_public_keys'] : []) {
    if (isMapping(k) && typeof k['key'] === 'string' && k['key'].trim()) keys.push(k['key'].trim());
  }
  for (const tag of Array.isArray(conf['tags']) ? conf['tags'] : []) {
    if (typeof tag === 'string' && tag.startsWith('AUTHORIZED_KEY=')) keys.push(tag.slice('AUTHORIZED_KEY='.length).replace(/_/g, ' '));
  }
  return keys;
}

/** cloud-init's v2 network config of conf's public_ips; `dhcpAddress` is the address the DHCP lease gave (if any). */
export function scalewayNetworkConfig(publicIps: unknown[], nic: string, dhcpAddress: string | undefined): Record<string, unknown> {
  const cfg: Record<string, unknown> = {};
  const addresses: string[] = [];
  const routes: Record<string, unknown>[] = [];
  for (const ip of publicIps) {
    if (!isMapping(ip)) continue;
    if (dhcpAddress !== undefined && ip['address'] === dhcpAddress) {
      cfg['dhcp4'] = true;
      routes.push({ 'on-link': true, to: '169.254.42.42/32', via: '62.210.0.1' });
      continue;
    }
    addresses.push(`${String(ip['address'])}/${String(ip['netmask'])}`);
    if (ip['family'] === 'inet6') routes.push({ via: ip['gateway'], to: '::/0' });
  }
  if (addresses.length) cfg['addresses'] = addresses;
  if (routes.length) cfg['routes'] = routes;
  return { version: 2, ethernets: { [nic]: cfg } };
}

/** The first base URL whose root answers 200 within max_wait (at least one round over all of them). */
async function findApi(list: string[], timeoutMs: number, maxWaitMs: number, deadline: number, log: Logger): Promise<string | null> {
  const until = Math.min(deadline, now() + maxWaitMs);
  for (let round = 0; ; round++) {
    const done = new Cancel();
    const tries = list.map(async (url) => {
      const base = url.replace(/\/+$/, '');
      // Each try cut to max_wait (at least half a second), as cloud-init's wait_for_url cuts it.
      const r = await request(`${base}/`, { timeoutMs: Math.max(500, Math.min(timeoutMs, remaining(until))), deadline, cancel: done });
      if (r.status !== 200) throw new HttpError('other', `${base}/: HTTP ${r.status}`);
      return base;
    });
    try {
      return await Promise.any(tries);
    } catch (e) {
      const why = (e as AggregateError).errors.map((x: Error) => x.message).join('; ');
      if (remaining(until) < 1000) { log.warn(`datasource Scaleway: no metadata API answered (${why})`); return null; }
      log.debug(`datasource Scaleway: round ${round + 1}: ${why}; again in 1 s`);
      await sleep(1000);
    } finally { done.cancel(); }
  }
}

/** user_data or vendor_data from a privileged source port, trying the next port after a failure. */
async function privileged(url: string, retries: number, timeoutMs: number, deadline: number, log: Logger): Promise<Uint8Array | null> {
  const ports = Math.max(retries, 2) - 1;
  let last = '';
  for (let port = 1; port <= ports; port++) {
    let portTaken = false;
    try {
      const r = await request(url, { timeoutMs, deadline, localPort: port });
      if (r.status === 200) return r.body;
      if (r.status === 404) return null;
      last = `HTTP ${r.status}${r.status === 403 ? ' (the API wants a source port below 1024)' : ''}`;
    } catch (e) {
      last = (e as Error).message;
      // The port held by another socket, or by the last request's connection (TIME_WAIT): the service was not asked.
      portTaken = /EADDRINUSE|EADDRNOTAVAIL/.test(last);
    }
    log.warn(`datasource Scaleway: ${url} from port ${port}: ${last}`);
    if (port < ports && !portTaken) {
      if (remaining(deadline) < PORT_PAUSE_MS + 1000) break;
      await sleep(PORT_PAUSE_MS);
    }
  }
  throw new Error(`${url}: ${last} (from source ports 1 to ${ports})`);
}

async function readScaleway(run: SourceRun): Promise<SourceData | null> {
  const { cfg, log, deadline, ctx, lease } = run;
  const retries = count(cfg['retries'], 3);
  const timeoutMs = seconds(cfg['timeout'], 10);
  const base = await findApi(urls(cfg, SCALEWAY_URLS), timeoutMs, seconds(cfg['max_wait'], 2), deadline, log);
  if (!base) return null;
  const confUrl = `${base}/conf?format=json`;
  const res = await fetchWithRetries(confUrl, { timeoutMs, deadline, retries, log, what: 'datasource Scaleway' });
  if (res.status !== 200) throw new Error(`${confUrl}: HTTP ${res.status}`);
  const conf = jsonObject(res.body, confUrl);
  const userData = await privileged(`${base}/user_data/cloud-init`, retries, timeoutMs, deadline, log);
  const vendorData = await privileged(`${base}/vendor_data/cloud-init`, retries, timeoutMs, deadline, log);
  const id = text(conf['id']);
  if (!id) throw new Error(`${confUrl}: no id (the instance-id)`);
  conf['net_in_use'] = base.includes('[') ? 'ipv6' : 'ipv4';
  const zone = text(conf['zone']);
  const nic = fallbackNic(readNics(ctx.files));
  let networkConfig: Record<string, unknown> | undefined;
  if (!Array.isArray(conf['public_ips'])) log.info(`datasource Scaleway: ${confUrl} has no public_ips: no network config from the metadata`);
  else if (!nic) log.warn('datasource Scaleway: no NIC for the network config');
  else {
    // The address DHCP gave: init-local's short-lived network's, else (read after networking) the image's DHCP client's.
    const dhcp = lease?.address ?? fromNetworkd(ctx.files, 'ADDRESS') ?? fromDhclient(ctx.files, 'fixed-address') ?? undefined;
    if (dhcp === undefined) log.warn('datasource Scaleway: no DHCP lease to tell the DHCP address from the static ones: every public address is written static');
    networkConfig = scalewayNetworkConfig(conf['public_ips'], nic.name, dhcp);
  }
  log.info(`datasource Scaleway: ${base}: server ${id}, zone ${zone ?? '-'}, user-data ${userData ? `${userData.length} bytes` : 'none'}, vendor-data ${vendorData ? `${vendorData.length} bytes` : 'none'}`);
  return {
    name: 'Scaleway',
    provider: 'scaleway',
    instanceId: id,
    localHostname: text(conf['hostname']),
    metaData: conf,
    userData,
    vendorData,
    publicKeys: scalewayKeys(conf),
    availabilityZone: zone,
    region: zone === undefined ? undefined : zone.slice(0, Math.max(0, zone.lastIndexOf('-'))),
    cloudName: 'scaleway',
    platform: 'scaleway',
    ...(networkConfig && { networkConfig }),
    cache: { 'conf.json': JSON.stringify(conf, null, 2) + '\n' },
  };
}

export const scaleway: Source = {
  name: 'Scaleway',
  reach: 'link-local',
  // cloud-init's order: DHCPv4 (169.254.42.42 through the leased address), else the link up for IPv6 (fd00:42::42).
  ephemeral: ['dhcp4', 'ipv6'],
  detect: (p) => p.dmi.sys_vendor === 'Scaleway' || ` ${p.cmdline} `.includes(' scaleway ') || p.exists('/var/run/scaleway'),
  notDetected: "neither DMI's sys_vendor, the kernel command line nor /var/run/scaleway says Scaleway",
  detectWhenForced: true,
  read: readScaleway,
};
