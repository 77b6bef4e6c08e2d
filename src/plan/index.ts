// `plan`: what `boot` would do — the source, the parts and what each leads
// to, the modules of each stage with their frequency and whether they would
// run — computed from the same pieces boot uses, changing nothing.
import { EMPTY } from './bytes.ts';
import type { Context } from './context.ts';
import { readSystemConfig, withSystemConfig } from './config/system.ts';
import { describeParts, mergeCloudConfig, renderTemplateParts } from './handlers/index.ts';
import { instanceData } from './state/instance-data.ts';
import { stageModules, userModuleLists } from './modules/module-lists.ts';
import { planNetwork } from './network/apply.ts';
import { searchSources } from './sources/search.ts';
import { layout, safeInstanceId } from './state/layout.ts';
import { skipReason } from './stages.ts';
import { STAGES, type Frequency, type SourceData } from './types.ts';
import { expandUserData } from './userdata/expand.ts';

export interface PlanLine {
  stage: string;
  kind: 'datasource' | 'network' | 'part' | 'module' | 'problem';
  name: string;
  frequency?: Frequency;
  run: boolean;
  detail: string;
}

export async function makePlan(ctx: Context): Promise<PlanLine[]> {
  const lines: PlanLine[] = [];
  const system = readSystemConfig(ctx.files, ctx.diags, ctx.configFile);
  const found = await searchSources(ctx, system.raw, system.datasourceList, false) ?? await searchSources(ctx, system.raw, system.datasourceList, true);
  if (!found) {
    lines.push({ stage: 'init', kind: 'datasource', name: 'none', run: false, detail: `no datasource found (searched ${system.datasourceList.join(', ')})` });
    addNetwork(ctx, lines, system.raw, null, null, 'init-local');
    return addProblems(ctx, lines);
  }
  const id = safeInstanceId(found.instanceId);
  const previous = ctx.files.readTextIfExists(layout.instanceIdFile)?.trim();
  lines.push({
    stage: 'init-local', kind: 'datasource', name: found.name, run: true,
    detail: `instance ${id}${previous === id ? ' (same as last boot: per-instance work already done is skipped)' : ' (new instance: first boot)'}`,
  });
  addNetwork(ctx, lines, system.raw, found, id, found.name === 'Ec2' || found.name === 'OpenStack' ? 'init' : 'init-local');
  // No include cache: plan reads (includes are fetched) but never writes.
  const { parts: decoded, diags } = await expandUserData(found.userData ?? EMPTY, { launchIndex: found.launchIndex, files: ctx.files });
  ctx.diags.push(...diags);
  const parts = renderTemplateParts(decoded, instanceData(found, ctx.files), (level, where, message) => ctx.diags.push({ level, where, message }));
  for (const a of describeParts(parts, id)) {
    lines.push({ stage: 'init', kind: 'part', name: `${a.part} (${a.type})`, run: !a.action.startsWith('ignore'), detail: a.action });
  }
  const userConfig = mergeCloudConfig(parts, (level, where, message) => ctx.diags.push({ level, where, message }));
  const config = withSystemConfig(system, userConfig);
  // The user-data's module lists decide which modules run where, and how often, as at boot.
  const lists = userModuleLists(userConfig, {});
  for (const stage of STAGES) {
    for (const { module, frequency } of stageModules(null, stage, lists)) {
      const skip = skipReason(ctx, id, module, config, frequency);
      let detail: string;
      if (skip) detail = `skip: ${skip}`;
      else if (module.name === 'scripts_user') {
        // Its scripts come from this user-data, so list them from the parts, not the disk.
        const scripts = parts.filter((p) => p.type === 'text/x-shellscript').map((p) => p.filename);
        if (config['runcmd'] !== undefined) scripts.push('runcmd');
        detail = scripts.length ? scripts.map((s) => `run ${layout.scripts(id)}/${s}`).join('; ') : 'no scripts';
      } else {
        detail = module.describe({ ctx, instanceId: id, source: found, config, where: `module ${module.name}` }).join('; ') || 'nothing to do';
      }
      lines.push({ stage, kind: 'module', name: module.name, frequency, run: skip === null, detail });
    }
  }
  return addProblems(ctx, lines);
}

/** What the network step would render (or why not), and the problems it found. */
function addNetwork(ctx: Context, lines: PlanLine[], system: Record<string, unknown>, found: SourceData | null, id: string | null, stage: string): void {
  const net = planNetwork(ctx, system, found, id);
  for (const p of net.problems) ctx.diags.push({ level: p.level, where: 'network', message: p.message });
  lines.push({ stage, kind: 'network', name: 'network', run: net.action === 'render', detail: net.detail });
}

function addProblems(ctx: Context, lines: PlanLine[]): PlanLine[] {
  for (const d of ctx.diags) lines.push({ stage: '-', kind: 'problem', name: d.where, run: false, detail: `${d.level}: ${d.message}` });
  return lines;
}

export function formatPlan(lines: PlanLine[]): string {
  return lines.map((l) => {
    const freq = l.frequency ? ` [${l.frequency}]` : '';
    return `${l.stage.padEnd(10)} ${l.kind.padEnd(10)} ${l.run ? 'RUN ' : '-   '} ${l.name}${freq}: ${l.detail}`;
  }).join('\n') + '\n';
}
