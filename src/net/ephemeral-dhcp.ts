// DHCPv4 through the image's own client, for the ephemeral network of
// init-local (ephemeral.ts): which client, how each one is run so that it
// leaves nothing behind, and its lease read into one shape.
//
// Which client: the first of `network: {dhcp_client_priority: […]}` (the
// system config's, as cloud-init reads it) that the image has, else
// cloud-init's order: dhcpcd, dhclient, udhcpc. systemd-networkd is not one:
// cloud-init has no ephemeral client over it, and starting networkd would
// apply every .network file of the image to every NIC, from a unit that runs
// before network-pre.target (its own ordering would wait for ours).
//
// How, and why:
// - No hooks: dhclient and dhcpcd get `/bin/true` as their script, udhcpc a
//   script of ours that only writes what it was given; so resolv.conf, the
//   host name, NTP and the image's dhclient/dhcpcd hooks are untouched.
// - dhclient (-1, its lease and pid files in a directory of ours) and udhcpc
//   (-q: exit once bound) only fetch the lease: ephemeral.ts puts the address
//   and routes on the NIC. dhcpcd configures the NIC itself (--oneshot,
//   --persistent so that its exit does not undo it): its lease is its binary
//   lease file (cloud-init reads that file too, for option 245;
//   `dhcpcd --dumplease` needs a running daemon), and --noipv4ll, so a
//   169.254 address it would make up after a silent server is never taken
//   for a lease.
// - dhclient stays behind as a daemon once bound: it is killed (SIGKILL, so it
//   releases nothing and runs no script) by the pid in its pid file, after
//   checking that the pid is a dhclient. dhcpcd's lease and state files
//   (/var/lib/dhcpcd, /run/dhcpcd) that were not there before are removed.
// - Every run is cut at the caller's deadline (the client's process group is
//   killed): a silent DHCP server costs that, never the client's own minute.
// - The lease is data from the network: each value that reaches `ip` is
//   checked first (an IPv4 address, a prefix, a route), and a lease that
//   fails is no lease.
import { asText } from '../bytes.ts';
import type { Context } from '../context.ts';
import { readMachineFile } from '../host/machine.ts';
import { which } from '../host/root-facts.ts';
import { now } from '../host/clock.ts';
import { signalProcess } from '../host/process.ts';
import { isIPv4, maskToPrefix } from '../network/model.ts';
import { cidr } from '../validate/net.ts';
import { isMapping } from '../yaml/index.ts';
import { remaining, sleep } from './cancel.ts';
import { dhclientLeases, optionAddress } from './dhcp-lease-text.ts';

export type DhcpClientName = 'dhcpcd' | 'dhclient' | 'udhcpc';

/** cloud-init's order (its dhcp.ALL_DHCP_CLIENTS). */
export const DHCP_CLIENTS: readonly DhcpClientName[] = ['dhcpcd', 'dhclient', 'udhcpc'];

/** A DHCPv4 lease, as every client's is read. */
export interface Lease {
  client: DhcpClientName;
  interface: string;
  /** fixed-address */
  address: string;
  prefix: number;
  broadcast: string;
  /** The first router (option 3), or null. */
  router: string | null;
  /** The DHCP server (option 54, dhcp-server-identifier), or null. */
  server: string | null;
  /** Classless static routes (option 121); when present the router option is ignored (RFC 3442). */
  staticRoutes: Array<{ to: string; via: string }>;
  /**
   * Every option, named as cloud-init names them (dhclient's names:
   * 'subnet-mask', 'routers', 'dhcp-server-identifier', 'domain-name',
   * 'unknown-245' as a dotted address …), values as text.
   */
  options: Record<string, string>;
}

/** A DHCP run that got a lease. */
export interface DhcpRun {
  lease: Lease;
  /** The client put the address and routes on the NIC itself (dhcpcd); else the caller does. */
  configured: boolean;
  /** Ends what the client left running and removes its files; returns what could not be undone. */
  cleanup(): Promise<string[]>;
}

export class DhcpError extends Error {}

/** Our own directory for the clients' lease, pid and script files (removed after). */
export const EPHEMERAL_DIR = '/run/ec2-init/ephemeral';

