// Launch-Index filtering: the counts cloud-init's own tests expect
// (tests/unittests/test_launch_index.py) for its test data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expandUserData } from '../../src/userdata/expand.ts';
import { pyInt, launchIndexMatches } from '../../src/userdata/launch-index.ts';
import { makeMime } from '../../src/userdata/make-mime.ts';
import { CONFORMANCE } from '../helpers/paths.ts';

const DIR = path.join(CONFORMANCE, 'cloud-init/launch-index');
const DOCS = path.join(CONFORMANCE, 'cloud-init/doc-examples');
const noConformance = existsSync(DIR) ? false : `conformance data absent (${DIR}): skipped`;

// index → parts kept; undefined = no filtering (all parts).
const EXPECTED: Record<string, Array<[number | undefined, number]>> = {
  'filter_cloud_multipart_2.email': [[3, 1], [2, 2], [undefined, 3], [-1, 0]],
  'filter_cloud_multipart_header.email': [[5, 1], [-1, 0], [undefined, 1]],
  'filter_cloud_multipart_1.email': [[2, 1], [-1, 0], [undefined, 1]],
  'filter_cloud_multipart.yaml': [[2, 2], [3, 2], [1, 2], [0, 1], [4, 1], [7, 0], [-1, 0], [100, 0], [undefined, 8]],
};

test('the parts kept for each launch index are the ones cloud-init keeps', { skip: noConformance }, async (t) => {
  for (const [file, cases] of Object.entries(EXPECTED)) {
    const raw = readFileSync(path.join(DIR, file));
    for (const [index, count] of cases) {
      const r = await expandUserData(raw, index === undefined ? {} : { launchIndex: index });
      assert.equal(r.parts.length, count, `${file} at launch index ${index}`);
      assert.deepEqual(r.diags, [], file);
    }
    t.diagnostic(`${file}: ${cases.length} indexes checked`);
  }
});

test('which parts: header wins over the key, strings are converted', { skip: noConformance }, async () => {
  const raw = readFileSync(path.join(DIR, 'filter_cloud_multipart.yaml'));
  const all = await expandUserData(raw);
  assert.deepEqual(all.parts.map((p) => [p.type, p.filename, p.headers['launch-index']]), [
    ['text/cloud-config', 'part-001', '3'],
    ['text/cloud-config', 'part-002', '4'],
    ['plain/text', 'b0.txt', '0'],
    ['plain/text', 'b3.txt', '3'],
    ['plain/text', 'b2.txt', '2'],
    ['text/x-shellscript', 'b2.txt', '2'],
    ['text/x-shellscript', 'b2.txt', '1'],
    ['text/x-shellscript', 'b2.txt', '1'],
  ]);
  const one = await expandUserData(raw, { launchIndex: 1 });
  assert.deepEqual(one.parts.map((p) => p.filename), ['b2.txt', 'b2.txt']);
  // The saved user-data.txt keeps the indexes: filtering it again keeps the same parts.
  const again = await expandUserData(all.expanded, { launchIndex: 3 });
  assert.deepEqual(again.parts.map((p) => p.filename), ['part-001', 'b3.txt']);
});

test('doc examples with launch indexes', { skip: existsSync(DOCS) ? false : 'conformance data absent: skipped' }, async () => {
  const archive = readFileSync(path.join(DOCS, 'cloud-config-archive-launch-index.txt'));
  assert.deepEqual((await expandUserData(archive, { launchIndex: 0 })).parts.map((p) => p.filename), ['part-002', 'part-003', 'my-upstart.conf']);
  assert.deepEqual((await expandUserData(archive, { launchIndex: 1 })).parts.map((p) => p.filename), ['bar', 'part-002', 'part-003']);
  const cfg = readFileSync(path.join(DOCS, 'cloud-config-launch-index.txt'));
  assert.equal((await expandUserData(cfg, { launchIndex: 5 })).parts.length, 1);
  assert.equal((await expandUserData(cfg, { launchIndex: 0 })).parts.length, 0);
});

test('a non-integer index matches no instance; no index matches all', async () => {
  const doc = Buffer.from(Buffer.from(makeMime([
    { content: Buffer.from('#!/bin/sh\n'), type: 'text/x-shellscript', filename: 'bad' },
    { content: Buffer.from('#cloud-config\nlaunch-index: two\n'), type: 'text/cloud-config', filename: 'key-not-int' },
    { content: Buffer.from('#cloud-config\n"launch\\x2dindex": 7\n'), type: 'text/cloud-config', filename: 'escaped-key' },
  ])).toString().replace('filename="bad"', 'filename="bad"\nLaunch-Index: c'));
  assert.deepEqual((await expandUserData(doc, { launchIndex: 0 })).parts.map((p) => p.filename), ['key-not-int']);
  assert.deepEqual((await expandUserData(doc, { launchIndex: 7 })).parts.map((p) => p.filename), ['key-not-int', 'escaped-key']);
  assert.equal((await expandUserData(doc)).parts.length, 3);
  assert.equal(pyInt(' 12 '), 12);
  assert.equal(pyInt('1_0'), 10);
  assert.equal(pyInt('1.0'), null);
  assert.equal(pyInt(true), 1);
  assert.equal(pyInt(2.9), 2);
  assert.equal(pyInt(null), null);
  assert.ok(launchIndexMatches(null, 3) && launchIndexMatches('3', undefined) && !launchIndexMatches('x', 0));
});
