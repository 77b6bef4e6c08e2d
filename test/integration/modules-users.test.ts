// users_groups and set_passwords through the built executable on throw-away
// roots shaped like a Debian image's /etc (passwd, group, shadow, gshadow,
// login.defs, skel, PAM), with the real useradd, groupadd, usermod, chpasswd
// and passwd, chrooted. How the config is read: test/unit/modules-users.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CONFORMANCE } from '../helpers/paths.ts';
import { debianRoot } from '../helpers/debian-root.ts';
import { mode, owner, read, writeIn } from '../helpers/files.ts';
import { AGENT, agent, cannotRun, seed, statusProblems, WITH_ROOT } from '../helpers/agent.ts';
import { needCommands } from '../helpers/needs.ts';


const skip = cannotRun() ?? needCommands(['useradd', 'chpasswd', 'passwd', 'groupadd', 'usermod'], 'passwd');

const line = (root: string, file: string, name: string) => read(root, file).split('\n').find((l) => l.startsWith(`${name}:`));
const field = (root: string, file: string, name: string, i: number) => line(root, file, name)?.split(':')[i];
const members = (root: string, group: string) => (field(root, 'etc/group', group, 3) ?? '').split(',').filter((m) => m);

const problems = statusProblems;

function boot(root: string, userData: string, meta = 'instance-id: iid-users-1\n') {
  seed(root, meta, userData);
  return agent(root, ['boot']);
}

