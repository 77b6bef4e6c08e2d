// `single --name MODULE` and the boot mark a module done by one rule
// (stages.ts markModule): a module that ran to its end is marked, failed or
// not, as cloud-init's semaphore (written before the run, not cleared on a
// failure) marks it, so the next `single` or boot does not run it again.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { agent, cannotRun, newRoot, seed } from '../helpers/agent.ts';

const SEM = 'var/lib/cloud/instances/iid-single/sem/config_write_files';

describe('single: the semaphore rule of the boot', { skip: cannotRun() ?? false }, () => {
  test('a module that failed is marked done by the boot and by single alike', () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-single\n',
      '#cloud-config\nwrite_files:\n  - {path: /etc/ok, content: x}\n  - {path: /etc/bad, content: y, encoding: rot13}\n');
    agent(root, ['boot']);
    assert.ok(existsSync(join(root, 'etc/ok')));
    assert.ok(existsSync(join(root, SEM)), 'the boot marks the failed module done');

    rmSync(join(root, SEM));
    rmSync(join(root, 'etc/ok'));
    const first = agent(root, ['single', '--name', 'write_files']);
    assert.equal(first.status, 1, 'the failure is the exit status');
    assert.ok(existsSync(join(root, 'etc/ok')), 'the good entry is written again');
    assert.ok(existsSync(join(root, SEM)), 'single marks the failed module done, as the boot does');

    rmSync(join(root, 'etc/ok'));
    const again = agent(root, ['single', '--name', 'write_files']);
    assert.equal(again.status, 0);
    assert.ok(!existsSync(join(root, 'etc/ok')), 'a module marked done is not run again');
    assert.match(readFileSync(join(root, 'var/log/ec2-init.log'), 'utf8'), /module write_files: nothing to do: already/);
  });
});
