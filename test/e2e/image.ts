// VM images for the boot tests: a Debian bookworm root made with debootstrap
// (kernel, systemd, udev; no cloud-init), cached outside the repository and
// keyed by everything that goes into it, then an ext4 disk image of it with
// the ec2-init .deb installed (also cached, keyed by the base and the .deb's
// hash), made with `mkfs.ext4 -d` (no loop devices, no mounts).
//
//   /var/cache/ec2-init-e2e/base-<flavor>-<key>/root/     the debootstrap'd tree (never changed after)
//   /var/cache/ec2-init-e2e/disk-<flavor>-<key>-<deb>/{disk.img,vmlinuz,initrd.img}
//
// Two flavors: systemd (the default Debian image) and sysvinit (sysvinit-core
// as PID 1, where the final stage runs from the rc.local hook). The suite is
// bookworm unless a caller asks for trixie (bench/vm.ts's Debian 13 variants):
// the same recipe from the same mirror, cached as base-trixie-<flavor>-<key>
// (and disk-trixie-…), so neither suite's tree ever replaces the other's.
//
// Every directory this writes is under CACHE or under the system temp dir
// (checked before anything is removed or chrooted into), so a bug here cannot
// reach this machine's own root.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TOP = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CACHE = process.env.EC2_INIT_E2E_CACHE ?? '/var/cache/ec2-init-e2e';
const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
export type Suite = 'bookworm' | 'trixie';
// What the VM has besides minbase. systemd-networkd (in systemd) does DHCP on
// the one NIC, with iproute2 as every Debian cloud image has it (ec2-init's
// networkd renderer, like cloud-init's, needs `ip`); no ifupdown, no openssh-server (host keys cost seconds under
// TCG, and the tests read the disk after shutdown instead of logging in).
// isc-dhcp-client, as on Debian's cloud images (cloud-init depended on it):
// init-local's ephemeral network leases through it, so EC2's NIC config
// takes effect on the first boot (test/e2e/ec2-network.e2e.ts).
// The sysvinit image has no network configuration at all (its scenario is
// a local seed).
export type Flavor = 'systemd' | 'sysvinit';
const INCLUDES: Record<Flavor, string[]> = {
  systemd: ['linux-image-amd64', 'systemd', 'systemd-sysv', 'udev', 'kmod', 'initramfs-tools', 'zstd', 'iproute2', 'isc-dhcp-client'],
  sysvinit: ['linux-image-amd64', 'sysvinit-core', 'sysv-rc', 'initscripts', 'udev', 'kmod', 'initramfs-tools', 'zstd'],
};
// Bumped whenever prepareBase below changes what ends up in the tree.
const BASE_RECIPE = 4;
// Bumped whenever disk() below changes what ends up on the disk.
const DISK_RECIPE = 4;
// Size of the root file system (sparse: only what is written takes space).
const DISK_SIZE = '2G';

/** Why the boot tests cannot run here (missing tool, not root), or undefined. */
export function cannotRun(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (debootstrap, chroot, mkfs.ext4 -d of a root-owned tree): run as root, as CI does';
  const need: Record<string, string> = {
    'qemu-system-x86_64': 'qemu-system-x86', debootstrap: 'debootstrap',
    'mkfs.ext4': 'e2fsprogs', debugfs: 'e2fsprogs', e2fsck: 'e2fsprogs', dumpe2fs: 'e2fsprogs',
    genisoimage: 'genisoimage', socat: 'socat', unshare: 'util-linux', chroot: 'coreutils', 'dpkg-deb': 'dpkg',
  };
  const missing = Object.keys(need).filter((c) => !hasCommand(c));
  if (missing.length) return `missing ${missing.join(', ')} (apt-get install -y ${[...new Set(missing.map((c) => need[c]))].join(' ')})`;
  return undefined;
}

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v "$1"`, 'sh', name], { stdio: 'ignore', env: { PATH } }).status === 0;
}

/** The Debian mirror this machine's apt uses (the only one reachable here). */
function mirror(): string {
  for (const f of ['/etc/apt/sources.list.d/debian.sources']) {
    try {
      const uri = /^URIs:\s*(\S+)/m.exec(readFileSync(f, 'utf8'));
      if (uri) return uri[1];
    } catch { /* not there */ }
  }
  try {
    const line = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(readFileSync('/etc/apt/sources.list', 'utf8'));
    if (line) return line[1];
  } catch { /* not there */ }
  return 'http://deb.debian.org/debian';
}

function hash(x: unknown): string {
  return createHash('sha256').update(typeof x === 'string' || Buffer.isBuffer(x) ? x : JSON.stringify(x)).digest('hex').slice(0, 12);
}

function log(msg: string): void {
  process.stderr.write(`# e2e: ${msg}\n`);
}

