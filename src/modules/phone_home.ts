// phone_home (cloud-init's cc_phone_home): POST the instance id, host names
// and the host's ssh public keys, form-encoded, to `url` ($INSTANCE_ID in the
// url is replaced), trying `tries` times (default 10) three seconds apart.
// https is verified against the root's CA bundle; redirects are not followed.
import { asText } from '../bytes.ts';
import type { Context } from '../context.ts';
import { fetchWithRetries } from '../net/fetch.ts';
import { rootCaBundle } from '../net/http.ts';
import { parseUrl, type Url } from '../net/url.ts';
import { hostnameFqdn } from './hostname.ts';
import type { Module, Schema } from './module.ts';

const POST_ALL = ['pub_key_rsa', 'pub_key_ecdsa', 'pub_key_ed25519', 'instance_id', 'hostname', 'fqdn'];
const PUB_KEYS: Record<string, string> = {
  pub_key_rsa: '/etc/ssh/ssh_host_rsa_key.pub',
  pub_key_ecdsa: '/etc/ssh/ssh_host_ecdsa_key.pub',
  pub_key_ed25519: '/etc/ssh/ssh_host_ed25519_key.pub',
};
const DEFAULT_TRIES = 10;
const SECONDS_BETWEEN = 3;
const TIMEOUT_MS = 30_000;

/** One POST; resolves with the status code, rejects on a network error or timeout. */
/** POST the form, tried `tries` times SECONDS_BETWEEN apart on any failure (net/fetch.ts's policy); the answer and the try that got it. */
async function post(ctx: Context, url: Url, body: string, tries: number): Promise<{ status: number; attempt: number }> {
  let attempt = 0;
  const res = await fetchWithRetries(url.href, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body,
    timeoutMs: TIMEOUT_MS,
    maxBytes: 1 << 20,
    ca: rootCaBundle((p) => ctx.files.readIfExists(p)),
    retries: tries - 1,
    pause: { fixedMs: SECONDS_BETWEEN * 1000 },
    retryStatus: (code) => code < 200 || code >= 300,
    retryFailure: () => true,
    eachAttempt: () => { attempt++; return {}; },
  });
  return { status: res.status, attempt };
}

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

export const phoneHome: Module = {
  name: 'phone_home',
  stage: 'final',
  frequency: 'per-instance',
  keys: ['phone_home'],
  schema: { phone_home: SCHEMA },
  describe: ({ config }) => {
    const ph = config['phone_home'] as Record<string, unknown> | null;
    return [`POST ${Array.isArray(ph?.['post']) ? (ph['post'] as unknown[]).join(', ') : 'all keys'} to ${String(ph?.['url'])}`];
  },
  async run({ ctx, config, source, instanceId, where }) {
    const ph = config['phone_home'];
    if (typeof ph !== 'object' || ph === null || Array.isArray(ph)) throw new Error("'phone_home' must be a mapping with a url");
    const cfg = ph as Record<string, unknown>;
    if (typeof cfg['url'] !== 'string' || !cfg['url']) { ctx.report('warning', where, "no 'url' in phone_home: nothing posted"); return; }
    let tries = Number(cfg['tries'] ?? NaN);
    if (!Number.isInteger(tries) || tries < 1) {
      if (cfg['tries'] !== undefined) ctx.report('warning', where, `'tries' is not a positive integer: using ${DEFAULT_TRIES}`);
      tries = DEFAULT_TRIES;
    }
    const wanted = cfg['post'] === undefined || cfg['post'] === 'all' ? POST_ALL : cfg['post'];
    if (!Array.isArray(wanted)) throw new Error("'post' must be 'all' or a list of keys");
    // cloud-init's cloud.get_hostname(): the datasource's names, not the config's.
    const ds = hostnameFqdn(ctx, {}, source);
    const all: Record<string, string> = { instance_id: instanceId, hostname: ds.hostname, fqdn: ds.fqdn };
    for (const [key, path] of Object.entries(PUB_KEYS)) {
      if (!wanted.includes(key)) continue;
      const text = ctx.files.readIfExists(path);
      if (text === null) ctx.report('warning', where, `${path}: missing, cannot phone home ${key}`);
      else all[key] = asText(text);
    }
    const form: Array<[string, string]> = [];
    for (const key of wanted.map(String)) {
      if (!(key in all) && !(key in PUB_KEYS)) ctx.report('warning', where, `requested key '${key}' is not available`);
      form.push([key, all[key] ?? 'N/A']);
    }
    let url: Url;
    try { url = parseUrl(cfg['url'].replace(/\$\{?INSTANCE_ID\}?/g, encodeURIComponent(instanceId))); } catch (e) {
      throw new Error(`invalid url '${cfg['url']}': ${(e as Error).message}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported url scheme ${url.protocol} (http or https)`);
    let last: string;
    try {
      const { status, attempt } = await post(ctx, url, formEncode(form), tries);
      if (status >= 200 && status < 300) { ctx.log.info(`${where}: posted ${wanted.length} key(s) to ${shown(url)} (HTTP ${status}, try ${attempt})`); return; }
      last = `HTTP ${status}`;
    } catch (e) { last = (e as Error).message; }
    ctx.report('warning', where, `failed to post to ${shown(url)} in ${tries} tries: ${last}`);
  },
};
