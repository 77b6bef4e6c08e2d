// Unit: actions as values (host/actions.ts) and the one applier
// (host/apply-actions.ts) on a temp root: lines never show content, the
// digest changes with it, a failed action skips the rest of its unit only,
// running-system actions are skipped under --root and mark the module as
// left, and what follows from a program's result is applied after it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Context } from '../../src/context.ts';
import { actionValue, type Action } from '../../src/host/actions.ts';
import { applyActions } from '../../src/host/apply-actions.ts';
import type { Logger } from '../../src/log.ts';
import { applyEnv } from '../../src/modules/run-module.ts';
import { runcmd } from '../../src/modules/runcmd.ts';
import { timezone } from '../../src/modules/timezone.ts';
import { mode, read, tempDir, writeIn } from '../helpers/files.ts';
import { planModule } from '../helpers/module-actions.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (m: string) => { lines.push(m); };
  return { lines, debug: push, info: push, warn: push, error: push };
}

test('a line names the file, mode and digest, never the content; the digest follows the content', () => {
  const a = actionValue({ kind: 'write', path: '/etc/x', content: 'secret-token\n', mode: 0o600 });
  const b = actionValue({ kind: 'write', path: '/etc/x', content: 'secret-tokeN\n', mode: 0o600 });
  assert.match(a.line, /^write \/etc\/x 0600 13 B sha256:[0-9a-f]{16}$/);
  assert.ok(!a.line.includes('secret'));
  assert.notEqual(a.sha256, b.sha256);
  const run = actionValue({ kind: 'run', argv: ['/usr/sbin/chpasswd'], input: 'alice:pw\n', why: 'set passwords' });
  assert.match(run.line, /^run chpasswd sha256:[0-9a-f]{16} \(set passwords\)$/);
  assert.ok(!JSON.stringify(run).includes('alice:pw'));
  // Arguments are length-prefixed: a different split of the same bytes is a different action.
  assert.notEqual(actionValue({ kind: 'run', argv: ['ab', 'c'] }).sha256, actionValue({ kind: 'run', argv: ['a', 'bc'] }).sha256);
  assert.equal(actionValue({ kind: 'fetch', url: 'https://u:p@h.example/k?token=1', maxBytes: 1, retries: 0, pauseMs: 0, timeoutMs: 1 }).target, 'https://h.example/k');
});

test('the applier: a failed action skips the rest of its unit, the other units still run', async () => {
  const root = tempDir('ec2-init-apply-');
  const log = recorder();
  const ctx = new Context(root, log);
  const actions: Action[] = [
    { kind: 'write', path: '/a/one', content: '1\n', mode: 0o600, unit: 'a' },
    { kind: 'write', path: '/a/one/x', content: '', mode: 0o644, unit: 'a' }, // a file is not a directory
    { kind: 'write', path: '/a/two', content: '2\n', mode: 0o644, unit: 'a' },
    { kind: 'write', path: '/b/one', content: 'b\n', mode: 0o640, unit: 'b' },
  ];
  const ok = await applyActions(applyEnv(ctx), 'module t', actions);
  assert.equal(ok, false);
  assert.equal(read(root, 'a/one'), '1\n');
  assert.equal(mode(root, 'a/one'), 0o600);
  assert.ok(!existsSync(join(root, 'a/two')), 'the rest of unit a is skipped');
  assert.equal(read(root, 'b/one'), 'b\n');
  assert.equal(ctx.diags.filter((d) => d.level === 'error').length, 1);
  assert.equal(log.lines.filter((l) => l.startsWith('action: module t: ')).length, 4, 'every action is logged as it comes');
});

test('the applier: without a unit, a failure stops the module; running-system actions are skipped under --root and mark it left', async () => {
  const root = tempDir('ec2-init-apply-');
  writeIn(root, 'f', 'x');
  const ctx = new Context(root, recorder());
  await applyActions(applyEnv(ctx), 'module t', [
    { kind: 'run', argv: ['hostname', 'x'], runningSystem: 'essential', why: 'set the host name' },
    { kind: 'write', path: '/f/g', content: '', mode: 0o644 }, // /f is a file
    { kind: 'write', path: '/after', content: '', mode: 0o644 },
  ]);
  assert.equal(ctx.neededRunningSystem, 'set the host name');
  assert.ok(!existsSync(join(root, 'after')));
});

test('timezone: the zone file is checked against the root, in plan as at boot', async () => {
  const prep = (root: string) => writeIn(root, 'usr/share/zoneinfo/Europe/Berlin', 'TZif');
  const ok = await planModule(timezone, { timezone: 'Europe/Berlin' }, { prep });
  assert.deepEqual(ok.lines.map((l) => l.replace(/sha256:\w+/, 'sha256:…')),
    ['write /etc/timezone 0644 14 B sha256:… (zone Europe/Berlin)', 'symlink /etc/localtime -> /usr/share/zoneinfo/Europe/Berlin']);
  const missing = await planModule(timezone, { timezone: 'Mars/Olympus' }, { prep });
  assert.deepEqual(missing.lines, [], 'a zone the root lacks: nothing planned (before, plan announced it and boot refused it)');
  assert.match(missing.problems[0]!.message, /no file \/usr\/share\/zoneinfo\/Mars\/Olympus under the root/);
  const bad = await planModule(timezone, { timezone: '../../etc/shadow' });
  assert.deepEqual(bad.lines, []);
  assert.match(bad.problems[0]!.message, /invalid timezone/);
});

