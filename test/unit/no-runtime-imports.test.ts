// Unit: every effect goes through src/host/sys-api.ts. Outside the two
// bindings of that interface no file may import a runtime's module or lean on
// a runtime's globals: the shipped executable is not Node, and what works
// under Node here would fail there (DESIGN.md §6). And outside src/host/ no
// file reaches the Sys object itself: what it does to the machine is a named
// function of host/ (files.ts, run.ts, machine.ts, sockets.ts, codecs.ts,
// clock.ts, process.ts, …), so every effect can be found there.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { TOP } from '../helpers/paths.ts';

/** The bindings: the only files that may speak to a runtime. */
const BINDINGS = new Set(['src/host/node-sys.ts', 'src/host/qjs-sys.ts']);

const FORBIDDEN: Array<[RegExp, string]> = [
  [/from\s+'node:[^']+'/, "imports a node: module"],
  [/(?:import|require)\(\s*'node:/, "loads a node: module"],
  [/from\s+'(?:fs|path|os|child_process|http|https|net|tls|zlib|crypto|dns|url|util|buffer|stream|events)'/, 'imports a Node built-in'],
  [/\bprocess\.(?:env|argv|exit|stdout|stderr|pid|kill|getuid|cwd|hrtime|on)\b/, 'uses Node\'s process'],
  [/\bBuffer\.(?:from|alloc|allocUnsafe|concat|isBuffer|byteLength|compare)\b/, 'uses Node\'s Buffer'],
  [/\b(?:setTimeout|setInterval|setImmediate|clearTimeout|clearInterval|queueMicrotask)\(/, 'uses a runtime timer (use sys.setTimer / net/cancel.ts sleep)'],
  [/\bperformance\.now\(/, 'uses performance.now (use sys.now)'],
  [/\bnew\s+(?:TextDecoder|TextEncoder|URL|URLSearchParams|AbortController)\b/, 'uses a web API the shipped runtime lacks'],
  [/\bstructuredClone\(/, 'uses a web API the shipped runtime lacks'],
  [/\bIntl\.|\.localeCompare\(|\.toLocale\w*\(/, 'uses Intl (absent from the shipped runtime)'],
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

test('outside the host bindings, no file reaches a runtime directly', () => {
  const problems: string[] = [];
  for (const file of sources(join(TOP, 'src'))) {
    const name = relative(TOP, file);
    if (BINDINGS.has(name)) continue;
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (/^\s*(\/\/|\*|\/\*)/.test(line)) return; // comments may name them
      for (const [re, why] of FORBIDDEN) if (re.test(line)) problems.push(`${name}:${i + 1}: ${why}: ${line.trim()}`);
    });
  }
  assert.deepEqual(problems, []);
});

test('outside src/host/, no file reaches the Sys object (every effect is a named function of host/)', () => {
  const problems: string[] = [];
  for (const file of sources(join(TOP, 'src'))) {
    const name = relative(TOP, file);
    if (name.startsWith('src/host/')) continue;
    const text = readFileSync(file, 'utf8');
    // Its types (Stat, Socket) may be named; a value import is the only way to the object (`sys.…` then follows).
    for (const m of text.matchAll(/^import\s+(type\s+)?\{([^}]*)\}\s+from\s+'[./]*host\/sys(?:-api)?\.ts';/gm)) {
      if (m[1]) continue;
      const values = m[2]!.split(',').map((x) => x.trim()).filter((x) => x !== '' && !x.startsWith('type '));
      if (values.length) problems.push(`${name}: imports ${values.join(', ')} from host/sys.ts: call a named function of src/host/ instead`);
    }
    for (const m of text.matchAll(/^import\s+\*\s+as\s+\w+\s+from\s+'[./]*host\/sys\.ts';/gm)) problems.push(`${name}: ${m[0]}`);
  }
  assert.deepEqual(problems, []);
});
