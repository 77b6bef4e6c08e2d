// The Debian package (issue 6): the executable's libraries, the .deb built
// (reproducibly, lintian-clean), then installed, upgraded, removed and purged
// in a throw-away debootstrap'd bookworm root with no network (debian/ read
// statically: test/unit/package.test.ts).
//
// The root tests need root and debootstrap (CI: apt-get install -y dpkg-dev
// debhelper lintian debootstrap); without CI they skip with the reason
// otherwise (test/helpers/needs.ts). They only ever touch copies of the
// cached root under the temp dir (test/helpers/package/root.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDeb, debian, ensureDeb, exe, JOBS, packagedExe, readDebian, repack, sha256, UNITS, version } from '../helpers/package/deb.ts';
import { cannotRun, diffSnapshots, inRoot, removeRoot, snapshot, throwawayRoot } from '../helpers/package/root.ts';
import { needCommands, unavailable } from '../helpers/needs.ts';
import { buildDeb as buildTestDeb } from '../helpers/apt/repo.ts';
import { CLOUD_INIT_VERSION } from '../../src/cli/cloud-init.ts';

const read = readDebian;
const notBuilt = existsSync(exe) ? null : unavailable('dist/ec2-init not built (npm run build)');
// Every file of the package, with its mode.
const FILES: Record<string, number> = {
  '/usr/bin/ec2-init': 0o755,
  '/usr/libexec/ec2-init/rc.local-hook': 0o755,
  '/etc/init.d/ec2-init': 0o755,
  '/etc/cloud/cloud.cfg.d/10_ec2-init.cfg': 0o644,
  '/usr/share/man/man1/ec2-init.1.gz': 0o644,
  '/usr/share/doc/ec2-init/copyright': 0o644,
  '/usr/share/doc/ec2-init/changelog.gz': 0o644,
  '/usr/share/lintian/overrides/ec2-init': 0o644,
  ...Object.fromEntries(UNITS.map((u) => [`/lib/systemd/system/${u}`, 0o644])),
  ...Object.fromEntries(JOBS.map((j) => [`/etc/init/${j}.conf`, 0o644])),
};
// cloud-init's commands are ec2-init under their names (dh_link: relative links).
const LINKS: Record<string, string> = {
  '/usr/bin/cloud-init': 'ec2-init', '/usr/bin/cloud-id': 'ec2-init',
  '/usr/share/man/man1/cloud-init.1.gz': 'ec2-init.1.gz', '/usr/share/man/man1/cloud-id.1.gz': 'ec2-init.1.gz',
};
// cloud-init's unit names, aliases of ec2-init's units once enabled.
const ALIASES: Record<string, string> = {
  'cloud-init-local.service': 'ec2-init-local.service', 'cloud-init.service': 'ec2-init.service',
  'cloud-init-network.service': 'ec2-init.service', 'cloud-config.service': 'ec2-init-config.service',
  'cloud-final.service': 'ec2-init-final.service',
};
const CONFFILES = Object.keys(FILES).filter((f) => f.startsWith('/etc/')).sort();

describe('debian/ (read, not built)', () => {
  test('the executable links only libc, libm and zlib; libssl3 is loaded, and named in Depends', { skip: notBuilt ?? needCommands(['readelf'], 'binutils') ?? undefined }, () => {
    // What the dynamic loader must find at every start: few, and all on any Debian image.
    const dynamic = execFileSync('readelf', ['-d', '-W', exe], { encoding: 'utf8' });
    const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]).sort();
    assert.deepEqual(needed, ['libc.so.6', 'libm.so.6', 'libz.so.1']);
    // libssl3 is dlopen'd at the first TLS connection (src/host/native/net.c): shlibdeps cannot see it.
    assert.ok(readFileSync(exe).includes(Buffer.from('libssl.so.3\0')), 'the executable does not name libssl.so.3');
    const depends = /^Depends: (.*)$/m.exec(read('control'))?.[1] ?? '';
    assert.match(depends, /\$\{shlibs:Depends\}/);
    assert.match(depends, /\blibssl3\b/);
    assert.doesNotMatch(depends, /nodejs|libstdc/);
  });
});

