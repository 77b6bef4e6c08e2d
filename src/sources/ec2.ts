// EC2 datasource: the instance metadata service (IMDS).
//
//   PUT /latest/api/token   (X-aws-ec2-metadata-token-ttl-seconds: 21600) → IMDSv2 token
//   GET /latest/user-data                          raw bytes; 404 = no user-data
//   GET /latest/dynamic/instance-identity/document
//   GET /latest/meta-data/…                        the tree, as cloud-init's ds.meta_data
// Every GET carries X-aws-ec2-metadata-token; a 401 gets a new token.
//
// Choices, and why:
// - Walk the meta-data tree (at most 8 requests in flight) rather than fetch only
//   the keys this agent uses: `query ds.meta_data.*` (issue 4) and templates
//   written for cloud-init expect the whole tree, and only a first boot pays
//   for it (reboots reuse the cache). The price, measured against the simulator
//   (74 requests, vs 11 for the needed keys alone): +6–14 ms at 0 ms per
//   request, +25–40 ms at 2 ms; the critical path is the tree's depth (8 round
//   trips with the token) and 74/8 rounds of the queue. User-data and the
//   identity document go first in the queue. 8 in flight stays well under IMDS
//   throttling (per-instance limits on packets per second and on simultaneous
//   connections). Directories named security-credentials (IAM role
//   credentials) are never fetched: they are secrets and would land in the cache.
// - Endpoints race with a head start (happy eyeballs): the first URL has 150 ms
//   alone to answer the token request, then the next starts alongside, at once if
//   the first failed (refused, no route). Strictly in order would cost a whole
//   timeout per dead endpoint (the IPv4 address is a black hole on an IPv6-only
//   subnet); racing all at once doubles the traffic of every healthy boot. The
//   first endpoint to answer serves everything after.
// - Read in init-local (reach 'link-local', cloud-init's Ec2Local), over the
//   ephemeral network (src/net/ephemeral.ts: DHCPv4 on the fallback NIC, the
//   link up for IPv6), so its NIC config is rendered before networking on the
//   first boot; init asks again when init-local could not reach it.
// - Beside systemd-imds (systemd-imds.ts): in init, where its varlink socket
//   is and metadata_urls is not set, every read goes through it (its token,
//   its cache) instead of a second client; the same paths, so the same data.
//   A socket that does not answer falls back to the service itself.
// - IMDSv1 fallback: 'auto' only when the token endpoint says there are no tokens
//   (403/404/405), never after a timeout: a token PUT lost on the way back means
//   a hop limit too low (a container) or a disabled service, and v1 would hide
//   it. 'always' also after a timeout or any other answer; 'never' never.
// - Waits by default: 2 s per request, 5 s in all (cloud-init: 50 s and 120 s,
//   in its local stage and again in its network stage, so up to 240 s). On
//   EC2 the service answers in milliseconds once the NIC is up; a service
//   that stays silent or answers 5xx for 5 s is not coming. When init-local
//   spent its max_wait that way (over its network: the ephemeral one, or the
//   one there is), it records so under /run (this boot only) and stage init
//   does not ask again, so the fault costs one max_wait, not two. A refusal
//   or no route (seconds at most) is not recorded: the configured network
//   may reach the service. `timeout` or `max_wait` set in the config keep
//   cloud-init's behaviour: those waits, and init asks again.
// - Retries: 429, 5xx, dropped connections and timeouts, with jittered
//   exponential backoff (50–100 ms, doubling, at most 2 s) so a fleet booting
//   at once spreads out. Refused or unreachable: no retry, nothing listens
//   there. Every attempt is cut to the overall deadline (maxWaitMs); a retry
//   that could not get an answer before it is not made.
import { asText, latin1, utf8 } from '../bytes.ts';
import { cancelTimer, now, setTimer } from '../host/clock.ts';
import type { Logger } from '../log.ts';
import { Cancel, remaining, sleep } from '../net/cancel.ts';
import { fetchWithRetries, MIN_ATTEMPT_MS } from '../net/fetch.ts';
import { HttpError, Pool, type HttpResponse } from '../net/http.ts';
import { parseUrl } from '../net/url.ts';
import { layout } from '../state/layout.ts';
import type { SourceData } from '../types.ts';
import type { Files } from '../host/files.ts';
import { ReadBudget, SOURCE_BUDGET } from './budget.ts';
import { maybeEc2 } from './identify.ts';
import { seconds, urls, type Source } from './source.ts';
import { hasImdsSocket, ImdsVarlink, IMDS_SOCKET } from './systemd-imds.ts';

