// The short-lived network of init-local (cloud-init's EphemeralIPNetwork):
// what a source behind a link-local address (reach 'link-local') needs to be
// read before networking is configured, on the one NIC its service is behind
// (cloud-init's fallback NIC, network/fallback.ts), and torn down after
// without a trace.
//
//   withEphemeralNetwork(ctx, { kinds: ['dhcp4', 'ipv6'], … }, (net) => read(net.lease))
//
// 1. When one of the source's URLs answers already (cloud-init's connectivity
//    check: a container, a network up before us), nothing is set up.
// 2. A NIC that already has an IPv4 address was configured by someone else
//    (the initramfs for an iSCSI root, a container manager): it is not
//    touched, and the source is read over what is there.
// 3. Otherwise, what the source asks for (source.ts, EphemeralKind): the link
//    up (for IPv6: enough on its own only once a router advertised a default
//    route, 3 s at most after the link came up); a DHCPv4 lease through the image's client (ephemeral-dhcp.ts), its
//    address and routes put on the NIC as cloud-init's EphemeralIPv4Network
//    puts them (the classless static routes when the lease has them, else a
//    default route via the router unless one exists); or a random
//    169.254.0.0/16 address (DigitalOcean's rule).
// 4. After the read, whatever it came to: the client's daemon and files go,
//    every route and address that was not on the NIC before is deleted, the
//    link goes down again if it was down, and the NIC is compared with what
//    it was (a difference is a warning naming it). resolv.conf, the host
//    name and the image's network config are never touched.
//
// Every program is the root's own (`ip` of iproute2, the DHCP client), run
// through ctx. Where this runs at all is search.ts's rule: on `/`, or under
// --root only when EC2_INIT_EPHEMERAL_NETWORK=1 (tests in a network
// namespace of their own); otherwise sources are read over whatever network
// there is.
import type { Context } from '../context.ts';
import { now } from '../host/clock.ts';
import { randomBytes } from '../host/codecs.ts';
import { fallbackNic } from '../network/fallback.ts';
import { readNics } from '../network/sysfs.ts';
import type { EphemeralKind } from '../sources/source.ts';
import type { Config } from '../config/merge.ts';
import { remaining, sleep } from './cancel.ts';
import { chooseClient, DhcpError, dhcpDiscover, type DhcpRun, type Lease } from './ephemeral-dhcp.ts';
import { request } from './http.ts';

/** A silent DHCP server costs at most this (cloud-init waits up to 10 s for dhclient, 300 s for dhcpcd). */
export const DHCP_TIMEOUT_MS = 5000;
/** How long after the link comes up a router advertisement is waited for, when IPv6 is all there is. */
export const IPV6_RA_WAIT_MS = 3000;
/** The connectivity check's wait for an answer. */
const CHECK_TIMEOUT_MS = 1000;
const IP_TIMEOUT_MS = 5000;

export interface EphemeralOptions {
  kinds: readonly EphemeralKind[];
  /** URLs that, when one already answers, make the network unnecessary. */
  connectivityUrls: string[];
  /** Nothing of it (the DHCP client included) outlives this (sys.now() time). */
  deadline: number;
  system: Config;
}

/** What the read is given. */
export interface EphemeralNet {
  /** The NIC it is on (null: none to use). */
  nic: string | null;
  /** The DHCP lease (null: none was needed, or no 'dhcp4'). */
  lease: Lease | null;
  /** How the service is reached: over the ephemeral network, or over what was there. */
  via: 'ephemeral' | 'existing';
}

interface Addr { family: string; cidr: string }
interface Route { family: '-4' | '-6'; key: string; del: string[]; table: string; protocol: string }
interface NicState { up: boolean; addrs: Addr[]; routes: Route[] }

/**
 * Run `read` with the network `opts` asks for on the fallback NIC, and tear
 * it down after, whatever `read` did. `nothing` is returned, without reading,
 * when no part of the network came up.
 */