/** boot() in a network namespace with no network: for user-data whose ssh_import_id would fetch from GitHub or Launchpad. */
function bootOffline(root: string, userData: string, meta = 'instance-id: iid-users-1\n') {
  seed(root, meta, userData);
  return spawnSync('unshare', ['--net', 'env', '-i', WITH_ROOT, root, AGENT, '--root', root, 'boot'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

/** Every file under the root (not /usr, not the test's own seed) that any local user can read. */
function worldReadable(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir))) {
      const rel = dir ? `${dir}/${name}` : name;
      if (['usr', 'proc', 'dev', 'var/lib/cloud/seed'].includes(rel)) continue;
      const st = statSync(join(root, rel), { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(rel);
      else if (st.isFile() && st.mode & 0o004) out.push(rel);
    }
  };
  walk('');
  return out;
}

function assertNoSecret(root: string, secrets: string[]): void {
  const log = read(root, 'var/log/ec2-init.log');
  for (const s of secrets) assert.ok(!log.includes(s), `a password is in /var/log/ec2-init.log`);
  for (const f of worldReadable(root)) {
    const text = readFileSync(join(root, f), 'latin1');
    for (const s of secrets) assert.ok(!text.includes(s), `a password is in the world-readable ${f}`);
  }
}

const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAliceAliceAliceAliceAliceAliceAliceAlice alice@laptop';

describe('users_groups on a Debian-shaped root (real useradd, chrooted)', { skip: skip ?? false }, () => {
  test('the default user and a user of the config: accounts, groups, homes, sudo, keys, locked or hashed passwords', () => {
    const root = debianRoot();
    const r = boot(root, `#cloud-config
groups:
  - admingroup: [root, sys]
  - cloud-users
users:
  - default
  - name: alice
    gecos: Alice Liddell
    groups: [users, devs]
    shell: /bin/bash
    sudo: ALL=(ALL) ALL
    lock_passwd: false
    plain_text_passwd: Plain-Alice-pw-7731
    ssh_authorized_keys: [${KEY_A}]
`);
    assert.deepEqual(problems(root), [], r.stderr);
    // groups first, with their members
    assert.deepEqual(members(root, 'admingroup'), ['root', 'sys']);
    assert.ok(line(root, 'etc/group', 'cloud-users'));
    // alice
    const alice = line(root, 'etc/passwd', 'alice')!.split(':');
    assert.equal(alice[4], 'Alice Liddell');
    assert.equal(alice[5], '/home/alice');
    assert.equal(alice[6], '/bin/bash');
    const [uid, gid] = [Number(alice[2]), Number(alice[3])];
    assert.ok(uid >= 1000);
    assert.equal(field(root, 'etc/group', 'alice', 2), String(gid), 'a group of her own (USERGROUPS_ENAB)');
    assert.deepEqual(members(root, 'users'), ['alice']);
    assert.deepEqual(members(root, 'devs'), ['alice'], 'a missing group is created');
    assert.match(field(root, 'etc/shadow', 'alice', 1)!, /^\$(y|6)\$/, 'a hashed password, not locked');
    assert.deepEqual(owner(root, 'home/alice'), [uid, gid]);
    assert.equal(read(root, 'home/alice/.profile'), '# ~/.profile\n', '/etc/skel copied');
    assert.equal(mode(root, 'home/alice/.ssh'), 0o700);
    assert.deepEqual(owner(root, 'home/alice/.ssh'), [uid, gid]);
    assert.equal(read(root, 'home/alice/.ssh/authorized_keys'), `${KEY_A}\n`);
    assert.equal(mode(root, 'home/alice/.ssh/authorized_keys'), 0o600);
    assert.deepEqual(owner(root, 'home/alice/.ssh/authorized_keys'), [uid, gid]);
    // the default user, from system_info.default_user
    const debian = line(root, 'etc/passwd', 'debian')!.split(':');
    assert.equal(debian[4], 'Debian');
    assert.equal(debian[6], '/bin/bash');
    for (const g of ['adm', 'audio', 'cdrom', 'dialout', 'dip', 'floppy', 'plugdev', 'sudo', 'video']) {
      assert.ok(members(root, g).includes('debian'), `debian in ${g}`);
    }
    assert.match(field(root, 'etc/shadow', 'debian', 1)!, /^!/, 'lock_passwd (the default) locks the password');
    assert.deepEqual(owner(root, 'home/debian'), [Number(debian[2]), Number(debian[3])]);
    // sudo, as cloud-init writes it
    const sudoers = read(root, 'etc/sudoers.d/90-cloud-init-users');
    assert.match(sudoers, /^# Created by ec2-init v\. \S+ on \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000\n/);
    assert.ok(sudoers.includes('\n# User rules for alice\nalice ALL=(ALL) ALL\n'));
    assert.ok(sudoers.includes('\n# User rules for debian\ndebian ALL=(ALL) NOPASSWD:ALL\n'));
    assert.equal(mode(root, 'etc/sudoers.d/90-cloud-init-users'), 0o440);
    assert.equal(mode(root, 'etc/sudoers.d'), 0o750);
    assert.match(read(root, 'etc/sudoers'), /^#includedir \/etc\/sudoers\.d$/m, 'an image without sudoers gets the include');
    assertNoSecret(root, ['Plain-Alice-pw-7731']);
  });

  test('sudoers that already include the directory are left alone; rules already there are not repeated', () => {
    const root = debianRoot();
    writeIn(root, 'etc/sudoers', 'root ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n', 0o440);
    writeIn(root, 'etc/sudoers.d/90-cloud-init-users', '# made by hand\n\n# User rules for bob\nbob ALL=(ALL) ALL\n', 0o440);
    boot(root, '#cloud-config\nusers: [{name: bob, sudo: "ALL=(ALL) ALL"}, {name: carol, sudo: [ALL=(ALL) ALL, "ALL=(root) NOPASSWD: /bin/true"]}]\n');
    assert.deepEqual(problems(root), []);
    assert.equal(read(root, 'etc/sudoers'), 'root ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n');
    assert.equal(read(root, 'etc/sudoers.d/90-cloud-init-users'),
      '# made by hand\n\n# User rules for bob\nbob ALL=(ALL) ALL\n\n# User rules for carol\ncarol ALL=(ALL) ALL\ncarol ALL=(root) NOPASSWD: /bin/true\n');
  });

  test('uid, primary_group, homedir, system, no_create_home, hashed passwd; each user fails alone', () => {
    const root = debianRoot('');
    const hash = '$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YraCnGx1/2aCVtMkGDtEsLDCLTiymFnRKdMV1';
    boot(root, `#cloud-config
users:
  - {name: svc, system: true, shell: /usr/sbin/nologin}
  - {name: dave, uid: 2345, primary_group: staff, homedir: /srv/dave, passwd: "${hash}", lock_passwd: false}
  - {name: nohome, no_create_home: true}
  - {name: broken, no_create_home: true, ssh_authorized_keys: [${KEY_A}]}
  - {name: erin, hashed_passwd: "${hash}"}
`);
    const svc = line(root, 'etc/passwd', 'svc')!.split(':');
    assert.ok(Number(svc[2]) < 1000, 'a system uid');
    assert.ok(!existsSync(join(root, 'home/svc')), 'a system user gets no home');
    const dave = line(root, 'etc/passwd', 'dave')!.split(':');
    assert.equal(dave[2], '2345');
    assert.equal(dave[3], field(root, 'etc/group', 'staff', 2), 'primary_group created and used');
    assert.equal(dave[5], '/srv/dave');
    assert.deepEqual(owner(root, 'srv/dave'), [2345, Number(dave[3])]);
    assert.equal(field(root, 'etc/shadow', 'dave', 1), hash, 'passwd is the hash, unlocked');
    assert.ok(line(root, 'etc/passwd', 'nohome'));
    assert.ok(!existsSync(join(root, 'home/nohome')));
    assert.equal(line(root, 'etc/passwd', 'broken'), undefined);
    assert.equal(field(root, 'etc/shadow', 'erin', 1), `!${hash}`, 'hashed_passwd set, then locked (lock_passwd defaults to true)');
    const p = problems(root);
    assert.equal(p.length, 1, p.join('\n'));
    assert.match(p[0]!, /module users_groups: user broken: not created: ssh_authorized_keys cannot be given with no_create_home/);
    assertNoSecret(root, [hash]);
  });

  test("a user's ssh_import_id is ssh_import_id's (stage config): the user is created; offline, the import is what fails", () => {
    const root = debianRoot('');
    const r = bootOffline(root, '#cloud-config\nusers:\n- name: newsuper\n  lock_passwd: true\n  ssh_import_id: [gh:TheRealFalcon, lp:falcojr]\n  shell: /bin/bash\n');
    assert.equal(r.status, 1);
    assert.ok(line(root, 'etc/passwd', 'newsuper'));
    const p = problems(root);
    assert.equal(p.length, 1, p.join('\n'));
    assert.match(p[0]!, /module ssh_import_id: user newsuper: gh:TheRealFalcon: .*; lp:falcojr: /);
  });

  test('an existing user is not re-created, but gets its keys, sudo rules and password', () => {
    const root = debianRoot('');
    writeIn(root, 'etc/passwd', `${read(root, 'etc/passwd')}old:x:1500:1500:Old:/home/old:/bin/sh\n`);
    writeIn(root, 'etc/group', `${read(root, 'etc/group')}old:x:1500:\n`);
    writeIn(root, 'etc/shadow', `${read(root, 'etc/shadow')}old:!:19800:0:99999:7:::\n`, 0o640);
    writeIn(root, 'home/old/.keep', '');
    boot(root, `#cloud-config\nusers: [{name: old, shell: /bin/bash, sudo: ALL=(ALL) ALL, plain_text_passwd: Old-pw-3341, lock_passwd: false, ssh_authorized_keys: [${KEY_A}]}]\n`);
    assert.deepEqual(problems(root), []);
    assert.equal(line(root, 'etc/passwd', 'old'), 'old:x:1500:1500:Old:/home/old:/bin/sh', 'the account itself is unchanged');
    assert.match(field(root, 'etc/shadow', 'old', 1)!, /^\$/);
    assert.equal(read(root, 'home/old/.ssh/authorized_keys'), `${KEY_A}\n`);
    assert.deepEqual(owner(root, 'home/old/.ssh/authorized_keys'), [1500, 1500]);
    assert.match(read(root, 'etc/sudoers.d/90-cloud-init-users'), /old ALL=\(ALL\) ALL/);
    assertNoSecret(root, ['Old-pw-3341']);
  });

  test('per-instance: a second boot of the same instance changes nothing; a new instance applies again', () => {
    const root = debianRoot('');
    boot(root, '#cloud-config\nusers: [{name: once}]\n');
    const passwd = read(root, 'etc/passwd');
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'etc/passwd'), passwd);
    const r = boot(root, '#cloud-config\nusers: [{name: once}, {name: twice}]\n', 'instance-id: iid-users-2\n');
    assert.equal(r.status, 0, r.stderr);
    assert.ok(line(root, 'etc/passwd', 'twice'));
  });
});

describe('set_passwords on a Debian-shaped root (real chpasswd and passwd, chrooted)', { skip: skip ?? false }, () => {
  test('chpasswd users: text, hash, RANDOM; expire; the random one is told only in the owner-only output log', () => {
    const root = debianRoot('');
    const hash = '$6$rounds=4096$5DJ8a9WMTEzIo5J4$Yms6imfeBvf3Yfu84mQBerh18l7OR1Wm1BJXZqFSpJ6BVas0AYJqIjP7czkOaAZHZi1kxQ5Y1IhgWN8K9NgxR1';
    const r = boot(root, `#cloud-config
users: [{name: user1}, {name: user2}, {name: user3}]
chpasswd:
  users:
    - {name: user1, password: Text-pw-9921, type: text}
    - {name: user2, password: "${hash}"}
    - {name: user3, type: RANDOM}
`);
    assert.deepEqual(problems(root), [], r.stderr);
    assert.match(field(root, 'etc/shadow', 'user1', 1)!, /^\$(y|6)\$/);
    assert.equal(field(root, 'etc/shadow', 'user2', 1), hash);
    assert.match(field(root, 'etc/shadow', 'user3', 1)!, /^\$(y|6)\$/);
    for (const u of ['user1', 'user2', 'user3']) assert.equal(field(root, 'etc/shadow', u, 2), '0', `${u}: expired (to change at first login)`);
    const out = read(root, 'var/log/ec2-init-output.log');
    const m = /^user3:([A-Za-z0-9]{20})$/m.exec(out);
    assert.ok(m, 'the random password is told in the output log');
    assert.equal(mode(root, 'var/log/ec2-init-output.log'), 0o600);
    assertNoSecret(root, ['Text-pw-9921', hash, m[1]!]);
  });

  test('password: sets the default user\'s, expire: false keeps it; ssh_pwauth goes to sshd_config.d', () => {
    const root = debianRoot();
    writeIn(root, 'etc/ssh/sshd_config', 'Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n');
    writeIn(root, 'etc/ssh/sshd_config.d/.keep', '');
    boot(root, '#cloud-config\npassword: Default-pw-5512\nchpasswd: {expire: false}\nssh_pwauth: true\n');
    assert.deepEqual(problems(root), []);
    assert.match(field(root, 'etc/shadow', 'debian', 1)!, /^\$(y|6)\$/, 'chpasswd replaces the locked hash');
    assert.notEqual(field(root, 'etc/shadow', 'debian', 2), '0');
    assert.equal(read(root, 'etc/ssh/sshd_config.d/50-cloud-init.conf'), 'PasswordAuthentication yes\n');
    assert.equal(mode(root, 'etc/ssh/sshd_config.d/50-cloud-init.conf'), 0o600);
    assert.equal(read(root, 'etc/ssh/sshd_config'), 'Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n');
    assertNoSecret(root, ['Default-pw-5512']);
  });

  test('ssh_pwauth: false edits sshd_config itself when it includes no directory', () => {
    const root = debianRoot('');
    writeIn(root, 'etc/ssh/sshd_config', '#PasswordAuthentication yes\nPasswordAuthentication yes\nUsePAM yes\n');
    boot(root, '#cloud-config\nssh_pwauth: false\n');
    assert.equal(read(root, 'etc/ssh/sshd_config'), '#PasswordAuthentication yes\nPasswordAuthentication no\nUsePAM yes\n');
    assert.equal(mode(root, 'etc/ssh/sshd_config'), 0o644);
  });

  test('a failing chpasswd is reported with the user names only', () => {
    const root = debianRoot('');
    const r = boot(root, '#cloud-config\nchpasswd: {users: [{name: ghost, password: Ghost-pw-0071, type: text}]}\n');
    assert.equal(r.status, 1);
    const p = problems(root);
    assert.match(p.join('\n'), /module set_passwords: chpasswd failed for ghost/);
    assert.doesNotMatch(p.join('\n'), /Ghost-pw-0071/);
    assertNoSecret(root, ['Ghost-pw-0071']);
  });
});

// ---- cloud-init's own module examples -------------------------------------------

const EXAMPLES = join(CONFORMANCE, 'cloud-init', 'module-examples');

describe("cloud-init's examples for users_groups and set_passwords apply", { skip: skip ?? (existsSync(EXAMPLES) ? false : `${EXAMPLES} missing`) }, () => {
  const expect: Record<string, (root: string, p: string[]) => void> = {
    'cc_users_groups/example1.yaml': (root, p) => { assert.deepEqual(p, []); assert.ok(line(root, 'etc/passwd', 'debian')); },
    'cc_users_groups/example2.yaml': (root, p) => { assert.deepEqual(p, []); assert.deepEqual(members(root, 'admingroup'), ['root', 'sys']); assert.ok(line(root, 'etc/group', 'cloud-users')); },
    // ssh_import_id needs GitHub and Launchpad: booted offline, the import fails, the user is still made.
    'cc_users_groups/example3.yaml': (root, p) => { assert.ok(line(root, 'etc/passwd', 'newsuper')); assert.equal(p.length, 1); assert.match(p[0]!, /module ssh_import_id: user newsuper: /); },
    'cc_users_groups/example4.yaml': (root, p) => {
      assert.deepEqual(p, []);
      assert.match(read(root, 'etc/doas.conf'), /\n# cloud-init User rules for newsuper\npermit nopass newsuper\ndeny newsuper as root\n$/);
      assert.equal(mode(root, 'etc/doas.conf'), 0o440);
    },
    'cc_users_groups/example6.yaml': (root, p) => {
      assert.deepEqual(p, []);
      assert.equal(read(root, 'home/nosshlogins/.ssh/authorized_keys'),
        `no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command="echo 'Please login as the user \\"debian\\" rather than the user \\"nosshlogins\\".';echo;sleep 10;exit 142" ${KEY_A}\n`);
    },
    'cc_users_groups/example7.yaml': (root) => {
      assert.ok(line(root, 'etc/passwd', 'mynewdefault'));
      assert.doesNotMatch(existsSync(join(root, 'etc/sudoers.d/90-cloud-init-users')) ? read(root, 'etc/sudoers.d/90-cloud-init-users') : '', /mynewdefault/, 'sudo: null');
    },
    'cc_users_groups/example8.yaml': (root, p) => { assert.deepEqual(p, []); assert.equal(line(root, 'etc/passwd', 'debian'), undefined); },
    'cc_set_passwords/example1.yaml': (root, p) => { assert.deepEqual(p, []); assert.match(field(root, 'etc/shadow', 'debian', 1)!, /^\$/); assertNoSecret(root, ['password1']); },
    'cc_set_passwords/example2.yaml': (root, p) => {
      assert.deepEqual(p, []);
      for (const u of ['user1', 'user2', 'user3']) assert.match(field(root, 'etc/shadow', u, 1)!, /^\$/);
      assert.equal(read(root, 'etc/ssh/sshd_config'), 'PasswordAuthentication no\n');
    },
    'cc_set_passwords/example3.yaml': (root, p) => {
      assert.deepEqual(p, []);
      assert.equal(read(root, 'etc/ssh/sshd_config.d/70-no-pam-password-auth.conf'), 'KbdInteractiveAuthentication no');
    },
  };
  for (const [file, check] of Object.entries(expect)) {
    test(file, () => {
      const root = debianRoot();
      if (file.startsWith('cc_set_passwords/')) writeIn(root, 'etc/ssh/sshd_config', file.endsWith('example2.yaml') ? 'PasswordAuthentication yes\n' : '');
      const extra = file.includes('set_passwords/example2') ? 'users: [default, {name: user1}, {name: user2}, {name: user3}]\n' : '';
      const meta = `instance-id: iid-example\npublic-keys: ["${KEY_A}"]\n`;
      bootOffline(root, read(EXAMPLES, file) + '\n' + extra, meta);
      check(root, problems(root));
    });
  }
  test('example5 (selinux_user) runs useradd --selinux-user as cloud-init does: Debian\'s useradd says why it fails', () => {
    const root = debianRoot();
    seed(root, 'instance-id: iid-example\n', read(EXAMPLES, 'cc_users_groups/example5.yaml'));
    agent(root, ['boot']);
    assert.ok(line(root, 'etc/passwd', 'debian'), 'the other users are still made');
    const p = problems(root);
    assert.equal(p.length, 1, p.join('\n'));
    assert.match(p[0]!, /user youruser: useradd failed \(exit \d+\): useradd: -Z requires SELinux/);
  });
});
