// The read budget of a source (src/sources/budget.ts): each reader asked for
// at most what is left, a file past it refused before it is held, and what a
// source gives kept within it (the meta-data first, then user-data, then
// vendor-data) whatever its own readers checked.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Files } from '../../src/host/files.ts';
import { keepWithinBudget, OverBudget, ReadBudget } from '../../src/sources/budget.ts';
import type { SourceData } from '../../src/types.ts';

test('reads share the budget: a file larger than what is left is refused by its reader, and nothing of it is counted', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ec2-init-budget-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'a'), Buffer.alloc(600));
  writeFileSync(join(root, 'b'), Buffer.alloc(500));
  const files = new Files(root);
  const budget = new ReadBudget(1000);
  const asked: number[] = [];
  const read = (name: string) => (max: number) => { asked.push(max); return files.readIfExists(`/${name}`, max); };
  assert.equal(budget.readSync('a', read('a'))!.length, 600);
  assert.throws(() => budget.readSync('b', read('b')), (e: unknown) => e instanceof OverBudget && /^b is larger than what is left of the 1000-byte budget .*600 bytes used/.test((e as Error).message));
  assert.deepEqual(asked, [1000, 400]);
  assert.equal(budget.used, 600);
  const said: string[] = [];
  assert.equal(budget.optionalSync('b', (m) => said.push(m), read('b')), null);
  assert.equal(said.length, 1);
  assert.equal(budget.readSync('missing', read('missing')), null);
});

test('what a source gives is kept within the budget: user-data before vendor-data, each left out whole and said so', () => {
  const bytes = (n: number) => new Uint8Array(n);
  const source = (user: number, vendor: number, meta: number): SourceData => ({
    name: 'Test', provider: 'test', instanceId: 'i', metaData: {}, userData: bytes(user), vendorData: bytes(vendor), cache: { 'meta-data': bytes(meta) },
  });
  const said: string[] = [];
  // A source that counted nothing (its readers are not budgeted): measured.
  const a = source(500, 400, 200);
  keepWithinBudget(a, new ReadBudget(1000), (m) => said.push(m));
  assert.equal(a.userData!.length, 500);
  assert.equal(a.vendorData, null);
  assert.equal(a.metaBytes, 200);
  assert.match(said[0]!, /^the vendor-data \(400 bytes\) does not fit in the 1000-byte budget/);
  const b = source(900, 10, 200);
  keepWithinBudget(b, new ReadBudget(1000), (m) => said.push(m));
  assert.equal(b.userData, null);
  assert.equal(b.vendorData!.length, 10);
  // One that counted its reads: its count, less the user-data and vendor-data, is the meta-data's share.
  const c = source(100, 0, 50);
  const counted = new ReadBudget(1000);
  counted.take(300, 'all of it');
  keepWithinBudget(c, counted, (m) => said.push(m));
  assert.equal(c.metaBytes, 200);
  // Meta-data past the budget: no source.
  assert.throws(() => keepWithinBudget(source(0, 0, 2000), new ReadBudget(1000), () => {}), OverBudget);
});

test('a metadata request asks for at most what is left of the budget: a larger answer is refused as over the budget, a smaller one counted', async (t) => {
  const { createServer } = await import('node:http');
  const { fetchWithin, oneDocument, optionalWithin } = await import('../../src/sources/fetch-within.ts');
  const { HttpError } = await import('../../src/net/http.ts');
  const sizes: Record<string, number> = { '/a': 600, '/b': 600, '/c': 100 };
  let busy = 2;
  const server = createServer((req, res) => {
    if (req.url === '/doc') { res.end(JSON.stringify({ 'user_data': 'u'.repeat(300) })); return; }
    // Two 503s of 100 bytes, then the answer: what the retries were answered is held too, so it counts.
    if (req.url === '/busy') { if (busy-- > 0) { res.statusCode = 503; res.end(Buffer.alloc(100, 0x62)); } else res.end(Buffer.alloc(50, 0x61)); return; }
    res.end(Buffer.alloc(sizes[req.url ?? ''] ?? 0, 0x61));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const opts = { timeoutMs: 5000, deadline: performance.now() + 10_000, retries: 0 };
  const budget = new ReadBudget(1000);
  assert.equal((await fetchWithin(budget, `${base}/a`, opts)).body.length, 600);
  await assert.rejects(fetchWithin(budget, `${base}/b`, opts), (e: unknown) => e instanceof OverBudget && /\/b is larger than what is left of the 1000-byte budget/.test((e as Error).message));
  assert.equal(budget.used, 600);
  // The caller's own cap, smaller than what is left, stays the caller's error.
  await assert.rejects(fetchWithin(budget, `${base}/c`, { ...opts, maxBytes: 50 }), (e: unknown) => e instanceof HttpError && e.kind === 'too-large');
  const said: string[] = [];
  assert.equal(await optionalWithin(budget, `${base}/b`, opts, (m) => said.push(m)), null);
  assert.equal(said.length, 1);
  const retried = new ReadBudget(1000);
  assert.equal((await fetchWithin(retried, `${base}/busy`, { ...opts, retries: 2, pause: { fixedMs: 1 } })).body.length, 50);
  assert.equal(retried.used, 250, 'the two 503 bodies and the answer');
  // One document holding the user-data: counted once, as the document.
  const doc = new ReadBudget(1000);
  const { doc: md } = await oneDocument(doc, `${base}/doc`, opts);
  assert.equal((md['user_data'] as string).length, 300);
  assert.equal(doc.used, JSON.stringify({ 'user_data': 'u'.repeat(300) }).length);
});
