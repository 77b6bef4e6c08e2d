// The disk modules' decisions: mounts / swap (the fstab cloud-init would
// write), disk_setup / fs_setup, growpart, resize_rootfs, lvm. Through the
// built executable: test/integration/modules-disks.test.ts; real partitions,
// LVM, growpart and mounts: test/e2e/disks.e2e.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { findDeviceNode, fsDecision, layoutMatches, mkfsCommand, sfdiskScript, type BlockEntry } from '../../src/modules/disk_setup.ts';
import { expandDotted, isMetaDeviceName } from '../../src/modules/disk-devices.ts';
import { growConfig } from '../../src/modules/growpart.ts';
import { MODULES } from '../../src/modules/index.ts';
import { fstabWithLvm, LVM_COMMENT, lvmFstabLines, parseLvm, plannedCommands, sizeArgs } from '../../src/modules/lvm.ts';
import { defaultMountOptions, human2bytes, parseFstab, planFstab, suggestedSwapsize } from '../../src/modules/mounts.ts';
import { resizeCommand } from '../../src/modules/resize_rootfs.ts';
import { checkCloudConfigText } from '../../src/schema/validate.ts';
import { FSTAB_OPTS as OPTS } from '../helpers/fixtures.ts';
import { CONFORMANCE } from '../helpers/paths.ts';

const MB = 2 ** 20;
const GB = 2 ** 30;
const EXAMPLES = join(CONFORMANCE, 'cloud-init', 'module-examples');

