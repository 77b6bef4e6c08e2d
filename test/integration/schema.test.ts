// `ec2-init schema` (the executable): --config-file, --annotate, --system
// (the checker itself: test/unit/schema.test.ts).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { agent, asCloudInit, cannotRun, newRoot, seed } from '../helpers/agent.ts';

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

  // Errors at known lines: 3 (a type), 5 (an unknown key, with a hint), 7 (a value out of its enum).
  const BAD = [
    '#cloud-config',
    'runcmd:',
    '  - 42',
    'bootcmd: [true]',
    'write_file: []',
    'disk_setup:',
    '  /dev/sdb: {table_type: xyz}',
    '',
  ].join('\n');
  const records = (file: string, part: string | null, level?: string) => [
    { file, part, line: 3, column: 5, path: 'runcmd.0', level: level ?? 'error', code: 'no-form-matches', message: '42 matches none of the allowed forms' },
    { file, part, line: 4, column: 11, path: 'bootcmd.0', level: level ?? 'error', code: 'no-form-matches', message: 'true matches none of the allowed forms' },
    { file, part, line: 5, column: 1, path: 'write_file', level: level ?? 'error', code: 'unknown-key', message: "unknown key 'write_file' (did you mean 'write_files'?)" },
    { file, part, line: 7, column: 26, path: 'disk_setup./dev/sdb.table_type', level: level ?? 'error', code: 'not-allowed', message: '"xyz" is not one of "mbr", "gpt"' },
  ];

  test('--format json: every problem as {file, part, line, column, path, level, code, message}, under both names; status --format json lists the boot\'s', () => {
    const root = newRoot();
    const file = join(root, 'bad.yaml');
    writeFileSync(file, BAD);
    const r = agent(root, ['schema', '--config-file', file, '--format', 'json']);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { valid: false, checked: [file], problems: records(file, null) });
    // cloud-init's name and short flag give the same answer.
    const c = asCloudInit(root, ['schema', '-c', file, '--format', 'json']);
    assert.equal(c.status, 1, c.stderr);
    assert.equal(c.stdout, r.stdout);
    // Valid, and not a cloud-config at all.
    writeFileSync(join(root, 'good.yaml'), '#cloud-config\nruncmd: [ls]\n');
    assert.deepEqual(JSON.parse(agent(root, ['schema', '--config-file', join(root, 'good.yaml'), '--format', 'json']).stdout), { valid: true, checked: [join(root, 'good.yaml')], problems: [] });
    writeFileSync(join(root, 'script.sh'), '#!/bin/sh\necho hi\n');
    const script = agent(root, ['schema', '--config-file', join(root, 'script.sh'), '--format', 'json']);
    assert.equal(script.status, 1);
    assert.equal((JSON.parse(script.stdout) as { problems: Array<{ code: string; line: number }> }).problems[0]!.code, 'not-cloud-config');

    // The same document as the instance's user-data: the boot reports its schema problems as warnings (the
    // part still applies), and the modules their own: errors first, then warnings, as status.json keeps them.
    seed(root, 'instance-id: iid-schema-json\n', BAD);
    assert.equal(agent(root, ['boot']).status, 1);
    const st = agent(root, ['status', '--format', 'json']);
    assert.equal(st.status, 1);
    const status = JSON.parse(st.stdout) as { problems: unknown[]; errors: string[]; recoverable_errors: { WARNING: string[] } };
    const fromModule = (name: string, level: string, message: string) => ({ file: null, part: null, line: null, column: null, path: `module ${name}`, level, code: 'module', message });
    assert.deepEqual(status.problems, [
      fromModule('bootcmd', 'error', 'bootcmd: entry 1 is neither a string nor a list of words'),
      fromModule('runcmd', 'error', 'runcmd: entry 1 is neither a string nor a list of words'),
      ...records('/var/lib/cloud/data/user-data.txt', 'part-001', 'warning'),
      fromModule('disk_setup', 'warning', 'disk_setup /dev/sdb: table_type must be mbr or gpt: ignored'),
    ]);
    assert.equal(status.errors.length + status.recoverable_errors.WARNING.length, status.problems.length);
    // schema --system: the saved user-data, the same records as errors.
    const system = JSON.parse(agent(root, ['schema', '--system', '--format', 'json']).stdout) as { problems: unknown[] };
    assert.deepEqual(system.problems, records('/var/lib/cloud/data/user-data.txt', 'part-001'));
  });
});