export interface Ec2Options {
  metadataUrls: string[];
  timeoutMs: number;
  maxWaitMs: number;
  v1Fallback: 'auto' | 'always' | 'never';
  /**
   * What an earlier boot of this machine cached. A reboot asks the service
   * only for meta-data/instance-id (2 requests instead of a full walk) and,
   * when it is unchanged, uses the cache.
   */
  cached?: Ec2Cache | null;
  /** The budget all answers of the read count against (the search's; default a fresh MAX_TOTAL_BYTES one). */
  budget?: ReadBudget;
  /** Read through systemd-imds's varlink service instead of the endpoints. */
  imds?: ImdsVarlink;
  /** Called when the read ends with nothing because max_wait ran out (silent, 5xx, timeouts), with why. */
  onGaveUp?: (why: string) => void;
}

/** The files the datasource leaves under data/ec2/ (its `cache`), read back. */
export interface Ec2Cache {
  metaDataJson: string;
  userData: Uint8Array | null;
  identityDocument: string | null;
}

const TOKEN_PATH = '/latest/api/token';
const TTL_HEADER = 'X-aws-ec2-metadata-token-ttl-seconds';
const TOKEN_HEADER = 'X-aws-ec2-metadata-token';
const CONCURRENCY = 8;
const HEAD_START_MS = 150;
const MAX_WALK = 1000;
/** Every answer of one read together (the tree, user-data, the identity document): the source budget (budget.ts). */
export const MAX_TOTAL_BYTES = SOURCE_BUDGET;
/** One answer: user-data is at most 16 KiB on EC2; anything near this is not metadata. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
const SECRET_DIRS = new Set(['security-credentials']);

/** What every request of one read shares. */
interface Io {
  deadline: number;
  timeoutMs: number;
  cancel: Cancel;
  pool: Pool;
  /** Shared by every copy of this Io: requests sent, and whether one ran out of max_wait. */
  stats: { requests: number; outOfTime: boolean };
  /** The source's budget (budget.ts): every answer counted, a retried one too. */
  budget: ReadBudget;
  log: Logger;
}

/** The metadata service that answered, and its token (null: IMDSv1), or systemd-imds that answers for it. */
interface Service { base: string; token: string | null; renewing: Promise<void> | null; imds?: ImdsVarlink }

export async function readEc2(opts: Ec2Options, log: Logger): Promise<SourceData | null> {
  const started = now();
  const stop = new Cancel();
  const hardStop = setTimer(opts.maxWaitMs, () => stop.cancel());
  const io: Io = {
    deadline: started + opts.maxWaitMs,
    timeoutMs: opts.timeoutMs,
    cancel: stop,
    pool: new Pool(),
    stats: { requests: 0, outOfTime: false },
    budget: opts.budget ?? new ReadBudget(MAX_TOTAL_BYTES),
    log,
  };
  const elapsed = (): number => Math.round(now() - started);
  // Nothing read because the time ran out (not because nothing listens there).
  const gaveUp = (why: string): null => {
    if (io.stats.outOfTime || stop.cancelled || remaining(io.deadline) < MIN_ATTEMPT_MS) opts.onGaveUp?.(`${why} within max_wait (${opts.maxWaitMs} ms)`);
    return null;
  };
  try {
    const service = (opts.imds ? await viaImds(opts.imds, io, log) : null) ?? await connect(opts, io, log);
    if (!service) return gaveUp(`no metadata service answered at ${opts.metadataUrls.join(', ')}`);
    const reused = opts.cached ? await fromCacheIfSameInstance(service, io, opts.cached) : null;
    if (reused) {
      log.info(`ec2: instance ${reused.instanceId} unchanged (${io.stats.requests} requests, ${elapsed()} ms): using the cache of its first boot`);
      return reused;
    }
    const data = await fetchAll(service, io);
    log.info(`ec2: read ${service.base} (${service.token ? 'IMDSv2' : 'IMDSv1'}) in ${elapsed()} ms, ` +
      `${io.stats.requests} requests; instance ${data.instanceId}, ` +
      `user-data ${data.userData ? `${data.userData.length} bytes` : 'none'}`);
    return data;
  } catch (e) {
    log.warn(`ec2: metadata service answered, but reading it failed after ${elapsed()} ms: ${reason(e)}`);
    return gaveUp(`the metadata service was not read (${reason(e)})`);
  } finally {
    cancelTimer(hardStop);
    stop.cancel();
    io.pool.close();
  }
}

