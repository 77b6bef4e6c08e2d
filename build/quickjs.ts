// QuickJS for the shipped executable (DESIGN.md §6), built from Debian 13's
// source package and cached between builds. Nothing of QuickJS lives in this
// repository:
//  1. a private apt configuration (its own sources.list with one deb-src line
//     for trixie on the mirror host this machine's apt already uses, its own
//     state, lists and cache directories; the machine's apt configuration is
//     never used or changed) fetches the package with
//     `apt-get source`. apt checks the Release file's signature against
//     debian-archive-keyring and every file's hash against it, as it always does;
//  2. our patches (build/quickjs-patches/*.patch, each saying why) are applied;
//  3. libquickjs.a (the engine, without quickjs-libc: the C host in
//     src/host/native/ is our only libc binding) and qjsc (the bytecode
//     compiler, which does need quickjs-libc) are compiled with fixed flags and
//     paths mapped away, so the objects are the same bytes on every build;
//  4. the result is renamed into the cache directory at the end, keyed by the
//     package version and this recipe, so a half-done build is never used.
//
// Usage: `node build/quickjs.ts` prints the directory; build/qjs.ts imports quickjs().
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = join(dirname(fileURLToPath(import.meta.url)), '..');

export const QUICKJS_PACKAGE = 'quickjs';
export const QUICKJS_VERSION = '2025.04.26-1';
const UPSTREAM_VERSION = '2025-04-26';
const SUITE = 'trixie';

/** The engine's sources (quickjs-libc.c only goes into qjsc). */
const ENGINE = ['quickjs.c', 'dtoa.c', 'libregexp.c', 'libunicode.c', 'cutils.c'];

/**
 * Flags of the engine's objects: QuickJS's own (-fwrapv, _GNU_SOURCE,
 * CONFIG_VERSION), Debian's hardening, sections for --gc-sections, and no
 * build path in the output.
 */
export function engineFlags(srcDir: string): string[] {
  return [
    '-O2', '-g0', '-fwrapv', '-D_GNU_SOURCE', `-DCONFIG_VERSION="${UPSTREAM_VERSION}"`,
    '-fPIE', '-fstack-protector-strong', '-fstack-clash-protection', '-D_FORTIFY_SOURCE=2', '-fcf-protection',
    '-ffunction-sections', '-fdata-sections',
    `-ffile-prefix-map=${srcDir}=quickjs`, '-Wno-array-bounds', '-Wno-format-truncation',
  ];
}

export interface QuickJS {
  /** Directory with quickjs.h (and the other headers of the source). */
  include: string;
  /** The engine's static library. */
  lib: string;
  /** The bytecode compiler. */
  qjsc: string;
}

/** The deb.debian.org-style mirror this machine's apt uses (same host, so the build needs no other network). */
function mirror(): string {
  const files: string[] = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  if (existsSync('/etc/apt/sources.list.d')) {
    for (const f of readdirSync('/etc/apt/sources.list.d').sort()) {
      if (f.endsWith('.list') || f.endsWith('.sources')) files.push(join('/etc/apt/sources.list.d', f));
    }
  }
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    // deb822 (URIs: …) or one-line (deb [opts] URI suite …); the Debian archive, not debian-security.
    for (const m of text.matchAll(/(?:^URIs:\s*|^deb(?:-src)?\s+(?:\[[^\]]*\]\s+)?)(\S+)/gm)) {
      const uri = m[1]!.replace(/\/+$/, '');
      if (/\/debian$/.test(uri) && !/security/.test(uri)) return uri;
    }
  }
  return 'http://deb.debian.org/debian';
}

function cacheRoot(): string {
  const system = '/var/cache/ec2-init-build';
  try {
    mkdirSync(system, { recursive: true });
    accessSync(system, constants.W_OK);
    return system;
  } catch {
    const local = join(top, 'node_modules', '.cache', 'ec2-init-build');
    mkdirSync(local, { recursive: true });
    return local;
  }
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], ...opts });
}

