// The host layer: running programs (the root's files: test/integration/host.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runProgram, describeExit } from '../../src/host/run.ts';

test('runProgram: exit codes, captured output, timeouts, a missing program', async () => {
  const ok = await runProgram('/', ['/bin/sh', '-c', 'echo out; echo err >&2; exit 3'], { output: 'capture' });
  assert.deepEqual([ok.code, ok.stdout, ok.stderr], [3, 'out\n', 'err\n']);
  assert.equal(describeExit(ok), 'exit 3');
  const slow = await runProgram('/', ['/bin/sleep', '5'], { output: 'capture', timeoutMs: 100 });
  assert.equal(slow.timedOut, true);
  assert.equal(describeExit(slow, 100), 'timed out after 0.1 s');
  const missing = await runProgram('/', ['/nonexistent/program'], { output: 'capture' });
  assert.equal(missing.code, 127);
  assert.match(missing.stderr, /ENOENT/);
  const env = await runProgram('/', ['/bin/sh', '-c', 'echo "$PATH|$SECRET|$X"'], { output: 'capture', env: { X: 'y' } });
  assert.equal(env.stdout, '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin||y\n');
});

test('runProgram: a stop that fires kills the program at once (a wait something else ended), and does nothing after it exited', async () => {
  const { Cancel } = await import('../../src/net/cancel.ts');
  const stop = new Cancel();
  const t0 = Date.now();
  const running = runProgram('/', ['/bin/sleep', '30'], { output: 'capture', stop });
  setTimeout(() => stop.cancel(), 100);
  const r = await running;
  assert.ok(Date.now() - t0 < 5000, `returned after ${Date.now() - t0} ms`);
  assert.deepEqual([r.signal, r.timedOut, describeExit(r)], ['SIGKILL', false, 'killed by SIGKILL']);
  // A program that ended lets go of its stop: firing it later reaches nothing.
  let listening = 0;
  const late = { onCancel: () => { listening++; return () => { listening--; }; } };
  const done = await runProgram('/', ['/bin/true'], { output: 'capture', stop: late });
  assert.equal(done.code, 0);
  assert.equal(listening, 0, 'the stop was let go when the program ended');
});

test('deferSync writes: the walk keeps a directory for the next write there, never a link\'s target under the link\'s directory name', async (t) => {
  const { mkdtempSync, mkdirSync, readFileSync, existsSync, rmSync, symlinkSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { Files } = await import('../../src/host/files.ts');
  const root = mkdtempSync(join(tmpdir(), 'ec2-init-defer-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'd'));
  mkdirSync(join(root, 'other'));
  symlinkSync('/other/t', join(root, 'd', 'l')); // root-owned when the test runs as root: followed
  const files = new Files(root);
  files.write('/d/l', 'through the link', { deferSync: true });
  for (let i = 0; i < 3; i++) files.write(`/d/f${i}`, `file ${i}`, { deferSync: true });
  files.flushDeferred();
  if (process.getuid?.() === 0) assert.equal(readFileSync(join(root, 'other', 't'), 'utf8'), 'through the link');
  for (let i = 0; i < 3; i++) assert.equal(readFileSync(join(root, 'd', `f${i}`), 'utf8'), `file ${i}`);
  assert.equal(existsSync(join(root, 'other', 'f0')), false, 'not in the link target\'s directory');
});
