// gzip: undone by magic wherever it appears, bounded by the size limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { gunzipBounded, isGzip, GzipLimitError } from '../../src/userdata/gzip.ts';
import { expandUserData } from '../../src/userdata/expand.ts';
import { makeMime } from '../../src/userdata/make-mime.ts';
import { needCommands } from '../helpers/needs.ts';


function gzipCommand(data: Buffer, level = 6): Buffer {
  const r = spawnSync('gzip', [`-${level}`, '-c', '-n'], { input: data, maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr.toString());
  return r.stdout;
}

const script = Buffer.from('#!/bin/sh\necho compressed\n');

test('whole user-data gzipped by node:zlib at every level', async () => {
  for (let level = 0; level <= 9; level++) {
    const r = await expandUserData(gzipSync(script, { level }));
    assert.deepEqual(r.parts.map((p) => [p.type, Buffer.from(p.body).toString()]), [['text/x-shellscript', script.toString()]], `level ${level}`);
    assert.deepEqual(Buffer.from(r.expanded), script, 'user-data.txt holds the inflated text');
    assert.deepEqual(r.diags, []);
  }
});

test('whole user-data gzipped by the gzip command, single and multi-member', { skip: needCommands(['gzip'], 'gzip') ?? false }, async () => {
  for (const level of [1, 9]) {
    const r = await expandUserData(gzipCommand(script, level));
    assert.equal(Buffer.from(r.parts[0]!.body).toString(), script.toString());
  }
  const two = Buffer.concat([gzipCommand(Buffer.from('#cloud-config\n')), gzipCommand(Buffer.from('a: 1\n'))]);
  const r = await expandUserData(two);
  assert.deepEqual(r.parts.map((p) => [p.type, Buffer.from(p.body).toString()]), [['text/cloud-config', '#cloud-config\na: 1\n']]);
});

test('gzipped MIME, and gzip parts inside MIME (declared or by magic)', async () => {
  const inner = makeMime([
    { content: gzipSync(Buffer.from('#cloud-config\na: 1\n')), type: 'application/x-gzip', filename: 'a.gz' },
    { content: gzipSync(Buffer.from('#!/bin/sh\necho b\n')), type: 'application/octet-stream', filename: 'b.bin' },
    { content: Buffer.from('#!/bin/sh\necho c\n'), type: 'text/x-shellscript', filename: 'c.sh' },
  ]);
  const r = await expandUserData(gzipSync(inner, { level: 9 }));
  assert.deepEqual(r.parts.map((p) => [p.type, p.filename, Buffer.from(p.body).toString()]), [
    ['text/cloud-config', 'a.gz', '#cloud-config\na: 1\n'],
    ['text/x-shellscript', 'b.bin', '#!/bin/sh\necho b\n'],
    ['text/x-shellscript', 'c.sh', '#!/bin/sh\necho c\n'],
  ]);
});

test('a gzip bomb stops at the limit, without inflating it', async () => {
  const bomb = gzipSync(Buffer.alloc(256 * 1024 * 1024), { level: 9 });
  assert.ok(bomb.length < 300 * 1024);
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const r = await expandUserData(bomb, { maxBytes: 1024 * 1024 });
  const ms = performance.now() - t0;
  assert.deepEqual(r.parts, []);
  assert.equal(r.diags.length, 1);
  assert.equal(r.diags[0]!.level, 'error');
  assert.match(r.diags[0]!.message, /limit/);
  assert.ok(ms < 2000, `took ${ms} ms`);
  assert.ok(process.memoryUsage().rss - before < 128 * 1024 * 1024, 'memory stays bounded');
  assert.throws(() => gunzipBounded(bomb, 1000), GzipLimitError);
  // A bomb inside MIME: the part is dropped, the others stay.
  const doc = makeMime([
    { content: bomb, type: 'application/gzip', filename: 'bomb.gz' },
    { content: Buffer.from('#!/bin/sh\necho ok\n'), type: 'text/x-shellscript', filename: 'ok.sh' },
  ]);
  const m = await expandUserData(doc, { maxBytes: 4 * 1024 * 1024 });
  assert.deepEqual(m.parts.map((p) => p.filename), ['ok.sh']);
  assert.ok(m.diags.some((d) => d.level === 'error' && d.where.includes('bomb.gz')));
});

test('limits are exact and corrupt gzip is reported', async () => {
  const data = Buffer.alloc(1000, 0x61);
  assert.equal(gunzipBounded(gzipSync(data), 1000).length, 1000);
  assert.throws(() => gunzipBounded(gzipSync(data), 999), GzipLimitError);
  assert.equal(gunzipBounded(gzipSync(Buffer.alloc(0)), 0).length, 0);
  assert.ok(isGzip(gzipSync(data)) && !isGzip(Buffer.from([0x1f])) && !isGzip(data));
  const truncated = gzipSync(script).subarray(0, 12);
  assert.throws(() => gunzipBounded(truncated, 1000), /could not be decompressed/);
  const r = await expandUserData(truncated);
  assert.deepEqual(r.parts, []);
  assert.equal(r.diags[0]!.level, 'error');
  const bad = makeMime([{ content: Buffer.from('not gzip at all'), type: 'application/gzip', filename: 'bad.gz' }]);
  const m = await expandUserData(bad);
  assert.deepEqual(m.parts, []);
  assert.ok(m.diags.some((d) => d.where.includes('bad.gz')));
});
