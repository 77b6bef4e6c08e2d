// Local apt repositories for the apt/packages tests, built in the test with
// the real tools: tiny .debs (dpkg-deb), their indexes (dpkg-scanpackages),
// Release files with the hashes apt checks, signed with a throw-away gpg key
// (InRelease), so the tests exercise inline keys end to end. Two layouts:
// a flat repository ("deb file:/srv/repo ./") and a Debian-style archive
// (dists/SUITE/main/…, for the primary/security mirrors).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { AGENT } from '../agent.ts';
import { needCommands, unavailable } from '../needs.ts';
import { cannotRun as cannotRunRoot } from '../package/root.ts';

const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, env: { PATH, ...opts.env }, input: opts.input, timeout: 120_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The tools the repositories need on this machine, or why they are missing (a failure under CI: ../needs.ts). */
export function missingTools(): string | undefined {
  return needCommands(['dpkg-deb', 'dpkg-scanpackages', 'gpg'], 'dpkg-dev gnupg') ?? undefined;
}

/**
 * Why the tests that boot the built agent in a Debian root with a local
 * repository cannot run here (no root, no base root, a missing tool, no
 * build), or false.
 */
export function cannotBootWithRepo(): string | false {
  const root = cannotRunRoot();
  if (root) return root;
  const tools = missingTools();
  if (tools) return tools;
  if (spawnSync(AGENT, ['--version']).status !== 0) return unavailable(`${AGENT} does not run: run npm run build`);
  return false;
}

export function hostArch(): string {
  return run('dpkg', ['--print-architecture']).trim();
}

export interface SigningKey {
  /** GNUPGHOME holding the secret key (throw-away). */
  home: string;
  /** The public key, ASCII-armored (what user-data carries in `key`). */
  armored: string;
  /** The public key as gpg --dearmor writes it (what apt's keyring files hold). */
  binary: Buffer;
}