/** Find the endpoint that answers and how to talk to it (token or v1); null if none does. */
async function connect(opts: Ec2Options, io: Io, log: Logger): Promise<Service | null> {
  const done = new Cancel(); // ends the losers and the head-start timers
  const pio: Io = { ...io, cancel: Cancel.any([io.cancel, done]) };
  const failures: string[] = [];
  const tries: Promise<Service | null>[] = [];
  let winner: Service | null = null;
  try {
    for (const [i, url] of opts.metadataUrls.entries()) {
      const base = url.replace(/\/+$/, '');
      const attempt = probe(base, opts, pio, log).catch((e: unknown) => { failures.push(`${base}: ${reason(e)}`); return null; });
      tries.push(attempt);
      if (i === opts.metadataUrls.length - 1) break;
      // A head start: failed or still silent after HEAD_START_MS, the next one starts too.
      winner = await Promise.race([attempt, sleep(HEAD_START_MS, pio.cancel).then(() => null)]);
      if (winner) break;
    }
    winner ??= await firstOf(tries);
  } finally {
    done.cancel();
  }
  if (!winner) {
    const after = Math.round(opts.maxWaitMs - remaining(io.deadline));
    log.warn(`ec2: no metadata service answered (${after} ms, max_wait ${opts.maxWaitMs} ms): ${failures.join('; ') || 'no metadata_urls'}`);
  }
  return winner;
}

/** systemd-imds, when it answers (its own failure is no answer: the endpoints are asked instead). */
async function viaImds(imds: ImdsVarlink, io: Io, log: Logger): Promise<Service | null> {
  const service: Service = { base: 'systemd-imds', token: null, renewing: null, imds };
  try {
    await get(service, io, 'meta-data/instance-id');
    log.info(`ec2: reading through systemd-imds (${IMDS_SOCKET})`);
    return service;
  } catch (e) {
    log.warn(`ec2: systemd-imds (${IMDS_SOCKET}) did not answer (${reason(e)}); asking the metadata service itself`);
    imds.close();
    return null;
  }
}

/** Ask one endpoint for a token; settle on IMDSv1 where allowed. */
async function probe(base: string, opts: Ec2Options, io: Io, log: Logger): Promise<Service> {
  let res: HttpResponse;
  try {
    res = await send(io, base + TOKEN_PATH, 'PUT', { [TTL_HEADER]: '21600' }, opts.v1Fallback !== 'always');
  } catch (e) {
    if (!(e instanceof HttpError) || e.kind !== 'timeout') throw e;
    if (opts.v1Fallback !== 'always') {
      throw new Error(`the IMDSv2 token request (PUT ${TOKEN_PATH}) got no answer (${e.message}): ` +
        'hop limit too low for a container (HttpPutResponseHopLimit)? metadata service disabled?');
    }
    log.warn(`ec2: ${base}: the token request got no answer (${e.message}); using IMDSv1 (v1 fallback: always)`);
    return { base, token: null, renewing: null };
  }
  if (res.status === 200 && res.body.length > 0) return { base, token: latin1(res.body).trim(), renewing: null };
  const noTokens = res.status === 403 || res.status === 404 || res.status === 405;
  if (opts.v1Fallback === 'always' || (opts.v1Fallback === 'auto' && noTokens)) {
    log.info(`ec2: ${base}: the token endpoint answered HTTP ${res.status}; using IMDSv1`);
    return { base, token: null, renewing: null };
  }
  throw new Error(`the token endpoint answered HTTP ${res.status}` +
    (noTokens && opts.v1Fallback === 'never' ? ' (no IMDSv2 here), and v1 fallback is off' : ''));
}

