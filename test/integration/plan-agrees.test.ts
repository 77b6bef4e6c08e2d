// `plan` and `boot` agree: on every user-data of the compare-with-cloud-init
// test and of cloud-init's documented examples (and the per-module examples
// of ec2-init's modules), the steps `plan --format json` lists are exactly
// the steps the boot then takes, in order (boot logs each step as it takes
// it) — on the first boot and again on the second.
// Each agent runs in a network namespace of its own (nothing leaves this
// machine: an #include of a public URL fails as it would offline, in both).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT, WITH_ROOT, agentAsync, cannotRun, makeRoot, removeRoot, seed } from '../helpers/agent.ts';
import { SEEDS } from '../helpers/compare/seeds.ts';
import { CI } from '../helpers/needs.ts';
import { CONFORMANCE } from '../helpers/paths.ts';
import { MODULES } from '../../src/modules/index.ts';
import { stepLine, type StepValue } from '../../src/plan/steps.ts';

const skip = cannotRun();
const EXAMPLES = join(CONFORMANCE, 'cloud-init');
const META = 'instance-id: iid-plan-0001\nlocal-hostname: plan-host\n';

/**
 * The agent on `root` in a network namespace of its own (no network at all)
 * and a PID namespace of its own: if it runs past the timeout, everything it
 * started goes with it (--kill-child: the namespace's init dies, and all
 * in it), nothing is left running here.
 */
function isolated(root: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('unshare', ['--net', '--pid', '--fork', '--kill-child', 'env', '-i', WITH_ROOT, root, AGENT, '--root', root, ...args], {
    // SIGKILL: unshare passes a TERM on to the namespace's first process, which as its init ignores it.
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, killSignal: 'SIGKILL',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The plan's steps, and each module's actions (the lines boot logs for them) where plan can know them all. */
function planned(root: string): { steps: string[]; actions: string[]; known: Set<string> } {
  const r = isolated(root, ['plan', '--format', 'json']);
  assert.equal(r.status, 0, r.stderr);
  const steps = (JSON.parse(r.stdout) as { steps: StepValue[] }).steps;
  return {
    steps: steps.map(stepLine),
    actions: steps.flatMap((s) => (s.actions && !s.actionsDependOnMachine ? s.actions.map((a) => `module ${s.name}: ${a.line}`) : [])),
    known: new Set(steps.flatMap((s) => (s.kind === 'module' && s.run && s.actions && !s.actionsDependOnMachine ? [s.name] : []))),
  };
}

/** The steps a boot took and the actions it applied, from the lines it logged from byte `from` of the log on. */
function booted(root: string, knownModules: Set<string>): { steps: string[]; actions: string[] } {
  const log = join(root, 'var/log/ec2-init.log');
  const from = existsSync(log) ? statSync(log).size : 0;
  isolated(root, ['boot']);
  const lines = readFileSync(log, 'utf8').slice(from).split('\n');
  return {
    steps: lines.flatMap((l) => { const m = / step: (.*)$/.exec(l); return m ? [m[1]!] : []; }),
    // Only the actions plan lists (not those that follow from a program's result: 'action+').
    actions: lines.flatMap((l) => { const m = / action: (module ([^:]+): .*)$/.exec(l); return m && knownModules.has(m[2]!) ? [m[1]!] : []; }),
  };
}

function agrees(userData: string | Uint8Array, boots = ['first', 'second']): void {
  const root = makeRoot();
  try {
    seed(root, META, userData);
    for (const boot of boots) {
      const plan = planned(root);
      assert.ok(plan.steps.some((l) => l.includes(' module ')), `${boot} boot: plan lists modules`);
      const took = booted(root, plan.known);
      assert.deepEqual(took.steps, plan.steps, `${boot} boot: the boot's steps are the plan's`);
      assert.deepEqual(took.actions, plan.actions, `${boot} boot: the boot's actions are the plan's, digests included`);
    }
  } finally {
    removeRoot(root);
  }
}

const docExamples = existsSync(EXAMPLES)
  ? readdirSync(join(EXAMPLES, 'doc-examples')).filter((f) => f.endsWith('.txt')).sort()
  : [];
// The per-module examples of the modules ec2-init has (the others only name a module it reports as not applicable).
const ours = new Set(MODULES.map((m) => `cc_${m.name}`));
// Left out, each with its reason: nothing can boot them to an end.
const NEVER_ENDS: Record<string, string> = {
  // Its command is `dd if=/dev/urandom of=$RANDOM_SEED_FILE` with the file /dev/urandom: it copies
  // forever, under cloud-init as under ec2-init (neither bounds the seed command).
  'cc_seed_random/example1.yaml': 'dd from /dev/urandom to /dev/urandom never ends',
};
const moduleExamples = existsSync(EXAMPLES)
  ? readdirSync(join(EXAMPLES, 'module-examples')).filter((d) => ours.has(d)).sort()
    .flatMap((d) => readdirSync(join(EXAMPLES, 'module-examples', d)).filter((f) => f.endsWith('.yaml')).sort().map((f) => `${d}/${f}`))
    .filter((f) => NEVER_ENDS[f] === undefined)
  : [];

describe('plan lists exactly what boot does', { skip: skip ?? false }, () => {
  for (const s of SEEDS) test(`compare seed ${s.id}`, () => agrees(s.userData));
  test('the conformance examples are here', { skip: !existsSync(EXAMPLES) && !CI && 'no ../shared/conformance' }, () => {
    assert.ok(docExamples.length >= 30, `only ${docExamples.length} doc examples`);
    assert.ok(moduleExamples.length >= 50, `only ${moduleExamples.length} examples of ec2-init's modules`);
  });
  for (const f of docExamples) test(`doc example ${f}`, () => agrees(readFileSync(join(EXAMPLES, 'doc-examples', f))));
  // The first boot only: these are many, and the second boot's semaphores are the doc examples' business above.
  for (const f of moduleExamples) test(`module example ${f}`, () => agrees(readFileSync(join(EXAMPLES, 'module-examples', f)), ['first']));

  test('an #include is a step of the plan, never fetched by it; boot fetches it and takes the same steps', async () => {
    let requests = 0;
    const server = createServer((_req, res) => { requests++; res.end('#cloud-config\nruncmd: [echo included]\n'); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const root = makeRoot();
    try {
      const url = `http://127.0.0.1:${port}/part`;
      seed(root, META, `#include\n${url}\n`);
      // This process serves the include: the agent runs beside it (agentAsync), on this machine's loopback.
      const plan = await agentAsync(root, ['plan', '--format', 'json']);
      assert.equal(plan.status, 0, plan.stderr);
      const steps = (JSON.parse(plan.stdout) as { steps: StepValue[] }).steps;
      assert.ok(steps.some((s) => s.kind === 'include' && s.name === url && s.run), 'the include is listed as a step');
      assert.ok(!steps.some((s) => s.name === 'runcmd' && s.run), 'what it holds is not known to plan');
      assert.equal(requests, 0, 'plan fetched nothing');
      const boot = await agentAsync(root, ['boot']);
      assert.equal(requests, 1, `boot fetched it once: ${boot.stderr}`);
      const log = readFileSync(join(root, 'var/log/ec2-init.log'), 'utf8');
      assert.ok(log.includes(` step: ${stepLine(steps.find((s) => s.kind === 'include')!)}`), 'boot took the same include step');
      assert.match(log, / step: config module runcmd \[per-instance\] RUN: run/);
    } finally {
      server.close();
      removeRoot(root);
    }
  });
});
