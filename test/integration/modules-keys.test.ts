// Keys of cloud-init's schema that real user-data carries, at boot through
// the built executable: implemented ones (output, random_seed, the old apt_*
// keys, the keys_to_console keys, merge_how, ssh_import_id: null) and the ones
// a Debian image cannot act on (snap, ubuntu_pro, …): one line in the log,
// never a warning, so the boot is not degraded. Their conversion and schema:
// test/unit/modules-keys.test.ts.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { schemaProblems as check } from '../helpers/schema.ts';
import { read, writeIn } from '../helpers/files.ts';
import { agent, cannotRun, newRoot, seed, statusProblems } from '../helpers/agent.ts';

const skip = cannotRun();
describe('real-world keys at boot', { skip: skip ?? false }, () => {
  test('snap, ubuntu_pro, merge_how, ssh, keys_to_console keys, ssh_import_id: null: the boot is not degraded', () => {
    const root = newRoot();
    writeIn(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
    writeIn(root, 'etc/group', 'root:x:0:\n');
    seed(root, 'instance-id: iid-keys-1\n', [
      '#cloud-config',
      'merge_how:',
      ' - name: list',
      '   settings: [append]',
      ' - name: dict',
      '   settings: [no_replace, recurse_list]',
      'snap:',
      '  commands: ["snap install core"]',
      'ubuntu_pro: {token: not-a-token}',
      'ssh: {emit_keys_to_console: false}',
      'ssh_fp_console_blacklist: [ssh-dss]',
      'ssh_key_console_blacklist: [ssh-dss]',
      'no_ssh_fingerprints: true',
      "output: {all: '| tee -a /var/log/cloud-init-output.log'}",
      'runcmd: ["true"]',
      '',
    ].join('\n'));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(statusProblems(root), []);
    const log = read(root, 'var/log/ec2-init.log');
    assert.match(log, /'snap' \(cloud-init's cc_snap\) is not applicable on this image: snaps need snapd/);
    assert.match(log, /'ubuntu_pro' \(cloud-init's cc_ubuntu_pro\) is not applicable on this image/);
  });

  test("output: {all: '>> FILE'}: the scripts' output goes to FILE", () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-keys-2\n', "#cloud-config\noutput: {all: '>> /var/log/user-data.log'}\nruncmd: ['echo from-runcmd']\n");
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(read(root, 'var/log/user-data.log'), /from-runcmd/);
    assert.equal(statSync(join(root, 'var/log/user-data.log')).mode & 0o777, 0o600);
  });

  test('random_seed: data appended to a file target inside the root; the command runs with RANDOM_SEED_FILE', () => {
    const root = newRoot();
    writeIn(root, 'var/lib/seed', 'old:');
    seed(root, 'instance-id: iid-keys-3\nrandom_seed: from-meta\n', [
      '#cloud-config', 'random_seed:', '  file: /var/lib/seed', '  data: aGVsbG8=', '  encoding: b64',
      '  command: [sh, -c, "echo $RANDOM_SEED_FILE > /seed-cmd"]', '  command_required: true', '',
    ].join('\n'));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(statusProblems(root), []);
    assert.equal(read(root, 'var/lib/seed'), 'old:hellofrom-meta');
    assert.equal(read(root, 'seed-cmd'), '/var/lib/seed\n');
  });

  test('random_seed: the default /dev/urandom under --root is left alone (an effect on the running system)', () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-keys-4\n', '#cloud-config\nrandom_seed: {data: abc}\n');
    assert.equal(agent(root, ['boot']).status, 0);
    assert.deepEqual(statusProblems(root), []);
    // with-root.sh leaves an empty placeholder there (bound to this machine's device during the boot): untouched.
    assert.equal(statSync(join(root, 'dev/urandom')).size, 0);
    assert.match(read(root, 'var/log/ec2-init.log'), /module seed_random: skipped with --root .*\(add 3 byte\(s\) of seed to \/dev\/urandom\)/);
  });

  test('ssh_import_id: null on a user is nothing to import: no warning', () => {
    const problems = check('#cloud-config\nusers:\n  - name: u\n    ssh_import_id:\n    lock_passwd: false\n');
    assert.deepEqual(problems, []);
  });
});