/** Everything the datasource returns, fetched through one bounded queue. */
async function fetchAll(s: Service, io: Io): Promise<SourceData> {
  const limit = limiter(CONCURRENCY);
  const fetch = (path: string): Promise<Uint8Array | null> => limit(() => get(s, io, path));
  const [userData, identityDoc, metaData] = await Promise.all([
    fetch('user-data'),
    fetch('dynamic/instance-identity/document'),
    walk(fetch, 'meta-data/'),
  ]);
  return assemble(s.imds ? `systemd-imds ${IMDS_SOCKET}` : s.base, metaData, userData, identityDoc === null ? null : asText(identityDoc));
}

/** The cache, when the service says the instance-id is still the cached one. */
async function fromCacheIfSameInstance(s: Service, io: Io, cached: Ec2Cache): Promise<SourceData | null> {
  let metaData: Record<string, unknown>;
  try { metaData = JSON.parse(cached.metaDataJson) as Record<string, unknown>; } catch { return null; }
  const answer = await get(s, io, 'meta-data/instance-id');
  const current = answer === null ? undefined : asText(answer).trim();
  if (!current || current !== nonEmpty(metaData['instance-id'])) return null;
  return assemble(s.base, metaData, cached.userData, cached.identityDocument);
}

/** SourceData (and the cache to keep) from the meta-data tree, user-data and identity document. */
function assemble(base: string, metaData: Record<string, unknown>, userData: Uint8Array | null, identityDoc: string | null): SourceData {
  const instanceId = nonEmpty(metaData['instance-id']);
  if (!instanceId) throw new Error('meta-data has no instance-id');
  const placement = (metaData['placement'] ?? {}) as Record<string, unknown>;
  const identity = parseObject(identityDoc === null ? null : utf8(identityDoc));
  const launchIndex = Number.parseInt(nonEmpty(metaData['ami-launch-index']) ?? '', 10);
  const cache: Record<string, string | Uint8Array> = { 'meta-data.json': JSON.stringify(metaData, null, 2) + '\n' };
  if (userData) cache['user-data'] = userData;
  if (identityDoc) cache['dynamic-instance-identity-document.json'] = identityDoc;
  return {
    name: 'Ec2',
    provider: 'ec2',
    instanceId,
    localHostname: nonEmpty(metaData['local-hostname']),
    metaData,
    userData,
    publicKeys: keysIn(metaData['public-keys']),
    launchIndex: Number.isNaN(launchIndex) ? undefined : launchIndex,
    region: nonEmpty(placement['region']) ?? nonEmpty(identity['region']),
    availabilityZone: nonEmpty(placement['availability-zone']) ?? nonEmpty(identity['availabilityZone']),
    instanceType: nonEmpty(metaData['instance-type']) ?? nonEmpty(identity['instanceType']),
    cloudName: 'aws',
    subplatform: `metadata (${base})`,
    platform: 'ec2',
    cache,
  };
}

/** GET /latest/<path>: the body, or null on 404. A 401 gets a new token (twice at most). */
async function get(s: Service, io: Io, path: string): Promise<Uint8Array | null> {
  if (s.imds) {
    io.stats.requests++;
    if (io.budget.left() <= 0) throw new HttpError('too-large', `the metadata service's answers together are larger than ${io.budget.limit} bytes`);
    const body = await s.imds.get(`/${path}`, io.deadline);
    if (body && body.length > io.budget.left()) throw new HttpError('too-large', `the metadata service's answers together are larger than ${io.budget.limit} bytes: stopped`);
    if (body) io.budget.take(body.length, path);
    return body;
  }
  for (let renewals = 0; ; renewals++) {
    const token = s.token;
    const res = await send(io, `${s.base}/latest/${path}`, 'GET', token ? { [TOKEN_HEADER]: token } : {});
    if (res.status === 200) return res.body;
    if (res.status === 404) return null;
    if (res.status === 401 && token && renewals < 2) { await renew(s, io, token); continue; }
    const hint = res.status === 401 ? ' (IMDSv2 token required)'
      : res.status === 403 ? ' (metadata service disabled for this instance?)' : '';
    throw new Error(`GET /latest/${path}: HTTP ${res.status}${hint}`);
  }
}

