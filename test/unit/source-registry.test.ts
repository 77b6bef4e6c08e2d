// Unit: the datasource registry (src/sources/registry.ts), which the search
// walks without loading the sources' code, says what each source itself
// says: every source, in cloud-init's default order, each with its own name,
// reach and provisioned step, and its loader gives that source. And the
// search loads a source only when it asks it: init-local with a NoCloud seed
// loads no other source.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_DATASOURCES } from '../../src/config/system.ts';
import { SOURCE_INFO } from '../../src/sources/registry.ts';
import { tempDir, writeIn } from '../helpers/files.ts';

const SRC = path.resolve(import.meta.dirname, '../../src/sources');

test('the registry lists every source, in the order of the default datasource_list', () => {
  assert.deepEqual(SOURCE_INFO.map((s) => s.name), DEFAULT_DATASOURCES);
  // Every file that defines a Source is behind a loader of the registry.
  const defining = readdirSync(SRC).filter((f) => f.endsWith('.ts') && /^export const \w+: Source = \{/m.test(readFileSync(path.join(SRC, f), 'utf8')));
  const loaded = [...readFileSync(path.join(SRC, 'registry.ts'), 'utf8').matchAll(/import\('\.\/([\w-]+\.ts)'\)/g)].map((m) => m[1]!);
  assert.deepEqual(loaded.sort(), defining.sort());
});

test('each entry says what its source says, and loads that source', async () => {
  for (const info of SOURCE_INFO) {
    const source = await info.load();
    assert.deepEqual({ name: source.name, reach: source.reach, provisioned: source.provisioned !== undefined },
      { name: info.name, reach: info.reach, provisioned: info.provisioned ?? false }, `${info.name}: the registry and the source disagree`);
  }
});

test('init-local whose first listed source answers loads no other source', () => {
  const root = tempDir('source-registry-');
  writeIn(root, 'var/lib/cloud/seed/nocloud/meta-data', 'instance-id: iid-registry\n');
  writeIn(root, 'var/lib/cloud/seed/nocloud/user-data', '#cloud-config\n{}\n');
  // A child process records every module it loads (module.registerHooks), then runs init-local's search.
  const script = String.raw`
    import { registerHooks } from 'node:module';
    const loaded = [];
    registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
    const [search, context, log] = process.argv.slice(1, 4);
    const { searchSources } = await import(search);
    const { Context } = await import(context);
    const { silentLogger } = await import(log);
    const found = await searchSources(new Context(process.argv[4], silentLogger), {}, JSON.parse(process.argv[5]), 'local');
    const sources = loaded.map((u) => /\/src\/sources\/([\w-]+)\.ts$/.exec(u)?.[1]).filter(Boolean);
    console.log(JSON.stringify({ found: found?.instanceId ?? null, sources }));`;
  const run = (list: string[]) => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script,
      ...['../../src/sources/search.ts', '../../src/context.ts', '../../src/log.ts'].map((f) => path.resolve(import.meta.dirname, f)),
      root, JSON.stringify(list)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { found: string | null; sources: string[] };
  };
  const sourceFiles = (sources: string[]) => sources.filter((f) => SOURCE_INFO.some((s) => s.name.toLowerCase() === f));

  const first = run(['NoCloud', 'ConfigDrive', 'Ec2', 'None']);
  assert.equal(first.found, 'iid-registry');
  assert.deepEqual(sourceFiles(first.sources), ['nocloud']);
  // Listed after one that is asked and not found: both loaded, still none after the one that answers.
  const second = run(['ConfigDrive', 'NoCloud', 'Azure', 'Ec2', 'None']);
  assert.equal(second.found, 'iid-registry');
  assert.deepEqual(sourceFiles(second.sources).sort(), ['configdrive', 'nocloud']);
});
