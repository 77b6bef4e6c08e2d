// Property tests: random and mutated bytes, MIME and gzip fed to the decoder
// never crash it, never hang it, and never grow past the size limit; well-formed
// makeMime output always reads back exactly; and ec2-init's MIME reader agrees
// with Python's email parser on random mutated documents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { expandUserData, type ExpandOptions } from '../../src/userdata/expand.ts';
import { parseMime } from '../../src/userdata/mime.ts';
import { makeMime } from '../../src/userdata/make-mime.ts';
import { sanitizeFilename } from '../../src/userdata/sanitize.ts';
import { mergeConfig, type Config } from '../../src/config/merge.ts';
import { needPython } from '../helpers/needs.ts';
import { buf } from '../helpers/bytes.ts';

const RUNS = Number(process.env['UD_PROPERTY_RUNS'] ?? 300);
// Never touch the network from a random document that happens to say #include.
const offline: ExpandOptions = { fetch: async (url) => { throw new Error(`offline: ${url}`); }, maxBytes: 1024 * 1024 };

async function decodeWithinBounds(doc: Uint8Array, opts: ExpandOptions = offline): Promise<void> {
  const t0 = performance.now();
  const r = await expandUserData(doc, opts);
  const ms = performance.now() - t0;
  assert.ok(ms < 2000, `decoding took ${ms} ms`);
  const total = r.parts.reduce((n, p) => n + p.body.length, 0);
  assert.ok(total <= 3 * (opts.maxBytes ?? 16 * 1024 * 1024), `parts hold ${total} bytes`);
  for (const p of r.parts) {
    assert.ok(typeof p.type === 'string' && p.type.includes('/'), p.type);
    assert.ok(!p.filename.includes('/') && !p.filename.includes('\0') && p.filename !== '..' && p.filename !== '.', p.filename);
    assert.ok(!p.type.startsWith('text/x-include'), 'no include part is ever returned');
  }
  for (const d of r.diags) assert.ok(d.level === 'warning' || d.level === 'error');
}

// Fragments that steer random documents into the interesting paths.
const FRAGMENTS = [
  'MIME-Version: 1.0\n', 'Content-Type: multipart/mixed; boundary="b"\n', '--b\n', '--b--\n', '\n', '\r\n',
  'Content-Transfer-Encoding: base64\n', 'Content-Transfer-Encoding: quoted-printable\n', '=3D=\n', 'Content-Type: text/x-shellscript\n',
  '#cloud-config\n', '#cloud-config-archive\n', '- {type: text/x-include-url, content: "#include x"}\n', '#include http://127.0.0.1:9/x\n',
  '#!/bin/sh\n', 'Content-Disposition: attachment; filename*=utf-8\'\'%2E%2E%2Fx\n', 'Launch-Index: 1\n', 'launch-index: 2\n',
  'Content-Type: application/gzip\n', 'Content-Type: message/rfc822\n', 'Content-Type: multipart/digest; boundary=b\n', ' folded\n',
  'Content-Type: text/plain; charset=utf-16\n', 'From nobody\n', 'merge_how: dict(replace)\n',
];
const fragmentDoc = fc.array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 20 })), { maxLength: 40 }).map((a) => Buffer.from(a.join(''), 'latin1'));

test('random bytes: no crash, no hang', async (t) => {
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (bytes) => decodeWithinBounds(Buffer.from(bytes))), { numRuns: RUNS });
  await fc.assert(fc.asyncProperty(fragmentDoc, async (doc) => decodeWithinBounds(doc)), { numRuns: RUNS });
  t.diagnostic(`${2 * RUNS} cases`);
});

const TYPES = ['text/x-shellscript-per-boot', 'text/cloud-boothook', 'text/part-handler', 'application/octet-stream', 'application/x-sh', 'text/upstart-job', 'foo/bar'];
const partArb = fc.record({
  content: fc.oneof(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), fc.string({ maxLength: 300 }).map((s) => Buffer.from(s, 'utf8'))),
  type: fc.constantFrom(...TYPES),
  filename: fc.string({ minLength: 1, maxLength: 30 }),
});

