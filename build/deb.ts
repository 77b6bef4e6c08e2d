// Builds dist/ec2-init_<version>_amd64.deb from dist/ec2-init (npm run deb
// runs `npm run build` first). The Debian build runs on a staging copy, so the
// work tree never gets debhelper's debian/ec2-init/, debian/files and so on:
//   dist/deb-build-XXXXXX/ec2-init-<version>/{debian/, ec2-init}
// and dpkg-buildpackage -b there. The bytes depend only on the inputs:
// SOURCE_DATE_EPOCH (from the environment, else the date of debian/changelog's
// top entry) clamps every timestamp, and dpkg-deb sorts the files.
//
// The version is package.json's. When debian/changelog's top entry has another
// one, the staging copy gets an entry for it, dated like the top entry so the
// build stays reproducible. `node build/deb.ts --version V` builds version V
// instead, `--out DIR` writes the .deb (and stages) in DIR, not dist/, and
// `--exe FILE` packages FILE instead of dist/ec2-init.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, cpSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const top = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(top, 'dist');
const { values } = parseArgs({ options: { version: { type: 'string' }, out: { type: 'string' }, exe: { type: 'string' } } });
const pkg = JSON.parse(readFileSync(join(top, 'package.json'), 'utf8')) as { version: string };
const version = values.version ?? pkg.version;
// Debian versions sort differently from semver: 1.0.0-rc.1 must become
// 1.0.0~rc.1 to sort before 1.0.0. Anything else unusual is refused.
const debVersion = version.replace('-', '~');
if (!/^[0-9][A-Za-z0-9.+~]*$/.test(debVersion)) throw new Error(`not a usable Debian version: ${version}`);
const exe = values.exe ?? join(dist, 'ec2-init');

if (!existsSync(exe)) throw new Error(`${exe} is missing: run npm run build first`);

const outDir = values.out ?? dist;
// A directory of its own (dpkg-buildpackage writes beside the tree it
// builds), so two builds at once (npm run deb, the package test) never meet.
mkdirSync(outDir, { recursive: true });
const stageTop = mkdtempSync(join(outDir, 'deb-build-'));
const started = Date.now();
const name = `ec2-init_${debVersion}_amd64.deb`;
const out = join(outDir, name);
try {
  const stage = join(stageTop, `ec2-init-${debVersion}`);
  mkdirSync(stage);
  cpSync(join(top, 'debian'), join(stage, 'debian'), { recursive: true });
  copyFileSync(exe, join(stage, 'ec2-init'));

  // A changelog entry for the version being built, when it is not the top one.
  const changelogPath = join(stage, 'debian', 'changelog');
  const changelog = readFileSync(changelogPath, 'utf8');
  const head = /^ec2-init \(([^)]+)\)/.exec(changelog);
  const trailer = /^ -- (.+>)  (.+)$/m.exec(changelog);
  if (!head || !trailer) throw new Error('debian/changelog: cannot read its top entry');
  if (head[1] !== debVersion) {
    writeFileSync(changelogPath,
      `ec2-init (${debVersion}) unstable; urgency=medium\n\n` +
      `  * Built from package.json version ${version}.\n\n` +
      ` -- ${trailer[1]}  ${trailer[2]}\n\n` + changelog);
  }

  // -b: binary packages only; -uc -us: nothing to sign. Locale and time zone
  // are pinned so no tool's output can follow the builder's.
  execFileSync('dpkg-buildpackage', ['-b', '-uc', '-us'], {
    cwd: stage,
    stdio: ['ignore', process.env.DEB_VERBOSE ? 'inherit' : 'ignore', 'inherit'],
    env: { ...process.env, LC_ALL: 'C.UTF-8', TZ: 'UTC' },
  });

  renameSync(join(stageTop, name), out);
} finally {
  // The staging copy holds a second and third copy of the 100 MB executable.
  rmSync(stageTop, { recursive: true, force: true });
}
console.log(`built ${out} (${(statSync(out).size / 1048576).toFixed(1)} MiB, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
