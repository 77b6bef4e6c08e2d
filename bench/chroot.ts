// The reference images: a Debian root per suite (bookworm: cloud-init 22.4,
// python3.11; trixie: cloud-init 25.1, python3.13) with Debian's own
// cloud-init installed, each built once with debootstrap and cached outside
// the repo. The cache key is the recipe (suite, mirror, package lists), so
// changing a list builds a new root and an unchanged one is reused in a second.
// cloud-init is only ever installed here, inside that root: never on the host.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { withBuildLock } from './build-lock.ts';

export type Suite = 'bookworm' | 'trixie';
export const SUITES: Suite[] = ['bookworm', 'trixie'];
// The default root (test/compare/ uses it): Debian 12.
export const SUITE: Suite = 'bookworm';
// The host's own mirror (its apt sources); trixie is a suite of it too.
export const MIRROR = 'http://deb.debian.org/debian';
// What any small cloud image has, on both sides: the tools the agents call
// (useradd is in passwd, part of minbase; ssh-keygen; sudo for sudo rules).
// In bookworm cloud-init pulls in locales and iproute2 (its size counts
// them); trixie's does not, so there they are part of the base image: both
// roots then have the same locale set up (see below) and `ip`, which every
// Debian cloud image has (without it cloud-init 25.1 finds no network
// renderer, and its Ec2 datasource fails on the metadata's network keys).
const COMMON_PACKAGES = ['sudo', 'openssh-server', 'openssh-client'];
export function basePackages(suite: Suite): string[] {
  return suite === 'bookworm' ? COMMON_PACKAGES : [...COMMON_PACKAGES, 'locales', 'iproute2'];
}
export const PYTHON: Record<Suite, string> = { bookworm: 'python3.11', trixie: 'python3.13' };
// The reference agent. Recommends are left out (growpart, eatmydata): they
// are not needed for the scenarios and would only inflate its size.
export const AGENT_PACKAGES = ['cloud-init'];
// Programs cloud-init calls for a compare seed, installed after the agent is
// measured (they are not part of its size): trixie's cloud-init 25.1 runs the
// ssh-import-id program (with python3-distro and wget) for ssh_import_id.
export const EXTRA_PACKAGES: Record<Suite, string[]> = { bookworm: [], trixie: ['ssh-import-id', 'python3-distro', 'wget'] };
const RECIPE = 5; // bump when the steps below change

const CACHE = process.env.EC2_INIT_BENCH_CACHE ?? '/var/cache/ec2-init-bench';

export interface Image {
  suite?: Suite;             // absent in images cached before there were two
  root: string;              // the read-only lower layer for every run
  key: string;
  basePackages: string[];    // "name version" of every package before cloud-init
  packages: string[];        // the same after
  // Installed-Size (KiB, from dpkg) of the packages cloud-init pulled in:
  // cloud-init itself, Python, and its libraries.
  agentInstalledKiB: number;
  agentPulledIn: string[];
  // What the install added on disk, measured (du): more than Installed-Size,
  // since the Python bytecode compiled after unpacking is not in it.
  agentDiskKiB: number;
  cloudInitVersion: string;
}

function sh(cmd: string, args: string[], opts: { input?: string; cwd?: string } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input: opts.input, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
}

// dpkg's view of the installed packages: name, version, Installed-Size.
function dpkgList(root: string): Map<string, { version: string; kib: number }> {
  const out = sh('chroot', [root, 'dpkg-query', '-W', '-f', '${Package}\t${Version}\t${Installed-Size}\t${db:Status-Abbrev}\n']);
  const m = new Map<string, { version: string; kib: number }>();
  for (const line of out.split('\n')) {
    const [name, version, kib, status] = line.split('\t');
    if (name && status?.startsWith('ii')) m.set(name, { version: version!, kib: Number(kib) || 0 });
  }
  return m;
}

// Disk usage of the root, apt's caches and the logs left out.
function diskKiB(root: string): number {
  const out = sh('du', ['-skx', '--exclude=./var/cache/apt', '--exclude=./var/lib/apt/lists', '--exclude=./var/log', '.'], { cwd: root });
  return Number(out.split('\t')[0]);
}

// The same JSON as when there was only bookworm, so its cached root keeps its key.
export function imageKey(suite: Suite = SUITE): string {
  const extra = EXTRA_PACKAGES[suite].length ? { EXTRA_PACKAGES: EXTRA_PACKAGES[suite] } : {};
  return createHash('sha256')
    .update(JSON.stringify({ RECIPE, SUITE: suite, MIRROR, BASE_PACKAGES: basePackages(suite), AGENT_PACKAGES, ...extra }))
    .digest('hex').slice(0, 16);
}

