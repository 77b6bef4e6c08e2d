// LXD and Incus: the devlxd guest API, HTTP over the unix socket
// /dev/lxd/sock (Incus: /dev/incus/sock, with /dev/lxd a link to it), in
// containers and in VMs (where lxd-agent serves it):
//
//   GET /1.0/meta-data       YAML: instance-id, local-hostname (required)
//   GET /1.0/config          JSON list of routes: /1.0/config/<key>
//   GET /1.0/config/<key>    each key's raw value; cloud-init.user-data,
//                            cloud-init.vendor-data, cloud-init.network-config
//                            win over user.user-data, user.vendor-data,
//                            user.network-config; user.meta-data is YAML
//                            merged over meta-data
//   GET /1.0/devices         JSON (optional)
//
// Asked where the socket is, or where DMI (board_name LXD) or the agent's
// virtio port (/dev/virtio-ports/com.canonical.lxd) says this is an LXD VM
// whose agent has not made the socket yet (waited for, bounded). The socket is reached through the root's own node
// (Files.openSocket): a link planted there is resolved inside the root.
import { asText } from '../bytes.ts';
import { parseYamlMapping } from '../config/yaml.ts';
import type { Files } from '../host/files.ts';
import { now } from '../host/clock.ts';
import type { Logger } from '../log.ts';
import { remaining, sleep } from '../net/cancel.ts';
import { fetchWithRetries } from '../net/fetch.ts';
import { Pool, type HttpResponse } from '../net/http.ts';
import type { SourceData } from '../types.ts';
import type { Platform } from './platform.ts';
import { pubkeys } from './pubkeys.ts';
import type { Source, SourceRun } from './source.ts';

const SOCKETS = ['/dev/lxd/sock', '/dev/incus/sock'];
const API = '1.0';
/** cloud-init's aliases, in its precedence: the cloud-init.* keys sort (and win) before the user.* ones. */
const ALIASES: Record<string, 'user-data' | 'vendor-data' | 'network-config'> = {
  'cloud-init.network-config': 'network-config',
  'cloud-init.user-data': 'user-data',
  'cloud-init.vendor-data': 'vendor-data',
  'user.network-config': 'network-config',
  'user.user-data': 'user-data',
  'user.vendor-data': 'vendor-data',
};
/** The virtio-serial port names lxd-agent uses (cloud-init's ds-identify checks both). */
const AGENT_PORTS = ['com.canonical.lxd', 'org.linuxcontainers.lxd'];
/** How long an LXD VM's agent gets to make the socket. */
const AGENT_WAIT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 10_000;
/** All answers of one read together, like the metadata services' cap. */
const MAX_TOTAL = 16 * 1024 * 1024;
const MAX_CONFIG_KEYS = 1000;

/** DMI or the agent's virtio-serial port (udev's /dev/virtio-ports/<name> link) says this is an LXD VM. */
function lxdVm(p: Platform): boolean {
  return p.dmi.board_name === 'LXD' || AGENT_PORTS.some((port) => p.exists(`/dev/virtio-ports/${port}`));
}

function openSocket(files: Files): { path: string; address: string; close(): void } | null {
  for (const path of SOCKETS) {
    const s = files.openSocket(path);
    if (s) return { path, address: s.address, close: s.close };
  }
  return null;
}

async function readLxd({ ctx, log, platform, deadline }: SourceRun): Promise<SourceData | null> {
  const files = ctx.files;
  let socket = openSocket(files);
  if (!socket && lxdVm(platform)) {
    log.info(`datasource LXD: an LXD VM (DMI or virtio port) without ${SOCKETS[0]} yet: waiting for lxd-agent`);
    const until = Math.min(deadline, now() + AGENT_WAIT_MS);
    while (!socket && now() < until) {
      await sleep(Math.min(100, remaining(until)));
      socket = openSocket(files);
    }
    if (!socket) throw new Error(`${SOCKETS[0]}: not there after ${AGENT_WAIT_MS / 1000} s on an LXD VM (is lxd-agent running, security.devlxd enabled?)`);
  }
  if (!socket) return null;
  try { return await crawl(socket, log, deadline); } finally { socket.close(); }
}

export const lxd: Source = {
  name: 'LXD',
  reach: 'files',
  detect: (p) => SOCKETS.some((s) => p.exists(s)) || lxdVm(p),
  notDetected: `no ${SOCKETS[0]}, and neither DMI nor a virtio port says LXD`,
  read: readLxd,
};

