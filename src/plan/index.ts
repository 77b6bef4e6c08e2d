// `plan`: what `boot` would do, as the list of steps each stage takes
// (steps.ts), built with the functions boot builds and applies its steps
// with — the source search, the network plan, the user-data reading
// (userdata.ts), the part routes (parts.ts), the module steps (modules.ts) —
// changing nothing, running nothing and fetching nothing (an #include is a
// step of its own, not followed). A running module's step also lists its
// actions (modules/run-module.ts), each with its digest.
import { EMPTY } from '../bytes.ts';
import type { Context } from '../context.ts';
import { readSystemConfig, withSystemConfig } from '../config/system.ts';
import { userModuleLists } from '../modules/module-lists.ts';
import { plannedModule } from '../modules/run-module.ts';
import { networkStep, planNetwork } from './network.ts';
import { SEARCH_PASSES, searchPasses } from '../sources/search.ts';
import { instanceData } from '../state/instance-data.ts';
import { layout, safeInstanceId } from '../state/layout.ts';
import { STAGES, type Diag, type SourceData, type Stage } from '../types.ts';
import { planModules } from './modules.ts';
import { datasourceStep, stepValue, type StepValue } from './steps.ts';
import { readUserData } from './userdata.ts';

export interface Plan {
  steps: StepValue[];
  problems: Diag[];
}

export async function makePlan(ctx: Context): Promise<Plan> {
  const steps: StepValue[] = [];
  ctx.planning = true;
  const system = readSystemConfig(ctx.files, ctx.diags, ctx.configFile, 'read');
  // The passes boot takes, in its order (search.ts): init-local's, then init's. Plan sets up no ephemeral network.
  const hit = await searchPasses(ctx, system.raw, system.datasourceList, SEARCH_PASSES.map((p) => p.pass), { noEphemeral: true });
  const found = hit?.found ?? null;
  const stage: Stage = hit?.stage ?? 'init';
  if (!found) {
    steps.push({ stage: 'init', kind: 'datasource', name: 'none', run: false, detail: `no datasource found (searched ${system.datasourceList.join(', ')})` });
    addNetwork(ctx, steps, system.raw, null, null, 'init-local');
    return { steps, problems: ctx.diags };
  }
  const id = safeInstanceId(found.instanceId);
  const previous = ctx.files.readTextIfExists(layout.instanceIdFile)?.trim();
  steps.push(stepValue(datasourceStep(stage, found, previous !== id)));
  addNetwork(ctx, steps, system.raw, found, id, stage);

  const data = await readUserData(ctx, {
    instanceId: id,
    launchIndex: found.launchIndex,
    raw: found.userData ?? EMPTY,
    vendorRaw: found.vendorData ?? null,
    metaBytes: found.metaBytes ?? 0,
    // What boot writes to instance-data-sensitive.json before it reads the user-data.
    templateData: instanceData(found, ctx.files),
    mode: 'plan',
  });
  ctx.diags.push(...data.problems);
  for (const s of [...data.includes, ...data.parts, ...data.vendorParts]) steps.push(stepValue(s));

  const config = withSystemConfig(system, data.userConfig, data.vendorConfig, found.config);
  const lists = userModuleLists(data.userConfig, data.vendorConfig);
  const planned = [...data.parts, ...data.vendorParts].flatMap((s) => (s.route.to === 'save-script' ? [s.route.path] : []));
  const semaphores = new Set<string>();
  for (const st of STAGES) {
    if (st === 'init-local') continue; // it runs no modules
    for (const step of planModules(ctx, st, id, config, lists, semaphores)) {
      if (!step.run) { steps.push(stepValue(step)); continue; }
      const run = { ctx, instanceId: id, source: found, config, where: `module ${step.name}`, frequency: step.frequency, plannedFiles: [...planned] };
      const module = await step.module.load();
      const will = await plannedModule(module, run);
      steps.push({ ...stepValue(step, will.does), ...(will.actions && { actions: will.actions }), ...(will.unknown && { actionsDependOnMachine: true }) });
      // What its actions write (runcmd's script, set_hostname's /etc/hostname, apt-get update's semaphore)
      // is there for the modules after it, as at boot; writes() adds what only a result decides (a fetched file).
      planned.push(...will.actions.flatMap((a) => (a.kind === 'write' || a.kind === 'append' || a.kind === 'mark' ? [a.target] : [])));
      planned.push(...(module.writes?.(run) ?? []));
    }
  }
  return { steps, problems: ctx.diags };
}

/** The network step (render, or why not), and the problems the network plan found. */
function addNetwork(ctx: Context, steps: StepValue[], system: Record<string, unknown>, found: SourceData | null, id: string | null, stage: Stage): void {
  const net = planNetwork(ctx, system, found, id);
  for (const p of net.problems) ctx.diags.push({ level: p.level, where: 'network', message: p.message });
  steps.push(stepValue(networkStep(stage, net)));
}

/** The plan as text: one line per step (a running module's line says what it will do), then the problems. */
export function formatPlan(plan: Plan): string {
  const lines = plan.steps.map((s) => {
    const freq = s.frequency ? ` [${s.frequency}]` : '';
    const detail = s.does ?? (s.kind === 'module' && !s.run ? `skip: ${s.detail}` : s.detail);
    return `${s.stage.padEnd(10)} ${s.kind.padEnd(10)} ${s.run ? 'RUN ' : '-   '} ${s.name}${freq}: ${detail}`;
  });
  for (const d of plan.problems) lines.push(`${'-'.padEnd(10)} ${'problem'.padEnd(10)} -    ${d.where}: ${d.level}: ${d.message}`);
  return lines.join('\n') + '\n';
}

/** `plan --format json`: the steps and problems, for scripts and tests. */
export function formatPlanJson(plan: Plan): string {
  return JSON.stringify(plan, null, 2) + '\n';
}
