// First-line typing and type names, and every cloud-init doc example typed as
// cloud-init types it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { sniffType, canonicalType } from '../../src/userdata/sniff.ts';
import { expandUserData } from '../../src/userdata/expand.ts';
import { sanitizeFilename, partName } from '../../src/userdata/sanitize.ts';
import { CONFORMANCE } from '../helpers/paths.ts';
import { buf } from '../helpers/bytes.ts';

const DOCS = path.join(CONFORMANCE, 'cloud-init/doc-examples');
const noConformance = existsSync(DOCS) ? false : `conformance data absent (${DOCS}): skipped`;

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

test('first lines map to cloud-init types, longest prefix first', () => {
  const cases: Array<[string, string | null]> = [
    ['#!/bin/sh\necho hi', 'text/x-shellscript'],
    ['#cloud-config\na: 1', 'text/cloud-config'],
    ['#cloud-config-archive\n- a', 'text/cloud-config-archive'],
    ['#cloud-config-jsonp\n[]', 'text/cloud-config-jsonp'],
    ['#include\nhttp://x', 'text/x-include-url'],
    ['#include-once\nhttp://x', 'text/x-include-once-url'],
    ['#cloud-boothook\n#!/bin/sh', 'text/cloud-boothook'],
    ['#part-handler\ndef list_types(): pass', 'text/part-handler'],
    ['#upstart-job\nstart on x', 'text/upstart-job'],
    ['## template: jinja\n#cloud-config', 'text/jinja2'],
    ['#Cloud-Config\n', 'text/cloud-config'],
    ['#INCLUDE-ONCE http://x', 'text/x-include-once-url'],
    ['   \n\t #cloud-config', 'text/cloud-config'],
    ['\u00a0\u2003#!/bin/bash', 'text/x-shellscript'],
    ['\ufeff#cloud-config', null], // a BOM is not whitespace to Python
    ['hello', null],
    ['', null],
    ['# cloud-config', null],
  ];
  for (const [text, want] of cases) assert.equal(sniffType(b(text)), want, JSON.stringify(text));
  assert.equal(sniffType(Buffer.from([0x23, 0x21, 0xff, 0xfe])), null, 'not UTF-8: no type');
});

test('declared types: aliases, parameters, Python fallback', () => {
  assert.equal(canonicalType('Text/X-ShellScript; charset="utf-8"'), 'text/x-shellscript');
  assert.equal(canonicalType('ubuntu-ec2-config'), 'text/cloud-config');
  assert.equal(canonicalType('text/ubuntu-ec2-config'), 'text/cloud-config');
  assert.equal(canonicalType('text/x-upstart'), 'text/upstart-job');
  assert.equal(canonicalType('application/x-sh'), 'application/x-sh');
  assert.equal(canonicalType('nonsense'), 'text/plain');
  assert.equal(canonicalType('a/b/c'), 'text/plain');
  assert.equal(canonicalType(undefined), 'text/plain');
  assert.equal(canonicalType(undefined, 'message/rfc822'), 'message/rfc822');
});

test('file names are never paths', () => {
  assert.equal(sanitizeFilename('script.sh'), 'script.sh');
  assert.equal(sanitizeFilename('../../etc/passwd'), '.._.._etc_passwd');
  assert.equal(sanitizeFilename('/etc/shadow'), '_etc_shadow');
  assert.equal(sanitizeFilename('a\\b'), 'a_b');
  assert.equal(sanitizeFilename('..'), null);
  assert.equal(sanitizeFilename('.'), null);
  assert.equal(sanitizeFilename(''), null);
  assert.equal(sanitizeFilename('   '), null);
  assert.equal(sanitizeFilename('a\0b\nc\x7f'), 'a_b_c_');
  assert.equal(sanitizeFilename(null), null);
  const long = sanitizeFilename('é'.repeat(300))!;
  assert.ok(Buffer.byteLength(long) <= 255 && !long.includes('\ufffd'));
  for (const n of [sanitizeFilename('x/../../y'), sanitizeFilename('\u2028')]) assert.ok(n === null || (!n.includes('/') && n !== '..'));
  assert.equal(partName(1), 'part-001');
  assert.equal(partName(1234), 'part-1234');
});

