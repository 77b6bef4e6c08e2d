// Hetzner datasource: Hetzner Cloud's metadata service.
//
//   GET http://169.254.169.254/hetzner/v1/metadata                   YAML: instance-id, hostname,
//                                                                    public-keys, network-config, vendor_data
//   GET http://169.254.169.254/hetzner/v1/metadata/private-networks  YAML: a list (mac_address, ip, …)
//   GET http://169.254.169.254/hetzner/v1/userdata                   raw; 204 or empty = none
//
// Config (`datasource: {Hetzner: {…}}`), as cloud-init reads it:
// `metadata_url` and `userdata_url` (cloud-init ≤ 25.1; the private networks
// are then `{metadata_url}/private-networks`), or the paths under the base
// `metadata_path`, `metadata_private_networks_path`, `userdata_path` (newer
// cloud-init); `timeout` (2 s), `retries` (60), `wait_retry` (2 s between
// tries), `max_wait` (120 s overall). Retried on 429/5xx/drops.
//
// Rules, as cloud-init's: asked only where DMI's sys_vendor is "Hetzner"
// (even as the only datasource), and the instance-id must equal DMI's serial
// number (else the data is not this machine's: an error). User-data that is
// valid base64 is decoded (the service cannot carry binary user-data). The
// network config is the metadata's `network-config` (v1) plus one DHCP entry
// per private network, the NIC found by its MAC.
import { asText, pythonBase64, utf8 } from '../bytes.ts';
import { now } from '../host/clock.ts';
import type { Logger } from '../log.ts';
import { HttpError } from '../net/http.ts';
import { nicsByMac, readNics } from '../network/sysfs.ts';
import type { SourceData } from '../types.ts';
import type { Config } from '../config/merge.ts';
import { isMapping, parseYaml } from '../yaml/index.ts';
import type { ReadBudget } from './budget.ts';
import { fetchWithin, oneDocument, optionalWithin } from './fetch-within.ts';
import type { Platform } from './platform.ts';
import { pubkeys } from './pubkeys.ts';
import { count, seconds, type Source } from './source.ts';

export const HETZNER_BASE = 'http://169.254.169.254/hetzner/v1/';

export interface HetznerOptions {
  metadataUrl: string;
  privateNetworksUrl: string;
  userdataUrl: string;
  timeoutMs: number;
  retries: number;
  pauseMs: number;
  deadline: number;
  /** DMI's serial number: the instance-id the metadata must carry. */
  serial: string;
  /** MAC (lower case) → this machine's NIC name, for the private networks. */
  nics: Map<string, string>;
  /** What the read may take; where a user-data over it is reported (left out). */
  budget: ReadBudget;
  report: (message: string) => void;
}

/** The three URLs from the config, as cloud-init 25.1 (metadata_url, userdata_url) or newer (paths under the base) reads them. */
export function hetznerUrls(cfg: Config): { metadata: string; privateNetworks: string; userdata: string } {
  const str = (k: string) => (typeof cfg[k] === 'string' && cfg[k] !== '' ? cfg[k] as string : null);
  const under = (path: string) => HETZNER_BASE + path.replace(/^\/+/, '');
  const metadata = str('metadata_url') ?? under(str('metadata_path') ?? 'metadata');
  return {
    metadata,
    privateNetworks: str('metadata_url') ? `${metadata.replace(/\/+$/, '')}/private-networks` : under(str('metadata_private_networks_path') ?? 'metadata/private-networks'),
    userdata: str('userdata_url') ?? under(str('userdata_path') ?? 'userdata'),
  };
}

/** Bytes that are strictly base64 (Python's b64decode with validate=True) decoded, anything else as it is. */
export function maybeBase64(data: Uint8Array): Uint8Array {
  return pythonBase64(asText(data), true) ?? data;
}

/** The metadata's network-config (v1) with a DHCP entry for each private network whose NIC is here. */
export function hetznerNetwork(networkConfig: unknown, privateNetworks: unknown, nics: Map<string, string>, log: Logger): Record<string, unknown> | undefined {
  if (!isMapping(networkConfig) || !Array.isArray(networkConfig['config'])) {
    log.warn('datasource Hetzner: the metadata has no network-config (v1 with a config list); the fallback network config applies');
    return undefined;
  }
  const config = [...networkConfig['config'] as unknown[]];
  for (const [i, p] of (Array.isArray(privateNetworks) ? privateNetworks : []).entries()) {
    const mac = isMapping(p) && typeof p['mac_address'] === 'string' ? p['mac_address'].toLowerCase() : null;
    const name = mac ? nics.get(mac) : undefined;
    if (!mac || !name) {
      log.warn(`datasource Hetzner: private network ${i}${mac ? ` (MAC ${mac})` : ''}: no NIC with that MAC here; not configured`);
      continue;
    }
    config.push({ type: 'physical', mac_address: mac, name, subnets: [{ ipv4: true, type: 'dhcp' }] });
  }
  return { ...networkConfig, config };
}

