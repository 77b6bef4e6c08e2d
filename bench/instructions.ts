// Own CPU as instructions: each ec2-init stage process of a first and a
// second boot run under callgrind, which counts the instructions the process
// itself executes (not the programs it starts: children are not traced).
// Unlike CPU time, the count hardly moves with the machine's load, so a
// change's effect can be read on a busy machine. Same roots, seed and
// sandbox as the process bench's `cloud-config` and `second-boot` scenarios
// (run.ts): the Debian 12 root with its own cloud.cfg, a NoCloud seed.
//   node bench/instructions.ts [--exe PATH] [--runs N] [--json FILE] [--keep DIR]
// --exe counts another build (default dist/ec2-init), e.g. main's, to compare;
// --keep DIR keeps each process's callgrind profile there (callgrind_annotate
// reads it; function names need an executable built with
// EC2_INIT_KEEP_SYMBOLS=1).
// Needs root (as the process bench) and valgrind on the host (Debian 12: the
// root is bookworm too, so the host's valgrind runs inside it).
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EC2_INIT, EC2_INIT_BIN } from './agents.ts';
import { ensureImage } from './chroot.ts';
import type { RunResult } from './inner.ts';
import { runIsolated } from './sandbox.ts';
import { equalModules, makeScenarios } from './scenarios.ts';
import { exitstat } from './tools.ts';

const { values } = parseArgs({ options: { exe: { type: 'string', default: EC2_INIT_BIN }, runs: { type: 'string', default: '1' }, json: { type: 'string' }, keep: { type: 'string' } } });
const CACHE = process.env.EC2_INIT_BENCH_CACHE ?? '/var/cache/ec2-init-bench';
const log = (s: string) => console.error(`instructions: ${s}`);

if (process.getuid?.() !== 0) throw new Error('needs root: it builds namespaces, mounts and chroots (as npm run bench)');
if (!existsSync(values.exe)) throw new Error(`${values.exe} is missing: run npm run build`);
if (!existsSync('/usr/bin/valgrind.bin')) throw new Error('needs valgrind (apt-get install valgrind)');

// The host's valgrind at its own paths in a layer over the root: the launcher
// itself (valgrind.bin, without Debian's wrapper script, which would change
// the environment of the agent and its programs; it needs only libc), the
// callgrind tool (static) and the preload library.
function valgrindLayer(): string {
  const layer = join(CACHE, 'valgrind-layer');
  mkdirSync(join(layer, 'usr/bin'), { recursive: true });
  mkdirSync(join(layer, 'usr/libexec/valgrind'), { recursive: true });
  cpSync('/usr/bin/valgrind.bin', join(layer, 'usr/bin/valgrind.bin'));
  for (const f of ['callgrind-amd64-linux', 'vgpreload_core-amd64-linux.so', 'default.supp']) {
    cpSync(join('/usr/libexec/valgrind', f), join(layer, 'usr/libexec/valgrind', f));
  }
  return layer;
}

// The executable counted, in a layer of this run's own (the process bench's
// ec2-init layer is shared by whoever runs the bench).
mkdirSync(CACHE, { recursive: true });
const exeLayer = mkdtempSync(join(CACHE, 'instructions-'));
process.on('exit', () => rmSync(exeLayer, { recursive: true, force: true }));
mkdirSync(join(exeLayer, 'usr/bin'), { recursive: true });
cpSync(values.exe, join(exeLayer, 'usr/bin/ec2-init'));

const image = ensureImage('bookworm', log);
const lowers = [exeLayer, valgrindLayer(), image.root];
// Only the bookworm root is booted: the trixie lists are never read.
const lists = equalModules(image.root).lists;
const scenarios = makeScenarios({ bookworm: lists, trixie: lists });
// callgrind in front of each stage command; its profile goes to /dev/null, or
// with --keep to a file per boot and stage, read back after the run.
const VALGRIND = ['/usr/bin/valgrind.bin', '--tool=callgrind'];
const profileOf = (boot: number, stage: number) => `/var/tmp/callgrind.out.${boot + 1}-${stage + 1}`;
const counted = (boot: number) => EC2_INIT.stages.map((argv, k) =>
  [...VALGRIND, `--callgrind-out-file=${values.keep ? profileOf(boot, k) : '/dev/null'}`, ...argv]);

// callgrind's last lines: "==PID== Collected : N" (instructions, Ir).
function instructions(tail: string): number {
  const m = /==\d+== Collected : (\d+)/.exec(tail);
  if (!m) throw new Error(`no callgrind summary in the output:\n${tail}`);
  return Number(m[1]);
}

const counts: Record<string, number[]> = {};   // "boot: stage" → per run
// second-boot's first boot is the cloud-config scenario's boot: both are counted from one run.
const s = scenarios.find((x) => x.id === 'second-boot')!;
for (let run = 0; run < Number(values.runs); run++) {
  const boots = s.boots(EC2_INIT).map((b, k) => ({ ...b, measured: true, commands: counted(k) }));
  const r: RunResult = runIsolated({
    lowers,
    files: s.files(EC2_INIT).map((f) => ({ path: f.path, base64: Buffer.from(f.content).toString('base64'), mode: f.mode })),
    boots, trace: false, exitstat: exitstat(), memory: false, checks: s.checks, timeoutMs: 600_000,
    collect: values.keep ? boots.flatMap((_, b) => EC2_INIT.stages.map((__, k) => profileOf(b, k))) : [],
  });
  for (const [b, boot] of r.boots.entries()) {
    for (const [k, c] of boot.commands.entries()) {
      if (c.code !== 0) throw new Error(`${c.argv.join(' ')} exited ${c.code}:\n${c.outputTail}`);
      (counts[`${boot.label}: ${EC2_INIT.stages[k]!.slice(1).join(' ')}`] ??= []).push(instructions(c.outputTail));
      if (values.keep) {
        mkdirSync(values.keep, { recursive: true });
        writeFileSync(join(values.keep, `callgrind.out.${b + 1}-${k + 1}`), r.collected[profileOf(b, k)] ?? '');
      }
    }
  }
  const failed = r.checks.filter((c) => !c.ok);
  if (failed.length) throw new Error(`the boot did not do its work: ${failed.map((c) => c.path).join(', ')}`);
}

const M = (n: number) => (n / 1e6).toFixed(1);
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const totals: Record<string, number> = {};
for (const [key, xs] of Object.entries(counts)) {
  const boot = key.split(':')[0]!;
  totals[boot] = (totals[boot] ?? 0) + med(xs);
  console.log(`${key.padEnd(40)} ${M(med(xs)).padStart(8)} M`);
}
for (const [boot, n] of Object.entries(totals)) console.log(`${`${boot}: four processes`.padEnd(40)} ${M(n).padStart(8)} M`);
if (values.json) writeFileSync(values.json, JSON.stringify({ counts, totals }, null, 2));
