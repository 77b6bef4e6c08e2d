// CloudStack datasource: the virtual router's metadata and password server.
//
//   GET http://{vr}/latest/meta-data/instance-id   waited for (max_wait 120 s, each try `timeout`, 50 s)
//   GET http://{vr}/latest/user-data                404: none
//   GET http://{vr}/latest/meta-data/…             the tree, EC2's listing format
//   GET http://{vr}:8080/   DomU_Request: send_my_password   → a password, '' or saved_password
//   GET http://{vr}:8080/   DomU_Request: saved_password     (sent once a password came: "got it")
//
// The virtual router {vr} is found as cloud-init's get_vr_address finds it,
// first answer wins: the DNS name data-server (not under --root: the name
// would be looked up with this machine's resolver, not the root's);
// SERVER_ADDRESS of systemd-networkd's leases; dhcp-server-identifier of the
// newest dhclient lease file (leases.ts); the DHCP server of init-local's
// short-lived network; the default gateway (/proc/net/route).
// NetworkManager's leases (cloud-init asks nmcli) are not read.
//
// Asked where DMI's product_name starts with CloudStack (ds-identify and
// cloud-init's ds_detect). Read in init-local over the short-lived network,
// else in init, as cloud-init's CloudStackLocal then CloudStack.
//
// The password, when the server gives one, becomes the source's config as
// cloud-init makes it — {password, chpasswd: {expire: false}, ssh_pwauth:
// true} — applied by set_passwords for the default user (per instance here;
// Exoscale's runs every boot). It is acknowledged only after it was read
// whole, never logged, and kept only in the owner-only datasource.json.
import { asText } from '../bytes.ts';
import { resolveName } from '../host/sockets.ts';
import { now } from '../host/clock.ts';
import type { Files } from '../host/files.ts';
import type { Logger } from '../log.ts';
import { remaining } from '../net/cancel.ts';
import { fetchWithRetries } from '../net/fetch.ts';
import type { HttpResponse } from '../net/http.ts';
import { isIP, isIPv4 } from '../network/model.ts';
import type { SourceData } from '../types.ts';
import type { ReadBudget } from './budget.ts';
import { keysIn, walk } from './ec2.ts';
import { fetchWithin, optionalWithin } from './fetch-within.ts';
import { fromDhclient, fromNetworkd } from './leases.ts';
import { seconds, text, type Lease, type Source, type SourceRun } from './source.ts';

// ---- the password server (CloudStack's protocol; Exoscale runs the same) ----

export interface PasswordServer {
  url: string;
  timeoutMs: number;
  retries: number;
  deadline: number;
  log: Logger;
  /** Read the password but do not acknowledge it (plan). */
  readOnly: boolean;
}

/**
 * The password the server holds for this machine, acknowledged (saved_password)
 * unless readOnly; null when it has none ('' or saved_password). Throws when
 * the server says bad_request or does not answer 200: no password then, as in
 * cloud-init (which also sets none when the acknowledgement fails).
 */
export async function askPassword(s: PasswordServer): Promise<string | null> {
  const ask = async (request: 'send_my_password' | 'saved_password'): Promise<string> => {
    const r = await fetchWithRetries(s.url, {
      timeoutMs: s.timeoutMs, deadline: s.deadline, retries: s.retries, pause: { fixedMs: 1000 },
      headers: { DomU_Request: request }, maxBytes: 4096, log: s.log, what: 'password server',
    });
    if (r.status !== 200) throw new Error(`${s.url} (DomU_Request: ${request}): HTTP ${r.status}`);
    // Both ends trimmed (CloudStack's client does so; a password ending in a line break could not reach chpasswd anyway).
    return asText(r.body).trim();
  };
  const answer = await ask('send_my_password');
  if (answer === '' || answer === 'saved_password') return null;
  if (answer === 'bad_request') throw new Error(`${s.url}: the password server answered bad_request`);
  if (!s.readOnly) await ask('saved_password');
  return answer;
}

