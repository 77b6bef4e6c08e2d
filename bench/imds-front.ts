// The real metadata service serves the same tree under every dated API
// version (/2009-04-04/meta-data/…, /2021-03-23/user-data) as under /latest/.
// The test simulator knows only /latest/, and cloud-init asks for dated
// versions, so both agents talk to this small front that maps a dated prefix
// to /latest/ and passes everything else through unchanged (method, headers,
// body, status). Both pay the same extra loopback hop.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export async function startFront(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const to = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').replace(/^\/\d{4}-\d{2}-\d{2}(?=\/|$)/, '/latest');
    const up = http.request({ host: to.hostname, port: to.port, method: req.method, path, headers: req.headers, agent }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); agent.destroy(); server.close(() => resolve()); }),
  };
}
