// Oracle datasource: Oracle Cloud Infrastructure's instance metadata service.
//
//   GET http://169.254.169.254/opc/v2/instance/   (Authorization: Bearer Oracle)
//       id, hostname, displayName, ociAdName, metadata.user_data (base64),
//       metadata.ssh_authorized_keys, …
//   GET http://169.254.169.254/opc/v2/vnics/      the VNICs: macAddr, privateIp, subnetCidrBlock, …
// and /opc/v1/ (no header) where v2 does not answer: older services, or
// v2 refused. v2 is asked first at every endpoint (169.254.169.254, then
// [fd00:c1::a9fe:a9fe]), then v1; rounds go on until `max_wait` (30 s), each
// request cut to `timeout` (5 s), as cloud-init's wait_for_url does. The
// VNICs are asked at the version and endpoint that answered.
//
// Config (`datasource: {Oracle: {…}}`): `configure_secondary_nics` (false),
// `max_wait`, `timeout` as cloud-init reads them; `metadata_urls` (the
// endpoints, default the two above) is ec2-init's own, so a test or an
// image can point the source elsewhere.
//
// Asked where DMI's chassis asset tag is "OracleCloud.com". Network config:
// the primary VNIC by DHCP (DHCPv6 when it is IPv6-only), MTU 9000, matched
// by MAC; secondary VNICs, static, only with configure_secondary_nics (never
// on bare metal, whose VNIC data carries nicIndex). When the root file system
// is on iSCSI — the firmware's iBFT marks a valid boot target, or the
// initramfs configured the NIC (/run/net-*.cfg) — the primary NIC is left
// exactly as the initramfs set it up: no config is rendered for it (not even
// the DHCP fallback), since taking it down or renewing its address would
// cut the machine off its own root disk.
import { asText, fromBase64 } from '../bytes.ts';
import type { Files } from '../host/files.ts';
import { now } from '../host/clock.ts';
import type { Logger } from '../log.ts';
import { remaining } from '../net/cancel.ts';
import { firstInRounds } from '../net/fetch.ts';
import { request, type HttpResponse } from '../net/http.ts';
import { nicsByMac, readNics } from '../network/sysfs.ts';
import type { SourceData } from '../types.ts';
import { isMapping } from '../yaml/index.ts';
import type { Platform } from './platform.ts';
import { pubkeys } from './pubkeys.ts';
import { seconds, urls, type Source } from './source.ts';

export const ORACLE_URLS = ['http://169.254.169.254', 'http://[fd00:c1::a9fe:a9fe]'];
const V2_HEADERS = { Authorization: 'Bearer Oracle' };
/** OCI's MTU inside its network (cloud-init sets it on every VNIC it configures). */
const MTU = 9000;
const ROUND_PAUSE_MS = 100;

export interface OracleOptions {
  bases: string[];
  timeoutMs: number;
  maxWaitMs: number;
  deadline: number;
  configureSecondaryNics: boolean;
  /** The root file system is on iSCSI: the primary NIC is left alone (iscsiRoot()). */
  iscsiRoot: string | null;
  nics: Map<string, string>;
}

export const onOracle = (p: Platform): boolean => p.dmi.chassis_asset_tag === 'OracleCloud.com';

/**
 * Why the root is on iSCSI, or null: an iBFT target that is valid (flag 1)
 * and the firmware's boot target (flag 2), as cloud-init reads
 * /sys/firmware/ibft/target*\/flags, or the initramfs's own network config
 * (/run/net-*.cfg, klibc's ipconfig), which cloud-init then renders instead
 * of the metadata's. Read under the root.
 */
export function iscsiRoot(files: Files): string | null {
  for (const t of files.list('/sys/firmware/ibft').filter((n) => /^target\d*$/.test(n)).sort()) {
    let flags: number;
    try { flags = Number.parseInt((files.readTextIfExists(`/sys/firmware/ibft/${t}/flags`, 64) ?? '').trim(), 10); } catch { continue; }
    if (Number.isInteger(flags) && (flags & 1) && (flags & 2)) return `iBFT ${t} is the firmware's boot target`;
  }
  const klibc = files.list('/run').filter((n) => /^net-.+\.cfg$/.test(n)).sort();
  if (klibc.length) return `the initramfs configured the network (/run/${klibc.join(', /run/')})`;
  return null;
}

