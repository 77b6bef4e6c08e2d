// users_groups and set_passwords: how cloud-init reads the config (users,
// groups, chpasswd), and authorized_keys lines.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { passwordPlan } from '../../src/modules/set_passwords.ts';
import { mergeAuthorizedKeys } from '../../src/modules/ssh-keys.ts';
import { parseKeyLine } from '../../src/validate/authorized-key.ts';
import { userGroups, usersAndGroups } from '../../src/modules/users-config.ts';

const DEBIAN_DEFAULT = {
  name: 'debian', lock_passwd: true, gecos: 'Debian', groups: ['adm', 'sudo'],
  sudo: ['ALL=(ALL) NOPASSWD:ALL'], shell: '/bin/bash',
};

describe('users and groups as cloud-init reads them', () => {
  test("'default' becomes the system's default user, merged with its entry", () => {
    const r = usersAndGroups({
      system_info: { default_user: DEBIAN_DEFAULT },
      users: ['default', { name: 'debian', groups: 'video', passwd: '$6$x$y', lock_passwd: false }, 'bob'],
    });
    assert.equal(r.defaultUser, 'debian');
    assert.deepEqual([...r.users.keys()], ['bob', 'debian']);
    const d = r.users.get('debian')!;
    // The groups are the union; for other keys the system's default_user wins (cloud-init's mergemanydict).
    assert.equal(d['groups'], 'adm,sudo,video');
    assert.equal(d['lock_passwd'], true);
    assert.equal(d['passwd'], '$6$x$y');
    assert.equal(d['shell'], '/bin/bash');
  });

  test("no 'default' in users: no default user", () => {
    const r = usersAndGroups({ system_info: { default_user: DEBIAN_DEFAULT }, users: [{ name: 'a' }] });
    assert.equal(r.defaultUser, null);
    assert.deepEqual([...r.users.keys()], ['a']);
  });

  test("the old 'user:' key renames the default user", () => {
    const r = usersAndGroups({ system_info: { default_user: DEBIAN_DEFAULT }, user: { name: 'mynewdefault', sudo: null } });
    assert.equal(r.defaultUser, 'mynewdefault');
    assert.equal(r.users.get('mynewdefault')!['sudo'], null);
    assert.equal(r.users.get('mynewdefault')!['shell'], '/bin/bash');
  });

  test('groups: names, mappings of members, strings', () => {
    const r = usersAndGroups({ groups: [{ admingroup: ['root', 'sys'] }, 'cloud-users', { solo: 'root' }] });
    assert.deepEqual([...r.groups], [['admingroup', ['root', 'sys']], ['cloud-users', []], ['solo', ['root']]]);
    assert.deepEqual([...usersAndGroups({ groups: 'a,b' }).groups.keys()], ['a', 'b']);
  });

  test("a user's groups: 'a, b', a list, or a mapping (deprecated)", () => {
    assert.deepEqual(userGroups('u', 'a, b ,'), ['a', 'b']);
    assert.deepEqual(userGroups('u', [' a', 'b']), ['a', 'b']);
    assert.deepEqual(userGroups('u', { a: null, b: null }), ['a', 'b']);
    assert.throws(() => userGroups('u', [1]), /only strings/);
  });

  test('dashes in user keys are read as underscores', () => {
    const r = usersAndGroups({ users: [{ name: 'a', 'lock-passwd': false, 'ssh-authorized-keys': ['k'] }] });
    assert.deepEqual(r.users.get('a'), { lock_passwd: false, ssh_authorized_keys: ['k'] });
  });
});

describe('chpasswd as cloud-init reads it', () => {
  const random = () => 'RANDOMPW';
  test('users: text, hash (the default type), RANDOM', () => {
    const p = passwordPlan({ chpasswd: { expire: false, users: [
      { name: 'u1', password: 'p1', type: 'text' }, { name: 'u2', password: '$6$a$b' }, { name: 'u3', type: 'RANDOM' },
    ] } }, random);
    assert.deepEqual(p.text, [['u1', 'p1'], ['u3', 'RANDOMPW']]);
    assert.deepEqual(p.hashed, [['u2', '$6$a$b']]);
    assert.deepEqual(p.random, [['u3', 'RANDOMPW']]);
    assert.equal(p.expire, false);
  });

  test('list (deprecated): a YAML list or a multi-line string; hashes recognized, R and RANDOM', () => {
    const p = passwordPlan({ chpasswd: { list: 'a:pw:with:colons\nb:$6$rounds=4096$salt$hash\nc:R\nd:$y$j9T$s$h\n' } }, random);
    assert.deepEqual(p.text, [['a', 'pw:with:colons'], ['c', 'RANDOMPW']]);
    assert.deepEqual(p.hashed, [['b', '$6$rounds=4096$salt$hash'], ['d', '$y$j9T$s$h']]);
    assert.equal(p.expire, true);
    assert.deepEqual(passwordPlan({ chpasswd: { list: ['x:y'] } }).text, [['x', 'y']]);
  });

  test("password: for the default user, only when chpasswd lists nobody; problems never carry a password", () => {
    const cfg = { system_info: { default_user: DEBIAN_DEFAULT }, users: ['default'], password: 'pw1' };
    assert.deepEqual(passwordPlan(cfg).text, [['debian', 'pw1']]);
    assert.deepEqual(passwordPlan({ ...cfg, chpasswd: { list: ['x:y'] } }).text, [['x', 'y']]);
    const bad = passwordPlan({ password: 'topsecret', chpasswd: { list: ['nocolon-topsecret'] } });
    assert.equal(bad.problems.length, 1);
    assert.doesNotMatch(bad.problems.join('\n'), /topsecret/);
  });
});

describe('authorized_keys lines', () => {
  const K1 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey1 one@x';
  test('options are parsed, quoted blanks included', () => {
    const k = parseKeyLine(`command="echo hi there",no-pty ${K1}`);
    assert.equal(k.options, 'command="echo hi there",no-pty');
    assert.equal(k.keytype, 'ssh-ed25519');
    assert.equal(k.comment, 'one@x');
  });
  test('a new line for the same key replaces the old one; comments and other keys stay', () => {
    const old = `# mine\n${K1}\nssh-rsa AAAAB3other two@y\n`;
    const merged = mergeAuthorizedKeys(old, [parseKeyLine(K1, 'no-pty'), parseKeyLine('ssh-rsa AAAAB3new three@z')]);
    assert.equal(merged, `# mine\nno-pty ${K1}\nssh-rsa AAAAB3other two@y\nssh-rsa AAAAB3new three@z\n`);
  });
});
