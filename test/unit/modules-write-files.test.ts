// write_files content as cloud-init's cc_write_files decodes it
// (canonicalize_extraction + extract_contents): text or YAML !!binary bytes,
// each encoding undone on either. The integration test of the same name
// writes through the built executable.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { decodeContent } from '../../src/modules/write_files.ts';
import { parseYaml } from '../../src/yaml/index.ts';
import { buf } from '../helpers/bytes.ts';

const PAYLOAD = 'hello from terraform\nline 2\n';
const GZ = gzipSync(Buffer.from(PAYLOAD));

test('!!binary content: the encoding is undone on the bytes, as cloud-init does (gzip inflated, b64 decoded again)', () => {
  // Terraform's idiom: encoding gzip, the gzip stream as !!binary (base64gzip()).
  const doc = `write_files:\n  - path: /etc/tf\n    encoding: gzip\n    content: !!binary |\n      ${GZ.toString('base64')}\n`;
  const entry = (parseYaml(doc) as { write_files: Array<{ content: Uint8Array }> }).write_files[0]!;
  assert.ok(entry.content instanceof Uint8Array);
  assert.equal(buf(decodeContent(entry.content, 'gzip')).toString(), PAYLOAD);
  assert.equal(buf(decodeContent(entry.content, 'GZ ')).toString(), PAYLOAD);
  // Bytes that are themselves base64 (cloud-init's base64.b64decode takes bytes too).
  assert.equal(buf(decodeContent(Buffer.from(GZ.toString('base64')), 'gz+b64')).toString(), PAYLOAD);
  assert.equal(buf(decodeContent(Buffer.from('aGVs\nbG8='), 'base64')).toString(), 'hello');
  // Without an encoding (or text/plain) the bytes are written as they are, however unprintable.
  assert.deepEqual(buf(decodeContent(Buffer.from([0, 0xff, 0x1f, 0x8b]), '')), Buffer.from([0, 0xff, 0x1f, 0x8b]));
  assert.deepEqual(buf(decodeContent(Buffer.from([0, 0xff]), 'text/plain')), Buffer.from([0, 0xff]));
  // Bytes that are not gzip under encoding gzip: an error for that entry (cloud-init's module fails on it).
  assert.throws(() => decodeContent(Buffer.from('not gzip'), 'gzip'), /gzip data could not be decompressed/);
});

test('text content: b64, gz+b64 and text as before', () => {
  assert.equal(buf(decodeContent(GZ.toString('base64'), 'gzip+base64')).toString(), PAYLOAD);
  assert.equal(buf(decodeContent(Buffer.from(PAYLOAD).toString('base64'), 'b64')).toString(), PAYLOAD);
  assert.equal(buf(decodeContent('é\n', '')).toString(), 'é\n');
  assert.throws(() => decodeContent('x', 'rot13'), /unknown encoding 'rot13'/);
});
