// Unit: the accounts and keys group of modules as tables, config in,
// actions out (what `plan` prints and boot applies), on a temp root the test
// prepares: which file gets what with which mode, which program runs, what
// is refused and under which key path. Nothing is applied here; the
// integration tests (modules-users, modules-ssh, modules-keys,
// modules-system) apply the same actions with the real programs.
import { VERSION } from '../../src/version.ts';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { utf8Decode } from '../../src/host/codecs.ts';
import type { Action } from '../../src/host/actions.ts';
import { caCerts } from '../../src/modules/ca_certs.ts';
import { keysToConsole } from '../../src/modules/keys_to_console.ts';
import { seedRandom } from '../../src/modules/seed_random.ts';
import { setPasswords } from '../../src/modules/set_passwords.ts';
import { ssh } from '../../src/modules/ssh.ts';
import { sshAuthkeyFingerprints } from '../../src/modules/ssh_authkey_fingerprints.ts';
import { sshImportId } from '../../src/modules/ssh_import_id.ts';
import { usersGroups } from '../../src/modules/users_groups.ts';
import { writeIn } from '../helpers/files.ts';
import { planModule } from '../helpers/module-actions.ts';

const text = (a: Action | undefined): string => {
  assert.ok(a && (a.kind === 'write' || a.kind === 'append' || (a.kind === 'run' && a.input !== undefined)), `no content in ${a?.kind}`);
  const c = a.kind === 'run' ? a.input! : a.content;
  return typeof c === 'string' ? c : utf8Decode(c);
};
const sansDigest = (lines: string[]) => lines.map((l) => l.replace(/sha256:[0-9a-f]+/, 'sha256:…'));
const exe = (root: string, path: string) => writeIn(root, path, '#!/bin/sh\n', 0o755);

describe('seed_random', () => {
  test('data (decoded) then the meta-data seed are appended 0600 to a regular file; the command runs after, with RANDOM_SEED_FILE', async () => {
    const p = await planModule(seedRandom, { random_seed: { file: '/var/lib/seed', data: 'aGVsbG8=', encoding: 'b64', command: ['sh', '-c', 'x'] } }, {
      prep: (root) => { writeIn(root, 'var/lib/seed', 'old:'); exe(root, 'bin/sh'); },
      source: { metaData: { random_seed: 'from-meta' } } as never,
    });
    assert.deepEqual(sansDigest(p.lines), [
      'append /var/lib/seed 0600 14 B sha256:… (add 14 byte(s) of seed to /var/lib/seed)',
      'run sh sha256:… (random_seed.command)',
    ]);
    assert.equal(text(p.actions[0]), 'hellofrom-meta');
    const cmd = p.actions[1]!;
    assert.ok(cmd.kind === 'run');
    assert.deepEqual(cmd.argv, ['sh', '-c', 'x']);
    assert.deepEqual(cmd.env, { RANDOM_SEED_FILE: '/var/lib/seed' });
    assert.deepEqual(p.problems, []);
  });

  test('a device target is written by a program, only on the running system; a /dev path missing from the root is left alone', async () => {
    const missing = await planModule(seedRandom, { random_seed: { data: 'abc' } });
    assert.deepEqual(missing.lines, [], 'no /dev/urandom in the root: nothing written (never a regular file made there)');
    // A FIFO stands for the device: not a regular file, so not appended to as one.
    const dev = await planModule(seedRandom, { random_seed: { data: 'abc' } }, {
      prep: (root) => { mkdirSync(join(root, 'dev')); assert.equal(spawnSync('mkfifo', [join(root, 'dev/urandom')]).status, 0); },
    });
    assert.equal(dev.actions.length, 1);
    const run = dev.actions[0]!;
    assert.ok(run.kind === 'run');
    assert.equal(run.runningSystem, 'optional');
    assert.deepEqual(run.argv, ['/bin/sh', '-c', 'cat >> /dev/urandom']);
    assert.equal(text(run), 'abc', 'the seed goes on standard input');
    assert.match(dev.lines[0]!, /\(add 3 byte\(s\) of seed to \/dev\/urandom\) \[running system only\]$/);
  });

  test('command_required with no command, or one the root lacks, is an error; not required, it is skipped quietly', async () => {
    const none = await planModule(seedRandom, { random_seed: { file: '/s', data: 'x', command_required: true } });
    assert.match(none.problems[0]!.message, /random_seed\.command_required is true but no command is given/);
    assert.equal(none.lines.length, 1, 'the seed is still written');
    const missing = await planModule(seedRandom, { random_seed: { command: ['pollinate'], command_required: true } });
    assert.match(missing.problems[0]!.message, /random_seed\.command 'pollinate' not found in the root but command_required is true/);
    const optional = await planModule(seedRandom, { random_seed: { command: ['pollinate'] } });
    assert.deepEqual([optional.lines, optional.problems], [[], []]);
  });

  test('a file that is not an absolute path under the root is refused under random_seed.file: no seed written, the command still runs without it', async () => {
    for (const file of ['/var/../etc/shadow', 'seed', '/var/lib/seed\n']) {
      const p = await planModule(seedRandom, { random_seed: { file, data: 'abc', command: ['sh', '-c', 'x'] } }, {
        prep: (root) => { writeIn(root, 'var/lib/seed', ''); writeIn(root, 'etc/shadow', ''); exe(root, 'bin/sh'); },
      });
      assert.equal(p.problems.length, 1, file);
      assert.match(p.problems[0]!.message, /^random_seed\.file: .*; give an absolute path .*no seed written/, file);
      assert.deepEqual(p.actions.map((a) => a.kind), ['run'], `${JSON.stringify(file)}: only the command`);
      assert.ok(p.actions[0]!.kind === 'run' && p.actions[0]!.env === undefined, 'no RANDOM_SEED_FILE naming the refused path');
    }
  });

  test('data that does not decode is reported under random_seed.data and left out; the meta-data seed is still added', async () => {
    const p = await planModule(seedRandom, { random_seed: { file: '/s', data: 'not gzip', encoding: 'gzip' } }, {
      source: { metaData: { random_seed: 'm' } } as never,
    });
    assert.match(p.problems[0]!.message, /^random_seed\.data: cannot decode it as gzip/);
    assert.equal(text(p.actions[0]), 'm');
  });
});

