// The four boot stages. Each can run as its own process (the init system
// starts them at different points of the boot); `boot` runs them in order in
// one process. What one stage hands to the next lives on disk (DESIGN.md §4).
import type { Context } from './context.ts';
import { readSystemConfig, withSystemConfig, type SystemConfig } from './config/system.ts';
import { readSavedConfig } from './config/yaml.ts';
import { MODULE_INFO } from './modules/registry.ts';
import { userModuleLists } from './modules/module-lists.ts';
import { skipReason } from './plan/modules.ts';
import { loadInstance, type Instance } from './state/instance.ts';
import { layout } from './state/layout.ts';
import { stageFinished, stageStarted } from './state/status.ts';
import type { Diag, Stage } from './types.ts';
import { now } from './host/clock.ts';
import { describeError } from './log.ts';
import { applyModule, markModule, runModules } from './stage-modules.ts';

/** Run one stage in a scope of its own; its problems (also in status.json) are returned. */
export async function runStage(process: Context, stage: Stage): Promise<Diag[]> {
  const ctx = process.scoped();
  const { status, foundThisBoot } = stageStarted(ctx, stage);
  const started = now();
  ctx.log.info(`stage ${stage}: start`);
  const system = ctx.systemConfig ??= readSystemConfig(ctx.files, ctx.diags, ctx.configFile, 'update');
  let instance: Instance | null = null;
  try {
    switch (stage) {
      // Only stages init-local and init look for the source, the network and the user-data: the
      // code for that (every datasource, the network renderers, the user-data readers) is loaded
      // only there, so stages config and final do not pay for reading it (stage-init.ts).
      case 'init-local': instance = await (await import('./stage-init.ts')).initLocalStage(ctx, system); break;
      case 'init': instance = await (await import('./stage-init.ts')).initStage(ctx, system, foundThisBoot); break;
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

/**
 * `single --name MODULE [--frequency …]`: one module now, on the config the
 * boot saved, as cloud-init's `single` runs it. 'always' runs it whatever its
 * semaphore says and leaves the semaphore alone; 'instance' and 'once' use
 * those semaphores instead of the module's own frequency. Returns the errors.
 */
export async function runSingleModule(ctx: Context, name: string, frequency: 'always' | 'instance' | 'once' | null): Promise<number> {
  const wanted = name.replace(/^cc_/, '').replace(/-/g, '_');
  const info = MODULE_INFO.find((m) => m.name === wanted);
  if (!info) throw new Error(`no module '${name}' (ec2-init has: ${MODULE_INFO.map((m) => m.name).join(', ')})`);
  const module = await info.load();
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
