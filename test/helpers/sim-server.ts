// The HTTP server under the cloud simulators (akamai-, aliyun-, cloudstack-,
// exoscale-, scaleway-, upcloud-simulator.ts): it listens on a loopback
// address (127.0.0.1 and port 0 unless told), records every request with its
// headers and the client's source port, and answers what the simulator's
// handler says — or the failure a test asks for first (failFirst answers
// 503, hang never answers, drop closes the connection).
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface SimRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** Lower-case names, as node parses them. */
  headers: http.IncomingHttpHeaders;
  /** The client's source port (Scaleway's privileged-port rule). */
  remotePort: number;
  body: string;
  /** Date.now() on arrival. */
  at: number;
  /** The status answered (unset for hung or dropped requests). */
  status?: number;
}

export interface SimAnswer { status: number; body?: string | Buffer; type?: string; headers?: Record<string, string> }

export interface SimFailures {
  /** Answer the first n requests (that `failWhich` picks, default all) with 503. */
  failFirst?: number;
  failWhich?: (req: SimRequest) => boolean;
  failStatus?: number;
  /** Never answer these (the client must time out). */
  hang?: (req: SimRequest) => boolean;
  /** Close the connection without an answer. */
  drop?: (req: SimRequest) => boolean;
  /** Answer these with this instead (undefined: the normal answer). */
  override?: (req: SimRequest) => SimAnswer | undefined;
}

export interface SimServer {
  /** http://HOST:PORT (IPv6 hosts in brackets). */
  url: string;
  host: string;
  port: number;
  requests: SimRequest[];
  close(): Promise<void>;
}

export async function startSimServer(handle: (req: SimRequest) => SimAnswer, failures: () => SimFailures, listen: { host?: string; port?: number } = {}): Promise<SimServer> {
  const requests: SimRequest[] = [];
  const sockets = new Set<Socket>();
  let failed = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: SimRequest = {
        method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers,
        remotePort: req.socket.remotePort ?? 0, body: Buffer.concat(chunks).toString('utf8'), at: Date.now(),
      };
      requests.push(r);
      const f = failures();
      if (f.hang?.(r)) return;
      if (f.drop?.(r)) { req.socket.destroy(); return; }
      let a: SimAnswer;
      if (f.failFirst && failed < f.failFirst && (f.failWhich?.(r) ?? true)) { failed++; a = { status: f.failStatus ?? 503, body: 'Service Unavailable' }; }
      else a = f.override?.(r) ?? handle(r);
      r.status = a.status;
      res.writeHead(a.status, { 'content-type': a.type ?? 'text/plain; charset=utf-8', ...a.headers });
      res.end(a.body ?? '');
    });
  });
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  const host = listen.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, host, () => { server.off('error', reject); resolve(); });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    host,
    port,
    requests,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** A JSON answer. */
export const json = (v: unknown, status = 200): SimAnswer => ({ status, body: JSON.stringify(v), type: 'application/json' });
export const notFound: SimAnswer = { status: 404, body: '404 Not Found' };
