// Unit: the modules of the boot's edges as actions (config in, actions out,
// nothing applied): bootcmd, the scripts modules with their own semaphores,
// final_message, power_state's detached waiter, and the disk modules
// (growpart, resize_rootfs, mounts, disk_setup, lvm), whose facts about the
// machine's disks are only known on the running system.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Action, RunAction } from '../../src/host/actions.ts';
import type { RunResult } from '../../src/host/run.ts';
import { Files } from '../../src/host/files.ts';
import { silentLogger } from '../../src/log.ts';
import type { ActionRun } from '../../src/modules/module.ts';
import { bootcmd } from '../../src/modules/bootcmd.ts';
import { diskSetup, formatActions } from '../../src/modules/disk_setup.ts';
import { finalMessage } from '../../src/modules/final_message.ts';
import { growpart } from '../../src/modules/growpart.ts';
import { lvm } from '../../src/modules/lvm.ts';
import { mounts } from '../../src/modules/mounts.ts';
import { powerState } from '../../src/modules/power_state.ts';
import { resizeRootfs } from '../../src/modules/resize_rootfs.ts';
import { scriptsPerBoot, scriptsPerInstance } from '../../src/modules/scripts.ts';
import { VERSION } from '../../src/version.ts';
import { tempDir, writeIn } from '../helpers/files.ts';
import { planModule } from '../helpers/module-actions.ts';

const IID = 'iid-table-1';
const noDigest = (lines: string[]) => lines.map((l) => l.replace(/(\d+ B )?sha256:\w+/, (_, b: string | undefined) => `${b ? 'N B ' : ''}sha256:…`));
const result = (code: number): RunResult => ({ code, signal: null, timedOut: false, stdout: '', stderr: '' });
const asRun = (a: Action | undefined): RunAction => { assert.equal(a?.kind, 'run'); return a as RunAction; };

test('bootcmd: the commands become a 0700 script of the instance, run by /bin/sh with INSTANCE_ID; a bad entry: nothing runs', async () => {
  const p = await planModule(bootcmd, { bootcmd: ['echo hi > /x', ['touch', 'a b']] });
  assert.deepEqual(p.actions.map((a) => a.kind), ['write', 'run']);
  const [write, run] = p.actions;
  assert.ok(write!.kind === 'write');
  assert.equal(write.path, `/var/lib/cloud/instances/${IID}/bootcmd`);
  assert.equal(write.mode, 0o700);
  assert.equal(write.content, "#!/bin/sh\necho hi > /x\ntouch 'a b'\n");
  assert.deepEqual(asRun(run).argv, ['/bin/sh', write.path]);
  assert.deepEqual(asRun(run).env, { INSTANCE_ID: IID });
  assert.equal(p.unknown, false);

  const bad = await planModule(bootcmd, { bootcmd: ['true', { run: 'x' }] });
  assert.deepEqual(bad.actions, [], 'plan no longer announces commands the boot refuses');
  assert.match(bad.problems[0]!.message, /bootcmd: entry 2 is neither a string nor a list of words/);
});

