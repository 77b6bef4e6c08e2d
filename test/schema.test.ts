// Schema: module schemas, unknown keys, cloud-init-only keys, line and column;
// the doc and module examples from cloud-init all parse and never crash it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { MODULES } from '../src/modules/index.ts';
import { checkCloudConfigText } from '../src/schema/validate.ts';
import { agent, cannotRun, makeRoot, removeRoot, seed, TOP } from './helpers/agent.ts';

const CONFORMANCE = join(TOP, '..', 'shared', 'conformance', 'cloud-init');
const check = (text: string) => checkCloudConfigText(text, MODULES).problems;

test('a valid cloud-config has no problems', () => {
  assert.deepEqual(check('#cloud-config\nruncmd: [ls, [echo, hi]]\nwrite_files:\n  - {path: /a, content: x, permissions: "0644"}\n'), []);
});

test('type errors name the path, the line and the column', () => {
  const problems = check('#cloud-config\nwrite_files:\n  - path: /a\n    permissions: [1]\n    append: maybe\n');
  assert.deepEqual(problems.map((p) => [p.level, p.path, p.line, p.column]), [
    ['error', 'write_files.0.permissions', 4, 18],
    ['error', 'write_files.0.append', 5, 13],
  ]);
  assert.match(problems[0]!.message, /is not of type 'string', 'integer'/);
});

test('unknown keys are named with the closest known key; cloud-init-only keys are reported as such', () => {
  const problems = check('#cloud-config\nruncmnd: [ls]\nwrite_files: [{path: /a, contnet: x}]\nlxd: {init: {}}\npuppet: {install: true}\n');
  const byPath = Object.fromEntries(problems.map((p) => [p.path, p]));
  assert.match(byPath['runcmnd']!.message, /unknown key 'runcmnd' \(did you mean 'runcmd'\?\)/);
  assert.equal(byPath['runcmnd']!.line, 2);
  assert.match(byPath['write_files.0.contnet']!.message, /did you mean 'content'/);
  // A module a Debian image has no use for (cloud-init's Debian lists leave it out): a note, not a warning.
  assert.equal(byPath['lxd']!.level, 'info');
  assert.match(byPath['lxd']!.message, /'lxd' \(cloud-init's cc_lxd\) is not applicable on this image/);
  assert.equal(byPath['puppet']!.level, 'warning');
  assert.match(byPath['puppet']!.message, /cloud-init's module cc_puppet, which ec2-init does not implement/);
});

test('YAML errors and non-mapping documents are single errors with a position', () => {
  const [bad] = check('#cloud-config\na: [\n');
  assert.equal(bad!.level, 'error');
  assert.match(bad!.message, /invalid YAML/);
  assert.equal(bad!.line, 3);
  const [list] = check('#cloud-config\n- a\n');
  assert.match(list!.message, /must be a mapping/);
});

describe('cloud-init\'s documented examples', { skip: existsSync(CONFORMANCE) ? false : 'no ../shared/conformance (a plain clone): skipped' }, () => {
  test('every cloud-config doc example and module example parses, and the checker never crashes', () => {
    const files = [
      ...readdirSync(join(CONFORMANCE, 'doc-examples')).filter((f) => f.startsWith('cloud-config')).map((f) => join(CONFORMANCE, 'doc-examples', f)),
      ...readdirSync(join(CONFORMANCE, 'module-examples')).flatMap((d) =>
        readdirSync(join(CONFORMANCE, 'module-examples', d)).filter((f) => f.endsWith('.yaml')).map((f) => join(CONFORMANCE, 'module-examples', d, f))),
    ];
    assert.ok(files.length > 100, `${files.length} examples`);
    for (const f of files) {
      const problems = checkCloudConfigText(readFileSync(f, 'utf8'), MODULES).problems;
      assert.ok(!problems.some((p) => p.message.startsWith('invalid YAML')), `${f}: ${JSON.stringify(problems)}`);
    }
  });

  test('the examples of every module ec2-init implements validate with no error', () => {
    for (const module of MODULES) {
      const dir = join(CONFORMANCE, 'module-examples', `cc_${module.name}`);
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir)) {
        const errors = checkCloudConfigText(readFileSync(join(dir, f), 'utf8'), MODULES).problems
          .filter((p) => p.level === 'error' && module.keys.includes(p.path.split('.')[0]!));
        assert.deepEqual(errors, [], `${module.name} ${f}`);
      }
    }
  });
});

describe('ec2-init schema (the executable)', { skip: cannotRun() ?? false }, () => {
  const roots: string[] = [];
  after(() => roots.forEach(removeRoot));

  test('--config-file: valid → exit 0; errors → exit 1 with line and column; --annotate marks the lines', () => {
    const root = makeRoot();
    roots.push(root);
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
    const root = makeRoot();
    roots.push(root);
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