// What cloud-init gives each documented example (cloudinit/user_data.py with
// handlers.type_from_starts_with; a non-MIME document that announces nothing
// stays text/x-not-multipart).
const DOC_TYPES: Record<string, string> = {
  'boothook.txt': 'text/cloud-boothook',
  'include.txt': 'text/x-include-url',
  'include-once.txt': 'text/x-include-once-url',
  'part-handler.txt': 'text/part-handler',
  'part-handler-v2.txt': 'text/part-handler',
  'user-script.txt': 'text/x-shellscript',
  'plain-ignored.txt': 'text/x-not-multipart',
  'kernel-command-line.txt': 'text/x-not-multipart',
  'cloud-config-archive.txt': 'text/cloud-config-archive',
  'cloud-config-archive-launch-index.txt': 'text/cloud-config-archive',
  'seed/user-data': 'text/cloud-config',
};

test('every doc example is typed as cloud-init types it', { skip: noConformance }, async () => {
  const files = [...readdirSync(DOCS).filter((f) => f.endsWith('.txt')), 'seed/user-data'];
  assert.ok(files.length >= 36, `found ${files.length} examples`);
  for (const f of files) {
    const body = readFileSync(path.join(DOCS, f));
    const want = DOC_TYPES[f] ?? (f.startsWith('cloud-config') ? 'text/cloud-config' : undefined);
    assert.ok(want, `no expectation for ${f}`);
    assert.equal(sniffType(body) ?? 'text/x-not-multipart', want, f);
    // And through the whole decoder: includes answered locally, never fetched.
    const fetched: string[] = [];
    const r = await expandUserData(body, { fetch: async (url) => { fetched.push(url); return b('#cloud-config\nincluded: true\n'); } });
    assert.deepEqual(r.diags.filter((d) => d.level === 'error'), [], f);
    if (want === 'text/x-include-url' || want === 'text/x-include-once-url') {
      assert.ok(fetched.length >= 2, f);
      assert.deepEqual(r.parts.map((p) => p.type), fetched.map(() => 'text/cloud-config'), f);
    } else if (want === 'text/cloud-config-archive') {
      assert.ok(r.parts.length >= 4, f);
    } else {
      assert.deepEqual(r.parts.map((p) => [p.type, p.filename]), [[want, 'part-001']], f);
      if (f === 'cloud-config-launch-index.txt') {
        // Its launch-index key becomes the part's Launch-Index, kept in the saved MIME.
        assert.equal(r.parts[0]!.headers['launch-index'], '5');
        const again = await expandUserData(r.expanded);
        assert.deepEqual(again.parts.map((p) => ({ ...p, body: buf(p.body) })), r.parts.map((p) => ({ ...p, body: buf(p.body) })), `${f}: user-data.txt reads back to the same part`);
      } else {
        assert.deepEqual(Buffer.from(r.expanded), body, `${f}: one plain part is saved as is`);
      }
    }
  }
});

test('cloud-config-archive.txt explodes into the parts cloud-init makes', { skip: noConformance }, async () => {
  const r = await expandUserData(readFileSync(path.join(DOCS, 'cloud-config-archive.txt')));
  assert.deepEqual(r.parts.map((p) => [p.type, p.filename]), [
    ['foo/wark', 'bar'],
    ['text/cloud-config', 'part-002'],
    ['text/cloud-config', 'part-003'],
    ['text/cloud-config', 'part-004'],
  ]);
  assert.equal(Buffer.from(r.parts[0]!.body).toString(), 'This is my payload\nhello\n');
  assert.equal(Buffer.from(r.parts[1]!.body).toString(), 'this is also payload');
  assert.equal(Buffer.from(r.parts[2]!.body).toString(), 'multi line payload\nhere\n');
  assert.equal(Buffer.from(r.parts[3]!.body).toString(), '#cloud-config\\n\\n        password: gocubs');
});
