// A devlxd server: LXD's guest API (/1.0, /1.0/meta-data, /1.0/config,
// /1.0/config/<key>, /1.0/devices) as a real Node HTTP server listening on a
// unix socket inside a test root, as lxd makes /dev/lxd/sock in an instance.
// It records every request, and can be told to fail a route a few times.
import { mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname } from 'node:path';

export interface DevLxdOptions {
  /** The text of /1.0/meta-data (YAML). */
  metaData: string;
  /** Config keys and their raw values (user.user-data, cloud-init.network-config, …). */
  config?: Record<string, string>;
  devices?: Record<string, unknown>;
  /** Answer this route with HTTP `status` the first `times` times. */
  fail?: { route: string; status: number; times: number };
  /** Extra routes listed under /1.0/config (hostile ones, for tests). */
  extraRoutes?: string[];
}

export interface DevLxd {
  /** Every request: method and path, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** Serve devlxd on the unix socket at `path` (a host path, usually <root>/dev/lxd/sock). */
export async function startDevLxd(path: string, o: DevLxdOptions): Promise<DevLxd> {
  const requests: string[] = [];
  let failures = 0;
  const config = o.config ?? {};
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '';
    requests.push(`${req.method} ${url}`);
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(body);
    };
    if (o.fail && url === o.fail.route && failures < o.fail.times) { failures++; return send(o.fail.status, 'simulated failure\n', 'text/plain'); }
    if (url === '/1.0') return send(200, JSON.stringify({ api_version: '1.0', location: 'host', instance_type: 'container', state: 'Started' }));
    if (url === '/1.0/meta-data') return send(200, o.metaData, 'text/plain');
    if (url === '/1.0/config') return send(200, JSON.stringify([...Object.keys(config).map((k) => `/1.0/config/${k}`), ...(o.extraRoutes ?? [])]));
    if (url.startsWith('/1.0/config/')) {
      const key = decodeURIComponent(url.slice('/1.0/config/'.length));
      if (Object.hasOwn(config, key)) return send(200, config[key]!, 'text/plain');
      return send(404, JSON.stringify({ error: 'not found' }));
    }
    if (url === '/1.0/devices') return send(200, JSON.stringify(o.devices ?? {}));
    send(404, JSON.stringify({ error: 'not found' }));
  });
  mkdirSync(dirname(path), { recursive: true });
  rmSync(path, { force: true });
  await new Promise<void>((ok, fail) => { server.once('error', fail); server.listen(path, ok); });
  return {
    requests,
    close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
