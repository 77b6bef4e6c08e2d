// apt and package_update/package_upgrade/packages through the built
// executable, offline, on copies of a real debootstrap'd Debian bookworm root
// (cached by test/helpers/package/root.ts), against local apt repositories built here
// (test/helpers/apt/repo.ts: dpkg-deb, dpkg-scanpackages, Release files signed with a
// throw-away gpg key). The agent boots each copy with --root in a private
// mount and network namespace (no network at all: only file: sources work),
// so the real apt-get and dpkg of the image run chrooted into it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { dearmor } from '../../src/modules/apt-sources.ts';
import { archive, flatRepo, hostArch, makeKey, missingTools, stopAgent, cannotBootWithRepo, type SigningKey } from '../helpers/apt/repo.ts';
import { baseRoot } from '../helpers/package/root.ts';
import { CONFORMANCE } from '../helpers/paths.ts';
import { mode, read, writeIn } from '../helpers/files.ts';
import { AGENT } from '../helpers/agent.ts';
import { buf } from '../helpers/bytes.ts';

const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
const EXAMPLES = join(CONFORMANCE, 'cloud-init', 'module-examples');

const skip = cannotBootWithRepo();
if (skip) console.log(`# modules-apt: integration tests skipped: ${skip}`);

// ---------------------------------------------------------------------------
// Fixtures: one key, three repositories, built once; copied into each root.

let key: SigningKey;
let fixtures: string;
const dirs: string[] = [];

const PKG = {
  hello10: { name: 'hello-ec2', version: '1.0' },
  hello11: { name: 'hello-ec2', version: '1.1' },
  tiny10: { name: 'tiny-tool', version: '1.0' },
  tiny20: { name: 'tiny-tool', version: '2.0' },
};

before(() => {
  if (skip) return;
  key = makeKey();
  fixtures = mkdtempSync(join(tmpdir(), 'ec2-init-apt-fixtures-'));
  const arch = hostArch();
  flatRepo(join(fixtures, 'srv/repo'), key, [PKG.hello10, PKG.hello11]);
  flatRepo(join(fixtures, 'srv/repo2'), key, [PKG.tiny10, PKG.tiny20]);
  archive(join(fixtures, 'srv/mirror/debian'), key, arch, {
    bookworm: [
      { name: 'mirror-pkg', version: '1.0' },
      // The packages of cloud-init's own examples, as stand-ins (same names and versions).
      { name: 'pwgen', version: '2.08-2' }, { name: 'pastebinit', version: '1.6.2-1' }, { name: 'mg', version: '20230501-1' },
      { name: 'libpython3.8', version: '3.8.10-0ubuntu1~20.04.2' }, { name: 'libpython3.8', version: '3.8.99-1' },
    ],
    'bookworm-updates': [],
    'bookworm-backports': [],
  });
  archive(join(fixtures, 'srv/mirror/debian-security'), key, arch, { 'bookworm-security': [{ name: 'security-fix', version: '1.0' }] });
});

// Each root (a 160 MB copy) goes as soon as its test is done.
afterEach(() => { while (dirs.length) removeDir(dirs.pop()!); });
after(() => {
  if (skip) return;
  stopAgent(key);
  for (const d of [key.home, fixtures]) removeDir(d);
});

function removeDir(dir: string): void {
  const r = resolve(dir);
  if (!r.startsWith(tmpdir() + '/ec2-init-')) throw new Error(`not a throw-away dir: ${dir}`);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]);
  if (mounts.some((m) => m !== undefined && m.startsWith(r + '/'))) throw new Error(`${r} still has mounts: not removing`);
  rmSync(r, { recursive: true, force: true });
}

/** A private copy of the cached bookworm root with the repositories under /srv. */
function newRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ec2-init-apttest-'));
  dirs.push(dir);
  const root = join(dir, 'root');
  const r = spawnSync('cp', ['-a', baseRoot(), root], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`cp: ${r.stderr}`);
  // mkdtemp made the cached root 0700; a real / is 0755 (apt's _apt user must traverse it).
  spawnSync('chmod', ['755', root]);
  cpSync(join(fixtures, 'srv'), join(root, 'srv'), { recursive: true });
  return root;
}


