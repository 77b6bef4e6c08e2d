// Unit tables for the system modules as actions (hostname, /etc/hosts, ntp,
// locale, keyboard, write_files, phone_home, grub_dpkg,
// disable_ec2_metadata, install_hotplug, not_applicable): config in, the
// actions `plan` prints and boot applies out, each bad entry reported with
// its key path. Nothing is applied here (test/helpers/module-actions.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Action, RunAction } from '../../src/host/actions.ts';
import type { RunResult } from '../../src/host/run.ts';
import { disableEc2Metadata } from '../../src/modules/disable_ec2_metadata.ts';
import { grubDpkg } from '../../src/modules/grub_dpkg.ts';
import { installHotplug } from '../../src/modules/install_hotplug.ts';
import { keyboard } from '../../src/modules/keyboard.ts';
import { locale } from '../../src/modules/locale.ts';
import { notApplicableKeys } from '../../src/modules/not_applicable.ts';
import { plantTools, writeIn } from '../helpers/files.ts';
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
