// Network wait on demand (src/plan/network-need.ts): init-local decides from
// what it found whether stage init needs the network this boot and records it
// in /run/ec2-init/network-needed; stage init waits (starts the units
// network-online.target pulls in) only then, and only under systemd. The
// table is cloud-init 24.4's _should_wait_on_network plus ec2-init's finer
// reading of the parts and modules.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { read, writeIn } from '../helpers/files.ts';
import { agent, cannotRun, newRoot, seed } from '../helpers/agent.ts';

const skip = cannotRun();

const CASES: [string, string | null, RegExp][] = [
  ['plain cloud-config (users, files, packages, runcmd)', '#cloud-config\nusers: [default]\nwrite_files: [{path: /etc/x, content: x}]\npackages: [jq]\nruncmd: [date]\nntp: {servers: [ntp.example]}\n', /^no: NoCloud found locally/],
  ['a shell script (runs in stage final)', '#!/bin/sh\necho hi\n', /^no: /],
  ['no seed at all', null, /^yes: no datasource found locally/],
  ['bootcmd', '#cloud-config\nbootcmd: [date]\n', /^yes: bootcmd runs commands/],
  ['random_seed.command', '#cloud-config\nrandom_seed: {command: [date]}\n', /^yes: random_seed.command/],
  ['mounts', '#cloud-config\nmounts: [[nfs:/x, /mnt, nfs]]\n', /^yes: mounts/],
  ['an #include of a URL (not fetched in init-local)', '#include\nhttp://127.0.0.1:9/never\n', /^yes: the user-data #includes a URL/],
  ['a boothook', '#cloud-boothook\n#!/bin/sh\necho hi\n', /^yes: part-001 \(text\/cloud-boothook\) runs in stage init/],
  ['a final module moved into cloud_init_modules', '#cloud-config\ncloud_init_modules: [ssh, package-update-upgrade-install]\npackages: [jq]\n', /^yes: package_update_upgrade_install \(a final module\) runs in stage init/],
];

describe('network wait on demand', { skip: skip ?? false }, () => {
  for (const [name, userData, expected] of CASES) {
    test(`init-local records: ${name}`, () => {
      const root = newRoot();
      writeIn(root, 'etc/cloud/cloud.cfg', 'users: []\ndatasource_list: [NoCloud, None]\n');
      if (userData !== null) seed(root, 'instance-id: iid-net-1\n', userData);
      const r = agent(root, ['init', '--local']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(read(root, 'run/ec2-init/network-needed'), expected);
      assert.match(read(root, 'var/log/ec2-init.log'), /network: stage init (waits|does not wait) for it: /);
    });
  }

  /** A root that looks booted by systemd (sd_booted) with networkd's wait enabled, as Debian enables it. */
  function systemdRoot(userData: string): string {
    const root = newRoot();
    writeIn(root, 'etc/cloud/cloud.cfg', 'users: []\ndatasource_list: [NoCloud, None]\n');
    mkdirSync(join(root, 'run/systemd/system'), { recursive: true });
    mkdirSync(join(root, 'etc/systemd/system/network-online.target.wants'), { recursive: true });
    for (const u of ['systemd-networkd-wait-online.service', 'NetworkManager-wait-online.service']) {
      symlinkSync(`/lib/systemd/system/${u}`, join(root, 'etc/systemd/system/network-online.target.wants', u));
    }
    seed(root, 'instance-id: iid-net-2\n', userData);
    return root;
  }

  test('stage init starts networkd\'s wait-online when init-local said so (never NetworkManager\'s: it comes after sysinit.target)', () => {
    const root = systemdRoot('#cloud-config\nbootcmd: [date]\n');
    assert.equal(agent(root, ['init', '--local']).status, 0);
    assert.equal(agent(root, ['init']).status, 0);
    assert.match(read(root, 'var/log/ec2-init.log'), /network: waiting for systemd-networkd-wait-online\.service \(bootcmd runs commands\)/);
  });

  test('stage init does not wait when init-local found nothing that needs the network', () => {
    const root = systemdRoot('#cloud-config\nwrite_files: [{path: /etc/x, content: x}]\n');
    assert.equal(agent(root, ['init', '--local']).status, 0);
    assert.equal(agent(root, ['init']).status, 0);
    const log = read(root, 'var/log/ec2-init.log');
    assert.match(log, /network: not waited for \(NoCloud found locally/);
    assert.doesNotMatch(log, /network: waiting/);
    assert.ok(existsSync(join(root, 'etc/x')));
  });

  test('stage init alone (init-local did not run): it waits', () => {
    const root = systemdRoot('#cloud-config\n{}\n');
    assert.equal(agent(root, ['init']).status, 0);
    assert.match(read(root, 'var/log/ec2-init.log'), /network: waiting for systemd-networkd-wait-online\.service \(init-local did not say whether it is needed\)/);
  });

  // The reading is kept between boots (NEED_CACHE): a later boot with the same inputs reads nothing
  // again, and decides as the first did; a changed input, a broken or planted cache, is read anew.
  describe('kept between boots', () => {
    const CACHE = 'var/lib/cloud/data/network-need.cache.json';
    const KEPT = /network: user-data, vendor-data and instance data as at an earlier decision: not read again/;
    /** One init-local of a new boot (/run emptied, as after a reboot); its log and its decision. */
    function nextBoot(root: string): { log: string; decision: string } {
      rmSync(join(root, 'run'), { recursive: true, force: true });
      writeFileSync(join(root, 'var/log/ec2-init.log'), '');
      const r = agent(root, ['init', '--local']);
      assert.equal(r.status, 0, r.stderr);
      return { log: read(root, 'var/log/ec2-init.log'), decision: read(root, 'run/ec2-init/network-needed') };
    }
    function bootedRoot(userData: string): string {
      const root = newRoot();
      writeIn(root, 'etc/cloud/cloud.cfg', 'users: []\ndatasource_list: [NoCloud, None]\n');
      seed(root, 'instance-id: iid-net-3\n', userData);
      assert.equal(agent(root, ['init', '--local']).status, 0);
      return root;
    }

    test('a second boot with the same user-data decides the same without reading it; the cache is owner-only', () => {
      const root = bootedRoot('#cloud-config\nbootcmd: [date]\n');
      assert.doesNotMatch(read(root, 'var/log/ec2-init.log'), KEPT);
      assert.equal(statSync(join(root, CACHE)).mode & 0o777, 0o600);
      const second = nextBoot(root);
      assert.match(second.log, KEPT);
      assert.match(second.decision, /^yes: bootcmd runs commands/);
    });

    test('changed user-data is read again: the new decision, not the kept one', () => {
      const root = bootedRoot('#cloud-config\nbootcmd: [date]\n');
      // A new instance's seed would change the instance id too; here only the user-data changes (EC2 allows it while stopped).
      writeIn(root, 'var/lib/cloud/seed/nocloud/user-data', '#cloud-config\nruncmd: [date]\n');
      const second = nextBoot(root);
      assert.doesNotMatch(second.log, KEPT);
      assert.match(second.decision, /^no: NoCloud found locally/);
      assert.match(nextBoot(root).log, KEPT);
    });

    test('a corrupt cache or a link planted in its place is not used, and is replaced by a real file', () => {
      const root = bootedRoot('#cloud-config\nbootcmd: [date]\n');
      writeFileSync(join(root, CACHE), '{"key": "');
      const afterCorrupt = nextBoot(root);
      assert.doesNotMatch(afterCorrupt.log, KEPT);
      assert.match(afterCorrupt.decision, /^yes: bootcmd runs commands/);
      // A link to a file that says "nothing needed", with the right key: still not trusted.
      writeIn(root, 'var/tmp/forged.json', read(root, CACHE).replace(/"bootcmd"/, '"not_bootcmd"'));
      rmSync(join(root, CACHE));
      symlinkSync('/var/tmp/forged.json', join(root, CACHE));
      const afterLink = nextBoot(root);
      assert.doesNotMatch(afterLink.log, KEPT);
      assert.match(afterLink.decision, /^yes: bootcmd runs commands/);
      assert.ok(lstatSync(join(root, CACHE)).isFile(), 'the link is replaced by the cache itself');
      assert.match(nextBoot(root).log, KEPT);
    });
  });
});