test('runcmd: one script, 0700, its digest the script\'s', async () => {
  const p = await planModule(runcmd, { runcmd: ['echo a', ['ls', '-l', 'a b']] });
  assert.equal(p.actions.length, 1);
  const a = p.actions[0]!;
  assert.ok(a.kind === 'write' && a.content === "#!/bin/sh\necho a\nls -l 'a b'\n" && a.mode === 0o700);
  const bad = await planModule(runcmd, { runcmd: 'echo' });
  assert.deepEqual(bad.lines, []);
  assert.match(bad.problems[0]!.message, /expected a list of commands/);
});

// The distro's package and service actions (modules/distro-actions.ts, apt-get.ts), as the modules that install build on them.
import { installActions, serviceActions } from '../../src/modules/distro-actions.ts';
import { Files } from '../../src/host/files.ts';
import type { ActionRun } from '../../src/modules/module.ts';

function factsOn(root: string, problems: string[] = []): ActionRun {
  return {
    instanceId: 'iid-1', source: {} as ActionRun['source'], config: {}, where: 'module t', frequency: 'per-instance',
    files: new Files(root), root, planning: true, query: async () => null, report: (_l, m) => { problems.push(m); }, log: recorder(),
  };
}

test('installing: apt-get update once per instance, then install only what apt-cache knows; no apt-get: an error, nothing planned', () => {
  const root = tempDir('ec2-init-apt-');
  writeIn(root, 'usr/bin/apt-get', '#!/bin/sh\n', 0o755);
  const first = installActions(factsOn(root), ['salt-minion']);
  assert.deepEqual(first.map((a) => [a.kind, actionValue(a).target]), [['run', 'apt-get'], ['mark', '/var/lib/cloud/instances/iid-1/sem/update-sources'], ['run', 'apt-cache']]);
  const pkgnames = first[2]!;
  assert.ok(pkgnames.kind === 'run' && pkgnames.then);
  const result = { code: 0, signal: null, timedOut: false, stderr: '' };
  assert.deepEqual(pkgnames.then({ ...result, stdout: 'vim\nsalt-minion\n' }).map((a) => a.kind === 'run' && a.argv.slice(-2)), [['install', 'salt-minion']]);
  const unknown = pkgnames.then({ ...result, stdout: 'vim\n' });
  assert.ok(unknown[0]!.kind === 'report' && unknown[0]!.level === 'error' && /no package salt-minion/.test(unknown[0]!.message));
  writeIn(root, 'var/lib/cloud/instances/iid-1/sem/update-sources', 'x');
  assert.deepEqual(installActions(factsOn(root), ['salt-minion']).map((a) => actionValue(a).target), ['apt-cache'], 'update already ran for this instance');
  const problems: string[] = [];
  assert.deepEqual(installActions(factsOn(tempDir('ec2-init-apt-'), problems), ['x']), []);
  assert.match(problems[0]!, /apt-get not found under the root/);
});

test('services: enabling changes files (under --root too), starting is for the running system', () => {
  const root = tempDir('ec2-init-svc-');
  writeIn(root, 'usr/lib/systemd/systemd', '', 0o755);
  const [enable] = serviceActions(factsOn(root), 'enable', 'salt-minion');
  const [restart] = serviceActions(factsOn(root), 'restart', 'salt-minion');
  assert.ok(enable!.kind === 'run' && enable!.argv.join(' ') === 'systemctl enable salt-minion' && enable!.runningSystem === undefined);
  assert.ok(restart!.kind === 'run' && restart!.argv.join(' ') === 'systemctl restart salt-minion' && restart!.runningSystem === 'optional');
});

test("services: 'reload' is cloud-init's manage_service reload: systemctl reload-or-restart, or service … restart without systemd", () => {
  const systemd = tempDir('ec2-init-svc-');
  writeIn(systemd, 'usr/lib/systemd/systemd', '', 0o755);
  const argv = (root: string) => serviceActions(factsOn(root), 'reload', 'chrony').map((a) => a.kind === 'run' && [a.argv.join(' '), a.runningSystem]);
  assert.deepEqual(argv(systemd), [['systemctl reload-or-restart chrony', 'optional']]);
  assert.deepEqual(argv(tempDir('ec2-init-svc-')), [['service chrony restart', 'optional']]);
});

test('the applier: runs that say `together` are all started before the first is awaited; their results are taken in list order', async () => {
  const root = tempDir('ec2-init-apply-');
  const ctx = new Context(root, recorder());
  const env = applyEnv(ctx);
  // Each program "ends" only once all three have started: taken one after another, the first would give up (exit 1).
  const calls: string[] = [];
  let allStarted: () => void = () => {};
  const rendezvous = new Promise<void>((resolve) => { allStarted = resolve; });
  env.run = async (argv) => {
    calls.push(argv[1]!);
    if (calls.length === 3) allStarted();
    const met = await Promise.race([rendezvous.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000))]);
    return { code: met ? 0 : 1, signal: null, stdout: '', stderr: '', timedOut: false };
  };
  env.capture = env.run;
  const thenOrder: string[] = [];
  const keygen = (t: string): Action => ({
    kind: 'run', argv: ['ssh-keygen', t], together: true, unit: t,
    then: (r) => { thenOrder.push(t); return [{ kind: 'write', path: `/made-${t}`, content: `${r.code}\n`, mode: 0o644 }]; },
  });
  const ok = await applyActions(env, 'module t', [keygen('rsa'), keygen('ecdsa'), keygen('ed25519'), { kind: 'write', path: '/after', content: '', mode: 0o644 }]);
  assert.equal(ok, true);
  assert.deepEqual(calls, ['rsa', 'ecdsa', 'ed25519']);
  assert.deepEqual(thenOrder, ['rsa', 'ecdsa', 'ed25519']);
  for (const t of ['rsa', 'ecdsa', 'ed25519']) assert.equal(read(root, `made-${t}`), '0\n', `${t} ran while the others ran`);
  assert.ok(existsSync(join(root, 'after')));
});