export async function withEphemeralNetwork<T>(ctx: Context, opts: EphemeralOptions, read: (net: EphemeralNet) => Promise<T>, nothing: T): Promise<T> {
  const log = ctx.log;
  const nic = fallbackNic(readNics(ctx.files))?.name ?? null;
  if (opts.connectivityUrls.length) {
    const answered = await firstAnswer(opts.connectivityUrls, opts);
    if (answered) {
      log.info(`ephemeral network: ${answered} answers already; none set up`);
      return read({ nic, lease: null, via: 'existing' });
    }
  }
  if (nic === null) {
    log.info('ephemeral network: no NIC for it in /sys/class/net; reading over whatever network there is');
    return read({ nic, lease: null, via: 'existing' });
  }
  let before: NicState;
  try { before = await nicState(ctx, nic); } catch (e) {
    log.warn(`ephemeral network: cannot read ${nic}'s state (${(e as Error).message}); none set up`);
    return read({ nic, lease: null, via: 'existing' });
  }
  const own = before.addrs.filter((a) => a.family === 'inet');
  if (own.length) {
    log.info(`ephemeral network: ${nic} already has ${own.map((a) => a.cidr).join(', ')} (configured before ec2-init: initramfs, iSCSI root, container); not touched`);
    return read({ nic, lease: null, via: 'existing' });
  }

  const started = now();
  let dhcp: DhcpRun | null = null;
  let up = false;
  let ipv6 = false;
  const failures: string[] = [];
  try {
    if (!before.up) await ip(ctx, ['link', 'set', 'dev', nic, 'up']);
    for (const kind of opts.kinds) {
      try {
        if (kind === 'dhcp4') {
          dhcp = await dhcp4(ctx, nic, opts);
          if (dhcp) up = true;
        } else if (kind === 'link-local4') {
          const address = `169.254.${1 + (randomBytes(1)[0]! % 168)}.${randomBytes(1)[0]!}`;
          await ip(ctx, ['-4', 'addr', 'add', `${address}/16`, 'broadcast', '169.254.255.255', 'dev', nic]);
          log.info(`ephemeral network: ${address}/16 on ${nic} (link-local)`);
          up = true;
        } else {
          ipv6 = true;
        }
      } catch (e) {
        failures.push(`${kind}: ${(e as Error).message}`);
      }
    }
    // IPv6 alone is enough only where a router advertised a default route
    // (an IPv6-only subnet): without one no service off the link is
    // reachable, and a source would spend its whole max_wait finding that out
    // (an IPv4 subnet on an image without a DHCP client).
    if (ipv6) {
      const route = await ipv6DefaultRoute(ctx, nic, Math.min(opts.deadline, started + IPV6_RA_WAIT_MS));
      if (route) {
        log.info(`ephemeral network: ${nic} up for IPv6 (${route})`);
        up = true;
      } else if (up) {
        log.info(`ephemeral network: ${nic} up for IPv6 too (no router advertisement yet)`);
      } else {
        failures.push(`ipv6: no router advertised a default route within ${IPV6_RA_WAIT_MS} ms of the link coming up`);
      }
    }
  } catch (e) {
    failures.push((e as Error).message);
  }
  try {
    if (!up) {
      log.warn(`ephemeral network: nothing came up on ${nic} (${failures.join('; ')}); not read in init-local`);
      return nothing;
    }
    if (failures.length) log.info(`ephemeral network: ${failures.join('; ')}`);
    log.info(`ephemeral network: ${nic} ready in ${(now() - started).toFixed(0)} ms`);
    return await read({ nic, lease: dhcp?.lease ?? null, via: 'ephemeral' });
  } finally {
    await teardown(ctx, nic, before, dhcp);
  }
}

/** The IPv6 default route on `nic` ("default via fe80::1"), waiting for one until `until` (sys.now() time); null when none came. */
async function ipv6DefaultRoute(ctx: Context, nic: string, until: number): Promise<string | null> {
  for (;;) {
    const r = parseJson(await ip(ctx, ['-j', '-6', 'route', 'show', 'default', 'dev', nic]))[0];
    if (r) return `default via ${typeof r['gateway'] === 'string' ? r['gateway'] : '?'}`;
    if (now() >= until) return null;
    await sleep(Math.min(100, Math.max(1, until - now())));
  }
}

