// Unit tables for the system modules as actions (hostname, /etc/hosts, ntp,
// locale, keyboard, write_files, phone_home, grub_dpkg,
// disable_ec2_metadata, install_hotplug, not_applicable): config in, the
// actions `plan` prints and boot applies out, each bad entry reported with
// its key path. Nothing is applied here (test/helpers/module-actions.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Action, FetchAction, RunAction } from '../../src/host/actions.ts';
import { Context } from '../../src/context.ts';
import type { RunResult } from '../../src/host/run.ts';
import { silentLogger } from '../../src/log.ts';
import { VERSION } from '../../src/version.ts';
import type { ModuleRun } from '../../src/modules/module.ts';
import { moduleActions } from '../../src/modules/run-module.ts';
import { disableEc2Metadata } from '../../src/modules/disable_ec2_metadata.ts';
import { updateEtcHosts } from '../../src/modules/etc_hosts.ts';
import { grubDpkg } from '../../src/modules/grub_dpkg.ts';
import { setHostname, updateHostname } from '../../src/modules/hostname.ts';
import { installHotplug } from '../../src/modules/install_hotplug.ts';
import { keyboard } from '../../src/modules/keyboard.ts';
import { locale } from '../../src/modules/locale.ts';
import { phoneHome } from '../../src/modules/phone_home.ts';
import { ntp } from '../../src/modules/ntp.ts';
import { chef } from '../../src/modules/chef.ts';
import { usersGroups } from '../../src/modules/users_groups.ts';
import { makeHeader, rfc2822 } from '../../src/host/clock.ts';
import { notApplicableKeys } from '../../src/modules/not_applicable.ts';
import { writeFiles, writeFilesDeferred } from '../../src/modules/write_files.ts';
import { plantTools, tempDir, writeIn } from '../helpers/files.ts';
import { planModule } from '../helpers/module-actions.ts';

const text = (a: Action | undefined): string => {
  assert.ok(a && (a.kind === 'write' || a.kind === 'append'), `a write, found ${a?.kind}`);
  return typeof a.content === 'string' ? a.content : Buffer.from(a.content).toString();
};
const result = (code: number, stderr = '', stdout = ''): RunResult => ({ code, signal: null, timedOut: false, stdout, stderr });
const messages = (p: { problems: Array<{ level: string; message: string }> }) => p.problems.map((d) => `${d.level}: ${d.message}`);

test('keyboard: /etc/default/keyboard 0644, then console-setup restarted on the running system only; a bad value writes nothing', async () => {
  const p = await planModule(keyboard, { keyboard: { layout: 'de', variant: 'nodeadkeys' } });
  assert.equal(p.actions.length, 2);
  const [file, restart] = p.actions;
  assert.ok(file?.kind === 'write' && file.path === '/etc/default/keyboard' && file.mode === 0o644);
  assert.match(text(file), /^XKBLAYOUT="de"$/m);
  assert.ok(restart?.kind === 'run' && restart.runningSystem === 'optional');
  assert.deepEqual(restart.argv, ['service', 'console-setup', 'restart'], 'no systemd running in the root: service');
  const systemd = await planModule(keyboard, { keyboard: { layout: 'us' } }, { prep: (r) => writeIn(r, 'run/systemd/system/.keep', '') });
  assert.deepEqual((systemd.actions[1] as RunAction).argv, ['systemctl', 'restart', 'console-setup']);
  const bad = await planModule(keyboard, { keyboard: { layout: 'us"; reboot; "' } });
  assert.deepEqual(bad.lines, []);
  assert.match(messages(bad).join('\n'), /^error: keyboard\.layout: /);
});

