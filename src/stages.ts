// The four boot stages. Each can run as its own process (the init system
// starts them at different points of the boot); `boot` runs them in order in
// one process. What one stage hands to the next lives on disk (DESIGN.md §4).
import type { Context } from './context.ts';
import { readSystemConfig, withSystemConfig, type SystemConfig } from './config/system.ts';
import { readSavedConfig } from './config/yaml.ts';
import { consumeUserData } from './consume.ts';
import { MODULES } from './modules/index.ts';
import type { Module } from './modules/module.ts';
import { runModule } from './modules/run-module.ts';
import { userModuleLists } from './modules/module-lists.ts';
import { planModules, skipReason } from './plan/modules.ts';
import { datasourceStep, logStep } from './plan/steps.ts';
import { applyOutputConfig } from './modules/output.ts';
import { applyNetwork } from './plan/network.ts';
import { searchPasses, sourceProvisioned, type SearchStage } from './sources/search.ts';
import { waitForSourceDevices } from './sources/device-wait.ts';
import { adoptInstance, loadInstance, type Instance } from './state/instance.ts';
import { writeInstanceData } from './state/instance-data.ts';
import { layout } from './state/layout.ts';
import { markDone, moduleSem, semPath } from './state/semaphore.ts';
import { readStatus, stageFinished, stageStarted } from './state/status.ts';
import type { Diag, Frequency, Stage } from './types.ts';
import type { Config } from './config/merge.ts';
import { now } from './host/clock.ts';
import { describeError } from './log.ts';
import { startEarlyHostKeys } from './modules/host-keys-early.ts';
import { NETWORK_NEED, recordNetworkNeed, waitForNetworkIfNeeded } from './plan/network-need.ts';

/** Run one stage in a scope of its own; its problems (also in status.json) are returned. */
export async function runStage(process: Context, stage: Stage): Promise<Diag[]> {
  const ctx = process.scoped();
  const foundThisBoot = stage !== 'init-local' && readStatus(ctx)?.v1.datasource != null;
  const status = stageStarted(ctx, stage);
  const started = now();
  ctx.log.info(`stage ${stage}: start`);
  const system = ctx.systemConfig ??= readSystemConfig(ctx.files, ctx.diags, ctx.configFile, 'update');
  let instance: Instance | null = null;
  try {
    switch (stage) {
      case 'init-local': startEarlyHostKeys(ctx, system.raw, 'init-local'); await waitForSourceDevices(ctx, system.datasourceList); instance = await findInstance(ctx, system, ['local']); await recordNetworkNeed(ctx, system, instance); break;
      case 'init': instance = await initStage(ctx, system, foundThisBoot); break;
      default: instance = await modulesStage(ctx, system, stage);
    }
  } catch (e) {
    // A bug, not bad input (bad input is reported where it is found): the message in status, the stack in the log.
    ctx.log.debug(`stage ${stage}: ${describeError(e)}`);
    ctx.report('error', `stage ${stage}`, `internal error: ${(e as Error).message ?? String(e)} (the log has the details with --log-level debug)`);
  }
  stageFinished(ctx, status, stage, ctx.diags, instance ? { name: instance.source.name, instanceId: instance.id } : null);
  ctx.log.info(`stage ${stage}: done in ${(now() - started).toFixed(1)} ms` +
    (ctx.diags.length ? ` with ${ctx.diags.length} problem(s)` : ''));
  return ctx.diags;
}

async function findInstance(ctx: Context, system: SystemConfig, passes: SearchStage[]): Promise<Instance | null> {
  // init-local: its pass; init: a seed that appeared since ('files'), then the network sources (search.ts SEARCH_PASSES).
  const hit = await searchPasses(ctx, system.raw, system.datasourceList, passes);
  const stage = passes.includes('local') ? 'init-local' : 'init';
  // The network config, before networking (init-local), or once a network source gave one (init).
  if (!hit) {
    if (stage === 'init-local') await applyNetwork(ctx, system.raw, null, null, stage);
    return null;
  }
  const { found } = hit;
  const instance = adoptInstance(ctx, found);
  // cloud-init's datasource activate(): a source may have modules run on every boot (Exoscale's set_passwords).
  for (const name of found.everyBoot ?? []) {
    const sem = semPath(instance.id, moduleSem(name), 'per-instance');
    if (sem && ctx.files.exists(sem)) { ctx.files.unlink(sem); ctx.log.info(`datasource ${found.name}: module ${name} runs again this boot`); }
  }
  logStep(ctx.log, datasourceStep(stage, found, instance.isNew));
  writeInstanceData(ctx, found);
  await applyNetwork(ctx, system.raw, found, instance.id, stage);
  return instance;
}

/** Stage init: the source (unless init-local found it), then user-data, then the init modules. */
async function initStage(ctx: Context, system: SystemConfig, foundThisBoot: boolean): Promise<Instance | null> {
  let instance = foundThisBoot ? loadInstance(ctx) : null;
  const askedLocally = !foundThisBoot && ctx.files.exists(NETWORK_NEED);
  if (askedLocally) {
    // init-local found nothing (it said so): a seed volume the kernel made after it looked (a CD-ROM
    // on a slow ATA scan) needs no network: looked for first, and the decision made again for it.
    instance = await findInstance(ctx, system, ['files']);
    if (instance) await recordNetworkNeed(ctx, system, instance);
  }
  await waitForNetworkIfNeeded(ctx);
  instance ??= await findInstance(ctx, system, askedLocally ? ['network'] : ['files', 'network']);
  if (!instance) {
    ctx.report('warning', 'datasource', `no datasource found (searched ${system.datasourceList.join(', ')}); nothing to do`);
    return null;
  }
  const { userConfig, vendorConfig } = await consumeUserData(ctx, instance);
  await runModules(ctx, instance, 'init', withSystemConfig(system, userConfig, vendorConfig, instance.source.config), userModuleLists(userConfig, vendorConfig));
  // The instance is provisioned now (users, ssh keys, passwords, hostname: init modules): the
  // platform may be told so (Azure's ready report, sent where cloud-init's own provisioning ends).
  await sourceProvisioned(ctx, system.raw, instance);
  return instance;
}

