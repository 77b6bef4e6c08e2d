// init-local's wait for a seed volume (src/sources/device-wait.ts), in place
// of a global `udevadm settle`: a cidata volume whose device appears while
// init-local runs (udev still loading the CD-ROM's driver) is found on that
// boot; a udev with nothing left to do ends the wait; a known instance does
// not wait; a first boot stops udev's settle once the seed volume and its
// NICs are there. udev is presented as it shows itself under the root:
// /run/udev/control while it runs, /run/udev/queue while it has events,
// /run/udev/data/n<ifindex> for a NIC it has handled; `udevadm settle` (no
// udev runs for a test root) by a stand-in in the root that does what settle
// does with those files: wait while the queue is there.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { agentAsync, cannotRun, newRoot, seed } from '../helpers/agent.ts';
import { plantNic, writeIn } from '../helpers/files.ts';
import { needCommands } from '../helpers/needs.ts';

const skip = cannotRun() ?? needCommands(['genisoimage'], 'genisoimage') ?? false;
/** device-wait.ts's WAIT_MS. */
const WAIT_MS = 8_000;

function rootWithBusyUdev(): string {
  const root = newRoot();
  writeIn(root, 'etc/cloud/cloud.cfg', 'datasource_list: [NoCloud, ConfigDrive]\n');
  writeIn(root, 'run/udev/control', '');
  writeIn(root, 'run/udev/queue', '');
  return root;
}