/** Where Debian's dhcpcd keeps its leases and its runtime files. */
const DHCPCD_DIRS = ['/var/lib/dhcpcd', '/run/dhcpcd'];

const BIN_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

/** The client to use: the first of the configured (or cloud-init's) order that the root has; null when none. */
export function chooseClient(ctx: Context, system: Record<string, unknown>): { client: DhcpClientName | null; searched: string[] } {
  const net = isMapping(system['network']) ? system['network'] : {};
  const given = net['dhcp_client_priority'];
  let order: DhcpClientName[] = [...DHCP_CLIENTS];
  if (Array.isArray(given) && given.length > 0) {
    const known = given.filter((g): g is DhcpClientName => typeof g === 'string' && (DHCP_CLIENTS as readonly string[]).includes(g));
    const unknown = given.filter((g) => !(typeof g === 'string' && (DHCP_CLIENTS as readonly string[]).includes(g)));
    if (unknown.length) ctx.log.warn(`network.dhcp_client_priority: ${unknown.map((u) => JSON.stringify(u)).join(', ')} not supported (ec2-init runs ${DHCP_CLIENTS.join(', ')}); skipped`);
    // As cloud-init: a list with no client it knows leaves the default order.
    if (known.length) order = known;
  }
  return { client: order.find((c) => which(ctx.files, c, BIN_DIRS) !== null) ?? null, searched: order };
}

/** One DHCP discovery on `nic` with `client`, finished (or killed) by `deadline` (sys.now() time). */
export async function dhcpDiscover(ctx: Context, client: DhcpClientName, nic: string, deadline: number): Promise<DhcpRun> {
  ctx.files.mkdir(EPHEMERAL_DIR, 0o700);
  try {
    switch (client) {
      case 'dhclient': return await dhclient(ctx, nic, deadline);
      case 'dhcpcd': return await dhcpcd(ctx, nic, deadline);
      case 'udhcpc': return await udhcpc(ctx, nic, deadline);
    }
  } catch (e) {
    removeOwnDir(ctx);
    throw e;
  }
}

function removeOwnDir(ctx: Context): string[] {
  try { ctx.files.remove(EPHEMERAL_DIR); return []; } catch (e) { return [`${EPHEMERAL_DIR}: ${(e as Error).message}`]; }
}

function budget(deadline: number, client: string): number {
  const ms = Math.floor(remaining(deadline));
  if (ms < 50) throw new DhcpError(`no time left for ${client}`);
  return ms;
}

function failure(client: string, r: { code: number | null; timedOut: boolean; stderr: string }, ms: number): DhcpError {
  const last = r.stderr.trim().split('\n').filter(Boolean).slice(-2).join(' / ');
  if (r.timedOut) return new DhcpError(`${client}: no lease within ${ms} ms${last ? ` (${last})` : ''}`);
  return new DhcpError(`${client} exited ${r.code ?? 'on a signal'}${last ? `: ${last}` : ''}`);
}

// ---- dhclient ----

