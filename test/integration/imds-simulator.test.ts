// The metadata-service simulator behaves like IMDS, checked with plain
// node:http requests (not the datasource's client).
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import {
  type ImdsSimulator, loadMockTree, refusedUrl, SKIP_REASON,
} from '../helpers/imds-simulator.ts';
import { simulator } from '../helpers/imds-per-test.ts';

const skip = SKIP_REASON ?? false;

interface Answer { status: number; body: string; headers: http.IncomingHttpHeaders }

function call(url: string, method = 'GET', headers: Record<string, string> = {}, timeoutMs = 2000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', reject);
    req.end();
  });
}


async function token(sim: ImdsSimulator, ttl = '21600'): Promise<string> {
  const a = await call(`${sim.url}/latest/api/token`, 'PUT', { 'X-aws-ec2-metadata-token-ttl-seconds': ttl });
  assert.equal(a.status, 200);
  return a.body;
}

test('serves the conformance tree: listings, leaves, JSON, public-keys, user-data, dynamic', { skip }, async () => {
  const sim = await simulator();
  assert.equal(sim.url, `http://127.0.0.1:${sim.port}`);
  const root = (await call(`${sim.url}/latest/meta-data/`)).body.split('\n');
  for (const entry of ['instance-id', 'local-hostname', 'placement/', 'public-keys/', 'network/', 'iam/']) assert.ok(root.includes(entry), entry);
  assert.equal((await call(`${sim.url}/latest/meta-data/instance-id`)).body, 'i-1234567890abcdef0');
  assert.equal((await call(`${sim.url}/latest/meta-data/placement/region`)).body, 'us-east-1');
  assert.equal((await call(`${sim.url}/latest/meta-data/public-keys/`)).body, '0=ec2-init-test');
  assert.equal((await call(`${sim.url}/latest/meta-data/public-keys/0/`)).body, 'openssh-key');
  assert.match((await call(`${sim.url}/latest/meta-data/public-keys/0/openssh-key`)).body, /^ssh-rsa AAAA/);
  assert.equal((await call(`${sim.url}/latest/meta-data/iam/security-credentials/`)).body, 'baskinc-role');
  assert.equal(JSON.parse((await call(`${sim.url}/latest/meta-data/iam/info`)).body).Code, 'Success');
  assert.equal(JSON.parse((await call(`${sim.url}/latest/dynamic/instance-identity/document`)).body).region, 'us-east-1');
  assert.equal((await call(`${sim.url}/latest/user-data`)).body, '1234,john,reboot,true\n'); // base64-decoded
  const missing = await call(`${sim.url}/latest/meta-data/nope`);
  assert.equal(missing.status, 404);
  assert.equal((await call(`${sim.url}/latest/meta-data/events/maintenance/scheduled`)).status, 404, 'null values are absent');
  const paths = sim.metaDataPaths();
  assert.ok(paths.includes('meta-data/') && paths.includes('meta-data/instance-id') && paths.includes('meta-data/public-keys/0/openssh-key'));
  assert.equal(loadMockTree()?.leaves.get('meta-data/instance-id')?.toString(), 'i-1234567890abcdef0');
});

test('tokens: PUT with a TTL header, 400 without or out of range, 403 with X-Forwarded-For, 405 on GET', { skip }, async () => {
  const sim = await simulator();
  const put = (h: Record<string, string>) => call(`${sim.url}/latest/api/token`, 'PUT', h);
  const ok = await put({ 'X-aws-ec2-metadata-token-ttl-seconds': '21600' });
  assert.equal(ok.status, 200);
  assert.ok(ok.body.length >= 32);
  assert.equal(ok.headers['x-aws-ec2-metadata-token-ttl-seconds'], '21600');
  assert.equal((await put({})).status, 400);
  assert.equal((await put({ 'X-aws-ec2-metadata-token-ttl-seconds': '21601' })).status, 400);
  assert.equal((await put({ 'X-aws-ec2-metadata-token-ttl-seconds': '0' })).status, 400);
  assert.equal((await put({ 'X-aws-ec2-metadata-token-ttl-seconds': '60', 'X-Forwarded-For': '10.0.0.1' })).status, 403);
  assert.equal((await call(`${sim.url}/latest/api/token`)).status, 405);
  assert.deepEqual(sim.tokens, [ok.body]);
});

test('optional mode: no token is fine, a bad token is 401', { skip }, async () => {
  const sim = await simulator();
  const id = `${sim.url}/latest/meta-data/instance-id`;
  assert.equal((await call(id)).status, 200);
  assert.equal((await call(id, 'GET', { 'X-aws-ec2-metadata-token': await token(sim) })).status, 200);
  assert.equal((await call(id, 'GET', { 'X-aws-ec2-metadata-token': 'forged' })).status, 401);
});

test('required mode: 401 without a token; tokens expire after their TTL and on expireTokens()', { skip }, async () => {
  let clock = 1_000_000;
  const sim = await simulator({ mode: 'required', now: () => clock });
  const id = `${sim.url}/latest/meta-data/instance-id`;
  assert.equal((await call(id)).status, 401);
  const t = await token(sim, '60');
  assert.equal((await call(id, 'GET', { 'X-aws-ec2-metadata-token': t })).status, 200);
  clock += 59_000;
  assert.equal((await call(id, 'GET', { 'X-aws-ec2-metadata-token': t })).status, 200);
  clock += 1_000;
  assert.equal((await call(id, 'GET', { 'X-aws-ec2-metadata-token': t })).status, 401, 'expired at its TTL');
  const t2 = await token(sim);
  sim.expireTokens();
  assert.equal((await call(id, 'GET', { 'X-aws-ec2-metadata-token': t2 })).status, 401);
});