const cannotBuild = notBuilt ?? needCommands(['dpkg-buildpackage', 'dh'], 'dpkg-dev debhelper') ?? undefined;

describe('the .deb', { skip: cannotBuild }, () => {
  let deb = '';
  const work = mkdtempSync(join(tmpdir(), 'ec2-init-debtest-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  test('builds, and builds again to the same bytes', () => {
    const built = ensureDeb(work);
    deb = built.deb;
    // The executable goes in untouched (not stripped, not rewritten).
    const packaged = packagedExe(deb, work);
    assert.equal(sha256(packaged), sha256(built.exe), '/usr/bin/ec2-init in the .deb is not the executable it was built from');
    mkdirSync(join(work, 'again'));
    const again = buildDeb({ out: join(work, 'again'), exe: packaged });
    assert.equal(sha256(again), sha256(deb), 'two builds of the same inputs differ: see SOURCE_DATE_EPOCH in build/deb.ts');
  });

  test('holds the files, with their modes, and the conffiles', () => {
    const list = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' });
    const files = new Map<string, string>();
    for (const line of list.trim().split('\n')) {
      const [perms, owner, , , , path, arrow, target] = line.split(/\s+/);
      assert.equal(owner, 'root/root', line);
      if (perms.startsWith('l')) files.set(path.replace(/^\./, ''), `${perms} ${arrow} ${target}`);
      else if (!perms.startsWith('d')) files.set(path.replace(/^\./, ''), perms);
    }
    const want = new Map([
      ...Object.entries(FILES).map(([p, m]): [string, string] => [p, `-${rwx(m)}`]),
      ...Object.entries(LINKS).map(([p, t]): [string, string] => [p, `lrwxrwxrwx -> ${t}`]),
    ]);
    assert.deepEqual(new Map([...files].sort()), new Map([...want].sort()));
    const conffiles = execFileSync('dpkg-deb', ['--info', deb, 'conffiles'], { encoding: 'utf8' });
    assert.deepEqual(conffiles.trim().split('\n').sort(), CONFFILES);
    const control = execFileSync('dpkg-deb', ['-f', deb, 'Package', 'Version', 'Architecture', 'Depends'], { encoding: 'utf8' });
    assert.match(control, new RegExp(`^Version: ${version.replace(/[.+~]/g, '\\$&')}$`, 'm'));
    assert.match(control, /^Architecture: amd64$/m);
    // dpkg-shlibdeps' versions of what the executable links, and libssl3 for what it loads.
    assert.match(control, /^Depends: .*\blibc6 \(>= [\d.]+\).*$/m);
    assert.match(control, /^Depends: .*\bzlib1g \(>= [\d.:-]+\).*$/m);
    assert.match(control, /^Depends: .*\blibssl3\b.*$/m);
    // It takes cloud-init's place: dpkg -i removes cloud-init in its favour.
    const relations = execFileSync('dpkg-deb', ['-f', deb, 'Conflicts', 'Replaces', 'Provides'], { encoding: 'utf8' });
    assert.equal(relations, `Conflicts: cloud-init\nReplaces: cloud-init\nProvides: cloud-init (= ${CLOUD_INIT_VERSION})\n`);
  });

  test('lintian: no errors, no warnings (binary and source)', { skip: needCommands(['lintian'], 'lintian') ?? undefined }, () => {
    // The source package, made from debian/ with a stand-in executable (a
    // source package of the real one would copy 100 MB for nothing).
    const src = join(work, `ec2-init-${version}`);
    mkdirSync(src);
    execFileSync('cp', ['-a', debian, join(src, 'debian')]);
    writeFileSync(join(src, 'ec2-init'), 'stand-in\n');
    execFileSync('dpkg-source', ['-b', src], { cwd: work, stdio: 'ignore' });
    for (const target of [deb, join(work, `ec2-init_${version}.dsc`)]) {
      const r = spawnSync('lintian', ['--fail-on', 'error,warning', '--info', target], { encoding: 'utf8', maxBuffer: 16 << 20 });
      const tags = r.stdout.split('\n').filter((l) => /^[EW]: /.test(l));
      assert.deepEqual(tags, [], `lintian ${target}:\n${r.stdout}${r.stderr}`);
      assert.equal(r.status, 0, `lintian ${target}:\n${r.stdout}${r.stderr}`);
    }
  });
});