test('scripts: each script not yet run is a unit of its own, then its semaphore whatever its exit; a failure is reported with its path', async () => {
  const prep = (root: string) => {
    writeIn(root, 'var/lib/cloud/scripts/per-instance/20-second', '#!/bin/sh\n', 0o755);
    writeIn(root, 'var/lib/cloud/scripts/per-instance/10-first', '#!/bin/sh\n', 0o755);
    writeIn(root, 'var/lib/cloud/scripts/per-instance/sub/inner', '#!/bin/sh\n', 0o755);
    writeIn(root, 'var/lib/cloud/scripts/per-instance/05-done', '#!/bin/sh\n', 0o755);
    writeIn(root, `var/lib/cloud/instances/${IID}/sem/script-per-instance-05-done`, 'x\n');
  };
  const p = await planModule(scriptsPerInstance, {}, { prep });
  const runs = p.actions.map(asRun);
  assert.deepEqual(runs.map((r) => r.argv[0]), ['/var/lib/cloud/scripts/per-instance/10-first', '/var/lib/cloud/scripts/per-instance/20-second'],
    'in name order; the one already run and the directory are left out');
  assert.deepEqual(runs.map((r) => r.unit), ['script 10-first', 'script 20-second']);
  assert.ok(runs.every((r) => r.logOutput && r.env?.['INSTANCE_ID'] === IID));

  const failed = runs[1]!.then!(result(3));
  assert.deepEqual(failed.map((a) => a.kind), ['mark', 'report'], 'the semaphore first: a failed script is not run again');
  assert.ok(failed[0]!.kind === 'mark' && failed[0].path === `/var/lib/cloud/instances/${IID}/sem/script-per-instance-20-second`);
  assert.ok(failed[1]!.kind === 'report' && failed[1].level === 'error');
  assert.match((failed[1] as { message: string }).message, /^\/var\/lib\/cloud\/scripts\/per-instance\/20-second: exit 3 \(output in /);
  assert.deepEqual(runs[0]!.then!(result(0)).map((a) => a.kind), ['log', 'mark']);

  // Per boot: no semaphore at all.
  const boot = await planModule(scriptsPerBoot, {}, { prep: (root) => writeIn(root, 'var/lib/cloud/scripts/per-boot/a', '#!/bin/sh\n', 0o755) });
  assert.deepEqual(asRun(boot.actions[0]).then!(result(0)).map((a) => a.kind), ['log']);
});

test('final_message: one log action; its time and uptime are the boot\'s, so plan says its line depends on the boot', async () => {
  const planned = await planModule(finalMessage, {});
  assert.equal(planned.unknown, true);
  assert.deepEqual(planned.actions.map((a) => a.kind), ['log']);
  const booted = await planModule(finalMessage, {}, { planning: false });
  assert.equal(booted.unknown, false);
  const text = (booted.actions[0] as { text: string }).text;
  assert.match(text, new RegExp(`^ec2-init v\\. ${VERSION.replace(/\./g, '\\.')} finished at \\w{3}, \\d\\d \\w{3} \\d{4} [\\d:]{8} \\+0000\\. Datasource DataSourceNoCloud\\. {2}Up [\\d.]+ seconds$`));
  const bad = await planModule(finalMessage, { final_message: '## template: jinja\n{% if %}' }, { planning: false });
  assert.equal((bad.actions[0] as { text: string }).text, '## template: jinja\n{% if %}');
  assert.match(bad.problems[0]!.message, /final_message is not a valid template .*: printed as it is/);
});

test('power_state: a detached waiter for the running system only, waiting for $EC2_INIT_PID; condition false: nothing; a bad mode: refused', async () => {
  const p = await planModule(powerState, { power_state: { mode: 'reboot', delay: '+2', message: 'Bye', timeout: 5 } });
  assert.deepEqual(noDigest(p.lines), [
    'detach sh sha256:… (after ec2-init exits: shutdown -r +2 Bye) [running system only]',
    'log log N B sha256:… [running system only]',
  ]);
  const detach = p.actions[0]!;
  assert.ok(detach.kind === 'detach');
  assert.equal(detach.argv[0], '/bin/sh');
  assert.match(detach.argv[2]!, /kill -0 "\$EC2_INIT_PID"/);
  assert.match(detach.argv[2]!, /exec shutdown -r \+2 Bye\n$/);
  assert.ok(!('EC2_INIT_PID' in detach.env), 'the pid is the applier\'s: plan and boot have the same digest');

  const no = await planModule(powerState, { power_state: { mode: 'poweroff', condition: false } });
  assert.deepEqual(no.actions.map((a) => a.kind), ['log']);
  assert.match((no.actions[0] as { text: string }).text, /condition is false: no shutdown -h -P now/);

  const bad = await planModule(powerState, { power_state: { mode: 'sleep' } });
  assert.deepEqual(bad.actions, []);
  assert.match(bad.problems[0]!.message, /mode is required, one of halt, poweroff, reboot; found 'sleep'/);
});

test('growpart and resize_rootfs: under --root each is left for the running system (not essential); off, disabled or false: nothing', async () => {
  const grow = await planModule(growpart, { growpart: { devices: ['/', '/srv'] } });
  assert.deepEqual(noDigest(grow.lines), [
    'log log N B sha256:… (left for the running system: growpart the partition of / (mode auto)) [running system only]',
    'log log N B sha256:… (left for the running system: growpart the partition of /srv (mode auto)) [running system only]',
  ]);
  assert.deepEqual((await planModule(growpart, { growpart: { mode: 'off' } })).actions, []);
  const disabled = await planModule(growpart, {}, { prep: (root) => writeIn(root, 'etc/growroot-disabled', '') });
  assert.deepEqual(noDigest(disabled.lines), ['log log N B sha256:… (disabled by /etc/growroot-disabled)']);
  assert.equal((await planModule(growpart, { growpart: { ignore_growroot_disabled: true } }, { prep: (root) => writeIn(root, 'etc/growroot-disabled', '') })).actions.length, 1);

  const resize = await planModule(resizeRootfs, {});
  assert.equal(resize.actions.length, 1);
  assert.equal(resize.values[0]!.runningSystem, 'optional');
  assert.match(resize.lines[0]!, /left for the running system: resize the root filesystem/);
  assert.deepEqual((await planModule(resizeRootfs, { resize_rootfs: false })).actions, []);
});

test('mounts: the swap file is made 0600 before any byte is in it; fstab follows from whether it was made; activation only on the running system', async () => {
  const p = await planModule(mounts, { mounts: [['srv:/export', '/mnt/nfs', 'nfs']], swap: { filename: '/var/swap.img', size: '8M' } });
  assert.deepEqual(p.actions.map((a) => a.kind), ['mkdir', 'write', 'run']);
  const [, file, dd] = p.actions;
  assert.ok(file!.kind === 'write' && file.path === '/var/swap.img' && file.mode === 0o600 && file.content === '');
  assert.deepEqual(asRun(dd).argv, ['dd', 'if=/dev/zero', 'of=/var/swap.img', 'bs=1M', 'count=8'], 'no fallocate in the root: dd');
  const mkswap = asRun(asRun(dd).then!(result(0)).find((a) => a.kind === 'run'));
  assert.deepEqual(mkswap.argv, ['mkswap', '/var/swap.img']);

  const made = mkswap.then!(result(0));
  const fstab = made.find((a) => a.kind === 'write');
  assert.ok(fstab?.kind === 'write' && fstab.path === '/etc/fstab' && fstab.mode === 0o644);
  assert.match(String(fstab.content), /^srv:\/export\t\/mnt\/nfs\tnfs\t[^\t]*,comment=cloudconfig\t0\t2\n\/var\/swap.img\tnone\tswap\tsw,comment=cloudconfig\t0\t0\n$/);
  assert.ok(made.some((a) => a.kind === 'mkdir' && a.path === '/mnt/nfs'));
  const activation = made.filter((a) => a.kind === 'run');
  assert.deepEqual(activation.map((a) => (a as RunAction).argv.join(' ')), ['swapon -a', 'mount -a']);
  assert.ok(activation.every((a) => a.runningSystem === 'optional'));

  // mkswap failed: the file goes, a warning, and fstab has no line for it.
  const failed = mkswap.then!(result(1));
  assert.deepEqual(failed.slice(0, 2).map((a) => a.kind), ['remove', 'report']);
  const without = failed.find((a) => a.kind === 'write');
  assert.ok(without?.kind === 'write' && !String(without.content).includes('swap.img'));

  const bad = await planModule(mounts, { mounts: '/dev/sdb /data' });
  assert.deepEqual(bad.actions, []);
  assert.match(bad.problems[0]!.message, /mounts: expected a list of entries/);
});

test('disk_setup: under --root each disk and filesystem is a note left for the running system, essential (the module is not marked done); bad entries are left out with their key', async () => {
  const p = await planModule(diskSetup, {
    device_aliases: { data: '/dev/sdb' },
    disk_setup: { data: { table_type: 'gpt', layout: [50, [50, 82]], overwrite: true }, '/dev/sdc': { table_type: 'xyz', layout: true }, '/dev/sdd': { layout: [20, 20, 20, 20, 20] } },
    fs_setup: [{ label: 'fs1', filesystem: 'ext4', device: 'data.1' }, { filesystem: 'ext4' }, { device: '/dev/sde', partition: 'first', filesystem: 'xfs' }],
  });
  assert.deepEqual(p.lines.map((l) => l.replace(/^log log \d+ B sha256:\w+ /, '')), [
    '(left for the running system: sfdisk --force /dev/sdb (gpt, 50%, 50% type 82: ,50%,L; ,,S), overwrite: true) [running system only, essential]',
    '(left for the running system: mkfs.ext4 -L fs1 /dev/sdb1 on partition 1 of /dev/sdb, unless it has data) [running system only, essential]',
  ]);
  assert.deepEqual(p.problems.map((d) => d.message), [
    'disk_setup /dev/sdc: table_type must be mbr or gpt: ignored',
    'disk_setup /dev/sdd: layout: an MBR layout has at most 4 partitions (only primary partitions are made): ignored',
    'fs_setup entry 2: no device: ignored',
    "fs_setup entry 3: invalid partition 'first' (a number, auto, any or none): ignored",
  ]);
});

test('disk_setup: what blkid found decides: nothing on it → mkfs (forced on a whole disk), the same filesystem → kept, other data → a warning; no mkfs → refused', () => {
  const root = tempDir('ec2-init-mkfs-');
  writeIn(root, 'sbin/mkfs.ext4', '#!/bin/sh\n', 0o755);
  const files = new Files(root);
  const def = { device: '/dev/sdb', filesystem: 'ext4', label: 'data', overwrite: false, replaceFs: null, extraOpts: [], cmd: null };
  const none = { fstype: null, label: null, pttype: null, ambivalent: false };
  const made = formatActions(files, 'module disk_setup', def, '/dev/sdb', none, { forceDisk: true, runningSystem: 'essential' });
  const mkfs = asRun(made.at(-1));
  assert.deepEqual(mkfs.argv, ['/sbin/mkfs.ext4', '-L', 'data', '-F', '/dev/sdb']);
  assert.equal(mkfs.runningSystem, 'essential');
  const kept = formatActions(files, 'module disk_setup', def, '/dev/sdb1', { ...none, fstype: 'ext4', label: 'data' });
  assert.deepEqual(kept.map((a) => a.kind), ['log']);
  const other = formatActions(files, 'module disk_setup', def, '/dev/sdb1', { ...none, fstype: 'xfs' });
  assert.ok(other.length === 1 && other[0]!.kind === 'report' && other[0].level === 'warning');
  assert.match(other[0].message, /\/dev\/sdb1 not formatted: it has a xfs signature; set overwrite: true/);
  assert.throws(() => formatActions(files, 'module disk_setup', { ...def, filesystem: 'btrfs' }, '/dev/sdb', none), /no mkfs\.btrfs in the system/);
});

/**
 * lvm's actions on the running system: its facts from a temp root, and
 * pvs/vgs/lvs answered here (the test never asks this machine's LVM).
 */
async function lvmOnRunningSystem(config: Record<string, unknown>, lvmAnswers: Record<string, unknown>): Promise<{ actions: Action[]; problems: string[] }> {
  const root = tempDir('ec2-init-lvm-');
  for (const t of ['pvcreate', 'vgcreate', 'lvcreate', 'pvs', 'mkfs.ext4']) writeIn(root, `usr/sbin/${t}`, '#!/bin/sh\n', 0o755);
  writeIn(root, 'etc/fstab', '/dev/vda1\t/\text4\tdefaults\t0\t1\n');
  const problems: string[] = [];
  const value = lvm.check(config, (_l, m) => { problems.push(m); });
  const run: ActionRun = {
    instanceId: 'iid-lvm', source: { metaData: {} } as unknown as ActionRun['source'], config, where: 'module lvm', frequency: 'per-instance',
    files: new Files(root), root: '/', planning: false, report: (_l, m) => { problems.push(m); }, log: silentLogger,
    query: async (argv) => ({ code: 0, signal: null, timedOut: false, stderr: '', stdout: JSON.stringify(lvmAnswers[argv[0]!] ?? {}) }),
  };
  return { actions: await lvm.actions(value, run), problems };
}

test('lvm: a new logical volume\'s fstab line is appended by its lvcreate\'s then: a failed lvcreate writes none', async () => {
  const { actions, problems } = await lvmOnRunningSystem(
    { lvm: { volume_groups: [{ name: 'data', devices: ['/dev/vdb'], logical_volumes: [{ name: 'srv', size: '1G', filesystem: 'ext4', mount: '/srv' }] }] } },
    { pvs: { report: [{ pv: [{ pv_name: '/dev/vdb', vg_name: 'data' }] }] }, vgs: { report: [{ vg: [{ vg_name: 'data' }] }] }, lvs: { report: [{ lv: [] }] } },
  );
  assert.deepEqual(problems, []);
  const line = '/dev/data/srv\t/srv\text4\tdefaults,nofail,comment=ec2-init-lvm\t0\t2';
  const carries = (a: Action) => (a.kind === 'write' || a.kind === 'append') && a.path === '/etc/fstab' && String(a.content).includes('/dev/data/srv');
  assert.ok(!actions.some(carries), 'no fstab line of its own, whatever lvcreate does');
  const create = actions.find((a): a is RunAction => a.kind === 'run' && a.argv[0] === 'lvcreate')!;
  assert.deepEqual(create.argv, ['lvcreate', '--yes', '-n', 'srv', '-L', '1G', 'data']);
  assert.equal(create.failure ?? 'error', 'error', 'a failed lvcreate fails its unit: its then does not run');
  const done: RunResult = { code: 0, signal: null, timedOut: false, stdout: '', stderr: '' };
  assert.deepEqual(create.then!(done).filter(carries).map((a) => a.kind === 'append' && a.content), [`${line}\n`]);
  assert.deepEqual(create.then!({ ...done, code: 5 }).filter(carries), []);
  // The mount follows (its own unit: a missing volume fails only it).
  assert.ok(actions.some((a) => a.kind === 'run' && a.argv.join(' ') === 'mount /srv'));
});

test('lvm: under --root the whole is one note left for the running system, essential, naming each command; a bad volume is refused with its entry', async () => {
  const p = await planModule(lvm, {
    device_aliases: { fast: '/dev/nvme1n1' },
    lvm: { volume_groups: [{ name: 'data', devices: ['fast', 'vdc'], logical_volumes: [{ name: 'srv', size: '100%FREE', filesystem: 'ext4', mount: '/srv' }] }] },
  });
  assert.equal(p.actions.length, 1);
  assert.equal(p.values[0]!.runningSystem, 'essential');
  assert.match(p.lines[0]!, /left for the running system: pvcreate \/dev\/nvme1n1 \/dev\/vdc .*vgcreate data \/dev\/nvme1n1 \/dev\/vdc .*lvcreate --yes -n srv -l 100%FREE data .*mkfs\.ext4 \/dev\/data\/srv .*fstab: \/dev\/data\/srv \/srv ext4 defaults,nofail,comment=ec2-init-lvm 0 2; mount \/srv/);
  const bad = await planModule(lvm, { lvm: { volume_groups: [{ name: 'data', devices: ['/dev/vdb'], logical_volumes: [{ name: 'srv', size: 'lots' }] }] } });
  assert.deepEqual(bad.actions, []);
  assert.match(bad.problems[0]!.message, /lvm volume group 1 \(data\) logical volume 1 \(srv\): invalid size "lots"/);
  // Data never becomes code: options that would add an fstab line of their own (a root mount) are refused.
  const injected = await planModule(lvm, { lvm: { volume_groups: [{ name: 'data', devices: ['/dev/vdb'], logical_volumes: [
    { name: 'srv', size: '1G', filesystem: 'ext4', mount: '/srv', mount_options: 'defaults\n/dev/sdz\t/\text4\trw\t0\t1\n#' }] }] } });
  assert.deepEqual(injected.actions, []);
  assert.match(injected.problems[0]!.message, /logical volume 1 \(srv\): its fstab line: /);
});
