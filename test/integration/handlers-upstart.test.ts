// #upstart-job: written to /etc/init/<name>.conf once per instance; upstart is
// asked to reload only on the running system with upstart as its init.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeMime } from '../../src/userdata/make-mime.ts';
import { writeIn } from '../helpers/files.ts';
import { agent, cannotRun, newRoot, seed } from '../helpers/agent.ts';

const skip = cannotRun();
const META = 'instance-id: iid-up-1\n';

describe('upstart jobs through the built executable', { skip: skip ?? false }, () => {
  test('written 0644 with LF line ends, once per instance; with another root upstart is not asked to reload', () => {
    const root = newRoot();
    // An initctl in the root must not be run: the root is not the running system.
    writeIn(root, 'sbin/initctl', '#!/bin/sh\ntouch /initctl-was-run\necho "initctl (upstart 1.12.1)"\n', 0o755);
    seed(root, META, makeMime([
      { type: 'text/upstart-job', filename: 'my-job', content: Buffer.from('#upstart-job\r\nstart on stopped rc\r\nexec true\r\n') },
      { type: 'text/x-upstart', filename: 'other.conf', content: Buffer.from('start on runlevel [2345]\n') },
    ]));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(root, 'etc/init/my-job.conf'), 'utf8'), '#upstart-job\nstart on stopped rc\nexec true\n');
    assert.equal(statSync(join(root, 'etc/init/my-job.conf')).mode & 0o777, 0o644);
    assert.equal(readFileSync(join(root, 'etc/init/other.conf'), 'utf8'), 'start on runlevel [2345]\n');
    assert.ok(!existsSync(join(root, 'initctl-was-run')));
    assert.match(r.stderr + readFileSync(join(root, 'var/log/ec2-init.log'), 'utf8'),
      /upstart not asked to reload its configuration: the root is \S+, not the running system/);
    // Per-instance: a job removed by the admin is not written again on the next boot.
    writeIn(root, 'etc/init/my-job.conf', 'edited\n');
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(readFileSync(join(root, 'etc/init/my-job.conf'), 'utf8'), 'edited\n');
  });

  test('plan says where the job goes', () => {
    const root = newRoot();
    seed(root, META, '#upstart-job\nstart on stopped rc\n');
    const r = agent(root, ['plan']);
    assert.match(r.stdout, /part-001 \(text\/upstart-job\): write \/etc\/init\/part-001\.conf \(per-instance\); initctl reload-configuration when upstart is the running init/);
  });
});
