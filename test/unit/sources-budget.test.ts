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
