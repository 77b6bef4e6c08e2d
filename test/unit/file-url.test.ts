// Unit: the one file:// reader (net/file-url.ts) that #include and NoCloud's
// seedfrom share: a file of the root, %-escapes decoded, another host
// refused, absent is null, a directory or a file over the cap is an error.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Files } from '../../src/host/files.ts';
import { fileUrlPath, readFileUrl } from '../../src/net/file-url.ts';
import { tempDir } from '../helpers/files.ts';

test('file:// URLs name files of the root', () => {
  const root = tempDir('file-url-');
  mkdirSync(join(root, 'srv/a b'), { recursive: true });
  writeFileSync(join(root, 'srv/a b/meta-data'), 'instance-id: x\n');
  symlinkSync('/srv/a b/meta-data', join(root, 'srv/link'));
  const files = new Files(root);
  const text = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString());
  assert.equal(text(readFileUrl(files, 'file:///srv/a%20b/meta-data', 1024)), 'instance-id: x\n');
  assert.equal(text(readFileUrl(files, 'file://localhost/srv/a%20b/meta-data', 1024)), 'instance-id: x\n');
  assert.equal(text(readFileUrl(files, '/srv/a b/meta-data', 1024)), 'instance-id: x\n');
  assert.equal(text(readFileUrl(files, 'file:///srv/link', 1024)), 'instance-id: x\n', 'a link resolves inside the root');
  assert.equal(readFileUrl(files, 'file:///srv/missing', 1024), null);
  assert.throws(() => readFileUrl(files, 'file:///srv', 1024), /is not a regular file/);
  assert.throws(() => readFileUrl(files, 'file:///srv/a%20b/meta-data', 4), /larger than 4 bytes/);
  assert.throws(() => fileUrlPath('file://elsewhere/etc/passwd'), /remote host/);
});
