// Throw-away Debian roots for the package test: a debootstrap'd bookworm
// minbase root, cached outside the repo (debootstrap takes a while and needs
// the mirror; the copies made from it need neither), and helpers to run
// commands chrooted into a copy with no network.
//
// Everything here works on a directory under the system's temp dir; each
// entry point refuses anything else, so a bug cannot reach this machine's /.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { needCommands, needRoot } from '../needs.ts';

export const CACHE = '/var/cache/ec2-init-test';
const SUITE = 'bookworm';
// minbase plus systemd and ifupdown: the units are checked with the image's
// own systemd-analyze against a real networking.service, and
// deb-systemd-helper enables them as on a real image.
const INCLUDE = ['systemd', 'ifupdown'];
const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

// The Debian mirror this machine's apt uses (the only one reachable here).
function mirror(): string {
  try {
    const sources = readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8');
    const uri = /^URIs:\s*(\S+)/m.exec(sources);
    if (uri) return uri[1];
  } catch { /* no deb822 sources: the default below */ }
  return 'http://deb.debian.org/debian';
}

/** Why the root tests cannot run here, or undefined when they can (a failure under CI: ../needs.ts). */
export function cannotRun(): string | undefined {
  return needRoot('debootstrap, chroot, unshare')
    ?? needCommands(['debootstrap', 'unshare', 'chroot'], 'debootstrap util-linux coreutils')
    ?? undefined;
}

/** The cached base root, made with debootstrap when missing. Never modified after. */
export function baseRoot(): string {
  const m = mirror();
  // The key names what is in the root, so a change of list makes a new one.
  const key = createHash('sha256').update(JSON.stringify({ SUITE, variant: 'minbase', INCLUDE, m, rev: 2 })).digest('hex').slice(0, 12);
  const dir = join(CACHE, `${SUITE}-minbase-${key}`);
  if (existsSync(join(dir, 'etc', 'debian_version'))) return dir;
  mkdirSync(CACHE, { recursive: true });
  // Roots of older package lists are of no more use: keep the disk bounded.
  for (const old of readdirSync(CACHE)) {
    if (old.startsWith(`${SUITE}-minbase-`) && !old.includes('.tmp-')) rmSync(join(CACHE, old), { recursive: true, force: true });
  }
  // (rev: bumped when the preparation below changes.)
  // Built beside and renamed into place: a half-made root is never cached,
  // and two runs racing to make it both end with a whole one.
  const tmp = mkdtempSync(`${dir}.tmp-`);
  try {
    run('debootstrap', ['--variant=minbase', `--include=${INCLUDE.join(',')}`, SUITE, tmp, m], 900_000);
    // Nothing in the root may start services when a package is installed
    // (the standard guard for chroots): 101 = action forbidden.
    run('sh', ['-c', `printf '#!/bin/sh\\nexit 101\\n' > ${tmp}/usr/sbin/policy-rc.d && chmod 755 ${tmp}/usr/sbin/policy-rc.d`]);
    // /run is an empty tmpfs on a booted machine, but installing systemd left
    // /run/systemd/system here, which says "systemd is running" to scripts.
    run('find', [join(tmp, 'run'), '-mindepth', '1', '-delete']);
    // apt's lists and downloaded .debs: not needed offline, 100+ MB to copy.
    run('chroot', [tmp, 'apt-get', 'clean'], 60_000);
    rmSync(join(tmp, 'var/lib/apt/lists'), { recursive: true, force: true });
    try { renameSync(tmp, dir); } catch (e) {
      if (!existsSync(join(dir, 'etc', 'debian_version'))) throw e;
    }
  } finally {
    if (existsSync(tmp)) rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

/** A private copy of the base root, in a new directory under the temp dir. */
export function throwawayRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ec2-init-pkgtest-'));
  const root = join(dir, 'root');
  run('cp', ['-a', baseRoot(), root], 300_000);
  return root;
}

/** Removes a root made by throwawayRoot, after checking nothing is mounted in it. */
export function removeRoot(root: string): void {
  const dir = resolve(root, '..');
  checkThrowaway(root);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]);
  if (mounts.some((m) => m !== undefined && m.startsWith(dir + '/'))) throw new Error(`${dir} still has mounts: not removing`);
  rmSync(dir, { recursive: true, force: true });
}

function checkThrowaway(root: string): void {
  const r = resolve(root);
  if (!r.startsWith(join(tmpdir(), 'ec2-init-pkgtest-')) || r.split('/').length < 4) throw new Error(`not a throw-away root: ${root}`);
}

export interface Result { status: number | null; stdout: string; stderr: string }

/**
 * Runs argv chrooted into root, with an empty environment but PATH (and what
 * env adds), in new namespaces so nothing it does reaches this machine:
 * network (only a loopback, down), mount (a mount made inside, e.g. /proc,
 * ends with the command), UTS (the agent sets the hostname: it must be the
 * namespace's, not this machine's), IPC, and PID (it sees and can signal only
 * its own processes; a reboot or poweroff ends only the namespace).
 * Throws on a non-zero exit unless allowFail.
 */
export function inRoot(root: string, argv: string[], opts: { env?: Record<string, string>; allowFail?: boolean; timeout?: number } = {}): Result {
  checkThrowaway(root);
  const env = Object.entries({ PATH, LC_ALL: 'C.UTF-8', ...opts.env }).map(([k, v]) => `${k}=${v}`);
  const r = spawnSync('unshare', ['--mount', '--net', '--uts', '--ipc', '--pid', '--fork', '--kill-child', '--', 'chroot', root, '/usr/bin/env', '-i', ...env, ...argv], {
    encoding: 'utf8', timeout: opts.timeout ?? 120_000, env: { PATH },
  });
  return check(r, ['chroot', root, ...argv], opts.allowFail);
}

function run(cmd: string, args: string[], timeout = 120_000): Result {
  return check(spawnSync(cmd, args, { encoding: 'utf8', timeout }), [cmd, ...args], false);
}

function check(r: SpawnSyncReturns<string>, what: string[], allowFail?: boolean): Result {
  if (r.error) throw r.error;
  const res = { status: r.status, stdout: r.stdout, stderr: r.stderr };
  if (!allowFail && r.status !== 0) {
    throw new Error(`${what.join(' ')} exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  }
  return res;
}

/**
 * What is in a root: path → type, mode and (for files) size and hash, so two
 * snapshots differ wherever a package left, changed or lost something.
 */
export function snapshot(root: string, skip: RegExp[] = []): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel))) {
      const p = `${rel}/${name}`;
      if (skip.some((re) => re.test(p))) continue;
      const st = lstatSync(join(root, p));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) { out.set(p, `dir ${mode}`); walk(p); }
      else if (st.isSymbolicLink()) out.set(p, `link -> ${readlinkSync(join(root, p))}`);
      else if (st.isFile()) out.set(p, `file ${mode} ${st.size} ${createHash('sha256').update(readFileSync(join(root, p))).digest('hex').slice(0, 16)}`);
      else out.set(p, `other ${mode}`);
    }
  };
  walk('');
  return out;
}

/** The differences between two snapshots, one line each ("+ added", "- gone", "~ changed"). */
export function diffSnapshots(before: Map<string, string>, after: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const [p, v] of after) {
    if (!before.has(p)) lines.push(`+ ${p} (${v})`);
    else if (before.get(p) !== v) lines.push(`~ ${p} (${before.get(p)} → ${v})`);
  }
  for (const p of before.keys()) if (!after.has(p)) lines.push(`- ${p}`);
  return lines.sort();
}
