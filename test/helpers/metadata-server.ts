// The HTTP part every cloud's metadata simulator shares (gce-, oracle-,
// digitalocean-, hetzner-, vultr-, akamai-, aliyun-, cloudstack-, exoscale-,
// scaleway-, upcloud-simulator.ts): a real server on 127.0.0.1
// (port 0, or a given address and port, such as 169.254.169.254:80 inside a
// network namespace), every request recorded with its headers and the
// status answered, and the failure modes a datasource must survive — the
// first requests failing (503 by default), answers delayed, requests never
// answered, connections dropped. The cloud's own rules (paths, headers,
// tokens, shapes) are the handler's.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface SimRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** Lower-case names, as node parses them. */
  headers: http.IncomingHttpHeaders;
  /** Date.now() when it arrived. */
  at: number;
  /** The client's source port (Scaleway's service answers user-data only to one below 1024). */
  remotePort: number;
  /** The status answered (unset for dropped or unanswered requests). */
  status?: number;
}

export interface Answer {
  status: number;
  body?: string | Buffer;
  headers?: Record<string, string>;
}

export interface Faults {
  /** Answer the first `failFirst` requests with `failStatus` (default 503). */
  failFirst?: number;
  failStatus?: number;
  /** Wait this long before answering (ms), for every request or per request. */
  delayMs?: number | ((req: SimRequest) => number);
  /** Never answer these requests (the client must time out). */
  hang?: (req: SimRequest) => boolean;
  /** Close the connection without answering these requests. */
  drop?: (req: SimRequest) => boolean;
  /** Answer these requests with this instead (undefined: the cloud's answer). */
  override?: (req: SimRequest) => Answer | undefined;
  /** Told of every request once it is answered (a simulator in another process logs them to a file). */
  onAnswered?: (req: SimRequest) => void;
}

export interface MetadataServer {
  /** http://127.0.0.1:PORT (or the address listened on). */
  url: string;
  port: number;
  requests: SimRequest[];
  close(): Promise<void>;
}

export async function serveMetadata(handler: (req: SimRequest) => Answer, faults: Faults = {}, listen: { host?: string; port?: number } = {}): Promise<MetadataServer> {
  const requests: SimRequest[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const r: SimRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, at: Date.now(), remotePort: req.socket.remotePort ?? 0 };
    requests.push(r);
    req.resume();
    req.on('end', () => {
      if (faults.drop?.(r)) { req.socket.destroy(); return; }
      if (faults.hang?.(r)) return;
      const failing = faults.failFirst !== undefined && requests.indexOf(r) < faults.failFirst;
      const answer = failing ? { status: faults.failStatus ?? 503, body: 'Service Unavailable\n' } : faults.override?.(r) ?? handler(r);
      const send = () => {
        r.status = answer.status;
        res.writeHead(answer.status, { 'content-type': 'text/plain; charset=utf-8', ...answer.headers });
        res.end(answer.body ?? '');
        faults.onAnswered?.(r);
      };
      const delay = typeof faults.delayMs === 'function' ? faults.delayMs(r) : faults.delayMs ?? 0;
      if (delay > 0) setTimeout(send, delay); else send();
    });
  });
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  const host = listen.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(listen.port ?? 0, host, resolve); });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}${port === 80 ? '' : `:${port}`}`,
    port,
    requests,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** A JSON answer. */
export const json = (v: unknown, status = 200): Answer => ({ status, body: JSON.stringify(v), headers: { 'content-type': 'application/json' } });
export const notFound: Answer = { status: 404, body: '404 Not Found\n' };
