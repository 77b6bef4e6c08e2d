// One boot of one agent on a throw-away copy of the Debian image, in private
// mount, network, UTS, IPC and PID namespaces (the network namespace has only
// a loopback that is down: no packet leaves). The copy is an overlay: the
// cached image is the read-only lower layer, and the upper layer is a host
// directory that outlives the namespace, so after the boot it holds exactly
// what the agent created, changed (copied up) or deleted (whiteouts). A second
// boot mounts the same upper layer again: a reboot with a fresh /run, a fresh
// hostname and fresh processes.
//
// bench/inner.ts does the same for timing, but keeps its upper layer on a
// tmpfs that vanishes with the namespace; this comparison needs it afterwards.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Copy {
  dir: string;     // host temp dir holding upper/, work/, root/ (the mount point)
  lower: string;   // the cached image, never written
  upper: string;
  root: string;    // where the overlay is mounted, inside the namespace only
}

export interface Placed { path: string; content: string | Buffer; mode: number }

/** A fresh copy of the image with `files` placed in it (they are in the upper layer, like anything the agents write). */
export function makeCopy(lower: string, files: Placed[]): Copy {
  const dir = mkdtempSync(join(tmpdir(), 'ec2-init-compare-'));
  const copy: Copy = { dir, lower, upper: join(dir, 'upper'), root: join(dir, 'root') };
  for (const d of ['upper', 'work', 'root']) mkdirSync(join(dir, d));
  for (const f of files) {
    const p = join(copy.upper, f.path);
    // Parents made in the upper layer get the image's usual 0755 root:root.
    mkdirSync(dirname(p), { recursive: true, mode: 0o755 });
    writeFileSync(p, f.content);
    chmodSync(p, f.mode);
  }
  return copy;
}

export function removeCopy(copy: Copy): void {
  // The mounts lived in the namespace: only plain host directories remain.
  rmSync(copy.dir, { recursive: true, force: true });
}

export interface BootResult { ms: number; output: string; codes: { command: string; code: number }[] }

// Inside the namespace: the overlay, then /proc, a read-only /sys, a /dev
// with only the harmless nodes (no disks: no module of either agent can touch
// a real block device), an empty /run, and the kernel's hostname from the
// root's /etc/hostname, as systemd sets it at boot (a second boot starts
// with the name the first one wrote). Each command
// then runs with a clean environment; its exit code is reported on fd 3.
const INNER = String.raw`
set -eu
lower=$1 upper=$2 work=$3 root=$4; shift 4
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"
mount -t tmpfs -o mode=755,nosuid tmpfs "$root/dev"
for n in null zero full random urandom tty; do : > "$root/dev/$n"; mount --bind "/dev/$n" "$root/dev/$n"; done
ln -s /proc/self/fd "$root/dev/fd"
mkdir "$root/dev/shm" "$root/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$root/run"
mkdir "$root/run/lock"
name=$(head -n1 "$root/etc/hostname" 2>/dev/null | tr -d '[:space:]' || true)
[ -n "$name" ] || name=localhost
hostname "$name"
set +e
for c in "$@"; do
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root TERM=dumb \
    sh -c "$c" </dev/null 2>&1
  echo "$? $c" >&3
done
`;

/**
 * Boot once: each command is a shell line run in the namespace, where the
 * copy's root is mounted at `copy.root` (chroot into it for cloud-init; the
 * host's dist/ec2-init takes it as --root).
 */
export async function boot(copy: Copy, commands: string[], timeoutMs = 600_000): Promise<BootResult> {
  const codesFile = join(copy.dir, 'codes');
  writeFileSync(codesFile, '');
  const t0 = performance.now();
  // Asynchronous, so that the copies of several seeds and both agents can boot at once.
  const child = spawn('unshare', ['--mount', '--net', '--uts', '--ipc', '--pid', '--fork', '--kill-child', '--propagation', 'private', '--',
    'sh', '-c', `exec 3>>"${codesFile}"; ${INNER}`, 'compare-inner', copy.lower, copy.upper, join(copy.dir, 'work'), copy.root, ...commands],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (b: Buffer) => { output += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { output += b.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const status = await new Promise<number | string>((resolve) => {
    child.on('error', (e) => resolve(e.message));
    child.on('close', (code, signal) => resolve(code ?? signal ?? 'killed'));
  });
  clearTimeout(timer);
  const ms = performance.now() - t0;
  if (status !== 0) throw new Error(`sandbox failed (${status}): ${output.slice(-3000)}`);
  const codes = readFileSync(codesFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
    const sp = l.indexOf(' ');
    return { code: Number(l.slice(0, sp)), command: l.slice(sp + 1) };
  });
  return { ms, output, codes };
}