async function dhclient(ctx: Context, nic: string, deadline: number): Promise<DhcpRun> {
  const leaseFile = `${EPHEMERAL_DIR}/dhclient.leases`;
  const pidFile = `${EPHEMERAL_DIR}/dhclient.pid`;
  const ms = budget(deadline, 'dhclient');
  // -1: one try, exit 2 without a lease; bound, it goes on as a daemon (killed below).
  const r = await ctx.capture(['dhclient', '-1', '-v', '-lf', leaseFile, '-pf', pidFile, '-sf', '/bin/true', nic], { timeoutMs: ms });
  const daemon = await readPid(ctx, pidFile, deadline);
  const cleanup = async (): Promise<string[]> => [...await killClient(daemon, 'dhclient'), ...removeOwnDir(ctx)];
  if (r.code !== 0) {
    const problems = await cleanup();
    if (problems.length) ctx.log.warn(`ephemeral network: ${problems.join('; ')}`);
    throw failure('dhclient', r, ms);
  }
  try {
    const lease = parseDhclientLeases(ctx.files.readTextIfExists(leaseFile, 1 << 20) ?? '', nic);
    return { lease, configured: false, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** The pid a client wrote (it writes it as it daemonizes: a short wait), or null. */
async function readPid(ctx: Context, path: string, deadline: number): Promise<number | null> {
  const until = Math.min(deadline, now() + 1000);
  for (;;) {
    const text = ctx.files.readTextIfExists(path, 64)?.trim();
    if (text && /^\d+$/.test(text)) return Number(text);
    if (now() >= until) return null;
    await sleep(10);
  }
}

/** SIGKILL the daemon a client left, when the pid is still that client's; wait until it is gone. */
async function killClient(pid: number | null, name: string): Promise<string[]> {
  if (pid === null || pid <= 1) return [];
  const comm = readMachineFile(`/proc/${pid}/comm`, 256)?.trim();
  if (comm === undefined) return []; // gone already
  if (comm !== name) return [`pid ${pid} is ${comm}, not ${name}: not killed`];
  try { signalProcess(pid, 'SIGKILL'); } catch (e) { return [`could not kill ${name} (pid ${pid}): ${(e as Error).message}`]; }
  for (let i = 0; i < 100; i++) {
    const state = /^\d+ \(.*\) (\S)/.exec(readMachineFile(`/proc/${pid}/stat`, 4096) ?? '')?.[1];
    if (state === undefined || state === 'Z') return [];
    await sleep(10);
  }
  return [`${name} (pid ${pid}) still running after SIGKILL`];
}

/** The newest lease of a dhclient lease file (cloud-init's IscDhclient.parse_leases, newest last). */
export function parseDhclientLeases(text: string, nic: string): Lease {
  const options = dhclientLeases(text).at(-1);
  if (options === undefined) throw new DhcpError('dhclient wrote no lease');
  if (options['unknown-245']) {
    const ip = optionAddress(options['unknown-245']);
    if (ip) options['unknown-245'] = ip;
  }
  return leaseFrom('dhclient', nic, options);
}

// ---- dhcpcd ----

async function dhcpcd(ctx: Context, nic: string, deadline: number): Promise<DhcpRun> {
  const before = new Map(DHCPCD_DIRS.map((d) => [d, ctx.files.isDirectory(d) ? new Set(ctx.files.list(d)) : null] as const));
  const cleanup = async (): Promise<string[]> => [...removeNew(ctx, before), ...removeOwnDir(ctx)];
  const ms = budget(deadline, 'dhcpcd');
  const r = await ctx.capture(['dhcpcd', '--oneshot', '--ipv4only', '--waitip', '--persistent', '--noarp', '--noipv4ll',
    '--script=/bin/true', '--timeout', String(Math.max(1, Math.ceil(ms / 1000))), nic], { timeoutMs: ms });
  if (r.code !== 0) {
    await cleanup();
    throw failure('dhcpcd', r, ms);
  }
  try {
    const raw = ctx.files.readIfExists(`/var/lib/dhcpcd/${nic}.lease`, 1 << 16);
    if (raw === null) throw new DhcpError(`dhcpcd bound ${nic} but wrote no /var/lib/dhcpcd/${nic}.lease`);
    return { lease: leaseFrom('dhcpcd', nic, parseDhcpMessage(raw)), configured: true, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Remove what appeared in dhcpcd's directories during the run (and a directory it made, when empty). */
function removeNew(ctx: Context, before: Map<string, Set<string> | null>): string[] {
  const problems: string[] = [];
  for (const [dir, had] of before) {
    if (!ctx.files.isDirectory(dir)) continue;
    for (const name of ctx.files.list(dir)) {
      if (had?.has(name)) continue;
      try { ctx.files.remove(`${dir}/${name}`); } catch (e) { problems.push(`${dir}/${name}: ${(e as Error).message}`); }
    }
    if (had === null && ctx.files.list(dir).length === 0) {
      try { ctx.files.remove(dir); } catch (e) { problems.push(`${dir}: ${(e as Error).message}`); }
    }
  }
  return problems;
}

/**
 * A DHCP message (RFC 2131; dhcpcd's lease file is the server's ACK as it
 * came): yiaddr and the options, named as dhclient names them.
 */
export function parseDhcpMessage(msg: Uint8Array): Record<string, string> {
  if (msg.length < 240 || msg[236] !== 99 || msg[237] !== 130 || msg[238] !== 83 || msg[239] !== 99) {
    throw new DhcpError('the lease is not a DHCP message (no magic cookie)');
  }
  const ip = (b: Uint8Array, at = 0) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
  const options: Record<string, string> = { 'fixed-address': ip(msg, 16) };
  const text = (b: Uint8Array) => asText(b).replace(/[\0-\x1f\x7f]/g, '');
  const ips = (b: Uint8Array) => Array.from({ length: Math.floor(b.length / 4) }, (_, i) => ip(b, i * 4)).join(',');
  const int = (b: Uint8Array) => String(b.reduce((acc, x) => acc * 256 + x, 0));
  const names: Record<number, [string, (b: Uint8Array) => string]> = {
    1: ['subnet-mask', ips], 3: ['routers', ips], 6: ['domain-name-servers', ips], 12: ['host-name', text],
    15: ['domain-name', text], 26: ['interface-mtu', int], 28: ['broadcast-address', ips], 42: ['ntp-servers', ips],
    51: ['dhcp-lease-time', int], 54: ['dhcp-server-identifier', ips], 58: ['dhcp-renewal-time', int], 59: ['dhcp-rebinding-time', int],
    121: ['rfc3442-classless-static-routes', (b) => Array.from(b).join(',')],
  };
  for (let i = 240; i < msg.length;) {
    const code = msg[i]!;
    if (code === 0) { i++; continue; }
    if (code === 255 || i + 1 >= msg.length) break;
    const len = msg[i + 1]!;
    const value = msg.subarray(i + 2, Math.min(msg.length, i + 2 + len));
    i += 2 + len;
    const known = names[code];
    if (known) options[known[0]] = known[1](value);
    else if (code === 245 && value.length === 4) options['unknown-245'] = ip(value);
    else options[`unknown-${code}`] = Array.from(value, (x) => x.toString(16).padStart(2, '0')).join(':');
  }
  return options;
}

// ---- udhcpc ----

// udhcpc runs this with the lease in its environment: the values are written
// as they are, NUL-separated (no value can hold a NUL), never evaluated.
const UDHCPC_SCRIPT = `#!/bin/sh
# ec2-init's ephemeral network: writes the lease udhcpc got; configures nothing.
case "$1" in
  bound|renew)
    printf '%s\\0' "ip=$ip" "subnet=$subnet" "broadcast=$broadcast" "router=$router" "serverid=$serverid" \\
      "staticroutes=$staticroutes" "dns=$dns" "domain=$domain" "hostname=$hostname" "mtu=$mtu" "lease=$lease" "opt245=$opt245" > "$LEASE_FILE"
    ;;
esac
exit 0
`;

async function udhcpc(ctx: Context, nic: string, deadline: number): Promise<DhcpRun> {
  const script = `${EPHEMERAL_DIR}/udhcpc.script`;
  const leaseFile = `${EPHEMERAL_DIR}/udhcpc.lease`;
  ctx.files.write(script, UDHCPC_SCRIPT, { mode: 0o700 });
  const cleanup = async (): Promise<string[]> => removeOwnDir(ctx);
  const ms = budget(deadline, 'udhcpc');
  // -n: exit without a lease; -q: exit once bound; -f: in the foreground.
  const r = await ctx.capture(['udhcpc', '-O', 'staticroutes', '-i', nic, '-s', script, '-n', '-q', '-f', '-v'],
    { timeoutMs: ms, env: { LEASE_FILE: leaseFile } });
  try {
    if (r.code !== 0) throw failure('udhcpc', r, ms);
    const raw = ctx.files.readIfExists(leaseFile, 1 << 16);
    if (raw === null) throw new DhcpError('udhcpc exited without a lease');
    return { lease: parseUdhcpcLease(raw, nic), configured: false, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

export function parseUdhcpcLease(raw: Uint8Array, nic: string): Lease {
  const env: Record<string, string> = {};
  for (const item of asText(raw).split('\0')) {
    const eq = item.indexOf('=');
    if (eq > 0) env[item.slice(0, eq)] = item.slice(eq + 1);
  }
  const options: Record<string, string> = {};
  const set = (name: string, value: string | undefined) => { if (value) options[name] = value; };
  set('fixed-address', env['ip']);
  set('subnet-mask', env['subnet']);
  set('broadcast-address', env['broadcast']);
  set('routers', env['router']?.trim().split(/\s+/).join(','));
  set('dhcp-server-identifier', env['serverid']);
  set('domain-name-servers', env['dns']?.trim().split(/\s+/).join(','));
  set('domain-name', env['domain']);
  set('host-name', env['hostname']);
  set('interface-mtu', env['mtu']);
  set('dhcp-lease-time', env['lease']);
  set('static_routes', env['staticroutes']);
  const v245 = env['opt245'] ? optionAddress(env['opt245']) : null;
  if (v245) options['unknown-245'] = v245;
  return leaseFrom('udhcpc', nic, options);
}

// ---- one lease shape ----

/** Options (dhclient's names) → a Lease, every value that reaches `ip` checked. */
function leaseFrom(client: DhcpClientName, nic: string, options: Record<string, string>): Lease {
  const address = options['fixed-address'] ?? '';
  if (!isIPv4(address)) throw new DhcpError(`${client}: the lease's address ${JSON.stringify(address)} is not an IPv4 address`);
  const prefix = maskToPrefix(options['subnet-mask'] ?? '');
  if (prefix === null) throw new DhcpError(`${client}: the lease's subnet mask ${JSON.stringify(options['subnet-mask'] ?? '')} is not one`);
  const broadcast = options['broadcast-address'] && isIPv4(options['broadcast-address']) ? options['broadcast-address'] : broadcastOf(address, prefix);
  const router = (options['routers'] ?? '').split(/[,\s]+/).find((r) => isIPv4(r)) ?? null;
  const serverRaw = options['dhcp-server-identifier'];
  const server = serverRaw && isIPv4(serverRaw) ? serverRaw : null;
  const classless = options['rfc3442-classless-static-routes'] ?? options['unknown-121'];
  const staticRoutes = classless ? parseRfc3442(classless) : options['static_routes'] ? parsePairs(options['static_routes']) : [];
  return { client, interface: nic, address, prefix, broadcast, router, server, staticRoutes, options };
}

function broadcastOf(address: string, prefix: number): string {
  const n = address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const host = prefix === 32 ? 0 : (2 ** (32 - prefix)) - 1;
  const b = (n | host) >>> 0;
  return [24, 16, 8, 0].map((s) => (b >>> s) & 255).join('.');
}

/**
 * Option 121 as dhclient ("24,10,0,2,10,0,2,2": decimal) or as an unknown
 * option ("18:a:0:2:…": hex) writes it: width, the significant octets of the
 * destination, the router. Stops at the first malformed route (as cloud-init).
 */
export function parseRfc3442(value: string): Array<{ to: string; via: string }> {
  const hex = value.includes(':');
  const nums = value.replace(/;$/, '').split(/[,.:\s]+/).filter(Boolean).map((t) => (hex ? parseInt(t, 16) : Number(t)));
  const out: Array<{ to: string; via: string }> = [];
  for (let i = 0; i < nums.length;) {
    const width = nums[i]!;
    if (!Number.isInteger(width) || width < 0 || width > 32) break;
    const significant = Math.ceil(width / 8);
    if (i + 1 + significant + 4 > nums.length) break;
    const dest = nums.slice(i + 1, i + 1 + significant);
    const via = nums.slice(i + 1 + significant, i + 5 + significant);
    if (![...dest, ...via].every((o) => Number.isInteger(o) && o >= 0 && o <= 255)) break;
    while (dest.length < 4) dest.push(0);
    out.push({ to: `${dest.join('.')}/${width}`, via: via.join('.') });
    i += 5 + significant;
  }
  return out;
}

/** udhcpc's staticroutes: "dest/len gw dest/len gw …". */
function parsePairs(value: string): Array<{ to: string; via: string }> {
  const t = value.trim().split(/\s+/);
  const out: Array<{ to: string; via: string }> = [];
  for (let i = 0; i + 1 < t.length; i += 2) {
    const to = t[i]!;
    if (!cidr(to).ok || !isIPv4(to.split('/')[0]!) || !isIPv4(t[i + 1]!)) break;
    out.push({ to, via: t[i + 1]! });
  }
  return out;
}
