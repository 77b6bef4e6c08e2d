// `status`'s exit-code contract (README "Exit codes"), one real boot per
// case, under both names: 0 done and healthy, 1 an error, 2 degraded (a
// warning, no error), 124 `--wait --timeout` ran out while the boot was
// still running; a bad --timeout is a usage error (64 / cloud-init's 2).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { agent, agentAsync, asCloudInit, cannotRun, newRoot, seed } from '../helpers/agent.ts';

const META = 'instance-id: iid-status\n';

/** `cloud-init …` (as the .deb links it), timed. */
function cloudInit(root: string, args: string[]): { status: number | null; stdout: string; stderr: string; ms: number } {
  const started = Date.now();
  const r = asCloudInit(root, args);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

function timed(root: string, args: string[]): { status: number | null; stdout: string; stderr: string; ms: number } {
  const started = Date.now();
  const r = agent(root, args);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

function bootedWith(userData: string): string {
  const root = newRoot();
  seed(root, META, userData);
  agent(root, ['boot']);
  return root;
}

describe('status: the exit-code contract', { skip: cannotRun() ?? false }, () => {

  test('0: the boot is done without a problem (and --wait --timeout returns it at once)', () => {
    const root = bootedWith('#cloud-config\nruncmd: [echo ok]\n');
    for (const args of [['status'], ['status', '--wait', '--timeout', '5'], ['status', '--format', 'json']]) {
      const r = timed(root, args);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.ms < 4000, `${args.join(' ')} took ${r.ms} ms`);
    }
    assert.equal(agent(root, ['status']).stdout, 'status: done\n');
    assert.equal(cloudInit(root, ['status', '--wait', '--timeout', '5']).status, 0);
  });

  test('1: an error (a failed script) in any stage', () => {
    const root = bootedWith('#cloud-config\nruncmd: ["exit 3"]\n');
    const r = agent(root, ['status', '--wait', '--timeout', '5']);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, 'status: error\n');
    assert.equal(cloudInit(root, ['status']).status, 1);
  });

  test('2: degraded: a warning (an unknown key) and no error', () => {
    const root = bootedWith('#cloud-config\nruncmd: [echo ok]\nwrite_file: []\n');
    const r = agent(root, ['status', '--long']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stdout, /^status: done\nextended_status: degraded done\n/);
    assert.equal(cloudInit(root, ['status', '--wait', '--timeout', '5']).status, 2);
  });

  test('124: --wait --timeout runs out while a stage is still running; --wait without it waits to the end', async () => {
    const root = newRoot();
    // The boot waits in bootcmd until the test lets it go (at most 2 minutes): still running for as long as the test needs.
    seed(root, META, '#cloud-config\nbootcmd: ["i=0; until [ -e /tmp/go ] || [ $i -ge 1200 ]; do sleep 0.1; i=$((i+1)); done"]\n');
    // with-root.sh fills a fresh root (etc/passwd …) on its first use: once, before two of them run at the same time.
    assert.equal(agent(root, ['status']).stdout, 'status: not started\n');
    const boot = agentAsync(root, ['boot']);
    let ended: { status: number | null; stderr: string } | null = null;
    void boot.then((r) => { ended = r; });
    // Until the boot is under way (status.json says a stage runs).
    const until = Date.now() + 60_000;
    const seen: string[] = [];
    for (let st = ''; st !== 'status: running\n'; seen.push(st)) {
      assert.ok(Date.now() < until, `the boot never showed as running: ${JSON.stringify(seen.slice(-3))}; the boot: ${JSON.stringify(ended)}`);
      await new Promise((r) => setTimeout(r, 100));
      const r = agent(root, ['status']);
      st = r.stdout + r.stderr;
    }
    const r = timed(root, ['status', '--wait', '--timeout', '1']);
    assert.equal(r.status, 124, r.stderr);
    assert.equal(r.stdout, 'status: running\n');
    assert.match(r.stderr, /^ec2-init: status --wait: the boot is running after --timeout 1 s; not waiting longer\n$/);
    assert.ok(r.ms >= 1000 && r.ms < 10_000, `timed out after ${r.ms} ms`);
    // cloud-init's dialect: the dots while waiting, then the same code.
    const c = cloudInit(root, ['status', '--wait', '--timeout', '0.5']);
    assert.equal(c.status, 124, c.stderr);
    assert.match(c.stdout, /^\.+\n?status: running\n$/);
    assert.match(c.stderr, /^cloud-init: status --wait: /);
    // Let the boot go on: a wait with a long deadline ends with the boot, with the boot's code.
    writeFileSync(join(root, 'tmp/go'), '');
    const done = timed(root, ['status', '--wait', '--timeout', '60']);
    assert.equal(done.status, 0, done.stderr);
    assert.equal(done.stdout, 'status: done\n');
    assert.equal((await boot).status, 0);
  });

  test('a bad --timeout is a usage error: 64 for ec2-init, 2 (argparse\'s) for cloud-init', () => {
    const root = newRoot();
    for (const [args, message] of [
      [['status', '--wait', '--timeout', 'soon'], /--timeout: 'soon' is not a number of seconds/],
      [['status', '--wait', '--timeout', '-1'], /--timeout: '-1' is not a number of seconds/],
      [['status', '--timeout', '5'], /--timeout needs --wait/],
    ] as const) {
      const r = agent(root, [...args]);
      assert.equal(r.status, 64, args.join(' '));
      assert.match(r.stderr, message);
      const c = cloudInit(root, [...args]);
      assert.equal(c.status, 2, args.join(' '));
      assert.match(c.stderr, message);
    }
  });
});