test('v1-only mode: no token endpoint (404 by default, or 403/405), token headers ignored', { skip }, async () => {
  const sim = await simulator({ mode: 'v1-only' });
  const put = () => call(`${sim.url}/latest/api/token`, 'PUT', { 'X-aws-ec2-metadata-token-ttl-seconds': '21600' });
  assert.equal((await put()).status, 404);
  sim.options.v1OnlyStatus = 405;
  assert.equal((await put()).status, 405);
  assert.equal((await call(`${sim.url}/latest/meta-data/instance-id`, 'GET', { 'X-aws-ec2-metadata-token': 'x' })).status, 200);
});

test('disabled mode: 403 to everything', { skip }, async () => {
  const sim = await simulator({ mode: 'disabled' });
  assert.equal((await call(`${sim.url}/latest/api/token`, 'PUT', { 'X-aws-ec2-metadata-token-ttl-seconds': '21600' })).status, 403);
  assert.equal((await call(`${sim.url}/latest/meta-data/instance-id`)).status, 403);
});

test('the first N requests fail with 429 or 503, then it answers', { skip }, async () => {
  const sim = await simulator({ failFirst: 2, failStatus: 429 });
  const id = `${sim.url}/latest/meta-data/instance-id`;
  assert.deepEqual([(await call(id)).status, (await call(id)).status, (await call(id)).status], [429, 429, 200]);
  const sim2 = await simulator({ failFirst: 1 });
  assert.deepEqual([(await call(`${sim2.url}/latest/user-data`)).status, (await call(`${sim2.url}/latest/user-data`)).status], [503, 200]);
});

test('slow answers: a fixed or per-request delay', { skip }, async () => {
  const sim = await simulator({ delayMs: (r) => (r.path.endsWith('user-data') ? 120 : 0) });
  let t = performance.now();
  await call(`${sim.url}/latest/meta-data/instance-id`);
  assert.ok(performance.now() - t < 60);
  t = performance.now();
  await call(`${sim.url}/latest/user-data`);
  assert.ok(performance.now() - t >= 115);
});

test('dropped and unanswered requests; a refused port', { skip }, async () => {
  const sim = await simulator({ drop: (r) => r.path.endsWith('instance-id'), hang: (r) => r.path.endsWith('user-data') });
  await assert.rejects(call(`${sim.url}/latest/meta-data/instance-id`), { code: 'ECONNRESET' });
  await assert.rejects(call(`${sim.url}/latest/user-data`, 'GET', {}, 150), { code: 'TIMEOUT' });
  await assert.rejects(call(`${await refusedUrl()}/latest/api/token`, 'PUT'), { code: 'ECONNREFUSED' });
  assert.equal(sim.requests.length, 2);
  assert.equal(sim.requests[0]!.status, undefined);
  await sim.refuse();
  await assert.rejects(call(`${sim.url}/latest/meta-data/`), { code: 'ECONNREFUSED' });
});

test('records every request: method, path, headers, time, status', { skip }, async () => {
  const sim = await simulator();
  const t = await token(sim);
  await call(`${sim.url}/latest/meta-data/`, 'GET', { 'X-aws-ec2-metadata-token': t });
  await call(`${sim.url}/latest/nothing`);
  assert.deepEqual(sim.requests.map((r) => [r.method, r.path, r.status]), [
    ['PUT', '/latest/api/token', 200],
    ['GET', '/latest/meta-data/', 200],
    ['GET', '/latest/nothing', 404],
  ]);
  assert.equal(sim.requests[0]!.headers['x-aws-ec2-metadata-token-ttl-seconds'], '21600');
  assert.equal(sim.requests[1]!.headers['x-aws-ec2-metadata-token'], t);
  assert.ok(sim.requests.every((r) => typeof r.at === 'number'));
});

test('options: user-data override or none, meta-data override, key names', { skip }, async () => {
  const sim = await simulator({ userData: null, metaData: { 'instance-id': 'i-0abc', 'public-keys/1/openssh-key': 'ssh-ed25519 AAAA x' }, keyNames: ['a', 'b'] });
  assert.equal((await call(`${sim.url}/latest/user-data`)).status, 404);
  assert.equal((await call(`${sim.url}/latest/meta-data/instance-id`)).body, 'i-0abc');
  assert.equal((await call(`${sim.url}/latest/meta-data/public-keys/`)).body, '0=a\n1=b');
  sim.options.userData = Buffer.from([0x1f, 0x8b, 0x00, 0xff]);
  const ud = await new Promise<Buffer>((resolve) => http.get(`${sim.url}/latest/user-data`, (res) => {
    const c: Buffer[] = [];
    res.on('data', (b: Buffer) => c.push(b)).on('end', () => resolve(Buffer.concat(c)));
  }));
  assert.deepEqual([...ud], [0x1f, 0x8b, 0x00, 0xff]);
});