/** One new token for all the requests that saw `stale` refused. */
function renew(s: Service, io: Io, stale: string): Promise<void> {
  if (s.token !== stale) return Promise.resolve();
  s.renewing ??= send(io, s.base + TOKEN_PATH, 'PUT', { [TTL_HEADER]: '21600' })
    .then((res) => {
      if (res.status !== 200 || res.body.length === 0) throw new Error(`token renewal: HTTP ${res.status}`);
      s.token = latin1(res.body).trim();
    })
    .finally(() => { s.renewing = null; });
  return s.renewing;
}

/** One request, retried on 429, 5xx, dropped connections (and timeouts) until the deadline (net/fetch.ts's policy). */
async function send(io: Io, url: string, method: string, headers: Record<string, string>,
  retryTimeouts = true): Promise<HttpResponse> {
  try {
    return await fetchWithRetries(url, {
      method, headers, timeoutMs: io.timeoutMs, deadline: io.deadline, cancel: io.cancel, pool: io.pool,
      retries: Number.MAX_SAFE_INTEGER, // until max_wait
      retryFailure: (e) => e.kind === 'reset' || (e.kind === 'timeout' && retryTimeouts),
      eachAttempt: () => {
        io.stats.requests++;
        if (io.budget.left() <= 0) throw new HttpError('too-large', `the metadata service's answers together are larger than ${io.budget.limit} bytes`);
        return { maxBytes: Math.min(MAX_ANSWER_BYTES, io.budget.left()) };
      },
      // Each answer was asked for at most what was left, so it fits.
      onAnswer: (res) => { io.budget.take(res.body.length, url); },
      giveUp: (why, kind, attempts) => { io.stats.outOfTime = true; return new HttpError(kind, `${why}, still after ${attempts} attempts at max_wait`); },
      log: io.log, what: `ec2: ${method} ${parseUrl(url).pathname}`,
    });
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    // Stopped by max_wait's own timer (which may fire a hair before the deadline by the monotonic clock): a timeout.
    if (e.kind === 'aborted' && remaining(io.deadline) <= 5) {
      io.stats.outOfTime = true;
      throw new HttpError('timeout', 'no answer before max_wait');
    }
    if (e.kind === 'too-large' && io.budget.left() < MAX_ANSWER_BYTES) throw new HttpError('too-large', `the metadata service's answers together are larger than ${io.budget.limit} bytes: stopped`);
    throw e;
  }
}

export type Fetch = (path: string) => Promise<Uint8Array | null>;

