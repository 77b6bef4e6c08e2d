// Akamai (Linode) datasource: the Metadata service, with a token.
//
//   PUT {base}/v1/token      Metadata-Token-Expiry-Seconds: 300   → the token (text)
//   GET {base}/v1/instance   Metadata-Token, Accept: application/json → id, label, region, type, specs, …
//   GET {base}/v1/user-data  Metadata-Token → user-data, base64
//   GET {base}/v1/ssh-keys   Metadata-Token, Accept: application/json → {users: {root: [key, …], …}}
// {base}: http://[fd00:a9fe:a9fe::1] first, then http://169.254.169.254.
//
// As cloud-init's DataSourceAkamai (and helpers/akamai.py):
// - asked only where DMI's sys_vendor is Linode or Akamai (even when it is
//   the only source listed: cloud-init checks it in its read too);
// - the instance-id is the metadata's `id`, or DMI's system serial when the
//   service cannot be reached — the source is still found then, with no
//   user-data, so that the next boot is not taken for a first one;
// - `datasource: {Akamai: {base_urls: {ipv4, ipv6}, paths: {token, metadata,
//   userdata}, allow_local_stage, allow_init_stage, allow_dhcp, allow_ipv4,
//   allow_ipv6}}`, over which the platform's own overrides in DMI's board
//   serial (`als=0;ais=1;dhcp=1;v4=1;v6=0;pmp=f2:3`) win;
// - init-local (over the short-lived network; without DHCP only IPv6 is
//   tried) and init; a stage its allow_*_stage turns off leaves it to the
//   other; IPv6 first, then IPv4; the token 5 attempts 2 s apart, the other
//   answers 3, 30 s each, all under the search's deadline.
// - A token request answered with anything but 200 ends the read with the
//   local data only (cloud-init's rule: the service said no).
// Where ec2-init differs: it also asks /v1/ssh-keys (absent or failing: no
// keys) and gives those keys to the default user, as other clouds' keys; the
// user-data is applied as sent when it is not base64 (cloud-init too, with a
// warning). /v1/network is not asked: cloud-init renders nothing from it
// (Linode's NIC is configured by DHCP, the fallback).
import { asText, pythonBase64 } from '../bytes.ts';
import { fetchWithRetries } from '../net/fetch.ts';
import type { HttpResponse } from '../net/http.ts';
import type { SourceData } from '../types.ts';
import type { Config } from '../config/merge.ts';
import { isMapping } from '../yaml/index.ts';
import type { Platform } from './platform.ts';
import { pubkeys } from './pubkeys.ts';
import { flag, jsonObject, text, type Source, type SourceRun } from './source.ts';

export interface AkamaiConfig {
  baseUrls: { ipv4: string; ipv6: string };
  paths: { token: string; metadata: string; userdata: string };
  allowLocalStage: boolean;
  allowInitStage: boolean;
  allowDhcp: boolean;
  allowIpv4: boolean;
  allowIpv6: boolean;
}

const DEFAULTS: AkamaiConfig = {
  baseUrls: { ipv4: 'http://169.254.169.254', ipv6: 'http://[fd00:a9fe:a9fe::1]' },
  paths: { token: '/v1/token', metadata: '/v1/instance', userdata: '/v1/user-data' },
  allowLocalStage: true, allowInitStage: true, allowDhcp: true, allowIpv4: true, allowIpv6: true,
};
const SSH_KEYS_PATH = '/v1/ssh-keys';

/** The platform's overrides in DMI's board serial ("als=0;v6=1"), as cloud-init's get_dmi_config reads them. */
export function dmiOverrides(serial: string): Partial<Record<keyof typeof DMI_KEYS, boolean>> {
  const out: Record<string, boolean> = {};
  for (const m of serial.matchAll(/([a-z0-9]+)=(.*?)(?:;|$)/g)) {
    const key = m[1]!;
    const value = m[2]!;
    if (!(key in DMI_KEYS) || key === 'pmp') continue; // pmp picks the NIC of the short-lived network: not the source's business
    if (value === '0') out[key] = false;
    else if (value === '1' || value === '01') out[key] = true;
  }
  return out as Partial<Record<keyof typeof DMI_KEYS, boolean>>;
}