describe('mounts: the fstab cloud-init would write', () => {
  const defaults = [null, null, 'auto', OPTS, '0', '2'];
  const plan = (fstab: string | null, mounts: unknown, resolve: (n: string) => string | null = (n) => (n.startsWith('/dev/') ? n : null), swapFile: string | null = null) =>
    planFstab({ fstab, mounts, defaultFields: defaults, defaultOptions: OPTS, resolve, swapFile, warn: () => {} });

  test("cloud-init's own combination case (test_fstab_mounts_combinations), with ec2-init's unit", () => {
    const fstab = 'LABEL=keepme\tnone\text4\tdefaults\t0\t0\n/dev/sda1\t/a\tauto\tdefaults,comment=cloudconfig\t0\t2\nLABEL=UEFI\n\n/dev/sda2\t/b\tauto\tdefaults,comment=cloudconfig\t0\t2\n';
    const p = plan(fstab, [
      ['/dev/sda3', 'dontcare', 'auto', 'defaults', '0', '0'],
      ['/dev/sda4', '/mnt2', 'auto', 'nofail', '1'],
      ['/dev/sda3', null],
      ['/dev/sda5', '/mnt3'],
      ['/dev/sda1', '/mnt', 'xfs', 'auto', null, '2'],
      ['/dev/sda3', '/mnt4', 'btrfs'],
    ], (n) => (n === 'swap' ? '/dev/sdb1' : n.startsWith('/dev/') ? n : null));
    assert.equal(p.content, [
      'LABEL=keepme\tnone\text4\tdefaults\t0\t0',
      'LABEL=UEFI',
      '/dev/sda4\t/mnt2\tauto\tnofail,comment=cloudconfig\t1\t2',
      `/dev/sda5\t/mnt3\tauto\t${OPTS},comment=cloudconfig\t0\t2`,
      '/dev/sda1\t/mnt\txfs\tauto,comment=cloudconfig\t0\t2',
      `/dev/sda3\t/mnt4\tbtrfs\t${OPTS},comment=cloudconfig\t0\t2`,
      '/dev/sdb1\tnone\tswap\tsw,comment=cloudconfig\t0\t0',
    ].join('\n') + '\n');
    assert.deepEqual(p.dirs, ['/mnt2', '/mnt3', '/mnt', '/mnt4']);
    assert.ok(p.changes.includes('- /dev/sda2 /b auto defaults,comment=cloudconfig 0 2'));
  });

  test('ephemeral0 goes on /mnt unless the config mounts it elsewhere (the specification: /dev/sdb1 not on /mnt)', () => {
    const resolve = (n: string) => ({ ephemeral0: '/dev/sdb1', '/dev/sdb1': '/dev/sdb1' } as Record<string, string>)[n] ?? null;
    assert.equal(plan('', [], resolve).content, `/dev/sdb1\t/mnt\tauto\t${OPTS},comment=cloudconfig\t0\t2\n`);
    assert.equal(plan('', [['/dev/sdb1', '/data']], resolve).content, `/dev/sdb1\t/data\tauto\t${OPTS},comment=cloudconfig\t0\t2\n`);
    assert.equal(plan('', [['ephemeral0', '/srv', 'ext4']], resolve).content, `/dev/sdb1\t/srv\text4\t${OPTS},comment=cloudconfig\t0\t2\n`);
    // A null mount point: not mounted at all.
    assert.equal(plan('', [['ephemeral0', null]], resolve).content, null);
  });

  test('a device in fstab already (a line of the image) is not added again; nothing configured: fstab untouched', () => {
    const resolve = (n: string) => (n === 'swap' ? '/dev/xvdc' : n.startsWith('/dev/') ? n : null);
    assert.equal(plan('/dev/xvdc swap swap defaults 0 0\n', [], resolve).content, null);
    assert.equal(plan('/dev/sdc1 swap swap defaults 0 0\n', [], resolve).content, '/dev/sdc1 swap swap defaults 0 0\n/dev/xvdc\tnone\tswap\tsw,comment=cloudconfig\t0\t0\n');
    assert.equal(plan('LABEL=root / ext4 defaults 0 1\n', []).content, null);
    // The same config again: the same file, no changes.
    const first = plan('LABEL=root / ext4 defaults 0 1\n', [['/dev/vdb', '/data']]);
    const again = plan(first.content, [['/dev/vdb', '/data']]);
    assert.equal(again.content, first.content);
    assert.deepEqual(again.changes, []);
  });

  test('a bare kernel name that does not exist is still /dev/NAME; numbers become strings; the swap file line once', () => {
    const p = plan(null, [['sdc', '/opt/data', 'auto', 'defaults', 0, 0]], () => null, '/swap.img');
    assert.equal(p.content, '/dev/sdc\t/opt/data\tauto\tdefaults,comment=cloudconfig\t0\t0\n/swap.img\tnone\tswap\tsw,comment=cloudconfig\t0\t0\n');
    assert.equal(plan(p.content, [['sdc', '/opt/data', 'auto', 'defaults', 0, 0]], () => null, '/swap.img').content, p.content);
    // A line cloud-init wrote for the swap file (unmarked) is kept, not doubled.
    assert.equal(plan('/swap.img\tnone\tswap\tsw\t0\t0\n', [], () => null, '/swap.img').content, null);
  });

  test('parseFstab keeps comments, drops blank and cloudconfig lines', () => {
    const f = parseFstab('# comment\n\nUUID=x / ext4 defaults 0 1\n/dev/sdb /mnt auto defaults,comment=cloudconfig 0 2\n');
    assert.deepEqual(f.lines, ['# comment', 'UUID=x / ext4 defaults 0 1']);
    assert.equal(f.removed.length, 1);
    assert.ok(f.devs.has('UUID=x'));
  });

  test('default options: systemd ordering after ec2-init.service, nofail; without systemd nofail (not upstart\'s nobootwait)', () => {
    assert.equal(defaultMountOptions(true), 'defaults,nofail,x-systemd.after=ec2-init.service,_netdev');
    assert.equal(defaultMountOptions(false), 'defaults,nofail');
  });

  test("swap sizes as cloud-init reads them, and its suggested size (SwapFaq table)", () => {
    assert.equal(human2bytes('2G'), 2 * GB);
    assert.equal(human2bytes('512M'), 512 * MB);
    assert.equal(human2bytes('.5T'), 2 ** 39);
    assert.equal(human2bytes('10485760B'), 10485760);
    assert.equal(human2bytes(4096), 4096);
    assert.throws(() => human2bytes('K'));
    const table: Array<[number, number]> = [[256 * MB, 256 * MB], [1 * GB, 1 * GB], [4 * GB, 4 * GB], [8 * GB, 4 * GB], [32 * GB, 6 * GB], [64 * GB, 8 * GB], [128 * GB, 11 * GB], [512 * GB, 23 * GB]];
    for (const [mem, want] of table) assert.equal(suggestedSwapsize(mem, Infinity, Infinity), want, `${mem / GB} GiB`);
    assert.equal(suggestedSwapsize(2 * GB, 10 * MB, null), 10 * MB);
    assert.equal(suggestedSwapsize(2 * GB, null, 4 * GB), 1 * GB); // a quarter of the free space
  });

  test('device names: dotted names and metadata names', () => {
    assert.deepEqual(expandDotted('my_alias.1'), ['my_alias', '1']);
    assert.deepEqual(expandDotted('sdb'), ['sdb', null]);
    for (const n of ['ephemeral0', 'ephemeral1', 'swap', 'ami', 'root', 'ebs0']) assert.ok(isMetaDeviceName(n), n);
    for (const n of ['sdb', '/dev/sdb', 'server:/ephemeral']) assert.ok(!isMetaDeviceName(n), n);
  });
});