/** A new ed25519 signing key in its own GNUPGHOME under the temp dir. */
export function makeKey(): SigningKey {
  const home = mkdtempSync(join(tmpdir(), 'ec2-init-apt-gpg-'));
  chmodSync(home, 0o700);
  const env = { GNUPGHOME: home };
  run('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'ec2-init test repository <apt-test@example.invalid>', 'ed25519', 'sign', 'never'], { env });
  const armored = run('gpg', ['--batch', '--armor', '--export'], { env });
  const binary = spawnSync('gpg', ['--batch', '--dearmor'], { input: armored, env: { PATH, ...env } }).stdout as Buffer;
  return { home, armored, binary };
}

export function stopAgent(key: SigningKey): void {
  spawnSync('gpgconf', ['--kill', 'all'], { env: { PATH, GNUPGHOME: key.home } });
}

export interface Package {
  name: string;
  version: string;
  files?: Record<string, string>;
  depends?: string;
  /** Maintainer scripts (postinst…), as the package's DEBIAN/ files. */
  scripts?: Record<string, string>;
}

/** A tiny binary package (Architecture: all) with one file per entry of `files`, into dir. */
export function buildDeb(dir: string, pkg: Package): string {
  const work = mkdtempSync(join(tmpdir(), 'ec2-init-deb-'));
  mkdirSync(join(work, 'DEBIAN'));
  writeFileSync(join(work, 'DEBIAN', 'control'), [
    `Package: ${pkg.name}`, `Version: ${pkg.version}`, 'Architecture: all', 'Maintainer: ec2-init tests <apt-test@example.invalid>',
    ...(pkg.depends ? [`Depends: ${pkg.depends}`] : []),
    'Priority: optional', 'Section: misc', `Description: ${pkg.name} for the ec2-init apt tests`, '',
  ].join('\n'));
  for (const [name, text] of Object.entries(pkg.scripts ?? {})) writeFileSync(join(work, 'DEBIAN', name), text, { mode: 0o755 });
  const files = pkg.files ?? { [`/usr/share/${pkg.name}/version`]: `${pkg.version}\n` };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(work, path, '..'), { recursive: true });
    // A script (#!) is a program of the package: executable, as dpkg would install it.
    writeFileSync(join(work, path), content, { mode: content.startsWith('#!') ? 0o755 : 0o644 });
  }
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${pkg.name}_${pkg.version}_all.deb`);
  run('dpkg-deb', ['--root-owner-group', '-Zgzip', '-b', work, out]);
  spawnSync('rm', ['-rf', work]);
  return out;
}

function hashes(base: string, files: string[]): string[] {
  const lines = ['SHA256:'];
  for (const f of files) {
    const data = readFileSync(join(base, f));
    lines.push(` ${createHash('sha256').update(data).digest('hex')} ${statSync(join(base, f)).size} ${f}`);
  }
  return lines;
}

function sign(key: SigningKey, dir: string, release: string): void {
  writeFileSync(join(dir, 'Release'), release);
  run('gpg', ['--batch', '--yes', '--clearsign', '-o', join(dir, 'InRelease'), join(dir, 'Release')], { env: { GNUPGHOME: key.home } });
}

/** A flat repository in dir: the packages, Packages (all versions: -m), a signed InRelease. */
export function flatRepo(dir: string, key: SigningKey, packages: Package[]): void {
  for (const p of packages) buildDeb(dir, p);
  writeFileSync(join(dir, 'Packages'), run('dpkg-scanpackages', ['-m', '.', '/dev/null'], { cwd: dir }));
  const date = new Date(Date.now() - 3600_000).toUTCString().replace('GMT', 'UTC');
  sign(key, dir, [`Origin: ec2-init-test`, `Label: ec2-init-test`, `Date: ${date}`, ...hashes(dir, ['Packages']), ''].join('\n'));
}

/**
 * A flat repository without a signature, for a sources line with
 * [trusted=yes]: the packages, Packages, and a Release with their hashes.
 */
export function unsignedFlatRepo(dir: string, packages: Package[]): void {
  for (const p of packages) buildDeb(dir, p);
  writeFileSync(join(dir, 'Packages'), run('dpkg-scanpackages', ['-m', '.', '/dev/null'], { cwd: dir }));
  writeFileSync(join(dir, 'Release'), ['Origin: ec2-init-test', 'Label: ec2-init-test', ...hashes(dir, ['Packages']), ''].join('\n'));
}

/**
 * A Debian-style archive in dir: dists/SUITE/main/binary-ARCH/Packages and
 * main/source/Sources for every suite (empty unless given packages), each
 * suite's Release signed; the packages in pool/.
 */
export function archive(dir: string, key: SigningKey, arch: string, suites: Record<string, Package[]>): void {
  const date = new Date(Date.now() - 3600_000).toUTCString().replace('GMT', 'UTC');
  for (const [suite, packages] of Object.entries(suites)) {
    const pool = join(dir, 'pool', suite);
    mkdirSync(pool, { recursive: true });
    for (const p of packages) buildDeb(pool, p);
    const dist = join(dir, 'dists', suite);
    const bin = join(dist, 'main', `binary-${arch}`);
    const src = join(dist, 'main', 'source');
    mkdirSync(bin, { recursive: true });
    mkdirSync(src, { recursive: true });
    writeFileSync(join(bin, 'Packages'), run('dpkg-scanpackages', ['-m', relative(dir, pool), '/dev/null'], { cwd: dir }));
    writeFileSync(join(src, 'Sources'), '');
    const files = [`main/binary-${arch}/Packages`, 'main/source/Sources'];
    sign(key, dist, [
      'Origin: ec2-init-test', 'Label: ec2-init-test', `Suite: ${suite}`, `Codename: ${suite}`, `Date: ${date}`,
      `Architectures: ${arch}`, 'Components: main', ...hashes(dist, files), '',
    ].join('\n'));
  }
}