const DMI_KEYS = {
  als: 'allowLocalStage', ais: 'allowInitStage', dhcp: 'allowDhcp', v4: 'allowIpv4', v6: 'allowIpv6', pmp: null,
} as const;

/** The settings in force: DMI's overrides, over the system config, over the defaults (cloud-init's merge order). */
export function akamaiConfig(cfg: Config, boardSerial: string): AkamaiConfig {
  const base = isMapping(cfg['base_urls']) ? cfg['base_urls'] : {};
  const paths = isMapping(cfg['paths']) ? cfg['paths'] : {};
  const c: AkamaiConfig = {
    baseUrls: { ipv4: text(base['ipv4']) ?? DEFAULTS.baseUrls.ipv4, ipv6: text(base['ipv6']) ?? DEFAULTS.baseUrls.ipv6 },
    paths: {
      token: text(paths['token']) ?? DEFAULTS.paths.token,
      metadata: text(paths['metadata']) ?? DEFAULTS.paths.metadata,
      userdata: text(paths['userdata']) ?? DEFAULTS.paths.userdata,
    },
    allowLocalStage: flag(cfg['allow_local_stage'], true),
    allowInitStage: flag(cfg['allow_init_stage'], true),
    allowDhcp: flag(cfg['allow_dhcp'], true),
    allowIpv4: flag(cfg['allow_ipv4'], true),
    allowIpv6: flag(cfg['allow_ipv6'], true),
  };
  for (const [key, value] of Object.entries(dmiOverrides(boardSerial))) {
    const field = DMI_KEYS[key as keyof typeof DMI_KEYS];
    if (field) c[field] = value;
  }
  return c;
}

/**
 * Which endpoints this stage asks, in order ('ipv6', 'ipv4'); 'defer' when
 * this stage is turned off (the other stage asks); 'none' when the config
 * allows no way at all (the local data only).
 */
export function akamaiPlan(c: AkamaiConfig, stage: 'local' | 'network'): ('ipv6' | 'ipv4')[] | 'defer' | 'none' {
  if ((!c.allowIpv4 && !c.allowIpv6) || (!c.allowLocalStage && !c.allowInitStage)) return 'none';
  if (stage === 'local' && (!c.allowLocalStage || (!c.allowDhcp && !c.allowIpv6))) return 'defer';
  if (stage === 'network' && !c.allowInitStage) return 'defer';
  const out: ('ipv6' | 'ipv4')[] = [];
  if (c.allowIpv6) out.push('ipv6');
  if (c.allowIpv4 && (stage === 'network' || c.allowDhcp)) out.push('ipv4');
  return out;
}

const isAkamai = (p: Platform): boolean => p.dmi.sys_vendor === 'Linode' || p.dmi.sys_vendor === 'Akamai';

interface Found { instance: Record<string, unknown>; userData: Uint8Array | null; keys: string[]; base: string }

/** One pass over one endpoint: the token, then the instance, user-data and keys. null: the token was refused. */
async function fetchAll(base: string, c: AkamaiConfig, run: SourceRun): Promise<Found | null> {
  const { deadline, log } = run;
  const common = { timeoutMs: 30_000, deadline, pause: { fixedMs: 2000 }, log, what: 'datasource Akamai' };
  const tokenRes = await fetchWithRetries(base + c.paths.token, { ...common, method: 'PUT', retries: 4, headers: { 'Metadata-Token-Expiry-Seconds': '300' } });
  if (tokenRes.status !== 200) {
    log.warn(`datasource Akamai: ${base}${c.paths.token}: HTTP ${tokenRes.status}; not fetching data (the local data only)`);
    return null;
  }
  const token = asText(tokenRes.body).trim();
  const get = async (path: string, accept: boolean): Promise<HttpResponse> =>
    fetchWithRetries(base + path, { ...common, retries: 2, headers: { ...(accept && { Accept: 'application/json' }), 'Metadata-Token': token } });
  const must = (r: HttpResponse, path: string): Uint8Array => {
    if (r.status !== 200) throw new Error(`${base}${path}: HTTP ${r.status}`);
    return r.body;
  };
  const instance = jsonObject(must(await get(c.paths.metadata, true), c.paths.metadata), base + c.paths.metadata);
  const raw = must(await get(c.paths.userdata, false), c.paths.userdata);
  let userData: Uint8Array | null = null;
  if (raw.length > 0) {
    userData = pythonBase64(asText(raw));
    if (userData === null) {
      log.warn(`datasource Akamai: ${base}${c.paths.userdata} is not base64; using it as sent`);
      userData = raw;
    }
  }
  return { instance, userData, keys: await sshKeys(base, get, log), base };
}

