// Boot test 6 (issue 6, modules of issue 5): disk_setup / fs_setup, lvm,
// mounts and swap, growpart — for real, on extra virtual disks attached to a
// Debian bookworm VM (qemu -drive file=…,if=virtio), where the test roots of
// test/integration/modules-disks.test.ts can only plan them.
//
//   npm run deb && node --test test/e2e/disks.e2e.ts     (as root, like the other boot tests)
//
// The VM image is the shared one (image.ts: baseRoot + the .deb + the test
// harness) plus what these modules call: lvm2, fdisk (sfdisk) and
// cloud-guest-utils (growpart). Those come from this machine's apt as .debs
// (apt-get --download-only against the image's own dpkg status, so exactly
// the missing packages), installed offline with dpkg in the chroot; the disk
// is cached under the e2e cache keyed by the base, the .deb and the list.
//
// Disks: vda the root (whole-disk ext4: nothing for growpart on /), vdb 256
// MiB for LVM, vdc 64 MiB with a 16 MiB partition that growpart grows, vdd
// 64 MiB for disk_setup (GPT: ext4 + swap) under an alias.
// Boot 1 sets everything up; boot 2 is a new instance-id with the same
// config: nothing is re-created or formatted (UUIDs and a marker file kept).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, closeSync, openSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import {
  baseRoot, CACHE, cannotRun, debPath, harnessFiles, inChroot, readFromImage, removeDir, run, writeToImage, type Disk,
} from './image.ts';
import { consoleLines, qemuArgs, type BootOptions } from './vm.ts';

const VERBOSE = process.env.EC2_INIT_E2E_VERBOSE === '1';
const BOOT_TIMEOUT_MS = Number(process.env.EC2_INIT_E2E_BOOT_TIMEOUT_MS ?? 420_000);
const PACKAGES = ['lvm2', 'fdisk', 'cloud-guest-utils'];
const RECIPE = 2;
const MiB = 1024 * 1024;

const skip = cannotRun() ?? (existsSync(debPath()) ? undefined : `${debPath()} is missing: run npm run deb first`);

const hash = (x: unknown) => createHash('sha256').update(typeof x === 'string' || Buffer.isBuffer(x) ? x : JSON.stringify(x)).digest('hex').slice(0, 12);

