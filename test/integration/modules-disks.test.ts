// The disk modules: mounts / swap, disk_setup / fs_setup, growpart,
// resize_rootfs, lvm. The fstab, the swap file and the --root behaviour
// through the built executable on throw-away roots; fs_setup's overwrite
// safety on image files (mkfs.ext4 on a plain file, chrooted into a
// throw-away root — no loop devices, no real disk). The decisions are in
// test/unit/modules-disks.test.ts.
// Partitions, LVM, growpart and real mounts are in test/e2e/disks.e2e.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Context } from '../../src/context.ts';
import { silentLogger } from '../../src/log.ts';
import { diskAndPartition } from '../../src/modules/growpart.ts';
import { SKIP_REASON, startImdsSimulator } from '../helpers/imds-simulator.ts';
import { FSTAB_OPTS as OPTS } from '../helpers/fixtures.ts';
import { TOP } from '../helpers/paths.ts';
import { read, writeIn } from '../helpers/files.ts';
import { AGENT, agent, agentAsync, cannotRun, moduleProblems, newRoot, seed, WITH_ROOT } from '../helpers/agent.ts';
import { needRoot } from '../helpers/needs.ts';

const MB = 2 ** 20;

// Links of the root's sysfs are followed only when owned by root: as root.
describe('growpart / resize_rootfs / lvm: configuration', { skip: needRoot('links owned by root') ?? false }, () => {
  test('growpart: the disk and partition number of a partition, from sysfs (under the root)', () => {
    const root = mkdtempSync(join(tmpdir(), 'ec2-init-sysfs-'));
    try {
      mkdirSync(join(root, 'sys/devices/pci0000:00/virtio3/block/vdc/vdc1'), { recursive: true });
      writeFileSync(join(root, 'sys/devices/pci0000:00/virtio3/block/vdc/vdc1/partition'), '1\n');
      mkdirSync(join(root, 'sys/class/block'), { recursive: true });
      symlinkSync('../../devices/pci0000:00/virtio3/block/vdc/vdc1', join(root, 'sys/class/block/vdc1'));
      symlinkSync('../../devices/pci0000:00/virtio3/block/vdc', join(root, 'sys/class/block/vdc'));
      const ctx = new Context(root, silentLogger);
      assert.deepEqual(diskAndPartition(ctx, '/dev/vdc1'), { disk: '/dev/vdc', partition: '1' });
      assert.equal(diskAndPartition(ctx, '/dev/vdc'), null);
    } finally { rmSync(root, { recursive: true, force: true }); }
  });
});

// ---------------------------------------------------------------------------
// The built executable on throw-away roots

const skip = cannotRun();
/** A throw-away root of a systemd system (/run/systemd/system, whatever this machine's /usr has). */
function systemdRoot(): string { const r = newRoot(); mkdirSync(join(r, 'run/systemd/system'), { recursive: true }); return r; }
const mountinfo = () => readFileSync('/proc/self/mountinfo', 'utf8');
const problems = moduleProblems;
/** A fake block device in the root: /dev/NAME (a plain file) and /sys/block/DISK[/NAME]. */
function fakeDevice(root: string, disk: string, part?: string): void {
  mkdirSync(join(root, 'sys/block', disk, part ?? ''), { recursive: true });
  mkdirSync(join(root, 'dev'), { recursive: true });
  writeFileSync(join(root, 'dev', part ?? disk), '');
}