/** Every key of /v1/ssh-keys ({users: {name: [keys]}}); none when the service has no such path or it fails. */
async function sshKeys(base: string, get: (path: string, accept: boolean) => Promise<HttpResponse>, log: SourceRun['log']): Promise<string[]> {
  try {
    const r = await get(SSH_KEYS_PATH, true);
    if (r.status !== 200) { log.info(`datasource Akamai: ${base}${SSH_KEYS_PATH}: HTTP ${r.status}; no keys from it`); return []; }
    return pubkeys(jsonObject(r.body, base + SSH_KEYS_PATH)['users']);
  } catch (e) {
    log.warn(`datasource Akamai: ${base}${SSH_KEYS_PATH}: ${(e as Error).message}; no keys from it`);
    return [];
  }
}

async function readAkamai(run: SourceRun): Promise<SourceData | null> {
  const { platform, cfg, log, stage } = run;
  const c = akamaiConfig(cfg, platform.dmi.board_serial);
  const localId = platform.dmi.product_serial;
  const plan = akamaiPlan(c, stage === 'local' ? 'local' : 'network');
  if (plan === 'defer') {
    log.info(`datasource Akamai: configured not to fetch data in ${stage === 'local' ? 'init-local' : 'init'}; left to the other stage`);
    return null;
  }
  let found: Found | null = null;
  let refused = false;
  for (const family of plan === 'none' ? [] : plan) {
    const base = family === 'ipv6' ? c.baseUrls.ipv6 : c.baseUrls.ipv4;
    try {
      found = await fetchAll(base, c, run);
      if (found) break;
      refused = true;
      break;
    } catch (e) {
      log.warn(`datasource Akamai: failed to read the metadata over ${family === 'ipv6' ? 'IPv6' : 'IPv4'} (${base}): ${(e as Error).message}`);
    }
  }
  if (plan === 'none') log.info('datasource Akamai: the configuration allows no way to the metadata service; the local data only');
  else if (!found && !refused) log.warn('datasource Akamai: could not reach the metadata service; the local data only (no user-data)');
  const id = found?.instance['id'];
  const instanceId = typeof id === 'number' || (typeof id === 'string' && id !== '') ? String(id) : localId;
  if (!instanceId) {
    log.warn('datasource Akamai: no instance id (no metadata, and no system serial in DMI)');
    return null;
  }
  const metaData: Record<string, unknown> = found ? { ...found.instance, 'instance-id': instanceId } : { 'instance-id': instanceId };
  if (found) log.info(`datasource Akamai: ${found.base}: instance ${instanceId}, region ${text(found.instance['region']) ?? '-'}, user-data ${found.userData ? `${found.userData.length} bytes` : 'none'}, ${found.keys.length} key(s)`);
  return {
    name: 'Akamai',
    provider: 'akamai',
    instanceId,
    metaData,
    userData: found?.userData ?? null,
    publicKeys: found?.keys ?? [],
    region: text(metaData['region']),
    cloudName: 'akamai',
    platform: 'akamai',
    cache: { 'instance.json': JSON.stringify(metaData, null, 2) + '\n' },
  };
}

export const akamai: Source = {
  name: 'Akamai',
  reach: 'link-local',
  // cloud-init's order in init-local: the link up for IPv6 (the service's fd00:a9fe:a9fe::1), then DHCPv4.
  ephemeral: ['ipv6', 'dhcp4'],
  detect: isAkamai,
  notDetected: "DMI's sys_vendor is neither Linode nor Akamai",
  detectWhenForced: true,
  read: readAkamai,
};
