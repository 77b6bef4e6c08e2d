// Unit: the module registry (src/modules/registry.ts), which stages plan from
// without loading the modules' code, says what each module itself says: the
// same modules in the same order, each with its own name, stage, frequency,
// keys and housekeeping flag, and its loader gives that module. What a stage
// loads before it needs it: no module, datasource or network renderer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MODULES } from '../../src/modules/index.ts';
import { MODULE_INFO } from '../../src/modules/registry.ts';
import { importGraph, staticClosure } from '../helpers/import-graph.ts';

test('the registry lists every module of index.ts, in its order', () => {
  assert.deepEqual(MODULE_INFO.map((m) => m.name), MODULES.map((m) => m.name));
});

test('each entry says what its module says, and loads that module', async () => {
  for (const [i, info] of MODULE_INFO.entries()) {
    const module = await info.load();
    assert.equal(module, MODULES[i], `${info.name}: the loader gives another module`);
    const { name, stage, frequency, keys, housekeeping } = module;
    assert.deepEqual({ name: info.name, stage: info.stage, frequency: info.frequency, keys: [...info.keys], housekeeping: info.housekeeping ?? false },
      { name, stage, frequency, keys: [...keys], housekeeping: housekeeping ?? false }, `${info.name}: the registry and the module disagree`);
  }
});

test('a stage loads no module, datasource, network renderer or user-data reader until it needs one', () => {
  // What stages config and final load before their first module runs (stages.ts and what it imports).
  const loaded = staticClosure(importGraph(), ['src/entry.ts', 'src/main.ts', 'src/stages.ts']);
  // net/cancel.ts (sleep) is main's own: it waits for the boot lock.
  const eager = [...loaded].filter((f) => (/^src\/(sources|network|userdata|handlers|net)\//.test(f) && f !== 'src/net/cancel.ts')
    || (/^src\/modules\//.test(f) && !/^src\/modules\/(registry|module-lists|module|output)\.ts$/.test(f)));
  assert.deepEqual(eager, []);
});

test('stage init loads no datasource and no network renderer unless it searches', () => {
  const loaded = staticClosure(importGraph(), ['src/entry.ts', 'src/main.ts', 'src/stages.ts', 'src/stage-init.ts']);
  assert.deepEqual([...loaded].filter((f) => /^src\/(sources|network)\//.test(f) && !['src/sources/source.ts', 'src/sources/registry.ts'].includes(f)), []);
});
