// The import graph of src/, read from the files as text: each file's value
// imports (`import type` and `export type` are erased by the build, so they
// are left out), static and dynamic apart. For the layering test and for
// counting what a command loads.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { TOP as REPO } from './paths.ts';

/** The tree read: this one, or EC2_INIT_TREE (to count another checkout's). */
const TOP = process.env['EC2_INIT_TREE'] ?? REPO;

export interface Imports { static: string[]; dynamic: string[] }

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Every file of src/ (as 'src/dir/file.ts') and what it imports (the same form). */
export function importGraph(): Map<string, Imports> {
  const graph = new Map<string, Imports>();
  for (const file of sources(join(TOP, 'src'))) {
    const text = readFileSync(file, 'utf8').replace(/^\s*\/\/.*$/gm, '');
    const to = (spec: string) => relative(TOP, resolve(dirname(file), spec));
    const stat: string[] = [];
    const dyn: string[] = [];
    for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'(\.[^']+)'/gm)) {
      if (!m[1]) stat.push(to(m[2]!));
    }
    for (const m of text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)) dyn.push(to(m[1]!));
    graph.set(relative(TOP, file), { static: stat, dynamic: dyn });
  }
  return graph;
}

/** The files loaded with `start`: its static imports, theirs, and so on. */
export function staticClosure(graph: Map<string, Imports>, start: string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...start];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...(graph.get(f)?.static ?? []));
  }
  return seen;
}

/** A file's directory under src/ ('modules', 'host', …; '.' for src/ itself). */
export function dirOf(file: string): string {
  const parts = file.split('/');
  return parts.length > 2 ? parts[1]! : '.';
}