/** A DHCPv4 lease on `nic`, on the NIC (unless the client put it there); null when the image has no client. */
async function dhcp4(ctx: Context, nic: string, opts: EphemeralOptions): Promise<DhcpRun | null> {
  const { client, searched } = chooseClient(ctx, opts.system);
  if (client === null) {
    throw new DhcpError(`no DHCP client on this image (looked for ${searched.join(', ')} in /usr/sbin, /sbin, /usr/bin, /bin)`);
  }
  const t0 = now();
  const deadline = Math.min(opts.deadline, now() + DHCP_TIMEOUT_MS);
  const run = await dhcpDiscover(ctx, client, nic, deadline);
  const l = run.lease;
  ctx.log.info(`ephemeral network: ${client} leased ${l.address}/${l.prefix} on ${nic} in ${(now() - t0).toFixed(0)} ms` +
    ` (server ${l.server ?? '-'}, router ${l.router ?? '-'}${l.staticRoutes.length ? `, ${l.staticRoutes.length} classless route(s)` : ''})`);
  if (!run.configured) {
    try { await configure(ctx, l); } catch (e) {
      const left = await run.cleanup();
      if (left.length) ctx.log.warn(`ephemeral network: ${left.join('; ')}`);
      throw e;
    }
  }
  return run;
}

/** The lease's address and routes on its NIC, as cloud-init's EphemeralIPv4Network puts them. */
async function configure(ctx: Context, l: Lease): Promise<void> {
  await ip(ctx, ['-4', 'addr', 'add', `${l.address}/${l.prefix}`, 'broadcast', l.broadcast, 'dev', l.interface], /File exists|already assigned/);
  if (l.staticRoutes.length) {
    // RFC 3442: with classless static routes the router option is ignored.
    for (const r of l.staticRoutes) {
      await ip(ctx, ['-4', 'route', 'append', r.to, ...(r.via === '0.0.0.0' ? [] : ['via', r.via]), 'dev', l.interface]);
    }
  } else if (l.router) {
    const existing = (await ip(ctx, ['-4', 'route', 'show', 'default'])).trim();
    if (existing) { ctx.log.info(`ephemeral network: a default route exists already (${existing.split('\n')[0]}); none added`); return; }
    await ip(ctx, ['-4', 'route', 'add', `${l.router}/32`, 'dev', l.interface, 'src', l.address]);
    await ip(ctx, ['-4', 'route', 'add', 'default', 'via', l.router, 'dev', l.interface]);
  }
}

/** Undo everything: the client, then the routes and addresses that were not there, then the link; check. */
async function teardown(ctx: Context, nic: string, before: NicState, dhcp: DhcpRun | null): Promise<void> {
  const started = now();
  const problems: string[] = [];
  if (dhcp) problems.push(...await dhcp.cleanup());
  try {
    const current = await nicState(ctx, nic);
    const hadRoute = new Set(before.routes.map((r) => r.key));
    const hadAddr = new Set(before.addrs.map((a) => a.cidr));
    // Routes of the 'local' table and IPv6 ones go with their address and the link; the others one by one.
    for (const r of current.routes) {
      if (hadRoute.has(r.key) || r.table === 'local' || (r.family === '-6' && !before.up)) continue;
      await ip(ctx, [r.family, 'route', 'del', ...r.del], /No such process|Cannot find/).catch((e: Error) => problems.push(e.message));
    }
    for (const a of current.addrs) {
      if (hadAddr.has(a.cidr) || (a.family === 'inet6' && !before.up)) continue;
      await ip(ctx, ['addr', 'del', a.cidr, 'dev', nic], /Cannot assign/).catch((e: Error) => problems.push(e.message));
    }
    if (!before.up) await ip(ctx, ['link', 'set', 'dev', nic, 'down']).catch((e: Error) => problems.push(e.message));
    const after = await nicState(ctx, nic);
    problems.push(...differences(before, after, nic));
  } catch (e) {
    problems.push((e as Error).message);
  }
  if (problems.length) ctx.report('warning', 'ephemeral network', `not everything was undone on ${nic}: ${problems.join('; ')}`);
  else ctx.log.info(`ephemeral network: ${nic} back as it was in ${(now() - started).toFixed(0)} ms`);
}

