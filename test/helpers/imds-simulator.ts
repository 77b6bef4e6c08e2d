// A real EC2 instance metadata service (IMDS) for tests: an HTTP server on
// 127.0.0.1 (port 0) serving the amazon-ec2-metadata-mock default tree
// (../shared/conformance/ec2-metadata-mock/) the way IMDS does: listings with
// "dir/" entries, public-keys as "0=name", IMDSv2 tokens with a TTL, and the
// failure modes a datasource must survive. Every request is recorded.
//
//   const sim = await startImdsSimulator({ mode: 'required' });
//   … readEc2({ metadataUrls: [sim.url], … }) …
//   sim.requests  // [{ method, path, headers, at }]
//   await sim.close();
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/** Where the conformance tree lives, relative to the repository (../shared/…). */
export const MOCK_FILE = fileURLToPath(new URL(
  '../../../shared/conformance/ec2-metadata-mock/aemm-metadata-default-values.json', import.meta.url));

/** Why tests skip: the conformance tree is absent (undefined when present). */
export const SKIP_REASON: string | undefined = existsSync(MOCK_FILE)
  ? undefined : `IMDS conformance tree not found at ${MOCK_FILE} (../shared/conformance/ec2-metadata-mock/)`;

export interface ImdsRequest {
  method: string;
  path: string;
  /** Lower-case header names, as node parses them. */
  headers: http.IncomingHttpHeaders;
  /** Date.now() when it arrived. */
  at: number;
  /** The status answered (unset while pending, and for dropped or unanswered requests). */
  status?: number;
}

/**
 * optional: tokens offered, not required (an invalid or expired token is still 401);
 * required: 401 without a valid token (HttpTokens=required);
 * v1-only: no token endpoint (answers v1OnlyStatus), token headers ignored;
 * disabled: 403 to everything (HttpEndpoint=disabled).
 */
export type ImdsMode = 'optional' | 'required' | 'v1-only' | 'disabled';

export interface ImdsSimulatorOptions {
  mode?: ImdsMode;
  /** What the token endpoint answers in v1-only mode (default 404). */
  v1OnlyStatus?: 403 | 404 | 405;
  /** Answer the first `failFirst` requests with `failStatus` (default 503); 429 = throttled. */
  failFirst?: number;
  failStatus?: number;
  /** Wait this long before answering (ms), for every request or per request. */
  delayMs?: number | ((req: ImdsRequest) => number);
  /** Never answer these requests (the client must time out): e.g. token PUTs lost to a hop limit. */
  hang?: (req: ImdsRequest) => boolean;
  /** Close the connection without answering these requests. */
  drop?: (req: ImdsRequest) => boolean;
  /** Answer these requests with this status and body instead (undefined: normal answer). */
  override?: (req: ImdsRequest) => { status: number; body?: string | Buffer } | undefined;
  /** user-data bytes; null = none (404). Default: the mock's (base64-decoded). */
  userData?: string | Buffer | null;
  /** Extra or replaced meta-data leaves ('placement/region' → value); null removes. */
  metaData?: Record<string, string | null>;
  /** Key pair names in the public-keys listing ("0=name"); default ec2-init-test, then key-N. */
  keyNames?: string[];
  /** The clock for token expiry (ms). Default Date.now. */
  now?: () => number;
}

export interface ImdsSimulator {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Every request, in arrival order. */
  requests: ImdsRequest[];
  /** Options in force; change them between reads. */
  options: ImdsSimulatorOptions;
  /** Tokens issued, in order (for asserting which one each GET carried). */
  tokens: string[];
  /** Forget every token issued (as if their TTL ran out). */
  expireTokens(): void;
  /** The meta-data paths a complete walk would fetch, listings included ('meta-data/', …). */
  metaDataPaths(): string[];
  /** Stop listening (and drop open connections): from now on connections to `url` are refused. */
  refuse(): Promise<void>;
  close(): Promise<void>;
}

interface Dir { [name: string]: Dir | Buffer }

interface MockJson { [section: string]: { paths: Record<string, string>; values: Record<string, unknown> } }

