// Crash safety: a boot killed (SIGKILL, like a power cut) at several points
// and run again finishes the rest, does not repeat per-instance work whose
// semaphore was written, and leaves no half-written file behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeIn } from '../helpers/files.ts';
import { AGENT, agent, cannotRun, newRoot, seed, WITH_ROOT } from '../helpers/agent.ts';

const skip = cannotRun();

const USER_DATA = [
  '#cloud-config',
  'write_files: [{path: /count/write_files, content: "x\\n", append: true}]',
  'runcmd: ["echo x >> /count/runcmd"]',
  '',
].join('\n');

function prepare(): string {
  const root = newRoot();
  seed(root, 'instance-id: iid-crash\n', USER_DATA);
  // Two image scripts, so a crash can fall between them.
  for (const name of ['10-first', '20-second']) {
    writeIn(root, `var/lib/cloud/scripts/per-instance/${name}`, `#!/bin/sh\necho x >> /count/${name}\n`, 0o755);
  }
  writeIn(root, 'count/.keep', '');
  return root;
}

const count = (root: string, name: string) => {
  const p = join(root, 'count', name);
  return existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean).length : 0;
};
const counts = (root: string) => Object.fromEntries(
  ['write_files', 'runcmd', '10-first', '20-second'].map((n) => [n, count(root, n)]));

function leftovers(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.name.endsWith('.ec2-init-tmp') || e.name.endsWith('.ec2-init.tmp'))
    .map((e) => join(e.parentPath, e.name));
}

function assertConsistent(root: string): void {
  assert.deepEqual(leftovers(root), [], 'no temp file is left behind');
  const st = agent(root, ['status', '--format', 'json']);
  assert.equal(st.status, 0, st.stdout + readFileSync(join(root, 'var/log/ec2-init.log'), 'utf8').slice(-3000));
  assert.equal((JSON.parse(st.stdout) as { status: string }).status, 'done');
  assert.equal(readFileSync(join(root, 'var/lib/cloud/data/user-data.raw'), 'utf8'), USER_DATA);
  assert.equal(statSync(join(root, 'var/lib/cloud/data/user-data.raw')).mode & 0o777, 0o600);
}

describe('a boot killed midway and run again', { skip: skip ?? false }, () => {
  // [failpoint, the counts after the second boot]. "before-sem" kills after the
  // work but before its semaphore: that work runs again (at least once, never
  // lost). "after-sem" kills right after: it must not run again.
  const cases: Array<[string, Record<string, number>]> = [
    ['after-user-data-raw', { write_files: 1, runcmd: 1, '10-first': 1, '20-second': 1 }],
    ['after-user-config', { write_files: 1, runcmd: 1, '10-first': 1, '20-second': 1 }],
    ['before-sem:config_write_files', { write_files: 2, runcmd: 1, '10-first': 1, '20-second': 1 }],
    ['after-sem:config_write_files', { write_files: 1, runcmd: 1, '10-first': 1, '20-second': 1 }],
    ['after-sem:config_runcmd', { write_files: 1, runcmd: 1, '10-first': 1, '20-second': 1 }],
    ['after-sem:script-per-instance-10-first', { write_files: 1, runcmd: 1, '10-first': 1, '20-second': 1 }],
    ['before-sem:script-per-instance-20-second', { write_files: 1, runcmd: 1, '10-first': 1, '20-second': 2 }],
    ['before-sem:script-user-runcmd', { write_files: 1, runcmd: 2, '10-first': 1, '20-second': 1 }],
  ];
  for (const [point, expected] of cases) {
    test(`killed at ${point}`, () => {
      const root = prepare();
      const killed = agent(root, ['boot'], { EC2_INIT_FAILPOINT: point });
      assert.equal(killed.signal, 'SIGKILL', `the failpoint was reached: ${killed.stderr}`);
      const again = agent(root, ['boot']);
      assert.equal(again.status, 0, again.stderr);
      assert.deepEqual(counts(root), expected);
      assertConsistent(root);
    });
  }

  test('killed at random moments, 12 times in a row, it still converges', async () => {
    const root = prepare();
    for (let i = 0; i < 12; i++) {
      const child = spawn(WITH_ROOT, [root, AGENT, '--root', root, 'boot'], {
        detached: true, stdio: 'ignore', env: {},
      });
      // Listened for from the start: a fast boot may be over before the kill.
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 60));
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* it had already finished */ }
      await exited;
    }
    const last = agent(root, ['boot']);
    assert.equal(last.status, 0, last.stderr);
    for (const [name, n] of Object.entries(counts(root))) {
      // At least once; at most once more per kill that landed inside that very step.
      assert.ok(n >= 1 && n <= 13, `${name} ran ${n} times\n${readFileSync(join(root, "var/log/ec2-init.log"), "utf8")}`);
    }
    assertConsistent(root);
  });
});
