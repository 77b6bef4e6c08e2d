// Schema: module schemas, unknown keys, cloud-init-only keys, line and column;
// the doc and module examples from cloud-init all parse and never crash it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MODULES } from '../../src/modules/index.ts';
import { checkCloudConfigText } from '../../src/schema/validate.ts';
import { schemaProblems as check } from '../helpers/schema.ts';
import { CONFORMANCE } from '../helpers/paths.ts';

const CLOUD_INIT = join(CONFORMANCE, 'cloud-init');

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
  const problems = check('#cloud-config\nruncmnd: [ls]\nwrite_files: [{path: /a, contnet: x}]\nsnap: {commands: []}\nmcollective: {conf: {}}\n');
  const byPath = Object.fromEntries(problems.map((p) => [p.path, p]));
  assert.match(byPath['runcmnd']!.message, /unknown key 'runcmnd' \(did you mean 'runcmd'\?\)/);
  assert.equal(byPath['runcmnd']!.line, 2);
  assert.match(byPath['write_files.0.contnet']!.message, /did you mean 'content'/);
  // A module a Debian image has no use for (cloud-init's Debian lists leave it out): a note, not a warning.
  assert.equal(byPath['snap']!.level, 'info');
  assert.match(byPath['snap']!.message, /'snap' \(cloud-init's cc_snap\) is not applicable on this image/);
  assert.equal(byPath['mcollective']!.level, 'warning');
  assert.match(byPath['mcollective']!.message, /cloud-init's module cc_mcollective, which ec2-init does not implement/);
});

test('YAML errors and non-mapping documents are single errors with a position', () => {
  const [bad] = check('#cloud-config\na: [\n');
  assert.equal(bad!.level, 'error');
  assert.match(bad!.message, /invalid YAML/);
  assert.equal(bad!.line, 3);
  const [list] = check('#cloud-config\n- a\n');
  assert.match(list!.message, /must be a mapping/);
});

describe('cloud-init\'s documented examples', { skip: existsSync(CLOUD_INIT) ? false : 'no ../shared/conformance (a plain clone): skipped' }, () => {
  test('every cloud-config doc example and module example parses, and the checker never crashes', () => {
    const files = [
      ...readdirSync(join(CLOUD_INIT, 'doc-examples')).filter((f) => f.startsWith('cloud-config')).map((f) => join(CLOUD_INIT, 'doc-examples', f)),
      ...readdirSync(join(CLOUD_INIT, 'module-examples')).flatMap((d) =>
        readdirSync(join(CLOUD_INIT, 'module-examples', d)).filter((f) => f.endsWith('.yaml')).map((f) => join(CLOUD_INIT, 'module-examples', d, f))),
    ];
    assert.ok(files.length > 100, `${files.length} examples`);
    for (const f of files) {
      const problems = checkCloudConfigText(readFileSync(f, 'utf8'), MODULES).problems;
      assert.ok(!problems.some((p) => p.message.startsWith('invalid YAML')), `${f}: ${JSON.stringify(problems)}`);
    }
  });

  test('the examples of every module ec2-init implements validate with no error', () => {
    for (const module of MODULES) {
      const dir = join(CLOUD_INIT, 'module-examples', `cc_${module.name}`);
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir)) {
        const errors = checkCloudConfigText(readFileSync(join(dir, f), 'utf8'), MODULES).problems
          .filter((p) => p.level === 'error' && module.keys.includes(p.path.split('.')[0]!));
        assert.deepEqual(errors, [], `${module.name} ${f}`);
      }
    }
  });
});
