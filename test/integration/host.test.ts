// The host layer on throw-away roots: paths resolved inside the root, atomic
// writes, owners, and planted links (issue 11, item 1). Files follows only
// links owned by root and writes files of other users, so this needs root.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, lchownSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { resolveOwner } from '../../src/host/accounts.ts';
import { Files } from '../../src/host/files.ts';
import { tempDir } from '../helpers/files.ts';
import { needRoot } from '../helpers/needs.ts';

const notRoot = needRoot('links owned by root, files of other users') ?? false;
const root = tempDir('ec2-init-unit-');

test('paths resolve inside the root: links followed against the root, never against this machine', { skip: notRoot }, () => {
  const files = new Files(root);
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'run/systemd'), { recursive: true });
  symlinkSync('/run/systemd/stub', join(root, 'etc/resolv.conf'));
  symlinkSync('../../../../../../', join(root, 'etc/up'));
  symlinkSync('loop2', join(root, 'etc/loop1'));
  symlinkSync('loop1', join(root, 'etc/loop2'));
  // A dangling absolute link is followed inside the root, and written there.
  files.write('/etc/resolv.conf', 'nameserver 1\n');
  assert.equal(files.realpath('/etc/resolv.conf'), '/run/systemd/stub');
  assert.equal(readFileSync(join(root, 'run/systemd/stub'), 'utf8'), 'nameserver 1\n');
  assert.equal(files.realpath('/etc/up/etc/resolv.conf'), '/run/systemd/stub');
  assert.equal(files.realpath('/../../etc/up/../etc'), '/etc');
  assert.equal(files.realpath('run//../etc/./up'), '/');
  assert.throws(() => files.realpath('/etc/loop1'), /too many levels of symbolic links/);
});
test('Files.write is atomic, sets the mode from the start and leaves no temp file', { skip: notRoot }, () => {
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

test('Files.write of what is already there changes nothing; any difference (bytes, mode, owner, a hard link) is written', { skip: notRoot }, () => {
  const files = new Files(root);
  const path = join(root, 'same/file');
  const ino = () => statSync(path).ino;
  files.write('/same/file', 'content', { mode: 0o600 });
  const first = ino();
  files.write('/same/file', 'content', { mode: 0o600 });
  assert.equal(ino(), first, 'the same bytes, mode and owner: the file was left as it was');
  files.write('/same/file', 'CONTENT', { mode: 0o600 });
  assert.notEqual(ino(), first, 'other bytes of the same length: rewritten');
  assert.equal(readFileSync(path, 'utf8'), 'CONTENT');
  const second = ino();
  files.write('/same/file', 'CONTENT', { mode: 0o640 });
  assert.notEqual(ino(), second, 'another mode: rewritten');
  assert.equal(statSync(path).mode & 0o777, 0o640);
  const third = ino();
  files.write('/same/file', 'CONTENT', { mode: 0o640, uid: 1000, gid: 1000 });
  assert.notEqual(ino(), third, 'another owner: rewritten');
  assert.equal(statSync(path).uid, 1000);
  files.write('/same/file', 'CONTENT', { mode: 0o640 });
  linkSync(path, join(root, 'same/other-name'));
  files.write('/same/file', 'CONTENT', { mode: 0o640 });
  assert.equal(statSync(path).nlink, 1, 'a hard-linked file is replaced, never kept');
  const linkIno = () => lstatSync(join(root, 'same/link')).ino;
  files.symlink('/same/link', 'file');
  const l1 = linkIno();
  files.symlink('/same/link', 'file');
  assert.equal(linkIno(), l1, 'the same link again: left as it was');
  files.symlink('/same/link', 'other-name');
  assert.notEqual(linkIno(), l1, 'another target: replaced');
});

test('resolveOwner reads the root\'s own account files', { skip: notRoot }, () => {
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\nweb:x:33:34::/var/www:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nweb:x:34:\nadm:x:4:\n');
  const files = new Files(root);
  // No group: root's, as cloud-init's chownbyname(user, None) leaves a new file's group.
  assert.deepEqual(resolveOwner(files, 'web'), { uid: 33, gid: 0 });
  assert.deepEqual(resolveOwner(files, 'web:adm'), { uid: 33, gid: 4 });
  assert.deepEqual(resolveOwner(files, '1000:1000'), { uid: 1000, gid: 1000 });
  assert.throws(() => resolveOwner(files, 'ghost'), /unknown user 'ghost'/);
  assert.throws(() => resolveOwner(files, 'web:ghosts'), /unknown group 'ghosts'/);
});

// The attacks of issue 11, item 1, on the Files layer itself. Each plants a
// link as an image, a bootcmd or an unprivileged user could, and checks that
// nothing outside the root (here: a file beside it) changes.
describe('planted links never lead out of the root', { skip: notRoot }, () => {
  const outside = tempDir('ec2-init-outside-');
  const victim = join(outside, 'victim');
  const fresh = () => {
    const r = mkdtempSync(join(tmpdir(), 'ec2-init-unit-'));
    writeFileSync(victim, 'untouched\n', { mode: 0o644 });
    return r;
  };
  const untouched = () => {
    assert.equal(readFileSync(victim, 'utf8'), 'untouched\n');
    assert.equal(statSync(victim).mode & 0o7777, 0o644);
    assert.equal(statSync(victim).uid, 0);
  };

  test('a link planted at any temp name, old or new style, is never opened', () => {
    const r = fresh();
    mkdirSync(join(r, 'etc'));
    // The temp name the old code always used, and a spray of guesses at the new one.
    symlinkSync(victim, join(r, 'etc/.hostname.ec2-init.tmp'));
    for (let i = 0; i < 50; i++) symlinkSync(victim, join(r, `etc/.hostname.${i.toString(16).padStart(12, '0')}.ec2-init-tmp`));
    new Files(r).write('/etc/hostname', 'h1\n', { mode: 0o600, uid: 1000, gid: 1000 });
    untouched();
    assert.equal(readFileSync(join(r, 'etc/hostname'), 'utf8'), 'h1\n');
    assert.equal(statSync(join(r, 'etc/hostname')).uid, 1000);
    rmSync(r, { recursive: true, force: true });
  });

  test("a link owned by a user is refused, in the middle of a path or at its end", () => {
    const r = fresh();
    const files = new Files(r);
    mkdirSync(join(r, 'home/alice/.ssh'), { recursive: true });
    chownSync(join(r, 'home/alice'), 1000, 1000);
    chownSync(join(r, 'home/alice/.ssh'), 1000, 1000);
    // Relative, so that even followed "inside the root" it names the root's own /etc.
    symlinkSync('../../../etc/shadow', join(r, 'home/alice/.ssh/authorized_keys'));
    lchownSync(join(r, 'home/alice/.ssh/authorized_keys'), 1000, 1000);
    mkdirSync(join(r, 'etc'));
    writeFileSync(join(r, 'etc/shadow'), 'root:*:1::::::\n', { mode: 0o640 });
    assert.throws(() => files.write('/home/alice/.ssh/authorized_keys', 'ssh-ed25519 AAAA k\n', { uid: 1000, gid: 1000, mode: 0o600 }),
      (e: Error & { code?: string }) => e.code === 'EUNSAFE' && /symbolic link owned by uid 1000, not root: not followed/.test(e.message));
    assert.throws(() => files.read('/home/alice/.ssh/authorized_keys'), /owned by uid 1000/);
    assert.equal(readFileSync(join(r, 'etc/shadow'), 'utf8'), 'root:*:1::::::\n');
    assert.equal(statSync(join(r, 'etc/shadow')).uid, 0);
    // A user-owned link as a directory on the way.
    symlinkSync(outside, join(r, 'home/alice/out'));
    lchownSync(join(r, 'home/alice/out'), 1000, 1000);
    assert.throws(() => files.write('/home/alice/out/victim', 'x'), /owned by uid 1000/);
    untouched();
    rmSync(r, { recursive: true, force: true });
  });

  test("a root-owned link to a host path is followed inside the root; '..' never climbs out", () => {
    const r = fresh();
    const files = new Files(r);
    mkdirSync(join(r, 'etc'));
    symlinkSync(victim, join(r, 'etc/hosts')); // absolute: means <root><victim>
    symlinkSync('../../../../../../../..' + outside, join(r, 'etc/up'));
    files.write('/etc/hosts', 'inside\n');
    files.write('/etc/up/victim', 'inside too\n');
    untouched();
    assert.equal(readFileSync(join(r, victim.slice(1)), 'utf8'), 'inside too\n');
    rmSync(r, { recursive: true, force: true });
  });

  test('a hard link to a file of root in a user-owned directory is not read, and a write replaces it', () => {
    const r = fresh();
    const files = new Files(r);
    mkdirSync(join(r, 'home/bob'), { recursive: true });
    chownSync(join(r, 'home/bob'), 1001, 1001);
    mkdirSync(join(r, 'etc'));
    writeFileSync(join(r, 'etc/shadow'), 'secret\n', { mode: 0o600 });
    linkSync(join(r, 'etc/shadow'), join(r, 'home/bob/notes'));
    assert.throws(() => files.read('/home/bob/notes'), /hard links and belongs to uid 0/);
    files.write('/home/bob/notes', 'new\n', { uid: 1001, gid: 1001 });
    assert.equal(readFileSync(join(r, 'etc/shadow'), 'utf8'), 'secret\n');
    assert.equal(statSync(join(r, 'etc/shadow')).uid, 0);
    rmSync(r, { recursive: true, force: true });
  });

  test('a FIFO planted where a file is read does not hang the read', () => {
    const r = fresh();
    mkdirSync(join(r, 'etc'));
    execFileSync('mkfifo', [join(r, 'etc/passwd')]);
    assert.throws(() => new Files(r).read('/etc/passwd'), /not a regular file \(fifo\)/);
    rmSync(r, { recursive: true, force: true });
  });

  test('an appended log re-checks its path: a link put in its place is moved aside, never written through', () => {
    const r = fresh();
    const files = new Files(r);
    const log = files.openAppend('/var/log/test.log', 0o640);
    const notes: string[] = [];
    log.onReplaced = (n) => notes.push(n);
    log.write('one\n');
    rmSync(join(r, 'var/log/test.log'));
    symlinkSync(victim, join(r, 'var/log/test.log'));
    log.write('two\n');
    log.close();
    untouched();
    assert.equal(readFileSync(join(r, 'var/log/test.log'), 'utf8'), 'two\n');
    assert.equal(statSync(join(r, 'var/log/test.log')).mode & 0o777, 0o640);
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /was a symbolic link: moved aside/);
    assert.equal(readdirSync(join(r, 'var/log')).filter((n) => n.startsWith('test.log.unsafe-')).length, 1);
    rmSync(r, { recursive: true, force: true });
  });
});
