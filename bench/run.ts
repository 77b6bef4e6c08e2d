// `npm run bench`: ec2-init against Debian's cloud-init on the same image and
// the same seeds, runs alternating, then bench/RESULTS.md and bench/results.json.
//   node bench/run.ts [--runs N] [--only SCENARIO[,…]] [--no-trace] [--no-profile]
// Needs root (namespaces, mounts, chroot), debootstrap, strace and GNU time;
// the first run builds the Debian root (a few minutes), later runs reuse it.
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AGENTS, CLOUD_INIT, EC2_INIT, EC2_INIT_BOOT, EC2_INIT_BIN, ec2InitLayer, ec2InitVersion, type Agent } from './agents.ts';
import { ensureImage } from './chroot.ts';
import type { CommandResult, RunResult } from './inner.ts';
import { writeReport, type AgentResult, type ScenarioResult } from './report.ts';
import { profileEc2Init } from './profile.ts';
import { runIsolated } from './sandbox.ts';
import { equalModules, makeScenarios, type Scenario } from './scenarios.ts';
import { attribute } from './trace.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '9' },
    only: { type: 'string' },
    'no-trace': { type: 'boolean', default: false },
    'no-profile': { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const TRACE_RUNS = values['no-trace'] ? 0 : Math.min(3, RUNS);
const log = (s: string) => console.error(`bench: ${s}`);

if (process.getuid?.() !== 0) throw new Error('bench needs root: it builds namespaces, mounts and chroots');
if (!existsSync(EC2_INIT_BIN)) throw new Error(`${EC2_INIT_BIN} is missing: run npm run build`);

const image = ensureImage(log);
const lowers = [ec2InitLayer(), image.root];
const modules = equalModules(image.root);
const all = makeScenarios(modules.lists);
const scenarios = all.filter((s) => !values.only || values.only.split(',').includes(s.id));

function runOnce(s: Scenario, agent: Agent, trace: boolean): RunResult {
  return runIsolated({
    lowers,
    files: s.files.map((f) => ({ path: f.path, base64: Buffer.from(f.content).toString('base64'), mode: f.mode })),
    boots: s.boots(agent),
    trace,
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
  return { agent: agent.id, commands: agent.stages.map((a) => a.join(' ')), samplesMs: [], stageSamplesMs: [], rssKiB: [], cpuS: [],
    exitCodes: [], failedChecks: [], modulesRan: [], invalid: null, childMs: [], tracedMs: [], programs: [], outputTail: '',
    userDataMs: [], userDataFromFirstMs: [], requests: [] };
}

const results: ScenarioResult[] = scenarios.map((s) => ({ id: s.id, title: s.title, checks: s.checks.length, agents: AGENTS.map(empty) }));

// Other work on the machine slows both agents; the 1-minute load average
// before each run goes into the report so a reader can judge the numbers.
const loads: number[] = [];
const loadNow = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

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

// A discarded warm-up of each agent first (page cache, Python's .pyc files),
// then the runs, alternating the agents and rotating who goes first.
for (const [i, s] of scenarios.entries()) {
  for (const agent of AGENTS) {
    if (s.maxRunsCloudInit !== undefined && agent === CLOUD_INIT) continue;
    log(`${s.id}: warm-up ${agent.id}`);
    runOnce(s, agent, false);
  }
  for (let run = 0; run < RUNS; run++) {
    const order = AGENTS.map((_, k) => AGENTS[(k + run) % AGENTS.length]!);
    for (const agent of order) {
      if (agent === CLOUD_INIT && s.maxRunsCloudInit !== undefined && run >= s.maxRunsCloudInit) continue;
      loads.push(loadNow());
      const r = runOnce(s, agent, false);
      record(s, i, agent, r);
      log(`${s.id} run ${run + 1}/${RUNS} ${agent.id}: ${measured(r).reduce((t, c) => t + c.ms, 0).toFixed(1)} ms`);
    }
  }
  // Attribution runs under strace: how much of each boot is spent in the
  // programs the agent starts. Never mixed into the timings above.
  for (let run = 0; run < TRACE_RUNS; run++) {
    for (const agent of AGENTS) {
      if (s.maxRunsCloudInit !== undefined && agent === CLOUD_INIT) continue;
      const r = runOnce(s, agent, true);
      const a = results[i]!.agents.find((x) => x.agent === agent.id)!;
      const parts = measured(r).map((c) => attribute(c.strace ?? ''));
      a.childMs.push(parts.reduce((t, p) => t + p.childMs, 0));
      a.tracedMs.push(measured(r).reduce((t, c) => t + c.ms, 0));
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
  return { agent: a.id, scenario: profiled.id, ...profileEc2Init(lowers, profiled, a) };
});

const { md, json } = writeReport({ profiles, modules, image, ec2InitVersion: ec2InitVersion(), runs: RUNS, traceRuns: TRACE_RUNS, loads, scenarios: results });
log(`wrote ${md} and ${json}`);
