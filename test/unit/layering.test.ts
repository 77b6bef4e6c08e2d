// Unit: the directories of src/ import one way, lowest first (README
// "Layers"): a file may import its own layer and the layers below it, never
// one above. A layer is a directory, or a file of src/ itself; the longest
// match names a file's layer. Type-only imports are erased by the build and
// do not count. What a command loads is checked here too: `status` must not
// load the Jinja engine.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { importGraph, staticClosure } from '../helpers/import-graph.ts';

export const LAYERS: string[][] = [
  // What everything stands on: the machine (every effect), bytes, the log, the shared types.
  ['src/host', 'src/bytes.ts', 'src/hash.ts', 'src/log.ts', 'src/types.ts', 'src/version.ts'],
  // Pure readers and checks of outside values.
  ['src/yaml', 'src/validate'],
  // Network config as a value (parse, render) — below net/, whose ephemeral network uses it.
  ['src/network'],
  // The HTTP client, its retry policy, cancellation, the ephemeral network.
  ['src/net'],
  // The on-disk state: layout, instance, semaphores, status, the enabled rule.
  ['src/state'],
  // The vocabulary of plan steps (what plan builds, handlers and stages log): only types and the layout below it.
  ['src/plan/steps.ts'],
  ['src/context.ts'],
  // System config and cloud-init's config merging.
  ['src/config'],
  ['src/sources'],
  ['src/userdata'],
  ['src/schema'],
  ['src/modules'],
  ['src/handlers'],
  ['src/plan'],
  ['src/stages.ts', 'src/stage-init.ts', 'src/stage-modules.ts', 'src/consume.ts'],
  ['src/commands', 'src/cli'],
  ['src/main.ts', 'src/entry.ts'],
];

/** Upward imports known and left, each with why; the list only shrinks. */
const KNOWN: Record<string, string> = {};

function layerOf(file: string): number {
  let best = -1;
  let len = -1;
  LAYERS.forEach((layer, i) => layer.forEach((p) => {
    if ((file === p || file.startsWith(`${p}/`)) && p.length > len) { best = i; len = p.length; }
  }));
  return best;
}

test('every file of src/ has a layer', () => {
  assert.deepEqual([...importGraph().keys()].filter((f) => layerOf(f) < 0), []);
});

test('no file imports a layer above its own', () => {
  const upward: string[] = [];
  for (const [file, imports] of importGraph()) {
    for (const to of [...imports.static, ...imports.dynamic]) {
      if (layerOf(to) > layerOf(file) && !KNOWN[`${file} -> ${to}`]) upward.push(`${file} -> ${to}`);
    }
  }
  assert.deepEqual(upward, []);
});

test('the known upward imports are still there (else: take them off the list)', () => {
  const graph = importGraph();
  for (const edge of Object.keys(KNOWN)) {
    const [from, to] = edge.split(' -> ') as [string, string];
    assert.ok(graph.get(from)?.static.includes(to), `${edge} is gone: remove it from KNOWN`);
  }
});

test('no two files of src/ import each other, directly or round a cycle (a dynamic import counts: the shared piece belongs in a file of its own)', () => {
  const graph = importGraph();
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (file: string, path: string[]): void => {
    state.set(file, 'open');
    for (const to of [...(graph.get(file)?.static ?? []), ...(graph.get(file)?.dynamic ?? [])]) {
      if (state.get(to) === 'open') cycles.push([...path.slice(path.indexOf(to)), to].join(' -> '));
      else if (!state.has(to) && graph.has(to)) visit(to, [...path, to]);
    }
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file, [file]);
  assert.deepEqual(cycles, []);
});

test('`status` does not load the Jinja engine (nor the modules, nor the sources)', () => {
  const loaded = staticClosure(importGraph(), ['src/entry.ts', 'src/main.ts', 'src/commands/status.ts']);
  assert.deepEqual([...loaded].filter((f) => /^src\/(userdata\/jinja|modules\/|sources\/|handlers\/)/.test(f)), []);
});
