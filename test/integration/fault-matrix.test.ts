// The fault matrix (issue 22): a boot meets a fault — no NIC, a metadata
// service that is silent or answers 503, a refused one, an #include whose
// host has no DNS answer — and must end within 10 s with the package's
// default settings (debian/config/10_ec2-init.cfg; only the metadata URL
// points at the simulator on 127.0.0.1). A metadata service that does not
// answer costs the default max_wait (5 s) once: init-local records it and
// stage init does not ask again; an image that sets max_wait gets its waits.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SKIP_REASON, startImdsSimulator, type ImdsSimulatorOptions } from '../helpers/imds-simulator.ts';
import { writeIn } from '../helpers/files.ts';
import { TOP } from '../helpers/paths.ts';
import { agentAsync, cannotRun, newRoot, seed } from '../helpers/agent.ts';

const skip = cannotRun() ?? SKIP_REASON ?? false;
const BOUND_MS = 10_000;
const PACKAGE_CFG = readFileSync(join(TOP, 'debian/config/10_ec2-init.cfg'), 'utf8');

/** A root with the package's defaults; `extra` is a later cloud.cfg.d file. */
function packageRoot(extra: string): string {
  const root = newRoot();
  writeIn(root, 'etc/cloud/cloud.cfg', 'users: []\n');
  writeIn(root, 'etc/cloud/cloud.cfg.d/10_ec2-init.cfg', PACKAGE_CFG);
  if (extra) writeIn(root, 'etc/cloud/cloud.cfg.d/90-test.cfg', extra);
  return root;
}

async function timedBoot(root: string): Promise<number> {
  const started = performance.now();
  await agentAsync(root, ['boot']);
  return performance.now() - started;
}

/** The EC2 source forced (this is no EC2 machine: DMI would not say so), the package's timeouts kept. */
const ec2At = (url: string) => `datasource_list: [Ec2]\ndatasource:\n  Ec2:\n    metadata_urls: ['${url}']\n`;

const EC2_FAULTS: [string, ImdsSimulatorOptions][] = [
  ['metadata service silent (accepts, never answers)', { hang: () => true }],
  ['metadata service answers 503 to everything', { failFirst: 1_000_000, failStatus: 503 }],
];

/** init-local, then init, each its own process (as the units run them): the time of each and the requests each sent. */
async function twoStages(root: string, sim: { requests: unknown[] }): Promise<{ localMs: number; initMs: number; localRequests: number; initRequests: number }> {
  let t = performance.now();
  await agentAsync(root, ['init', '--local']);
  const localMs = performance.now() - t;
  const localRequests = sim.requests.length;
  t = performance.now();
  await agentAsync(root, ['init']);
  return { localMs, initMs: performance.now() - t, localRequests, initRequests: sim.requests.length - localRequests };
}

describe('fault matrix: each boot ends within 10 s with the package defaults', { skip }, () => {
  test('no NIC, no seed, the package\'s datasource_list: no datasource, quickly', async () => {
    const root = packageRoot('');
    const ms = await timedBoot(root);
    assert.ok(ms < BOUND_MS, `${ms.toFixed(0)} ms`);
  });

  test('metadata service refused (nothing listens): quickly', async () => {
    const sim = await startImdsSimulator({});
    const url = sim.url;
    await sim.refuse();
    const ms = await timedBoot(packageRoot(ec2At(url)));
    assert.ok(ms < BOUND_MS, `${ms.toFixed(0)} ms`);
  });

  for (const [name, options] of EC2_FAULTS) {
    test(name, async () => {
      const sim = await startImdsSimulator({ mode: 'optional', ...options });
      try {
        const ms = await timedBoot(packageRoot(ec2At(sim.url)));
        assert.ok(ms < BOUND_MS, `${ms.toFixed(0)} ms`);
      } finally { await sim.close(); }
    });

    test(`${name}, stage by stage: init-local gives up within the default max_wait, init does not ask again`, async () => {
      const sim = await startImdsSimulator({ mode: 'optional', ...options });
      try {
        const root = packageRoot(ec2At(sim.url));
        const r = await twoStages(root, sim);
        assert.ok(r.localRequests > 0, 'init-local asked the service');
        assert.equal(r.initRequests, 0, 'stage init sent no request');
        assert.ok(r.localMs + r.initMs < BOUND_MS, `init-local ${r.localMs.toFixed(0)} ms, init ${r.initMs.toFixed(0)} ms`);
        assert.match(readFileSync(join(root, 'var/log/ec2-init.log'), 'utf8'), /datasource Ec2: not asked again: in init-local this boot/);
      } finally { await sim.close(); }
    });
  }

  test('metadata service silent: plan asks it but records nothing (it changes nothing)', async () => {
    const sim = await startImdsSimulator({ mode: 'optional', hang: () => true });
    try {
      const root = packageRoot(ec2At(sim.url));
      const r = await agentAsync(root, ['plan']);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(sim.requests.length > 0, 'plan asked the service');
      assert.equal(existsSync(join(root, 'run/ec2-init/ec2-unanswered')), false);
    } finally { await sim.close(); }
  });

  test('metadata service silent, max_wait set by the image: honoured in init-local and asked again in init (cloud-init\'s way)', async () => {
    const sim = await startImdsSimulator({ mode: 'optional', hang: () => true });
    try {
      const root = packageRoot(`${ec2At(sim.url)}    max_wait: 3\n    timeout: 1\n`);
      const r = await twoStages(root, sim);
      assert.ok(r.localRequests > 0 && r.initRequests > 0, `requests: ${r.localRequests} in init-local, ${r.initRequests} in init`);
      for (const [stage, ms] of [['init-local', r.localMs], ['init', r.initMs]] as const) {
        assert.ok(ms >= 2_900, `${stage} waited the configured 3 s: ${ms.toFixed(0)} ms`);
      }
    } finally { await sim.close(); }
  });

  test('an #include whose host has no DNS answer (.invalid never resolves): the rest applies, quickly', async () => {
    const root = packageRoot('');
    seed(root, 'instance-id: iid-fault-dns\n', '#include\nhttp://metadata.invalid/user-data\n');
    const ms = await timedBoot(root);
    assert.ok(ms < BOUND_MS, `${ms.toFixed(0)} ms`);
  });
});
