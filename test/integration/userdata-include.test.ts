// #include / #include-once against a real HTTP server on 127.0.0.1 (how an
// include list is read: test/unit/userdata-include.test.ts): nesting,
// loops, depth, failures, retries, include-once cache, file://, gzip bombs.
import { Files } from '../../src/host/files.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expandUserData, type ExpandOptions } from '../../src/userdata/expand.ts';
import { makeMime } from '../../src/userdata/make-mime.ts';

const routes = new Map<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>();
const hits = new Map<string, number>();
let server: http.Server;
let base = '';

function text(body: string | Buffer, status = 200): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  return (_req, res) => { res.writeHead(status); res.end(body); };
}

before(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    hits.set(url, (hits.get(url) ?? 0) + 1);
    const h = routes.get(url);
    if (h) h(req, res); else { res.writeHead(404); res.end('no'); }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => { server.closeAllConnections(); server.close(); });

const fast: ExpandOptions = { fetchTimeoutMs: 1000, fetchRetries: 2, fetchBackoffMs: 10 };

test('includes are fetched, recursively, in order, and may be gzip or MIME', async () => {
  routes.set('/cfg', text('#cloud-config\na: 1\n'));
  routes.set('/script.gz', text(gzipSync('#!/bin/sh\necho gz\n')));
  routes.set('/mime', text(Buffer.from(makeMime([
    { content: Buffer.from('#cloud-boothook\necho b\n'), type: 'text/cloud-boothook', filename: 'boot.sh' },
    { content: Buffer.from(`#include\n${'PLACEHOLDER'}\n`), type: 'text/x-include-url', filename: 'inc' },
  ])).toString().replace('PLACEHOLDER', `${base}/cfg`)));
  routes.set('/nested', text(`#include\n${base}/script.gz\n${base}/mime\n`));
  const top = Buffer.from(`#include\n${base}/cfg\n${base}/nested\n`);
  const r = await expandUserData(top, fast);
  assert.deepEqual(r.diags, []);
  assert.deepEqual(r.parts.map((p) => [p.type, p.filename, Buffer.from(p.body).toString()]), [
    ['text/cloud-config', 'part-001', '#cloud-config\na: 1\n'],
    ['text/x-shellscript', 'part-002', '#!/bin/sh\necho gz\n'],
    ['text/cloud-boothook', 'boot.sh', '#cloud-boothook\necho b\n'],
    ['text/cloud-config', 'part-004', '#cloud-config\na: 1\n'],
  ]);
  // user-data.txt is the expanded document: no include left in it.
  const again = await expandUserData(r.expanded, { fetch: () => Promise.reject(new Error('must not fetch')) });
  assert.deepEqual(again.parts.map((p) => Buffer.from(p.body).toString()), r.parts.map((p) => Buffer.from(p.body).toString()));
});

test('a failing URL is a Diag naming the URL and the part; the rest goes on', async () => {
  routes.set('/ok', text('#!/bin/sh\necho ok\n'));
  routes.set('/gone', text('gone', 404));
  hits.delete('/flaky');
  let n = 0;
  routes.set('/flaky', (_req, res) => { n++; if (n < 3) { res.writeHead(503); res.end(); } else { res.writeHead(200); res.end('#cloud-config\nflaky: ok\n'); } });
  routes.set('/down', text('down', 500));
  const doc = makeMime([
    { content: Buffer.from(`#include\n${base}/gone\n${base}/ok\nhttp://127.0.0.1:1/refused\n${base}/flaky\n${base}/down\n`), type: 'text/x-include-url', filename: 'list.txt' },
    { content: Buffer.from('#!/bin/sh\necho after\n'), type: 'text/x-shellscript', filename: 'after.sh' },
  ]);
  const r = await expandUserData(doc, fast);
  assert.deepEqual(r.parts.map((p) => Buffer.from(p.body).toString()), ['#!/bin/sh\necho ok\n', '#cloud-config\nflaky: ok\n', '#!/bin/sh\necho after\n']);
  // Recoverable: the other parts still run, the boot ends degraded (not error).
  const errors = r.diags.filter((d) => d.level === 'warning' && d.message.startsWith('#include'));
  assert.equal(errors.length, 3);
  assert.equal(r.diags.filter((d) => d.level === 'error').length, 0);
  for (const [d, url] of [[errors[0]!, `${base}/gone`], [errors[1]!, 'http://127.0.0.1:1/refused'], [errors[2]!, `${base}/down`]] as const) {
    assert.ok(d.message.includes(url), d.message);
    assert.ok(d.where.includes('list.txt'), d.where);
  }
  assert.match(errors[0]!.message, /404/);
  assert.equal(hits.get('/gone'), 1, '404 is not retried');
  assert.equal(hits.get('/flaky'), 3, '503 is retried until it works');
  assert.match(errors[2]!.message, /after 3 attempts/);
});