export interface Result { status: number | null; stdout: string; stderr: string }

export function run(cmd: string, args: string[], opts: { timeout?: number; allowFail?: boolean; input?: string } = {}): Result {
  const r: SpawnSyncReturns<string> = spawnSync(cmd, args, {
    encoding: 'utf8', timeout: opts.timeout ?? 120_000, env: { PATH, LC_ALL: 'C.UTF-8' }, input: opts.input,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (!opts.allowFail && r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Refuses any directory that is not ours to change (under CACHE or a temp dir we made). */
function checkOurs(dir: string): void {
  const r = resolve(dir);
  const cache = resolve(CACHE);
  const tmpPrefix = join(tmpdir(), 'ec2-init-e2e-');
  const ok = (r.startsWith(cache + '/') && cache.split('/').length >= 3)
    || (r.startsWith(tmpPrefix) && r.length > tmpPrefix.length);
  if (!ok) throw new Error(`refusing to touch ${dir}: not an e2e image directory`);
}

/**
 * Runs argv chrooted into root with no network (a new network namespace) and
 * a private mount namespace with /proc, /dev and /sys of its own, which end
 * with the command.
 */
export function inChroot(root: string, script: string, timeout = 300_000): Result {
  checkOurs(root);
  const wrapped = `set -e
mount -t proc proc "$1/proc"
mount -t sysfs sys "$1/sys"
mount --rbind /dev "$1/dev"
shift_root="$1"; shift
exec chroot "$shift_root" /usr/bin/env -i PATH=${PATH} LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive /bin/sh -ec "$1"`;
  return run('unshare', ['--mount', '--net', '--propagation', 'private', '--', 'sh', '-c', wrapped, 'sh', root, script], { timeout });
}

export interface Base {
  flavor: Flavor;
  suite: Suite;
  key: string;
  root: string;
}

// The cache names' stem: bookworm's as they always were (the boot tests' caches stay valid).
function stem(flavor: Flavor, suite: Suite): string {
  return suite === 'bookworm' ? flavor : `${suite}-${flavor}`;
}

/** The cached debootstrap'd tree; made (2 to 4 minutes, needs the mirror) when missing. */
export function baseRoot(flavor: Flavor = 'systemd', suite: Suite = 'bookworm'): Base {
  const m = mirror();
  const INCLUDE = INCLUDES[flavor];
  // The property names are part of the key: bookworm's keys are those from before there was a suite parameter.
  const key = hash({ SUITE: suite, variant: 'minbase', INCLUDE, m, BASE_RECIPE });
  const tag = stem(flavor, suite);
  const dir = join(CACHE, `base-${tag}-${key}`);
  const root = join(dir, 'root');
  if (existsSync(join(dir, 'done'))) return { flavor, suite, key, root };
  mkdirSync(CACHE, { recursive: true });
  // Built beside and renamed into place: a half-made tree is never used.
  const tmp = mkdtempSync(`${dir}.tmp-`);
  try {
    const t0 = Date.now();
    log(`debootstrap ${suite} (${INCLUDE.join(',')}) from ${m} into ${tmp} (cold cache: several minutes)`);
    run('debootstrap', ['--variant=minbase', `--include=${INCLUDE.join(',')}`, suite, join(tmp, 'root'), m], { timeout: 1_800_000 });
    prepareBase(join(tmp, 'root'), flavor);
    writeFileSync(join(tmp, 'done'), `${new Date().toISOString()} ${INCLUDE.join(',')}\n`);
    try { renameSync(tmp, dir); } catch (e) {
      if (!existsSync(join(dir, 'done'))) throw e;
    }
    // This flavor's (and suite's) bases of other package lists or recipes are only dead weight now.
    for (const name of readdirSync(CACHE)) {
      if ((name.startsWith(`base-${tag}-`) || name.startsWith(`disk-${tag}-`)) && !name.startsWith(`base-${tag}-${key}`) && !name.startsWith(`disk-${tag}-${key}-`)) {
        rmSync(join(CACHE, name), { recursive: true, force: true });
      }
    }
    log(`base image ready in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${dir}`);
  } finally {
    if (existsSync(tmp)) rmSync(tmp, { recursive: true, force: true });
  }
  return { flavor, suite, key, root };
}

/** What the base tree gets besides its packages: a bootable, quiet, offline VM. */
function prepareBase(root: string, flavor: Flavor): void {
  const w = (path: string, content: string, mode = 0o644): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
    chmodSync(join(root, path), mode);
  };
  w('/etc/hostname', 'e2e-base\n');
  w('/etc/hosts', '127.0.0.1 localhost\n');
  // Nothing may start services while packages are installed in the chroot.
  w('/usr/sbin/policy-rc.d', '#!/bin/sh\nexit 101\n', 0o755);
  const systemd = [
    // DHCP on whatever the one NIC is called (qemu user networking answers it).
    "printf '[Match]\\nName=en* eth*\\n\\n[Network]\\nDHCP=ipv4\\nLinkLocalAddressing=no\\nIPv6AcceptRA=no\\n' > /etc/systemd/network/50-dhcp.network",
    'systemctl enable systemd-networkd.service',
    // The journal on disk: read after shutdown with debugfs when a boot fails.
    'mkdir -p /var/log/journal',
    // Timers and jobs that only cost boot time in a throw-away VM.
    'systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer systemd-timesyncd.service getty@tty1.service 2>/dev/null || true',
    // No login prompt on the serial console: it would garble the lines the tests read there.
    'systemctl mask serial-getty@ttyS0.service',
  ];
  const sysvinit = [
    // No getty at all (no login prompt on the console to garble what the tests read).
    "sed -i -e 's/^\\([1-6]:.*getty.*\\)/#\\1/' /etc/inittab",
    // An /etc/rc.local of the admin's own, which the package must add to, not replace.
    "printf '#!/bin/sh -e\\n# rc.local of the e2e image (test/e2e/image.ts)\\necho E2E-RCLOCAL-ADMIN > /dev/ttyS0\\nexit 0\\n' > /etc/rc.local",
    'chmod 755 /etc/rc.local',
  ];
  inChroot(root, [
    ...(flavor === 'systemd' ? systemd : sysvinit),
    // A small initramfs with only what mounts the root in this VM (virtio,
    // ext4): the chroot has no devices to detect, and under TCG every
    // megabyte unpacked costs boot time. The rest loads from the root.
    'printf "virtio_pci\\nvirtio_blk\\next4\\n" >> /etc/initramfs-tools/modules',
    'sed -i -e "s/^MODULES=.*/MODULES=list/" -e "s/^COMPRESS=.*/COMPRESS=zstd/" /etc/initramfs-tools/initramfs.conf',
    'update-initramfs -u -k all',
    'apt-get clean',
    'rm -rf /var/lib/apt/lists/*',
    // Root without password on the serial console, for debugging by hand.
    'passwd -d root',
  ].join('\n'), 900_000);
}

export interface Disk {
  /** The cached ext4 image: copy it before booting (see copyDisk). */
  image: string;
  kernel: string;
  initrd: string;
  /** Which .deb is installed, by file name. */
  deb: string;
}

/** The .deb `npm run deb` makes for package.json's version (EC2_INIT_E2E_DEB: another one). */
export function debPath(): string {
  if (process.env.EC2_INIT_E2E_DEB) return resolve(process.env.EC2_INIT_E2E_DEB);
  const pkg = JSON.parse(readFileSync(join(TOP, 'package.json'), 'utf8')) as { version: string };
  return join(TOP, 'dist', `ec2-init_${pkg.version.replace('-', '~')}_amd64.deb`);
}

/**
 * The disk image with the .deb installed and the test harness unit
 * (e2e-report.service, see below) added; cached per base and .deb.
 */
export function disk(deb: string, flavor: Flavor = 'systemd', suite: Suite = 'bookworm'): Disk {
  const base = baseRoot(flavor, suite);
  const tag = stem(flavor, suite);
  // Read once: the bytes hashed are the bytes installed, even if dist/ is rebuilt meanwhile.
  const debBytes = readFileSync(deb);
  const debHash = hash(debBytes);
  const dir = join(CACHE, `disk-${tag}-${base.key}-${hash({ debHash, DISK_RECIPE, harness: harnessFiles() })}`);
  const out: Disk = { image: join(dir, 'disk.img'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), deb };
  if (existsSync(join(dir, 'done'))) return out;
  // Older disks of this base (earlier .debs) are only dead weight now.
  for (const name of readdirSync(CACHE)) {
    if (name.startsWith(`disk-${tag}-${base.key}-`)) rmSync(join(CACHE, name), { recursive: true, force: true });
  }
  const t0 = Date.now();
  const tmp = mkdtempSync(join(tmpdir(), 'ec2-init-e2e-disk-'));
  try {
    const root = join(tmp, 'root');
    run('cp', ['-a', '--reflink=auto', base.root, root], { timeout: 600_000 });
    const files = { ...(flavor === 'systemd' ? harnessFiles() : {}), '/etc/fstab': { content: 'LABEL=e2e-root / ext4 rw,errors=remount-ro 0 1\n', mode: 0o644 } };
    for (const [path, f] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), f.content);
      chmodSync(join(root, path), f.mode);
    }
    writeFileSync(join(root, 'tmp', 'ec2-init.deb'), debBytes);
    inChroot(root, ['dpkg -i /tmp/ec2-init.deb', 'rm /tmp/ec2-init.deb', 'rm -f /usr/sbin/policy-rc.d',
      ...(flavor === 'systemd' ? ['systemctl enable e2e-report.service'] : [])].join('\n'), 300_000);
    mkdirSync(join(tmp, 'out'));
    copyKernel(root, join(tmp, 'out'));
    run('mkfs.ext4', ['-q', '-F', '-L', 'e2e-root', '-E', 'root_owner=0:0', '-d', root, join(tmp, 'out', 'disk.img'), DISK_SIZE], { timeout: 600_000 });
    writeFileSync(join(tmp, 'out', 'done'), `${deb}\n`);
    mkdirSync(CACHE, { recursive: true });
    renameSync(join(tmp, 'out'), dir);
  } catch (e) {
    if (!existsSync(join(dir, 'done'))) throw e;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  log(`disk with ${deb.split('/').pop()} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${dir}`);
  return out;
}

/** The image's own kernel and initramfs (the newest in its /boot), copied into `out` as vmlinuz and initrd.img for direct kernel boot. */
export function copyKernel(root: string, out: string): void {
  const boot = join(root, 'boot');
  const vmlinuz = readdirSync(boot).filter((n) => n.startsWith('vmlinuz-')).sort().pop();
  const initrd = readdirSync(boot).filter((n) => n.startsWith('initrd.img-')).sort().pop();
  if (!vmlinuz || !initrd) throw new Error(`no kernel or initramfs in ${boot}`);
  copyFileSync(join(boot, vmlinuz), join(out, 'vmlinuz'));
  copyFileSync(join(boot, initrd), join(out, 'initrd.img'));
}

// The test harness inside the VM (not part of ec2-init): once the boot is
// finished (ec2-init-final included), print what the tests measure to the
// serial console between markers, then power off when /etc/e2e/poweroff
// exists (the tests put it there for boots where no power_state does it).
// Type=simple so the boot counts as finished while it waits for it.
const HARNESS = `#!/bin/sh
# e2e test harness (test/e2e/image.ts), not part of ec2-init.
out=/dev/ttyS0
systemctl is-system-running --wait >/dev/null 2>&1 || true
{
  echo "E2E-REPORT-BEGIN"
  echo "e2e-now-uptime $(date +%s.%N) $(cut -d' ' -f1 /proc/uptime)"
  echo "e2e-state $(systemctl is-system-running)"
  /usr/local/sbin/e2e-units
  systemd-analyze time 2>&1 | sed 's/^/e2e-time /'
  systemd-analyze blame 2>&1 | grep -E 'ec2-init|systemd-networkd' | sed 's/^ */e2e-blame /'
  systemctl --failed --no-legend --plain 2>&1 | sed 's/^/e2e-failed /'
  ec2-init status --long 2>&1 | sed 's/^/e2e-status /'
  # What one start of the agent costs in this VM: reading the executable
  # from disk, a start with the page cache dropped (as at boot) and a warm
  # one, against a plain shell as the yardstick of this (emulated) machine.
  sync; echo 3 > /proc/sys/vm/drop_caches
  r0=$(date +%s%N); cat /usr/bin/ec2-init > /dev/null; r1=$(date +%s%N)
  echo "e2e-exec read_ms=$(( (r1 - r0) / 1000000 )) size=$(stat -c %s /usr/bin/ec2-init)"
  sync; echo 3 > /proc/sys/vm/drop_caches
  t0=$(date +%s%N); ec2-init --version >/dev/null 2>&1
  t1=$(date +%s%N); ec2-init --version >/dev/null 2>&1
  t2=$(date +%s%N); sh -c true
  t3=$(date +%s%N)
  echo "e2e-exec cold_ms=$(( (t1 - t0) / 1000000 )) warm_ms=$(( (t2 - t1) / 1000000 )) sh_ms=$(( (t3 - t2) / 1000000 ))"
  echo "E2E-REPORT-END"
} > $out 2>&1
sync
if [ -e /etc/e2e/poweroff ]; then systemctl poweroff; fi
`;

// Each ec2-init unit's state and its process's start and exit (µs since
// boot); also run from runcmd, where the final stage is still running.
const UNITS = `#!/bin/sh
# e2e test harness (test/e2e/image.ts), not part of ec2-init.
for u in ec2-init-local ec2-init ec2-init-config ec2-init-final; do
  echo "e2e-unit $u $(systemctl show -p ActiveState --value $u.service) $(systemctl show -p Result --value $u.service)" \\
    "$(systemctl show -p ExecMainStartTimestampMonotonic --value $u.service) $(systemctl show -p ExecMainExitTimestampMonotonic --value $u.service)"
done
`;

const HARNESS_UNIT = `# e2e test harness (test/e2e/image.ts), not part of ec2-init.
[Unit]
Description=e2e test harness: report and power off
After=ec2-init-final.service multi-user.target

[Service]
Type=simple
ExecStart=/usr/local/sbin/e2e-report

[Install]
WantedBy=multi-user.target
`;

// Written into the tree by disk() before the .deb's units are enabled.
export function harnessFiles(): Record<string, { content: string; mode: number }> {
  return {
    '/usr/local/sbin/e2e-report': { content: HARNESS, mode: 0o755 },
    '/usr/local/sbin/e2e-units': { content: UNITS, mode: 0o755 },
    '/etc/systemd/system/e2e-report.service': { content: HARNESS_UNIT, mode: 0o644 },
  };
}

/** A private copy of a cached disk, in a new temp directory (sparse, so fast). */
export function copyDisk(d: Disk): { dir: string; image: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ec2-init-e2e-vm-'));
  const image = join(dir, 'disk.img');
  run('cp', ['--sparse=always', '--reflink=auto', d.image, image], { timeout: 300_000 });
  return { dir, image };
}

export function removeDir(dir: string): void {
  checkOurs(dir);
  rmSync(dir, { recursive: true, force: true });
}

// --- the ext4 image, without mounting it (debugfs) ---

/** A file's bytes from the image, or null when it is not there. */
export function readFromImage(image: string, path: string): string | null {
  const stat = run('debugfs', ['-R', `stat ${path}`, image], { allowFail: true });
  if (/File not found|not found by ext2_lookup/.test(stat.stderr) || stat.stdout.trim() === '') return null;
  return run('debugfs', ['-R', `cat ${path}`, image]).stdout;
}

/** "mode uid gid" of a path in the image, or null. */
export function statInImage(image: string, path: string): { mode: number; uid: number; gid: number; type: string } | null {
  const r = run('debugfs', ['-R', `stat ${path}`, image], { allowFail: true });
  const m = /Type:\s+(\S+)\s+Mode:\s+(\d+)/.exec(r.stdout);
  const u = /User:\s+(\d+)\s+Group:\s+(\d+)/.exec(r.stdout);
  if (!m || !u) return null;
  return { type: m[1], mode: parseInt(m[2], 8), uid: Number(u[1]), gid: Number(u[2]) };
}

/** Names in a directory of the image (without . and ..), or null. */
export function listInImage(image: string, path: string): string[] | null {
  const r = run('debugfs', ['-R', `ls -p ${path}`, image], { allowFail: true });
  if (!r.stdout.trim()) return null;
  return r.stdout.split('\n').map((l) => l.split('/')[5]).filter((n): n is string => !!n && n !== '.' && n !== '..');
}

/**
 * Writes files into the image (directories made as needed, root-owned, the
 * given mode), with debugfs -w: the image must not be in use by a VM.
 */
export function writeToImage(image: string, files: Record<string, { content: string | Buffer; mode?: number }>): void {
  const tmp = mkdtempSync(join(tmpdir(), 'ec2-init-e2e-w-'));
  try {
    const cmds: string[] = [];
    const made = new Set<string>();
    let i = 0;
    for (const [path, { content, mode }] of Object.entries(files)) {
      const parts = path.split('/').filter(Boolean);
      for (let n = 1; n < parts.length; n++) {
        const d = '/' + parts.slice(0, n).join('/');
        if (made.has(d)) continue;
        made.add(d);
        if (statInImage(image, d) === null) cmds.push(`mkdir ${d}`);
      }
      const local = join(tmp, String(i++));
      writeFileSync(local, content);
      if (statInImage(image, path) !== null) cmds.push(`rm ${path}`);
      cmds.push(`write ${local} ${path}`);
      cmds.push(`set_inode_field ${path} mode 0${(0o100000 | (mode ?? 0o644)).toString(8)}`);
      cmds.push(`set_inode_field ${path} uid 0`, `set_inode_field ${path} gid 0`);
    }
    const script = join(tmp, 'cmds');
    writeFileSync(script, cmds.join('\n') + '\n');
    const r = run('debugfs', ['-w', '-f', script, image]);
    if (/error|Could not|not found/i.test(r.stderr.replace(/^debugfs [\d.]+ .*$/m, ''))) throw new Error(`debugfs -w: ${r.stderr}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * After a VM was killed (not shut down): replay the journal and repair, as
 * the next boot's fsck would, so that debugfs reads what the guest wrote.
 */
export function recoverImage(image: string): string {
  const r = run('e2fsck', ['-f', '-y', image], { allowFail: true, timeout: 120_000 });
  if (r.status !== null && r.status > 2) throw new Error(`e2fsck ${image} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Removes a file from the image (debugfs -w), if it is there. */
export function removeFromImage(image: string, path: string): void {
  if (statInImage(image, path) !== null) run('debugfs', ['-w', '-R', `rm ${path}`, image]);
}

/** A cidata (or config-2) ISO 9660 volume with these files at its top; `udf`: a UDF bridge disc (genisoimage -udf), as Azure's provisioning medium. */
export function makeIso(out: string, label: string, files: Record<string, string | Buffer>, udf = false): void {
  const dir = mkdtempSync(join(tmpdir(), 'ec2-init-e2e-iso-'));
  try {
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), content);
    }
    run('genisoimage', ['-quiet', '-output', out, '-volid', label, ...(udf ? ['-udf'] : []), '-joliet', '-rock', dir]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function fileSize(path: string): number {
  return statSync(path).size;
}
