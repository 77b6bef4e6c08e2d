// The agents as the harness sees them: how each boots (the commands run
// chrooted into the root), what it puts in the image, where it logs, and how
// to read from its log which modules it ran.
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Suite } from './chroot.ts';

const TOP = join(dirname(fileURLToPath(import.meta.url)), '..');
export const EC2_INIT_BIN = join(TOP, 'dist', 'ec2-init');
const CACHE = process.env.EC2_INIT_BENCH_CACHE ?? '/var/cache/ec2-init-bench';

export interface Agent {
  id: string;                 // 'cloud-init 22.4', 'cloud-init 25.1', 'ec2-init', 'ec2-init boot', …
  kind: 'cloud-init' | 'ec2-init';
  suite: Suite;               // the root it boots on
  stages: string[][];         // one process per entry, in order
  // cloud-init 25's single process (`cloud-init --all-stages`, which Debian
  // 13's cloud-init-main.service runs): `stages` is that one command, run in
  // the background, and these are the four units' commands, run one after
  // the other as systemd would once the process has bound its sockets. The
  // boot ends when the process exits.
  unitPokes?: string[][];
  processes: string;          // how it runs, for the tables: 'four processes', 'one process'
  asUnitsRun: boolean;        // how the image's own systemd units run it
  version: string[];          // the cheapest command: the runtime's start-up floor
  startup: boolean;           // measured for --version (one agent per executable)
  log: string;                // its log, under the root
  modulesRan(log: string): string[];
}

const STAGES = [['init', '--local'], ['init'], ['modules', '--mode', 'config'], ['modules', '--mode', 'final']];

// Each module ends with "finish: init-network/config-write_files: SUCCESS:
// config-write_files ran successfully" (22.4; 25.1 adds " and took 0.002
// seconds"), or "previously ran" when its semaphore says it is done.
const cloudInitModules = (log: string) =>
  [...new Set([...log.matchAll(/finish: [\w-]+\/config-(\w+): SUCCESS: config-\w+ ran successfully/g)].map((m) => m[1]!))];

// "22.4.2-1+deb12u4" → "22.4"
export const shortVersion = (v: string) => /^(\d+\.\d+)/.exec(v)?.[1] ?? v;

// cloud-init of one root. Debian 12 (22.4) runs four processes, one per unit.
// Debian 13 (25.1) runs one, `cloud-init --all-stages` (cloud-init-main.service),
// which the four units only start stage by stage over unix sockets
// (`echo start | nc -Uu -W1 /run/cloud-init/share/STAGE.sock -s …-return.sock | sh`);
// its four stage commands still exist, and are measured too.
export function cloudInitAgents(suite: Suite, version: string): Agent[] {
  const id = `cloud-init ${shortVersion(version)}`;
  const base = { kind: 'cloud-init' as const, suite, version: ['cloud-init', '--version'], log: '/var/log/cloud-init.log', modulesRan: cloudInitModules };
  const four: Agent = { ...base, id, stages: STAGES.map((a) => ['cloud-init', ...a]), processes: 'four processes', asUnitsRun: suite === 'bookworm', startup: true };
  if (suite === 'bookworm') return [four];
  const sock = (st: string) => `echo "start" | nc -Uu -W1 /run/cloud-init/share/${st}.sock -s /run/cloud-init/share/${st}-return.sock | sh`;
  const one: Agent = { ...base, id: `${id} --all-stages`, stages: [['cloud-init', '--all-stages']], processes: 'one process (+ 4 unit pokes)',
    unitPokes: ['local', 'network', 'config', 'final'].map((st) => ['sh', '-c', sock(st)]), asUnitsRun: true, startup: false };
  return [four, one];
}

const EC2 = '/usr/bin/ec2-init';
// "module write_files: done in 0.4 ms": the module runner's line per module run.
function ec2Modules(log: string): string[] {
  return [...new Set([...log.matchAll(/module (\w+): done/g)].map((m) => m[1]!))];
}