describe('ca_certs', () => {
  const tools = (root: string) => { exe(root, 'usr/sbin/update-ca-certificates'); exe(root, 'usr/bin/debconf-set-selections'); };

  test('each trusted certificate is a 0644 file numbered from 1; update-ca-certificates runs last', async () => {
    const p = await planModule(caCerts, { ca_certs: { trusted: ['CERT-ONE', 'CERT-TWO'] } }, { prep: tools });
    assert.deepEqual(sansDigest(p.lines), [
      'write /usr/local/share/ca-certificates/cloud-init-ca-cert-1.crt 0644 8 B sha256:…',
      'write /usr/local/share/ca-certificates/cloud-init-ca-cert-2.crt 0644 8 B sha256:…',
      'run update-ca-certificates sha256:…',
    ]);
    assert.equal(text(p.actions[1]), 'CERT-TWO');
    assert.deepEqual(p.problems, []);
  });

  test('remove_defaults: every selected entry of ca-certificates.conf gets a "!" and debconf is told to keep new ones out', async () => {
    const p = await planModule(caCerts, { ca_certs: { remove_defaults: true } }, {
      prep: (root) => { tools(root); writeIn(root, 'etc/ca-certificates.conf', '# comment\nmozilla/A.crt\n!mozilla/B.crt\n'); },
    });
    assert.equal(p.actions[0]!.kind === 'write' && p.actions[0].path, '/etc/ca-certificates.conf');
    assert.equal(text(p.actions[0]), '# comment\n# Modified by ec2-init to deselect certs due to user-data\n!mozilla/A.crt\n!mozilla/B.crt\n');
    const debconf = p.actions[1]!;
    assert.ok(debconf.kind === 'run');
    assert.deepEqual(debconf.argv, ['/usr/bin/debconf-set-selections', '-']);
    assert.equal(text(debconf), 'ca-certificates ca-certificates/trust_new_crts select no\n');
    assert.equal(p.actions.at(-1)!.kind === 'run' && (p.actions.at(-1) as { argv: string[] }).argv[0], '/usr/sbin/update-ca-certificates');
  });

  test('without update-ca-certificates in the root: an error and nothing planned', async () => {
    const p = await planModule(caCerts, { ca_certs: { trusted: ['x'] } });
    assert.deepEqual(p.lines, []);
    assert.match(p.problems[0]!.message, /update-ca-certificates not found under the root \(install the ca-certificates package\)/);
  });

  test("the old spellings are warned about and still read; a 'trusted' that is not a list is refused by its key path", async () => {
    const p = await planModule(caCerts, { 'ca-certs': { 'remove-defaults': false, trusted: ['C'] } }, { prep: tools });
    assert.deepEqual(p.problems.map((d) => [d.level, d.message]), [
      ['warning', "'ca-certs' is deprecated: use 'ca_certs'"], ['warning', "'remove-defaults' is deprecated: use 'remove_defaults'"],
    ]);
    assert.equal(p.lines.length, 2);
    const bad = await planModule(caCerts, { ca_certs: { trusted: 'CERT' } }, { prep: tools });
    assert.match(bad.problems[0]!.message, /^ca_certs\.trusted: must be a list of certificates/);
    assert.deepEqual(sansDigest(bad.lines), ['run update-ca-certificates sha256:…']);
  });
});