/** The config a password becomes (cloud-init's, for both CloudStack and Exoscale). */
export function passwordConfig(password: string | null): Record<string, unknown> | undefined {
  return password === null ? undefined : { ssh_pwauth: true, password, chpasswd: { expire: false } };
}

/**
 * What CloudStack's and Exoscale's EC2-style meta-data, user-data and
 * password give, alike for both (each adds its names); the log line says
 * what was read, never the password.
 */
export function routerData(name: string, where: string, read: { metaData: Record<string, unknown>; userData: Uint8Array | null }, password: string | null, readOnly: boolean, log: Logger): Omit<SourceData, 'name' | 'provider' | 'cloudName' | 'platform'> {
  const { metaData, userData } = read;
  const instanceId = text(metaData['instance-id'])!; // readEc2Style checked it
  log.info(`datasource ${name}: ${where}: instance ${instanceId}, user-data ${userData ? `${userData.length} bytes` : 'none'}, ` +
    `password ${password === null ? 'none (or already saved)' : readOnly ? 'given (plan: not acknowledged)' : 'given and acknowledged'}`);
  const config = passwordConfig(password);
  return {
    instanceId,
    localHostname: text(metaData['local-hostname']),
    metaData,
    userData,
    publicKeys: keysIn(metaData['public-keys']),
    availabilityZone: text(metaData['availability-zone']),
    region: text(metaData['region']),
    ...(config && { config }),
    cache: { 'meta-data.json': JSON.stringify(metaData, null, 2) + '\n' },
  };
}

// ---- where the virtual router is ----

/** The default gateway of a /proc/net/route table, or null. */
export function defaultGateway(route: string): string | null {
  for (const line of route.split('\n').slice(1)) {
    const f = line.split('\t');
    if (f[1] !== '00000000' || !f[2] || !/^[0-9A-Fa-f]{8}$/.test(f[2])) continue;
    const n = Number.parseInt(f[2], 16);
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
  }
  return null;
}

/** The virtual router and how it was found, or null. Each candidate must be an IP address. */
export async function virtualRouter(files: Files, onRunningSystem: boolean, lease: Lease | undefined, log: Logger): Promise<{ address: string; how: string } | null> {
  const candidates: [string, () => Promise<string | null> | string | null][] = [
    ['the DNS name data-server', async () => {
      if (!onRunningSystem) return null;
      try { return (await resolveName('data-server', 2000))[0] ?? null; } catch { return null; }
    }],
    ["networkd's leases", () => fromNetworkd(files, 'SERVER_ADDRESS')],
    ["dhclient's newest lease file", () => fromDhclient(files, 'dhcp-server-identifier')],
    ["the short-lived network's DHCP server", () => lease?.server ?? null],
    ['the default gateway (/proc/net/route)', () => {
      try { return defaultGateway(files.readTextIfExists('/proc/net/route', 1024 * 1024) ?? ''); } catch { return null; }
    }],
  ];
  for (const [how, find] of candidates) {
    const found = (await find())?.trim();
    if (!found) continue;
    if (!isIP(found)) { log.warn(`datasource CloudStack: ${how} gives '${found.slice(0, 80)}', not an IP address; ignored`); continue; }
    return { address: found, how };
  }
  return null;
}

// ---- the datasource ----

/** Wait until `url` answers 200, trying again a second apart until `until` (net/fetch.ts's policy); false when it never does. */
export async function waitFor(url: string, timeoutMs: number, until: number, log: Logger, what: string): Promise<boolean> {
  let attempts = 0;
  try {
    const r = await fetchWithRetries(url, {
      timeoutMs: Math.min(timeoutMs, Math.max(1, remaining(until))), deadline: until,
      retries: Number.MAX_SAFE_INTEGER, pause: { fixedMs: 1000 },
      retryStatus: (status) => status !== 200, retryFailure: () => true,
      eachAttempt: () => { attempts++; return {}; },
      log, what,
    });
    if (r.status === 200) return true;
    log.warn(`${what}: ${url}: HTTP ${r.status}; gave up after ${attempts} attempt(s)`);
  } catch (e) {
    log.warn(`${what}: ${url}: ${(e as Error).message}; gave up after ${attempts} attempt(s)`);
  }
  return false;
}

