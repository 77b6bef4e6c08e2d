// Unit: the apt group as tables, config in, actions out (test/helpers/module-actions.ts):
// apt_configure, package_update_upgrade_install, apt_pipelining, byobu,
// rsyslog. What each test asserts is what a user would check in `plan`: which
// files are written where with which mode, which programs run in which
// order, what is refused (with its key path) and what still runs.
import { archMirrorConfig } from '../../src/modules/apt-sources.ts';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Action, RunAction } from '../../src/host/actions.ts';
import type { RunResult } from '../../src/host/run.ts';
import { aptConfigure } from '../../src/modules/apt_configure.ts';
import { aptPipelining } from '../../src/modules/apt_pipelining.ts';
import { byobu } from '../../src/modules/byobu.ts';
import { packageUpdateUpgradeInstall } from '../../src/modules/packages.ts';
import { rsyslog } from '../../src/modules/rsyslog.ts';
import { writeIn } from '../helpers/files.ts';
import { planModule } from '../helpers/module-actions.ts';

const SEM = '/var/lib/cloud/instances/iid-table-1/sem/update-sources';
const ok: RunResult = { code: 0, signal: null, timedOut: false, stdout: '', stderr: '' };

/** A Debian root as far as apt's modules look: apt-get, debconf, os-release. */
function debianRoot(root: string): void {
  for (const p of ['usr/bin/apt-get', 'usr/bin/debconf-set-selections']) writeIn(root, p, '#!/bin/sh\n', 0o755);
  writeIn(root, 'etc/os-release', 'ID=debian\nVERSION_CODENAME=bookworm\n');
  writeIn(root, 'etc/apt/sources.list', 'deb http://deb.debian.org/debian bookworm main\n');
}

/** What a run does, as a user reads it: program and subcommand (apt-get's options left out). */
const runs = (actions: Action[]) => actions.filter((a): a is RunAction => a.kind === 'run').map((a) => a.argv.filter((w) => !w.startsWith('--option')).join(' '));
const written = (actions: Action[]) => actions.flatMap((a) => (a.kind === 'write' ? [`${a.path} ${a.mode.toString(8)}`] : []));
const contentOf = (actions: Action[], path: string) => {
  const a = actions.find((x) => x.kind === 'write' && x.path === path);
  assert.ok(a && a.kind === 'write', `no write of ${path}`);
  return typeof a.content === 'string' ? a.content : Array.from(a.content);
};

// A public-key packet (old format, tag 6) in armor: what dearmor accepts.
const KEY = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmAEE\n-----END PGP PUBLIC KEY BLOCK-----\n';

