// Integration (issue 19, item 4): hostile values of the system modules
// through the built executable on throw-away roots, the files read by the real
// parsers: glibc's getent (chrooted into the root) for /etc/hosts, util-linux's
// findmnt for /etc/fstab, chronyd -p for chrony's config. A newline in
// meta-data local-hostname, cloud-config hostname or fqdn, a mounts field or
// an NTP server never adds an entry: the value is refused with its key named,
// and the rest is written.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { agent, cannotRun, moduleProblems, newRoot, seed } from '../helpers/agent.ts';
import { read, writeIn } from '../helpers/files.ts';
import { needCommands } from '../helpers/needs.ts';
import { chronyConfig, findmnt, getentHosts, needChronyd } from '../helpers/real-parsers.ts';
import { readIni } from '../helpers/systemd-ini.ts';

const skip = cannotRun() ?? needCommands(['getent', 'findmnt'], 'libc-bin util-linux') ?? false;

function boot(meta: string, userData: string, prep?: (root: string) => void): string {
  const root = newRoot();
  prep?.(root);
  seed(root, meta, userData);
  writeIn(root, 'etc/hosts', '127.0.0.1 localhost\n');
  const r = agent(root, ['boot']);
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  return root;
}

/** The lines of /etc/hostname that are not comments. */
const hostnameLines = (root: string) => read(root, 'etc/hostname').split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));

describe('system module values read by the real parsers (getent, findmnt, chronyd)', { skip }, () => {
  const SPOOF = '6.6.6.6 bank.example.com';

  for (const [name, meta, userData, from] of [
    ['meta-data local-hostname', `instance-id: iid-h1\nlocal-hostname: ${JSON.stringify(`web1\n${SPOOF}`)}\n`, '#cloud-config\nmanage_etc_hosts: localhost\n', 'meta-data local-hostname'],
    ["cloud-config 'hostname'", 'instance-id: iid-h2\nlocal-hostname: web1\n', `#cloud-config\nmanage_etc_hosts: true\nhostname: ${JSON.stringify(`web1\n${SPOOF}`)}\n`, "cloud-config 'hostname'"],
    ["cloud-config 'fqdn'", 'instance-id: iid-h3\nlocal-hostname: web1\n', `#cloud-config\nmanage_etc_hosts: localhost\nfqdn: ${JSON.stringify(`web1.example.org\n${SPOOF}`)}\n`, "cloud-config 'fqdn'"],
  ] as const) {
    test(`a newline in ${name}: no entry added to /etc/hosts or /etc/hostname, the key named`, () => {
      const root = boot(meta, userData, (r) => writeIn(r, 'etc/hostname', 'image\n'));
      const hosts = getentHosts(root);
      assert.ok(!hosts.some((e) => e.includes('bank.example.com') || e[0] === '6.6.6.6'), JSON.stringify(hosts));
      assert.deepEqual(hostnameLines(root), ['image']);
      for (const m of ['set_hostname', 'update_etc_hosts']) {
        assert.ok(moduleProblems(root, m).some((p) => p.includes(`${from}: `) && /has a newline/.test(p)), `${m}: ${moduleProblems(root, m).join('\n')}`);
      }
    });
  }

  test('a good name still gets its 127.0.1.1 entry (getent reads it)', () => {
    const root = boot('instance-id: iid-h4\nlocal-hostname: web1.example.org\n', '#cloud-config\nmanage_etc_hosts: localhost\n');
    assert.ok(getentHosts(root).some((e) => e[0] === '127.0.1.1' && e[1] === 'web1.example.org' && e.includes('web1')));
    assert.deepEqual(hostnameLines(root), ['web1']);
  });

  test('mounts: a newline in any field is refused with the entry named; libmount reads exactly the other entries', () => {
    const root = boot('instance-id: iid-m1\n', [
      '#cloud-config',
      'mounts:',
      `  - [ /dev/vdb, ${JSON.stringify('/data\n/dev/vdx /etc ext4 defaults 0 0')} ]`,
      `  - [ ${JSON.stringify('/dev/vdc\n/dev/vdx')}, /c ]`,
      `  - [ /dev/vdd, /d, ext4, ${JSON.stringify('defaults\n/dev/vdx /root ext4')} ]`,
      '  - [ /dev/vde, /e, ext4, "defaults,noatime", "0", "2" ]',
      '  - [ /dev/vdf, "/mnt/my data", ext4 ]',
      '',
    ].join('\n'));
    const [fstab] = findmnt([join(root, 'etc/fstab')]);
    assert.equal(fstab!.status, 0, fstab!.stderr);
    assert.deepEqual(fstab!.entries.map((e) => [e.source, e.target, e.fstype]), [['/dev/vde', '/e', 'ext4'], ['/dev/vdf', '/mnt/my data', 'ext4']]);
    const problems = moduleProblems(root, 'mounts');
    for (const i of [0, 1, 2]) assert.ok(problems.some((p) => p.includes(`mounts[${i}]: `)), problems.join('\n'));
  });

  test('ntp (chrony): a newline in a server or pool is refused by name; chronyd reads one directive per good entry', { skip: needChronyd() ?? false }, () => {
    const root = boot('instance-id: iid-n1\n', [
      '#cloud-config',
      'ntp:',
      '  ntp_client: chrony',
      `  servers: [ntp1.example.org, ${JSON.stringify('ntp2.example.org iburst\nallow all\ncmdallow all')}]`,
      `  pools: [${JSON.stringify('pool.example.org\nbindcmdaddress 0.0.0.0')}, pool2.example.org]`,
      `  allow: [10.0.0.0/8, ${JSON.stringify('192.168.0.0/16\nallow all')}]`,
      '',
    ].join('\n'), (r) => writeIn(r, 'sbin/chronyd', '#!/bin/sh\n', 0o755));
    const conf = chronyConfig(join(root, 'etc/chrony/chrony.conf'));
    assert.equal(conf.status, 0, conf.stderr);
    const ours = conf.directives.filter((d) => /^(server|pool|allow|cmdallow|bindcmdaddress) /.test(d));
    assert.deepEqual(ours, ['pool pool2.example.org iburst', 'server ntp1.example.org iburst', 'allow 10.0.0.0/8']);
    const problems = moduleProblems(root, 'ntp');
    for (const k of ['ntp.servers[1]', 'ntp.pools[0]', 'ntp.allow[1]']) assert.ok(problems.some((p) => p.includes(`${k}: `)), problems.join('\n'));
  });

  test('ntp (systemd-timesyncd): one NTP= key with the good servers only', () => {
    const root = boot('instance-id: iid-n2\n', `#cloud-config\nntp:\n  ntp_client: systemd-timesyncd\n  servers: [ntp1.example.org, ${JSON.stringify('x\n[Time]\nNTP=6.6.6.6')}]\n`);
    const ini = readIni(read(root, 'etc/systemd/timesyncd.conf.d/cloud-init.conf'));
    assert.deepEqual(ini.sections.map((s) => [s.name, s.keys]), [['Time', [['NTP', 'ntp1.example.org']]]]);
  });
});