describe('disk modules on a throw-away root (the built executable)', { skip: skip ?? false }, () => {
  const before = skip ? '' : mountinfo();
  after(() => assert.equal(mountinfo(), before, 'no mount happened on this machine'));

  const FSTAB = '# /etc/fstab: static file system information.\nLABEL=root\t/\text4\terrors=remount-ro\t0\t1\n\n' +
    '/dev/vdz\t/old\tauto\tdefaults,nofail,comment=cloudconfig\t0\t2\nUUID=1234 /boot ext4 defaults 0 2\n';

  test('mounts and swap: exact fstab (old cloudconfig lines replaced), mount points, swap file 0600 with a swap signature, no swapon or mount', () => {
    const root = systemdRoot();
    writeIn(root, 'etc/fstab', FSTAB);
    seed(root, 'instance-id: iid-disk-1\n', [
      '#cloud-config',
      'mounts:',
      '  - [ sdc, /opt/data ]',
      '  - [ xvdh, /opt/data2, auto, "defaults,nofail", "0", "0" ]',
      '  - [ /dev/sdb1, /srv/ephemeral ]',
      '  - [ "192.168.1.1:/export", /mnt/nfs, nfs, "rw,_netdev" ]',
      '  - [ /dev/sdd, /gone ]',
      '  - [ /dev/sdd, null ]',
      '  - [ /dev/sde ]',
      'swap:',
      '  filename: /var/swap.img',
      '  size: 8M',
      '  maxsize: 16M',
    ].join('\n') + '\n');
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(read(root, 'etc/fstab'), [
      '# /etc/fstab: static file system information.',
      'LABEL=root\t/\text4\terrors=remount-ro\t0\t1',
      'UUID=1234 /boot ext4 defaults 0 2',
      `/dev/sdc\t/opt/data\tauto\t${OPTS},comment=cloudconfig\t0\t2`,
      '/dev/xvdh\t/opt/data2\tauto\tdefaults,nofail,comment=cloudconfig\t0\t0',
      `/dev/sdb1\t/srv/ephemeral\tauto\t${OPTS},comment=cloudconfig\t0\t2`,
      '192.168.1.1:/export\t/mnt/nfs\tnfs\trw,_netdev,comment=cloudconfig\t0\t2',
      '/var/swap.img\tnone\tswap\tsw,comment=cloudconfig\t0\t0',
    ].join('\n') + '\n');
    assert.equal(statSync(join(root, 'etc/fstab')).mode & 0o7777, 0o644);
    for (const d of ['opt/data', 'opt/data2', 'srv/ephemeral', 'mnt/nfs']) assert.ok(statSync(join(root, d)).isDirectory(), d);
    assert.ok(!existsSync(join(root, 'gone')));
    const swap = statSync(join(root, 'var/swap.img'));
    assert.equal(swap.mode & 0o7777, 0o600);
    assert.equal(swap.size, 8 * MB);
    assert.match(spawnSync('blkid', ['-p', '-o', 'export', join(root, 'var/swap.img')], { encoding: 'utf8' }).stdout, /^TYPE=swap$/m);
    const log = read(root, 'var/log/ec2-init.log');
    assert.match(log, /module mounts: swap file \/var\/swap.img of 8 MiB created/);
    for (const cmd of ['swapon -a', 'mount -a', 'systemctl daemon-reload']) assert.match(log, new RegExp(`module mounts: skipped with --root .*\\(${cmd}\\) \\[running system only\\]`));
    assert.match(log, /module mounts: \/etc\/fstab: - \/dev\/vdz \/old auto defaults,nofail,comment=cloudconfig 0 2; \+ \/dev\/sdc/);
    assert.deepEqual(problems(root, 'mounts'), []);
    // Only the mounts module ran among the disk modules' effects: nothing of disk_setup or lvm without their keys.
    assert.doesNotMatch(log, /module (disk_setup|lvm):/);

    // The same instance again: per-instance, nothing changes.
    const fstab1 = read(root, 'etc/fstab');
    const swapIno = statSync(join(root, 'var/swap.img')).ino;
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'etc/fstab'), fstab1);

    // A new instance with another config: our old lines go, the image's stay; the swap file is kept, listed once.
    seed(root, 'instance-id: iid-disk-2\n', '#cloud-config\nmounts:\n  - [ vdb, /data, ext4, "defaults,noatime" ]\nswap:\n  filename: /var/swap.img\n  size: 8M\n');
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'etc/fstab'), [
      '# /etc/fstab: static file system information.',
      'LABEL=root\t/\text4\terrors=remount-ro\t0\t1',
      'UUID=1234 /boot ext4 defaults 0 2',
      '/dev/vdb\t/data\text4\tdefaults,noatime,comment=cloudconfig\t0\t2',
      '/var/swap.img\tnone\tswap\tsw,comment=cloudconfig\t0\t0',
    ].join('\n') + '\n');
    assert.equal(statSync(join(root, 'var/swap.img')).ino, swapIno, 'the swap file is not re-created');
    assert.match(read(root, 'var/log/ec2-init.log'), /swap file \/var\/swap.img exists already; not re-created/);
  });

  test('mount_default_fields; no mounts and no swap: fstab untouched; swap size auto under --root: skipped (it needs the instance memory)', () => {
    const root = systemdRoot();
    writeIn(root, 'etc/fstab', FSTAB);
    seed(root, 'instance-id: iid-disk-3\n', '#cloud-config\nmount_default_fields: [None, None, "auto", "defaults,nofail", "0", "2"]\nmounts:\n  - [ vdc, /data ]\n');
    assert.equal(agent(root, ['boot']).status, 0);
    assert.match(read(root, 'etc/fstab'), /\n\/dev\/vdc\t\/data\tauto\tdefaults,nofail,comment=cloudconfig\t0\t2\n$/);

    const bare = systemdRoot();
    writeIn(bare, 'etc/fstab', FSTAB);
    seed(bare, 'instance-id: iid-disk-4\n', '#cloud-config\nswap:\n  filename: /swap.img\n  size: auto\n');
    assert.equal(agent(bare, ['boot']).status, 0);
    assert.equal(read(bare, 'etc/fstab'), FSTAB);
    assert.ok(!existsSync(join(bare, 'swap.img')));
    assert.match(read(bare, 'var/log/ec2-init.log'), /module mounts: skipped with --root .*: swap file \/swap.img of size auto/);
  });

  test('EC2 block-device-mapping (meta-data): ephemeral0 → /dev/xvdb on /mnt, the specification: its partition elsewhere, NVMe instance store', () => {
    const bdm = 'block-device-mapping:\n  ami: /dev/sda1\n  root: /dev/sda1\n  ephemeral0: sdb\n  swap: sdc\n';
    // The kernel calls the disks xvdb/xvdc (Xen), as cloud-init's remap expects.
    const root = systemdRoot();
    fakeDevice(root, 'xvdb');
    fakeDevice(root, 'xvdc');
    seed(root, `instance-id: iid-bdm-1\n${bdm}`, '#cloud-config\n{}\n');
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'etc/fstab'),
      `/dev/xvdb\t/mnt\tauto\t${OPTS},comment=cloudconfig\t0\t2\n/dev/xvdc\tnone\tswap\tsw,comment=cloudconfig\t0\t0\n`);

    // The specification's case: /dev/sdb1 mounted on /data, not /mnt.
    const spec = systemdRoot();
    fakeDevice(spec, 'sdb');
    fakeDevice(spec, 'sdb', 'sdb1');
    seed(spec, `instance-id: iid-bdm-2\n${bdm}`, '#cloud-config\nmounts:\n  - [ ephemeral0, /data, ext4 ]\n  - [ swap, null ]\n');
    assert.equal(agent(spec, ['boot']).status, 0);
    assert.equal(read(spec, 'etc/fstab'), `/dev/sdb1\t/data\text4\t${OPTS},comment=cloudconfig\t0\t2\n`);
    assert.ok(statSync(join(spec, 'data')).isDirectory());
    assert.ok(!existsSync(join(spec, 'mnt')) || !read(spec, 'etc/fstab').includes('/mnt'));

    // Nitro: instance store is NVMe; ephemeral0 is the first such disk.
    const nitro = systemdRoot();
    fakeDevice(nitro, 'nvme0n1');
    fakeDevice(nitro, 'nvme1n1');
    writeIn(nitro, 'sys/block/nvme0n1/device/model', 'Amazon Elastic Block Store              \n');
    writeIn(nitro, 'sys/block/nvme1n1/device/model', 'Amazon EC2 NVMe Instance Storage        \n');
    seed(nitro, `instance-id: iid-bdm-3\n${bdm}`, '#cloud-config\n{}\n');
    assert.equal(agent(nitro, ['boot']).status, 0);
    assert.equal(read(nitro, 'etc/fstab'), `/dev/nvme1n1\t/mnt\tauto\t${OPTS},comment=cloudconfig\t0\t2\n`);

    // t1.micro: ephemeral0 in the mapping but no such disk: no bogus line.
    const none = systemdRoot();
    seed(none, `instance-id: iid-bdm-4\n${bdm}`, '#cloud-config\n{}\n');
    assert.equal(agent(none, ['boot']).status, 0);
    assert.ok(!existsSync(join(none, 'etc/fstab')));
  });

  test('EC2 metadata service: the block-device-mapping of IMDS maps ephemeral0', { skip: SKIP_REASON ?? false }, async () => {
    const sim = await startImdsSimulator({ mode: 'required', userData: '#cloud-config\nmounts:\n  - [ ephemeral0, /scratch ]\n' });
    try {
      const root = systemdRoot();
      writeIn(root, 'etc/cloud/cloud.cfg', `datasource_list: [Ec2]\ndatasource:\n  Ec2:\n    metadata_urls: ['${sim.url}']\n    timeout: 1\n    max_wait: 5\n`);
      // The simulator's mapping says ephemeral0: sdb; this "instance" calls it xvdb.
      fakeDevice(root, 'xvdb');
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(read(root, 'etc/fstab'), `/dev/xvdb\t/scratch\tauto\t${OPTS},comment=cloudconfig\t0\t2\n`);
    } finally { await sim.close(); }
  });

  test('disk_setup, fs_setup, lvm, growpart, resize_rootfs under --root: planned and skipped, nothing on this machine, no problem reported', () => {
    const root = systemdRoot();
    writeIn(root, 'etc/fstab', FSTAB);
    const userData = [
      '#cloud-config',
      'device_aliases: {my_alias: /dev/sdb, swap_disk: /dev/sdc}',
      'disk_setup:',
      '  my_alias: {table_type: gpt, layout: [50, 50], overwrite: true}',
      '  swap_disk: {table_type: gpt, layout: [[100, 82]]}',
      'fs_setup:',
      '  - {label: fs1, filesystem: ext4, device: my_alias.1}',
      '  - {label: swap, filesystem: swap, device: swap_disk.1}',
      'lvm:',
      '  volume_groups:',
      '    - name: data',
      '      devices: [/dev/vdb, /dev/vdc]',
      '      logical_volumes:',
      '        - {name: srv, size: 100%FREE, filesystem: ext4, mount: /data}',
      'growpart: {mode: auto, devices: [/]}',
      'resize_rootfs: true',
    ].join('\n') + '\n';
    seed(root, 'instance-id: iid-disk-plan\n', userData);
    const plan = agent(root, ['plan']);
    assert.equal(plan.status, 0, plan.stderr);
    const line = (name: string) => plan.stdout.split('\n').find((l) => new RegExp(`module +RUN +${name} `).test(l)) ?? '';
    assert.match(line('disk_setup'), /left for the running system: sfdisk --force \/dev\/sdb \(gpt, 50%, 50%: ,50%,L; ,,L\), overwrite: true/);
    assert.match(line('disk_setup'), /sfdisk --force \/dev\/sdc \(gpt, 100% type 82: ,,S\), unless it has partitions or data/);
    assert.match(line('disk_setup'), /mkfs\.ext4 -L fs1 \/dev\/sdb1 on partition 1 of \/dev\/sdb, unless it has data/);
    assert.match(line('disk_setup'), /mkswap -L swap \/dev\/sdc1/);
    assert.match(line('lvm'), /left for the running system: pvcreate \/dev\/vdb \/dev\/vdc .*vgcreate data \/dev\/vdb \/dev\/vdc .*lvcreate --yes -n srv -l 100%FREE data .*mkfs\.ext4 \/dev\/data\/srv .*\/data ext4 defaults,nofail,comment=ec2-init-lvm 0 2; mount \/data/);
    assert.match(line('growpart'), /left for the running system: growpart the partition of \/ \(mode auto\)\) \[running system only\]/);
    assert.match(line('resizefs'), /left for the running system: resize the root filesystem/);
    // The init stage's order: cloud-init's.
    const order = plan.stdout.split('\n').filter((l) => / module /.test(l) && l.startsWith('init ')).map((l) => /(?:RUN|-) +(\S+)/.exec(l.slice(22))?.[1]);
    assert.deepEqual(order.slice(0, 8), ['seed_random', 'bootcmd', 'write_files', 'growpart', 'resizefs', 'disk_setup', 'lvm', 'mounts']);

    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    const log = read(root, 'var/log/ec2-init.log');
    for (const re of [
      /module disk_setup: skipped with --root .*: sfdisk --force \/dev\/sdb/,
      /module disk_setup: skipped with --root .*: mkfs\.ext4 -L fs1 \/dev\/sdb1/,
      /module lvm: skipped with --root .*: pvcreate \/dev\/vdb \/dev\/vdc/,
      /module growpart: skipped with --root .*: growpart the partition of \//,
      /module resizefs: skipped with --root .*: resize the root filesystem/,
    ]) assert.match(log, re);
    for (const m of ['disk_setup', 'lvm', 'growpart', 'resizefs']) assert.deepEqual(problems(root, m), [], m);
    // lvm wrote nothing under --root (its volume does not exist yet); the image's fstab is as it was.
    assert.equal(read(root, 'etc/fstab'), FSTAB);
    const status = JSON.parse(agent(root, ['status', '--format', 'json']).stdout) as { status: string };
    assert.equal(status.status, 'done');
  });

  test('growpart off and /etc/growroot-disabled; resize_rootfs false: nothing planned', () => {
    const root = systemdRoot();
    writeIn(root, 'etc/growroot-disabled', '');
    seed(root, 'instance-id: iid-disk-off\n', '#cloud-config\nresize_rootfs: false\n');
    const plan = agent(root, ['plan']).stdout;
    assert.match(plan, /growpart \[per-boot\]: log .*\(disabled by \/etc\/growroot-disabled\)/);
    assert.match(plan, /resizefs \[per-boot\]: nothing to do/);
    const off = systemdRoot();
    seed(off, 'instance-id: iid-disk-off2\n', "#cloud-config\ngrowpart: {mode: 'off'}\n");
    assert.match(agent(off, ['plan']).stdout, /growpart \[per-boot\]: nothing to do/);
  });
});

