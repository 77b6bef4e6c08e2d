// The EC2 datasource against a real HTTP metadata service simulator on
// 127.0.0.1: what a user would check (instance-id, hostname, keys, user-data)
// and the requests it made (tokens, fallback, retries, deadlines).
// Never points at 169.254.169.254 or fd00:ec2::254.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import type { Logger } from '../../src/log.ts';
import { readEc2, type Ec2Options } from '../../src/sources/ec2.ts';
import { type ImdsSimulator, refusedUrl, SKIP_REASON } from '../helpers/imds-simulator.ts';
import { simulator } from '../helpers/imds-per-test.ts';

const skip = SKIP_REASON ?? false;
const KEY_PREFIX = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC/JxGByvHDHgQAU+0n';
// Deadlines are checked as elapsed < maxWaitMs + SLACK: the slack is timer and
// event-loop latency on a busy machine, not time the datasource may use.
const SLACK = 150;

function capture(): { log: Logger; text: () => string } {
  const lines: string[] = [];
  const at = (level: string) => (m: string): void => { lines.push(`${level}: ${m}`); };
  return { log: { debug: at('debug'), info: at('info'), warn: at('warning'), error: at('error') }, text: () => lines.join('\n') };
}


function options(urls: string[], o: Partial<Ec2Options> = {}): Ec2Options {
  return { metadataUrls: urls, timeoutMs: 500, maxWaitMs: 3000, v1Fallback: 'auto', ...o };
}

async function timed<T>(p: Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const v = await p;
  return [v, performance.now() - t];
}

const gets = (sim: ImdsSimulator) => sim.requests.filter((r) => r.method === 'GET');
const puts = (sim: ImdsSimulator) => sim.requests.filter((r) => r.method === 'PUT');

