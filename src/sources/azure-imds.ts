// Azure's instance metadata service (IMDS), as cloud-init asks it:
//
//   GET http://169.254.169.254/metadata/instance?api-version=2021-08-01&extended=true
//   (Metadata: true, x-ms-client-request-id: a fresh uuid)
//   → 400 (an older Azure Stack): again with api-version=2019-06-01
//
// 404, 410, 429 and 500 mean "not yet" and are asked again a second later
// (cloud-init's retry codes and pause), as are dropped connections and
// timeouts, until the deadline (cloud-init's 300 s, cut to the search's);
// each attempt 30 s at most. What is read from the answer: compute.vmId,
// osProfile (adminUsername, computerName, disablePasswordAuthentication),
// publicKeys, userData (base64), location, platformFaultDomain,
// extended.compute (hasCustomData, ppsType), and network.interface, from
// which the network config is made (cloud-init's
// generate_network_config_from_instance_network_metadata).
import { asText } from '../bytes.ts';
import { base64Decode, randomBytes } from '../host/codecs.ts';
import type { Logger } from '../log.ts';
import { fetchWithRetries } from '../net/fetch.ts';
import { parseKeyLine, validKey } from '../validate/authorized-key.ts';
import type { Nic } from '../network/sysfs.ts';
import { isMapping } from '../yaml/index.ts';

export const IMDS_BASE = 'http://169.254.169.254/metadata';
const RETRY_CODES = new Set([404, 410, 429, 500]);
const MAX_ANSWER = 4 * 1024 * 1024;

export type Imds = Record<string, unknown>;

export interface ImdsOptions {
  base: string;
  deadline: number;
  timeoutMs: number;
  log: Logger;
}

