// phone_home (cloud-init's cc_phone_home): POST the instance id, host names
// and the host's ssh public keys, form-encoded, to `url` ($INSTANCE_ID in the
// url is replaced), trying `tries` times (default 10) three seconds apart.
// https is verified against the root's CA bundle; redirects are not followed.
import { asText } from '../bytes.ts';
import type { Action } from '../host/actions.ts';
import { parseUrl, type Url } from '../net/url.ts';
import { hostnameFqdn } from './hostname.ts';
import { isMapping } from './helpers.ts';
import { actionModule, type Schema } from './module.ts';

const POST_ALL = ['pub_key_rsa', 'pub_key_ecdsa', 'pub_key_ed25519', 'instance_id', 'hostname', 'fqdn'];
const PUB_KEYS: Record<string, string> = {
  pub_key_rsa: '/etc/ssh/ssh_host_rsa_key.pub',
  pub_key_ecdsa: '/etc/ssh/ssh_host_ecdsa_key.pub',
  pub_key_ed25519: '/etc/ssh/ssh_host_ed25519_key.pub',
};
const DEFAULT_TRIES = 10;
const SECONDS_BETWEEN = 3;
const TIMEOUT_MS = 30_000;

/** The URL for the log: without its query, which may carry a token. */
function shown(url: Url): string {
  return url.href.slice(0, url.href.length - url.search.length);
}

/** application/x-www-form-urlencoded, byte for byte as URLSearchParams (and Python's urlencode) writes it. */
function formEncode(pairs: Array<[string, string]>): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');
  return pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
}

const SCHEMA: Schema = {
  type: 'object',
  required: ['url'],
  additionalProperties: false,
  properties: {
    url: { type: 'string', description: 'where to POST; $INSTANCE_ID is replaced' },
    post: {
      oneOf: [{ enum: ['all'] }, { type: 'array', items: { enum: POST_ALL } }],
      description: `'all' (default) or a list of: ${POST_ALL.join(', ')}`,
    },
    tries: { type: 'integer', minimum: 1, description: `attempts (default ${DEFAULT_TRIES})` },
  },
};

interface PhoneHome { url: string; tries: number; wanted: string[] }

export const phoneHome = actionModule<PhoneHome>({
  name: 'phone_home',
  stage: 'final',
  frequency: 'per-instance',
  keys: ['phone_home'],
  schema: { phone_home: SCHEMA },
  check(config, report) {
    const cfg = config['phone_home'];
    if (!isMapping(cfg)) { report('error', "phone_home: must be a mapping with a url"); return null; }
    if (typeof cfg['url'] !== 'string' || !cfg['url']) { report('warning', "no 'url' in phone_home: nothing posted"); return null; }
    let tries = Number(cfg['tries'] ?? NaN);
    if (!Number.isInteger(tries) || tries < 1) {
      if (cfg['tries'] !== undefined) report('warning', `phone_home.tries is not a positive integer: using ${DEFAULT_TRIES}`);
      tries = DEFAULT_TRIES;
    }
    const wanted = cfg['post'] === undefined || cfg['post'] === 'all' ? POST_ALL : cfg['post'];
    if (!Array.isArray(wanted)) { report('error', "phone_home.post: must be 'all' or a list of keys"); return null; }
    return { url: cfg['url'], tries, wanted: wanted.map(String) };
  },
  actions({ url: given, tries, wanted }, run): Action[] {
    const { files, report, instanceId, source, where } = run;
    // cloud-init's cloud.get_hostname(): the datasource's names, not the config's.
    const ds = hostnameFqdn(run, {}, source);
    const all: Record<string, string> = { instance_id: instanceId, hostname: ds.hostname, fqdn: ds.fqdn };
    for (const [key, path] of Object.entries(PUB_KEYS)) {
      if (!wanted.includes(key)) continue;
      // Stage init's ssh makes the host keys, after plan looked: a missing one is a fact of the boot.
      const text = files.readIfExists(path) ?? run.bootFact?.(() => files.readIfExists(path)) ?? null;
      if (text !== null) all[key] = asText(text);
      else if (!run.planning) report('warning', `${path}: missing, cannot phone home ${key}`);
    }
    const form: Array<[string, string]> = [];
    for (const key of wanted) {
      if (!(key in all) && !(key in PUB_KEYS)) report('warning', `requested key '${key}' is not available`);
      form.push([key, all[key] ?? 'N/A']);
    }
    let url: Url;
    try { url = parseUrl(given.replace(/\$\{?INSTANCE_ID\}?/g, encodeURIComponent(instanceId))); } catch (e) {
      report('error', `phone_home.url: invalid url '${given}': ${(e as Error).message}`);
      return [];
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') { report('error', `phone_home.url: unsupported url scheme ${url.protocol} (http or https)`); return []; }
    return [{
      kind: 'fetch', method: 'POST', url: url.href, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: formEncode(form),
      // Tried `tries` times, SECONDS_BETWEEN apart, on any failure or answer other than 2xx (net/fetch.ts's policy).
      maxBytes: 1 << 20, retries: tries - 1, pauseMs: SECONDS_BETWEEN * 1000, timeoutMs: TIMEOUT_MS, why: `post ${wanted.length} key(s)`,
      then: (result): Action[] => ('body' in result
        ? [{ kind: 'log', text: `${where}: posted ${wanted.length} key(s) to ${shown(url)}` }]
        : [{ kind: 'report', level: 'warning', message: `failed to post to ${shown(url)} in ${tries} tries: ${result.error}` }]),
    }];
  },
});