test('IMDSv2: instance-id, hostname, keys, placement and user-data, a token on every GET', { skip }, async () => {
  const sim = await simulator();
  const { log, text } = capture();
  const data = await readEc2(options([sim.url]), log);
  assert.ok(data);
  assert.equal(data.name, 'Ec2');
  assert.equal(data.provider, 'ec2');
  assert.equal(data.instanceId, 'i-1234567890abcdef0');
  assert.equal(data.localHostname, 'ip-172-16-34-43.ec2.internal');
  assert.equal(data.publicKeys?.length, 1);
  assert.ok(data.publicKeys[0]!.startsWith(KEY_PREFIX));
  assert.equal((data.userData && Buffer.from(data.userData))?.toString(), '1234,john,reboot,true\n');
  assert.equal(data.launchIndex, 0);
  assert.equal(data.region, 'us-east-1');
  assert.equal(data.availabilityZone, 'us-east-1a');
  assert.equal(data.instanceType, 'm4.xlarge');
  assert.equal(data.cloudName, 'aws');
  assert.equal(data.platform, 'ec2');
  // ds.meta_data keyed like cloud-init's
  const md = data.metaData as Record<string, any>;
  assert.equal(md['instance-id'], 'i-1234567890abcdef0');
  assert.deepEqual(md['placement']['availability-zone'], 'us-east-1a');
  assert.equal(md['network']['interfaces']['macs']['0e:49:61:0f:c3:11']['vpc-id'], 'vpc-d295a6a7');
  assert.ok(md['public-keys']['ec2-init-test'].startsWith(KEY_PREFIX));
  assert.equal(md['iam']['info']['Code'], 'Success'); // JSON leaves are parsed
  assert.equal(md['iam']['security-credentials'], undefined); // secrets are never fetched
  // the cache the lead writes under data/ec2/
  assert.deepEqual(Object.keys(data.cache!).sort(), ['dynamic-instance-identity-document.json', 'meta-data.json', 'user-data']);
  assert.deepEqual(JSON.parse(String(data.cache!['meta-data.json'])), md);
  assert.equal(JSON.parse(String(data.cache!['dynamic-instance-identity-document.json'])).accountId, '0123456789');
  assert.equal(data.cache!['user-data'], data.userData);

  // requests: one token PUT first, then GETs that all carry it, each path once
  assert.equal(sim.requests[0]!.method, 'PUT');
  assert.equal(sim.requests[0]!.path, '/latest/api/token');
  assert.equal(sim.requests[0]!.headers['x-aws-ec2-metadata-token-ttl-seconds'], '21600');
  assert.equal(puts(sim).length, 1);
  for (const r of gets(sim)) assert.equal(r.headers['x-aws-ec2-metadata-token'], sim.tokens[0], r.path);
  const paths = gets(sim).map((r) => r.path.replace(/^\/latest\//, ''));
  assert.equal(new Set(paths).size, paths.length, 'no path fetched twice');
  assert.ok(!paths.some((p) => p.includes('security-credentials')));
  const expected = sim.metaDataPaths().filter((p) => !p.includes('security-credentials'));
  assert.deepEqual(paths.filter((p) => p.startsWith('meta-data/')).sort(), expected.sort());
  assert.deepEqual(paths.filter((p) => !p.startsWith('meta-data/')).sort(), ['dynamic/instance-identity/document', 'user-data']);
  assert.equal(sim.requests.length, 1 + expected.length + 2);

  // never the token nor the user-data in the log
  assert.ok(!text().includes(sim.tokens[0]!));
  assert.ok(!text().includes('john,reboot'));
  assert.match(text(), /IMDSv2/);
});

test('v2-required service (HttpTokens=required): works, never a 401', { skip }, async () => {
  const sim = await simulator({ mode: 'required' });
  const data = await readEc2(options([sim.url]), capture().log);
  assert.equal(data?.instanceId, 'i-1234567890abcdef0');
  assert.equal((data?.userData && Buffer.from(data?.userData))?.toString(), '1234,john,reboot,true\n');
  assert.equal(puts(sim).length, 1);
  assert.ok(gets(sim).every((r) => r.headers['x-aws-ec2-metadata-token'] === sim.tokens[0]));
});

test('an expired token (401) is replaced once, and the read completes', { skip }, async () => {
  // The simulator's clock jumps 7 hours (past the 6 h TTL) after the 10th request.
  const sim = await simulator({ mode: 'required' });
  sim.options.now = () => Date.now() + (sim.requests.length > 10 ? 7 * 3600_000 : 0);
  const data = await readEc2(options([sim.url]), capture().log);
  assert.equal(data?.instanceId, 'i-1234567890abcdef0');
  assert.equal(puts(sim).length, 2, 'one token, then one renewal shared by every refused GET');
  assert.equal(sim.tokens.length, 2);
  const renewal = sim.requests.indexOf(puts(sim)[1]!);
  const refused = gets(sim).filter((r) => r.status === 401);
  assert.ok(refused.length > 0);
  for (const r of refused) {
    assert.equal(r.headers['x-aws-ec2-metadata-token'], sim.tokens[0]);
    const retry = sim.requests.findLast((x) => x.path === r.path);
    assert.equal(retry?.headers['x-aws-ec2-metadata-token'], sim.tokens[1], `${r.path} asked again with the new token`);
    assert.ok(sim.requests.indexOf(retry!) > renewal);
    assert.equal(retry?.status, 200);
  }
});

for (const status of [403, 404, 405] as const) {
  test(`v1-only service (token endpoint ${status}): 'auto' falls back to IMDSv1`, { skip }, async () => {
    const sim = await simulator({ mode: 'v1-only', v1OnlyStatus: status });
    const { log, text } = capture();
    const data = await readEc2(options([sim.url]), log);
    assert.equal(data?.instanceId, 'i-1234567890abcdef0');
    assert.equal((data?.userData && Buffer.from(data?.userData))?.toString(), '1234,john,reboot,true\n');
    assert.equal(puts(sim).length, 1);
    assert.ok(gets(sim).every((r) => r.headers['x-aws-ec2-metadata-token'] === undefined));
    assert.match(text(), /IMDSv1/);
  });
}

test("v1-only service with v1Fallback 'never': null after the one token request", { skip }, async () => {
  const sim = await simulator({ mode: 'v1-only' });
  const { log, text } = capture();
  const data = await readEc2(options([sim.url], { v1Fallback: 'never' }), log);
  assert.equal(data, null);
  assert.deepEqual(sim.requests.map((r) => `${r.method} ${r.path}`), ['PUT /latest/api/token']);
  assert.match(text(), /404.*v1 fallback is off/);
});

test("token PUT lost (hop limit): 'auto' never falls back, says why, honours max_wait", { skip }, async () => {
  const sim = await simulator({ hang: (r) => r.method === 'PUT' });
  const { log, text } = capture();
  const maxWaitMs = 800;
  const [data, ms] = await timed(readEc2(options([sim.url], { timeoutMs: 200, maxWaitMs }), log));
  assert.equal(data, null);
  assert.ok(ms < maxWaitMs + SLACK, `took ${ms} ms`);
  assert.equal(gets(sim).length, 0, 'no IMDSv1 request after a timeout');
  assert.ok(puts(sim).length >= 2, 'the token request is retried');
  assert.match(text(), /hop limit too low for a container/);
  assert.match(text(), /metadata service disabled/);
});

test("token PUT lost (hop limit): 'always' falls back to IMDSv1 after one timeout", { skip }, async () => {
  const sim = await simulator({ hang: (r) => r.method === 'PUT' });
  const [data, ms] = await timed(readEc2(options([sim.url], { timeoutMs: 200, maxWaitMs: 2000, v1Fallback: 'always' }), capture().log));
  assert.equal(data?.instanceId, 'i-1234567890abcdef0');
  assert.equal(puts(sim).length, 1);
  assert.ok(gets(sim).every((r) => r.headers['x-aws-ec2-metadata-token'] === undefined));
  assert.ok(ms < 1000, `took ${ms} ms (max_wait 2000)`);
});

test('disabled service (403 everywhere): null, quickly, with a reason', { skip }, async () => {
  const sim = await simulator({ mode: 'disabled' });
  const { log, text } = capture();
  const [data, ms] = await timed(readEc2(options([sim.url]), log));
  assert.equal(data, null);
  assert.ok(ms < 500, `took ${ms} ms`);
  assert.match(text(), /403.*disabled/);
  assert.ok(sim.requests.length <= 4, `${sim.requests.length} requests`);
});

for (const status of [429, 503]) {
  test(`HTTP ${status} on the first requests: retried with backoff, then read`, { skip }, async () => {
    const sim = await simulator({ failFirst: 3, failStatus: status });
    const data = await readEc2(options([sim.url]), capture().log);
    assert.equal(data?.instanceId, 'i-1234567890abcdef0');
    assert.equal((data?.userData && Buffer.from(data?.userData))?.toString(), '1234,john,reboot,true\n');
    const first = sim.requests.slice(0, 4).map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(first, Array(4).fill('PUT /latest/api/token'), 'the token request is retried until it gets through');
    const gaps = sim.requests.slice(1, 4).map((r, i) => r.at - sim.requests[i]!.at);
    assert.ok(gaps.every((g) => g >= 40), `backoff between retries: ${gaps}`);
    assert.equal(sim.requests.length, 3 + 1 + sim.metaDataPaths().filter((p) => !p.includes('security-credentials')).length + 2);
  });
}

test('throttled for longer than max_wait: null, within max_wait', { skip }, async () => {
  const sim = await simulator({ failFirst: 1_000_000, failStatus: 429 });
  const { log, text } = capture();
  const [data, ms] = await timed(readEc2(options([sim.url], { maxWaitMs: 700 }), log));
  assert.equal(data, null);
  assert.ok(ms < 700 + SLACK, `took ${ms} ms`);
  assert.ok(sim.requests.length >= 3 && sim.requests.length < 15, `${sim.requests.length} requests: backoff, not hammering`);
  assert.match(text(), /HTTP 429/);
});

test('dropped connections are retried', { skip }, async () => {
  let dropped = 0;
  const sim = await simulator({ drop: (r) => r.path.endsWith('/user-data') && dropped++ < 2 });
  const data = await readEc2(options([sim.url]), capture().log);
  assert.equal((data?.userData && Buffer.from(data?.userData))?.toString(), '1234,john,reboot,true\n');
  assert.equal(sim.requests.filter((r) => r.path === '/latest/user-data').length, 3);
});

test('a slow service (answers after 5 s): null within max_wait', { skip }, async () => {
  const sim = await simulator({ delayMs: 5000 });
  const { log } = capture();
  const maxWaitMs = 600;
  const [data, ms] = await timed(readEc2(options([sim.url], { timeoutMs: 250, maxWaitMs }), log));
  assert.equal(data, null);
  assert.ok(ms < maxWaitMs + SLACK, `took ${ms} ms`);
});

test('a service too slow to finish the walk in max_wait: null within max_wait', { skip }, async () => {
  const sim = await simulator({ delayMs: 40 });
  const { log, text } = capture();
  const maxWaitMs = 300;
  const [data, ms] = await timed(readEc2(options([sim.url], { timeoutMs: 250, maxWaitMs }), log));
  assert.equal(data, null);
  assert.ok(ms < maxWaitMs + SLACK, `took ${ms} ms`);
  assert.match(text(), /reading it failed/);
});

test('connection refused: null at once, no retries', async () => {
  const url = await refusedUrl();
  const { log, text } = capture();
  const [data, ms] = await timed(readEc2(options([url], { maxWaitMs: 5000 }), log));
  assert.equal(data, null);
  assert.ok(ms < 250, `took ${ms} ms (max_wait 5000)`);
  assert.match(text(), /connection refused/);
});

test('endpoints in order: a refused first URL hands over to the second at once', { skip }, async () => {
  const sim = await simulator();
  const refused = await refusedUrl();
  const start = Date.now();
  const data = await readEc2(options([refused, sim.url]), capture().log);
  assert.equal(data?.instanceId, 'i-1234567890abcdef0');
  const handover = sim.requests[0]!.at - start;
  assert.ok(handover < 100, `second URL asked after ${handover} ms (head start: 150 ms)`);
});

test('a silent first URL: the second starts after a head start, not after a timeout', { skip }, async () => {
  const dead = await simulator({ hang: () => true });
  const sim = await simulator();
  const [data, ms] = await timed(readEc2(options([dead.url, sim.url], { timeoutMs: 2000, maxWaitMs: 5000 }), capture().log));
  assert.equal(data?.instanceId, 'i-1234567890abcdef0');
  assert.ok(ms < 1000, `took ${ms} ms`);
  assert.equal(dead.requests.length, 1, 'the silent URL is not asked again');
  assert.equal(puts(sim).length, 1);
});

test('a healthy first URL: the second is never asked', { skip }, async () => {
  const first = await simulator();
  const second = await simulator();
  const data = await readEc2(options([first.url, second.url]), capture().log);
  assert.equal(data?.instanceId, 'i-1234567890abcdef0');
  assert.equal(second.requests.length, 0);
});

test('no user-data (404): userData null, not an error', { skip }, async () => {
  const sim = await simulator({ userData: null });
  const data = await readEc2(options([sim.url]), capture().log);
  assert.equal(data?.instanceId, 'i-1234567890abcdef0');
  assert.equal(data?.userData, null);
  assert.equal(data?.cache?.['user-data'], undefined);
});

test('binary (gzip) user-data comes back byte for byte', { skip }, async () => {
  const raw = gzipSync(Buffer.from('#!/bin/sh\necho hi\n'));
  const sim = await simulator({ userData: raw });
  const data = await readEc2(options([sim.url]), capture().log);
  assert.ok(data?.userData && Buffer.from(data.userData).equals(raw));
});

test('several keys, launch index, multi-line leaves', { skip }, async () => {
  const sim = await simulator({
    metaData: { 'ami-launch-index': '3', 'public-keys/1/openssh-key': 'ssh-ed25519 AAAAC3Nz second', 'local-hostname': 'web-1' },
  });
  const data = await readEc2(options([sim.url]), capture().log);
  assert.equal(data?.launchIndex, 3);
  assert.equal(data?.localHostname, 'web-1');
  assert.equal(data?.publicKeys?.length, 2);
  assert.equal(data?.publicKeys?.[1], 'ssh-ed25519 AAAAC3Nz second');
});

test('no instance-id: null, with a reason', { skip }, async () => {
  const sim = await simulator({ metaData: { 'instance-id': null } });
  const { log, text } = capture();
  assert.equal(await readEc2(options([sim.url]), log), null);
  assert.match(text(), /no instance-id/);
});

test('two silent endpoints: null within max_wait, each asked under the one deadline', { skip }, async () => {
  const a = await simulator({ hang: () => true });
  const b = await simulator({ hang: () => true });
  const { log, text } = capture();
  const maxWaitMs = 500;
  const [data, ms] = await timed(readEc2(options([a.url, b.url], { timeoutMs: 200, maxWaitMs }), log));
  assert.equal(data, null);
  assert.ok(ms < maxWaitMs + SLACK, `took ${ms} ms`);
  assert.ok(a.requests.length >= 1 && b.requests.length >= 1);
  assert.ok(a.requests.every((r) => r.method === 'PUT') && b.requests.every((r) => r.method === 'PUT'));
  assert.match(text(), new RegExp(`${a.url}: the IMDSv2 token request .*hop limit`));
  assert.match(text(), new RegExp(`${b.url}: the IMDSv2 token request .*hop limit`));
});
