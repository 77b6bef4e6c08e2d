// #cloud-boothook and application/x-sh: run at once in stage init, on every
// boot, with INSTANCE_ID, saved under instances/<id>/boothooks/ (0700).
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeMime } from '../../src/userdata/make-mime.ts';
import { read } from '../helpers/files.ts';
import { agent, cannotRun, newRoot, seed } from '../helpers/agent.ts';

const skip = cannotRun();

describe('boothooks through the built executable', { skip: skip ?? false }, () => {
  test('run in stage init, before the final stage\'s scripts, on every boot, with INSTANCE_ID', () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-bh-1\n', makeMime([
      { type: 'text/x-shellscript', filename: 'final.sh', content: Buffer.from('#!/bin/sh\necho "final" >> /order\n') },
      { type: 'text/cloud-boothook', filename: 'hook', content: Buffer.from('#cloud-boothook\r\n#!/bin/sh\r\necho "boothook $INSTANCE_ID" >> /order\r\n') },
      { type: 'application/x-sh', filename: 'spec-sh', content: Buffer.from('#!/bin/sh\necho "x-sh $INSTANCE_ID" >> /order\n') },
      { type: 'text/cloud-boothook', filename: 'noshebang', content: Buffer.from('#cloud-boothook\necho "plain sh $INSTANCE_ID" >> /order\n') },
    ]));
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'order'), 'boothook iid-bh-1\nx-sh iid-bh-1\nplain sh iid-bh-1\nfinal\n');
    const dir = 'var/lib/cloud/instances/iid-bh-1/boothooks';
    assert.equal(read(root, `${dir}/hook`), '#!/bin/sh\necho "boothook $INSTANCE_ID" >> /order\n');
    for (const f of ['hook', 'spec-sh', 'noshebang']) assert.equal(statSync(join(root, dir, f)).mode & 0o777, 0o700, f);
    // Next boot: the boothooks run again (per-boot); the per-instance script does not.
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'order'), 'boothook iid-bh-1\nx-sh iid-bh-1\nplain sh iid-bh-1\nfinal\nboothook iid-bh-1\nx-sh iid-bh-1\nplain sh iid-bh-1\n');
  });

  test('a failing boothook is a warning with its name, as in cloud-init; the other parts go on', () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-bh-2\n', makeMime([
      { type: 'text/cloud-boothook', filename: 'fails', content: Buffer.from('#cloud-boothook\n#!/bin/sh\nexit 7\n') },
      { type: 'text/cloud-boothook', filename: 'works', content: Buffer.from('#cloud-boothook\n#!/bin/sh\ntouch /works\n') },
    ]));
    const r = agent(root, ['boot']);
    // cloud-init logs "Boothooks script … execution error" as a warning: the boot is degraded (2), not failed (1).
    assert.equal(r.status, 2);
    assert.match(r.stderr, /WARNING: user-data fails \(text\/cloud-boothook\): boothook \S+\/boothooks\/fails failed: exit 7/);
    assert.equal(read(root, 'works'), '');
  });
});