/** Stages config and final: the modules of the stage, on the config saved by init. */
async function modulesStage(ctx: Context, system: SystemConfig, stage: Stage): Promise<Instance | null> {
  const instance = loadInstance(ctx);
  if (!instance) {
    ctx.report('warning', `stage ${stage}`, 'no instance recorded by stage init; nothing to do');
    return null;
  }
  const saved = (path: string) => readSavedConfig(ctx.files.readTextIfExists(path) ?? '', path);
  const [user, vendor] = [saved(layout.userConfig), saved(layout.vendorConfig)];
  await runModules(ctx, instance, stage, withSystemConfig(system, user, vendor, instance.source.config), userModuleLists(user, vendor));
  if (stage === 'final') {
    ctx.files.write(layout.bootFinished(instance.id), `${new Date().toISOString()}\n`, { mode: 0o644 });
  }
  return instance;
}

/** What one module's run came to: the runner writes its semaphore and the stage's status from it. */
export interface ModuleResult {
  /** left-for-running-system: its essential work was skipped under --root; no semaphore, so the real boot does it. */
  status: 'done' | 'failed' | 'left-for-running-system';
  /** With left-for-running-system: what was left. */
  left: string | null;
  problems: Diag[];
  ms: number;
}

/** Run one module in a scope of its own: what it reports is its result, not a change to the stage's state. */
async function applyModule(ctx: Context, module: Module, frequency: Frequency, instance: Instance, config: Config): Promise<ModuleResult> {
  const scope = ctx.scoped();
  const where = `module ${module.name}`;
  const started = now();
  try {
    await runModule(module, { ctx: scope, instanceId: instance.id, source: instance.source, config, where, frequency });
  } catch (e) {
    scope.report('error', where, (e as Error).message);
  }
  const failed = scope.diags.some((d) => d.level === 'error');
  const status = scope.neededRunningSystem !== null ? 'left-for-running-system' : failed ? 'failed' : 'done';
  return { status, left: scope.neededRunningSystem, problems: scope.diags, ms: now() - started };
}

/**
 * The one semaphore rule, for the boot and for `single`: a module that ran to
 * its end, well or not, is marked done (cloud-init writes the semaphore
 * before the run and does not clear it on a failure), so a failing module
 * does not fail again at every boot; one whose work was left for the
 * running system (--root) is not, so the real boot still does it.
 */
function markModule(ctx: Context, instanceId: string, module: Module, frequency: Frequency, result: ModuleResult): void {
  const where = `module ${module.name}`;
  if (result.status === 'left-for-running-system') ctx.log.info(`${where}: not marked done: its work needs the running system (${result.left})`);
  else markDone(ctx, instanceId, moduleSem(module.name), frequency);
}

/** The stage's module steps (plan/modules.ts), each applied as it says. */
async function runModules(ctx: Context, instance: Instance, stage: Stage, config: Config, lists: Config): Promise<void> {
  applyOutputConfig(ctx, config, stage);
  for (const step of planModules(ctx, stage, instance.id, config, lists)) {
    logStep(ctx.log, step);
    if (!step.run) continue;
    const { module, frequency } = step;
    const where = `module ${module.name}`;
    const result = await applyModule(ctx, module, frequency, instance, config);
    ctx.diags.push(...result.problems);
    ctx.log.info(`${where}: ${result.problems.some((d) => d.level === 'error') ? 'failed' : 'done'} in ${result.ms.toFixed(1)} ms`);
    markModule(ctx, instance.id, module, frequency, result);
  }
}

/**
 * `single --name MODULE [--frequency …]`: one module now, on the config the
 * boot saved, as cloud-init's `single` runs it. 'always' runs it whatever its
 * semaphore says and leaves the semaphore alone; 'instance' and 'once' use
 * those semaphores instead of the module's own frequency. Returns the errors.
 */
export async function runSingleModule(ctx: Context, name: string, frequency: 'always' | 'instance' | 'once' | null): Promise<number> {
  const wanted = name.replace(/^cc_/, '').replace(/-/g, '_');
  const module = MODULES.find((m) => m.name === wanted);
  if (!module) throw new Error(`no module '${name}' (ec2-init has: ${MODULES.map((m) => m.name).join(', ')})`);
  const instance = loadInstance(ctx);
  if (!instance) throw new Error('no instance recorded yet: run the boot (ec2-init init) first');
  const system = ctx.systemConfig ??= readSystemConfig(ctx.files, ctx.diags, ctx.configFile, 'update');
  const saved = (path: string) => readSavedConfig(ctx.files.readTextIfExists(path) ?? '', path);
  const config = withSystemConfig(system, saved(layout.userConfig), saved(layout.vendorConfig), instance.source.config);
  const freq = frequency === 'always' ? 'per-boot' : frequency === 'instance' ? 'per-instance' : frequency === 'once' ? 'once' : module.frequency;
  const where = `module ${module.name}`;
  const skip = skipReason(ctx, instance.id, module, config, freq);
  if (skip) {
    ctx.log.info(`${where}: nothing to do: ${skip}${skip.startsWith('already') ? '; --frequency always runs it again' : ''}`);
    return 0;
  }
  const result = await applyModule(ctx, module, freq, instance, config);
  ctx.diags.push(...result.problems);
  markModule(ctx, instance.id, module, freq, result);
  return ctx.diags.filter((d) => d.level === 'error').length;
}
