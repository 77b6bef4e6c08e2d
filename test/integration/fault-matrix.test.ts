// The fault matrix (issue 22): a boot meets a fault — no NIC, a metadata
// service that is silent or answers 503, a refused one, an #include whose
// host has no DNS answer — and must end within 10 s with the package's
// default settings (debian/config/10_ec2-init.cfg; only the metadata URL
// points at the simulator on 127.0.0.1). A case that still takes longer is a
// todo with its measured time and cause: the bound is the goal.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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

const EC2_FAULTS: [string, ImdsSimulatorOptions, string | null][] = [
  ['metadata service silent (accepts, never answers)', { hang: () => true },
    'Ec2 max_wait is 30 s in the package config (src/sources, debian/config), spent in init-local and again in stage init: 60 s and more'],
  ['metadata service answers 503 to everything', { failFirst: 1_000_000, failStatus: 503 },
    'Ec2 retries a 503 until max_wait (30 s in the package config), in init-local and again in stage init: 60 s and more'],
];

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

  for (const [name, options, todo] of EC2_FAULTS) {
    test(name, { todo: todo ?? false }, async () => {
      const sim = await startImdsSimulator({ mode: 'optional', ...options });
      try {
        const ms = await timedBoot(packageRoot(ec2At(sim.url)));
        assert.ok(ms < BOUND_MS, `${ms.toFixed(0)} ms`);
      } finally { await sim.close(); }
    });
  }

  test('an #include whose host has no DNS answer (.invalid never resolves): the rest applies, quickly', async () => {
    const root = packageRoot('');
    seed(root, 'instance-id: iid-fault-dns\n', '#include\nhttp://metadata.invalid/user-data\n');
    const ms = await timedBoot(root);
    assert.ok(ms < BOUND_MS, `${ms.toFixed(0)} ms`);
  });
});