/** The mock's tree: path under /latest/ → leaf text, and the user-data. Null when the file is absent. */
export function loadMockTree(): { leaves: Map<string, Buffer>; userData: Buffer } | null {
  if (SKIP_REASON) return null;
  const mock = JSON.parse(readFileSync(MOCK_FILE, 'utf8')) as MockJson;
  const all = new Map<string, Buffer>();
  for (const section of ['metadata', 'dynamic']) {
    const { paths, values } = mock[section]!;
    for (const [key, path] of Object.entries(paths)) {
      const v = values[key];
      if (v === null || v === undefined) continue; // absent unless an event is scheduled
      all.set(path.replace(/^\/latest\//, ''), Buffer.from(typeof v === 'string' ? v : JSON.stringify(v, null, 2)));
    }
  }
  // A path that is also a prefix of others is a directory: its listing is generated.
  const leaves = new Map([...all].filter(([p]) => ![...all.keys()].some((q) => q.startsWith(p + '/'))));
  const ud = Object.values(mock['userdata']!.values)[0];
  return { leaves, userData: Buffer.from(typeof ud === 'string' ? ud : '', 'base64') };
}

const NOT_FOUND = `<?xml version="1.0" encoding="iso-8859-1"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html><head><title>404 - Not Found</title></head><body><h1>404 - Not Found</h1></body></html>
`;

export async function startImdsSimulator(options: ImdsSimulatorOptions = {}): Promise<ImdsSimulator> {
  const mock = loadMockTree();
  if (!mock) throw new Error(SKIP_REASON);
  const tokens = new Map<string, number>(); // token → expiry (ms, options.now clock)
  const issued: string[] = [];
  const requests: ImdsRequest[] = [];
  const sockets = new Set<Socket>();
  const now = (): number => (options.now ?? Date.now)();

  const tree = (): Dir => {
    const leaves = new Map(mock.leaves);
    for (const [p, v] of Object.entries(options.metaData ?? {})) {
      if (v === null) leaves.delete(`meta-data/${p}`); else leaves.set(`meta-data/${p}`, Buffer.from(v));
    }
    const userData = options.userData === undefined ? mock.userData : options.userData;
    const root: Dir = {};
    for (const [path, value] of leaves) {
      const parts = path.split('/');
      let dir = root;
      for (const part of parts.slice(0, -1)) dir = (dir[part] ??= {}) as Dir;
      dir[parts.at(-1)!] = value;
    }
    if (userData !== null) root['user-data'] = Buffer.from(userData);
    return root;
  };

  const answer = (req: ImdsRequest): { status: number; body: string | Buffer; headers?: Record<string, string> } => {
    const o = options;
    if (o.failFirst && requests.length <= o.failFirst) return { status: o.failStatus ?? 503, body: '' };
    const custom = o.override?.(req);
    if (custom) return { status: custom.status, body: custom.body ?? '' };
    const mode = o.mode ?? 'optional';
    if (mode === 'disabled') return { status: 403, body: '' };
    const path = req.path.split('?')[0]!.replace(/\/+$/, '');
    if (path === '/latest/api/token') {
      if (mode === 'v1-only') return { status: o.v1OnlyStatus ?? 404, body: NOT_FOUND };
      if (req.method !== 'PUT') return { status: 405, body: '' };
      if (req.headers['x-forwarded-for']) return { status: 403, body: '' };
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return { status: 400, body: '' };
      const token = randomBytes(24).toString('base64');
      tokens.set(token, now() + ttl * 1000);
      issued.push(token);
      return { status: 200, body: token, headers: { 'X-Aws-Ec2-Metadata-Token-Ttl-Seconds': String(ttl) } };
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return { status: 405, body: '' };
    if (mode !== 'v1-only') {
      const token = req.headers['x-aws-ec2-metadata-token'];
      if (typeof token === 'string') {
        const expiry = tokens.get(token);
        if (expiry === undefined || expiry <= now()) return { status: 401, body: '' };
      } else if (mode === 'required') return { status: 401, body: '' };
    }
    if (path === '') return { status: 200, body: 'latest' };
    if (!path.startsWith('/latest')) return { status: 404, body: NOT_FOUND };
    let node: Dir | Buffer = tree();
    const parts = path.slice('/latest'.length).split('/').filter(Boolean);
    for (const part of parts) {
      const next: Dir | Buffer | undefined = Buffer.isBuffer(node) || !Object.hasOwn(node, part) ? undefined : node[part];
      if (next === undefined) return { status: 404, body: NOT_FOUND };
      node = next;
    }
    if (Buffer.isBuffer(node)) return { status: 200, body: node };
    const names = Object.keys(node);
    const listing = parts.join('/') === 'meta-data/public-keys'
      ? names.map((n) => `${n}=${(o.keyNames ?? ['ec2-init-test'])[Number(n)] ?? `key-${n}`}`)
      : names.map((n) => (Buffer.isBuffer((node as Dir)[n]) ? n : `${n}/`));
    return { status: 200, body: listing.join('\n') };
  };

  const server = http.createServer((req, res) => {
    const record: ImdsRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, at: Date.now() };
    requests.push(record);
    req.resume();
    if (options.drop?.(record)) { req.socket.destroy(); return; }
    if (options.hang?.(record)) return; // never answered; close() ends it
    const a = answer(record);
    const send = (): void => {
      if (res.destroyed) return;
      record.status = a.status;
      const body = typeof a.body === 'string' ? Buffer.from(a.body) : a.body;
      res.writeHead(a.status, {
        'Content-Type': a.status === 404 ? 'text/html' : 'text/plain',
        'Content-Length': String(body.length),
        Server: 'EC2ws',
        ...a.headers,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const d = options.delayMs;
    const ms = typeof d === 'function' ? d(record) : d ?? 0;
    if (ms > 0) setTimeout(send, ms); else send();
  });
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | null = null;
  function stop(): Promise<void> {
    closed ??= new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
    return closed;
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    options,
    tokens: issued,
    expireTokens: () => tokens.clear(),
    metaDataPaths: () => {
      const out: string[] = [];
      const visit = (dir: Dir, prefix: string): void => {
        out.push(prefix);
        for (const [name, v] of Object.entries(dir)) {
          if (Buffer.isBuffer(v)) out.push(prefix + name);
          else if (prefix === 'meta-data/public-keys/') out.push(`${prefix}${name}/openssh-key`);
          else visit(v, `${prefix}${name}/`);
        }
      };
      visit(tree()['meta-data'] as Dir, 'meta-data/');
      return out;
    },
    refuse: stop,
    close: stop,
  };
}

/** A 127.0.0.1 URL where nothing listens: connections are refused. */
export async function refusedUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
