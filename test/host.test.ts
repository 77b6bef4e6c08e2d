// Unit: the host layer — paths resolved inside the root, atomic writes, owners.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { resolveOwner } from '../src/host/accounts.ts';
import { Files } from '../src/host/files.ts';
import { resolveInRoot } from '../src/host/paths.ts';
import { runProgram, describeExit } from '../src/host/run.ts';

const root = mkdtempSync(join(tmpdir(), 'ec2-init-unit-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('resolveInRoot follows symlinks against the root, never against /', () => {
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'run/systemd'), { recursive: true });
  symlinkSync('/run/systemd/stub', join(root, 'etc/resolv.conf'));
  symlinkSync('../../../../../../', join(root, 'etc/up'));
  symlinkSync('loop2', join(root, 'etc/loop1'));
  symlinkSync('loop1', join(root, 'etc/loop2'));
  assert.equal(resolveInRoot(root, '/etc/resolv.conf'), join(root, 'run/systemd/stub'));
  assert.equal(resolveInRoot(root, '/etc/up/etc/passwd'), join(root, 'etc/passwd'));
  assert.equal(resolveInRoot(root, '/../../etc/shadow'), join(root, 'etc/shadow'));
  assert.equal(resolveInRoot(root, 'var//lib/./cloud'), join(root, 'var/lib/cloud'));
  assert.throws(() => resolveInRoot(root, '/etc/loop1'), /too many symbolic links/);
  assert.equal(resolveInRoot('/', '/etc/../etc/hosts'), '/etc/hosts');
});

test('Files.write is atomic, sets the mode from the start and leaves no temp file', () => {
  const files = new Files(root);
  files.write('/a/b/secret', 'one', { mode: 0o600 });
  assert.equal(readFileSync(join(root, 'a/b/secret'), 'utf8'), 'one');
  assert.equal(statSync(join(root, 'a/b/secret')).mode & 0o777, 0o600);
  files.write('/a/b/secret', 'two', { mode: 0o640 });
  assert.equal(readFileSync(join(root, 'a/b/secret'), 'utf8'), 'two');
  assert.equal(statSync(join(root, 'a/b/secret')).mode & 0o777, 0o640);
  files.append('/a/b/secret', '+three');
  assert.equal(readFileSync(join(root, 'a/b/secret'), 'utf8'), 'two+three');
  assert.deepEqual(readdirSync(join(root, 'a/b')), ['secret']);
  files.symlink('/a/link', 'b/secret');
  files.symlink('/a/link', 'b');
  assert.equal(files.isDirectory('/a/link'), true);
  assert.equal(files.readIfExists('/a/missing'), null);
  // A symlink is removed or replaced as itself, never through to its target.
  assert.equal(files.isSymlink('/a/link'), true);
  files.unlink('/a/link');
  assert.equal(files.isSymlink('/a/link'), false);
  assert.equal(readFileSync(join(root, 'a/b/secret'), 'utf8'), 'two+three');
});

test('resolveOwner reads the root\'s own account files', () => {
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\nweb:x:33:34::/var/www:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nweb:x:34:\nadm:x:4:\n');
  const files = new Files(root);
  assert.deepEqual(resolveOwner(files, 'web'), { uid: 33, gid: 34 });
  assert.deepEqual(resolveOwner(files, 'web:adm'), { uid: 33, gid: 4 });
  assert.deepEqual(resolveOwner(files, '1000:1000'), { uid: 1000, gid: 1000 });
  assert.throws(() => resolveOwner(files, 'ghost'), /unknown user 'ghost'/);
  assert.throws(() => resolveOwner(files, 'web:ghosts'), /unknown group 'ghosts'/);
});

test('runProgram: exit codes, captured output, timeouts, a missing program', async () => {
  const ok = await runProgram('/', ['/bin/sh', '-c', 'echo out; echo err >&2; exit 3'], { output: 'capture' });
  assert.deepEqual([ok.code, ok.stdout, ok.stderr], [3, 'out\n', 'err\n']);
  assert.equal(describeExit(ok), 'exit 3');
  const slow = await runProgram('/', ['/bin/sleep', '5'], { output: 'capture', timeoutMs: 100 });
  assert.equal(slow.timedOut, true);
  assert.equal(describeExit(slow, 100), 'timed out after 0.1 s');
  const missing = await runProgram('/', ['/nonexistent/program'], { output: 'capture' });
  assert.equal(missing.code, 127);
  assert.match(missing.stderr, /ENOENT/);
  const env = await runProgram('/', ['/bin/sh', '-c', 'echo "$PATH|$SECRET|$X"'], { output: 'capture', env: { X: 'y' } });
  assert.equal(env.stdout, '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin||y\n');
});