describe('apt_configure', () => {
  test('mirrors, proxy, conf, a signed source: each file with its mode, then apt-get update and its semaphore', async () => {
    const primary = [{ arches: ['amd64'], uri: 'http://wrong.example/debian' }, { arches: ['arm64'], uri: 'http://arm.example/debian' }];
    const p = await planModule(aptConfigure, {
      apt: {
        primary,
        proxy: 'http://proxy.example:3128/',
        conf: 'APT::Install-Recommends "false";\n',
        sources: { signed: { source: 'deb [signed-by=$KEY_FILE] http://repo.example ./', key: KEY } },
      },
    }, { prep: debianRoot });
    assert.deepEqual(p.problems, []);
    assert.equal(p.unknown, true, 'the arch is dpkg --print-architecture\'s answer at boot (dpkg\'s database is its own)');
    assert.deepEqual(written(p.actions), [
      '/etc/apt/sources.list 644',
      '/etc/apt/apt.conf.d/90cloud-init-aptproxy 644',
      '/etc/apt/apt.conf.d/94cloud-init-config 644',
      '/etc/apt/cloud-init.gpg.d/signed.gpg 644',
      '/etc/apt/sources.list.d/signed.list 644',
    ]);
    assert.equal(archMirrorConfig(primary, 'arm64')?.['uri'], 'http://arm.example/debian', 'the mirror of the arch dpkg names');
    assert.equal(contentOf(p.actions, '/etc/apt/apt.conf.d/90cloud-init-aptproxy'), 'Acquire::http::Proxy "http://proxy.example:3128/";\n');
    assert.deepEqual(contentOf(p.actions, '/etc/apt/cloud-init.gpg.d/signed.gpg'), [0x98, 0x01, 0x04], 'the key dearmored');
    assert.equal(contentOf(p.actions, '/etc/apt/sources.list.d/signed.list'), 'deb [signed-by=/etc/apt/cloud-init.gpg.d/signed.gpg] http://repo.example ./\n');
    assert.deepEqual(runs(p.actions), ['apt-get --assume-yes --quiet update']);
    assert.deepEqual(p.actions.at(-1), { kind: 'mark', path: SEM });
  });

  test('what apt would read as options or needs the network is refused by key, the rest still written; a proxy file not configured goes', async () => {
    const p = await planModule(aptConfigure, {
      apt: {
        preserve_sources_list: true,
        https_proxy: 'http://p"; Acquire::x "y',
        sources: {
          ppa: { source: 'ppa:someone/thing' },
          server: { keyid: 'ABCD', source: 'deb http://k.example ./' },
          junk: { source: 'http://example.invalid/debian bookworm main', key: KEY },
          good: { source: 'deb http://good.example ./' },
        },
      },
    }, { prep: (r) => { debianRoot(r); writeIn(r, 'etc/apt/apt.conf.d/90cloud-init-aptproxy', 'old\n'); } });
    const messages = p.problems.map((d) => `${d.level} ${d.message}`);
    assert.ok(messages.some((m) => /^error apt: https_proxy: .*a proxy URL without quotes.*; left out$/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /^error source 'ppa': 'ppa:someone\/thing' is for add-apt-repository/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /^error source 'server': keyid 'ABCD' must be fetched from keyserver keyserver\.ubuntu\.com/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /^error source 'junk': 'http:\/\/example\.invalid\/debian bookworm main' is not a sources\.list entry/.test(m)), messages.join('\n'));
    assert.equal(p.problems.length, 4);
    assert.deepEqual(written(p.actions), ['/etc/apt/sources.list.d/good.list 644'], 'a refused source writes nothing, not even its key');
    assert.ok(p.actions.some((a) => a.kind === 'remove' && a.path === '/etc/apt/apt.conf.d/90cloud-init-aptproxy'));
  });

  test('a source file names a file directly in /etc/apt/sources.list.d: a path elsewhere is refused by its key path, nothing of it written', async () => {
    const p = await planModule(aptConfigure, {
      apt: {
        preserve_sources_list: true,
        sources: {
          up: { filename: '../../cron.d/evil', source: 'deb http://a.example ./', key: KEY },
          abs: { filename: '/etc/cron.d/evil', source: 'deb http://b.example ./' },
          '../../../root/x': { source: 'deb http://c.example ./' },
          nl: { filename: 'a\nb', source: 'deb http://d.example ./' },
          named: { filename: 'mine', source: 'deb http://e.example ./' },
          full: { filename: '/etc/apt/sources.list.d/full.list', source: 'deb http://f.example ./' },
        },
      },
    }, { prep: debianRoot });
    const messages = p.problems.map((d) => `${d.level} ${d.message}`);
    for (const key of ['up', 'abs', '../../../root/x', 'nl']) {
      const path = key === '../../../root/x' ? `apt.sources.${key}` : `apt.sources.${key}.filename`;
      assert.ok(messages.some((m) => m.startsWith(`error ${path}: `) && m.includes('/etc/apt/sources.list.d')), `${path} refused:\n${messages.join('\n')}`);
    }
    assert.equal(p.problems.length, 4);
    assert.deepEqual(written(p.actions), ['/etc/apt/sources.list.d/mine.list 644', '/etc/apt/sources.list.d/full.list 644'], 'nothing outside sources.list.d, not even a key');
  });

  test('a mirror found by search depends on what the name resolves to at boot; plan says so', async () => {
    const p = await planModule(aptConfigure, { apt: { primary: [{ arches: ['default'], search: ['http://m.example/debian'] }] } }, { prep: debianRoot });
    assert.equal(p.unknown, true);
    assert.match(String(contentOf(p.actions, '/etc/apt/sources.list')), /^deb https:\/\/deb\.debian\.org\/debian bookworm main$/m, 'plan: unresolved, the failsafe mirror');
  });

  test('plan cannot know the arch (dpkg answers at boot): it says so, and still lists the update later modules rely on', async () => {
    const p = await planModule(aptConfigure, { apt: { sources: { s: { source: 'deb http://s.example ./' } } } }, { prep: debianRoot });
    assert.equal(p.unknown, true);
    assert.deepEqual(p.actions.slice(-2).map((a) => a.kind), ['run', 'mark']);
  });

  test('no apt-get: an error naming the module, nothing planned', async () => {
    const p = await planModule(aptConfigure, { apt: { conf: 'x' } });
    assert.deepEqual(p.actions, []);
    assert.match(p.problems[0]!.message, /apt-get not found under the root .*: apt \(the 'apt' module/);
  });
});

describe('package_update_upgrade_install', () => {
  test('update, dist-upgrade, install: each its own unit (one failing does not stop the next), apt-get as cloud-init runs it', async () => {
    const p = await planModule(packageUpdateUpgradeInstall, { package_upgrade: true, packages: ['pwgen', ['mg', '1.0'], { apt: ['tiny'] }] }, { prep: debianRoot });
    assert.deepEqual(runs(p.actions), ['apt-get --assume-yes --quiet update', 'apt-get --assume-yes --quiet dist-upgrade', 'apt-get --assume-yes --quiet install pwgen mg=1.0 tiny']);
    assert.deepEqual(p.actions.map((a) => a.unit), ['update', 'update', 'upgrade', 'install']);
    const install = p.actions.at(-1) as RunAction;
    assert.ok(install.argv.includes('--option=Dpkg::Options::=--force-confold'), 'changed config files are kept');
    assert.deepEqual(install.env, { DEBIAN_FRONTEND: 'noninteractive' });
  });

  test('a package name that would be an apt-get option is refused with its entry, the others installed', async () => {
    const p = await planModule(packageUpdateUpgradeInstall, { packages: ['pwgen', '--allow-unauthenticated', ['mg', '1.0 -y']] }, { prep: debianRoot });
    assert.deepEqual(runs(p.actions).at(-1), 'apt-get --assume-yes --quiet install pwgen');
    assert.deepEqual(p.problems.map((d) => d.message.replace(/:.*/, '')), ['packages entry 2', 'packages entry 3']);
  });

  test('reboot if required: asked after the changes, the reboot for the running system only', async () => {
    const p = await planModule(packageUpdateUpgradeInstall, { packages: ['pwgen'], package_reboot_if_required: true }, { prep: debianRoot });
    const ask = p.actions.at(-1) as RunAction;
    assert.deepEqual(ask.argv, ['test', '-e', '/var/run/reboot-required']);
    assert.equal(ask.unit, 'reboot', 'asked even when the install failed');
    const reboot = ask.then!(ok).find((a) => a.kind === 'run') as RunAction;
    assert.deepEqual([reboot.argv, reboot.runningSystem], [['/sbin/reboot'], 'optional']);
    assert.ok(!ask.then!({ ...ok, code: 1 }).some((a) => a.kind === 'run'), 'no marker: no reboot');
  });

  test('apt-get update already ran for this instance (apt_configure): not again; no apt-get: an error, nothing planned', async () => {
    const p = await planModule(packageUpdateUpgradeInstall, { packages: ['pwgen'] }, { prep: (r) => { debianRoot(r); writeIn(r, SEM.slice(1), 'x'); } });
    assert.deepEqual(runs(p.actions), ['apt-get --assume-yes --quiet install pwgen']);
    const none = await planModule(packageUpdateUpgradeInstall, { package_update: true });
    assert.deepEqual(none.actions, []);
    assert.match(none.problems[0]!.message, /apt-get not found under the root .*package_update\/package_upgrade\/packages/);
  });
});

describe('apt_pipelining', () => {
  test('false writes depth 0 (0644); os leaves apt alone; true is warned about and writes nothing', async () => {
    const off = await planModule(aptPipelining, { apt_pipelining: false });
    assert.deepEqual(written(off.actions), ['/etc/apt/apt.conf.d/90cloud-init-pipelining 644']);
    assert.equal(contentOf(off.actions, '/etc/apt/apt.conf.d/90cloud-init-pipelining'), '//Written by cloud-init per \'apt_pipelining\'\nAcquire::http::Pipeline-Depth "0";\n');
    assert.deepEqual(written((await planModule(aptPipelining, { apt_pipelining: 'os' })).actions), []);
    const bad = await planModule(aptPipelining, { apt_pipelining: true });
    assert.deepEqual(bad.actions, []);
    assert.match(bad.problems[0]!.message, /invalid apt_pipelining true/);
  });
});

describe('byobu', () => {
  const withByobu = (r: string) => { debianRoot(r); writeIn(r, 'usr/bin/byobu', '#!/bin/sh\n', 0o755); };
  const user = { users: ['default'], system_info: { default_user: { name: 'admin' } } };

  test('enable-user: the launcher as the default user, then the system default in debconf and dpkg-reconfigure', async () => {
    const p = await planModule(byobu, { ...user, byobu_by_default: 'enable-user' }, { prep: withByobu });
    assert.deepEqual(runs(p.actions), ['sudo -Hu admin byobu-launcher-install', 'debconf-set-selections', 'dpkg-reconfigure byobu --frontend=noninteractive']);
    const debconf = p.actions.find((a) => a.kind === 'run' && a.argv[0] === 'debconf-set-selections') as RunAction;
    assert.equal(debconf.input, 'byobu byobu/launch-by-default boolean true\n');
  });

  test('byobu missing: installed from apt first; without apt-get nothing is done; a default user that is an option is refused', async () => {
    const p = await planModule(byobu, { ...user, byobu_by_default: 'disable-user' }, { prep: debianRoot });
    assert.deepEqual(runs(p.actions), ['apt-get --assume-yes --quiet update', 'apt-cache pkgnames', 'sudo -Hu admin byobu-launcher-uninstall']);
    const none = await planModule(byobu, { ...user, byobu_by_default: 'enable' });
    assert.deepEqual(none.actions, []);
    assert.match(none.problems[0]!.message, /apt-get not found under the root/);
    const bad = await planModule(byobu, { users: ['default'], system_info: { default_user: { name: '-oProxyCommand=x' } }, byobu_by_default: 'enable-user' }, { prep: withByobu });
    assert.deepEqual(runs(bad.actions), ['debconf-set-selections', 'dpkg-reconfigure byobu --frontend=noninteractive']);
    assert.match(bad.problems[0]!.message, /the default user/);
  });
});

describe('rsyslog', () => {
  test('each file under /etc/rsyslog.d (0644, parents 0755), then the reload, for the running system only, a failure a warning', async () => {
    const p = await planModule(rsyslog, { rsyslog: { configs: ['*.* @@192.0.2.1', { content: 'local0.* /var/log/app.log', filename: '10-app.conf' }], remotes: { c: '@@[fd00::1]:514', bad: 'a b c' } } });
    assert.deepEqual(written(p.actions), ['/etc/rsyslog.d/20-cloud-config.conf 644', '/etc/rsyslog.d/10-app.conf 644']);
    assert.equal(contentOf(p.actions, '/etc/rsyslog.d/20-cloud-config.conf'), '*.* @@192.0.2.1\n# begin remotes\n*.* @@[fd00::1]:514 # c\n# end remotes\n');
    const reload = p.actions.at(-1) as RunAction;
    assert.deepEqual([reload.argv, reload.runningSystem, reload.failure], [['service', 'rsyslog', 'restart'], 'optional', 'warning']);
    assert.deepEqual(p.problems.map((d) => d.level), ['warning'], 'the bad remote');
  });

  test('install_rsyslog: a package that would be an apt-get option is left out, the rest installed before the files', async () => {
    const p = await planModule(rsyslog, { rsyslog: { install_rsyslog: true, packages: ['rsyslog', '-oAPT::x=1'], configs: ['*.* @h'] } }, { prep: debianRoot });
    assert.deepEqual(runs(p.actions).slice(0, 2), ['apt-get --assume-yes --quiet update', 'apt-cache pkgnames']);
    const pkgnames = p.actions.find((a) => a.kind === 'run' && a.argv[0] === 'apt-cache') as RunAction;
    assert.deepEqual(runs(pkgnames.then!({ ...ok, stdout: 'rsyslog\n' })), ['apt-get --assume-yes --quiet install rsyslog']);
    assert.match(p.problems[0]!.message, /^rsyslog\.packages\[1\]: '-oAPT::x=1': expected a Debian package name.*; left out$/);
    const bad = await planModule(rsyslog, { rsyslog: { configs: 'x' } });
    assert.deepEqual(bad.actions, []);
    assert.match(bad.problems[0]!.message, /rsyslog\.configs: invalid type/);
  });
});
