// OpenStack metadata service over HTTP (OpenStack's default when there is no
// config drive):
//
//   GET {url}/openstack                         versions, one a line ("2012-08-10", …, "latest")
//   GET {url}/openstack/{v}/meta_data.json      uuid (the instance-id), hostname, public_keys, …
//   GET {url}/openstack/{v}/user_data           raw bytes; 404 = none
//   GET {url}/openstack/{v}/vendor_data.json    vendor-data (its "cloud-init" key, or a string)
//   GET {url}/openstack/{v}/network_data.json   links, networks, services; 404 = none
//
// {v} is "latest" when listed, else the newest dated version. The first of
// metadata_urls whose /openstack answers serves everything; rounds of tries go
// on until max_wait (seconds; cloud-init's -1 or 0: one round), each request
// cut to timeout. 5xx, 429 and dropped connections are retried (`retries`).
// Asked only where DMI says OpenStack (see identify.ts), as cloud-init's
// ds-identify does.
import { asText } from '../bytes.ts';
import { now } from '../host/clock.ts';
import type { Logger } from '../log.ts';
import { remaining } from '../net/cancel.ts';
import { fetchWithRetries, firstInRounds } from '../net/fetch.ts';
import { request, type HttpResponse } from '../net/http.ts';
import type { SourceData } from '../types.ts';
import { ReadBudget } from './budget.ts';
import { maybeOpenStack } from './identify.ts';
import { openStackSourceData, parseMeta } from './openstack-data.ts';
import { count, seconds, urls, type Source } from './source.ts';

export interface OpenStackOptions {
  metadataUrls: string[];
  timeoutMs: number;
  /** Overall wait for a service to answer; 0 = one round over the URLs. */
  maxWaitMs: number;
  retries: number;
  /** Absolute sys.now() time nothing may outlive (the search's deadline). */
  deadline: number;
  /** What the read may take in all (budget.ts; default a fresh one), and where to say what it left out. */
  budget?: ReadBudget;
  report?: (message: string) => void;
  /** One answer's cap: what is left of the budget. */
  maxBytes?: number;
}

export const DEFAULT_OPENSTACK_URLS = ['http://169.254.169.254'];

/** Between rounds over metadata_urls: net/fetch.ts's backoff from 200 ms, at most 5 s. */
const ROUND_PAUSE = { baseMs: 200, capMs: 5000 };

function get(url: string, o: OpenStackOptions, log: Logger): Promise<HttpResponse> {
  return fetchWithRetries(url, { timeoutMs: o.timeoutMs, deadline: o.deadline, retries: o.retries, log, what: 'datasource OpenStack', ...(o.maxBytes !== undefined && { maxBytes: o.maxBytes }) });
}

/** The first URL whose /openstack listing answers 200, and the listing; null when none does within max_wait. */
async function findService(o: OpenStackOptions, log: Logger): Promise<{ base: string; versions: string[] } | null> {
  const until = Math.min(o.deadline, now() + Math.max(0, o.maxWaitMs));
  return firstInRounds(o.metadataUrls, async (url) => {
    const base = url.replace(/\/+$/, '');
    try {
      const r = await request(`${base}/openstack`, { timeoutMs: Math.min(o.timeoutMs, Math.max(1, remaining(o.deadline))), deadline: o.deadline });
      if (r.status === 200) return { base, versions: asText(r.body).split('\n').map((l) => l.trim()).filter(Boolean) };
      log.info(`datasource OpenStack: ${base}/openstack: HTTP ${r.status}`);
    } catch (e) {
      log.info(`datasource OpenStack: ${base}/openstack: ${(e as Error).message}`);
    }
    return null;
  }, { until, pause: ROUND_PAUSE });
}

function pickVersion(versions: string[]): string {
  if (versions.includes('latest') || versions.length === 0) return 'latest';
  return versions.filter((v) => /^\d{4}-\d{2}-\d{2}$/.test(v)).sort().pop() ?? 'latest';
}

export async function readOpenStack(o: OpenStackOptions, log: Logger): Promise<SourceData | null> {
  const service = await findService(o, log);
  if (!service) return null;
  const version = pickVersion(service.versions);
  const dir = `${service.base}/openstack/${version}`;
  // Each answer within what is left of the budget (budget.ts): meta_data.json must fit; the others are left out, and reported, when they do not.
  const budget = o.budget ?? new ReadBudget();
  const fetch = async (name: string, required: boolean): Promise<Uint8Array | null> => {
    const one = async (maxBytes: number) => {
      const r = await get(`${dir}/${name}`, { ...o, maxBytes }, log);
      if (r.status === 200) return r.body;
      if (r.status === 404 && !required) return null;
      throw new Error(`${dir}/${name}: HTTP ${r.status}`);
    };
    return required ? budget.read(`${dir}/${name}`, one) : budget.optional(`${dir}/${name}`, (m) => o.report?.(m), one);
  };
  const meta = (await fetch('meta_data.json', true))!;
  parseMeta(dir, meta); // a broken meta_data.json ends the read before the other files are fetched
  const [userData, vendor, network] = [await fetch('user_data', false), await fetch('vendor_data.json', false), await fetch('network_data.json', false)];
  log.info(`datasource OpenStack: ${dir}: meta_data.json${userData ? ', user_data' : ''}${vendor ? ', vendor_data.json' : ''}${network ? ', network_data.json' : ''}`);
  return openStackSourceData({ dir, meta, userData, vendor, network },
    { name: 'OpenStack', provider: 'openstack', subplatform: `metadata (${service.base})` },
    (m) => log.warn(`datasource OpenStack: ${m}`));
}

export const openStack: Source = {
  name: 'OpenStack',
  reach: 'network',
  detect: maybeOpenStack,
  notDetected: 'DMI does not say OpenStack',
  read({ ctx, cfg, deadline, log, budget }) {
    // cloud-init's defaults: timeout 10 s, max_wait -1 (one round), retries 5.
    return readOpenStack({
      metadataUrls: urls(cfg, DEFAULT_OPENSTACK_URLS),
      timeoutMs: seconds(cfg['timeout'], 10),
      maxWaitMs: Math.min(seconds(cfg['max_wait'], 0), Math.max(0, deadline - now())),
      retries: count(cfg['retries'], 5),
      deadline,
      budget,
      report: (m) => ctx.report('error', 'datasource OpenStack', m),
    }, log);
  },
};
