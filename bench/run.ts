// `npm run bench`: ec2-init against Debian's cloud-init (Debian 12's 22.4 and
// Debian 13's 25.1, each in its own root) with the same seeds, runs
// alternating, then bench/RESULTS.md and bench/results.json.
//   node bench/run.ts [--runs N] [--only SCENARIO[,…]] [--no-trace] [--no-profile]
//                     [--startup-runs N] [--cold-runs N] [--note TEXT]
// Needs root (namespaces, mounts, chroot), debootstrap, strace, hyperfine, cc;
// the first run builds the Debian roots (a few minutes each), later runs reuse them.
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { cloudInitAgents, ec2Phases, EC2_INIT, EC2_INIT_BOOT, EC2_INIT_BIN, ec2InitLayer, ec2InitVersion, type Agent } from './agents.ts';
import { ensureImage, SUITES, type Image, type Suite } from './chroot.ts';
import type { CommandResult, RunResult } from './inner.ts';
import { writeReport, type AgentResult, type ScenarioResult, type StartupResult } from './report.ts';
import { profileEc2Init } from './profile.ts';
import { runIsolated } from './sandbox.ts';
import { equalModules, makeScenarios, type EqualModules, type Scenario } from './scenarios.ts';
import { exitstat, HYPERFINE_IN_ROOT, toolsLayer } from './tools.ts';
import { attribute } from './trace.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '9' },
    only: { type: 'string' },
    'no-trace': { type: 'boolean', default: false },
    // The profile runs a Node.js bundle of the same sources (QuickJS has no
    // sampling profiler): a guide to where time goes, not the shipped runtime.
    'no-profile': { type: 'boolean', default: false },
    'startup-runs': { type: 'string', default: '40' },
    'cold-runs': { type: 'string', default: '3' },
    // A line for RESULTS.md about the conditions of this run (other work on the machine, …).
    note: { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const TRACE_RUNS = values['no-trace'] ? 0 : Math.min(3, RUNS);
const log = (s: string) => console.error(`bench: ${s}`);

if (process.getuid?.() !== 0) throw new Error('bench needs root: it builds namespaces, mounts and chroots');
if (!existsSync(EC2_INIT_BIN)) throw new Error(`${EC2_INIT_BIN} is missing: run npm run build`);

const images = Object.fromEntries(SUITES.map((suite) => [suite, ensureImage(suite, log)])) as Record<Suite, Image>;
const EXITSTAT = exitstat();
const layers = [toolsLayer(), ec2InitLayer()];
const lowersOf = (agent: Agent) => [...layers, images[agent.suite].root];
const modules = Object.fromEntries(SUITES.map((suite) => [suite, equalModules(images[suite].root)])) as Record<Suite, EqualModules>;
const AGENTS: Agent[] = [...SUITES.flatMap((suite) => cloudInitAgents(suite, images[suite].cloudInitVersion)), EC2_INIT, EC2_INIT_BOOT];
const all = makeScenarios({ bookworm: modules.bookworm.lists, trixie: modules.trixie.lists });
const scenarios = all.filter((s) => !values.only || values.only.split(',').includes(s.id));
const agentsOf = (s: Scenario) => AGENTS.filter((a) => s.agents?.(a) ?? true);
const capped = (s: Scenario, a: Agent) => s.maxRunsCloudInit !== undefined && a.kind === 'cloud-init';

function runOnce(s: Scenario, agent: Agent, trace: boolean, memory = false): RunResult {
  return runIsolated({
    lowers: lowersOf(agent),
    files: s.files(agent).map((f) => ({ path: f.path, base64: Buffer.from(f.content).toString('base64'), mode: f.mode })),
    boots: s.boots(agent),
    trace,
    exitstat: EXITSTAT,
    memory,
    checks: s.checks,
    collect: [agent.log],
    timeoutMs: 600_000,
    imds: s.imds,
  });
}

function measured(r: RunResult): CommandResult[] {
  return r.boots.filter((b) => b.measured).flatMap((b) => b.commands);
}

function empty(agent: Agent): AgentResult {
  return { agent: agent.id, kind: agent.kind, suite: agent.suite, processes: agent.processes, asUnitsRun: agent.asUnitsRun,
    commands: agent.stages.map((a) => a.join(' ')), samplesMs: [], stageSamplesMs: [], rssKiB: [], cpuS: [],
    exitCodes: [], failedChecks: [], modulesRan: [], invalid: null, childMs: [], tracedMs: [], tracedAgentMs: [], ownStageMs: [], programs: [], outputTail: '',
    userDataMs: [], userDataFromFirstMs: [], requests: [], memory: [], phases: [] };
}

const results: ScenarioResult[] = scenarios.map((s) => ({ id: s.id, title: s.title, checks: s.checks.length, agents: agentsOf(s).map(empty) }));

// Other work on the machine slows both agents; the 1-minute load average
// before each run goes into the report so a reader can judge the numbers.
const loads: number[] = [];
const loadNow = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
// 1-, 5- and 15-minute load averages, as `uptime` prints them, at the start and the end.
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(', ');
const loadAtStart = loadavg();

function record(s: Scenario, i: number, agent: Agent, r: RunResult): void {
  const a = results[i]!.agents.find((x) => x.agent === agent.id)!;
  const cmds = measured(r);
  a.samplesMs.push(cmds.reduce((t, c) => t + c.ms, 0));
  a.stageSamplesMs.push(cmds.map((c) => c.ms));
  a.rssKiB.push(Math.max(...cmds.map((c) => c.maxRssKiB ?? 0)));
  a.cpuS.push(cmds.reduce((t, c) => t + (c.userS ?? 0) + (c.sysS ?? 0), 0));
  for (const c of r.boots.flatMap((b) => b.commands)) if (c.code !== 0) a.exitCodes.push(`${c.argv.join(' ')}: ${c.code}`);
  a.failedChecks = [...new Set([...a.failedChecks, ...r.checks.filter((c) => !c.ok).map((c) => c.path)])];
  const agentLog = r.collected[agent.log] ?? '';
  a.modulesRan = agent.modulesRan(agentLog);
  if (agent.kind === 'ec2-init') a.phases.push(ec2Phases(agentLog));
  a.invalid = s.invalid?.(agent, agentLog) ?? null;
  if (s.imds && r.imds) {
    // Requests that arrived while a measured command ran; time to user-data:
    // from the start of that command to the answer (arrival + the delay).
    const during = (t: number) => cmds.find((c) => t >= c.startedAt && t <= c.startedAt + c.ms);
    a.requests.push(r.imds.filter((q) => during(q.t)).length);
    const ud = r.imds.find((q) => /\/user-data\/?$/.test(q.path) && q.method === 'GET' && during(q.t));
    if (ud) {
      const stage = during(ud.t)!;
      const first = r.imds.find((q) => q.t >= stage.startedAt)!;
      a.userDataMs.push(ud.t + s.imds.delayMs - stage.startedAt);
      a.userDataFromFirstMs.push(ud.t + s.imds.delayMs - first.t);
    }
    else a.invalid = 'never fetched user-data from the simulator';
  }
  if (cmds.some((c) => c.code !== 0)) a.outputTail = cmds.map((c) => c.outputTail).join('\n').slice(-1500);
}

// Start-up, one agent per executable: `--version` and /bin/true timed by
// hyperfine inside the agent's root (warm), then each after dropping the
// page cache (cold: bytes read from storage, wall-clock time).
const STARTUP_RUNS = Number(values['startup-runs']);
const COLD_RUNS = Number(values['cold-runs']);
const startup: StartupResult[] = [];
if (!values.only || values.only.split(',').includes('startup')) {
  for (const agent of AGENTS.filter((a) => a.startup)) {
    log(`startup: hyperfine ${agent.version.join(' ')} and /bin/true (${agent.suite})`);
    loads.push(loadNow());
    const r = runIsolated({
      lowers: lowersOf(agent), files: [], trace: false, exitstat: EXITSTAT, memory: false, checks: [], collect: [], timeoutMs: 600_000,
      boots: [{ label: 'hyperfine', commands: [], measured: true,
        hyperfine: { path: HYPERFINE_IN_ROOT, commands: [agent.version, ['/bin/true']], runs: STARTUP_RUNS, warmup: 5 } }],
    });
    const [v, t] = r.hyperfine!;
    startup.push({ agent: agent.id, suite: agent.suite, command: agent.version.join(' '), warmMs: v!.median * 1000, warmMinMs: v!.min * 1000,
      trueMs: t!.median * 1000, trueMinMs: t!.min * 1000, warmTimesMs: v!.times.map((x) => x * 1000), trueTimesMs: t!.times.map((x) => x * 1000), cold: [] });
  }
  for (let run = 0; run < COLD_RUNS; run++) {
    for (const agent of AGENTS.filter((a) => a.startup)) {
      const r = runIsolated({
        lowers: lowersOf(agent), files: [], trace: false, exitstat: EXITSTAT, memory: false, checks: [], collect: [], timeoutMs: 600_000,
        // Everything cold: /bin/true (the floor: chroot with the host's libc,
        // then the root's loader and libc), the agent; then the agent with
        // only that floor warm (libc is in memory on any real boot).
        boots: [{ label: 'cold', commands: [['/bin/true'], agent.version, ['/bin/true'], agent.version], dropCaches: [true, true, true, false], measured: true }],
      });
      const [t, v, , w] = r.boots[0]!.commands;
      startup.find((x) => x.agent === agent.id)!.cold.push({ readBytes: v!.readBytes, ms: v!.ms, trueReadBytes: t!.readBytes, trueMs: t!.ms, ownReadBytes: w!.readBytes, ownMs: w!.ms });
      log(`startup cold ${agent.id}: ${((v!.readBytes ?? 0) / 1e6).toFixed(2)} MB read, ${v!.ms.toFixed(1)} ms (/bin/true ${((t!.readBytes ?? 0) / 1e6).toFixed(2)} MB; with that warm ${((w!.readBytes ?? 0) / 1e6).toFixed(2)} MB, ${w!.ms.toFixed(1)} ms)`);
    }
  }
}

// A discarded warm-up of each agent first (page cache, Python's .pyc files),
// then the runs, alternating the agents and rotating who goes first.
// The warm-up runs under `exitstat -p` (ptrace, stops at exec, signals and
// exit): each process's own VmHWM, RssAnon and RssFile at its exit.
for (const [i, s] of scenarios.entries()) {
  const AG = agentsOf(s);
  for (const agent of AG) {
    if (capped(s, agent)) continue;
    log(`${s.id}: warm-up ${agent.id}`);
    const r = runOnce(s, agent, false, true);
    const a = results[i]!.agents.find((x) => x.agent === agent.id)!;
    const cmds = measured(r);
    const top = cmds.reduce((m, c) => ((c.hwmKiB ?? 0) > (m.hwmKiB ?? 0) ? c : m), cmds[0]!);
    a.memory.push({ hwmKiB: top?.hwmKiB ?? null, rssAnonKiB: top?.rssAnonKiB ?? null, rssFileKiB: top?.rssFileKiB ?? null, rssShmemKiB: top?.rssShmemKiB ?? null,
      maxRssKiB: Math.max(...cmds.map((c) => c.maxRssKiB ?? 0)), perProcess: cmds.map((c) => ({ argv: c.argv.join(' '), hwmKiB: c.hwmKiB, rssAnonKiB: c.rssAnonKiB, rssFileKiB: c.rssFileKiB, maxRssKiB: c.maxRssKiB })) });
  }
  for (let run = 0; run < RUNS; run++) {
    const order = AG.map((_, k) => AG[(k + run) % AG.length]!);
    for (const agent of order) {
      if (capped(s, agent) && run >= s.maxRunsCloudInit!) continue;
      loads.push(loadNow());
      const r = runOnce(s, agent, false);
      record(s, i, agent, r);
      log(`${s.id} run ${run + 1}/${RUNS} ${agent.id}: ${measured(r).reduce((t, c) => t + c.ms, 0).toFixed(1)} ms`);
    }
  }
  // Attribution runs under strace: how much of each boot is spent in the
  // programs the agent starts. Never mixed into the timings above.
  for (let run = 0; run < TRACE_RUNS; run++) {
    for (const agent of AG) {
      if (capped(s, agent)) continue;
      const r = runOnce(s, agent, true);
      const a = results[i]!.agents.find((x) => x.agent === agent.id)!;
      const parts = measured(r).map((c) => attribute(c.strace ?? ''));
      a.childMs.push(parts.reduce((t, p) => t + p.childMs, 0));
      a.tracedMs.push(measured(r).reduce((t, c) => t + c.ms, 0));
      a.tracedAgentMs.push(parts.reduce((t, p) => t + p.agentMs, 0));
      a.ownStageMs.push(parts.map((p) => p.agentMs - p.childMs));
      const merged = new Map<string, { name: string; ms: number; count: number }>();
      for (const p of parts.flatMap((x) => x.programs)) {
        const m = merged.get(p.name) ?? { name: p.name, ms: 0, count: 0 };
        m.ms += p.ms; m.count += p.count;
        merged.set(p.name, m);
      }
      a.programs = [...merged.values()].sort((x, y) => y.ms - x.ms);
    }
  }
}

// Where ec2-init's own time goes: CPU profiles of its four stage processes
// and of `boot`, on the cloud-config seed.
const profiled = all.find((s) => s.id === 'cloud-config')!;
const profiles = values['no-profile'] ? [] : [EC2_INIT, EC2_INIT_BOOT].map((a) => {
  log(`profiling ${a.id} on ${profiled.id}`);
  return { agent: a.id, scenario: profiled.id, ...profileEc2Init(lowersOf(a), profiled, a, EXITSTAT) };
});

const { md, json } = writeReport({ profiles, modules, images, agents: AGENTS, startup, ec2InitVersion: ec2InitVersion(), runs: RUNS, traceRuns: TRACE_RUNS, loads, loadavg: { start: loadAtStart, end: loadavg() }, note: values.note, scenarios: results });
log(`wrote ${md} and ${json}`);