test('makeMime output always reads back to the same parts', async (t) => {
  await fc.assert(fc.asyncProperty(fc.array(partArb, { minLength: 1, maxLength: 8 }), async (parts) => {
    const r = await expandUserData(makeMime(parts), offline);
    assert.equal(r.parts.length, parts.length);
    parts.forEach((p, i) => {
      const got = r.parts[i]!;
      assert.equal(got.type, p.type);
      assert.deepEqual(buf(got.body), buf(p.content));
      assert.equal(got.filename, sanitizeFilename(p.filename) ?? `part-${String(i + 1).padStart(3, '0')}`);
    });
  }), { numRuns: RUNS });
  t.diagnostic(`${RUNS} cases`);
});

/** Random edits of a valid document: flips, cuts, repeats, inserted boundary lines. */
function mutate(doc: Buffer, edits: Array<[number, number, number]>): Buffer {
  let out = doc;
  for (const [kind, a, b] of edits) {
    const i = out.length === 0 ? 0 : a % out.length;
    if (kind === 0) { out = Buffer.from(out); if (out.length) out[i] = b & 0xff; }
    else if (kind === 1) out = Buffer.concat([out.subarray(0, i), out.subarray(Math.min(out.length, i + (b % 64)))]);
    else if (kind === 2) out = Buffer.concat([out.subarray(0, i), out.subarray(i, i + (b % 200)), out.subarray(i)]);
    else if (kind === 3) out = Buffer.concat([out.subarray(0, i), Buffer.from(FRAGMENTS[b % FRAGMENTS.length]!, 'latin1'), out.subarray(i)]);
    else out = out.subarray(0, i);
  }
  return out;
}
const editsArb = fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.nat(), fc.nat()), { minLength: 1, maxLength: 6 });

function nested(parts: Array<{ content: Buffer; type: string; filename: string }>): Buffer {
  const inner = Buffer.from(makeMime(parts.slice(0, 2))).toString('latin1').replace(/^MIME-Version: 1.0\n/m, '');
  const outer = Buffer.from(makeMime(parts.slice(2))).toString('latin1');
  const boundary = /boundary="([^"]+)"/.exec(outer)![1]!;
  return Buffer.from(outer.replace(`--${boundary}--`, `--${boundary}\n${inner}\n--${boundary}--`), 'latin1');
}

test('mutated MIME and gzip: no crash, no hang', async (t) => {
  await fc.assert(fc.asyncProperty(fc.array(partArb, { minLength: 3, maxLength: 6 }), editsArb, async (parts, edits) => {
    await decodeWithinBounds(mutate(nested(parts), edits));
  }), { numRuns: RUNS });
  await fc.assert(fc.asyncProperty(fc.array(partArb, { minLength: 3, maxLength: 6 }), editsArb, fc.boolean(), async (parts, edits, inside) => {
    const doc = nested(parts);
    if (inside) {
      const gz = mutate(gzipSync(doc), edits);
      await decodeWithinBounds(makeMime([{ content: gz, type: 'application/gzip', filename: 'x.gz' }, ...parts.slice(0, 1)]));
    } else {
      await decodeWithinBounds(mutate(gzipSync(doc), edits));
    }
  }), { numRuns: RUNS });
  t.diagnostic(`${2 * RUNS} cases`);
});

test('size limit holds for random gzip bombs', async (t) => {
  await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1024, max: 64 * 1024 }), async (mib, limit) => {
    const bomb = gzipSync(Buffer.alloc(mib * 1024 * 1024, 0x41), { level: 1 });
    const r = await expandUserData(bomb, { ...offline, maxBytes: limit });
    assert.deepEqual(r.parts, []);
    assert.equal(r.diags[0]!.level, 'error');
  }), { numRuns: 40 });
  t.diagnostic('40 cases');
});

test('merging random configs never throws and never changes its inputs', (t) => {
  const json = fc.jsonValue({ maxDepth: 3 });
  const how = fc.array(fc.constantFrom('dict()', 'dict(replace)', 'dict(no_replace,recurse_array)', 'dict(allow_delete,recurse_str)', 'list()', 'list(append)', 'list(prepend,recurse_dict)', 'list(no_replace)', 'str()', 'str(append)', 'bogus'), { maxLength: 4 }).map((a) => a.join('+'));
  fc.assert(fc.property(fc.dictionary(fc.string(), json), fc.dictionary(fc.string(), json), how, (a, b, h) => {
    const ca = JSON.stringify(a);
    const cb = JSON.stringify(b);
    const out = mergeConfig(a as Config, b as Config, h);
    assert.equal(typeof out, 'object');
    assert.equal(JSON.stringify(a), ca);
    assert.equal(JSON.stringify(b), cb);
  }), { numRuns: RUNS });
  t.diagnostic(`${RUNS} cases`);
});


