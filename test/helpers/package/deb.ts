// Getting the .deb for the package test: the one `npm run deb` made when it
// is newer than everything it is made from, else a fresh build; and a copy of
// it at another version, for the upgrade test.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { TOP } from '../paths.ts';

export const dist = join(TOP, 'dist');
export const exe = join(dist, 'ec2-init');
export const version = (JSON.parse(readFileSync(join(TOP, 'package.json'), 'utf8')) as { version: string }).version.replace('-', '~');
export const debName = `ec2-init_${version}_amd64.deb`;

/** The package's sources, and a file of them. */
export const debian = join(TOP, 'debian');
export const readDebian = (p: string): string => readFileSync(join(debian, p), 'utf8');
export const UNITS = ['ec2-init-hostkeys.service', 'ec2-init-local.service', 'ec2-init.service', 'ec2-init-config.service', 'ec2-init-final.service', 'ec2-boot-hook.target'];
export const JOBS = ['ec2-init-local', 'ec2-init', 'ec2-init-config', 'ec2-init-final'];

function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((n) => newest(join(path, n))));
}

/**
 * dist/ec2-init_<version>_amd64.deb, built unless it is newer than its inputs;
 * with the executable it was built from. A build packages a private copy of
 * dist/ec2-init (in work), so a `npm run build` running meanwhile cannot
 * change the executable halfway.
 */
export function ensureDeb(work: string): { deb: string; exe: string } {
  const deb = join(dist, debName);
  const inputs = Math.max(newest(exe), newest(join(TOP, 'debian')), newest(join(TOP, 'build', 'deb.ts')));
  if (existsSync(deb) && statSync(deb).mtimeMs > inputs) return { deb, exe };
  const copy = join(work, 'ec2-init.built');
  copyFileSync(exe, copy);
  return { deb: buildDeb({ exe: copy }), exe: copy };
}

/** Runs build/deb.ts; returns the .deb's path. */
export function buildDeb(opts: { out?: string; exe?: string } = {}): string {
  const args = [...(opts.out ? ['--out', opts.out] : []), ...(opts.exe ? ['--exe', opts.exe] : [])];
  execFileSync(process.execPath, [join(TOP, 'build', 'deb.ts'), ...args], {
    cwd: TOP, stdio: ['ignore', 'ignore', 'pipe'], timeout: 900_000,
  });
  return join(opts.out ?? dist, debName);
}

/** Extracts /usr/bin/ec2-init of a .deb into dir; returns its path. */
export function packagedExe(deb: string, dir: string): string {
  const tree = mkdtempSync(join(dir, 'x-'));
  execFileSync('dpkg-deb', ['-x', deb, tree]);
  return join(tree, 'usr', 'bin', 'ec2-init');
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * The same package at another version, with one conffile changed (so the
 * upgrade has a new conffile to install): unpacked and packed again with
 * dpkg-deb, uncompressed because it only lives for the test.
 */
export function repack(deb: string, newVersion: string, work: string, conffile: string, addLine: string): string {
  const tree = join(work, 'tree');
  execFileSync('dpkg-deb', ['-R', deb, tree]);
  const control = join(tree, 'DEBIAN', 'control');
  writeFileSync(control, readFileSync(control, 'utf8').replace(/^Version: .*$/m, `Version: ${newVersion}`));
  const file = join(tree, conffile);
  writeFileSync(file, readFileSync(file, 'utf8') + addLine);
  // Keep md5sums true to the files, as dpkg --verify would check them.
  const md5sums = join(tree, 'DEBIAN', 'md5sums');
  const sum = createHash('md5').update(readFileSync(file)).digest('hex');
  const rel = conffile.replace(/^\//, '');
  writeFileSync(md5sums, readFileSync(md5sums, 'utf8').replace(new RegExp(`^[0-9a-f]{32}  ${rel}$`, 'm'), `${sum}  ${rel}`));
  const out = join(work, `ec2-init_${newVersion}_amd64.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Znone', '-b', tree, out], { stdio: 'ignore' });
  return out;
}