test('loops and depth are stopped', async () => {
  routes.set('/loop-a', text(`#include ${base}/loop-b\n`));
  routes.set('/loop-b', text(`#include\n${base}/loop-a\n#!/bin/sh\n`));
  const r = await expandUserData(Buffer.from(`#include ${base}/loop-a\n`), fast);
  assert.deepEqual(r.parts, []);
  assert.equal(r.diags.length, 1);
  assert.match(r.diags[0]!.message, /loop/);
  // A chain 15 deep: levels 1..10 are fetched, the 11th is refused.
  for (let i = 0; i < 15; i++) routes.set(`/deep${i}`, text(`#include\n${base}/deep${i + 1}\n`));
  routes.set('/deep15', text('#cloud-config\n'));
  for (let i = 0; i <= 15; i++) hits.delete(`/deep${i}`);
  const d = await expandUserData(Buffer.from(`#include\n${base}/deep0\n`), fast);
  assert.equal(d.diags.length, 1);
  assert.match(d.diags[0]!.message, /deeper than 10/);
  assert.equal(hits.get('/deep9'), 1);
  assert.equal(hits.get('/deep10'), undefined);
  const d3 = await expandUserData(Buffer.from(`#include\n${base}/deep0\n`), { ...fast, maxIncludeDepth: 3 });
  assert.match(d3.diags[0]!.message, /deeper than 3/);
});

test('gzip bombs and oversized bodies stop at the total size limit', async () => {
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  routes.set('/bomb', text(bomb));
  routes.set('/big', text(Buffer.alloc(2 * 1024 * 1024, 0x41)));
  routes.set('/small', text('#!/bin/sh\necho small\n'));
  const before = process.memoryUsage().rss;
  const r = await expandUserData(Buffer.from(`#include\n${base}/bomb\n${base}/big\n${base}/small\n`), { ...fast, maxBytes: 1024 * 1024 });
  assert.deepEqual(r.parts.map((p) => Buffer.from(p.body).toString()), ['#!/bin/sh\necho small\n']);
  assert.equal(r.diags.length, 2);
  assert.match(r.diags[0]!.message, /limit/);
  assert.match(r.diags[1]!.message, /big.*limit/);
  assert.ok(process.memoryUsage().rss - before < 100 * 1024 * 1024);
  // With the default 16 MiB limit the bomb is refused too.
  const d = await expandUserData(Buffer.from(`#include ${base}/bomb\n`), fast);
  assert.match(d.diags[0]!.message, /16777216-byte limit/);
});

test('a server that never answers times out, with retries', async () => {
  routes.set('/hang', () => { /* never answers */ });
  hits.delete('/hang');
  const t0 = performance.now();
  const r = await expandUserData(Buffer.from(`#include ${base}/hang\n`), { fetchTimeoutMs: 200, fetchRetries: 1, fetchBackoffMs: 10 });
  const ms = performance.now() - t0;
  assert.match(r.diags[0]!.message, /timed out/);
  assert.equal(hits.get('/hang'), 2);
  assert.ok(ms < 2000, `${ms} ms`);
});

test('redirects are followed', async () => {
  routes.set('/moved', (_req, res) => { res.writeHead(302, { location: '/cfg' }); res.end(); });
  const r = await expandUserData(Buffer.from(`#include ${base}/moved\n`), fast);
  assert.deepEqual(r.parts.map((p) => p.type), ['text/cloud-config']);
});

test('#include-once uses the cache and fills it', async () => {
  routes.set('/once', text('#!/bin/sh\necho once\n'));
  hits.delete('/once');
  const store = new Map<string, Buffer>();
  const cache = { get: (u: string) => store.get(u) ?? null, put: (u: string, b: Buffer) => { store.set(u, b); } };
  const doc = Buffer.from(`#include-once\n${base}/once\n`);
  const a = await expandUserData(doc, { ...fast, includeCache: cache });
  const b = await expandUserData(doc, { ...fast, includeCache: cache });
  assert.equal(hits.get('/once'), 1, 'fetched once');
  assert.deepEqual(b.parts, a.parts);
  assert.deepEqual([...store.keys()], [`${base}/once`]);
  // Plain #include does not use the cache.
  await expandUserData(Buffer.from(`#include\n${base}/once\n`), { ...fast, includeCache: cache });
  assert.equal(hits.get('/once'), 2);
});

test('file:// and absolute paths are read under the root', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'ud-include-'));
  try {
    mkdirSync(path.join(root, 'etc'));
    writeFileSync(path.join(root, 'etc/inc.cfg'), '#cloud-config\nfrom: file\n');
    const r = await expandUserData(Buffer.from('#include\nfile:///etc/inc.cfg\n/etc/inc.cfg\nfile:///../../etc/inc.cfg\nfile:///missing\nftp://x/y\n'), { ...fast, files: new Files(root) });
    assert.deepEqual(r.parts.map((p) => Buffer.from(p.body).toString()), Array(3).fill('#cloud-config\nfrom: file\n'));
    assert.equal(r.diags.length, 2);
    assert.match(r.diags[0]!.message, /missing/);
    assert.match(r.diags[1]!.message, /unsupported URL scheme/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