describe('set_passwords', () => {
  const DEFAULT_USER = { system_info: { default_user: { name: 'debian' } }, users: ['default'] };

  test('text, hashed and RANDOM passwords go to chpasswd on its standard input; the lines show names and digests, never a password', async () => {
    const p = await planModule(setPasswords, { chpasswd: { users: [
      { name: 'u1', password: 'Text-pw-1', type: 'text' }, { name: 'u2', password: '$6$s$h' }, { name: 'u3', type: 'RANDOM' },
    ] } }, { planning: false });
    assert.deepEqual(sansDigest(p.lines), [
      'run chpasswd sha256:… (password(s) of u1, u3) [more follows from its result]',
      'run chpasswd sha256:… (hashed password(s) of u2) [more follows from its result]',
      "console console 61 B sha256:… (random password(s) of u3) [running system only]",
      'run cat sha256:… (random password(s) of u3, to /var/log/ec2-init-output.log)',
      'run passwd sha256:… (to change at first login: u1)',
      'run passwd sha256:… (to change at first login: u3)',
      'run passwd sha256:… (to change at first login: u2)',
    ]);
    const [plain, hashed] = p.actions as Array<Action & { kind: 'run' }>;
    assert.deepEqual(plain!.argv, ['chpasswd'], 'no password in an argv');
    assert.match(plain!.input as string, /^u1:Text-pw-1\nu3:[A-Za-z0-9]{20}\n$/);
    assert.deepEqual([hashed!.argv, hashed!.input], [['chpasswd', '-e'], 'u2:$6$s$h\n']);
    const told = /^u3:(\w+)$/m.exec(plain!.input as string)![1]!;
    assert.match(text(p.actions[3]), new RegExp(`^u3:${told}$`, 'm'), 'the random password told is the one set');
    for (const line of p.lines) assert.doesNotMatch(line, /Text-pw-1|\$6\$s\$h|u3:/);
    assert.ok(!p.unknown);
  });

  test('plan cannot know a RANDOM password: its step says the actions depend on the boot', async () => {
    const p = await planModule(setPasswords, { chpasswd: { expire: false, users: [{ name: 'u3', type: 'RANDOM' }] } });
    assert.ok(p.unknown);
    const again = await planModule(setPasswords, { chpasswd: { expire: false, users: [{ name: 'u1', password: 'x', type: 'text' }] } });
    assert.ok(!again.unknown, 'without RANDOM plan knows every action');
  });

  test("password: is the default user's, only when chpasswd lists nobody; expire: false expires nobody", async () => {
    const p = await planModule(setPasswords, { ...DEFAULT_USER, password: 'pw1', chpasswd: { expire: false } });
    assert.equal(p.actions.length, 1);
    assert.equal(text(p.actions[0]), 'debian:pw1\n');
    const nobody = await planModule(setPasswords, { password: 'pw1' });
    assert.deepEqual(nobody.lines, []);
    assert.deepEqual(nobody.problems.map((d) => [d.level, d.message]), [['warning', "'password' given, but there is no default user to set it for (add 'default' to users)"]]);
  });

  test('a bad chpasswd entry is reported by its position and left out, the others set; no message carries a password', async () => {
    const p = await planModule(setPasswords, { chpasswd: { expire: false, users: [{ name: 'a', password: 'Secret-9', type: 'plain' }, { name: 'b', password: 'ok', type: 'text' }] } });
    assert.deepEqual(p.problems.map((d) => d.message), ["chpasswd.users entry 1 (a): unknown type 'plain' (use hash, text or RANDOM)"]);
    assert.equal(text(p.actions[0]), 'b:ok\n');
  });

  test('ssh_pwauth: PasswordAuthentication in 50-cloud-init.conf (0600) when sshd_config includes sshd_config.d; a running sshd is restarted on the running system only', async () => {
    const prep = (root: string) => {
      writeIn(root, 'etc/ssh/sshd_config', 'Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n');
      mkdirSync(join(root, 'run/systemd/system'), { recursive: true });
    };
    const p = await planModule(setPasswords, { ssh_pwauth: true, system_info: { ssh_svcname: 'sshd' } }, { prep });
    assert.deepEqual(sansDigest(p.lines), [
      'write /etc/ssh/sshd_config.d/50-cloud-init.conf 0600 27 B sha256:… (PasswordAuthentication yes)',
      'run systemctl sha256:… (restart sshd if it runs) [running system only] [more follows from its result]',
    ]);
    assert.equal(text(p.actions[0]), 'PasswordAuthentication yes\n');
    const show = p.actions[1]!;
    assert.ok(show.kind === 'run' && show.then);
    const restart = (state: string) => show.then!({ code: 0, signal: null, timedOut: false, stdout: `${state}\n`, stderr: '' }).map((a) => a.kind === 'run' && [a.argv.join(' '), a.failure]);
    assert.deepEqual(restart('active'), [['systemctl restart sshd', 'warning']], 'a running sshd is restarted, a failure a warning');
    assert.deepEqual(restart('inactive'), []);
    const none = await planModule(setPasswords, { ssh_pwauth: false });
    assert.deepEqual(none.lines, [], 'no sshd_config in the root: nothing to change');
    const odd = await planModule(setPasswords, { ssh_pwauth: 'maybe' }, { prep });
    assert.deepEqual(odd.lines, []);
    assert.match(odd.problems[0]!.message, /^ssh_pwauth: unrecognized value "maybe"/);
  });

  test('system_info.ssh_svcname that is not a service name is refused by its key: sshd_config still written, no systemctl with it', async () => {
    const prep = (root: string) => {
      writeIn(root, 'etc/ssh/sshd_config', 'Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n');
      mkdirSync(join(root, 'run/systemd/system'), { recursive: true });
    };
    for (const svc of ['--all', 'ssh; reboot', '../../x', 'ssh\nx']) {
      const p = await planModule(setPasswords, { ssh_pwauth: true, system_info: { ssh_svcname: svc } }, { prep });
      assert.deepEqual(p.problems.map((d) => d.message.replace(/:.*/, '')), ['system_info.ssh_svcname'], JSON.stringify(svc));
      assert.match(p.problems[0]!.message, /not restarted/);
      assert.deepEqual(p.actions.map((a) => a.kind), ['write'], `${JSON.stringify(svc)}: the setting, no systemctl`);
    }
  });
});

