// The test helper that makes a throw-away root (test/helpers/with-root.sh):
// several runs setting up one fresh root at once (a test starting two agents
// on it) all succeed, and a run never puts its default accounts back over
// the root's own (accounts, a /bin directory).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cannotRun, newRoot, WITH_ROOT } from '../helpers/agent.ts';

const skip = cannotRun() ?? false;

function run(root: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(WITH_ROOT, [root, '/bin/true'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

describe('with-root.sh', { skip }, () => {
  test('six runs at once on a fresh root, six times: every one succeeds', async () => {
    const failures: string[] = [];
    for (let round = 0; round < 6; round++) {
      const root = newRoot();
      rmSync(root, { recursive: true, force: true }); // fresh: not even the directory
      for (const r of await Promise.all(Array.from({ length: 6 }, () => run(root)))) if (r.status !== 0) failures.push(r.stderr.trim());
      assert.match(readFileSync(join(root, 'etc/passwd'), 'utf8'), /^root:x:0:0:/);
    }
    assert.deepEqual(failures, []);
  });

  test('the root\'s own accounts and its own /bin directory are kept by a later run', async () => {
    const root = newRoot();
    mkdirSync(join(root, 'bin'));
    assert.equal((await run(root)).status, 0);
    assert.ok(statSync(join(root, 'bin')).isDirectory());
    const own = 'root:x:0:0:root:/root:/bin/bash\ndebian:x:1000:1000::/home/debian:/bin/bash\n';
    writeFileSync(join(root, 'etc/passwd'), own);
    assert.equal((await run(root)).status, 0);
    assert.equal(readFileSync(join(root, 'etc/passwd'), 'utf8'), own);
  });
});