// ---------------------------------------------------------------------------
// fs_setup's overwrite safety, for real, on image files (mkfs.ext4 on a plain
// file needs no loop device). formatFilesystem runs chrooted into a
// throw-away root like every program of the agent; the device is a file in it.

describe('fs_setup overwrite safety on image files', { skip: skip ?? false }, () => {
  const NODE = process.execPath;
  const DRIVER = `
    const [root, device, def] = process.argv.slice(1);
    const { Context } = await import(${JSON.stringify(join(TOP, 'src/context.ts'))});
    const { formatFilesystem } = await import(${JSON.stringify(join(TOP, 'src/modules/disk_setup.ts'))});
    const lines = [];
    const log = { debug() {}, info(m) { lines.push('INFO ' + m); }, warn(m) { lines.push('WARN ' + m); }, error(m) { lines.push('ERROR ' + m); } };
    const ctx = new Context(root, log);
    let result, error = null;
    try { result = await formatFilesystem(ctx, 'module disk_setup', JSON.parse(def), device); } catch (e) { error = e.message; }
    ctx.close();
    process.stdout.write(JSON.stringify({ result, error, diags: ctx.diags, lines }));`;
  const format = (root: string, device: string, def: Record<string, unknown>) => {
    const full = { filesystem: 'ext4', label: null, overwrite: false, replaceFs: null, extraOpts: [], cmd: null, device, ...def };
    const r = spawnSync(WITH_ROOT, [root, NODE, '--input-type=module', '-e', DRIVER, root, device, JSON.stringify(full)], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { result: string; error: string | null; diags: Array<{ level: string; message: string }>; lines: string[] };
  };
  const probe = (root: string, file: string) => Object.fromEntries(spawnSync('blkid', ['-p', '-o', 'export', join(root, file)], { encoding: 'utf8' }).stdout
    .split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

  test('an empty image is formatted; the same filesystem is kept; another one is refused unless overwrite: true', () => {
    const root = systemdRoot();
    const img = (name: string) => { mkdirSync(join(root, 'images'), { recursive: true }); writeFileSync(join(root, 'images', name), Buffer.alloc(0)); spawnSync('truncate', ['-s', '16M', join(root, 'images', name)]); return `/images/${name}`; };
    const disk = img('a.img');
    // Nothing on it: formatted.
    let r = format(root, disk, { label: 'data' });
    assert.equal(r.result, 'formatted', JSON.stringify(r));
    const first = probe(root, disk);
    assert.equal(first['TYPE'], 'ext4');
    assert.equal(first['LABEL'], 'data');
    // Again: it has the requested filesystem: kept, no warning.
    r = format(root, disk, { label: 'data' });
    assert.equal(r.result, 'kept');
    assert.deepEqual(r.diags, []);
    assert.equal(probe(root, disk)['UUID'], first['UUID']);
    // Another label (cloud-init would format it): refused, with a warning that says how.
    r = format(root, disk, { label: 'other' });
    assert.equal(r.result, 'kept');
    assert.match(r.diags[0]!.message, /has a ext4 signature \(label data\); set overwrite: true/);
    assert.equal(probe(root, disk)['UUID'], first['UUID']);
    // A swap signature is data too.
    const sw = img('swap.img');
    assert.equal(spawnSync('mkswap', [join(root, sw)]).status, 0);
    r = format(root, sw, { label: 'data' });
    assert.equal(r.result, 'kept');
    assert.equal(probe(root, sw)['TYPE'], 'swap');
    // replace_fs names what may be replaced.
    r = format(root, sw, { label: 'data', replaceFs: 'swap' });
    assert.equal(r.result, 'formatted');
    assert.equal(probe(root, sw)['TYPE'], 'ext4');
    // overwrite: true formats over it.
    r = format(root, disk, { label: 'other', overwrite: true });
    assert.equal(r.result, 'formatted', JSON.stringify(r));
    const second = probe(root, disk);
    assert.equal(second['LABEL'], 'other');
    assert.notEqual(second['UUID'], first['UUID']);
    // A filesystem with no mkfs in the system: a clear error.
    const empty = img('b.img');
    r = format(root, empty, { filesystem: 'nosuchfs' });
    assert.match(r.error ?? '', /no mkfs\.nosuchfs in the system/);
  });
});

void AGENT;

describe('work left for the running system', { skip: cannotRun() ?? false }, () => {

  test('lvm and disk_setup skipped under --root keep no semaphore: the image\'s real first boot still does them', () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-offline\n', [
      '#cloud-config',
      'lvm: {volume_groups: [{name: data, devices: [/dev/vdb], logical_volumes: [{name: srv, size: 1G}]}]}',
      'write_files: [{path: /etc/offline, content: x}]',
      '',
    ].join('\n'));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /module lvm: not marked done: its work needs the running system/);
    const sem = join(root, 'var/lib/cloud/instances/iid-offline/sem');
    assert.ok(existsSync(join(sem, 'config_write_files')), 'semaphores are named as cloud-init names them');
    assert.ok(!existsSync(join(sem, 'config_lvm')));
    assert.match(agent(root, ['plan']).stdout, /init +module +RUN +lvm \[per-instance\]/);
  });
});