/** An ed25519 public key line (the wire format: the type, then 32 bytes), as ssh-keygen writes one. */
function ed25519Line(fill: number, comment: string): string {
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(Buffer.alloc(32, fill))]).toString('base64')} ${comment}\n`;
}

describe('keys_to_console', () => {
  const prep = (root: string) => {
    writeIn(root, 'etc/ssh/ssh_host_ed25519_key.pub', ed25519Line(7, 'root@h'));
    writeIn(root, 'etc/ssh/ssh_host_rsa_key.pub', 'ssh-rsa AAAAB3NzaC1yc2E= root@h\n');
  };

  test('the fingerprint block (syslog prefix, the time of the boot) and the keys block go to the console; plan cannot know the time', async () => {
    const p = await planModule(keysToConsole, {}, { prep, planning: false });
    assert.equal(p.actions[0]!.kind, 'console');
    const out = (p.actions[0] as { text: string }).text;
    assert.match(out, /^<14>\w{3} [ \d]\d \d\d:\d\d:\d\d cloud-init: #{61}\n/);
    assert.match(out, /cloud-init: 256 SHA256:[A-Za-z0-9+/]{43} root@h \(ED25519\)\n/);
    assert.ok(out.endsWith(`-----BEGIN SSH HOST KEY KEYS-----\n${ed25519Line(7, 'root@h')}ssh-rsa AAAAB3NzaC1yc2E= root@h\n-----END SSH HOST KEY KEYS-----\n`),
      'the keys in the glob order of their files');
    assert.ok((await planModule(keysToConsole, {}, { prep })).unknown, 'plan: the step depends on the boot');
  });

  test('the blacklists leave a type out of their block; emit_keys_to_console: false plans nothing', async () => {
    const p = await planModule(keysToConsole, { ssh_fp_console_blacklist: ['ssh-ed25519'], ssh_key_console_blacklist: ['ssh-rsa'] }, { prep, planning: false });
    const out = (p.actions[0] as { text: string }).text;
    assert.doesNotMatch(out, /\(ED25519\)/);
    assert.doesNotMatch(out, /^ssh-rsa /m);
    assert.match(out, /^ssh-ed25519 /m);
    const quiet = await planModule(keysToConsole, { ssh: { emit_keys_to_console: false } }, { prep });
    assert.deepEqual([quiet.lines, quiet.unknown], [[], false]);
  });

  test('syslog gets the fingerprints from the root\'s logger, on the running system only', async () => {
    const p = await planModule(keysToConsole, {}, { prep: (root) => { prep(root); exe(root, 'usr/bin/logger'); }, planning: false });
    const logger = p.actions.find((a) => a.kind === 'run') as Action & { kind: 'run' };
    assert.deepEqual([logger.argv, logger.runningSystem], [['logger', '-p', 'user.info', '-t', 'cloud-init'], 'optional']);
    assert.match(text(logger), /^-----BEGIN SSH HOST KEY FINGERPRINTS-----$/m);
  });
});

/** A root with a user `name` (uid 1000) whose home exists, owned by it. */
function withUser(root: string, name = 'debian'): void {
  writeIn(root, 'etc/passwd', `root:x:0:0:root:/root:/bin/sh\n${name}:x:1000:1000::/home/${name}:/bin/bash\n`);
  writeIn(root, 'etc/group', `root:x:0:\n${name}:x:1000:\n`);
  mkdirSync(join(root, 'home', name), { recursive: true });
}
const DEBIAN = { system_info: { default_user: { name: 'debian' } } };
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDtmsSQNlIZJcKPEPSPXsfN3cFGvd0Zvb9OlQ8/VMVoD';

describe('ssh_import_id', () => {
  test("one fetch per id, the default user's from the top level and each user's own; GitHub's API asked for JSON; every fetch in its user's unit", async () => {
    const p = await planModule(sshImportId, { ...DEBIAN, ssh_import_id: ['gh:alice', 'bob'], users: ['default', { name: 'carol', ssh_import_id: 'lp:carol' }] });
    // The default user comes after the others, as cloud-init's normalize_users_groups orders them.
    assert.deepEqual(sansDigest(p.lines), [
      'fetch https://launchpad.net/~carol/+sshkeys sha256:… (keys of lp:carol for carol) [more follows from its result]',
      'fetch https://api.github.com/users/alice/keys sha256:… (keys of gh:alice for debian) [more follows from its result]',
      'fetch https://launchpad.net/~bob/+sshkeys sha256:… (keys of lp:bob for debian) [more follows from its result]',
    ]);
    assert.deepEqual(p.actions.map((a) => a.unit), ['user carol', 'user debian', 'user debian']);
    assert.deepEqual((p.actions[1] as { headers?: object }).headers, { Accept: 'application/json' });
  });

  test('an id ssh-import-id would not take is reported with its user and left out; /etc/ssh/ssh_import_id moves Launchpad', async () => {
    const p = await planModule(sshImportId, { users: [{ name: 'u', ssh_import_id: ['gh:../../x', 'lp:ok'] }] }, {
      prep: (root) => writeIn(root, 'etc/ssh/ssh_import_id', '{"URL": "https://keys.example/%s/keys"}'),
    });
    assert.match(p.problems[0]!.message, /^ssh_import_id for u: .*gh:\.\.\/\.\.\/x.* is not an id ssh-import-id takes/);
    assert.deepEqual(sansDigest(p.lines), ['fetch https://keys.example/ok/keys sha256:… (keys of lp:ok for u) [more follows from its result]']);
  });

  test("the last answer adds every id's new keys in one write (0600, the user's, ~/.ssh 0700), refuses options and junk, reports failed ids together", async () => {
    let root = '';
    const p = await planModule(sshImportId, { ...DEBIAN, ssh_import_id: ['gh:alice', 'lp:bob', 'gh:gone'], users: ['default'] }, { prep: (r) => { root = r; withUser(r); } });
    const [gh, lp, gone] = p.actions as Array<Action & { kind: 'fetch' }>;
    const body = (t: string) => ({ body: new TextEncoder().encode(t) });
    assert.deepEqual(gh!.then!(body(JSON.stringify([{ id: 101, key: KEY }, { id: 102, key: `command="sh" ${KEY}` }]))), [], 'nothing until the last answer');
    assert.deepEqual(lp!.then!(body(`${KEY}\n<html>\n`)), []);
    const last = gone!.then!({ error: 'HTTP status 404' });
    const write = last.find((a) => a.kind === 'write') as Action & { kind: 'write' };
    assert.equal(write.path, '/home/debian/.ssh/authorized_keys');
    assert.equal(write.content, `${KEY} alice@github/101 # ssh-import-id gh:alice\n`, 'a key given twice is added once; options and junk refused');
    assert.deepEqual([write.mode, write.uid, write.gid], [0o600, 1000, 1000]);
    const dir = last.find((a) => a.kind === 'mkdir' && a.path === '/home/debian/.ssh') as Action & { kind: 'mkdir' };
    assert.deepEqual([dir.mode, dir.uid], [0o700, 1000]);
    const report = last.at(-1) as Action & { kind: 'report' };
    assert.deepEqual([report.kind, report.level, report.message], ['report', 'error', 'user debian: gh:gone: HTTP status 404']);
    assert.ok(root);
  });
});