/** An EC2-style metadata service at `base` ({base}/{version}/meta-data/…, user-data): the tree and the user-data. */
export async function readEc2Style(base: string, version: string, o: {
  timeoutMs: number; retries: number; deadline: number; log: Logger; what: string;
  /** Every answer within what is left of it (budget.ts); a user-data over it is reported and left out. */
  budget: ReadBudget; report: (message: string) => void;
}): Promise<{ metaData: Record<string, unknown>; userData: Uint8Array | null }> {
  const opts = { timeoutMs: o.timeoutMs, deadline: o.deadline, retries: o.retries, pause: { fixedMs: 1000 }, log: o.log, what: o.what };
  const body = (url: string, r: HttpResponse | null): Uint8Array | null => {
    if (r === null || r.status === 404) return null;
    if (r.status === 200) return r.body;
    throw new Error(`${url}: HTTP ${r.status}`);
  };
  const url = (path: string) => `${base}/${version}/${path}`;
  const userData = body(url('user-data'), await optionalWithin(o.budget, url('user-data'), opts, o.report));
  const metaData = await walk(async (path) => body(url(path), await fetchWithin(o.budget, url(path), opts)), 'meta-data/');
  // Checked before the password server is asked: a password is acknowledged only for an instance.
  if (!text(metaData['instance-id'])) throw new Error(`${base}/${version}/meta-data/ has no instance-id`);
  return { metaData, userData: userData && userData.length > 0 ? userData : null };
}

async function readCloudStack(run: SourceRun): Promise<SourceData | null> {
  const { ctx, cfg, log, deadline, lease } = run;
  const readOnly = ctx.planning;
  const vr = await virtualRouter(ctx.files, ctx.root === '/', lease, log);
  if (!vr) {
    ctx.report('warning', 'datasource CloudStack', 'no virtual router found (no data-server name, no DHCP lease naming a server, no default gateway)');
    return null;
  }
  if (!isIPv4(vr.address)) log.info(`datasource CloudStack: the virtual router ${vr.address} is an IPv6 address`);
  const host = vr.address.includes(':') ? `[${vr.address}]` : vr.address;
  const base = `http://${host}`;
  log.info(`datasource CloudStack: virtual router ${vr.address}, from ${vr.how}`);
  const maxWaitMs = seconds(cfg['max_wait'], 120);
  if (maxWaitMs <= 0) { log.info('datasource CloudStack: max_wait is 0: not waiting for the metadata service'); return null; }
  const timeoutMs = seconds(cfg['timeout'], 50);
  const until = Math.min(deadline, now() + maxWaitMs);
  if (!await waitFor(`${base}/latest/meta-data/instance-id`, timeoutMs, until, log, 'datasource CloudStack')) return null;
  const read = await readEc2Style(base, 'latest', {
    timeoutMs, retries: 3, deadline, log, what: 'datasource CloudStack', budget: run.budget, report: (m) => ctx.report('error', 'datasource CloudStack', m),
  });
  let password: string | null = null;
  try {
    password = await askPassword({ url: `http://${host}:8080`, timeoutMs: 20_000, retries: 3, deadline, log, readOnly });
  } catch (e) {
    log.warn(`datasource CloudStack: no password from the virtual router ${vr.address}: ${(e as Error).message}`);
  }
  return {
    name: 'CloudStack',
    provider: 'cloudstack',
    ...routerData('CloudStack', `${base}/latest`, read, password, readOnly, log),
    cloudName: 'cloudstack',
    platform: 'cloudstack',
    subplatform: `metadata (${base}/)`,
  };
}

export const cloudStack: Source = {
  name: 'CloudStack',
  reach: 'link-local',
  // ds-identify: never in a container (PID 1's environment names its manager there).
  detect: (p) => p.dmi.product_name.startsWith('CloudStack') && !p.pid1Environ().some((e) => e.startsWith('container=')),
  notDetected: "DMI's product_name does not start with CloudStack (or a container)",
  detectWhenForced: true,
  read: readCloudStack,
};