// ensureImage(log) is the bookworm root, as before there were two.
export function ensureImage(suiteOrLog: Suite | ((s: string) => void), logArg?: (s: string) => void): Image {
  const suite = typeof suiteOrLog === 'string' ? suiteOrLog : SUITE;
  const log = typeof suiteOrLog === 'string' ? logArg ?? (() => {}) : suiteOrLog;
  const key = imageKey(suite);
  const dir = join(CACHE, key);
  const meta = join(dir, 'image.json');
  const cached = () => (existsSync(meta) ? { suite, ...(JSON.parse(readFileSync(meta, 'utf8')) as Image) } : null);
  mkdirSync(CACHE, { recursive: true });
  return cached() ?? withBuildLock(`${dir}.lock`, cached, () => buildImage(suite, dir, key, meta, log), log);
}

function buildImage(suite: Suite, dir: string, key: string, meta: string, log: (s: string) => void): Image {
  log(`building the reference root in ${dir} (debootstrap ${suite}, a few minutes, once)`);
  rmSync(dir, { recursive: true, force: true });
  const root = join(dir, 'root');
  mkdirSync(root, { recursive: true });
  sh('debootstrap', ['--variant=minbase', `--include=${basePackages(suite).join(',')}`, suite, root, MIRROR]);
  const base = dpkgList(root);
  const baseKiB = diskKiB(root);

  // Installing cloud-init needs the mirror's name resolved inside the root and
  // /proc for the maintainer scripts; policy-rc.d keeps them from starting
  // services. All of it happens in a private mount namespace.
  copyFileSync('/etc/resolv.conf', join(root, 'etc/resolv.conf'));
  writeFileSync(join(root, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  sh('unshare', ['--mount', '--', 'sh', '-euc', `
    mount -t proc proc "$1/proc"
    chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${AGENT_PACKAGES.join(' ')}
    chroot "$1" apt-get clean
    # The locale set, as on a finished image: cloud-init's locale module
    # applies its default (en_US.UTF-8) when no locale is configured, and
    # would otherwise run locale-gen (a second or more) on every first boot,
    # work ec2-init does not do; with it already in place both do nothing.
    sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' "$1/etc/locale.gen"
    chroot "$1" locale-gen
    chroot "$1" update-locale LANG=en_US.UTF-8
  `, 'sh', root]);
  const all = dpkgList(root);
  const allKiB = diskKiB(root);
  if (EXTRA_PACKAGES[suite].length) {
    sh('unshare', ['--mount', '--', 'sh', '-euc', `
      mount -t proc proc "$1/proc"
      chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${EXTRA_PACKAGES[suite].join(' ')}
      chroot "$1" apt-get clean
    `, 'sh', root]);
  }
  rmSync(join(root, 'usr/sbin/policy-rc.d'));
  writeFileSync(join(root, 'etc/resolv.conf'), '');

  const pulledIn = [...all.keys()].filter((p) => !base.has(p)).sort();
  const image: Image = {
    suite,
    root,
    key,
    basePackages: [...base].map(([p, v]) => `${p} ${v.version}`).sort(),
    packages: [...all].map(([p, v]) => `${p} ${v.version}`).sort(),
    agentInstalledKiB: pulledIn.reduce((s, p) => s + all.get(p)!.kib, 0),
    agentPulledIn: pulledIn,
    agentDiskKiB: allKiB - baseKiB,
    cloudInitVersion: all.get('cloud-init')?.version ?? 'unknown',
  };
  // Written last: an interrupted build has no image.json and is redone.
  writeFileSync(meta, JSON.stringify(image, null, 2));
  return image;
}

// `node bench/chroot.ts [SUITE…]` builds (or finds) the roots and prints where they are.
if (import.meta.main) {
  const wanted = process.argv.slice(2);
  for (const suite of wanted.length ? wanted : SUITES) {
    if (!SUITES.includes(suite as Suite)) throw new Error(`unknown suite ${suite}: ${SUITES.join(', ')}`);
    const img = ensureImage(suite as Suite, (s) => console.error(s));
    console.log(suite, img.root, img.cloudInitVersion, `${img.agentPulledIn.length} packages, ${img.agentInstalledKiB} KiB`);
  }
}