/** The prefix length of a CIDR block, or null. */
function prefixOf(cidr: unknown): number | null {
  const m = typeof cidr === 'string' ? /\/(\d{1,3})$/.exec(cidr) : null;
  return m ? Number(m[1]) : null;
}

/**
 * The VNICs as network config v1, as cloud-init's Oracle source makes it:
 * the primary (vnics[0]) by DHCP unless `primary` is false, the others static
 * with `secondaries`. A VNIC whose MAC is not on this machine is skipped.
 * One difference: a secondary's IPv6 address gets the prefix of its
 * ipv6SubnetCidrBlock (cloud-init gives /128, or the IPv4 subnet's prefix).
 */
export function oracleNetwork(vnics: unknown, primary: boolean, secondaries: boolean, nics: Map<string, string>, log: Logger): Record<string, unknown>[] {
  if (!Array.isArray(vnics) || vnics.length === 0) return [];
  const config: Record<string, unknown>[] = [];
  if (!primary && secondaries && isMapping(vnics[0]) && 'nicIndex' in vnics[0]) {
    log.warn('datasource Oracle: the VNIC metadata says this is a bare metal machine; secondary VNICs are not configured');
    return [];
  }
  const list = primary ? (secondaries ? vnics : vnics.slice(0, 1)) : secondaries ? vnics.slice(1) : [];
  for (const [i, v] of list.entries()) {
    if (!isMapping(v)) continue;
    const isPrimary = primary && i === 0;
    const mac = typeof v['macAddr'] === 'string' ? v['macAddr'].toLowerCase() : '';
    const name = nics.get(mac);
    if (!name) { log.warn(`datasource Oracle: VNIC with MAC ${mac || '(none)'} not found on this machine; skipped`); continue; }
    const v6 = Array.isArray(v['ipv6Addresses']) && typeof v['ipv6Addresses'][0] === 'string' ? v['ipv6Addresses'][0] : null;
    const privateIp = typeof v['privateIp'] === 'string' && v['privateIp'] !== '' ? v['privateIp'] : null;
    const ipv6Only = Boolean(v['ipv6VirtualRouterIp']) && !privateIp;
    let subnets: Record<string, unknown>[];
    if (isPrimary) subnets = [{ type: ipv6Only ? 'dhcp6' : 'dhcp' }];
    else {
      subnets = [];
      if (privateIp) subnets.push({ type: 'static', address: `${privateIp}/${prefixOf(v['subnetCidrBlock']) ?? 32}` });
      if (v6) subnets.push({ type: 'static', address: `${v6}/${prefixOf(v['ipv6SubnetCidrBlock']) ?? 128}` });
    }
    config.push({ name, type: 'physical', mac_address: mac, mtu: MTU, subnets });
  }
  return config;
}

/** One GET of `url`, with the v2 header where it is a v2 URL; null when it gives no usable answer. */
async function attempt(url: string, o: OracleOptions, log: Logger): Promise<HttpResponse | null> {
  try {
    const r = await request(url, { headers: url.includes('/opc/v2/') ? V2_HEADERS : {}, timeoutMs: Math.min(o.timeoutMs, Math.max(1, remaining(o.deadline))), deadline: o.deadline });
    if (r.status === 200 && r.body.length > 0) return r;
    log.info(`datasource Oracle: ${url}: HTTP ${r.status}${r.status === 200 ? ' (empty)' : ''}`);
  } catch (e) {
    log.info(`datasource Oracle: ${url}: ${(e as Error).message}`);
  }
  return null;
}

/** The first of `candidates` to answer, in rounds until `until` (cloud-init's wait_for_url). */
async function firstAnswer(candidates: string[], until: number, o: OracleOptions, log: Logger): Promise<{ url: string; res: HttpResponse } | null> {
  return firstInRounds(candidates, async (url) => {
    const res = await attempt(url, o, log);
    return res ? { url, res } : null;
  }, { until, pause: { fixedMs: ROUND_PAUSE_MS }, stopMidRound: true });
}

