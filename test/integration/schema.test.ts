// `ec2-init schema` (the executable): --config-file, --annotate, --system
// (the checker itself: test/unit/schema.test.ts).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { agent, cannotRun, newRoot, seed } from '../helpers/agent.ts';

describe('ec2-init schema (the executable)', { skip: cannotRun() ?? false }, () => {

  test('--config-file: valid → exit 0; errors → exit 1 with line and column; --annotate marks the lines', () => {
    const root = newRoot();
    const good = join(root, 'good.yaml');
    const bad = join(root, 'bad.yaml');
    writeFileSync(good, '#cloud-config\nruncmd: [ls]\n');
    writeFileSync(bad, '#cloud-config\nruncmd: ls\nbootcmd: [ls]\n');
    const ok = agent(root, ['schema', '--config-file', good]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^Valid schema .*good.yaml\n$/);
    const no = agent(root, ['schema', '--config-file', bad]);
    assert.equal(no.status, 1);
    assert.match(no.stdout, /Error: .*bad.yaml: line 2, column 9: runcmd: "ls" is not of type 'array'/);
    const annotated = agent(root, ['schema', '--config-file', bad, '--annotate']);
    assert.match(annotated.stdout, /runcmd: ls\t\t# E1\n/);
    assert.match(annotated.stdout, /# E1: runcmd: "ls" is not of type 'array'/);
  });

  test('--system checks the instance user-data; a boot with a bad cloud-config says so in status', () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-schema\n', '#cloud-config\nruncmd:\n  - [echo, ok]\nwrite_file: []\n');
    const boot = agent(root, ['boot']);
    assert.equal(boot.status, 2);
    assert.match(boot.stderr, /WARNING: user-data part-001 .*invalid cloud-config at line 4, column 1: write_file: unknown key 'write_file' \(did you mean 'write_files'\?\)/);
    const st = agent(root, ['status', '--long']);
    assert.match(st.stdout, /^status: done\nextended_status: degraded done\n/);
    assert.match(st.stdout, /\nrecoverable_errors:\nWARNING:\n\t- .*unknown key 'write_file'/);
    const sys = agent(root, ['schema', '--system']);
    assert.equal(sys.status, 1);
    assert.match(sys.stdout, /user-data.txt part-001: line 4, column 1: write_file: unknown key/);
  });
});
