// GitHub's and Launchpad's key services, as the ssh-import-id seed of the
// compare test needs them: one HTTPS server of this process on a unix socket,
// with a certificate for api.github.com and launchpad.net signed by a
// throw-away CA made here with openssl. Each sandbox of the seed (sandbox.ts)
// brings its loopback up, maps both names to 127.0.0.1 and passes port 443 to
// the socket with socat; both copies trust the CA (their CA bundle is the
// test CA alone) and map the names in their /etc/hosts, for cloud-init's
// chroot. No packet leaves the namespace.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Placed } from './sandbox.ts';

export const HOSTS = '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\tapi.github.com launchpad.net\n';

/** What the sandbox needs to reach the services (sandbox.ts's boot option). */
export interface Reach { socket: string; hosts: string }

export interface KeyServices {
  /** Starts the server (once); the paths the sandboxes use. */
  start(): Promise<Reach>;
  /** The files both copies get: the CA bundle and /etc/hosts. */
  files(): Placed[];
  /** Every request served, "host path". */
  requests: string[];
  close(): void;
}

/** GitHub's API answers `github` (user → [id, key]); Launchpad's +sshkeys answers `launchpad` (user → lines). */
export function keyServices(github: Record<string, [number, string][]>, launchpad: Record<string, string[]>): KeyServices {
  let dir: string | null = null;
  let server: Server | null = null;
  let started: Promise<Reach> | null = null;
  let ca = '';
  const requests: string[] = [];

  function makeCerts(): string {
    const d = mkdtempSync(join(tmpdir(), 'ec2-init-compare-keys-'));
    const o = (args: string[]) => {
      const r = spawnSync('openssl', args, { encoding: 'utf8', cwd: d });
      if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
    };
    o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2',
      '-subj', '/CN=ec2-init compare CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
    o(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=api.github.com']);
    writeFileSync(join(d, 'ext'), 'subjectAltName=DNS:api.github.com,DNS:launchpad.net\nextendedKeyUsage=serverAuth\n');
    o(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.crt', '-days', '2', '-extfile', 'ext']);
    ca = readFileSync(join(d, 'ca.crt'), 'utf8');
    return d;
  }

  return {
    requests,
    files() {
      dir ??= makeCerts();
      return [
        { path: '/etc/ssl/certs/ca-certificates.crt', content: ca, mode: 0o644 },
        { path: '/etc/hosts', content: HOSTS, mode: 0o644 },
      ];
    },
    start() {
      started ??= new Promise((resolve, reject) => {
        dir ??= makeCerts();
        const d = dir;
        const srv = createServer({ key: readFileSync(join(d, 'srv.key')), cert: readFileSync(join(d, 'srv.crt')) }, (req, res) => {
          requests.push(`${req.headers.host} ${req.url}`);
          const gh = /^\/users\/([^/]+)\/keys$/.exec(req.url ?? '');
          const lp = /^\/~([^/]+)\/\+sshkeys$/.exec(req.url ?? '');
          if (req.headers.host === 'api.github.com' && gh && github[gh[1]!]) {
            res.setHeader('content-type', 'application/json; charset=utf-8');
            res.end(JSON.stringify(github[gh[1]!]!.map(([id, key]) => ({ id, key }))));
          } else if (req.headers.host === 'launchpad.net' && lp && launchpad[lp[1]!]) {
            res.setHeader('content-type', 'text/plain');
            res.end(launchpad[lp[1]!]!.map((l) => `${l}\n`).join(''));
          } else {
            res.statusCode = 404;
            res.end('{"message":"Not Found"}');
          }
        });
        server = srv;
        const socket = join(d, 'tls.sock');
        const hosts = join(d, 'hosts');
        writeFileSync(hosts, HOSTS);
        srv.on('error', reject);
        srv.listen(socket, () => resolve({ socket, hosts }));
      });
      return started;
    },
    close() {
      server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
      server = null;
      dir = null;
      started = null;
    },
  };
}