function rwx(mode: number): string {
  return [6, 3, 0].map((s) => ((mode >> s) & 4 ? 'r' : '-') + ((mode >> s) & 2 ? 'w' : '-') + ((mode >> s) & 1 ? 'x' : '-')).join('');
}

// dpkg's own records and log change with every operation, and /tmp holds
// the test's own files; the rest of the root must come back as it was after a
// purge.
const DPKG_RECORDS = [/^\/var\/lib\/dpkg\//, /^\/var\/log\/dpkg\.log$/, /^\/tmp\//];
// The block postinst adds to /etc/rc.local.
const BLOCK = /^# BEGIN ec2-init[^\n]*\n[^\n]*\n# END ec2-init\n/gm;

describe('installed into a Debian bookworm root, offline', { skip: cannotBuild ?? cannotRun() }, () => {
  let root = '';
  let deb = '';
  let clean = new Map<string, string>();
  const work = mkdtempSync(join(tmpdir(), 'ec2-init-debtest-'));
  const dpkg = (...args: string[]): string => inRoot(root, ['dpkg', ...args], { env: { DEBIAN_FRONTEND: 'noninteractive' } }).stdout;
  // Installs a .deb with the root's own dpkg, from inside the root.
  const install = (path: string): void => {
    copyFileSync(path, join(root, 'tmp', 'ec2-init.deb'));
    try { dpkg('-i', '/tmp/ec2-init.deb'); } finally { rmSync(join(root, 'tmp', 'ec2-init.deb')); }
  };
  const status = (): string => inRoot(root, ['dpkg-query', '-W', '-f', '${db:Status-Abbrev}${Version}', 'ec2-init'], { allowFail: true }).stdout.trim();
  const inside = (p: string): string => join(root, p);

  before(() => {
    deb = ensureDeb(work).deb;
    root = throwawayRoot(); // a copy of the cached root, made first if need be
    clean = snapshot(root, DPKG_RECORDS);
  });
  after(() => {
    if (root) removeRoot(root);
    rmSync(work, { recursive: true, force: true });
  });

  test('dpkg -i installs it, with no network', () => {
    install(deb);
    assert.equal(status(), `ii ${version}`);
    // The executable runs with an empty environment: it needs no PATH, HOME
    // or node of the image.
    const v = inRoot(root, ['/usr/bin/env', '-i', '/usr/bin/ec2-init', '--version']).stdout;
    assert.match(v, new RegExp(`^ec2-init ${version.replace(/[.+~]/g, '\\$&')}\\b`));
    assert.equal(sha256(inside('usr/bin/ec2-init')), sha256(packagedExe(deb, work)), '/usr/bin/ec2-init is not the packaged one');
  });

  test('files, modes, conffiles, enabled units and init script', () => {
    for (const [path, mode] of Object.entries(FILES)) {
      const st = lstatSync(inside(path));
      assert.ok(st.isFile(), path);
      assert.equal((st.mode & 0o7777).toString(8), mode.toString(8), path);
      assert.equal(st.uid, 0, path);
    }
    const conffiles = readFileSync(inside('var/lib/dpkg/info/ec2-init.conffiles'), 'utf8').trim().split('\n').sort();
    assert.deepEqual(conffiles, CONFFILES);
    // Enabled (deb-systemd-helper works without a running systemd), not started.
    for (const unit of UNITS) {
      assert.equal(readlinkSync(inside(`etc/systemd/system/multi-user.target.wants/${unit}`)), `/lib/systemd/system/${unit}`);
    }
    for (const [alias, unit] of Object.entries(ALIASES)) assert.equal(readlinkSync(inside(`etc/systemd/system/${alias}`)), `/lib/systemd/system/${unit}`, alias);
    for (const [link, target] of Object.entries(LINKS)) assert.equal(readlinkSync(inside(link)), target, link);
    assert.ok(readdirSync(inside('etc/rc2.d')).some((f) => /^S\d\dec2-init$/.test(f)), 'no /etc/rc2.d/S??ec2-init');
    assert.ok(!existsSync(inside('var/lib/cloud')), 'installing the package ran the agent');
  });

  test('the units pass systemd-analyze verify, and the boot has no ordering cycle', () => {
    // default.target pulls in the whole boot, the enabled units included: a
    // cycle would show as "Found ordering cycle" on stderr; so would any
    // unknown or misspelt key.
    const units = UNITS.map((u) => `/lib/systemd/system/${u}`);
    const r = inRoot(root, ['systemd-analyze', 'verify', '--man=no', ...units, 'default.target'], { allowFail: true });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '');
  });

  test('ec2-init boot on a NoCloud seed applies its cloud-config', () => {
    const seed = inside('var/lib/cloud/seed/nocloud');
    mkdirSync(seed, { recursive: true });
    writeFileSync(join(seed, 'meta-data'), 'instance-id: iid-pkgtest\n');
    // resize_rootfs off: in a chroot / is not a mount of its own, so there is
    // no root filesystem to grow (and never this machine's to touch).
    writeFileSync(join(seed, 'user-data'), [
      '#cloud-config', 'resize_rootfs: false', 'write_files:',
      '  - path: /etc/ec2-init-pkgtest', '    content: written at boot', '    permissions: "0640"', '',
    ].join('\n'));
    // The boot's effects outside the agent's own state (which purge removes)
    // are the user-data's, not the package's: undone afterwards, so the purge
    // test can expect the root as it was. set_hostname rewrites /etc/hostname.
    const written = inside('etc/ec2-init-pkgtest');
    const hostname = inside('etc/hostname');
    const [hostnameText, hostnameMode] = [readFileSync(hostname), statSync(hostname).mode];
    // cloud-init (and so ec2-init) gives root an authorized_keys, possibly empty.
    const rootKeys = inside('root/.ssh/authorized_keys');
    const hadRootKeys = existsSync(rootKeys);
    try {
      // As the units run it, but all stages in one go; /proc mounted (-n: no
      // record of it in /run) in the command's own mount namespace, so the
      // mount ends with it.
      inRoot(root, ['/bin/sh', '-c', 'mount -n -t proc proc /proc && exec /usr/bin/ec2-init boot']);
      assert.equal(readFileSync(written, 'utf8'), 'written at boot');
      assert.equal((statSync(written).mode & 0o777).toString(8), '640');
      const st = inRoot(root, ['/usr/bin/ec2-init', 'status'], { allowFail: true });
      assert.equal(st.status, 0, `ec2-init status: not done\n${st.stdout}${st.stderr}`);
    } finally {
      rmSync(written, { force: true });
      if (!hadRootKeys) rmSync(rootKeys, { force: true });
      writeFileSync(hostname, hostnameText);
      chmodSync(hostname, hostnameMode & 0o7777);
    }
  });

  test('the rc.local hook: added, and runs the final stage only on sysvinit and when enabled', () => {
    const rc = readFileSync(inside('etc/rc.local'), 'utf8');
    assert.equal((statSync(inside('etc/rc.local')).mode & 0o777).toString(8), '755');
    assert.equal(rc.match(BLOCK)?.length, 1, rc);
    // Watch what the hook runs: a stand-in for the executable that logs its
    // arguments, put back afterwards.
    const real = inside('usr/bin/ec2-init.real');
    renameSync(inside('usr/bin/ec2-init'), real);
    try {
      writeFileSync(inside('usr/bin/ec2-init'), '#!/bin/sh\necho "$*" >> /tmp/ran\n');
      chmodSync(inside('usr/bin/ec2-init'), 0o755);
      // Runs the given boot scripts in the root, returns what they ran.
      const ran = (setup: () => void, undo: () => void, scripts = [['/etc/rc.local'], ['/etc/init.d/ec2-init', 'start']]): string => {
        setup();
        try {
          for (const argv of scripts) inRoot(root, argv);
          return existsSync(inside('tmp/ran')) ? readFileSync(inside('tmp/ran'), 'utf8') : '';
        } finally { undo(); rmSync(inside('tmp/ran'), { force: true }); }
      };
      const none = (): void => {};
      assert.equal(ran(none, none), 'modules --mode final\ninit --local\ninit\nmodules --mode config\n');
      const flag = inside('etc/cloud/ec2-init.disabled');
      assert.equal(ran(() => writeFileSync(flag, ''), () => rmSync(flag)), '', 'ec2-init.disabled ignored');
      // /proc is not mounted in the root: a file stands in for the kernel command line.
      const cmdline = inside('proc/cmdline');
      assert.equal(ran(() => writeFileSync(cmdline, 'quiet ec2-init=disabled ro\n'), () => rmSync(cmdline)), '', 'ec2-init=disabled ignored');
      // Under systemd (/run/systemd/system exists), ec2-init-final.service runs
      // the stage, not rc.local (which systemd's rc-local.service runs too).
      const sd = inside('run/systemd');
      assert.equal(ran(() => mkdirSync(join(sd, 'system'), { recursive: true }), () => rmSync(sd, { recursive: true }), [['/etc/rc.local']]), '');
    } finally {
      renameSync(real, inside('usr/bin/ec2-init'));
    }
  });

  test('upgrade: keeps the admin\'s conffile edits, installs new conffiles, one hook', () => {
    const next = `${version}+test1`;
    const edited = inside('etc/init/ec2-init.conf');
    writeFileSync(edited, readFileSync(edited, 'utf8') + '# edited by the admin\n');
    install(repack(deb, next, work, '/etc/cloud/cloud.cfg.d/10_ec2-init.cfg', '# changed in the new version\n'));
    assert.equal(status(), `ii ${next}`);
    assert.match(readFileSync(edited, 'utf8'), /# edited by the admin\n$/);
    assert.match(readFileSync(inside('etc/cloud/cloud.cfg.d/10_ec2-init.cfg'), 'utf8'), /# changed in the new version\n$/);
    const leftovers = execFileSync('find', [inside('etc'), '-name', '*.dpkg-*'], { encoding: 'utf8' });
    assert.equal(leftovers, '', 'dpkg asked about a conffile');
    assert.equal(readFileSync(inside('etc/rc.local'), 'utf8').match(BLOCK)?.length, 1);
    inRoot(root, ['/usr/bin/env', '-i', '/usr/bin/ec2-init', '--version']);
  });

  test('remove keeps only the conffiles; purge leaves the root as it was', () => {
    dpkg('-r', 'ec2-init');
    assert.equal(status(), `rc ${version}+test1`);
    for (const path of Object.keys(FILES)) assert.equal(existsSync(inside(path)), CONFFILES.includes(path), path);
    for (const path of [...Object.keys(LINKS), ...Object.keys(ALIASES).map((a) => `/etc/systemd/system/${a}`)]) assert.ok(!existsSync(inside(path)), path);
    assert.ok(!existsSync(inside('etc/rc.local')), 'the rc.local the package created is still there');
    dpkg('-P', 'ec2-init');
    assert.equal(status(), '');
    assert.deepEqual(diffSnapshots(clean, snapshot(root, DPKG_RECORDS)), []);
  });

  test('an admin\'s /etc/rc.local: the block goes in before "exit 0", and out again', () => {
    const own = '#!/bin/sh -e\n# the admin\'s\necho booted > /dev/null\n\nexit 0\n';
    writeFileSync(inside('etc/rc.local'), own);
    chmodSync(inside('etc/rc.local'), 0o750);
    install(deb);
    const rc = readFileSync(inside('etc/rc.local'), 'utf8');
    assert.equal(rc.match(BLOCK)?.length, 1);
    assert.equal(rc.replace(BLOCK, ''), own, 'the admin\'s lines changed');
    assert.match(rc, /# END ec2-init\nexit 0\n$/);
    assert.equal((statSync(inside('etc/rc.local')).mode & 0o777).toString(8), '750');
    dpkg('-P', 'ec2-init');
    assert.equal(readFileSync(inside('etc/rc.local'), 'utf8'), own);
    assert.equal((statSync(inside('etc/rc.local')).mode & 0o777).toString(8), '750');
    rmSync(inside('etc/rc.local'));
    assert.deepEqual(diffSnapshots(clean, snapshot(root, DPKG_RECORDS)), []);
  });
});

// Packages that name cloud-init in their Depends (the reason for a versioned
// Provides), on a root of their own: apt leaves its logs and caches behind,
// which the purge test above must not see.
describe('beside packages that depend on cloud-init', { skip: cannotBuild ?? cannotRun() }, () => {
  let root = '';
  let deb = '';
  const work = mkdtempSync(join(tmpdir(), 'ec2-init-debtest-'));
  const dpkg = (...args: string[]): string => inRoot(root, ['dpkg', ...args], { env: { DEBIAN_FRONTEND: 'noninteractive' } }).stdout;
  const inside = (p: string): string => join(root, p);
  const install = (path: string): void => {
    copyFileSync(path, inside('tmp/ec2-init.deb'));
    try { dpkg('-i', '/tmp/ec2-init.deb'); } finally { rmSync(inside('tmp/ec2-init.deb')); }
  };
  before(() => {
    deb = ensureDeb(work).deb;
    root = throwawayRoot();
  });
  after(() => {
    if (root) removeRoot(root);
    rmSync(work, { recursive: true, force: true });
  });

  test(`Provides: cloud-init (= ${CLOUD_INIT_VERSION}): a package that depends on cloud-init (>= 23) installs beside it, with dpkg and with apt; (>= 26) does not`, () => {
    install(deb);
    const dir = join(work, 'dependents');
    const place = (name: string, depends: string): string => {
      copyFileSync(buildTestDeb(dir, { name, version: '1.0', depends }), inside(`tmp/${name}.deb`));
      return `/tmp/${name}.deb`;
    };
    const state = (name: string) => inRoot(root, ['dpkg-query', '-W', '-f', '${db:Status-Abbrev}', name], { allowFail: true }).stdout.trim();
    const needs23 = place('needs-cloud-init', 'cloud-init (>= 23)');
    const needs26 = place('needs-cloud-init-26', 'cloud-init (>= 26)');
    try {
      dpkg('-i', needs23);
      assert.equal(state('needs-cloud-init'), 'ii');
      dpkg('--purge', 'needs-cloud-init');
      // apt resolves the dependency with what is installed (offline: it must not want cloud-init from anywhere).
      const apt = inRoot(root, ['apt-get', 'install', '-y', needs23], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
      assert.match(apt.stdout, /^The following NEW packages will be installed:\n {2}needs-cloud-init\n/m);
      assert.match(apt.stdout, /^0 upgraded, 1 newly installed, 0 to remove and 0 not upgraded\.$/m, 'nothing else installed, nothing removed');
      assert.equal(state('needs-cloud-init'), 'ii');
      dpkg('--purge', 'needs-cloud-init');
      // The version is checked: 25.1 is not 26.
      const refused = inRoot(root, ['dpkg', '-i', needs26], { allowFail: true });
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, new RegExp(`depends on cloud-init \\(>= 26\\)[^]*Version of cloud-init on system, provided by ec2-init:amd64, is ${CLOUD_INIT_VERSION.replace('.', '\\.')}\\.`));
    } finally {
      for (const f of [needs23, needs26]) rmSync(inside(f), { force: true });
    }
  });

});