describe('ssh_authkey_fingerprints', () => {
  test("each listed user's table goes to the log; a missing ~/.ssh and authorized_keys are made (0700, 0600, the user's); plan says it depends on the boot", async () => {
    const p = await planModule(sshAuthkeyFingerprints, { users: [{ name: 'debian' }, { name: 'svc', system: true }] }, {
      prep: (root) => { withUser(root); writeIn(root, 'etc/ssh/sshd_config', 'StrictModes no\n'); }, planning: false,
    });
    assert.deepEqual(sansDigest(p.lines.filter((l) => !l.startsWith('log '))), [
      'mkdir /home/debian/.ssh 0700 owner 1000:1000',
      'write /home/debian/.ssh/authorized_keys 0600 owner 1000:1000 0 B sha256:…',
    ]);
    assert.equal((p.actions[2] as { text: string }).text, 'ci-info: no authorized SSH keys fingerprints found for user debian.');
    assert.ok((await planModule(sshAuthkeyFingerprints, { users: [{ name: 'debian' }] }, { prep: withUser })).unknown);
  });

  test('an existing key gets its row with the digest authkey_hash names; no_ssh_fingerprints prints nothing', async () => {
    const prep = (root: string) => { withUser(root); writeIn(root, 'home/debian/.ssh/authorized_keys', `${KEY} me@x\n`, 0o600); };
    const p = await planModule(sshAuthkeyFingerprints, { users: [{ name: 'debian' }], authkey_hash: 'md5' }, { prep, planning: false });
    const table = (p.actions.find((a) => a.kind === 'log') as { text: string }).text;
    assert.match(table, /Fingerprint \(md5\)/);
    assert.match(table, /ssh-ed25519 \| ([0-9a-f]{2}:){15}[0-9a-f]{2} \|/);
    const off = await planModule(sshAuthkeyFingerprints, { users: [{ name: 'debian' }], no_ssh_fingerprints: true }, { prep });
    assert.deepEqual(off.lines, []);
  });
});

