// One isolated run: starts inner.ts in new mount, network, UTS, IPC and PID
// namespaces and returns what it measured. The network namespace has only a
// loopback interface that is down, so neither agent can send a packet
// anywhere (and an absent metadata service fails at once, with no route);
// the UTS namespace keeps `hostname` calls away from this machine's name.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunResult, Spec } from './inner.ts';

const INNER = fileURLToPath(new URL('./inner.ts', import.meta.url));

export type SandboxSpec = Omit<Spec, 'scratch' | 'result'>;

export function runIsolated(spec: SandboxSpec): RunResult {
  const dir = mkdtempSync(join(tmpdir(), 'ec2-init-bench-'));
  try {
    const scratch = join(dir, 'scratch');
    mkdirSync(scratch);
    const full: Spec = { ...spec, scratch, result: join(dir, 'result.json') };
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(full));
    // --kill-child: if this harness dies, everything in the namespace dies too.
    // --mount-proc: /proc of the new PID namespace, so exitstat finds its
    // child's /proc/PID/status by the PID it sees.
    const r = spawnSync('unshare', ['--mount', '--net', '--uts', '--ipc', '--pid', '--fork', '--kill-child',
      '--propagation', 'private', '--mount-proc', '--', process.execPath, INNER, join(dir, 'spec.json')],
    { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8', timeout: spec.timeoutMs * (spec.boots.length * 4 + 2) });
    if (r.status !== 0) throw new Error(`sandbox failed (${r.status ?? r.signal}): ${r.stderr?.slice(-3000)}`);
    return JSON.parse(readFileSync(full.result, 'utf8')) as RunResult;
  } finally {
    // The scratch tmpfs was mounted only inside the namespace: on the host
    // this is an empty directory again.
    rmSync(dir, { recursive: true, force: true });
  }
}