function json(res: HttpResponse, url: string): unknown {
  try { return JSON.parse(asText(res.body)); } catch (e) { throw new Error(`${url}: not JSON (${(e as Error).message})`); }
}

export async function readOracle(o: OracleOptions, log: Logger): Promise<SourceData | null> {
  const started = now();
  const until = Math.min(o.deadline, started + o.maxWaitMs);
  const bases = o.bases.map((b) => b.replace(/\/+$/, ''));
  const candidates = [2, 1].flatMap((v) => bases.map((b) => `${b}/opc/v${v}/instance/`));
  const found = await firstAnswer(candidates, until, o, log);
  if (!found) {
    log.warn(`datasource Oracle: no metadata service answered (${candidates.join(', ')}) within ${Math.round(now() - started)} ms`);
    return null;
  }
  const data = json(found.res, found.url);
  if (!isMapping(data)) throw new Error(`${found.url}: expected a JSON object`);
  const id = data['id'];
  if (typeof id !== 'string' || id === '') throw new Error(`${found.url}: no id (the instance-id)`);
  const versionBase = found.url.slice(0, found.url.indexOf('/instance/') + 1);
  const primary = o.iscsiRoot === null;
  let vnics: unknown = null;
  if (primary || o.configureSecondaryNics) {
    const vnicsUrl = found.url.replace('/instance/', '/vnics/');
    // As cloud-init: the VNICs may take up to one more timeout past max_wait; worth it once the instance answered.
    const got = await firstAnswer([vnicsUrl], Math.min(o.deadline, Math.max(until, now() + o.timeoutMs)), o, log);
    if (got) vnics = json(got.res, vnicsUrl);
    else log.warn(`datasource Oracle: ${vnicsUrl} did not answer; no network config from the metadata`);
  }
  let networkConfig: Record<string, unknown> | undefined;
  if (!primary) log.info(`datasource Oracle: the root is on iSCSI (${o.iscsiRoot}): its NIC is left as the initramfs configured it`);
  const config = oracleNetwork(vnics, primary, o.configureSecondaryNics, o.nics, log);
  if (config.length) networkConfig = { version: 1, config };
  // Nothing to render and the primary NIC is the root's: no fallback either.
  else if (!primary) networkConfig = { version: 1, config: 'disabled' };
  const meta = isMapping(data['metadata']) ? data['metadata'] : {};
  const userData = typeof meta['user_data'] === 'string' && meta['user_data'] !== '' ? fromBase64(meta['user_data']) : null;
  const zone = typeof data['ociAdName'] === 'string' ? data['ociAdName'] : undefined;
  const cache: Record<string, string | Uint8Array> = { 'instance.json': found.res.body };
  if (vnics !== null) cache['vnics.json'] = JSON.stringify(vnics, null, 2) + '\n';
  log.info(`datasource Oracle: ${found.url}: instance ${id}, user-data ${userData ? `${userData.length} bytes` : 'none'}`);
  return {
    name: 'Oracle',
    provider: 'oracle',
    instanceId: id,
    localHostname: typeof data['hostname'] === 'string' ? data['hostname'] : undefined,
    metaData: data,
    userData,
    publicKeys: pubkeys(meta['ssh_authorized_keys']),
    launchIndex: 0,
    availabilityZone: zone,
    cloudName: 'oracle',
    platform: 'oracle',
    subplatform: `metadata (${versionBase})`,
    networkConfig,
    cache,
  };
}

export const oracle: Source = {
  name: 'Oracle',
  reach: 'link-local',
  ephemeral: 'dhcp4',
  detect: onOracle,
  notDetected: 'DMI chassis asset tag is not OracleCloud.com',
  detectWhenForced: true,
  read({ ctx, cfg, deadline, log }) {
    return readOracle({
      bases: urls(cfg, ORACLE_URLS),
      timeoutMs: seconds(cfg['timeout'], 5),
      maxWaitMs: seconds(cfg['max_wait'], 30),
      deadline,
      configureSecondaryNics: cfg['configure_secondary_nics'] === true,
      iscsiRoot: iscsiRoot(ctx.files),
      nics: nicsByMac(readNics(ctx.files)),
    }, log);
  },
};