describe('users_groups', () => {
  const runOf = (a: Action | undefined) => { assert.ok(a && a.kind === 'run', `not a run: ${a?.kind}`); return a; };

  test('groups first (a missing one made, members added), then each new user: its groups, then useradd with its options; the rest follows from useradd', async () => {
    const p = await planModule(usersGroups, {
      groups: [{ admins: ['root'] }, 'existing'],
      users: [{ name: 'alice', gecos: 'Alice', groups: ['admins', 'devs'], shell: '/bin/bash', uid: 2001 }],
    }, { prep: (root) => { withUser(root, 'root'); writeIn(root, 'etc/group', 'root:x:0:\nexisting:x:50:\n'); } });
    const argvs = p.actions.map((a) => (a.kind === 'run' ? a.argv.join(' ') : `${a.kind} ${'path' in a ? a.path : ''}`));
    assert.deepEqual(argvs, [
      'groupadd admins', 'usermod -a -G admins root',
      'groupadd devs',
      'useradd alice --comment Alice --groups admins,devs --shell /bin/bash --uid 2001 -m',
    ], 'admins is made once: the user finds it made');
    assert.deepEqual(p.actions.map((a) => a.unit), ['group admins', 'group admins', 'user alice', 'user alice']);
    assert.ok(runOf(p.actions[3]).then, 'passwords, lock, keys follow from useradd: its uid and home are known then');
  });

  test('an existing user is not re-created; its password (stdin, never argv), lock, sudo rules and keys are planned, each on its own', async () => {
    const p = await planModule(usersGroups, {
      users: [{ name: 'debian', plain_text_passwd: 'Pw-4411', sudo: 'ALL=(ALL) ALL', ssh_authorized_keys: [KEY] }],
    }, { prep: (root) => { withUser(root); writeIn(root, 'etc/sudoers', '@includedir /etc/sudoers.d\n', 0o440); } });
    const lines = sansDigest(p.lines);
    assert.deepEqual(lines.filter((l) => !l.startsWith('write /etc/sudoers.d/90') && !l.startsWith('mkdir /etc/sudoers.d')), [
      'run chpasswd sha256:… (plain-text password of debian) [more follows from its result]',
      'run passwd sha256:… (lock the password of debian) [more follows from its result]',
      'append /etc/sudoers.d/90-cloud-init-users 0440 46 B sha256:… (sudo rules of debian)',
      'mkdir /home/debian/.ssh 0700 owner 1000:1000',
      'write /home/debian/.ssh/authorized_keys 0600 owner 1000:1000 81 B sha256:… (authorized keys of debian)',
    ]);
    const pw = p.actions.find((a) => a.kind === 'run' && a.argv[0] === 'chpasswd') as Action & { kind: 'run' };
    assert.deepEqual([pw.argv, pw.input], [['chpasswd'], 'debian:Pw-4411\n']);
    assert.equal(text(p.actions.find((a) => a.kind === 'append')), '\n# User rules for debian\ndebian ALL=(ALL) ALL\n');
    assert.ok(p.lines.every((l) => !l.includes('Pw-4411')));
    // One unit per step: a failed one leaves the others to run (the key directory and file are one step).
    assert.deepEqual(p.actions.filter((a) => a.unit?.startsWith('user ')).map((a) => a.unit),
      ['user debian password', 'user debian lock', 'user debian sudo', 'user debian keys', 'user debian keys']);
    // A new sudoers file's header gets the time when it is written (stampAt): plan knows all the rest.
    const sudoers = p.actions.find((a) => a.kind === 'write' && a.path.startsWith('/etc/sudoers.d/')) as Action & { kind: 'write' };
    assert.equal(text(sudoers).slice(0, sudoers.stampAt), `# Created by ec2-init v. ${VERSION} on `);
    assert.ok(!p.unknown, 'nothing of it depends on the machine');
  });

  test('a user the config cannot make is reported by name and left out; a bad doas rule leaves only the rules out', async () => {
    const p = await planModule(usersGroups, { users: [
      { name: 'broken', no_create_home: true, ssh_authorized_keys: [KEY] },
      { name: 'dora', doas: ['permit nopass someoneelse'] },
    ] });
    assert.deepEqual(p.problems.map((d) => d.message), [
      'user broken: not created: ssh_authorized_keys cannot be given with no_create_home',
      "user dora: doas: invalid rule \"permit nopass someoneelse\" for user 'dora' (it must permit or deny 'dora'); no doas rules written for this user",
    ]);
    assert.deepEqual(p.actions.filter((a) => a.kind === 'run').map((a) => (a as { argv: string[] }).argv.slice(0, 2)), [['useradd', 'dora']]);
  });

  test('a link in the key path of an existing user is refused while planning, as a problem of that step only', async () => {
    const p = await planModule(usersGroups, { users: [{ name: 'debian', ssh_authorized_keys: [KEY], lock_passwd: false }] }, {
      prep: (root) => { withUser(root); symlinkSync('/etc', join(root, 'home/debian/.ssh')); },
    });
    const report = p.actions.find((a) => a.kind === 'report') as Action & { kind: 'report' };
    assert.match(report.message, /^user debian: ssh_authorized_keys: \/home\/debian\/\.ssh is a symbolic link/);
    assert.ok(!p.actions.some((a) => a.kind === 'write' && a.path.startsWith('/etc/')), 'nothing written through the link');
  });
});

