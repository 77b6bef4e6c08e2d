// Alibaba Cloud ECS's metadata service for tests, as Alibaba's "instance
// metadata" documentation and cloud-init's test_aliyun.py show it, on
// 127.0.0.1, in its security-hardening mode (tokens required):
//
//   PUT /latest/api/token             needs X-aliyun-ecs-metadata-token-ttl-seconds (1..21600) → a token
//   GET /2016-01-01/meta-data/all     needs X-aliyun-ecs-metadata-token; the meta-data as JSON
//   GET /2016-01-01/meta-data/…       the same meta-data as a tree (listings, "dir/" entries)
//   GET /2016-01-01/user-data         404 when there is none
//   GET /2016-01-01/vendor-data       likewise
//
// A GET without a valid token is 401 ('optional' mode: served anyway); the
// token PUT without its TTL header is 400; 'disabled' answers 403 to
// everything. Every request is recorded.
import { randomBytes } from 'node:crypto';
import { json, notFound, serveMetadata, type Answer, type Faults, type SimRequest } from './metadata-server.ts';

export interface AliyunOptions extends Faults {
  /** Where to listen (default 127.0.0.1, any free port). */
  listen?: { host?: string; port?: number };
  mode?: 'required' | 'optional' | 'disabled';
  metaData?: Record<string, unknown>;
  userData?: string | null;
  vendorData?: string | null;
  /** No meta-data/all (404): the client must walk the tree. */
  noAll?: boolean;
}

export interface AliyunSimulator {
  url: string;
  requests: SimRequest[];
  tokens: string[];
  expireTokens(): void;
  options: AliyunOptions;
  close(): Promise<void>;
}

/** The meta-data of cloud-init's test_aliyun.py (a VPC instance, one NIC), with a real-looking key. */
export const ALIYUN_META_DATA: Record<string, unknown> = {
  disks: { bp15spwwhlf8bbbn7xxx: { id: 'd-bp15spwwhlf8bbbn7xxx', name: '' } },
  'dns-conf': { nameservers: '100.100.2.136\r\n100.100.2.138' },
  hibernation: { configured: 'false' },
  instance: { 'instance-name': 'aliyun-test-vm-00', 'instance-type': 'ecs.g8i.large' },
  network: { interfaces: { macs: {
    '00:16:3e:14:59:58': { gateway: '172.16.101.253', netmask: '255.255.255.0', 'network-interface-id': 'eni-bp13i3ed90icgdgaxxxx' },
    '00:16:3e:14:59:59': { gateway: '172.16.102.253', netmask: '255.255.255.0', 'network-interface-id': 'eni-bp13i3ed90icgdgayyyy', ipv6s: '[2408:4005:39c:d000::1]' },
  } } },
  'ntp-conf': { 'ntp-servers': 'ntp1.aliyun.com\r\nntp1.cloud.aliyuncs.com' },
  'public-keys': { 0: { 'openssh-key': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE7x9yQ2h3j4k5l6m7n8o9p0q1r2s3t4u5v6w7x8y9z0 aliyun@test' } },
  eipv4: '121.66.77.88',
  hostname: 'aliyun-test-vm-00',
  'image-id': 'debian_12_x64_20G_alibase_20241016.vhd',
  'instance-id': 'i-bp15ojxppkmsnyjxxxxx',
  mac: '00:16:3e:14:59:58',
  'network-type': 'vpc',
  'owner-account-id': '123456',
  'private-ipv4': '172.16.101.222',
  'region-id': 'cn-hangzhou',
  'serial-number': '3ca05955-a892-46b3-a6fc-0123456789ab',
  'vpc-id': 'vpc-bp1uwvjta7txxxxxxx',
  'zone-id': 'cn-hangzhou-j',
};

/** The tree form: a listing for a mapping ("key/" for sub-mappings), the value for a leaf. */
function treeAt(md: unknown, parts: string[]): Answer {
  let node: unknown = md;
  for (const p of parts) {
    if (!node || typeof node !== 'object' || !(p in (node as object))) return notFound;
    node = (node as Record<string, unknown>)[p];
  }
  if (node && typeof node === 'object') {
    return { status: 200, body: Object.entries(node).map(([k, v]) => (v && typeof v === 'object' ? `${k}/` : k)).join('\n') };
  }
  return { status: 200, body: String(node) };
}

export async function startAliyunSimulator(options: AliyunOptions = {}): Promise<AliyunSimulator> {
  const tokens: string[] = [];
  const valid = new Set<string>();
  const handle = (req: SimRequest): Answer => {
    if (options.mode === 'disabled') return { status: 403, body: 'Forbidden' };
    const path = req.path.split('?')[0]!;
    if (path === '/latest/api/token') {
      if (req.method !== 'PUT') return { status: 405, body: 'Method Not Allowed' };
      const ttl = Number(req.headers['x-aliyun-ecs-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return { status: 400, body: 'Bad Request' };
      const t = randomBytes(24).toString('base64url');
      tokens.push(t);
      valid.add(t);
      return { status: 200, body: t };
    }
    if (req.method !== 'GET') return { status: 405, body: 'Method Not Allowed' };
    const token = req.headers['x-aliyun-ecs-metadata-token'];
    if ((options.mode ?? 'required') === 'required' && (typeof token !== 'string' || !valid.has(token))) return { status: 401, body: 'Unauthorized' };
    const md = options.metaData ?? ALIYUN_META_DATA;
    const m = /^\/2016-01-01\/(.*)$/.exec(path);
    if (!m) return notFound;
    const rest = m[1]!.replace(/\/+$/, '');
    if (rest === 'user-data' || rest === 'vendor-data') {
      const v = rest === 'user-data' ? options.userData : options.vendorData;
      return v === undefined || v === null ? notFound : { status: 200, body: v };
    }
    if (rest === 'meta-data/all') return options.noAll ? notFound : json(md);
    if (rest === 'meta-data') return treeAt(md, []);
    if (rest.startsWith('meta-data/')) return treeAt(md, rest.slice('meta-data/'.length).split('/'));
    return notFound;
  };
  const server = await serveMetadata(handle, options, options.listen);
  return { url: server.url, requests: server.requests, tokens, options, expireTokens: () => valid.clear(), close: server.close };
}
