// phone_home (cloud-init's cc_phone_home): POST the instance id, host names
// and the host's ssh public keys, form-encoded, to `url` ($INSTANCE_ID in the
// url is replaced), trying `tries` times (default 10) three seconds apart.
// Uses node:http/https (a few ms to load; fetch costs ~25 ms).
import type { IncomingMessage } from 'node:http';
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
async function post(url: URL, body: string): Promise<number> {
  const mod = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = mod.request(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body), 'User-Agent': 'ec2-init' },
      timeout: TIMEOUT_MS,
    }, (res: IncomingMessage) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
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
      else all[key] = text.toString();
    }
    const form = new URLSearchParams();
    for (const key of wanted.map(String)) {
      if (!(key in all) && !(key in PUB_KEYS)) ctx.report('warning', where, `requested key '${key}' is not available`);
      form.append(key, all[key] ?? 'N/A');
    }
    let url: URL;
    try { url = new URL(cfg['url'].replace(/\$\{?INSTANCE_ID\}?/g, encodeURIComponent(instanceId))); } catch {
      throw new Error(`invalid url '${cfg['url']}'`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported url scheme ${url.protocol} (http or https)`);
    let last = '';
    for (let attempt = 1; attempt <= tries; attempt++) {
      try {
        const code = await post(url, form.toString());
        if (code >= 200 && code < 300) { ctx.log.info(`${where}: posted ${wanted.length} key(s) to ${url.origin}${url.pathname} (HTTP ${code}, try ${attempt})`); return; }
        last = `HTTP ${code}`;
      } catch (e) { last = (e as Error).message; }
      if (attempt < tries) await new Promise((r) => setTimeout(r, SECONDS_BETWEEN * 1000));
    }
    ctx.report('warning', where, `failed to post to ${url.origin}${url.pathname} in ${tries} tries: ${last}`);
  },
};