describe('fs_setup / disk_setup decisions', () => {
  const empty = { fstype: null, label: null, pttype: null, ambivalent: false };
  test('never formats a device with data unless overwrite: true (stricter than cloud-init)', () => {
    const want = { filesystem: 'ext4', label: 'data', overwrite: false };
    assert.equal(fsDecision(empty, want).format, true);
    assert.equal(fsDecision({ ...empty, fstype: 'ext4', label: 'data' }, want).format, false);
    assert.match(fsDecision({ ...empty, fstype: 'ext4', label: 'data' }, want).reason, /requested filesystem already/);
    // cloud-init would format these (another label, another filesystem, a partition table): ec2-init does not.
    assert.equal(fsDecision({ ...empty, fstype: 'ext4', label: 'other' }, want).format, false);
    assert.equal(fsDecision({ ...empty, fstype: 'xfs', label: null }, want).format, false);
    assert.equal(fsDecision({ ...empty, pttype: 'gpt' }, want).format, false);
    assert.equal(fsDecision({ ...empty, fstype: 'LVM2_member' }, want).format, false);
    assert.equal(fsDecision({ ...empty, ambivalent: true }, want).format, false);
    assert.match(fsDecision({ ...empty, fstype: 'xfs' }, want).reason, /set overwrite: true/);
    for (const found of [{ ...empty, fstype: 'xfs' }, { ...empty, fstype: 'ext4', label: 'data' }, { ...empty, pttype: 'dos' }]) {
      assert.equal(fsDecision(found, { ...want, overwrite: true }).format, true);
    }
    assert.equal(fsDecision({ ...empty, fstype: 'ntfs' }, { ...want, replaceFs: 'ntfs' }).format, true);
    assert.equal(fsDecision({ ...empty, fstype: 'xfs' }, { ...want, replaceFs: 'ntfs' }).format, false);
  });

  test('sfdisk scripts from percentages (MBR types, GPT shortcuts), at most 4 MBR partitions', () => {
    assert.equal(sfdiskScript('mbr', true, 1000), 'label: dos\n,,83\n');
    assert.equal(sfdiskScript('mbr', [33, [66, 82]], 1000), 'label: dos\n,330,83\n,,82\n');
    assert.equal(sfdiskScript('gpt', [50, 50], 2000), 'label: gpt\n,1000,L\n,,L\n');
    assert.equal(sfdiskScript('gpt', [[100, 82]], 2000), 'label: gpt\n,,S\n');
    assert.equal(sfdiskScript('gpt', [[50, '8e00'], [50, 'fd']], 100), 'label: gpt\n,50,V\n,,R\n');
    assert.throws(() => sfdiskScript('mbr', [20, 20, 20, 20, 20], 100), /at most 4/);
    assert.throws(() => sfdiskScript('gpt', [[100, 'zz']], 100), /no GPT equivalent/);
  });

  test('an existing matching layout is left alone', () => {
    assert.equal(layoutMatches('mbr', true, { label: 'dos', types: ['83'] }), true);
    assert.equal(layoutMatches('mbr', [50, [50, 82]], { label: 'dos', types: ['83', '82'] }), true);
    assert.equal(layoutMatches('mbr', [50, [50, 82]], { label: 'dos', types: ['83', '83'] }), false);
    assert.equal(layoutMatches('gpt', [[100, 82]], { label: 'gpt', types: ['0657FD6D-A4AB-43C4-84E5-0933C84B4F4F'] }), true);
    assert.equal(layoutMatches('gpt', [50, 50], { label: 'dos', types: ['83', '83'] }), false);
    assert.equal(layoutMatches('mbr', true, null), false);
  });

  test("partition auto/any: cloud-init's find_device_node", () => {
    const disk: BlockEntry = { name: '/dev/sdb', type: 'disk', fstype: '', label: '' };
    const p = (n: number, fstype = '', label = ''): BlockEntry => ({ name: `/dev/sdb${n}`, type: 'part', fstype, label });
    assert.deepEqual(findDeviceNode('/dev/sdb', [disk], 'ext4', 'd', true, null), { device: '/dev/sdb', reuse: false });
    assert.deepEqual(findDeviceNode('/dev/sdb', [disk, p(1, 'ext4', 'd')], 'ext4', 'd', true, null), { device: '/dev/sdb1', reuse: true });
    assert.deepEqual(findDeviceNode('/dev/sdb', [disk, p(1, 'ext4', 'x'), p(2)], 'ext4', 'd', true, null), { device: '/dev/sdb2', reuse: false });
    assert.deepEqual(findDeviceNode('/dev/sdb', [disk, p(1, 'ext4', 'x')], 'ext4', 'd', false, null), { device: '/dev/sdb1', reuse: true });
    assert.deepEqual(findDeviceNode('/dev/sdb', [disk, p(1, 'xfs')], 'ext4', null, true, null), { device: null, reuse: false });
    assert.deepEqual(findDeviceNode('/dev/sdb', [disk, p(1, 'ntfs')], 'ext4', null, false, 'ntfs'), { device: '/dev/sdb1', reuse: false });
  });

  test('mkfs commands: label, force flag, extra_opts; cmd with %(name)s', () => {
    const base = { device: '/dev/sdb', filesystem: 'ext4', label: 'fs1', overwrite: false, replaceFs: null, extraOpts: ['-m', '0'], cmd: null };
    assert.deepEqual(mkfsCommand(base, '/dev/sdb1', false), ['mkfs.ext4', '-L', 'fs1', '-m', '0', '/dev/sdb1']);
    assert.deepEqual(mkfsCommand({ ...base, filesystem: 'xfs', extraOpts: [] }, '/dev/sdb1', true), ['mkfs.xfs', '-L', 'fs1', '-f', '/dev/sdb1']);
    assert.deepEqual(mkfsCommand({ ...base, filesystem: 'swap', label: null, extraOpts: [] }, '/dev/sdc1', false), ['mkswap', '/dev/sdc1']);
    assert.deepEqual(mkfsCommand({ ...base, cmd: 'mkfs -t %(filesystem)s -L %(label)s %(device)s' }, '/dev/sdb1', false),
      ['/bin/sh', '-c', 'mkfs -t ext4 -L fs1 /dev/sdb1']);
  });
});

