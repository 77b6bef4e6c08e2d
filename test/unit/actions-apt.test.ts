// Unit: the apt group as tables, config in, actions out (test/helpers/module-actions.ts):
// apt_configure, package_update_upgrade_install, apt_pipelining, byobu,
// rsyslog. What each test asserts is what a user would check in `plan`: which
// files are written where with which mode, which programs run in which
// order, what is refused (with its key path) and what still runs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Action, RunAction } from '../../src/host/actions.ts';
import type { RunResult } from '../../src/host/run.ts';
import { aptPipelining } from '../../src/modules/apt_pipelining.ts';
import { byobu } from '../../src/modules/byobu.ts';
import { rsyslog } from '../../src/modules/rsyslog.ts';
import { writeIn } from '../helpers/files.ts';
import { planModule } from '../helpers/module-actions.ts';

const ok: RunResult = { code: 0, signal: null, timedOut: false, stdout: '', stderr: '' };

/** A Debian root as far as apt's modules look: apt-get, debconf, os-release, dpkg's status. */
function debianRoot(root: string): void {
  for (const p of ['usr/bin/apt-get', 'usr/bin/debconf-set-selections']) writeIn(root, p, '#!/bin/sh\n', 0o755);
  writeIn(root, 'etc/os-release', 'ID=debian\nVERSION_CODENAME=bookworm\n');
  writeIn(root, 'var/lib/dpkg/status', 'Package: base-files\nStatus: install ok installed\nArchitecture: all\n\nPackage: dpkg\nStatus: install ok installed\nArchitecture: arm64\nVersion: 1.21\n\n');
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
