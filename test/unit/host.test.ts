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