describe('growpart / resize_rootfs / lvm: configuration', () => {
  test('growpart: mode auto and devices [/] by default; false means off', () => {
    assert.deepEqual(growConfig(undefined), { mode: 'auto', devices: ['/'], ignoreDisabled: false });
    assert.equal(growConfig({ mode: false }).mode, 'off');
    assert.equal(growConfig({ mode: 'off' }).mode, 'off');
    assert.deepEqual(growConfig({ devices: ['/', '/dev/vdb1'], ignore_growroot_disabled: true }).devices, ['/', '/dev/vdb1']);
  });

  test('resize_rootfs: the tool of each filesystem', () => {
    assert.deepEqual(resizeCommand('ext4', '/dev/vda1', '/'), ['resize2fs', '/dev/vda1']);
    assert.deepEqual(resizeCommand('xfs', '/dev/vda1', '/'), ['xfs_growfs', '/']);
    assert.deepEqual(resizeCommand('btrfs', '/dev/vda1', '/'), ['btrfs', 'filesystem', 'resize', 'max', '/']);
    assert.equal(resizeCommand('vfat', '/dev/vda1', '/'), null);
  });

  test('lvm: config checked, sizes to -L / -l, fstab lines marked and replaced, nothing else touched', () => {
    const vgs = parseLvm({ volume_groups: [{ name: 'data', devices: ['/dev/vdb', 'vdc'], logical_volumes: [
      { name: 'srv', size: '10G', filesystem: 'ext4', mount: '/data' },
      { name: 'rest', size: '100%FREE' },
      { name: 'n', size: 512, filesystem: 'xfs', mount: '/n', mount_options: 'noatime' },
    ] }] }, (d) => (d.startsWith('/') ? d : `/dev/${d}`));
    assert.deepEqual(vgs[0]!.devices, ['/dev/vdb', '/dev/vdc']);
    assert.deepEqual(sizeArgs('10G'), ['-L', '10G']);
    assert.deepEqual(sizeArgs('100%FREE'), ['-l', '100%FREE']);
    assert.equal(vgs[0]!.lvs[2]!.size, '512m');
    const lines = lvmFstabLines(vgs);
    assert.deepEqual(lines, [`/dev/data/srv\t/data\text4\tdefaults,nofail,${LVM_COMMENT}\t0\t2`, `/dev/data/n\t/n\txfs\tnoatime,${LVM_COMMENT}\t0\t2`]);
    const fstab = `LABEL=root / ext4 defaults 0 1\n/dev/sdb1\t/mnt\tauto\tdefaults,comment=cloudconfig\t0\t2\n`;
    const once = fstabWithLvm(fstab, lines)!;
    assert.equal(once, fstab + lines.join('\n') + '\n');
    assert.equal(fstabWithLvm(once, lines), null, 'the same config again: fstab unchanged');
    assert.equal(fstabWithLvm(once, [lines[0]!]), fstab + lines[0] + '\n');
    assert.equal(fstabWithLvm(null, []), null);
    const planned = plannedCommands(vgs).join('\n');
    assert.match(planned, /pvcreate \/dev\/vdb \/dev\/vdc/);
    assert.match(planned, /vgcreate data \/dev\/vdb \/dev\/vdc/);
    assert.match(planned, /lvcreate --yes -n srv -L 10G data/);
    assert.match(planned, /lvcreate --yes -n rest -l 100%FREE data/);
    assert.match(planned, /mkfs\.ext4 \/dev\/data\/srv/);
    for (const bad of [
      { volume_groups: [{ name: 'data', devices: [] }] },
      { volume_groups: [{ name: 'bad name', devices: ['/dev/vdb'] }] },
      { volume_groups: [{ name: 'data', devices: ['/dev/vdb'], logical_volumes: [{ name: 'x', size: 'lots' }] }] },
      { volume_groups: [{ name: 'data', devices: ['/dev/vdb'], logical_volumes: [{ name: 'x', size: '1G', mount: 'relative', filesystem: 'ext4' }] }] },
      { volume_groups: [{ name: 'data', devices: ['/dev/vdb'], logical_volumes: [{ name: 'x', size: '1G', mount: '/m' }] }] },
    ]) assert.throws(() => parseLvm(bad), JSON.stringify(bad));
  });

  test("schema: cloud-init's module examples validate; lvm's keys are known and checked", () => {
    for (const dir of ['cc_mounts', 'cc_disk_setup', 'cc_growpart', 'cc_resizefs']) {
      if (!existsSync(join(EXAMPLES, dir))) continue;
      for (const name of spawnSync('ls', [join(EXAMPLES, dir)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
        const { problems } = checkCloudConfigText(readFileSync(join(EXAMPLES, dir, name), 'utf8'), MODULES);
        assert.deepEqual(problems.filter((p) => p.level === 'error'), [], `${dir}/${name}`);
      }
    }
    const ok = checkCloudConfigText('lvm:\n  volume_groups:\n    - name: data\n      devices: [/dev/vdb]\n      logical_volumes:\n        - {name: srv, size: 100%FREE, filesystem: ext4, mount: /data}\n', MODULES);
    assert.deepEqual(ok.problems, []);
    const bad = checkCloudConfigText('lvm:\n  volume_groups:\n    - name: data\n      devices: [/dev/vdb]\n      logical_volumes:\n        - {name: srv, size: lots, mountpoint: /data}\n', MODULES);
    assert.ok(bad.problems.some((p) => p.path === 'lvm.volume_groups.0.logical_volumes.0.size' && p.line === 6), JSON.stringify(bad.problems));
    assert.ok(bad.problems.some((p) => /unknown key 'mountpoint'/.test(p.message)), JSON.stringify(bad.problems));
  });
});
