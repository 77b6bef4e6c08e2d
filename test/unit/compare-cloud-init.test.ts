// The comparison of test/integration/compare-cloud-init.test.ts (ec2-init
// against cloud-init itself), on made-up snapshots.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ALLOWED } from '../helpers/compare/allowlist.ts';
import { compareSnapshots } from '../helpers/compare/diff.ts';
import type { Entry, Snapshot } from '../helpers/compare/snapshot.ts';

// The comparison itself, on made-up snapshots (no root needed): what it must
// see, and what its normalizations must not hide.
describe('the comparison', () => {
  const file = (content: string, mode = 0o644, uid = 0, gid = 0): Entry => ({ type: 'file', mode, uid, gid, content: Buffer.from(content) });
  const snap = (entries: Record<string, Entry>): Snapshot => new Map(Object.entries(entries));

  test('sees a file on one side only, and a change of mode, owner, content or link target', () => {
    const ci = snap({
      '/a': file('x'), '/b': file('x', 0o600), '/c': file('x', 0o644, 1000, 1000), '/d': file('x'),
      '/l': { type: 'link', mode: 0o777, uid: 0, gid: 0, target: '/usr/share/zoneinfo/Europe/Paris' },
    });
    const ec2 = snap({
      '/b': file('x', 0o640), '/c': file('x', 0o644, 1000, 1001), '/d': file('y'),
      '/l': { type: 'link', mode: 0o777, uid: 0, gid: 0, target: '/usr/share/zoneinfo/Etc/UTC' },
    });
    assert.deepEqual(compareSnapshots('first', ci, ec2).map((d) => `${d.path} ${d.aspect}`),
      ['/a presence', '/b mode', '/c owner', '/d content', '/l target']);
  });

  test('compares shadow passwords as locked / hash present, never the hash', () => {
    const line = (pw: string) => file(`root:*:20000:0:99999:7:::\nbob:${pw}:20000:0:99999:7:::\n`, 0o640, 0, 42);
    assert.equal(compareSnapshots('first', snap({ '/etc/shadow': line('$6$a$b') }), snap({ '/etc/shadow': line('$6$c$d') })).length, 0);
    assert.equal(compareSnapshots('first', snap({ '/etc/shadow': line('!') }), snap({ '/etc/shadow': line('!') })).length, 0);
    assert.equal(compareSnapshots('first', snap({ '/etc/shadow': line('!$6$a$b') }), snap({ '/etc/shadow': line('$6$a$b') })).length, 1);
    assert.equal(compareSnapshots('first', snap({ '/etc/shadow': line('!') }), snap({ '/etc/shadow': line('$6$a$b') })).length, 1);
  });

  test("normalizes only the sudoers header's agent and date, and only the order of authorized keys", () => {
    const sudo = (agent: string, rule: string) => file(`# Created by ${agent} on Wed, 25 Nov 2026 02:36:09 +0000\n\n# User rules for alice\n${rule}\n`, 0o440);
    const a = sudo('cloud-init v. 22.4.2', 'alice ALL=(ALL) NOPASSWD:ALL');
    assert.equal(compareSnapshots('first', snap({ '/etc/sudoers.d/90-cloud-init-users': a }), snap({ '/etc/sudoers.d/90-cloud-init-users': sudo('ec2-init v. 0.1.0', 'alice ALL=(ALL) NOPASSWD:ALL') })).length, 0);
    assert.equal(compareSnapshots('first', snap({ '/etc/sudoers.d/90-cloud-init-users': a }), snap({ '/etc/sudoers.d/90-cloud-init-users': sudo('ec2-init v. 0.1.0', 'alice ALL=(ALL) ALL') })).length, 1);
    const keys = (...k: string[]) => file(k.map((x) => `${x}\n`).join(''), 0o600, 1000, 1000);
    const p = '/home/alice/.ssh/authorized_keys';
    assert.equal(compareSnapshots('first', snap({ [p]: keys('ssh-ed25519 A a', 'ssh-ed25519 B b') }), snap({ [p]: keys('ssh-ed25519 B b', 'ssh-ed25519 A a') })).length, 0);
    assert.equal(compareSnapshots('first', snap({ [p]: keys('ssh-ed25519 A a', 'ssh-ed25519 B b') }), snap({ [p]: keys('ssh-ed25519 A a') })).length, 1);
  });

  test('every difference kept on purpose has its reason', () => {
    for (const a of ALLOWED) assert.ok(a.reason.length > 40, `${a.path}: no reason given`);
  });
});