/** A request id as Azure's agents send it: a random (version 4) UUID. */
function requestId(): string {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The instance metadata document; throws (HttpError for no answer, Error for a bad one). */
export async function fetchImds(o: ImdsOptions): Promise<Imds> {
  const get = (query: string) => fetchWithRetries(`${o.base.replace(/\/+$/, '')}/instance?${query}`, {
    headers: { Metadata: 'true', 'x-ms-client-request-id': requestId() },
    timeoutMs: o.timeoutMs,
    deadline: o.deadline,
    retries: Number.MAX_SAFE_INTEGER, // until the deadline
    pause: { fixedMs: 1000 },
    retryStatus: (s) => RETRY_CODES.has(s),
    maxBytes: MAX_ANSWER,
    log: o.log,
    what: 'datasource Azure: IMDS',
  });
  let res = await get('api-version=2021-08-01&extended=true');
  if (res.status === 400) {
    o.log.warn('datasource Azure: IMDS answered 400 to api-version 2021-08-01; falling back to api-version 2019-06-01');
    res = await get('api-version=2019-06-01');
  }
  if (res.status !== 200) throw new Error(`IMDS answered HTTP ${res.status}`);
  let doc: unknown;
  try { doc = JSON.parse(asText(res.body)); } catch (e) {
    throw new ImdsParseError(`IMDS metadata is not JSON: ${(e as Error).message}`);
  }
  if (!isMapping(doc)) throw new ImdsParseError('IMDS metadata is not a JSON object');
  return doc;
}

/** An IMDS answer that is not the metadata document (cloud-init's ReportableErrorImdsMetadataParsingException). */
export class ImdsParseError extends Error {}

const at = (doc: unknown, ...path: string[]): unknown => {
  let v = doc;
  for (const k of path) v = isMapping(v) ? v[k] : undefined;
  return v;
};
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

export const imdsUsername = (doc: Imds): string | null => str(at(doc, 'compute', 'osProfile', 'adminUsername'));
export const imdsHostname = (doc: Imds): string | null => str(at(doc, 'compute', 'osProfile', 'computerName'));
export const imdsRegion = (doc: Imds): string | null => str(at(doc, 'compute', 'location'));
/** cloud-init's availability_zone on Azure: the platform fault domain. */
export const imdsFaultDomain = (doc: Imds): string | null => str(at(doc, 'compute', 'platformFaultDomain'));
export const imdsPpsType = (doc: Imds): string | null => str(at(doc, 'extended', 'compute', 'ppsType'));
export const imdsHasCustomData = (doc: Imds): unknown => at(doc, 'extended', 'compute', 'hasCustomData');

/** osProfile.disablePasswordAuthentication ("true"/"false"), null when absent. */
export function imdsDisablePassword(doc: Imds): boolean | null {
  const v = at(doc, 'compute', 'osProfile', 'disablePasswordAuthentication');
  return v === undefined ? null : v === 'true';
}

/** compute.userData decoded (base64), null when absent or empty; throws on bad base64. */
export function imdsUserData(doc: Imds): Uint8Array | null {
  const v = str(at(doc, 'compute', 'userData'));
  return v === null ? null : base64Decode(v.replace(/\s+/g, ''));
}

/**
 * compute.publicKeys' keyData, with embedded CRLFs removed (keys Azure made
 * before 2021 have them); null when IMDS has no key list or a key is not an
 * OpenSSH public key (cloud-init then uses ovf-env.xml's keys).
 */
export function imdsPublicKeys(doc: Imds): string[] | null {
  const list = at(doc, 'compute', 'publicKeys');
  if (!Array.isArray(list)) return null;
  const keys: string[] = [];
  for (const k of list) {
    const data = isMapping(k) ? k['keyData'] : undefined;
    if (typeof data !== 'string') return null;
    const key = data.trim().replace(/\r\n/g, '');
    if (!validKey(parseKeyLine(key))) return null;
    keys.push(key);
  }
  return keys;
}

/** "000D3A047598" or "00-0d-3a…" → "00:0d:3a:04:75:98". */
export function normalizeMac(mac: string): string {
  const m = mac.length === 12 ? mac.match(/../g)!.join(':') : mac;
  return m.toLowerCase();
}

export interface NetworkOptions {
  /** apply_network_config_for_secondary_ips: the addresses after the first as static ones. */
  secondaryIps: boolean;
  /** apply_network_config_set_name: name the NICs eth0, eth1, … (else enx<mac>). */
  setName: boolean;
}

/** The driver to match a MAC on: hv_netvsc where it is one of them, else the only one; null when unsure. */
function driverFor(mac: string, nics: Nic[]): string | null {
  const drivers = nics.filter((n) => n.mac === mac && n.driver).map((n) => n.driver!);
  if (drivers.includes('hv_netvsc')) return 'hv_netvsc';
  return drivers.length === 1 ? drivers[0]! : null;
}

/**
 * network.interface → network config v2: each NIC by MAC, DHCPv4 (and DHCPv6
 * where it has IPv6 addresses) with route metrics 100, 200, … so the primary
 * NIC's default route wins, DNS from the primary only, and the addresses
 * after each NIC's first as static ones with the subnet's prefix. NICs with
 * no address are left out. Throws on a document without an interface list.
 */
export function imdsNetworkConfig(network: unknown, nics: Nic[], o: NetworkOptions): Record<string, unknown> {
  const list = at(network, 'interface');
  if (!Array.isArray(list)) throw new Error('IMDS network metadata has no interface list');
  const ethernets: Record<string, unknown> = {};
  list.forEach((intf: unknown, idx: number) => {
    const rawMac = at(intf, 'macAddress');
    if (typeof rawMac !== 'string') throw new Error(`IMDS network.interface[${idx}] has no macAddress`);
    const mac = normalizeMac(rawMac);
    const name = o.setName ? `eth${idx}` : `enx${mac.replace(/:/g, '')}`;
    const overrides: Record<string, unknown> = { 'route-metric': (idx + 1) * 100 };
    if (idx > 0) overrides['use-dns'] = false;
    const dev: Record<string, unknown> = { dhcp4: true, 'dhcp4-overrides': overrides, dhcp6: false };
    let hasAddress = false;
    for (const family of ['ipv4', 'ipv6'] as const) {
      const addresses = at(intf, family, 'ipAddress');
      if (!Array.isArray(addresses) || addresses.length === 0) continue;
      hasAddress = true;
      if (family === 'ipv6') { dev['dhcp6'] = true; dev['dhcp6-overrides'] = overrides; }
      if (!o.secondaryIps) continue;
      const subnets = at(intf, family, 'subnet');
      const prefix = String((Array.isArray(subnets) ? at(subnets[0], 'prefix') : undefined) ?? (family === 'ipv4' ? '24' : '128'));
      for (const addr of addresses.slice(1)) {
        const ip = at(addr, 'privateIpAddress');
        if (typeof ip !== 'string') continue;
        ((dev['addresses'] ??= []) as string[]).push(`${ip}/${prefix}`);
      }
    }
    if (!hasAddress) return;
    const match: Record<string, string> = { macaddress: mac };
    const driver = driverFor(mac, nics);
    if (driver) match['driver'] = driver;
    dev['match'] = match;
    if (o.setName) dev['set-name'] = name;
    ethernets[name] = dev;
  });
  return { version: 2, ethernets };
}