async function crawl(socket: { path: string; address: string }, log: Logger, deadline: number): Promise<SourceData> {
  const pool = new Pool();
  let total = 0;
  /** GET a route, retried on 500 (3 s, every 100 ms) as cloud-init does. */
  const get = async (route: string): Promise<HttpResponse> => {
    const r = await fetchWithRetries(`http://lxd${route}`, {
      unixSocket: socket.address, pool, deadline, timeoutMs: Math.min(REQUEST_TIMEOUT_MS, remaining(deadline)), maxBytes: MAX_TOTAL - total,
      retries: 29, pause: { fixedMs: 100 }, retryStatus: (status) => status === 500, retryFailure: () => false,
      log, what: 'datasource LXD',
    });
    total += r.body.length;
    return r;
  };
  const where = (route: string) => `${socket.path} ${route}`;
  const ok = (r: HttpResponse) => r.status >= 200 && r.status < 300;
  try {
    const metaRoute = `/${API}/meta-data`;
    const meta = await get(metaRoute);
    if (!ok(meta)) throw new Error(`${where(metaRoute)}: HTTP ${meta.status}: ${asText(meta.body).trim().slice(0, 200)}`);
    const metaText = asText(meta.body);
    const metaData = parseYamlMapping(metaText, where(metaRoute));

    const configRoute = `/${API}/config`;
    const listing = await get(configRoute);
    if (!ok(listing)) throw new Error(`${where(configRoute)}: HTTP ${listing.status}: ${asText(listing.body).trim().slice(0, 200)}`);
    let routes: unknown;
    try { routes = JSON.parse(asText(listing.body)); } catch (e) {
      throw new Error(`${where(configRoute)}: not JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(routes)) throw new Error(`${where(configRoute)}: expected a JSON list of routes`);
    if (routes.length > MAX_CONFIG_KEYS) throw new Error(`${where(configRoute)}: ${routes.length} config keys (at most ${MAX_CONFIG_KEYS})`);
    const config: Record<string, string> = {};
    const raw: Partial<Record<'user-data' | 'vendor-data' | 'network-config', Uint8Array>> = {};
    const aliasedFrom: Record<string, string> = {};
    for (const route of routes.filter((r): r is string => typeof r === 'string').sort()) {
      // The route goes back on the request line: only /1.0/config/<key>, one printable segment, nothing else.
      const key = route.slice(`/${API}/config/`.length);
      if (!route.startsWith(`/${API}/config/`) || !/^[\x21-\x7e]+$/.test(key) || key.includes('/') || key === '.' || key === '..') {
        log.warn(`datasource LXD: ${where(configRoute)}: route ${JSON.stringify(route.slice(0, 100))} ignored (not /${API}/config/<key>)`);
        continue;
      }
      const r = await get(route);
      if (!ok(r)) { log.debug(`datasource LXD: ${route}: HTTP ${r.status}; skipped`); continue; }
      config[key] = asText(r.body);
      const alias = ALIASES[key];
      if (!alias) continue;
      if (raw[alias] === undefined) { raw[alias] = r.body; aliasedFrom[alias] = key; } else {
        log.warn(`datasource LXD: config ${key} ignored in favor of ${aliasedFrom[alias]}`);
      }
    }
    const userMeta = config['user.meta-data'];
    if (userMeta) Object.assign(metaData, parseYamlMapping(userMeta, where(`/${API}/config/user.meta-data`)));

    const devices = await get(`/${API}/devices`);
    let devs: unknown = null;
    if (ok(devices)) { try { devs = JSON.parse(asText(devices.body)); } catch { devs = null; } }

    const instanceId = metaData['instance-id'];
    if (typeof instanceId !== 'string' && typeof instanceId !== 'number') throw new Error(`${where(metaRoute)}: no instance-id`);
    const hostname = metaData['local-hostname'];
    const cache: Record<string, string | Uint8Array> = { 'meta-data': metaText };
    if (raw['network-config'] && asText(raw['network-config']).trim() !== '') cache['network-config'] = raw['network-config'];
    if (devs && typeof devs === 'object') cache['devices.json'] = JSON.stringify(devs);
    log.info(`datasource LXD: ${socket.path}: meta-data${Object.keys(config).length ? `, config ${Object.keys(config).join(' ')}` : ''}`);
    return {
      name: 'LXD',
      provider: 'lxd',
      instanceId: String(instanceId),
      localHostname: typeof hostname === 'string' ? hostname : undefined,
      metaData,
      userData: raw['user-data'] ?? null,
      vendorData: raw['vendor-data'] ?? null,
      publicKeys: pubkeys(metaData['public-keys']),
      cloudName: 'lxd',
      platform: 'lxd',
      subplatform: `LXD socket API v. ${API} (${socket.path})`,
      cache,
    };
  } finally { pool.close(); }
}