/** Install the Debian packages the build needs when they are missing (a fresh machine: gcc, headers, dpkg-dev). */
export function ensurePackages(pkgs: string[]): void {
  const missing = pkgs.filter((p) => {
    try {
      return !execFileSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('install ok installed');
    } catch { return true; }
  });
  if (missing.length === 0) return;
  console.log(`installing ${missing.join(' ')} (needed to build the QuickJS executable)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env });
  // A fresh machine may have no package lists yet: read them once, then try again.
  try { install(); } catch { run('apt-get', ['update', '-q'], { env }); install(); }
}

/** Fetch the source package through a private apt configuration; returns the unpacked source tree. */
function fetchSource(work: string): string {
  ensurePackages(['dpkg-dev', 'patch', 'gcc', 'libc6-dev', 'debian-archive-keyring']);
  const apt = join(work, 'apt');
  for (const d of ['etc/apt.conf.d', 'etc/sources.list.d', 'etc/preferences.d', 'etc/trusted.gpg.d', 'state/lists/partial', 'cache/archives/partial']) {
    mkdirSync(join(apt, d), { recursive: true });
  }
  writeFileSync(join(apt, 'etc', 'sources.list'),
    `deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror()} ${SUITE} main\n`);
  const conf = join(apt, 'apt.conf');
  writeFileSync(conf, [
    `Dir::Etc "${apt}/etc";`,
    `Dir::Etc::main "${apt}/etc/none.conf";`,
    `Dir::Etc::Parts "${apt}/etc/apt.conf.d";`,
    `Dir::Etc::SourceList "${apt}/etc/sources.list";`,
    `Dir::Etc::SourceParts "${apt}/etc/sources.list.d";`,
    `Dir::Etc::Preferences "${apt}/etc/preferences";`,
    `Dir::Etc::PreferencesParts "${apt}/etc/preferences.d";`,
    `Dir::Etc::Trusted "${apt}/etc/trusted.gpg";`,
    `Dir::Etc::TrustedParts "${apt}/etc/trusted.gpg.d";`,
    `Dir::State "${apt}/state";`,
    `Dir::State::Lists "${apt}/state/lists";`,
    `Dir::State::status "/var/lib/dpkg/status";`,
    `Dir::Cache "${apt}/cache";`,
    // Root's files here are not readable by _apt: download as the caller.
    'APT::Sandbox::User "root";',
    'Acquire::Languages "none";',
    '',
  ].join('\n'));
  const env = { ...process.env, APT_CONFIG: conf, LC_ALL: 'C' };
  run('apt-get', ['-q', 'update'], { env });
  const src = join(work, 'src');
  mkdirSync(src);
  // Downloads the .dsc, .orig.tar.xz and .debian.tar.xz (hashes checked against
  // the signed Sources index), then dpkg-source -x unpacks and applies Debian's patches.
  run('apt-get', ['-q', 'source', `${QUICKJS_PACKAGE}=${QUICKJS_VERSION}`], { cwd: src, env });
  const tree = readdirSync(src, { withFileTypes: true }).find((e) => e.isDirectory() && e.name.startsWith(`${QUICKJS_PACKAGE}-`))?.name;
  if (!tree) throw new Error(`apt-get source ${QUICKJS_PACKAGE}=${QUICKJS_VERSION} left no source tree in ${src}`);
  const version = readFileSync(join(src, tree, 'VERSION'), 'utf8').trim();
  if (version !== UPSTREAM_VERSION) throw new Error(`QuickJS source says version ${version}, expected ${UPSTREAM_VERSION}`);
  for (const patch of patches()) {
    console.log(`applying ${patch.split('/').pop()}`);
    run('patch', ['-p1', '-N', '--no-backup-if-mismatch', '-s', '-i', patch], { cwd: join(src, tree) });
  }
  return join(src, tree);
}

async function compile(srcDir: string, out: string): Promise<void> {
  const cc = process.env['CC'] ?? 'gcc';
  const flags = engineFlags(srcDir);
  const sources = [...ENGINE, 'quickjs-libc.c', 'qjsc.c'];
  const objs = sources.map((c) => join(out, c.replace(/\.c$/, '.o')));
  // Two at a time (quickjs.c alone takes most of the time).
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < sources.length) {
      const i = next++;
      await new Promise<void>((ok, fail) => {
        execFile(cc, [...flags, '-c', join(srcDir, sources[i]!), '-o', objs[i]!], (e, _out, err) => {
          if (e) fail(new Error(`${cc} ${sources[i]}: ${err}`)); else ok();
        });
      });
    }
  };
  await Promise.all([worker(), worker()]);
  const engineObjs = ENGINE.map((c) => join(out, c.replace(/\.c$/, '.o')));
  run('ar', ['rcsD', join(out, 'libquickjs.a'), ...engineObjs]);
  run(cc, ['-pie', '-Wl,-z,relro,-z,now', '-o', join(out, 'qjsc'), join(out, 'qjsc.o'), join(out, 'quickjs-libc.o'), ...engineObjs,
    '-lm', '-ldl', '-lpthread']);
  for (const o of objs) rmSync(o);
  mkdirSync(join(out, 'include'));
  for (const h of readdirSync(srcDir).filter((f) => f.endsWith('.h'))) {
    writeFileSync(join(out, 'include', h), readFileSync(join(srcDir, h)));
  }
  writeFileSync(join(out, 'SOURCE'), `Debian source package ${QUICKJS_PACKAGE} ${QUICKJS_VERSION} (${SUITE}), fetched with apt-get source\n`);
}

const PATCHES = join(top, 'build', 'quickjs-patches');

/** Our patches to QuickJS, in the order they apply. */
function patches(): string[] {
  return existsSync(PATCHES) ? readdirSync(PATCHES).filter((f) => f.endsWith('.patch')).sort().map((f) => join(PATCHES, f)) : [];
}

/** The cached build of QuickJS, built first when missing. */
export async function quickjs(): Promise<QuickJS> {
  // The cache key: this recipe and the patches.
  const h = createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url)));
  for (const p of patches()) h.update(readFileSync(p));
  const recipe = h.digest('hex').slice(0, 12);
  const dir = join(cacheRoot(), `quickjs-${QUICKJS_VERSION}-${recipe}`);
  const result: QuickJS = { include: join(dir, 'include'), lib: join(dir, 'libquickjs.a'), qjsc: join(dir, 'qjsc') };
  if (existsSync(join(dir, 'SOURCE'))) return result;
  const work = `${dir}.work-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const t0 = Date.now();
    console.log(`building QuickJS ${QUICKJS_VERSION} from Debian's source package (cached in ${dir})`);
    const src = fetchSource(work);
    const out = join(work, 'out');
    mkdirSync(out);
    await compile(src, out);
    rmSync(dir, { recursive: true, force: true });
    renameSync(out, dir);
    // Builds by an older recipe are of no further use.
    for (const e of readdirSync(dirname(dir))) {
      if (e.startsWith(`quickjs-`) && !e.includes('.work-') && join(dirname(dir), e) !== dir) rmSync(join(dirname(dir), e), { recursive: true, force: true });
    }
    console.log(`QuickJS built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(dirname((await quickjs()).lib));