describe('ssh', () => {
  const sshRoot = (root: string) => {
    withUser(root);
    writeIn(root, 'etc/ssh/sshd_config', 'Include /etc/ssh/sshd_config.d/*.conf\n');
    writeIn(root, 'etc/ssh/ssh_host_rsa_key', 'image key\n', 0o600);
    writeIn(root, 'etc/hostname', 'img-host\n');
  };

  test("the image's keys deleted, each asked type made by the root's ssh-keygen (named after the image's hostname), each its own unit", async () => {
    const p = await planModule(ssh, { ssh_genkeytypes: ['ed25519', 'ecdsa'] }, { prep: sshRoot, planning: false });
    const host = p.actions.filter((a) => a.unit?.startsWith('host key') || a.unit === 'host keys');
    assert.deepEqual(host.map((a) => (a.kind === 'run' ? a.argv.join(' ') : `${a.kind} ${'path' in a ? a.path : ''}`)), [
      'remove /etc/ssh/ssh_host_rsa_key', 'mkdir /etc/ssh',
      'ssh-keygen -t ed25519 -N  -C root@img-host -f /etc/ssh/ssh_host_ed25519_key',
      'ssh-keygen -t ecdsa -N  -C root@img-host -f /etc/ssh/ssh_host_ecdsa_key',
    ]);
    assert.deepEqual(host.map((a) => a.unit), ['host keys', 'host keys', 'host key ed25519', 'host key ecdsa']);
  });

  test('ssh_keys are written (private 0600, public and certificate 0644), a certificate announced in 50-cloud-init.conf, a missing public half derived', async () => {
    const p = await planModule(ssh, { ssh_keys: { ed25519_private: 'PRIV', rsa_private: 'RP', rsa_public: 'ssh-rsa AAAA x', rsa_certificate: 'CERT', dsa_private: 'old' } }, { prep: sshRoot });
    assert.deepEqual(p.problems.map((d) => d.message), ["ssh_keys: skipped unrecognized entry 'dsa_private'"]);
    const writes = p.actions.filter((a) => a.kind === 'write').map((a) => [(a as { path: string }).path, (a as { mode: number }).mode.toString(8)]);
    assert.deepEqual(writes.slice(0, 4), [
      ['/etc/ssh/ssh_host_ed25519_key', '600'], ['/etc/ssh/ssh_host_rsa_key', '600'], ['/etc/ssh/ssh_host_rsa_key.pub', '644'], ['/etc/ssh/ssh_host_rsa_key-cert.pub', '644'],
    ]);
    const conf = p.actions.find((a) => a.kind === 'write' && a.path === '/etc/ssh/sshd_config.d/50-cloud-init.conf');
    assert.equal(text(conf), 'HostCertificate /etc/ssh/ssh_host_rsa_key-cert.pub\n');
    const derive = p.actions.find((a) => a.kind === 'run') as Action & { kind: 'run' };
    assert.deepEqual(derive.argv, ['ssh-keygen', '-yf', '/etc/ssh/ssh_host_ed25519_key']);
    assert.ok(!p.lines.some((l) => l.includes('PRIV')), 'a line never shows a key');
  });

  test("the datasource's and the config's keys go to the default user, and to root behind disable_root's command", async () => {
    const prep = (root: string) => { withUser(root); writeIn(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\ndebian:x:1000:1000::/home/debian:/bin/bash\n'); mkdirSync(join(root, 'root')); };
    const cfgKey = ed25519Line(9, 'cfg').trim();
    const p = await planModule(ssh, { ...DEBIAN, users: ['default'], ssh_authorized_keys: [cfgKey] }, { prep, source: { publicKeys: [`${KEY} ds`] } as never });
    const write = (path: string) => text(p.actions.find((a) => a.kind === 'write' && a.path === path));
    assert.equal(write('/home/debian/.ssh/authorized_keys'), `${KEY} ds\n${cfgKey}\n`, "the datasource's first, then the config's");
    assert.match(write('/root/.ssh/authorized_keys'), /^no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command="echo 'Please login as the user \\"debian\\" rather than the user \\"root\\"\.';echo;sleep 10;exit 142" ssh-ed25519 /);
    const off = await planModule(ssh, { ...DEBIAN, users: ['default'], disable_root: false, allow_public_ssh_keys: false, ssh_authorized_keys: [cfgKey] }, { prep, source: { publicKeys: [`${KEY} ds`] } as never });
    assert.equal(text(off.actions.find((a) => a.kind === 'write' && a.path === '/root/.ssh/authorized_keys')), `${cfgKey}\n`, 'disable_root: false, allow_public_ssh_keys: false');
  });

  test('plan cannot know the early keys init-local makes, nor an account users_groups makes this boot: it says so', async () => {
    const p = await planModule(ssh, { ...DEBIAN, users: ['default'] }, { prep: (root) => writeIn(root, 'etc/ssh/sshd_config', '') });
    assert.ok(p.unknown);
  });
});

// Data never becomes code: what user-data names goes on argv and into sudoers and authorized_keys lines.
import { uniqueKeys } from '../../src/modules/ssh-keys.ts';

test('users_groups: a user or group name that is no account name, or a sudo rule of two lines, is refused and left out; the rest is kept', async () => {
  const p = await planModule(usersGroups, {
    users: [{ name: '-oevil' }, { name: 'alice', sudo: ['ALL=(ALL) ALL\nbob ALL=(ALL) NOPASSWD:ALL'] }, { name: 'carol' }],
    groups: [{ 'ops\nroot': ['carol'] }, 'fine'],
  });
  const messages = p.problems.map((d) => d.message).join('\n');
  assert.match(messages, /user -oevil: not created: .*a user or group name is/);
  assert.match(messages, /user alice: sudo: the rule .* has a newline; no sudo rules written/);
  assert.match(messages, /group ops\nroot: not created: .* has a newline/);
  const argv = p.actions.flatMap((a) => (a.kind === 'run' ? [a.argv.join(' ')] : []));
  assert.ok(!argv.some((l) => l.includes('-oevil') || l.includes('ops\n')), argv.join(' | '));
  assert.ok(argv.some((l) => l.startsWith('useradd carol')) && argv.includes('groupadd fine'), argv.join(' | '));
  assert.ok(!p.actions.some((a) => a.kind === 'append' && String(a.content).includes('NOPASSWD')), 'no sudo line for bob');
});

test('authorized keys: a value with a newline is two keys, each its own line (with its own options), as cloud-init splits it', () => {
  assert.deepEqual(uniqueKeys(['ssh-ed25519 AAAA one\nssh-rsa BBBB two', 'ssh-ed25519 AAAA one', '', 3]), ['ssh-ed25519 AAAA one', 'ssh-rsa BBBB two']);
});
