// A stand-in for systemd-imdsd (systemd ≥ 261, which no Debian release here
// ships): its varlink interface io.systemd.InstanceMetadata on a unix socket
// (JSON messages ended by NUL), answering Get({key}) the way src/imds/imdsd.c
// does — the service's answer for <data URL><key> as base64 `data`, the error
// io.systemd.InstanceMetadata.KeyNotFound for a 404 — by asking the IMDS
// simulator with a client of its own (IMDSv2 token, User-Agent fake-imdsd),
// so a test can tell its requests from ec2-init's. Every call is recorded.
import { mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { dirname } from 'node:path';

export interface FakeImdsd {
  /** The keys of the Get calls, in order. */
  calls: string[];
  close(): Promise<void>;
}

export const FAKE_IMDSD_AGENT = 'fake-imdsd';

function ask(port: number, method: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: { 'User-Agent': FAKE_IMDSD_AGENT, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Listen at `socketPath`, serving Get from the IMDS simulator at 127.0.0.1:`port`. */
export async function startFakeImdsd(socketPath: string, port: number): Promise<FakeImdsd> {
  const calls: string[] = [];
  let token: string | null = null;
  const get = async (key: string): Promise<Record<string, unknown>> => {
    token ??= (await ask(port, 'PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '900' })).body.toString();
    const res = await ask(port, 'GET', `/latest${key}`, { 'X-aws-ec2-metadata-token': token });
    if (res.status === 200) return { parameters: { data: res.body.toString('base64') } };
    if (res.status === 404) return { error: 'io.systemd.InstanceMetadata.KeyNotFound', parameters: {} };
    return { error: 'io.systemd.InstanceMetadata.CommunicationFailure', parameters: {} };
  };
  const server = net.createServer((conn) => {
    let pending = Buffer.alloc(0);
    let queue = Promise.resolve();
    conn.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let at = pending.indexOf(0); at >= 0; at = pending.indexOf(0)) {
        const msg = pending.subarray(0, at).toString();
        pending = pending.subarray(at + 1);
        // One call at a time per connection, answered in order (as sd-varlink does).
        queue = queue.then(async () => {
          let reply: Record<string, unknown>;
          try {
            const { method, parameters } = JSON.parse(msg) as { method: string; parameters?: { key?: string } };
            if (method !== 'io.systemd.InstanceMetadata.Get') reply = { error: 'org.varlink.service.MethodNotFound', parameters: { method } };
            else {
              const key = parameters?.key ?? '';
              calls.push(key);
              reply = key.startsWith('/') ? await get(key) : { error: 'org.varlink.service.InvalidParameter', parameters: { parameter: 'key' } };
            }
          } catch {
            reply = { error: 'io.systemd.InstanceMetadata.CommunicationFailure', parameters: {} };
          }
          if (!conn.destroyed) conn.write(Buffer.concat([Buffer.from(JSON.stringify(reply)), Buffer.from([0])]));
        });
      }
    });
    conn.on('error', () => {});
  });
  mkdirSync(dirname(socketPath), { recursive: true });
  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(socketPath, resolve); });
  return {
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