test('disable_ec2_metadata: a prohibit route through ip (route where only net-tools is), on the running system; a route already there is no error', async () => {
  assert.deepEqual((await planModule(disableEc2Metadata, { disable_ec2_metadata: false })).lines, []);
  const ip = await planModule(disableEc2Metadata, { disable_ec2_metadata: true }, { prep: (r) => plantTools(r, ['ip', 'route']) });
  const run = ip.actions[0] as RunAction;
  assert.deepEqual(run.argv, ['/sbin/ip', 'route', 'add', 'prohibit', '169.254.169.254']);
  assert.equal(run.runningSystem, 'optional');
  assert.deepEqual(run.then!(result(2, 'RTNETLINK answers: File exists\n')).map((a) => a.kind), ['log']);
  const failed = run.then!(result(2, 'RTNETLINK answers: Operation not permitted\n'));
  assert.ok(failed[0]?.kind === 'report' && failed[0].level === 'error' && /Operation not permitted/.test(failed[0].message));
  const netTools = await planModule(disableEc2Metadata, { disable_ec2_metadata: true }, { prep: (r) => plantTools(r, ['route']) });
  assert.deepEqual((netTools.actions[0] as RunAction).argv, ['/sbin/route', 'add', '-host', '169.254.169.254', 'reject']);
  const none = await planModule(disableEc2Metadata, { disable_ec2_metadata: true });
  assert.deepEqual(none.lines, []);
  assert.match(messages(none).join('\n'), /^error: neither ip \(iproute2\) nor route \(net-tools\) is installed/);
});

test('install_hotplug: asked for, a warning and nothing done; an old rule is removed, udev reloaded on the running system when it has udevadm', async () => {
  const RULE = 'etc/udev/rules.d/90-cloud-init-hook-hotplug.rules';
  const asked = await planModule(installHotplug, { updates: { network: { when: ['hotplug'] } } }, { prep: (r) => writeIn(r, RULE, 'x\n') });
  assert.deepEqual(asked.lines, []);
  assert.match(messages(asked).join('\n'), /^warning: .*NOT be installed/);
  assert.deepEqual((await planModule(installHotplug, {})).lines, [], 'no rule: nothing to do');
  const old = await planModule(installHotplug, {}, { prep: (r) => { writeIn(r, RULE, 'x\n'); plantTools(r, ['udevadm']); } });
  assert.deepEqual(old.actions.map((a) => `${a.kind} ${a.runningSystem ?? ''}`.trim()), ['remove', 'run optional']);
  assert.equal((old.actions[0] as { path: string }).path, `/${RULE}`);
});