function yaml(text: string, what: string): unknown {
  try { return parseYaml(text); } catch (e) { throw new Error(`${what}: not YAML (${(e as Error).message})`); }
}

export async function readHetzner(o: HetznerOptions, log: Logger): Promise<SourceData | null> {
  const opts = { timeoutMs: o.timeoutMs, deadline: o.deadline, retries: o.retries, pause: { fixedMs: o.pauseMs }, log, what: 'datasource Hetzner' };
  let meta;
  try { meta = await oneDocument(o.budget, o.metadataUrl, opts, 'yaml'); } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    log.warn(`datasource Hetzner: ${o.metadataUrl}: ${e.message}; no metadata service (DMI says Hetzner)`);
    return null;
  }
  const md = meta.doc;
  const id = md['instance-id'];
  const instanceId = typeof id === 'string' || typeof id === 'number' ? String(id) : '';
  if (instanceId === '') throw new Error(`${o.metadataUrl}: no instance-id`);
  if (instanceId !== o.serial) throw new Error(`${o.metadataUrl}: instance-id ${instanceId} is not DMI's serial number ${o.serial || '(none)'}: the metadata is not this machine's`);
  const privRes = await fetchWithin(o.budget, o.privateNetworksUrl, opts);
  let privateNetworks: unknown = [];
  if (privRes.status === 200) privateNetworks = yaml(asText(privRes.body), o.privateNetworksUrl) ?? [];
  else log.info(`datasource Hetzner: ${o.privateNetworksUrl}: HTTP ${privRes.status}; no private networks`);
  const udRes = await optionalWithin(o.budget, o.userdataUrl, opts, o.report);
  if (udRes && udRes.status !== 200 && udRes.status !== 204 && udRes.status !== 404) throw new Error(`${o.userdataUrl}: HTTP ${udRes.status}`);
  const userData = udRes?.status === 200 && udRes.body.length > 0 ? maybeBase64(udRes.body) : null;
  const vendor = md['vendor_data'];
  if (vendor !== undefined && vendor !== null && typeof vendor !== 'string') log.warn('datasource Hetzner: vendor_data is not a string; ignored');
  const keys = md['public-keys'];
  const metaData: Record<string, unknown> = {
    'instance-id': instanceId,
    'local-hostname': md['hostname'] ?? null,
    'network-config': md['network-config'] ?? null,
    'public-keys': keys ?? null,
    'private-networks': privateNetworks,
  };
  log.info(`datasource Hetzner: ${o.metadataUrl}: instance ${instanceId}, user-data ${userData ? `${userData.length} bytes` : 'none'}`);
  return {
    name: 'Hetzner',
    provider: 'hetzner',
    instanceId,
    localHostname: typeof md['hostname'] === 'string' ? md['hostname'] : undefined,
    metaData,
    userData,
    vendorData: typeof vendor === 'string' ? utf8(vendor) : null,
    publicKeys: pubkeys(keys),
    cloudName: 'hetzner',
    platform: 'hetzner',
    subplatform: `metadata (${o.metadataUrl})`,
    networkConfig: hetznerNetwork(md['network-config'], privateNetworks, o.nics, log),
    cache: { metadata: meta.body, 'private-networks': privRes.status === 200 ? privRes.body : '[]\n' },
  };
}

export const hetzner: Source = {
  name: 'Hetzner',
  reach: 'link-local',
  ephemeral: 'dhcp4',
  detect: (p: Platform) => p.dmi.sys_vendor === 'Hetzner',
  notDetected: 'DMI sys_vendor is not Hetzner',
  detectWhenForced: true,
  read({ ctx, platform, cfg, deadline, log, budget }) {
    if (!platform.dmi.product_serial) throw new Error('DMI says Hetzner but has no serial number (the instance-id to check the metadata against)');
    const u = hetznerUrls(cfg);
    return readHetzner({
      metadataUrl: u.metadata,
      privateNetworksUrl: u.privateNetworks,
      userdataUrl: u.userdata,
      timeoutMs: seconds(cfg['timeout'], 2),
      retries: count(cfg['retries'], 60),
      pauseMs: seconds(cfg['wait_retry'], 2),
      deadline: Math.min(deadline, now() + seconds(cfg['max_wait'], 120)),
      serial: platform.dmi.product_serial,
      nics: nicsByMac(readNics(ctx.files)),
      budget,
      report: (m) => ctx.report('error', 'datasource Hetzner', m),
    }, log);
  },
};