/** A cidata ISO in the root's images/ (not a device yet). */
function cidataIso(root: string, instanceId: string): string {
  writeIn(root, 'build/meta-data', `instance-id: ${instanceId}\nlocal-hostname: late-host\n`);
  writeIn(root, 'build/user-data', '#cloud-config\nruncmd: ["echo late > /ran"]\n');
  mkdirSync(join(root, 'images'), { recursive: true });
  const iso = join(root, 'images/seed.iso');
  const r = spawnSync('genisoimage', ['-quiet', '-o', iso, '-V', 'cidata', '-J', '-r', join(root, 'build')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return iso;
}

/** The device appears as the kernel shows one (its node, its size in /sys), then udev's queue empties. */
function plugIn(root: string, iso: string): void {
  mkdirSync(join(root, 'dev'), { recursive: true });
  copyFileSync(iso, join(root, 'dev/.sr0.tmp'));
  renameSync(join(root, 'dev/.sr0.tmp'), join(root, 'dev/sr0'));
  writeIn(root, 'sys/class/block/sr0/size', '2048\n');
  rmSync(join(root, 'run/udev/queue'), { force: true });
}

/** The stand-in for `udevadm settle`: waits while udev's queue is there (at most 30 s), and says it ran. */
function plantSettle(root: string): void {
  mkdirSync(join(root, 'sbin'), { recursive: true });
  writeFileSync(join(root, 'sbin/udevadm'), '#!/bin/sh\necho $$ > /run/settle.pid\ni=0\nwhile [ -e /run/udev/queue ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\n');
  chmodSync(join(root, 'sbin/udevadm'), 0o755);
}

/** A NIC udev has handled: its ifindex, and udev's database entry for it. */
function plantHandledNic(root: string, name: string, mac: string, ifindex: number, handled = true): void {
  plantNic(root, name, mac);
  writeIn(root, `sys/class/net/${name}/ifindex`, `${ifindex}\n`);
  if (handled) writeIn(root, `run/udev/data/n${ifindex}`, 'I:1\n');
}

const alive = (pid: number): boolean => { try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; } };

const statusDatasource = (root: string): unknown =>
  (JSON.parse(readFileSync(join(root, 'var/lib/cloud/data/status.json'), 'utf8')) as { v1: { datasource: unknown } }).v1.datasource;

describe('init-local waits for the seed volume, not for every device', { skip }, () => {
  test('a cidata volume that appears after init-local started is found by init-local on that boot', async () => {
    const root = rootWithBusyUdev();
    const iso = cidataIso(root, 'iid-late-volume');
    const run = agentAsync(root, ['init', '--local']);
    await delay(1_500);
    plugIn(root, iso);
    const r = await run;
    assert.equal(r.status, 0, r.stderr);
    assert.equal(statusDatasource(root), 'DataSourceNoCloud');
    assert.equal(readFileSync(join(root, 'var/lib/cloud/data/instance-id'), 'utf8'), 'iid-late-volume\n');
    assert.match(r.stderr, /devices: seed volume \/dev\/sr0 there after \d+ ms/);
  });

  test('a first boot stops the settle once the seed volume is there and udev has handled the NICs', async () => {
    const root = rootWithBusyUdev();
    plantSettle(root);
    plantHandledNic(root, 'ens3', '52:54:00:12:34:03', 2);
    plugIn(root, cidataIso(root, 'iid-settle-stopped'));
    writeIn(root, 'run/udev/queue', ''); // udev still busy with other devices, for ever
    const started = performance.now();
    const r = await agentAsync(root, ['init', '--local']);
    const ms = performance.now() - started;
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /devices: seed volume \/dev\/sr0 and NIC ens3 there after \d+ ms: udev settle stopped/);
    assert.equal(statusDatasource(root), 'DataSourceNoCloud');
    // The fallback network is on the NIC udev named.
    assert.match(r.stderr, /network: render fallback \(DHCP on ens3\)/);
    assert.ok(ms < WAIT_MS, `${ms.toFixed(0)} ms: it waited for udev`);
    const pid = Number(readFileSync(join(root, 'run/settle.pid'), 'utf8'));
    for (let i = 0; i < 40 && alive(pid); i++) await delay(50);
    assert.equal(alive(pid), false, 'the settle was stopped, not left running');
  });

  test('a NIC udev has not handled yet (its name may still change), or a source listed before NoCloud: the settle runs to its end', async () => {
    for (const [list, handled] of [['[NoCloud]', false], ['[VMware, NoCloud]', true]] as const) {
      const root = rootWithBusyUdev();
      writeIn(root, 'etc/cloud/cloud.cfg', `datasource_list: ${list}\n`);
      plantSettle(root);
      plantHandledNic(root, 'eth0', '52:54:00:12:34:04', 2, handled);
      plugIn(root, cidataIso(root, 'iid-settled'));
      writeIn(root, 'run/udev/queue', '');
      const run = agentAsync(root, ['init', '--local']);
      await delay(1_500);
      rmSync(join(root, 'run/udev/queue'));
      const r = await run;
      assert.equal(r.status, 0, r.stderr);
      const settled = /devices: udev settled after (\d+) ms/.exec(r.stderr);
      assert.ok(settled && Number(settled[1]) >= 1_000, `${list}, handled ${handled}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /settle stopped/);
      assert.equal(statusDatasource(root), 'DataSourceNoCloud');
    }
  });

  test('udev with nothing left to do ends the wait: no volume, no stall', async () => {
    const root = rootWithBusyUdev();
    rmSync(join(root, 'run/udev/queue'));
    const started = performance.now();
    const r = await agentAsync(root, ['init', '--local']);
    const ms = performance.now() - started;
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /devices: udev handled every device after \d+ ms; no cidata\/CIDATA\/config-2\/CONFIG-2 volume/);
    assert.ok(ms < WAIT_MS, `${ms.toFixed(0)} ms`);
  });

  test('udev busy for ever: the wait ends at its bound and the boot goes on', async () => {
    const root = rootWithBusyUdev();
    const started = performance.now();
    const r = await agentAsync(root, ['init', '--local']);
    const ms = performance.now() - started;
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /devices: no cidata\/CIDATA\/config-2\/CONFIG-2 volume and udev still busy after \d+ ms/);
    assert.ok(ms >= WAIT_MS && ms < WAIT_MS + 2_000, `${ms.toFixed(0)} ms`);
  });

  test('a second boot of a known instance that did not come from a volume does not wait (stage init finds a late seed)', async () => {
    const root = rootWithBusyUdev();
    writeIn(root, 'var/lib/cloud/data/instance-id', 'iid-known\n');
    const started = performance.now();
    const r = await agentAsync(root, ['init', '--local']);
    const ms = performance.now() - started;
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /devices: /);
    assert.ok(ms < WAIT_MS, `${ms.toFixed(0)} ms`);
    // The seed comes now: stage init's first pass (a seed that appeared after init-local) finds it.
    plugIn(root, cidataIso(root, 'iid-known'));
    const init = await agentAsync(root, ['init']);
    assert.equal(init.status, 0, init.stderr);
    assert.equal(statusDatasource(root), 'DataSourceNoCloud');
  });

  test('a second boot of an instance that came from a cidata volume waits for it: found by init-local again', async () => {
    const root = rootWithBusyUdev();
    const iso = cidataIso(root, 'iid-volume-again');
    plugIn(root, iso);
    const first = await agentAsync(root, ['init', '--local']);
    assert.equal(first.status, 0, first.stderr);
    // The reboot: the CD-ROM's driver not loaded yet, udev busy.
    rmSync(join(root, 'dev/sr0'));
    rmSync(join(root, 'sys/class/block/sr0'), { recursive: true });
    rmSync(join(root, 'run'), { recursive: true });
    writeIn(root, 'run/udev/control', '');
    writeIn(root, 'run/udev/queue', '');
    const run = agentAsync(root, ['init', '--local']);
    await delay(1_500);
    plugIn(root, iso);
    const r = await run;
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /devices: seed volume \/dev\/sr0 there after \d+ ms/);
    assert.equal(statusDatasource(root), 'DataSourceNoCloud');
    assert.match(readFileSync(join(root, 'run/ec2-init/network-needed'), 'utf8'), /^no: /);
  });

  test('a second boot of an instance that came from a cidata volume, the volume there: no wait for udev at all', async () => {
    const root = rootWithBusyUdev();
    plugIn(root, cidataIso(root, 'iid-volume-there'));
    const first = await agentAsync(root, ['init', '--local']);
    assert.equal(first.status, 0, first.stderr);
    assert.doesNotMatch(first.stderr, /a known instance/, 'a first boot still settles (its NICs are rendered from what is there)');
    // The reboot: udev busy with other devices, the CD-ROM already made.
    rmSync(join(root, 'run'), { recursive: true });
    writeIn(root, 'run/udev/control', '');
    writeIn(root, 'run/udev/queue', '');
    const r = await agentAsync(root, ['init', '--local']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /devices: seed volume \/dev\/sr0 there after \d+ ms \(a known instance's\): udev not waited for/);
    assert.equal(statusDatasource(root), 'DataSourceNoCloud');
  });

  test('a second boot after the seed was ejected (its drive there, empty): no wait for the volume, the boot goes on', async () => {
    const root = rootWithBusyUdev();
    plugIn(root, cidataIso(root, 'iid-ejected'));
    assert.equal((await agentAsync(root, ['init', '--local'])).status, 0);
    assert.equal((await agentAsync(root, ['init'])).status, 0);
    // The reboot: the drive is there, with no medium (an empty device node).
    rmSync(join(root, 'run'), { recursive: true });
    writeIn(root, 'run/udev/control', '');
    writeIn(root, 'dev/sr0', '');
    const started = performance.now();
    const r = await agentAsync(root, ['init', '--local']);
    const ms = performance.now() - started;
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /devices: \/dev\/sr0 is there without the seed volume after \d+ ms/);
    assert.ok(ms < WAIT_MS, `${ms.toFixed(0)} ms: it did not wait out the bound`);
  });

  test('a cidata volume that appears after init-local ended is found by stage init before it would wait for the network', async () => {
    const root = rootWithBusyUdev();
    rmSync(join(root, 'run/udev/queue'));
    const local = await agentAsync(root, ['init', '--local']);
    assert.equal(local.status, 0, local.stderr);
    assert.match(readFileSync(join(root, 'run/ec2-init/network-needed'), 'utf8'), /^yes: no datasource found locally/);
    plugIn(root, cidataIso(root, 'iid-after-local'));
    const init = await agentAsync(root, ['init']);
    assert.equal(init.status, 0, init.stderr);
    assert.equal(statusDatasource(root), 'DataSourceNoCloud');
    assert.match(readFileSync(join(root, 'run/ec2-init/network-needed'), 'utf8'), /^no: NoCloud found locally/);
    assert.ok(init.stderr.indexOf('datasource NoCloud: found') < init.stderr.indexOf('network: '), init.stderr);
  });

  test('a NIC the network config names, whose driver udev is still loading, is waited for before the config is rendered', async () => {
    const root = rootWithBusyUdev();
    writeIn(root, 'etc/cloud/cloud.cfg', 'datasource_list: [NoCloud]\nsystem_info:\n  network:\n    renderers: [networkd]\n');
    seed(root, 'instance-id: iid-late-nic\n', '#cloud-config\n{}\n');
    writeIn(root, 'var/lib/cloud/seed/nocloud/network-config', 'version: 2\nethernets:\n  second:\n    match: {macaddress: "52:54:00:12:34:02"}\n    dhcp4: true\n');
    const run = agentAsync(root, ['init', '--local']);
    await delay(1_500);
    plantNic(root, 'ens4', '52:54:00:12:34:02');
    rmSync(join(root, 'run/udev/queue'));
    const r = await run;
    assert.equal(r.status, 0, r.stderr);
    // Named by the NIC it matched (without the wait: by the config's id, 'second', which no NIC has).
    assert.match(readFileSync(join(root, 'etc/systemd/network/10-cloud-init-ens4.network'), 'utf8'), /PermanentMACAddress=52:54:00:12:34:02\n\n\[Network\]\nDHCP=ipv4\n/);
    assert.match(r.stderr, /network: ethernets\.second there after \d+ ms/);
  });
});