/** Runs argv chrooted into the root (a read: dpkg -s, debconf), never on this machine. */
function chroot(root: string, argv: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('unshare', ['--net', '--', 'chroot', root, ...argv], { encoding: 'utf8', env: { PATH, LC_ALL: 'C.UTF-8' }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function installed(root: string, name: string): string | null {
  const r = chroot(root, ['dpkg-query', '-W', '-f', '${Status} ${Version}', name]);
  const m = /^install ok installed (\S+)$/.exec(r.stdout.trim());
  return m ? m[1]! : null;
}

/**
 * Seed the root and boot it with the built executable, in new mount, network
 * and PID namespaces with /proc mounted inside (for dpkg and apt).
 */
function boot(root: string, userData: string, instanceId = 'iid-apt-1'): { status: number | null; stderr: string; ms: number } {
  writeIn(root, 'var/lib/cloud/seed/nocloud/meta-data', `instance-id: ${instanceId}\nlocal-hostname: apt-test\n`);
  writeIn(root, 'var/lib/cloud/seed/nocloud/user-data', userData);
  const started = performance.now();
  const r = spawnSync('unshare', ['--mount', '--net', '--pid', '--fork', '--kill-child', '--', '/bin/sh', '-c',
    'set -e; mount -t proc proc "$1/proc"; exec env -i "$2" --root "$1" boot', 'boot', root, AGENT,
  ], { encoding: 'utf8', env: { PATH }, timeout: 600_000 });
  return { status: r.status, stderr: r.stderr, ms: performance.now() - started };
}

interface Problems { status: string; errors: string[]; warnings: string[] }
function problems(root: string): Problems {
  const s = spawnSync(AGENT, ['--root', root, 'status', '--format', 'json'], { encoding: 'utf8', env: { PATH } });
  const json = JSON.parse(s.stdout) as { status: string };
  const result = JSON.parse(read(root, 'var/lib/cloud/data/result.json')) as { v1: { errors: string[]; recoverable_errors: string[] } };
  return { status: json.status, errors: result.v1.errors, warnings: result.v1.recoverable_errors };
}

const indent = (text: string, n: number) => text.trimEnd().split('\n').map((l) => ' '.repeat(n) + l).join('\n');

// ---------------------------------------------------------------------------
// dearmor against gpg (the pure apt helpers are in test/unit/modules-apt.test.ts).

describe('apt helpers', () => {
  test('dearmor gives what gpg --dearmor gives, and refuses what is not a public key', { skip }, () => {
    assert.deepEqual(buf(dearmor(key.armored)), key.binary);
    assert.throws(() => dearmor('not a key'), /not an ASCII-armored OpenPGP key/);
    const damaged = key.armored.replace(/^([A-Za-z0-9+/]{10})([A-Za-z0-9+/])/m, (_, a: string, c: string) => a + (c === 'A' ? 'B' : 'A'));
    assert.throws(() => dearmor(damaged), /checksum does not match|public key packet/);
    assert.throws(() => dearmor('-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxx\n-----END PGP PRIVATE KEY BLOCK-----\n'), /never put a private key/);
  });

  test("dearmor reads cloud-init's documented key (armor headers, checksum) as gpg does", { skip: missingTools() }, () => {
    const doc = readFileSync(join(CONFORMANCE, 'cloud-init', 'doc-examples', 'cloud-config-apt.txt'), 'utf8');
    const block = /^\s*-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/m.exec(doc)![0].replace(/^[ \t]+/gm, '');
    const gpg = spawnSync('gpg', ['--batch', '--dearmor'], { input: block, env: { PATH, GNUPGHOME: tmpdir() } });
    assert.equal(gpg.status, 0, String(gpg.stderr));
    assert.deepEqual(buf(dearmor(block)), gpg.stdout);
    // A key pasted without the empty line after its armor header is read too.
    assert.deepEqual(buf(dearmor(block.replace(/^(Version: .*)\n\n/m, '$1\n'))), gpg.stdout);
  });
});

// ---------------------------------------------------------------------------
// Integration

describe('apt and packages on a debootstrap root, offline', { skip }, () => {
  test('signed local sources with inline keys, mirrors, proxy, conf, update, upgrade, install', () => {
    const root = newRoot();
    // hello-ec2 1.0 is installed: the repository's 1.1 is the upgrade.
    const pre = chroot(root, ['dpkg', '-i', '/srv/repo/hello-ec2_1.0_all.deb']);
    assert.equal(pre.status, 0, pre.stderr);
    const userData = `#cloud-config
apt:
  preserve_sources_list: false
  primary:
    - arches: [s390x]
      uri: file:/nonexistent
    - arches: [default]
      uri: file:/srv/mirror/debian
  security:
    - arches: [default]
      uri: file:/srv/mirror/debian-security
  proxy: http://proxy.example.invalid:3128/
  https_proxy: http://proxy.example.invalid:3129/
  ftp_proxy: ftp://proxy.example.invalid:2121/
  conf: |
    APT::Install-Recommends "false";
  debconf_selections:
    set1: hello-ec2 hello-ec2/greeting string hi there
  sources:
    localrepo:
      source: deb file:/srv/repo ./
      key: |
${indent(key.armored, 8)}
    signed:
      source: 'deb [signed-by=$KEY_FILE] file:/srv/repo2 ./'
      key: |
${indent(key.armored, 8)}
package_update: true
package_upgrade: true
packages:
  - hello-ec2
  - [tiny-tool, '1.0']
  - mirror-pkg=1.0
  - apt: [security-fix]
`;
    const r = boot(root, userData);
    const p = problems(root);
    assert.deepEqual(p.errors, [], `${r.stderr}\n${read(root, 'var/log/ec2-init-output.log')}`);
    assert.equal(p.status, 'done', p.warnings.join('\n'));
    const took = (m: string) => /module (\S+): done in (\S+ ms)/.exec(read(root, 'var/log/ec2-init.log').split('\n').find((l) => l.includes(`module ${m}: done in`)) ?? '')?.[2];
    console.log(`# boot with apt sources, update, upgrade, install: ${r.ms.toFixed(0)} ms (apt_configure ${took('apt_configure')}, package_update_upgrade_install ${took('package_update_upgrade_install')})`);

    // Packages: upgraded, pinned, from the primary mirror, from the security mirror.
    assert.equal(installed(root, 'hello-ec2'), '1.1');
    assert.equal(installed(root, 'tiny-tool'), '1.0');
    assert.equal(installed(root, 'mirror-pkg'), '1.0');
    assert.equal(installed(root, 'security-fix'), '1.0');

    // The mirrors rewrote the distribution's sources (one-line, as the image keeps them).
    const list = read(root, 'etc/apt/sources.list');
    assert.match(list, /^deb file:\/srv\/mirror\/debian bookworm main$/m);
    assert.match(list, /^deb file:\/srv\/mirror\/debian-security bookworm-security main$/m);
    assert.match(list, /^deb file:\/srv\/mirror\/debian bookworm-updates main$/m);
    assert.doesNotMatch(list, /deb\.debian\.org|nonexistent/);
    assert.equal(mode(root, 'etc/apt/sources.list'), 0o644);

    // Inline keys: binary keyrings (as gpg --dearmor writes them), 0644;
    // $KEY_FILE puts the key in cloud-init.gpg.d and the source names it.
    assert.deepEqual(readFileSync(join(root, 'etc/apt/trusted.gpg.d/localrepo.gpg')), key.binary);
    assert.equal(mode(root, 'etc/apt/trusted.gpg.d/localrepo.gpg'), 0o644);
    assert.deepEqual(readFileSync(join(root, 'etc/apt/cloud-init.gpg.d/signed.gpg')), key.binary);
    assert.equal(mode(root, 'etc/apt/cloud-init.gpg.d/signed.gpg'), 0o644);
    assert.equal(read(root, 'etc/apt/sources.list.d/localrepo.list'), 'deb file:/srv/repo ./\n');
    assert.equal(read(root, 'etc/apt/sources.list.d/signed.list'), 'deb [signed-by=/etc/apt/cloud-init.gpg.d/signed.gpg] file:/srv/repo2 ./\n');
    assert.equal(mode(root, 'etc/apt/sources.list.d/signed.list'), 0o644);

    // Proxy and conf.
    assert.equal(read(root, 'etc/apt/apt.conf.d/90cloud-init-aptproxy'), [
      'Acquire::http::Proxy "http://proxy.example.invalid:3128/";',
      'Acquire::ftp::Proxy "ftp://proxy.example.invalid:2121/";',
      'Acquire::https::Proxy "http://proxy.example.invalid:3129/";', ''].join('\n'));
    assert.equal(read(root, 'etc/apt/apt.conf.d/94cloud-init-config'), 'APT::Install-Recommends "false";\n');
    // apt itself reads them.
    const dump = chroot(root, ['apt-config', 'dump']).stdout;
    assert.match(dump, /Acquire::http::Proxy "http:\/\/proxy\.example\.invalid:3128\/";/);
    assert.match(dump, /APT::Install-Recommends "false";/);

    // debconf_selections reached the image's debconf database.
    const debconf = read(root, 'var/cache/debconf/config.dat');
    assert.match(debconf, /Name: hello-ec2\/greeting\nTemplate: hello-ec2\/greeting\nValue: hi there/);

    // apt-get update ran once for both modules; the commands were chrooted and noninteractive.
    const log = read(root, 'var/log/ec2-init.log');
    // (Each run is logged as its action: the program, a digest of its argv, what it is for; the
    // argv itself — --force-confold among it — is in the table test, test/unit/actions-apt.test.ts.)
    assert.equal(log.match(/action: module \S+: run apt-get \S+ \(apt-get update\)/gm)?.length, 1, log);
    assert.match(log, /action: module package_update_upgrade_install: run apt-get \S+ \(apt-get dist-upgrade\)/);
    assert.match(log, /action: module package_update_upgrade_install: run apt-get \S+ \(apt-get install hello-ec2 tiny-tool=1\.0 mirror-pkg=1\.0 security-fix\)/);

    // A second boot of the same instance repeats none of it.
    const again = boot(root, userData);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(read(root, 'var/log/ec2-init.log').match(/action: module \S+: run apt-get \S+ \(apt-get update\)/gm)?.length, 1);
  });

  test('deb822 image: mirrors (per arch, with a key) and disable_suites rewrite debian.sources', () => {
    const root = newRoot();
    unlinkSync(join(root, 'etc/apt/sources.list'));
    writeIn(root, 'etc/apt/sources.list.d/debian.sources',
      'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n');
    const r = boot(root, `#cloud-config
apt:
  primary:
    - arches: [default]
      uri: file:/srv/mirror/debian
      key: |
${indent(key.armored, 8)}
  security:
    - arches: [default]
      uri: file:/srv/mirror/debian-security
  disable_suites: [backports]
package_update: true
packages: [mirror-pkg, security-fix]
`);
    const p = problems(root);
    assert.deepEqual(p.errors, [], `${r.stderr}\n${read(root, 'var/log/ec2-init-output.log')}`);
    const sources = read(root, 'etc/apt/sources.list.d/debian.sources');
    assert.match(sources, /^URIs: file:\/srv\/mirror\/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: \/etc\/apt\/trusted\.gpg\.d\/primary\.gpg$/m);
    assert.match(sources, /^URIs: file:\/srv\/mirror\/debian-security\nSuites: bookworm-security\nComponents: main\nSigned-By: \/etc\/apt\/trusted\.gpg\.d\/primary\.gpg$/m);
    assert.doesNotMatch(sources, /deb\.debian\.org|backports\n/);
    assert.deepEqual(readFileSync(join(root, 'etc/apt/trusted.gpg.d/primary.gpg')), key.binary);
    assert.equal(existsSync(join(root, 'etc/apt/sources.list')), false);
    assert.equal(installed(root, 'mirror-pkg'), '1.0');
    assert.equal(installed(root, 'security-fix'), '1.0');
  });

  test('what needs the network is refused by name; a missing package is reported with apt\'s words', () => {
    const root = newRoot();
    unlinkSync(join(root, 'etc/apt/sources.list'));
    boot(root, `#cloud-config
apt:
  preserve_sources_list: true
  sources:
    fromkeyserver:
      keyid: 'B59D 5F15 97A5 04B7 E230  6DCA 0620 BBCF 0368 3F77'
      source: deb file:/srv/repo2 ./
    aPPA:
      source: ppa:someone/something
    junk:
      source: http://example.invalid/debian bookworm main
    broken:
      source: deb file:/srv/repo2 ./
      key: not a key
    good:
      source: deb file:/srv/repo ./
      key: |
${indent(key.armored, 8)}
packages: [hello-ec2, nosuch-package]
write_files:
  - path: /etc/still-written
    content: written
`);
    const p = problems(root);
    const has = (re: RegExp) => assert.ok(p.errors.some((e) => re.test(e)), `${re} not in:\n${p.errors.join('\n')}`);
    has(/^module apt_configure: source 'fromkeyserver': keyid .* keyserver keyserver\.ubuntu\.com.*put the ASCII-armored key in 'key'/);
    has(/^module apt_configure: source 'aPPA': 'ppa:someone\/something' is for add-apt-repository/);
    has(/^module apt_configure: source 'junk': 'http:\/\/example\.invalid\/debian bookworm main' is not a sources\.list entry/);
    has(/^module apt_configure: source 'broken': not an ASCII-armored OpenPGP key/);
    has(/^module package_update_upgrade_install: apt-get \(apt-get install hello-ec2 nosuch-package\): exit 100: .*E: Unable to locate package nosuch-package/);
    assert.equal(p.status, 'error');
    // The sources whose key could not be had are not written; the good one is, and works.
    assert.equal(existsSync(join(root, 'etc/apt/sources.list.d/fromkeyserver.list')), false);
    assert.equal(existsSync(join(root, 'etc/apt/sources.list.d/broken.list')), false);
    assert.equal(existsSync(join(root, 'etc/apt/sources.list.d/junk.list')), false);
    assert.equal(read(root, 'etc/apt/sources.list.d/good.list'), 'deb file:/srv/repo ./\n');
    assert.equal(chroot(root, ['apt-cache', 'policy', 'hello-ec2']).stdout.includes('1.1'), true);
    assert.equal(read(root, 'etc/still-written'), 'written');
  });

  test('a root without apt-get: a clear error naming each module, the other modules still run', () => {
    const root = newRoot();
    unlinkSync(join(root, 'usr/bin/apt-get'));
    const r = boot(root, `#cloud-config
apt:
  conf: 'APT::Get::Assume-Yes "true";'
package_update: true
packages: [hello-ec2]
write_files:
  - path: /etc/marker
    content: still here
runcmd:
  - touch /etc/runcmd-ran
`);
    const p = problems(root);
    assert.ok(p.errors.some((e) => /^module apt_configure: apt-get not found under the root .*: apt \(the 'apt' module/.test(e)), p.errors.join('\n'));
    assert.ok(p.errors.some((e) => /^module package_update_upgrade_install: apt-get not found under the root .*package_update\/package_upgrade\/packages/.test(e)), p.errors.join('\n'));
    assert.equal(p.status, 'error');
    assert.notEqual(r.status, null);
    assert.equal(read(root, 'etc/marker'), 'still here');
    assert.ok(existsSync(join(root, 'etc/runcmd-ran')));
    assert.equal(existsSync(join(root, 'etc/apt/apt.conf.d/94cloud-init-config')), false);
  });
});

describe('cloud-init module examples through the binary', { skip }, () => {
  test('cc_apt_configure example 1: custom sources_list, disable_suites, proxies, conf, debconf; network-only parts refused', () => {
    const root = newRoot();
    boot(root, readFileSync(join(EXAMPLES, 'cc_apt_configure/example1.yaml'), 'utf8'));
    const list = read(root, 'etc/apt/sources.list');
    assert.equal(list, [
      '# suite disabled by cloud-init: deb http://us.archive.ubuntu.com/ubuntu bookworm main restricted',
      '# suite disabled by cloud-init: deb-src http://us.archive.ubuntu.com/ubuntu bookworm main restricted',
      '# suite disabled by cloud-init: deb http://us.archive.ubuntu.com/ubuntu bookworm universe restricted',
      'deb http://us.archive.ubuntu.com/ubuntu bookworm-security multiverse', ''].join('\n'));
    assert.equal(read(root, 'etc/apt/apt.conf.d/90cloud-init-aptproxy'), [
      'Acquire::http::Proxy "http://[[user][:pass]@]host[:port]/";',
      'Acquire::http::Proxy "http://[[user][:pass]@]host[:port]/";',
      'Acquire::ftp::Proxy "ftp://[[user][:pass]@]host[:port]/";',
      'Acquire::https::Proxy "https://[[user][:pass]@]host[:port]/";', ''].join('\n'));
    assert.match(read(root, 'etc/apt/apt.conf.d/94cloud-init-config'), /Assume-Yes 'true';/);
    assert.match(read(root, 'var/cache/debconf/config.dat'), /Name: the-package\/some-flag\n.*\nValue: true/);
    const p = problems(root);
    const apt = p.errors.filter((e) => e.startsWith('module apt_configure'));
    assert.ok(apt.some((e) => /source 'source1': keyid 'keyid' must be fetched from keyserver keyserverurl/.test(e)), apt.join('\n'));
    assert.ok(apt.some((e) => /source 'source2': 'ppa:<ppa-name>' is for add-apt-repository/.test(e)), apt.join('\n'));
    assert.ok(apt.some((e) => /source 'source3': not an ASCII-armored OpenPGP key/.test(e)), apt.join('\n'));
    assert.equal(apt.length, 4, apt.join('\n'));
    // No network: apt-get update cannot fetch us.archive.ubuntu.com; apt exits 0, the warning says so.
    assert.ok(p.warnings.some((w) => /^module apt_configure: apt-get update: W: Failed to fetch http:\/\/us\.archive\.ubuntu\.com/.test(w)), p.warnings.join('\n'));
    assert.equal(p.status, 'error');
  });

  test('cc_apt_configure example 2: a deb822 sources_list goes to debian.sources', () => {
    const root = newRoot();
    boot(root, readFileSync(join(EXAMPLES, 'cc_apt_configure/example2.yaml'), 'utf8'));
    assert.equal(read(root, 'etc/apt/sources.list.d/debian.sources'),
      'Types: deb\nURIs: http://archive.ubuntu.com/ubuntu/\nSuites: bookworm\nComponents: main\n');
    assert.equal(existsSync(join(root, 'etc/apt/sources.list')), false);
    assert.deepEqual(problems(root).errors, []);
  });

  test("cloud-init's doc example cloud-config-apt.txt: keyids refused one by one, the inline key written, packages installed", () => {
    const root = newRoot();
    writeIn(root, 'etc/apt/sources.list', 'deb file:/srv/mirror/debian bookworm main\n');
    writeIn(root, 'etc/apt/trusted.gpg.d/ec2-init-test.gpg', key.binary);
    const doc = readFileSync(join(CONFORMANCE, 'cloud-init', 'doc-examples', 'cloud-config-apt.txt'), 'utf8');
    boot(root, doc);
    const p = problems(root);
    const apt = p.errors.filter((e) => e.startsWith('module apt_configure'));
    const keyids = apt.filter((e) => /keyid .* must be fetched from keyserver/.test(e));
    assert.equal(keyids.length, 7, apt.join('\n'));
    assert.ok(apt.some((e) => /source 'ignored1': 'ppa:curtin-dev\/test-archive' is for add-apt-repository/.test(e)), apt.join('\n'));
    assert.equal(apt.length, 8, apt.join('\n'));
    // preserve_sources_list: true: the image's list stays; the key of my-repo4.list is a keyring.
    assert.equal(read(root, 'etc/apt/sources.list'), 'deb file:/srv/mirror/debian bookworm main\n');
    assert.equal(readFileSync(join(root, 'etc/apt/trusted.gpg.d/my-repo4.gpg'))[0], 0x98);
    assert.equal(mode(root, 'etc/apt/trusted.gpg.d/my-repo4.gpg'), 0o644);
    assert.equal(installed(root, 'pastebinit'), '1.6.2-1');
    assert.match(read(root, 'etc/apt/apt.conf.d/94cloud-init-config'), /Fix-Broken "true";/);
  });

  test('cc_package_update_upgrade_install examples 1 and 2 against the local mirror', () => {
    const root = newRoot();
    writeIn(root, 'etc/apt/sources.list', 'deb file:/srv/mirror/debian bookworm main\n');
    writeIn(root, 'etc/apt/trusted.gpg.d/ec2-init-test.gpg', key.binary);
    writeIn(root, 'run/reboot-required', '*** System restart required ***\n');
    const r1 = boot(root, readFileSync(join(EXAMPLES, 'cc_package_update_upgrade_install/example1.yaml'), 'utf8'), 'iid-example-1');
    const p1 = problems(root);
    assert.equal(installed(root, 'pwgen'), '2.08-2');
    assert.equal(installed(root, 'pastebinit'), '1.6.2-1');
    assert.equal(installed(root, 'libpython3.8'), '3.8.10-0ubuntu1~20.04.2');
    assert.equal(installed(root, 'mg'), '20230501-1');
    const pkgErrors = p1.errors.filter((e) => e.startsWith('module package_update_upgrade_install'));
    assert.equal(pkgErrors.length, 1, `${r1.stderr}\n${pkgErrors.join('\n')}`);
    assert.match(pkgErrors[0]!, /snap packages .*certbot.* not supported/);
    // package_reboot_if_required: reported, never done under --root.
    assert.match(read(root, 'var/log/ec2-init.log'), /skipped with --root .*: run reboot .*\(reboot: \/var\/run\/reboot-required exists/);

    const r2 = boot(root, readFileSync(join(EXAMPLES, 'cc_package_update_upgrade_install/example2.yaml'), 'utf8'), 'iid-example-2');
    const p2 = problems(root);
    assert.deepEqual(p2.errors.filter((e) => e.startsWith('module package_update_upgrade_install')), [], r2.stderr);
    // An upgrade with the pinned libpython3.8 installed brings the repository's newer one.
    assert.equal(installed(root, 'libpython3.8'), '3.8.99-1');
  });
});
