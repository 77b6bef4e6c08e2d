// Stages init-local and init: the datasource search, the instance, the
// network config, the user-data, then (init) the init modules. Loaded by
// stages.ts only for those two stages: every datasource, the network
// renderers and the user-data readers stay out of stages config and final.
// Those are imported where they are used: a stage init whose source
// init-local found (every boot but the odd one) loads no datasource and no
// network renderer, only the user-data readers and its modules.
import type { Context } from './context.ts';
import { withSystemConfig, type SystemConfig } from './config/system.ts';
import { userModuleLists } from './modules/module-lists.ts';
import { datasourceStep, logStep } from './plan/steps.ts';
import { sourceInfo } from './sources/registry.ts';
import type { SearchStage } from './sources/source.ts';
import { adoptInstance, loadInstance, type Instance } from './state/instance.ts';
import { writeInstanceData } from './state/instance-data.ts';
import { moduleSem, semPath } from './state/semaphore.ts';
import { startEarlyHostKeys } from './modules/host-keys-early.ts';
import { NETWORK_NEED, recordNetworkNeed, waitForNetworkIfNeeded } from './plan/network-need.ts';
import { runModules } from './stage-modules.ts';

/** init-local: the early host keys started, the source's devices waited for, the local sources asked, the network need decided. */
export async function initLocalStage(ctx: Context, system: SystemConfig): Promise<Instance | null> {
  startEarlyHostKeys(ctx, system.raw, 'init-local');
  const { waitForSourceDevices } = await import('./sources/device-wait.ts');
  await waitForSourceDevices(ctx, system.datasourceList);
  const instance = await findInstance(ctx, system, ['local']);
  await recordNetworkNeed(ctx, system, instance);
  return instance;
}

async function findInstance(ctx: Context, system: SystemConfig, passes: SearchStage[]): Promise<Instance | null> {
  // init-local: its pass; init: a seed that appeared since ('files'), then the network sources (search.ts SEARCH_PASSES).
  const { searchPasses } = await import('./sources/search.ts');
  const { applyNetwork } = await import('./plan/network.ts');
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
export async function initStage(ctx: Context, system: SystemConfig, foundThisBoot: boolean): Promise<Instance | null> {
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
  // The user-data's readers and handlers (and, for the schema checks, every module): stage init's alone.
  const { consumeUserData } = await import('./consume.ts');
  const { userConfig, vendorConfig } = await consumeUserData(ctx, instance);
  await runModules(ctx, instance, 'init', withSystemConfig(system, userConfig, vendorConfig, instance.source.config), userModuleLists(userConfig, vendorConfig));
  // The instance is provisioned now (users, ssh keys, passwords, hostname: init modules): the
  // platform may be told so (Azure's ready report, sent where cloud-init's own provisioning ends).
  if (sourceInfo(instance.source.name)?.provisioned) await (await import('./sources/search.ts')).sourceProvisioned(ctx, system.raw, instance);
  return instance;
}