// Where an ec2-init boot's time goes, by its own log: per process, from its
// first line ("ec2-init 0.1.0: init --local") to its first "stage …: start"
// (reading the system config, finding the datasource and instance), and the
// stages' own "stage …: done in N ms" (modules and the work in them). What is
// left of a process's wall-clock time is before its first line (the runtime's
// start, loading the program) and after its last (status, exit).
// Each process also logs its own CPU time at its end (getrusage RUSAGE_SELF:
// all its threads, none of its programs): summed, the agent's own overhead
// in CPU time, measured untraced.
export interface Ec2Phases { setupMs: number; stagesMs: number; processes: number; ownCpuMs: number }
export function ec2Phases(log: string): Ec2Phases {
  const r: Ec2Phases = { setupMs: 0, stagesMs: 0, processes: 0, ownCpuMs: 0 };
  let first: number | null = null;
  for (const line of log.split('\n')) {
    const m = /^(\S+Z) \w+: (.*)$/.exec(line);
    if (!m) continue;
    const t = Date.parse(m[1]!);
    const text = m[2]!;
    if (/^ec2-init \S+: /.test(text)) { first = t; r.processes++; continue; }
    if (/^stage [\w-]+: start$/.test(text) && first !== null) { r.setupMs += t - first; first = null; continue; }
    const done = /^stage [\w-]+: done in ([\d.]+) ms/.exec(text);
    if (done) r.stagesMs += Number(done[1]);
    const cpu = /^ec2-init: own CPU ([\d.]+) ms/.exec(text);
    if (cpu) r.ownCpuMs += Number(cpu[1]);
  }
  return r;
}

// ec2-init as its own units run it: the same four processes, on the bookworm root.
export const EC2_INIT: Agent = {
  id: 'ec2-init',
  kind: 'ec2-init',
  suite: 'bookworm',
  stages: STAGES.map((a) => [EC2, ...a]),
  processes: 'four processes',
  asUnitsRun: true,
  version: [EC2, '--version'],
  startup: true,
  log: '/var/log/ec2-init.log',
  modulesRan: ec2Modules,
};

// All four stages in one process (`ec2-init boot`): what a single unit would cost.
export const EC2_INIT_BOOT: Agent = { ...EC2_INIT, id: 'ec2-init boot', stages: [[EC2, 'boot']], processes: 'one process', asUnitsRun: false, startup: false };

// The layer that puts ec2-init into the image: /usr/bin/ec2-init, copied from
// dist/ on every run of the harness so it always measures the current build.
// It sits on top of the Debian root for every run, cloud-init's included, so
// both agents boot the very same image.
export function ec2InitLayer(): string {
  const layer = join(CACHE, 'ec2-init-layer');
  mkdirSync(join(layer, 'usr/bin'), { recursive: true });
  copyFileSync(EC2_INIT_BIN, join(layer, 'usr/bin/ec2-init'));
  return layer;
}

export function ec2InitVersion(): string {
  return execFileSync(EC2_INIT_BIN, ['--version'], { encoding: 'utf8' }).trim().split('\n')[0]!;
}

// Size on disk of ec2-init installed: the .deb's Installed-Size when one was
// built from this executable, else the executable (which is nearly all of it).
export function ec2InitSize(): { kib: number; from: string; exeBytes: number } {
  const exeBytes = statSync(EC2_INIT_BIN).size;
  const dist = join(TOP, 'dist');
  const debs = readdirSync(dist).filter((f) => /^ec2-init_.*_amd64\.deb$/.test(f))
    .map((f) => join(dist, f)).filter((f) => statSync(f).mtimeMs >= statSync(EC2_INIT_BIN).mtimeMs);
  if (debs.length > 0 && existsSync('/usr/bin/dpkg-deb')) {
    const deb = debs.sort().pop()!;
    const kib = Number(execFileSync('dpkg-deb', ['-f', deb, 'Installed-Size'], { encoding: 'utf8' }).trim());
    return { kib, from: `Installed-Size of ${deb.slice(TOP.length + 1)}`, exeBytes };
  }
  return { kib: Math.round(exeBytes / 1024), from: 'size of dist/ec2-init; no .deb built from it', exeBytes };
}