/** The shared image plus lvm2, fdisk and cloud-guest-utils (cached). */
function disksImage(deb: string): Disk {
  const base = baseRoot('systemd');
  const debBytes = readFileSync(deb);
  const key = hash({ base: base.key, deb: hash(debBytes), PACKAGES, RECIPE, harness: harnessFiles() });
  const dir = join(CACHE, `disks-${key}`);
  const out: Disk = { image: join(dir, 'disk.img'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), deb };
  if (existsSync(join(dir, 'done'))) return out;
  for (const name of existsSync(CACHE) ? readdirSync(CACHE) : []) {
    if (/^disks-[0-9a-f]{12}$/.test(name)) rmSync(join(CACHE, name), { recursive: true, force: true });
  }
  const tmp = mkdtempSync(join(tmpdir(), 'ec2-init-e2e-disks-'));
  try {
    const root = join(tmp, 'root');
    run('cp', ['-a', '--reflink=auto', base.root, root], { timeout: 600_000 });
    // The packages missing from the image, as .debs, resolved against the image's own dpkg status.
    const debs = join(tmp, 'debs');
    mkdirSync(join(debs, 'partial'), { recursive: true });
    run('apt-get', ['install', '-y', '-q', '--download-only', '--no-install-recommends',
      '-o', `Dir::State::status=${join(root, 'var/lib/dpkg/status')}`, '-o', `Dir::Cache::archives=${debs}`, '-o', 'Debug::NoLocking=1',
      ...PACKAGES.filter((p) => p !== 'cloud-guest-utils')], { timeout: 600_000 });
    mkdirSync(join(root, 'tmp/debs'), { recursive: true });
    for (const f of readdirSync(debs).filter((n) => n.endsWith('.deb'))) copyFileSync(join(debs, f), join(root, 'tmp/debs', f));
    // growpart is one shell script of cloud-guest-utils, whose other tools pull in python3:
    // only the script goes in (it needs sfdisk, partx, flock, awk: all there now).
    const cgu = join(tmp, 'cgu');
    mkdirSync(cgu);
    run('sh', ['-c', 'cd "$1" && apt-get download -q cloud-guest-utils && dpkg-deb -x cloud-guest-utils_*.deb x', 'sh', cgu], { timeout: 300_000 });
    copyFileSync(join(cgu, 'x/usr/bin/growpart'), join(root, 'usr/bin/growpart'));
    chmodSync(join(root, 'usr/bin/growpart'), 0o755);
    for (const [path, f] of Object.entries({ ...harnessFiles(), '/etc/fstab': { content: 'LABEL=e2e-root / ext4 rw,errors=remount-ro 0 1\n', mode: 0o644 } })) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), f.content, { mode: f.mode });
    }
    writeFileSync(join(root, 'tmp/ec2-init.deb'), debBytes);
    inChroot(root, ['dpkg -i /tmp/debs/*.deb', 'dpkg -i /tmp/ec2-init.deb', 'rm -rf /tmp/debs /tmp/ec2-init.deb', 'rm -f /usr/sbin/policy-rc.d',
      'systemctl enable e2e-report.service'].join('\n'), 900_000);
    mkdirSync(join(tmp, 'out'));
    const boot = join(root, 'boot');
    const vmlinuz = readdirSync(boot).filter((n) => n.startsWith('vmlinuz-')).sort().pop();
    const initrd = readdirSync(boot).filter((n) => n.startsWith('initrd.img-')).sort().pop();
    if (!vmlinuz || !initrd) throw new Error(`no kernel or initramfs in ${boot}`);
    copyFileSync(join(boot, vmlinuz), join(tmp, 'out', 'vmlinuz'));
    copyFileSync(join(boot, initrd), join(tmp, 'out', 'initrd.img'));
    run('mkfs.ext4', ['-q', '-F', '-L', 'e2e-root', '-E', 'root_owner=0:0', '-d', root, join(tmp, 'out', 'disk.img'), '2G'], { timeout: 600_000 });
    writeFileSync(join(tmp, 'out', 'done'), `${deb} + ${PACKAGES.join(' ')}\n`);
    mkdirSync(CACHE, { recursive: true });
    renameSync(join(tmp, 'out'), dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

/** A sparse raw disk of `size` bytes; with `partition`, an MBR with one Linux partition of that many bytes at 1 MiB. */
function rawDisk(path: string, size: number, partition?: number): void {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
    if (partition !== undefined) {
      const mbr = Buffer.alloc(512);
      const entry = 446;
      mbr[entry + 4] = 0x83;
      mbr.writeUInt32LE(2048, entry + 8);
      mbr.writeUInt32LE(partition / 512, entry + 12);
      mbr[510] = 0x55;
      mbr[511] = 0xaa;
      writeSync(fd, mbr, 0, 512, 0);
    }
  } finally { closeSync(fd); }
}

/** One boot with extra virtio disks (vdb, vdc, … in order), under a timeout; qemu killed by its PID. */
function bootWithDisks(o: BootOptions, extra: string[]): Promise<{ console: string; exitCode: number | null; timedOut: boolean; ms: number; stderr: string }> {
  const consoleFile = join(o.dir, 'console.log');
  const args = [...qemuArgs(o, consoleFile)];
  for (const d of extra) args.push('-drive', `file=${d},format=raw,if=virtio,cache=unsafe`);
  const t0 = Date.now();
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => { stderr += d; });
  let seen = 0;
  const poll = VERBOSE ? setInterval(() => {
    if (!existsSync(consoleFile)) return;
    const text = readFileSync(consoleFile, 'latin1');
    if (text.length > seen) { process.stderr.write(text.slice(seen).replace(/^/gm, '  | ')); seen = text.length; }
  }, 500) : undefined;
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }
    }, o.timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); if (poll) clearInterval(poll); reject(e); });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      resolve({ console: existsSync(consoleFile) ? readFileSync(consoleFile, 'latin1') : '', exitCode: code, timedOut, ms: Date.now() - t0, stderr });
    });
  });
}

