// Akamai's (Linode's) Metadata service for tests, as Akamai's "Use the
// Metadata service API" documents it and cloud-init's test_akamai.py shows
// it, on 127.0.0.1 (and, for the IPv6 endpoint, a second one on ::1):
//
//   PUT /v1/token      needs Metadata-Token-Expiry-Seconds (1..86400) → a token, text/plain
//   GET /v1/instance   needs Metadata-Token; JSON with Accept: application/json, else "key: value" lines
//   GET /v1/network    likewise
//   GET /v1/ssh-keys   likewise ({users: {root: [keys]}})
//   GET /v1/user-data  needs Metadata-Token; the user-data, base64 (404 when there is none)
//
// A GET without a valid token is 401; a token PUT without the expiry header is
// 400; another method is 405. Tokens expire (tests call expireTokens()).
// Every request is recorded.
import { randomBytes } from 'node:crypto';
import { json, notFound, serveMetadata, type Answer, type Faults, type SimRequest } from './metadata-server.ts';

export interface AkamaiOptions extends Faults {
  /** The IPv4 endpoint's address and port (default 127.0.0.1, any free port); the IPv6 one is [::1] on the same port. */
  listen?: { host?: string; port?: number };
  instance?: Record<string, unknown>;
  /** user-data as the user gave it (the service serves it base64); null: none (404). */
  userData?: string | null;
  /** Served raw, not base64 (a broken service). */
  userDataRaw?: string;
  sshKeys?: Record<string, string[]> | null;
  /** Answer the token request with this status (the service refusing). */
  tokenStatus?: number;
}

export interface AkamaiSimulator {
  url: string;
  /** The same service on [::1] (the IPv6 endpoint of a test). */
  url6: string;
  requests: SimRequest[];
  requests6: SimRequest[];
  tokens: string[];
  expireTokens(): void;
  options: AkamaiOptions;
  close(): Promise<void>;
}

export const AKAMAI_INSTANCE = {
  id: 51515151,
  host_uuid: '4b4e2c1a9f3d4e6f8a7b6c5d4e3f2a1b0c9d8e7f',
  label: 'linode51515151',
  region: 'us-ord',
  type: 'g6-nanode-1',
  specs: { vcpus: 1, memory: 1024, gpus: 0, transfer: 1000, disk: 25600 },
  backups: { enabled: false, status: null },
  tags: ['web'],
  image: { id: 'linode/debian12', label: 'Debian 12' },
};

export const AKAMAI_NETWORK = {
  interfaces: [{ label: null, purpose: 'public', ipam_address: null }],
  ipv4: { public: ['172.232.10.20/32'], private: [], shared: [] },
  ipv6: { slaac: '2600:3c06::f03c:94ff:fe11:2233/128', ranges: [], link_local: 'fe80::f03c:94ff:fe11:2233/128', shared_ranges: [] },
};

export const AKAMAI_KEYS = { root: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK8Zs4r5W6x1p2Q9mN3b4V5c6D7e8F9g0H1i2J3k4L5m akamai@test'] };

/** The plain-text form of an object: "key: value" lines (nested keys joined by '.'). */
function plain(v: unknown, prefix = ''): string {
  if (v && typeof v === 'object' && !Array.isArray(v)) return Object.entries(v).map(([k, x]) => plain(x, prefix ? `${prefix}.${k}` : k)).join('');
  return `${prefix}: ${Array.isArray(v) ? v.join(' ') : String(v)}\n`;
}

export async function startAkamaiSimulator(options: AkamaiOptions = {}): Promise<AkamaiSimulator> {
  const tokens: string[] = [];
  const valid = new Set<string>();
  const handle = (req: SimRequest): Answer => {
    const path = req.path.split('?')[0]!;
    if (path === '/v1/token') {
      if (req.method !== 'PUT') return { status: 405, body: 'Method Not Allowed' };
      const ttl = Number(req.headers['metadata-token-expiry-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86400) return { status: 400, body: 'Metadata-Token-Expiry-Seconds header required (1-86400)' };
      if (options.tokenStatus) return { status: options.tokenStatus, body: 'Forbidden' };
      const t = randomBytes(32).toString('hex');
      tokens.push(t);
      valid.add(t);
      return { status: 200, body: t };
    }
    if (!['/v1/instance', '/v1/network', '/v1/ssh-keys', '/v1/user-data'].includes(path)) return notFound;
    if (req.method !== 'GET') return { status: 405, body: 'Method Not Allowed' };
    const token = req.headers['metadata-token'];
    if (typeof token !== 'string' || !valid.has(token)) return { status: 401, body: 'Unauthorized' };
    const wantsJson = /application\/json/.test(String(req.headers['accept'] ?? ''));
    const doc = (v: unknown): Answer => (wantsJson ? json(v) : { status: 200, body: plain(v) });
    switch (path) {
      case '/v1/instance': return doc(options.instance ?? AKAMAI_INSTANCE);
      case '/v1/network': return doc(AKAMAI_NETWORK);
      case '/v1/ssh-keys': return options.sshKeys === null ? notFound : doc({ users: options.sshKeys ?? AKAMAI_KEYS });
      default: {
        if (options.userDataRaw !== undefined) return { status: 200, body: options.userDataRaw };
        const ud = options.userData ?? null;
        return ud === null ? notFound : { status: 200, body: Buffer.from(ud).toString('base64') };
      }
    }
  };
  const v4 = await serveMetadata(handle, options, options.listen);
  const v6 = await serveMetadata(handle, options, { host: '::1', port: options.listen?.port ?? 0 });
  return {
    url: v4.url, url6: v6.url, requests: v4.requests, requests6: v6.requests, tokens, options,
    expireTokens: () => valid.clear(),
    close: async () => { await v4.close(); await v6.close(); },
  };
}
