// ssh_authkey_fingerprints (issue 25, item 1): the fingerprint table as
// cloud-init prints it — checked line for line against cloud-init's own
// _pprint_key_entries, run chrooted in the compare tests' reference image on
// keys the real ssh-keygen made — and, through the built executable on a
// Debian-shaped root with the real useradd, the ~/.ssh (0700) and empty
// authorized_keys (0600) every listed user gets, as cloud-init's
// extract_authorized_keys makes them.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fingerprint, fingerprintLines } from '../../src/modules/ssh_authkey_fingerprints.ts';
import { parseKeyLine } from '../../src/validate/authorized-key.ts';
import { agent, cannotRun, seed } from '../helpers/agent.ts';
import { reference } from '../helpers/compare/image.ts';
import { debianRoot } from '../helpers/debian-root.ts';
import { mode, owner, read, writeIn } from '../helpers/files.ts';
import { needCommands, unavailable } from '../helpers/needs.ts';

/** Public keys made by the real ssh-keygen, one per type. */
function realKeys(): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'ec2-init-fp-'));
  return ['ed25519', 'rsa', 'ecdsa'].map((type) => {
    const file = join(dir, `id_${type}`);
    const r = spawnSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', `${type}@example`, '-f', file]);
    assert.equal(r.status, 0, String(r.stderr));
    return readFileSync(`${file}.pub`, 'utf8').trim();
  });
}

const keygen = needCommands(['ssh-keygen'], 'openssh-client');

describe('fingerprints', { skip: keygen ?? false }, () => {
  test('md5 as ssh-keygen -E md5 prints it, sha256/sha512 as the digest of the key blob, an unknown hash or broken base64 as ?', () => {
    for (const key of realKeys()) {
      const blob = key.split(' ')[1]!;
      const md5 = spawnSync('ssh-keygen', ['-l', '-E', 'md5', '-f', '-'], { input: key, encoding: 'utf8' }).stdout.split(' ')[1]!;
      assert.equal(`MD5:${fingerprint(blob, 'md5')}`, md5);
      for (const algo of ['sha1', 'sha256', 'sha512']) {
        const hex = createHash(algo).update(Buffer.from(blob, 'base64')).digest('hex');
        assert.equal(fingerprint(blob, algo.toUpperCase()), hex.match(/../g)!.join(':'));
      }
      assert.equal(fingerprint(blob, 'no-such-hash'), '?');
      assert.equal(fingerprint(blob.slice(0, -2), 'sha256'), '?', 'a blob without its padding is an error in Python');
    }
  });
});

// cloud-init's own printing, chrooted in the reference image (never on this
// host); its console writes are redirected to stdout for the test.
const PRINT = `
import sys
from cloudinit import ssh_util, util
from cloudinit.config import cc_ssh_authkey_fingerprints as m
try:
    from cloudinit.log import log_util
except ImportError:
    log_util = util
out = lambda text, **kw: sys.stdout.write(text)
log_util.multi_log = out
util.multi_log = out
user, path, hash_meth = sys.argv[1:4]
entries = [ssh_util.AuthKeyLineParser().parse(l) for l in sys.stdin.read().splitlines()]
m._pprint_key_entries(user, path, entries, hash_meth)
`;

const ref = await reference();
const noRef = typeof ref === 'string' ? unavailable(ref) : undefined;