const USER_DATA = `#cloud-config
device_aliases: {scratch: /dev/vdd}
disk_setup:
  scratch: {table_type: gpt, layout: [50, [50, 82]]}
fs_setup:
  - {device: scratch.1, filesystem: ext4, label: e2efs}
  - {device: scratch.2, filesystem: swap, label: e2eswap}
lvm:
  volume_groups:
    - name: e2evg
      devices: [/dev/vdb]
      logical_volumes:
        - {name: data, size: 100%FREE, filesystem: ext4, label: e2edata, mount: /data}
mounts:
  - [ scratch.1, /srv/fs, ext4 ]
  - [ scratch.2, none, swap, sw, "0", "0" ]
swap: {filename: /swapfile, size: 16M}
growpart: {mode: auto, devices: [/, /dev/vdc1]}
runcmd:
  - |
    {
      echo "E2E-DISK data $(findmnt -rn -o SOURCE,FSTYPE /data)"
      echo "E2E-DISK srvfs $(findmnt -rn -o SOURCE,FSTYPE /srv/fs)"
      echo "E2E-DISK swaps $(swapon --show=NAME --noheadings | sort | xargs)"
      echo "E2E-DISK lvs $(lvs --noheadings -o vg_name,lv_name | xargs)"
      echo "E2E-DISK vdc1 $(cat /sys/class/block/vdc1/size) $(cat /sys/class/block/vdc/size)"
      echo "E2E-DISK vdd1 $(blkid -o value -s TYPE /dev/vdd1) $(blkid -o value -s LABEL /dev/vdd1) $(blkid -o value -s UUID /dev/vdd1)"
      echo "E2E-DISK lvuuid $(blkid -o value -s UUID /dev/e2evg/data)"
      echo "E2E-DISK marker $(cat /data/e2e-marker 2>/dev/null || echo none)"
    } > /dev/ttyS0 2>&1
    echo "written in boot $(cat /var/lib/cloud/data/instance-id)" >> /data/e2e-marker
`;

