// The final stage's scripts through the built executable on throw-away
// roots: the path they run by, and the module lists of user-data that
// change when they run (cloud-init's `[scripts-user, always]`).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { read } from '../helpers/files.ts';
import { agent, cannotRun, newRoot, seed, statusProblems } from '../helpers/agent.ts';

const skip = cannotRun();

/** A two-part MIME user-data: a cloud-config and a shell script. */
function mime(cloudConfig: string, script: string): string {
  return ['Content-Type: multipart/mixed; boundary="XX"', 'MIME-Version: 1.0', '',
    '--XX', 'Content-Type: text/cloud-config; charset="us-ascii"', 'Content-Disposition: attachment; filename="cloud-config.txt"', '',
    cloudConfig, '--XX', 'Content-Type: text/x-shellscript; charset="us-ascii"', 'Content-Disposition: attachment; filename="userdata.txt"', '',
    script, '--XX--', ''].join('\n');
}

describe('user scripts', { skip: skip ?? false }, () => {
  test('run as /var/lib/cloud/instance/scripts/NAME ($0), runcmd too, as cloud-init runs them', () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-scripts-1\n', mime('#cloud-config\nruncmd:\n  - echo "$0" > /runcmd-0\n',
      '#!/bin/sh\necho "$0" > /script-0\n'));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(read(root, 'script-0'), '/var/lib/cloud/instance/scripts/userdata.txt\n');
    assert.equal(read(root, 'runcmd-0'), '/var/lib/cloud/instance/scripts/runcmd\n');
  });
});

describe('module lists in user-data', { skip: skip ?? false }, () => {
  // The AWS recipe for running user-data on every boot.
  const ALWAYS = '#cloud-config\ncloud_final_modules:\n  - [scripts-user, always]\n';

  test('cloud_final_modules: [[scripts-user, always]] runs the user scripts on every boot', () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-always-1\n', mime(ALWAYS, '#!/bin/sh\necho ran >> /count\n'));
    for (let i = 0; i < 3; i++) assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'count'), 'ran\nran\nran\n');
    assert.deepEqual(statusProblems(root), []);
    // plan says what boot does: scripts_user at the list's frequency, and it would run.
    assert.match(agent(root, ['plan']).stdout, /final +module +RUN +scripts_user \[per-boot\]/);
  });

  test('without it, a user script runs once per instance', () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-always-2\n', mime('#cloud-config\n{}\n', '#!/bin/sh\necho ran >> /count\n'));
    for (let i = 0; i < 2; i++) assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'count'), 'ran\n');
  });

  test('a stage list without a module leaves that module out, as cloud-init does; other stages keep theirs', () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-lists-1\n', mime(
      '#cloud-config\ncloud_config_modules: [timezone]\nruncmd: ["echo runcmd > /runcmd"]\nbootcmd: ["echo boot > /bootcmd"]\n',
      '#!/bin/sh\necho ran > /script\n'));
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'bootcmd'), 'boot\n');
    assert.equal(read(root, 'script'), 'ran\n');
    assert.throws(() => read(root, 'runcmd'), /ENOENT/, 'runcmd is not in cloud_config_modules: not run');
  });
});