// Python's view of many documents at once (one process): as in userdata-mime.test.ts.
const PY_BATCH = String.raw`
import sys, json, base64, email
def norm(x):
    if x is None:
        return None
    b = x.encode('utf-8', 'surrogateescape')
    try:
        return b.decode('utf-8')
    except UnicodeDecodeError:
        return b.decode('latin-1')
docs = json.load(sys.stdin)
res = []
for d in docs:
    msg = email.message_from_bytes(base64.b64decode(d))
    out = []
    for part in msg.walk():
        if (part.get_content_maintype() or '').lower() == 'multipart' or (part.get_content_maintype() == 'message' and part.is_multipart()):
            continue
        payload = part.get_payload(decode=True)
        if payload is None:
            payload = b''
        if part.get_content_maintype() == 'text':
            cs = part.get_content_charset()
            if cs and cs not in ('utf-8', 'utf8', 'us-ascii', 'ascii'):
                try:
                    payload = payload.decode(cs).encode('utf-8')
                except Exception:
                    pass
        out.append([norm(part.get_content_type()), norm(part.get_filename()), base64.b64encode(payload).decode()])
    res.append(out)
print(json.dumps(res))
`;

test('on mutated MIME, ec2-init reads what Python\'s email parser reads', { skip: needPython('email', 'python3') ?? false }, (t) => {
  // Plain ASCII parts in known charsets, so the comparison is about structure.
  const asciiPart = fc.record({
    content: fc.string({ maxLength: 200, unit: fc.constantFrom(...'abc #!-=\n\t:;"'.split('')) }).map((s) => Buffer.from(s)),
    type: fc.constantFrom('text/x-shellscript-per-boot', 'application/octet-stream', 'text/cloud-boothook'),
    filename: fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom(...'ab.-_ é'.split('')) }),
  });
  const samples = fc.sample(fc.tuple(fc.array(asciiPart, { minLength: 3, maxLength: 5 }), editsArb), { numRuns: RUNS, seed: 42 });
  const docs = samples.map(([parts, edits]) => mutate(nested(parts), edits));
  // And soups of MIME fragments.
  docs.push(...fc.sample(fragmentDoc, { numRuns: RUNS, seed: 7 }));
  const r = spawnSync('python3', ['-c', PY_BATCH], { input: JSON.stringify(docs.map((d) => d.toString('base64'))), maxBuffer: 256 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr.toString());
  const py = JSON.parse(r.stdout.toString()) as Array<Array<[string, string | null, string]>>;
  let same = 0;
  const differ: string[] = [];
  docs.forEach((doc, i) => {
    // Python turns non-ASCII header bytes into U+FFFD (or, in RFC 2231 values, the
    // text '\\ufffd'): compare header text on ASCII only.
    const ascii = (v: string | null): string | null => (v === null ? null : v.replace(/\\ufffd/g, '?').replace(/[^\x00-\x7f]+/g, '?').replace(/\?+/g, '?'));
    const ours = parseMime(doc).leaves.map((l) => [ascii(l.type), ascii(l.filename), Buffer.from(l.body).toString('base64')]);
    const theirs = py[i]!.map(([ty, fn, body]) => [ascii(ty), ascii(fn), body]);
    if (JSON.stringify(ours) === JSON.stringify(theirs)) same++;
    else {
      differ.push(doc.toString('latin1'));
      if (process.env['UD_DIFF_DIR']) writeFileSync(path.join(process.env['UD_DIFF_DIR'], `diff-${i}.eml`), doc);
    }
  });
  t.diagnostic(`${docs.length} mutated documents and fragment soups: ${same} read identically by Python and ec2-init`);
  assert.deepEqual(differ.slice(0, 1), [], `${differ.length} documents read differently`);
});