/** "E2E-DISK key value…" lines of the console, by key (the last one wins). */
function diskReport(consoleText: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of consoleLines(consoleText, 'E2E-DISK ')) {
    const m = /E2E-DISK (\S+) ?(.*)$/.exec(l);
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

describe('VM: disk_setup, lvm, mounts, swap, growpart on extra virtual disks', { skip, timeout: 3_600_000 }, () => {
  let d: Disk;
  let dir = '';
  before(() => {
    d = disksImage(debPath());
    dir = mkdtempSync(join(tmpdir(), 'ec2-init-e2e-vm-disks-'));
  });
  after(() => { if (dir && process.env.EC2_INIT_E2E_KEEP !== '1') removeDir(dir); });

  async function bootOnce(t: TestContext, image: string, disks: string[]) {
    const b = await bootWithDisks({ dir, image, kernel: d.kernel, initrd: d.initrd, timeoutMs: BOOT_TIMEOUT_MS }, disks);
    t.diagnostic(`qemu ran ${(b.ms / 1000).toFixed(1)} s${b.timedOut ? ' (killed at the timeout)' : ''}, exit ${b.exitCode}`);
    if (b.timedOut || b.exitCode !== 0) {
      assert.fail(`the VM did not power off (exit ${b.exitCode}).\nqemu: ${b.stderr}\n--- console tail ---\n${b.console.replace(/\r/g, '').split('\n').slice(-60).join('\n')}\n` +
        `--- /var/log/ec2-init.log ---\n${readFromImage(image, '/var/log/ec2-init.log') ?? '(none)'}`);
    }
    return b;
  }

  it('boot 1 partitions, formats, creates the LVM volume, mounts, swaps and grows; boot 2 (a new instance) changes nothing', async (t) => {
    const image = join(dir, 'disk.img');
    run('cp', ['--sparse=always', '--reflink=auto', d.image, image], { timeout: 300_000 });
    const disks = [join(dir, 'vdb.img'), join(dir, 'vdc.img'), join(dir, 'vdd.img')];
    rawDisk(disks[0]!, 256 * MiB);
    rawDisk(disks[1]!, 64 * MiB, 16 * MiB);
    rawDisk(disks[2]!, 64 * MiB);
    writeToImage(image, {
      '/var/lib/cloud/seed/nocloud/meta-data': { content: 'instance-id: iid-e2e-disks-1\nlocal-hostname: e2e-disks\n' },
      '/var/lib/cloud/seed/nocloud/user-data': { content: USER_DATA, mode: 0o600 },
      '/etc/e2e/poweroff': { content: 'harness\n' },
    });

    const b1 = await bootOnce(t, image, disks);
    const r1 = diskReport(b1.console);
    t.diagnostic(JSON.stringify(r1));
    const agentLog = readFromImage(image, '/var/log/ec2-init.log') ?? '';
    const status = JSON.parse(readFromImage(image, '/var/lib/cloud/data/result.json') ?? '{"v1":{"errors":["no result.json"]}}') as { v1: { errors: string[] } };
    assert.deepEqual(status.v1.errors, [], agentLog);
    // lvm: the volume group, the volume, its ext4 and its mount.
    assert.equal(r1['lvs'], 'e2evg data');
    assert.match(r1['data'] ?? '', /^\/dev\/mapper\/e2evg-data ext4$/);
    // disk_setup + fs_setup + mounts: GPT on the alias, ext4 on partition 1 mounted at /srv/fs, swap on partition 2.
    assert.match(r1['srvfs'] ?? '', /^\/dev\/vdd1 ext4$/);
    assert.match(r1['vdd1'] ?? '', /^ext4 e2efs \S+$/);
    // swap: the file and the partition, both active (swapon -a at root /).
    assert.match(r1['swaps'] ?? '', /\/dev\/vdd2/);
    assert.match(r1['swaps'] ?? '', /\/swapfile/);
    // growpart: vdc1 grew from 16 MiB to the end of the 64 MiB disk.
    const [part, whole] = (r1['vdc1'] ?? '').split(' ').map(Number);
    assert.equal(whole, 64 * MiB / 512);
    // (growpart keeps the end of the disk aligned: a few sectors short of it)
    assert.ok(part! > 64 * MiB / 512 - 2048 - 2048 && part! <= 64 * MiB / 512 - 2048, `vdc1 has ${part} sectors`);
    assert.equal(r1['marker'], 'none');
    const fstab1 = readFromImage(image, '/etc/fstab') ?? '';
    assert.match(fstab1, /^LABEL=e2e-root \/ ext4 rw,errors=remount-ro 0 1$/m);
    assert.match(fstab1, /^\/dev\/vdd1\t\/srv\/fs\text4\tdefaults,nofail,x-systemd\.after=ec2-init\.service,_netdev,comment=cloudconfig\t0\t2$/m);
    assert.match(fstab1, /^\/dev\/vdd2\tnone\tswap\tsw,comment=cloudconfig\t0\t0$/m);
    assert.match(fstab1, /^\/swapfile\tnone\tswap\tsw,comment=cloudconfig\t0\t0$/m);
    assert.match(fstab1, /^\/dev\/e2evg\/data\t\/data\text4\tdefaults,nofail,comment=ec2-init-lvm\t0\t2$/m);

    // Boot 2: a new instance-id, the same config. Everything exists: nothing is made again.
    writeToImage(image, { '/var/lib/cloud/seed/nocloud/meta-data': { content: 'instance-id: iid-e2e-disks-2\nlocal-hostname: e2e-disks\n' } });
    const b2 = await bootOnce(t, image, disks);
    const r2 = diskReport(b2.console);
    t.diagnostic(JSON.stringify(r2));
    assert.equal(r2['lvuuid'], r1['lvuuid'], 'the logical volume was not formatted again');
    assert.equal(r2['vdd1'], r1['vdd1'], 'partition 1 was not formatted again');
    assert.equal(r2['marker'], 'written in boot iid-e2e-disks-1', 'the data on the volume survived');
    assert.match(r2['data'] ?? '', /^\/dev\/mapper\/e2evg-data ext4$/);
    assert.equal(readFromImage(image, '/etc/fstab'), fstab1, 'fstab: the same lines, in the same order');
    const log2 = readFromImage(image, '/var/log/ec2-init.log') ?? '';
    assert.match(log2, /module lvm e2evg: volume group exists with its devices/);
    assert.match(log2, /e2evg\/data: logical volume exists/);
    assert.match(log2, /has the requested filesystem already/);
  });
});
