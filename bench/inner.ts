// Runs inside the private namespaces that sandbox.ts creates (mount, network,
// UTS, IPC, PID; this process is PID 1 there). It builds a throw-away root
// (overlay of the cached image on a tmpfs), boots an agent on it one or more
// times, and writes what it measured as JSON. Nothing here can reach the
// host's root: every mount below is private to the namespace and vanishes
// with it, and the agents run chrooted into the overlay.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startFront } from './imds-front.ts';
import type { Check } from './seeds.ts';

export interface Boot {
  label: string;
  commands: string[][];   // each run as `chroot ROOT argv…`, one after the other
  measured: boolean;      // false for a boot that only prepares state (the first of a second-boot run)
  // Before each command (or those marked true): sync, then
  // `echo 3 > /proc/sys/vm/drop_caches` (the whole machine's page cache):
  // what a cold start reads from storage.
  dropCaches?: boolean | boolean[];
  // commands is one process, started in the background; these run after it
  // has bound its sockets, one after the other (cloud-init --all-stages and
  // its four units). Unwrapped and untimed: the boot is the process's time.
  unitPokes?: string[][];
  // Instead of commands: hyperfine inside the root (-N: no shell), each of
  // these timed `runs` times after `warmup` runs.
  hyperfine?: { path: string; commands: string[][]; runs: number; warmup: number };
}

export interface Spec {
  lowers: string[];       // overlay lower layers, top first
  scratch: string;        // an empty host directory: a tmpfs is mounted on it here
  files: { path: string; base64: string; mode: number }[];  // placed in the root before any boot
  boots: Boot[];
  trace: boolean;         // run under strace (for attribution only, never timed)
  exitstat: string;       // host path of bench/exitstat.c compiled (tools.ts)
  memory: boolean;        // exitstat -p: each process's VmHWM, RssAnon, RssFile at its exit (ptrace)
  checks: Check[];
  collect: string[];      // files read back after the last boot (logs)
  timeoutMs: number;
  result: string;         // host path of the JSON result
  // An EC2 metadata service simulator (test/helpers/imds-simulator.ts) on
  // 127.0.0.1 inside the namespace; its URL replaces @IMDS_URL@ in files.
  imds?: { delayMs: number; userData: string };
}

export interface CommandResult {
  argv: string[];
  ms: number;
  maxRssKiB: number | null;
  userS: number | null;
  sysS: number | null;
  readBytes: number | null;    // rusage ru_inblock × 512: read from storage (page cache misses)
  hwmKiB: number | null;       // with memory: the agent process's own VmHWM at exit
  rssAnonKiB: number | null;   // … its RssAnon at exit
  rssFileKiB: number | null;   // … its RssFile at exit
  rssShmemKiB: number | null;
  code: number | null;
  outputTail: string;
  strace?: string;
  startedAt: number;      // performance.now() at spawn
}

export interface RunResult {
  boots: { label: string; measured: boolean; ms: number; commands: CommandResult[] }[];
  checks: { path: string; ok: boolean }[];
  collected: Record<string, string>;
  imds?: { method: string; path: string; t: number }[];  // performance.now() at arrival
  hyperfine?: { command: string; median: number; mean: number; min: number; stddev: number | null; times: number[] }[];  // seconds
}

const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root', TERM: 'dumb' };