/** The meta-data tree under `dir` (ending in '/'), keyed as cloud-init keys it. */
export async function walk(fetch: Fetch, dir: string, budget: { left: number } = { left: MAX_WALK }): Promise<Record<string, unknown>> {
  const listing = await fetch(dir);
  const tree: Record<string, unknown> = {};
  if (listing === null) return tree;
  const entries = asText(listing).split('\n').map((l) => l.trim()).filter(Boolean);
  const found = await Promise.all(entries.map(async (entry): Promise<[string, unknown] | null> => {
    const isDir = entry.endsWith('/');
    const name = isDir ? entry.slice(0, -1) : entry;
    const key = /^(\d+)=(.+)$/.exec(name); // public-keys/ lists "0=key-name": fetch 0/openssh-key
    const path = key ? `${dir}${key[1]}/openssh-key` : `${dir}${name}${isDir ? '/' : ''}`;
    if (!key && (name === '.' || name === '..' || /[/?#%\s]/.test(name))) return null;
    if (SECRET_DIRS.has(name) || --budget.left < 0) return null;
    if (isDir) return [name, await walk(fetch, path, budget)];
    const body = await fetch(path);
    return body === null ? null : [key ? key[2]! : name, leaf(body)];
  }));
  for (const entry of found) if (entry) tree[entry[0]] = entry[1];
  return tree;
}

/** A leaf as cloud-init decodes it: a JSON object, a list of lines, or a string. */
export function leaf(body: Uint8Array): unknown {
  const s = asText(body);
  const t = s.trim();
  if (t.startsWith('{') && t.endsWith('}')) {
    try { return JSON.parse(t); } catch { /* not JSON after all */ }
  }
  return s.includes('\n') ? s.split(/\r?\n/) : s;
}

/** The keys of an EC2-style `public-keys` value (a string, a list of lines, or a tree of them). */
export function keysIn(value: unknown): string[] {
  if (typeof value === 'string') return value.trim() ? [value.trim()] : [];
  if (Array.isArray(value)) return value.flatMap(keysIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(keysIn);
  return [];
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function parseObject(body: Uint8Array | null): Record<string, unknown> {
  try {
    const v: unknown = body ? JSON.parse(asText(body)) : null;
    return v && typeof v === 'object' ? v as Record<string, unknown> : {};
  } catch { return {}; }
}

function reason(e: unknown): string {
  if (e instanceof HttpError && (e.kind === 'refused' || e.kind === 'unreachable')) {
    return `${e.message} (nothing answers there: not on EC2?)`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Run at most `n` of the given tasks at once, in the order they were asked. */
function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active >= n) await new Promise<void>((go) => waiting.push(go));
    else active++;
    try { return await task(); } finally {
      const next = waiting.shift();
      if (next) next(); else active--;
    }
  };
}

/** The first non-null result, or null once all are null. */
function firstOf<T>(tries: Promise<T | null>[]): Promise<T | null> {
  return new Promise((resolve) => {
    let left = tries.length;
    if (left === 0) resolve(null);
    for (const t of tries) void t.then((v) => { if (v) resolve(v); else if (--left === 0) resolve(null); });
  });
}

const DEFAULT_EC2_URLS = ['http://169.254.169.254', 'http://[fd00:ec2::254]'];
/** The default waits (seconds), see the top of this file. */
const DEFAULT_TIMEOUT_S = 2;
const DEFAULT_MAX_WAIT_S = 5;
export const ec2: Source = {
  name: 'Ec2',
  reach: 'link-local',
  // cloud-init's Ec2Local: DHCPv4 and IPv6 (the endpoint fd00:ec2::254) on the primary NIC.
  ephemeral: ['dhcp4', 'ipv6'],
  connectivityUrls: (cfg) => urls(cfg, DEFAULT_EC2_URLS),
  detect: maybeEc2,
  notDetected: 'not an EC2 platform (DMI and hypervisor uuid say so)',
  async read({ ctx, cfg, deadline, log, stage, budget, gaveUp }) {
    const fallback = cfg['v1_fallback'];
    // systemd-imds answers for the default endpoints only, and only once networking is up.
    const ownUrls = cfg['metadata_urls'] !== undefined || cfg['metadata_url'] !== undefined;
    const imds = stage === 'network' && !ownUrls && hasImdsSocket(ctx.files) ? new ImdsVarlink(ctx.files) : undefined;
    // The search's deadline may leave less than max_wait: then running out says nothing about the service.
    const ownMaxWaitMs = seconds(cfg['max_wait'], DEFAULT_MAX_WAIT_S);
    const maxWaitMs = Math.min(ownMaxWaitMs, Math.max(0, deadline - now()));
    try {
      return await readEc2({
        budget,
        metadataUrls: urls(cfg, DEFAULT_EC2_URLS),
        timeoutMs: seconds(cfg['timeout'], DEFAULT_TIMEOUT_S),
        maxWaitMs,
        v1Fallback: fallback === 'always' || fallback === 'never' ? fallback : 'auto',
        cached: ec2Cache(ctx.files),
        ...(imds && { imds }),
        // Only when its own max_wait ran out: the search's deadline cutting it short says nothing of the service.
        ...(gaveUp && maxWaitMs === ownMaxWaitMs && { onGaveUp: gaveUp }),
      }, log);
    } finally {
      imds?.close();
    }
  },
};

/** What the Ec2 source cached on an earlier boot (data/ec2/), or null. */
function ec2Cache(files: Files): Ec2Cache | null {
  const dir = layout.providerCache('ec2');
  const meta = files.readIfExists(`${dir}/meta-data.json`);
  if (meta === null) return null;
  return {
    metaDataJson: asText(meta),
    userData: files.readIfExists(`${dir}/user-data`),
    identityDocument: files.readTextIfExists(`${dir}/dynamic-instance-identity-document.json`) ?? null,
  };
}