describe('the table, line for line as cloud-init prints it', { skip: keygen ?? noRef ?? false }, () => {
  test('real keys with options and comments, a comment line, a blank line, an unknown key type; several hashes; no keys at all', () => {
    if (typeof ref === 'string') return;
    const [ed, rsa, ecdsa] = realKeys();
    const file = [
      '# keys for deploys',
      ed,
      '',
      `no-port-forwarding,command="echo hi" ${rsa}`,
      `${ecdsa!.split(' ').slice(0, 2).join(' ')}`,
      'ssh-unknown AAAAB3NzaC1yc2E= odd',
      'not a key line at all',
    ].join('\n');
    for (const [user, path, hash, text] of [
      ['alice', '/home/alice/.ssh/authorized_keys', 'sha256', file],
      ['bob', '/home/bob/.ssh/authorized_keys', 'md5', file],
      ['carol', '/srv/carol/keys', 'sha512', file],
      ['dave', '/home/dave/.ssh/authorized_keys', 'no-such-hash', file],
      ['erin', '/home/erin/.ssh/authorized_keys', 'sha256', ''],
      ['frank', '/home/frank/.ssh/authorized_keys', 'sha256', '# only a comment\n'],
    ] as const) {
      const r: SpawnSyncReturns<string> = spawnSync('/usr/sbin/chroot', [ref.root, 'python3', '-B', '-c', PRINT, user, path, hash], { input: text, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1' } });
      assert.equal(r.status, 0, r.stderr);
      const ours = fingerprintLines(user, path, text.split('\n').filter((l, i, a) => i < a.length - 1 || l !== '').map((l) => parseKeyLine(l)), hash);
      assert.deepEqual(ours, r.stdout.replace(/\n$/, '').split('\n'), `${user} (${hash})`);
    }
  });
});

const skip = cannotRun() ?? needCommands(['useradd', 'chpasswd', 'passwd', 'groupadd', 'usermod'], 'passwd');

describe('~/.ssh and authorized_keys for every listed user (real useradd, chrooted)', { skip: skip ?? false }, () => {
  test('a user without keys gets ~/.ssh 0700 and an empty authorized_keys 0600, both its own; system and no_create_home users do not; the log has the table', () => {
    const root = debianRoot();
    seed(root, 'instance-id: iid-fp-1\n', `#cloud-config
users:
  - default
  - name: nokeys
  - name: svc
    system: true
  - name: nohome
    no_create_home: true
`);
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    for (const user of ['debian', 'nokeys']) {
      assert.equal(mode(root, `home/${user}/.ssh`), 0o700, `${user}'s ~/.ssh`);
      const ids = read(root, 'etc/passwd').split('\n').find((l) => l.startsWith(`${user}:`))!.split(':').slice(2, 4).map(Number);
      assert.deepEqual(owner(root, `home/${user}/.ssh`), ids);
      assert.equal(mode(root, `home/${user}/.ssh/authorized_keys`), 0o600);
      assert.deepEqual(owner(root, `home/${user}/.ssh/authorized_keys`), ids);
      assert.equal(read(root, `home/${user}/.ssh/authorized_keys`), '');
      assert.match(read(root, 'var/log/ec2-init.log'), new RegExp(`ci-info: no authorized SSH keys fingerprints found for user ${user}\\.`));
    }
    assert.equal(lstatSync(join(root, 'home/nohome'), { throwIfNoEntry: false }), undefined);
    assert.doesNotMatch(read(root, 'var/log/ec2-init.log'), /for user (svc|nohome)\b/);
  });

  test('keys of the config are in the table; no_ssh_fingerprints prints and makes nothing', () => {
    const root = debianRoot();
    const [ed] = realKeys();
    seed(root, 'instance-id: iid-fp-2\n', `#cloud-config
no_ssh_fingerprints: false
users:
  - name: alice
    ssh_authorized_keys: ['${ed}']
`);
    assert.equal(agent(root, ['boot']).status, 0);
    const blob = ed!.split(' ')[1]!;
    const sha = createHash('sha256').update(Buffer.from(blob, 'base64')).digest('hex').match(/../g)!.join(':');
    assert.match(read(root, 'var/log/ec2-init.log'), new RegExp(`ci-info: \\|\\s+ssh-ed25519\\s+\\|\\s+${sha}\\s+\\|`));

    const quiet = debianRoot();
    seed(quiet, 'instance-id: iid-fp-3\n', '#cloud-config\nno_ssh_fingerprints: true\nusers: [nokeys]\n');
    assert.equal(agent(quiet, ['boot']).status, 0);
    assert.equal(lstatSync(join(quiet, 'home/nokeys/.ssh'), { throwIfNoEntry: false }), undefined);
    assert.doesNotMatch(read(quiet, 'var/log/ec2-init.log'), /ci-info: .*fingerprints found/);
  });

  test('a ~/.ssh that is a link (planted in the image, to a directory of root\'s) is never written through', () => {
    const root = debianRoot();
    mkdirSync(join(root, 'etc/keys-of-root'), { recursive: true, mode: 0o755 });
    mkdirSync(join(root, 'home/mallory'), { recursive: true });
    symlinkSync('/etc/keys-of-root', join(root, 'home/mallory/.ssh'));
    // The account exists already (its home too), as an image could ship it.
    writeIn(root, 'etc/passwd', `${read(root, 'etc/passwd')}mallory:x:1500:1500::/home/mallory:/bin/sh\n`);
    seed(root, 'instance-id: iid-fp-4\n', '#cloud-config\nusers: [mallory]\n');
    agent(root, ['boot']);
    assert.equal(lstatSync(join(root, 'etc/keys-of-root/authorized_keys'), { throwIfNoEntry: false }), undefined, 'nothing made through the link');
    assert.match(read(root, 'var/log/ec2-init.log'), /Authorized keys from \/home\/mallory\/\.ssh\/authorized_keys for user mallory|no authorized SSH keys fingerprints found for user mallory/);
  });
});
