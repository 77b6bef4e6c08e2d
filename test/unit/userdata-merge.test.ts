// Merging cloud-config parts exactly as cloud-init: its 12 merge cases, and
// each merger option on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { mergeConfig, tryMergeConfig, parseMergeString, mergeManyDicts, type Config } from '../../src/config/merge.ts';
import { parseYaml as loadYaml } from '../../src/yaml/index.ts';
import { expandUserData } from '../../src/userdata/expand.ts';
import { makeMime } from '../../src/userdata/make-mime.ts';
import { mergeCloudConfig } from '../../src/handlers/index.ts';
import { CONFORMANCE } from '../helpers/paths.ts';

const SOURCES = path.join(CONFORMANCE, 'cloud-init/merge-sources');
const noConformance = existsSync(SOURCES) ? false : `conformance data absent (${SOURCES}): skipped`;

test('cloud-init\'s 12 merge cases give exactly expectedN', { skip: noConformance }, async (t) => {
  const files = readdirSync(SOURCES);
  const ids = [...new Set(files.map((f) => /^source(\d+)-\d+\.yaml$/.exec(f)?.[1]).filter((x) => x !== undefined))].map(Number).sort((a, b) => a - b);
  assert.deepEqual(ids, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  for (const id of ids) {
    const sources = files.filter((f) => f.startsWith(`source${id}-`)).sort();
    let merged: Config = {};
    for (const f of sources) {
      const r = tryMergeConfig(merged, await loadYaml(readFileSync(path.join(SOURCES, f), 'utf8')));
      assert.equal(r.error, undefined, `${f}: ${r.error}`);
      merged = r.config;
    }
    const expected = await loadYaml(readFileSync(path.join(SOURCES, `expected${id}.yaml`), 'utf8'));
    assert.deepEqual(merged, expected, `case ${id} (${sources.join(', ')})`);
    t.diagnostic(`case ${id}: ${sources.length} sources merged as expected${id}.yaml`);
  }
});

test('the same cases through MIME parts with Merge-Type headers', { skip: noConformance }, async () => {
  // Case 6's merge_type key moved to a Merge-Type header gives the same result.
  const a = readFileSync(path.join(SOURCES, 'source6-1.yaml'));
  const b = readFileSync(path.join(SOURCES, 'source6-2.yaml')).toString().replace(/^merge_type:.*$/m, '');
  const doc = Buffer.from(makeMime([
    { content: a, type: 'text/cloud-config', filename: 'a' },
    { content: Buffer.from(b), type: 'text/cloud-config', filename: 'b' },
  ])).toString().replace('filename="b"', 'filename="b"\nX-Merge-Type: list(append)+dict(recurse_array)+str()');
  const r = await expandUserData(Buffer.from(doc));
  let merged: Config = {};
  for (const p of r.parts) merged = mergeConfig(merged, (await loadYaml(Buffer.from(p.body).toString())) as Config, p.headers['merge-type']);
  assert.deepEqual(merged, await loadYaml(readFileSync(path.join(SOURCES, 'expected6.yaml'), 'utf8')));
});

test('default is dict(replace)+list()+str(): later parts win, lists replaced', () => {
  const out = mergeConfig({ a: 1, l: [1, 2], d: { x: 1, y: { z: 1 } } }, { a: 2, l: [3], d: { y: { w: 2 } }, n: null });
  assert.deepEqual(out, { a: 2, l: [3], d: { y: { w: 2 } }, n: null });
});

test('merger options, one by one', () => {
  const base = { s: 'ab', l: [1, 2, 3], d: { k: 1, keep: true }, n: 5 };
  const cases: Array<[string, Config, Config]> = [
    ['dict()', { s: 'x', n: 6, d: { k: 2, new: 1 } }, { ...base, d: { k: 1, keep: true, new: 1 } }],
    ['dict(replace)', { s: 'x', d: { k: 2 } }, { ...base, s: 'x', d: { k: 2 } }],
    ['dict(no_replace,recurse_str)+str(append)', { s: 'cd' }, { ...base, s: 'abcd' }],
    ['dict(recurse_list)+list(append)', { l: [4] }, { ...base, l: [1, 2, 3, 4] }],
    ['dict(recurse_array)+list(prepend)', { l: [4] }, { ...base, l: [4, 1, 2, 3] }],
    ['dict(recurse_array)+list()', { l: [9] }, { ...base, l: [9, 2, 3] }],
    ['dict(recurse_array)+list(no_replace)', { l: [9, 9, 9, 9] }, base],
    ['dict(allow_delete)', { d: null, n: null }, { s: 'ab', l: [1, 2, 3] }],
    ['dict(allow_delete,no_replace)', { d: { k: null } }, { ...base, d: { keep: true } }],
    ['list(append)', { l: [4] }, base],
    ['dict(recurse_array)+list(append)', { l: 'xy' }, base],
    ['dict(recurse_array,recurse_str)+list(append)', { l: 'xy' }, { ...base, l: [1, 2, 3, 'x', 'y'] }],
    ['dict(recurse_str)+str()', { n: 'x', s: 'y' }, { ...base, s: 'y' }],
  ];
  for (const [how, next, want] of cases) {
    assert.deepEqual(mergeConfig(base, next, how), want, `header ${how}`);
    assert.deepEqual(mergeConfig(base, { ...next, merge_how: how }, undefined), want, `merge_how ${how}`);
  }
  assert.deepEqual(base, { s: 'ab', l: [1, 2, 3], d: { k: 1, keep: true }, n: 5 }, 'inputs untouched');
});

test('merge_how in the part beats its header; merge_type is the older name', () => {
  assert.deepEqual(mergeConfig({ l: [1] }, { l: [2], merge_how: 'dict(recurse_array)+list(append)' }, 'dict(replace)'), { l: [1, 2] });
  assert.deepEqual(mergeConfig({ l: [1] }, { l: [2], merge_type: 'dict(recurse_array)+list(prepend)' }), { l: [2, 1] });
  assert.deepEqual(mergeConfig({ l: [1] }, { l: [2], merge_how: 'dict(recurse_array)+list(append)', merge_type: 'x' }), { l: [1, 2], merge_type: 'x' });
  assert.deepEqual(mergeConfig({}, { merge_how: [{ name: 'dict', settings: ['replace'] }, ['list', 'append']], a: 1 }), { a: 1 });
  assert.deepEqual(parseMergeString(' Dict( Replace , recurse-list )+ list()+ '), [{ name: 'dict', opts: ['replace', 'recurse_list'] }, { name: 'list', opts: [] }]);
});

test('parts cloud-init cannot merge leave the config unchanged, with a reason', () => {
  const base = { a: 1, s: 'x', l: [1] };
  for (const [next, how] of [
    [{ a: 2 }, 'bogus'],
    [{ a: 2 }, 'nomerger()'],
    [{ s: [1] }, 'dict(recurse_array)+str(append)'],
    [{ a: 2 }, 'list('],
    [['a list'], undefined],
    [null, undefined],
  ] as Array<[unknown, string | undefined]>) {
    const r = tryMergeConfig(base, next, how);
    assert.equal(r.config, base);
    assert.ok(r.error, JSON.stringify(next));
    if (next !== null && !Array.isArray(next)) assert.equal(mergeConfig(base, next as Config, how), base);
  }
});

test('keys named __proto__ stay plain data', async () => {
  const next = (await loadYaml('__proto__: {polluted: true}\nb: 1\n')) as Config;
  const out = mergeConfig({ a: 1 }, next);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.equal(out['b'], 1);
});

test('mergeCloudConfig merges the cloud-config parts of decoded user-data, reporting the broken ones', async () => {
  const doc = makeMime([
    { content: Buffer.from('#cloud-config\nruncmd: [a]\npackages: [x]\n'), type: 'text/cloud-config', filename: 'one' },
    { content: Buffer.from('#!/bin/sh\n'), type: 'text/x-shellscript', filename: 'script' },
    { content: Buffer.from('#cloud-config\nruncmd: [b]\nmerge_how: dict(recurse_array)+list(append)\n'), type: 'text/cloud-config', filename: 'two' },
    { content: Buffer.from('#cloud-config\n'), type: 'text/cloud-config', filename: 'empty' },
    { content: Buffer.from('#cloud-config\nbad: [\n'), type: 'text/cloud-config', filename: 'broken' },
    { content: Buffer.from('#cloud-config\n- a list\n'), type: 'text/cloud-config', filename: 'list' },
    { content: Buffer.from('#cloud-config\npackages: [y]\nenabled: yes\nanswer: n\n'), type: 'text/cloud-config', filename: 'three' },
  ]);
  const { parts } = await expandUserData(doc);
  const diags: Array<[string, string, string]> = [];
  const config = mergeCloudConfig(parts, (level, where, message) => { if (level === 'error') diags.push([level, where, message]); });
  assert.deepEqual(config, { runcmd: ['a', 'b'], packages: ['y'], enabled: true, answer: 'n' });
  assert.deepEqual(diags.map(([l, w]) => [l, w]), [['error', 'user-data broken (text/cloud-config)'], ['error', 'user-data list (text/cloud-config)']]);
  assert.match(diags[0]![2], /line \d+, column \d+/);
});

test('mergeManyDicts is cloud-init\'s util.mergemanydict: the first source wins, dicts recurse', () => {
  // cloud-init's own compatibility cases (tests/unittests/test_merging.py).
  assert.deepEqual(mergeManyDicts([{ 1: '2', b: 'c' }, { b: 'e' }]), { 1: '2', b: 'c' });
  assert.deepEqual(mergeManyDicts([{ Blah: 1, Blah2: 2, Blah3: 3 }, { Blah: 1, Blah2: 2, Blah3: [1] }]), { Blah: 1, Blah2: 2, Blah3: 3 });
  assert.deepEqual(mergeManyDicts([{ b: [1, 2, 3] }, { b: [4, 5] }, { b: [6, 7] }]), { b: [1, 2, 3] });
  assert.deepEqual(mergeManyDicts([{ b: 'hi' }, { b: 'howdy' }, { b: 'hallo' }]), { b: 'hi' });
  assert.deepEqual(mergeManyDicts([
    { 1: '2', b: { f: 'g', e: 'c', h: 'd', hh: { 1: 2 } } },
    { b: { e: 'c', hh: { 3: 4 } } },
  ]), { 1: '2', b: { f: 'g', e: 'c', h: 'd', hh: { 1: 2, 3: 4 } } });
  assert.deepEqual(mergeManyDicts([{ 1: '2', b: { f: 'g' } }, { b: { e: 'c' } }]), { 1: '2', b: { f: 'g', e: 'c' } });
  assert.deepEqual(mergeManyDicts([{ 1: '2', b: { f: ['1'] } }, { b: { f: [] } }]), { 1: '2', b: { f: ['1'] } });
  // System config: user config first, then system; nested keys the user did not set survive.
  const system = { system_info: { distro: 'debian', default_user: { name: 'debian', shell: '/bin/bash' } } };
  const user = { system_info: { default_user: { name: 'admin' } } };
  assert.deepEqual(mergeManyDicts([user, system]), { system_info: { distro: 'debian', default_user: { name: 'admin', shell: '/bin/bash' } } });
  assert.deepEqual(mergeManyDicts([system, user], true), mergeManyDicts([user, system]));
  assert.deepEqual(mergeManyDicts([{ l: [1] }, { l: [2], merge_how: 'list(append)+dict(recurse_array)' }]), { l: [1, 2] });
  assert.deepEqual(mergeManyDicts([null, {}, [1], { a: 1 }]), { a: 1 });
});