function mount(args: string[]): void {
  execFileSync('mount', args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

// /dev with only the harmless nodes, bound from the host: no disks, so no
// module of either agent can touch a real block device.
function makeDev(root: string): void {
  const dev = join(root, 'dev');
  mount(['-t', 'tmpfs', '-o', 'mode=755,nosuid', 'tmpfs', dev]);
  for (const n of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) {
    writeFileSync(join(dev, n), '');
    mount(['--bind', `/dev/${n}`, join(dev, n)]);
  }
  symlinkSync('/proc/self/fd', join(dev, 'fd'));
  symlinkSync('/proc/self/fd/0', join(dev, 'stdin'));
  symlinkSync('/proc/self/fd/1', join(dev, 'stdout'));
  symlinkSync('/proc/self/fd/2', join(dev, 'stderr'));
  mkdirSync(join(dev, 'shm'));
  mount(['-t', 'tmpfs', '-o', 'mode=1777,nosuid,nodev', 'tmpfs', join(dev, 'shm')]);
}

// A reboot, as far as the agents can tell: an empty /run and the image's hostname.
function freshRun(root: string): void {
  const run = join(root, 'run');
  spawnSync('umount', ['-l', run]);
  mount(['-t', 'tmpfs', '-o', 'mode=755,nosuid,nodev', 'tmpfs', run]);
  mkdirSync(join(run, 'lock'));
  execFileSync('hostname', ['localhost']);
}

async function runCommand(spec: Spec, root: string, argv: string[], n: number): Promise<CommandResult> {
  const out = join(spec.scratch, `out-${n}.log`);
  const timeFile = join(spec.scratch, `time-${n}.txt`);
  const straceFile = join(spec.scratch, `strace-${n}.txt`);
  const fd = openSync(out, 'w');
  // exitstat reports the rusage of wait4: peak RSS of the agent (and of the
  // programs it ran), user and system CPU, blocks read; with -p the agent's
  // own memory at exit. Under strace only timestamps matter.
  const wrapper = spec.trace
    ? ['strace', '-f', '-qq', '--seccomp-bpf', '-ttt', '-e', 'trace=process', '-e', 'signal=none', '-o', straceFile]
    : [spec.exitstat, ...(spec.memory ? ['-p'] : []), timeFile];
  // Asynchronous, so that the metadata simulator in this process can answer
  // while the agent runs; the event loop is otherwise idle.
  const startedAt = performance.now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(wrapper[0]!, [...wrapper.slice(1), 'chroot', root, ...argv], { env: ENV, cwd: '/', stdio: ['ignore', fd, fd] });
    const timer = setTimeout(() => child.kill('SIGKILL'), spec.timeoutMs);
    child.on('error', () => { clearTimeout(timer); resolve(null); });
    child.on('exit', (c) => { clearTimeout(timer); resolve(c); });
  });
  const ms = performance.now() - startedAt;
  closeSync(fd);
  const f = !spec.trace && existsSync(timeFile)
    ? readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number)
    : [];
  const v = (k: number) => (f[k] === undefined || f[k]! < 0 ? null : f[k]!);
  const text = readFileSync(out, 'utf8');
  return {
    argv, ms, code, startedAt,
    maxRssKiB: v(0), userS: v(1), sysS: v(2), readBytes: v(3) === null ? null : v(3)! * 512,
    hwmKiB: v(4), rssAnonKiB: v(5), rssFileKiB: v(6), rssShmemKiB: v(7),
    outputTail: text.slice(-2000),
    strace: spec.trace && existsSync(straceFile) ? readFileSync(straceFile, 'utf8') : undefined,
  };
}

function dropCaches(): void {
  execFileSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '3');
}

// hyperfine, inside the root: `chroot` is started once, not per timed run.
function runHyperfine(root: string, h: NonNullable<Boot['hyperfine']>): NonNullable<RunResult['hyperfine']> {
  execFileSync('chroot', [root, h.path, '-N', '--style', 'none', '--warmup', String(h.warmup), '--runs', String(h.runs),
    '--export-json', '/tmp/hyperfine.json', ...h.commands.map((c) => c.join(' '))], { env: ENV, cwd: '/', stdio: ['ignore', 'ignore', 'inherit'] });
  const j = JSON.parse(readFileSync(join(root, 'tmp/hyperfine.json'), 'utf8')) as { results: { command: string; median: number; mean: number; min: number; stddev: number | null; times: number[] }[] };
  return j.results.map((r) => ({ command: r.command, median: r.median, mean: r.mean, min: r.min, stddev: r.stddev, times: r.times }));
}

