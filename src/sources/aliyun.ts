// AliYun (Alibaba Cloud ECS) datasource: the ECS metadata service, with a token.
//
//   PUT {url}/latest/api/token             X-aliyun-ecs-metadata-token-ttl-seconds: 21600 → the token
//   GET {url}/2016-01-01/user-data         X-aliyun-ecs-metadata-token: … (404: none)
//   GET {url}/2016-01-01/vendor-data       (404: none)
//   GET {url}/2016-01-01/meta-data/all     the whole meta-data as JSON; 404: walk the
//                                          meta-data/ tree instead (EC2's listing format)
// {url}: http://100.100.100.200, or `datasource: {AliYun: {metadata_urls}}`.
//
// As cloud-init's DataSourceAliYun (and helpers/aliyun.py):
// - asked only where DMI's product_name is "Alibaba Cloud ECS" (even when
//   it is the only source listed: cloud-init's read checks it too);
// - the token is required: a token request answered with an HTTP error
//   (403: the endpoint is disabled) ends the read; no answer is tried again
//   until max_wait (240 s; each attempt `timeout`, 50 s), under the search's
//   deadline. A 401 later gets a new token;
// - user-data and vendor-data that fail are none (logged), 5 attempts of 5 s;
// - string values of meta-data/all decoded as the tree's leaves are: JSON
//   objects parsed, several lines a list;
// - hostname from meta-data `hostname`; keys from `public-keys` (a string,
//   a list, or {openssh-key}); no region or zone (cloud-init reads `region`
//   and `availability-zone`, which ECS names region-id and zone-id: they stay
//   in ds.meta_data);
// - network config from meta-data network/interfaces/macs: DHCPv4 on every
//   NIC of this machine the metadata lists (DHCPv6 too where it has ipv6s),
//   matched by MAC, keeping its name, route metrics 100, 200, … in natural
//   name order when there are several; `apply_full_imds_network_config:
//   false` configures only the fallback NIC.
import { asText, utf8 } from '../bytes.ts';
import { now } from '../host/clock.ts';
import type { Logger } from '../log.ts';
import { fetchWithRetries } from '../net/fetch.ts';
import type { HttpResponse } from '../net/http.ts';
import { fallbackNic, naturalCompare } from '../network/fallback.ts';
import { readNics, type Nic } from '../network/sysfs.ts';
import type { SourceData } from '../types.ts';
import { isMapping } from '../yaml/index.ts';
import { OverBudget } from './budget.ts';
import { leaf, walk } from './ec2.ts';
import { fetchWithin } from './fetch-within.ts';
import { seconds, text, urls, type Source, type SourceRun } from './source.ts';

export const ALIYUN_PRODUCT = 'Alibaba Cloud ECS';
export const ALIYUN_URLS = ['http://100.100.100.200'];
const VERSION = '2016-01-01';
const TOKEN_PATH = 'latest/api/token';
const TTL_HEADER = 'X-aliyun-ecs-metadata-token-ttl-seconds';
const TOKEN_HEADER = 'X-aliyun-ecs-metadata-token';

/** meta-data/all's values decoded as the tree's leaves are (cloud-init's MetadataLeafDecoder). */
export function decodeValues(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decodeValues);
  if (isMapping(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decodeValues(x)]));
  if (typeof v === 'string') return v === '' ? '' : leaf(utf8(v));
  return v;
}

/** The keys of meta-data `public-keys`, as cloud-init's parse_public_keys reads them. */
export function aliyunKeys(publicKeys: unknown): string[] {
  if (!isMapping(publicKeys)) return [];
  const out: string[] = [];
  const add = (k: unknown) => {
    if (typeof k === 'string') { if (k.trim()) out.push(k.trim()); } else if (Array.isArray(k)) for (const x of k) if (typeof x === 'string' && x.trim()) out.push(x.trim());
  };
  for (const body of Object.values(publicKeys)) {
    if (isMapping(body)) add(body['openssh-key']);
    else add(body);
  }
  return out;
}

/** The v2 network config of meta-data `network` (cloud-init's convert_ecs_metadata_network_config). */
export function aliyunNetworkConfig(network: Record<string, unknown>, nics: Nic[], full: boolean): Record<string, unknown> | null {
  const ifaces = network['interfaces'];
  const macs = isMapping(ifaces) && isMapping(ifaces['macs']) ? ifaces['macs'] : null;
  if (!macs) return null;
  const byMac = new Map(Object.entries(macs).map(([mac, md]) => [mac.toLowerCase(), md]));
  const entry = (nic: Nic, md: unknown): Record<string, unknown> => {
    const ipv6 = isMapping(md) && hasValue(md['ipv6s']);
    return { dhcp4: true, dhcp6: ipv6, match: { macaddress: nic.mac }, 'set-name': nic.name };
  };
  const ethernets: Record<string, unknown> = {};
  if (!full) {
    const nic = fallbackNic(nics);
    if (!nic) return null;
    ethernets[nic.name] = entry(nic, byMac.get(nic.mac));
    return { version: 2, ethernets };
  }
  const listed = nics.filter((n) => n.mac && byMac.has(n.mac)).sort((a, b) => naturalCompare(a.name, b.name));
  if (listed.length === 0) return null;
  listed.forEach((nic, i) => {
    const e = entry(nic, byMac.get(nic.mac));
    if (listed.length > 1) {
      e['dhcp4-overrides'] = { 'route-metric': (i + 1) * 100 };
      if (e['dhcp6']) e['dhcp6-overrides'] = { 'route-metric': (i + 1) * 100 };
    }
    ethernets[nic.name] = e;
  });
  return { version: 2, ethernets };
}