test('not_applicable: one log line per key a Debian image has no use for, nothing for the rest', async () => {
  const p = await planModule(notApplicableKeys, { snap: { commands: ['x'] }, runcmd: ['true'], ubuntu_pro: {} });
  assert.deepEqual(p.actions.map((a) => a.kind), ['log', 'log']);
  assert.match((p.actions[0] as { text: string }).text, /^module not_applicable: 'snap' \(cloud-init's cc_snap\) is not applicable on this image/);
  assert.deepEqual((await planModule(notApplicableKeys, { runcmd: ['true'] })).lines, []);
});

test('locale: its commented entry in /etc/locale.gen enabled, locale-gen run, LANG written keeping the other variables; bad or false: nothing', async () => {
  const prep = (r: string) => {
    plantTools(r, ['locale-gen']);
    writeIn(r, 'etc/locale.gen', '# de_DE.UTF-8 UTF-8\n# fr_FR.UTF-8 UTF-8\n');
    writeIn(r, 'etc/default/locale', 'LANG=C.UTF-8\nLC_TIME=en_GB.UTF-8\n');
  };
  const p = await planModule(locale, { locale: 'fr_FR.UTF-8' }, { prep });
  assert.deepEqual(p.actions.map((a) => `${a.kind} ${a.kind === 'run' ? a.argv[0] : (a as { path: string }).path}`),
    ['write /etc/locale.gen', 'run /sbin/locale-gen', 'write /etc/default/locale']);
  assert.equal(text(p.actions[0]), '# de_DE.UTF-8 UTF-8\nfr_FR.UTF-8 UTF-8\n');
  assert.equal(text(p.actions[2]), 'LANG=fr_FR.UTF-8\nLC_TIME=en_GB.UTF-8\n');
  // A failed locale-gen skips only its unit: LANG is still written.
  assert.equal(p.actions[0]!.unit, p.actions[1]!.unit);
  assert.equal(p.actions[2]!.unit, undefined);
  const other = await planModule(locale, { locale: 'fr_CA', locale_configfile: '/etc/alternate_path/locale' });
  assert.deepEqual(other.lines.map((l) => l.split(' ').slice(0, 3).join(' ')), ['write /etc/alternate_path/locale 0644']);
  assert.match(messages(other).join('\n'), /^warning: locale-gen not found under the root/);
  const same = await planModule(locale, { locale: 'c.utf-8' }, { prep });
  assert.deepEqual(same.lines, [], 'the system already has it');
  assert.deepEqual((await planModule(locale, { locale: false })).lines, []);
  const bad = await planModule(locale, { locale: 'en_US.UTF-8\nLC_ALL=x' });
  assert.deepEqual(bad.lines, []);
  assert.match(messages(bad).join('\n'), /^error: locale: invalid locale/);
});

test('grub_dpkg: off unless enabled; the answers go to the root\'s debconf-set-selections, the device of this boot mode checked; nothing probed under --root', async () => {
  const tools = (r: string) => plantTools(r, ['debconf-set-selections']);
  assert.deepEqual((await planModule(grubDpkg, { grub_dpkg: { 'grub-pc/install_devices': '/dev/sda' } }, { prep: tools })).lines, []);
  const pc = await planModule(grubDpkg, { grub_dpkg: { enabled: true, 'grub-pc/install_devices': '/dev/sda' } }, { prep: tools });
  const run = pc.actions[0] as RunAction;
  assert.deepEqual(run.argv, ['debconf-set-selections']);
  assert.equal(run.input, 'grub-pc grub-pc/install_devices string /dev/sda\ngrub-pc grub-pc/install_devices_empty boolean false\n');
  const probed = await planModule(grubDpkg, { grub_dpkg: { enabled: true } }, { prep: tools });
  assert.equal((probed.actions[0] as RunAction).input, 'grub-pc grub-pc/install_devices string \ngrub-pc grub-pc/install_devices_empty boolean true\n');
  assert.equal(probed.unknown, false, 'under --root nothing is probed: plan knows the answer');
  // On an EFI boot only the grub-efi device counts: a bad grub-pc one does not matter there.
  const efi = await planModule(grubDpkg, { grub_dpkg: { enabled: true, 'grub-efi/install_devices': '/dev/vda1', 'grub-pc/install_devices': 'a\nb' } },
    { prep: (r) => { tools(r); writeIn(r, 'sys/firmware/efi/.keep', ''); } });
  assert.equal((efi.actions[0] as RunAction).input, 'grub-pc grub-efi/install_devices string /dev/vda1\n');
  assert.deepEqual(efi.problems, []);
  const bad = await planModule(grubDpkg, { grub_dpkg: { enabled: true, 'grub-pc/install_devices': '/dev/sda\ngrub-pc x' } }, { prep: tools });
  assert.deepEqual(bad.lines, []);
  assert.match(messages(bad).join('\n'), /^error: grub_dpkg\.grub-pc\/install_devices: /);
  const none = await planModule(grubDpkg, { grub_dpkg: { enabled: true, 'grub-pc/install_devices': '/dev/sda' } });
  assert.match(messages(none).join('\n'), /^error: debconf-set-selections not found under the root/);
});

const WEB1 = { localHostname: 'web1.example.org' };

test('set_hostname: /etc/hostname (comments kept), `hostname` on the running system only, then what it set; preserve_hostname and a bad name: nothing', async () => {
  const p = await planModule(setHostname, {}, { source: WEB1, prep: (r) => writeIn(r, 'etc/hostname', '# the image\nbuilder\n') });
  assert.deepEqual(p.actions.map((a) => `${a.kind} ${a.kind === 'run' ? a.argv.join(' ') : (a as { path: string }).path}`),
    ['write /etc/hostname', 'run hostname web1', 'write /var/lib/cloud/data/set-hostname']);
  assert.equal(text(p.actions[0]), '# the image\nweb1\n');
  assert.equal(p.actions[0]!.kind === 'write' && p.actions[0].mode, 0o644);
  assert.equal(p.actions[1]!.runningSystem, 'optional');
  assert.deepEqual(JSON.parse(text(p.actions[2])), { hostname: 'web1', fqdn: 'web1.example.org' });
  const fqdn = await planModule(setHostname, { hostname: 'myhost', fqdn: 'myhost.example.com', prefer_fqdn_over_hostname: true });
  assert.equal(text(fqdn.actions[0]), 'myhost.example.com\n');
  assert.deepEqual((await planModule(setHostname, { preserve_hostname: true, hostname: 'x' })).lines, []);
  const noFile = await planModule(setHostname, { create_hostname_file: false, hostname: 'nofile' });
  assert.deepEqual(noFile.actions.map((a) => a.kind), ['run', 'write'], 'no /etc/hostname made; the name is still applied and recorded');
  const bad = await planModule(setHostname, {}, { source: { localHostname: 'web1\n6.6.6.6 bank.example.com' } });
  assert.deepEqual(bad.lines, []);
  assert.match(messages(bad).join('\n'), /^error: meta-data local-hostname: .* has a newline/);
});

test('set_hostname: `hostname` refused is a warning, then the UTS name is tried; the boot goes on', async () => {
  const run = (await planModule(setHostname, { hostname: 'web1' })).actions[1] as RunAction;
  assert.deepEqual(run.argv, ['hostname', 'web1']);
  assert.deepEqual(run.then!(result(0)), []);
  const next = run.then!(result(1, 'hostname: you must be root to change the host name\n'));
  assert.ok(next[0]?.kind === 'report' && next[0].level === 'warning' && /must be root/.test(next[0].message));
  assert.ok(next[1]?.kind === 'run' && next[1].argv.at(-1) === 'web1' && next[1].argv[2] === 'printf %s "$1" > /proc/sys/kernel/hostname');
});

test('update_hostname: follows a new name, but a hostname the user changed wins; after set_hostname on the same boot, plan reads what it will write', async () => {
  const prep = (hostname: string, previous: string) => (r: string) => { writeIn(r, 'etc/hostname', hostname); writeIn(r, 'var/lib/cloud/data/previous-hostname', previous); };
  const follows = await planModule(updateHostname, {}, { source: { localHostname: 'web2.example.org' }, prep: prep('web1\n', 'web1\n') });
  assert.deepEqual(follows.actions.map((a) => `${a.kind} ${a.kind === 'run' ? a.argv.join(' ') : (a as { path: string }).path}`),
    ['write /var/lib/cloud/data/previous-hostname', 'write /etc/hostname', 'run hostname web2']);
  const theirs = await planModule(updateHostname, {}, { source: { localHostname: 'web3.example.org' }, prep: prep('mine\n', 'web2\n') });
  assert.deepEqual(theirs.actions.map((a) => (a as { path: string }).path), ['/var/lib/cloud/data/previous-hostname']);
  // The first boot: the plan is made before set_hostname writes /etc/hostname.
  const alone = await planModule(updateHostname, {}, { source: WEB1 });
  assert.deepEqual(alone.actions.map((a) => a.kind), ['write', 'write', 'run'], 'on its own, the missing /etc/hostname is written');
  const ctx = new Context(tempDir('ec2-init-actions-'), silentLogger);
  const run = { ctx, instanceId: 'iid-1', source: { ...WEB1, publicKeys: [], metaData: {} } as unknown as ModuleRun['source'], config: {}, where: 'module x' };
  // What plan hands on (plan/index.ts): the files set_hostname's actions write.
  const written = (await moduleActions(setHostname, run, true)).actions.flatMap((a) => (a.kind === 'write' ? [a.path] : []));
  assert.deepEqual(written, ['/etc/hostname', '/var/lib/cloud/data/set-hostname']);
  const after = await moduleActions(updateHostname, { ...run, plannedFiles: written }, true);
  assert.deepEqual(after!.actions.map((a) => (a as { path: string }).path), ['/var/lib/cloud/data/previous-hostname'],
    'as the boot will find it: /etc/hostname already names web1, only previous-hostname is new');
});

test('update_etc_hosts: true renders the template; localhost adds the 127.0.1.1 line once; a new file\'s header is dated when written', async () => {
  const t = await planModule(updateEtcHosts, { manage_etc_hosts: true, fqdn: 'app.example.net' });
  assert.equal(t.actions.length, 1);
  assert.match(text(t.actions[0]), /^127\.0\.1\.1 app\.example\.net app$/m);
  const keep = await planModule(updateEtcHosts, { manage_etc_hosts: 'localhost' }, { source: WEB1, prep: (r) => writeIn(r, 'etc/hosts', '10.0.0.1 db\n') });
  assert.equal(text(keep.actions[0]), '10.0.0.1\tdb\n127.0.1.1\tweb1.example.org\tweb1\n\n');
  assert.equal(keep.unknown, false);
  const already = await planModule(updateEtcHosts, { manage_etc_hosts: 'localhost' }, { source: WEB1, prep: (r) => writeIn(r, 'etc/hosts', '127.0.1.1 web1.example.org web1\n') });
  assert.deepEqual(already.lines, []);
  // A new file: its header gets the time of writing when applied, so plan and boot have one digest.
  const fresh = await planModule(updateEtcHosts, { manage_etc_hosts: 'localhost' }, { source: WEB1 });
  const made = fresh.actions[0]!;
  assert.ok(made.kind === 'write' && made.stampAt !== undefined);
  assert.equal(text(made).slice(0, made.stampAt), `# Added by ec2-init v. ${VERSION} on `);
  assert.equal(text(made).slice(made.stampAt), '\n127.0.1.1\tweb1.example.org\tweb1\n\n');
  assert.equal(fresh.unknown, false);
  assert.deepEqual((await planModule(updateEtcHosts, { manage_etc_hosts: false })).lines, []);
  const old = await planModule(updateEtcHosts, { manage_etc_hosts: 'template' });
  assert.match(messages(old).join('\n'), /^warning: manage_etc_hosts: 'template' is deprecated/);
  assert.equal(old.actions.length, 1);
});

test("make_header: the files ec2-init heads (a new /etc/hosts, sudoers, chef's client.rb) share one header helper; with the applier's time it reads as cloud-init's", async () => {
  const headed = (a: Action | undefined) => {
    assert.ok(a?.kind === 'write' && a.stampAt !== undefined, `no stamped write: ${a?.kind}`);
    return text(a).slice(0, a.stampAt);
  };
  const hosts = await planModule(updateEtcHosts, { manage_etc_hosts: 'localhost' }, { source: { hostname: 'web1', metaData: {} } as never });
  assert.equal(headed(hosts.actions[0]), makeHeader('Added'));
  const sudo = await planModule(usersGroups, { users: [{ name: 'debian', sudo: 'ALL=(ALL) ALL' }] }, { prep: (r) => writeIn(r, 'etc/sudoers', '#includedir /etc/sudoers.d\n', 0o440) });
  assert.equal(headed(sudo.actions.find((a) => a.kind === 'write' && a.path === '/etc/sudoers.d/90-cloud-init-users')), makeHeader('Created'));
  const chefRun = await planModule(chef, { chef: { server_url: 'https://chef.example' } }, { prep: (r) => writeIn(r, 'usr/bin/chef-client', '#!/bin/sh\n', 0o755) });
  assert.equal(headed(chefRun.actions.find((a) => a.kind === 'write' && a.path === '/etc/chef/client.rb')), makeHeader('Created'));
  assert.equal(`${makeHeader('Created')}${rfc2822(new Date(Date.UTC(2026, 11, 7, 9, 5, 3)))}`, `# Created by ec2-init v. ${VERSION} on Mon, 07 Dec 2026 09:05:03 +0000`);
});

test('ntp: the chosen client\'s config from its template (the old one kept as .dist), the missing client installed as one unit, its service restarted on the running system only', async () => {
  const prep = (r: string) => { plantTools(r, ['apt-get']); writeIn(r, 'etc/chrony/chrony.conf', 'pool 2.debian.pool.ntp.org iburst\n'); };
  const p = await planModule(ntp, { ntp: { ntp_client: 'chrony', servers: ['ntp1.example.org', 'bad host\nserver evil'], allow: ['10.0.0.0/8'] } }, { prep });
  assert.deepEqual(p.actions.map((a) => `${a.kind} ${a.kind === 'run' ? `${a.argv[0]} ${a.argv.at(-1)}` : (a as { path: string }).path}${a.unit ? ` [${a.unit}]` : ''}`), [
    'write /etc/chrony/chrony.conf.dist', 'write /etc/chrony/chrony.conf',
    // cloud-init's install_packages: apt-get update once per instance, then the install of what apt knows.
    'run apt-get update [install]', 'mark /var/lib/cloud/instances/iid-table-1/sem/update-sources [install]', 'run apt-cache pkgnames [install]',
    'run service restart',
  ]);
  const install = (p.actions[4] as RunAction).then!(result(0, '', 'chrony\nntp\n'));
  assert.ok(install[0]?.kind === 'run' && install[0].argv[0] === 'apt-get' && install[0].argv.at(-1) === 'chrony');
  assert.equal(text(p.actions[0]), 'pool 2.debian.pool.ntp.org iburst\n');
  const conf = text(p.actions[1]);
  assert.match(conf, /^server ntp1\.example\.org iburst$/m);
  assert.match(conf, /^allow 10\.0\.0\.0\/8$/m);
  assert.doesNotMatch(conf, /evil/);
  assert.match(messages(p).join('\n'), /^error: ntp\.servers\[1\]: .*; left out$/m);
  assert.equal(p.actions.at(-1)!.runningSystem, 'optional');
  // Installed already: no apt-get; no apt-get either: the config is written, the error says why nothing is installed.
  const installed = await planModule(ntp, { ntp: { ntp_client: 'chrony' } }, { prep: (r) => plantTools(r, ['chronyd']) });
  assert.deepEqual(installed.actions.map((a) => a.kind), ['write', 'run']);
  assert.match(text(installed.actions[0]), /^pool 0\.debian\.pool\.ntp\.org iburst$/m);
  const noApt = await planModule(ntp, { ntp: { ntp_client: 'chrony' } });
  assert.deepEqual(noApt.actions.map((a) => a.kind), ['write']);
  assert.match(messages(noApt).join('\n'), /^error: chronyd is not installed and there is no apt-get under the root/);
});

test("ntp: its client is reloaded as cloud-init's manage_service('reload') does: systemctl reload-or-restart where systemd runs or an image has it, else service … restart", async () => {
  const reload = async (prep: (r: string) => void) => {
    const p = await planModule(ntp, { ntp: { ntp_client: 'chrony' } }, { prep: (r) => { plantTools(r, ['chronyd']); prep(r); } });
    return p.actions.filter((a): a is RunAction => a.kind === 'run').map((a) => [a.argv.join(' '), a.runningSystem]);
  };
  assert.deepEqual(await reload((r) => mkdirSync(join(r, 'run/systemd/system'), { recursive: true })), [['systemctl reload-or-restart chrony', 'optional']]);
  // An image under --root: its first boot runs systemd, as serviceActions reads it.
  assert.deepEqual(await reload((r) => writeIn(r, 'usr/lib/systemd/systemd', '', 0o755)), [['systemctl reload-or-restart chrony', 'optional']]);
  assert.deepEqual(await reload(() => {}), [['service chrony restart', 'optional']]);
});

test('ntp: config overrides that land in a path, apt-get or systemctl pass their validators: a bad one is refused by its key, nothing written or run', async () => {
  const bad: Record<string, unknown> = {
    confpath: '/etc/chrony/../cron.d/evil', packages: ['chrony', '-oAPT::Get::AllowUnauthenticated=1'], service_name: '--all', template_name: '../../../root/secret',
  };
  for (const [key, value] of Object.entries(bad)) {
    const p = await planModule(ntp, { ntp: { ntp_client: 'chrony', config: { [key]: value } } }, { prep: (r) => plantTools(r, ['chronyd', 'apt-get']) });
    assert.deepEqual(p.actions, [], key);
    assert.match(messages(p).join('\n'), new RegExp(`^error: invalid ntp configuration: ntp:config:${key}: `, 'm'), key);
  }
});

test('ntp: a bad config.check_exe (only looked up, to tell whether the client is installed) is an error naming it; the client\'s own is looked for instead and the rest goes on', async () => {
  for (const value of ['-oEvil', '../../usr/bin/true', '/usr/sbin/../../etc/shadow', 'a b', true, ['chronyd']]) {
    const p = await planModule(ntp, { ntp: { ntp_client: 'chrony', servers: ['ntp.example.org'], config: { check_exe: value } } }, { prep: (r) => plantTools(r, ['chronyd']) });
    // chronyd is there: nothing installed, the config written and the service reloaded, as with no override.
    assert.deepEqual(p.actions.map((a) => a.kind), ['write', 'run'], String(value));
    assert.match(text(p.actions[0]), /^server ntp\.example\.org iburst$/m);
    const problems = messages(p);
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /^error: ntp:config:check_exe: .*\(give the program the client's package installs, e\.g\. chronyd or \/usr\/sbin\/ntpd\); the client's own chronyd is looked for instead$/);
  }
  // A good one is what is looked for: an absolute path to a program there means installed.
  const own = await planModule(ntp, { ntp: { ntp_client: 'chrony', config: { check_exe: '/sbin/my-chronyd' } } }, { prep: (r) => plantTools(r, ['my-chronyd', 'apt-get']) });
  assert.deepEqual(own.actions.map((a) => a.kind), ['write', 'run']);
  assert.deepEqual(messages(own), []);
  // A client of the user's own has no check_exe to fall back on: the bad one is left out, and the module says it is missing.
  const mine = await planModule(ntp, { ntp: { ntp_client: 'mine', config: { check_exe: '-x', confpath: '/etc/mine.conf', packages: [], service_name: 'mine', template: 'x' } } });
  assert.deepEqual(mine.actions, []);
  assert.deepEqual(messages(mine).map((m) => m.replace(/:.*/, '')), ['error', 'error']);
  assert.match(messages(mine).join('\n'), /ntp:config:check_exe: '-x'.*\n.*missing required ntp:config keys: check_exe$/);
});

test('ntp: enabled false does nothing; a client of one\'s own without its settings is a clear error, nothing written', async () => {
  assert.deepEqual((await planModule(ntp, { ntp: { enabled: false, servers: ['x'] } })).lines, []);
  const bad = await planModule(ntp, { ntp: { ntp_client: 'mine', config: { confpath: '/etc/mine.conf' } } });
  assert.deepEqual(bad.lines, []);
  assert.match(messages(bad).join('\n'), /missing required ntp:config keys: check_exe, packages, service_name/);
  const list = await planModule(ntp, { ntp: ['pool.example.org'] });
  assert.match(messages(list).join('\n'), /^error: ntp: must be a mapping, found a list/);
});

test('write_files: each entry its write or append with mode and owner (its missing parents too); a bad entry is reported by index and path and left out, the rest kept', async () => {
  const prep = (r: string) => { writeIn(r, 'etc/passwd', 'root:x:0:0::/root:/bin/sh\napp:x:1234:1234::/home/app:/bin/sh\n'); writeIn(r, 'etc/group', 'root:x:0:\nstaff:x:50:\n'); };
  const p = await planModule(writeFiles, { write_files: [
    { path: '/opt/app/conf/a', content: 'a\n', owner: 'app:staff', permissions: '0640' },
    { path: '/etc/b', content: 'aGVsbG8=', encoding: 'b64', append: true },
    { path: 'relative', content: 'x' },
    { path: '/srv/c', content: 'c', owner: 'nosuchuser' },
    { path: '/srv/d', content: 'd', permissions: 'rw-r--r--' },
    { path: '/srv/later', content: 'l', defer: true },
    { path: '/srv/e' },
  ] }, { prep });
  assert.deepEqual(p.actions.map((a) => `${a.kind} ${(a as { path: string }).path} ${a.unit}`),
    ['write /opt/app/conf/a entry 1 (/opt/app/conf/a)', 'append /etc/b entry 2 (/etc/b)', 'write /srv/e entry 6 (/srv/e)']);
  const a = p.actions[0]!;
  assert.ok(a.kind === 'write' && a.mode === 0o640 && a.uid === 1234 && a.gid === 50);
  assert.deepEqual(a.parents, { mode: 0o755, uid: 1234, gid: 50 }, 'new parent directories are the owner\'s');
  assert.equal(text(p.actions[1]), 'hello');
  assert.equal(text(p.actions[2]), '', 'no content: an empty file');
  const problems = messages(p);
  assert.equal(problems.length, 3);
  assert.match(problems[0]!, /^error: entry 3 \(relative\): 'path': .*not an absolute path/);
  assert.match(problems[1]!, /^error: entry 5 \(\/srv\/d\): invalid permissions "rw-r--r--"/);
  assert.match(problems[2]!, /^error: entry 4 \(\/srv\/c\): unknown user 'nosuchuser'/);
  const later = await planModule(writeFilesDeferred, { write_files: [{ path: '/srv/now', content: 'n' }, { path: '/srv/later', content: 'l', defer: true, owner: 'newuser' }] }, { prep });
  assert.deepEqual(later.actions.map((a) => (a as { path: string }).path), ['/srv/later']);
  assert.equal(later.unknown, true, 'its owner is created on this boot, after plan: plan says it cannot know');
  assert.deepEqual(later.problems, []);
  const notList = await planModule(writeFiles, { write_files: 'x' });
  assert.match(messages(notList).join('\n'), /^error: write_files: expected a list of files, found string$/);
});

test('write_files: a source is a fetch; its body is written, else the content with a warning, else nothing', async () => {
  const p = await planModule(writeFiles, { write_files: [
    { path: '/etc/from-http', source: { uri: 'https://conf.example/c?token=s3cret', headers: { Authorization: 'Bearer t0ken' } }, permissions: '0600' },
    { path: '/etc/fallback', source: { uri: 'http://conf.example/missing' }, content: 'the fallback\n' },
    { path: '/etc/nothing', source: { uri: 'http://conf.example/missing' } },
    { path: '/etc/bad-header', source: { uri: 'http://conf.example/x', headers: { 'X-A': 'a\r\nX-Injected: 1' } } },
  ] }, { prep: (r) => { writeIn(r, 'etc/passwd', 'root:x:0:0::/root:/bin/sh\n'); writeIn(r, 'etc/group', 'root:x:0:\n'); } });
  assert.deepEqual(p.actions.map((a) => a.kind), ['fetch', 'fetch', 'fetch']);
  assert.match(messages(p).join('\n'), /^error: entry 4 \(\/etc\/bad-header\): 'source\.headers\.X-A' has /);
  const [http, fallback, nothing] = p.actions as FetchAction[];
  assert.deepEqual(http!.headers, { Authorization: 'Bearer t0ken' });
  assert.equal(p.values[0]!.target, 'https://conf.example/c', 'the line never shows the query');
  assert.ok(!p.lines[0]!.includes('t0ken') && !p.lines[0]!.includes('s3cret'));
  const body = http!.then!({ body: new TextEncoder().encode('from the server\n') });
  assert.ok(body[0]?.kind === 'write' && body[0].mode === 0o600 && text(body[0]) === 'from the server\n');
  const fell = fallback!.then!({ error: 'HTTP status 404' });
  assert.ok(fell[0]?.kind === 'report' && fell[0].level === 'warning');
  assert.match(fell[0].message, /^entry 2 \(\/etc\/fallback\): could not read http:\/\/conf\.example\/missing: HTTP status 404; wrote the entry's content instead$/);
  assert.equal(text(fell[1]), 'the fallback\n');
  const none = nothing!.then!({ error: 'HTTP status 404' });
  assert.equal(none.length, 1);
  assert.match((none[0] as { message: string }).message, /no content to fall back to: not written$/);
});

test('phone_home: one form POST to the url ($INSTANCE_ID put in), tried `tries` times; the form built from the datasource\'s names and the host keys', async () => {
  const prep = (r: string) => writeIn(r, 'etc/ssh/ssh_host_ed25519_key.pub', 'ssh-ed25519 AAAAed root@image\n');
  const p = await planModule(phoneHome, { phone_home: { url: 'http://10.0.0.1/hello/$INSTANCE_ID/?k=s3cret', post: ['pub_key_ed25519', 'instance_id', 'hostname', 'fqdn'], tries: 3 } },
    { prep, source: WEB1, instanceId: 'iid-ph-1' });
  const post = p.actions[0] as FetchAction;
  assert.equal(p.actions.length, 1);
  assert.equal(post.method, 'POST');
  assert.equal(post.url, 'http://10.0.0.1/hello/iid-ph-1/?k=s3cret');
  assert.equal(post.retries, 2);
  assert.deepEqual(post.headers, { 'Content-Type': 'application/x-www-form-urlencoded' });
  assert.deepEqual(Object.fromEntries(new URLSearchParams(post.body)),
    { pub_key_ed25519: 'ssh-ed25519 AAAAed root@image\n', instance_id: 'iid-ph-1', hostname: 'web1', fqdn: 'web1.example.org' });
  assert.ok(!p.lines[0]!.includes('s3cret'));
  assert.equal(p.unknown, false);
  const failed = post.then!({ error: 'HTTP 500 after 3 attempt(s)' });
  assert.ok(failed[0]?.kind === 'report' && failed[0].level === 'warning');
  assert.equal(failed[0].message, 'failed to post to http://10.0.0.1/hello/iid-ph-1/ in 3 tries: HTTP 500 after 3 attempt(s)');
  // A host key not made yet when plan looks (stage init's ssh makes it): plan says it cannot know the form.
  const early = await planModule(phoneHome, { phone_home: { url: 'http://10.0.0.1/' } }, { prep });
  assert.equal(early.unknown, true);
  const bad = await planModule(phoneHome, { phone_home: { url: 'ftp://10.0.0.1/', tries: 'many' } });
  assert.deepEqual(bad.lines, []);
  assert.deepEqual(messages(bad), ['warning: phone_home.tries is not a positive integer: using 10', 'error: phone_home.url: unsupported url scheme ftp: (http or https)']);
  assert.match(messages(await planModule(phoneHome, { phone_home: { post: 'all' } })).join(), /no 'url' in phone_home: nothing posted/);
});
