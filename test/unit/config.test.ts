// Unit: YAML as PyYAML reads it, system config, command lists, status summary.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readSystemConfig } from '../../src/config/system.ts';
import { parseYaml, parseYamlMapping, readSavedConfig, toYaml } from '../../src/config/yaml.ts';
import { Files } from '../../src/host/files.ts';
import { commandsToScript, shellQuote } from '../../src/modules/module.ts';
import { emptyStatus, summarize } from '../../src/state/status.ts';
import type { Diag } from '../../src/types.ts';
import { buf } from '../helpers/bytes.ts';

test('YAML 1.1 like PyYAML: yes/no/on/off are booleans, 0644 is octal', () => {
  assert.deepEqual(parseYaml('a: yes\nb: no\nc: on\nd: off\ne: 0644\nf: "yes"\n', 't'), { a: true, b: false, c: true, d: false, e: 420, f: 'yes' });
});

test('YAML errors name the input, the line and the column', () => {
  assert.throws(() => parseYaml('a: 1\nb: [\n', 'user-data part-002'), /user-data part-002: invalid YAML at line \d+, column \d+/);
  assert.throws(() => parseYamlMapping('- a\n- b\n', 'meta-data'), /meta-data: expected a mapping of keys to values, found a list/);
  assert.deepEqual(parseYamlMapping('', 'empty'), {});
});

test('system config: cloud.cfg then cloud.cfg.d/*.cfg in order; a broken file is reported and skipped', () => {
  const root = mkdtempSync(join(tmpdir(), 'ec2-init-cfg-'));
  try {
    mkdirSync(join(root, 'etc/cloud/cloud.cfg.d'), { recursive: true });
    writeFileSync(join(root, 'etc/cloud/cloud.cfg'), 'datasource_list: [Ec2]\nsystem_info:\n  default_user: {name: debian, shell: /bin/bash}\n');
    writeFileSync(join(root, 'etc/cloud/cloud.cfg.d/50-ds.cfg'), 'datasource_list: [NoCloud, None]\n');
    writeFileSync(join(root, 'etc/cloud/cloud.cfg.d/60-broken.cfg'), 'a: [\n');
    writeFileSync(join(root, 'etc/cloud/cloud.cfg.d/README'), 'not a cfg: [\n');
    const diags: Diag[] = [];
    const cfg = readSystemConfig(new Files(root), diags);
    assert.deepEqual(cfg.datasourceList, ['NoCloud', 'None']);
    assert.deepEqual(cfg.defaultUser, { name: 'debian', shell: '/bin/bash' });
    assert.equal(diags.length, 1);
    assert.match(diags[0]!.message, /invalid YAML at line 2.*file ignored/);
    assert.equal(diags[0]!.where, '/etc/cloud/cloud.cfg.d/60-broken.cfg');
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('command lists: strings are shell lines, lists are quoted argv', () => {
  assert.equal(commandsToScript('runcmd', ['echo $HOME', ['echo', "it's", 'a b', '$x']]),
    "#!/bin/sh\necho $HOME\necho 'it'\\''s' 'a b' '$x'\n");
  assert.throws(() => commandsToScript('runcmd', 'echo'), /runcmd: expected a list of commands/);
  assert.throws(() => commandsToScript('runcmd', ['ok', { a: 1 }]), /entry 2 is neither a string nor a list/);
  assert.equal(shellQuote('/usr/bin/x'), '/usr/bin/x');
  assert.equal(shellQuote(''), "''");
});

test('status summary, as cloud-init 25 words it: exit 0 done, 1 error, 2 degraded', () => {
  const pick = (x: ReturnType<typeof summarize>) => [x.status, x.extended, x.exitCode];
  assert.deepEqual(pick(summarize(null)), ['not started', 'not started', 0]);
  const s = emptyStatus();
  for (const k of ['init-local', 'init', 'modules-config', 'modules-final'] as const) {
    Object.assign(s.v1[k] as object, { start: 1, finished: 2 });
  }
  assert.deepEqual(pick(summarize(s)), ['done', 'done', 0]);
  (s.v1['init'] as unknown as { recoverable_errors: Record<string, string[]> }).recoverable_errors = { WARNING: ['w'] };
  assert.deepEqual(pick(summarize(s)), ['done', 'degraded done', 2]);
  (s.v1['modules-final'] as { errors: string[] }).errors.push('e');
  assert.deepEqual(pick(summarize(s)), ['error', 'error - done', 1]);
  assert.deepEqual(pick(summarize(s, null, true)), ['error', 'error - disabled', 1]);
  assert.deepEqual(pick(summarize(emptyStatus(), null, true)), ['disabled', 'disabled', 0]);
});

test('saved configs round-trip without the YAML parser, bytes included; hand-edited YAML still reads', () => {
  const saved = `#cloud-config\n${toYaml({ runcmd: ['ls'], write_files: [{ path: '/b', content: Buffer.from([0, 255, 10]) }], u: new Uint8Array([1, 2]) })}`;
  const back = readSavedConfig(saved, 'user-config.txt');
  assert.deepEqual(buf((back['write_files'] as Array<{ content: Uint8Array }>)[0]!.content), Buffer.from([0, 255, 10]));
  assert.deepEqual(buf(back['u'] as Uint8Array), Buffer.from([1, 2]));
  assert.deepEqual(back['runcmd'], ['ls']);
  assert.deepEqual(readSavedConfig('#cloud-config\nruncmd: [ls]\nflag: yes\n', 'edited'), { runcmd: ['ls'], flag: true });
});

test('a config that aliases made thousands of levels deep is saved compact (indentation would take gigabytes) and reads back', () => {
  // 4 aliases, each 490 levels around the one before: 1 960 levels (the reader's node limit allows ~9 000; Node's
  // stack, which runs this test, not the shipped executable's, is the bound here). Indented it would be 14 MB; compact it is 10 kB.
  let doc = 'd1: &d1 ' + '['.repeat(490) + '1' + ']'.repeat(490) + '\n';
  for (let k = 2; k <= 4; k++) doc += `d${k}: &d${k} ${'['.repeat(490)}*d${k - 1}${']'.repeat(490)}\n`;
  const value = parseYamlMapping(doc, 'deep');
  const saved = toYaml(value);
  assert.ok(saved.length < 100_000, `${saved.length} bytes`);
  let depth = 0;
  for (let v: unknown = readSavedConfig(saved, 'saved')['d4']; Array.isArray(v); v = v[0]) depth++;
  assert.equal(depth, 4 * 490);
  // A config of ordinary depth stays indented for a reader.
  assert.equal(toYaml({ a: [1] }), '{\n  "a": [\n    1\n  ]\n}\n');
});