function differences(before: NicState, after: NicState, nic: string): string[] {
  const out: string[] = [];
  if (before.up !== after.up) out.push(`${nic} is ${after.up ? 'up' : 'down'}, was ${before.up ? 'up' : 'down'}`);
  const had = new Set(before.addrs.map((a) => a.cidr));
  const has = new Set(after.addrs.map((a) => a.cidr));
  for (const a of has) if (!had.has(a)) out.push(`address ${a} left`);
  const hadR = new Set(before.routes.map((r) => r.key));
  for (const r of after.routes) if (!hadR.has(r.key)) out.push(`route ${r.key} left`);
  return out;
}

/** The NIC's link state, addresses and routes (every table), from `ip -j`. */
async function nicState(ctx: Context, nic: string): Promise<NicState> {
  const link = parseJson(await ip(ctx, ['-j', 'addr', 'show', 'dev', nic]))[0];
  if (!link) throw new Error(`ip shows no ${nic}`);
  const flags = Array.isArray(link['flags']) ? link['flags'] as unknown[] : [];
  const addrs: Addr[] = [];
  for (const a of Array.isArray(link['addr_info']) ? link['addr_info'] as Record<string, unknown>[] : []) {
    if (typeof a['local'] !== 'string' || typeof a['prefixlen'] !== 'number') continue;
    addrs.push({ family: String(a['family']), cidr: `${a['local']}/${a['prefixlen']}` });
  }
  const routes: Route[] = [];
  for (const family of ['-4', '-6'] as const) {
    for (const r of parseJson(await ip(ctx, ['-j', family, 'route', 'show', 'table', 'all', 'dev', nic]))) {
      const dst = typeof r['dst'] === 'string' ? r['dst'] : '';
      if (!dst) continue;
      const table = typeof r['table'] === 'string' || typeof r['table'] === 'number' ? String(r['table']) : 'main';
      const type = typeof r['type'] === 'string' ? r['type'] : 'unicast';
      const gw = typeof r['gateway'] === 'string' ? r['gateway'] : '';
      const metric = typeof r['metric'] === 'number' ? String(r['metric']) : '';
      const protocol = typeof r['protocol'] === 'string' ? r['protocol'] : '';
      routes.push({
        family, table, protocol,
        key: `${family} ${type} ${dst}${gw ? ` via ${gw}` : ''} table ${table}${metric ? ` metric ${metric}` : ''}`,
        del: [...(type === 'unicast' ? [] : [type]), dst, ...(gw ? ['via', gw] : []), 'dev', nic, 'table', table, ...(metric ? ['metric', metric] : [])],
      });
    }
  }
  return { up: flags.includes('UP'), addrs, routes };
}

function parseJson(text: string): Record<string, unknown>[] {
  try {
    const v: unknown = JSON.parse(text.trim() || '[]');
    return Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null) : [];
  } catch { throw new Error(`ip -j printed what is not JSON: ${text.slice(0, 80)}`); }
}

/** Run the root's `ip`; its stdout, or an Error naming the command (an stderr matching `ok` is no error). */
async function ip(ctx: Context, args: string[], ok?: RegExp): Promise<string> {
  const r = await ctx.capture(['ip', ...args], { timeoutMs: IP_TIMEOUT_MS });
  if (r.code === 0 || (ok && ok.test(r.stderr))) return r.stdout;
  throw new Error(`ip ${args.join(' ')}: ${r.timedOut ? 'timed out' : `exit ${r.code}`}${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}`);
}

/** The first URL that gives an HTTP answer (any status: the path is there) within the check's wait, or null. */
async function firstAnswer(urls: string[], opts: EphemeralOptions): Promise<string | null> {
  const deadline = Math.min(opts.deadline, now() + CHECK_TIMEOUT_MS);
  if (remaining(deadline) <= 0) return null;
  const answers = await Promise.all(urls.map(async (url) => {
    try {
      await request(url, { timeoutMs: CHECK_TIMEOUT_MS, deadline, maxBytes: 64 * 1024 });
      return url;
    } catch { return null; }
  }));
  return answers.find((a) => a !== null) ?? null;
}