// One process in the background (cloud-init --all-stages), then, once it has
// bound its stage sockets, the units' commands one after the other, as
// systemd runs them; the result is the background process's.
async function runWithPokes(spec: Spec, root: string, argv: string[], pokes: string[][], n: number): Promise<CommandResult> {
  let done = false;
  const main = runCommand(spec, root, argv, n).finally(() => { done = true; });
  // The sockets are bound together, before the process says READY=1.
  const last = join(root, 'run/cloud-init/share/final.sock');
  const deadline = performance.now() + spec.timeoutMs;
  while (!done && !existsSync(last) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1));
  const out = openSync(join(spec.scratch, `pokes-${n}.log`), 'w');
  for (const poke of pokes) {
    if (done) break;
    await new Promise<void>((resolve) => {
      const child = spawn('chroot', [root, ...poke], { env: ENV, cwd: '/', stdio: ['ignore', out, out] });
      const timer = setTimeout(() => child.kill('SIGKILL'), spec.timeoutMs);
      child.on('error', () => { clearTimeout(timer); resolve(); });
      child.on('exit', () => { clearTimeout(timer); resolve(); });
    });
  }
  closeSync(out);
  return main;
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Spec;
  let imdsUrl = '';
  const arrivals: { method: string; path: string; t: number }[] = [];
  let closeImds = async () => {};
  if (spec.imds) {
    execFileSync('ip', ['link', 'set', 'lo', 'up']); // loopback only: still no route off this namespace
    // Loaded only here: the other scenarios need no simulator (nor its conformance tree).
    const { startImdsSimulator } = await import('../test/helpers/imds-simulator.ts');
    const delay = spec.imds.delayMs;
    const sim = await startImdsSimulator({
      userData: spec.imds.userData,
      // Called once per request on arrival: a precise timestamp for each.
      delayMs: (req) => { arrivals.push({ method: req.method, path: req.path, t: performance.now() }); return delay; },
    });
    const front = await startFront(sim.url);
    imdsUrl = front.url;
    closeImds = async () => { await front.close(); await sim.close(); };
  }
  mount(['-t', 'tmpfs', '-o', 'mode=700', 'tmpfs', spec.scratch]);
  const [upper, work, root] = ['upper', 'work', 'root'].map((d) => join(spec.scratch, d));
  for (const d of [upper!, work!, root!]) mkdirSync(d);
  mount(['-t', 'overlay', 'overlay', '-o', `lowerdir=${spec.lowers.join(':')},upperdir=${upper},workdir=${work}`, root!]);
  mount(['-t', 'proc', 'proc', join(root!, 'proc')]);
  mount(['-t', 'sysfs', '-o', 'ro,nosuid,nodev,noexec', 'sysfs', join(root!, 'sys')]);
  makeDev(root!);
  for (const f of spec.files) {
    const p = join(root!, f.path);
    mkdirSync(dirname(p), { recursive: true });
    const bytes = Buffer.from(f.base64, 'base64');
    writeFileSync(p, spec.imds ? bytes.toString('latin1').replaceAll('@IMDS_URL@', imdsUrl) : bytes, spec.imds ? 'latin1' : undefined);
    chmodSync(p, f.mode);
  }

  const result: RunResult = { boots: [], checks: [], collected: {} };
  let n = 0;
  // Logs are read back from where they stood before the first measured boot,
  // so a second boot's modules are not mixed with the first's.
  const logStart = new Map<string, number>();
  for (const boot of spec.boots) {
    if (boot.measured && logStart.size === 0) {
      for (const path of spec.collect) logStart.set(path, existsSync(join(root!, path)) ? statSync(join(root!, path)).size : 0);
    }
    freshRun(root!);
    const commands: CommandResult[] = [];
    if (boot.hyperfine) result.hyperfine = runHyperfine(root!, boot.hyperfine);
    else if (boot.unitPokes) commands.push(await runWithPokes(spec, root!, boot.commands[0]!, boot.unitPokes, n++));
    else {
      for (const [k, argv] of boot.commands.entries()) {
        if (Array.isArray(boot.dropCaches) ? boot.dropCaches[k] : boot.dropCaches) dropCaches();
        commands.push(await runCommand(spec, root!, argv, n++));
      }
    }
    result.boots.push({ label: boot.label, measured: boot.measured, ms: commands.reduce((s, c) => s + c.ms, 0), commands });
  }
  for (const c of spec.checks) {
    const p = join(root!, c.path);
    const ok = existsSync(p) && (c.contains === undefined || readFileSync(p, 'utf8').includes(c.contains));
    result.checks.push({ path: c.path, ok });
  }
  for (const path of spec.collect) {
    const p = join(root!, path);
    if (existsSync(p)) result.collected[path] = readFileSync(p).subarray(logStart.get(path) ?? 0).toString('utf8');
  }
  if (spec.imds) result.imds = arrivals;
  await closeImds();
  writeFileSync(spec.result, JSON.stringify(result));
}

await main();