function hasValue(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (isMapping(v)) return Object.keys(v).length > 0;
  return v !== undefined && v !== null && v !== '' && v !== false;
}

interface Service { base: string; token: string }

async function readAliYun(run: SourceRun): Promise<SourceData | null> {
  const { cfg, log, ctx, deadline, budget } = run;
  const timeoutMs = seconds(cfg['timeout'], 50);
  const until = Math.min(deadline, now() + seconds(cfg['max_wait'], 240));
  const service = await token(urls(cfg, ALIYUN_URLS), timeoutMs, until, log);
  if (!service) return null;
  const get = async (path: string): Promise<HttpResponse> => {
    for (let renewed = false; ;) {
      // Every answer within what is left of the source's budget (a walk of up to MAX_WALK paths included).
      const r = await fetchWithin(budget, `${service.base}/${path}`, {
        timeoutMs: 5000, deadline, retries: 5, pause: { fixedMs: 1000 }, headers: { [TOKEN_HEADER]: service.token }, log, what: 'datasource AliYun',
      });
      if (r.status !== 401 || renewed) return r;
      const again = await token([service.base], timeoutMs, deadline, log);
      if (!again) return r;
      service.token = again.token;
      renewed = true;
    }
  };
  const optional = async (name: string): Promise<Uint8Array | null> => {
    try {
      const r = await get(`${VERSION}/${name}`);
      if (r.status === 200) return r.body.length > 0 ? r.body : null;
      if (r.status !== 404) log.warn(`datasource AliYun: ${service.base}/${VERSION}/${name}: HTTP ${r.status}; none`);
    } catch (e) {
      if (e instanceof OverBudget) ctx.report('error', 'datasource AliYun', e.message);
      else log.warn(`datasource AliYun: ${service.base}/${VERSION}/${name}: ${(e as Error).message}; none`);
    }
    return null;
  };
  const userData = await optional('user-data');
  const vendorData = await optional('vendor-data');
  let metaData: Record<string, unknown>;
  const all = await get(`${VERSION}/meta-data/all`);
  let parsed: unknown = null;
  if (all.status === 200) { try { parsed = JSON.parse(asText(all.body)); } catch { parsed = null; } }
  if (isMapping(parsed)) metaData = decodeValues(parsed) as Record<string, unknown>;
  else {
    log.info(`datasource AliYun: ${service.base}/${VERSION}/meta-data/all: ${all.status === 200 ? 'not a JSON object' : `HTTP ${all.status}`}; walking the meta-data tree`);
    metaData = await walk(async (path) => {
      const r = await get(`${VERSION}/${path}`);
      if (r.status === 200) return r.body;
      if (r.status === 404) return null;
      throw new Error(`${service.base}/${VERSION}/${path}: HTTP ${r.status}`);
    }, 'meta-data/');
  }
  const instanceId = text(metaData['instance-id']);
  if (!instanceId) throw new Error(`${service.base}: the meta-data has no instance-id`);
  const network = isMapping(metaData['network']) ? aliyunNetworkConfig(metaData['network'], readNics(ctx.files), cfg['apply_full_imds_network_config'] !== false) : null;
  if (!network) log.warn('datasource AliYun: meta-data network/interfaces/macs names no NIC of this machine: no network config from the metadata');
  log.info(`datasource AliYun: ${service.base}: instance ${instanceId}, user-data ${userData ? `${userData.length} bytes` : 'none'}, vendor-data ${vendorData ? `${vendorData.length} bytes` : 'none'}`);
  return {
    name: 'AliYun',
    provider: 'aliyun',
    instanceId,
    localHostname: text(metaData['hostname']),
    metaData,
    userData,
    vendorData,
    publicKeys: aliyunKeys(metaData['public-keys']),
    region: text(metaData['region']),
    availabilityZone: text(metaData['availability-zone']) ?? text(metaData['availability_zone']),
    cloudName: 'aliyun',
    platform: 'aliyun',
    subplatform: `metadata (${service.base})`,
    ...(network && { networkConfig: network }),
    cache: { 'meta-data.json': JSON.stringify(metaData, null, 2) + '\n' },
  };
}

/** A token from the first URL that gives one before `until`; null when none does (or one refuses). */
async function token(list: string[], timeoutMs: number, until: number, log: Logger): Promise<Service | null> {
  const failures: string[] = [];
  for (const url of list) {
    const base = url.replace(/\/+$/, '');
    try {
      const r = await fetchWithRetries(`${base}/${TOKEN_PATH}`, {
        method: 'PUT', headers: { [TTL_HEADER]: '21600' }, timeoutMs, deadline: until, retries: 1000, pause: { fixedMs: 1000 },
        retryStatus: () => false, log, what: 'datasource AliYun',
      });
      if (r.status === 200 && r.body.length > 0) return { base, token: asText(r.body).trim() };
      failures.push(`${base}/${TOKEN_PATH}: HTTP ${r.status}${r.status === 403 ? ' (the metadata endpoint is disabled)' : ''}`);
    } catch (e) { failures.push(`${base}/${TOKEN_PATH}: ${(e as Error).message}`); }
  }
  log.warn(`datasource AliYun: no metadata token: ${failures.join('; ') || 'no metadata_urls'}`);
  return null;
}

export const aliYun: Source = {
  name: 'AliYun',
  reach: 'link-local',
  detect: (p) => p.dmi.product_name === ALIYUN_PRODUCT,
  notDetected: `DMI's product_name is not "${ALIYUN_PRODUCT}"`,
  detectWhenForced: true,
  read: readAliYun,
};
