// Problem records (src/schema/problems.ts): each kind of problem the checker
// finds gets its stable code, file, line and column; the boot's text lines
// (status.json) give back the same records; README's table lists every code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fromBootProblem, fromSchemaProblem, PROBLEM_CODES } from '../../src/schema/problems.ts';
import { checkValue, formatProblem } from '../../src/schema/validate.ts';
import { codeOfMessage } from '../../src/schema/problems.ts';
import { schemaProblems } from '../helpers/schema.ts';
import { TOP } from '../helpers/paths.ts';

// One problem of each kind the checker finds, each on a line of its own.
const DOC = [
  '#cloud-config',                                              // 1
  'runcmd: ls',                                                 // 2 wrong-type
  'runcmnd: [ls]',                                              // 3 unknown-key
  'mcollective: {conf: {}}',                                    // 4 not-implemented
  'ca-certs: {trusted: [a]}',                                   // 5 deprecated
  'disk_setup: {/dev/sdb: {table_type: xyz}}',                  // 6 not-allowed
  'growpart: {mode: 7}',                                        // 7 no-form-matches
  'power_state: {mode: reboot, delay: -5}',                     // 8 no-form-matches (too small, inside a oneOf)
  'ca_certs: {trusted: []}',                                    // 9 too-few-items
  'write_files: [{content: x}]',                                // 10 missing-key
  'snap: {}',                                                   // 11 not-applicable
  'lvm: {volume_groups: [{name: vg, devices: [/dev/sdb], logical_volumes: [{name: lv, size: 10G, mount: rel}]}]}', // 12 bad-format
  '"a: b": 1',                                                  // 13 unknown-key, a key holding ': '
  '',
].join('\n');

const EXPECTED: Array<[number, number, string, string, string]> = [
  [2, 9, 'error', 'wrong-type', 'runcmd'],
  [3, 1, 'error', 'unknown-key', 'runcmnd'],
  [4, 1, 'warning', 'not-implemented', 'mcollective'],
  [5, 11, 'warning', 'deprecated', 'ca-certs'],
  [6, 37, 'error', 'not-allowed', 'disk_setup./dev/sdb.table_type'],
  [7, 18, 'error', 'no-form-matches', 'growpart.mode'],
  [8, 36, 'error', 'no-form-matches', 'power_state.delay'],
  [9, 21, 'error', 'too-few-items', 'ca_certs.trusted'],
  [10, 15, 'error', 'missing-key', 'write_files.0'],
  [11, 1, 'info', 'not-applicable', 'snap'],
  [12, 102, 'error', 'bad-format', 'lvm.volume_groups.0.logical_volumes.0.mount'],
  [13, 1, 'error', 'unknown-key', 'a: b'],
];

test('each kind of problem has its code, at its line and column', () => {
  const records = schemaProblems(DOC).map((p) => fromSchemaProblem(p, '/tmp/bad.yaml'));
  assert.deepEqual(records.map((r) => [r.line, r.column, r.level, r.code, r.path]), EXPECTED);
  for (const r of records) {
    assert.equal(r.file, '/tmp/bad.yaml');
    assert.equal(r.part, null);
    assert.ok(PROBLEM_CODES.some((c) => c.code === r.code));
  }
  // Whole-document problems: no path.
  const [yaml] = schemaProblems('#cloud-config\na: [\n').map((p) => fromSchemaProblem(p, 'f'));
  assert.deepEqual([yaml!.line, yaml!.column, yaml!.code, yaml!.path], [3, 1, 'yaml-syntax', '']);
  const [list] = schemaProblems('#cloud-config\n- a\n').map((p) => fromSchemaProblem(p, 'f'));
  assert.deepEqual([list!.line, list!.column, list!.code], [1, 1, 'not-a-mapping']);
});

test('a number out of bounds: too-small, too-large (no module schema has a bare bound today)', () => {
  const codes = (v: number) => checkValue(v, { type: 'integer', minimum: 0, maximum: 9 }, ['n']).map((f) => codeOfMessage(f.message));
  assert.deepEqual(codes(-1), ['too-small']);
  assert.deepEqual(codes(10), ['too-large']);
  assert.deepEqual(codes(5), []);
});

test("the boot's lines of text (status.json) give back the same records", () => {
  for (const p of schemaProblems(DOC)) {
    const record = fromSchemaProblem(p, '/var/lib/cloud/data/user-data.txt', 'part-001');
    // As the boot reports a schema problem of a part (src/handlers/index.ts).
    const line = `user-data part-001 (text/cloud-config): invalid cloud-config at ${formatProblem(p)}`;
    assert.deepEqual(fromBootProblem('warning', line), { ...record, level: 'warning' }, line);
  }
  assert.deepEqual(fromBootProblem('error', "user-data part-002 (text/cloud-config): invalid cloud-config at line 3, column 1: invalid YAML: found ':'; this part was skipped"),
    { file: '/var/lib/cloud/data/user-data.txt', part: 'part-002', line: 3, column: 1, path: '', level: 'error', code: 'yaml-syntax', message: "invalid YAML: found ':'" });
  assert.deepEqual(fromBootProblem('warning', '/etc/cloud/cloud.cfg.d/90.cfg: /etc/cloud/cloud.cfg.d/90.cfg: invalid YAML at line 2, column 5: oops (file ignored; fix it and run again)'),
    { file: '/etc/cloud/cloud.cfg.d/90.cfg', part: null, line: 2, column: 5, path: '', level: 'warning', code: 'yaml-syntax', message: 'invalid YAML: oops (file ignored; fix it and run again)' });
  assert.deepEqual(fromBootProblem('error', 'module scripts_user: /var/lib/cloud/instance/scripts/runcmd: exit 3'),
    { file: null, part: null, line: null, column: null, path: 'module scripts_user', level: 'error', code: 'module', message: '/var/lib/cloud/instance/scripts/runcmd: exit 3' });
  assert.equal(fromBootProblem('warning', 'datasource: no datasource found (searched NoCloud); nothing to do').code, 'datasource');
});

test("README's table of problem codes lists every code, and only those", () => {
  const readme = readFileSync(join(TOP, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Problem codes'));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| code |')));
  const listed = [...table.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(listed, PROBLEM_CODES.map((c) => c.code));
});
