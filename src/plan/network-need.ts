// Whether stage init needs the network this boot, decided in init-local (as
// cloud-init 24.4+ decides in its local stage), recorded under /run, and the
// wait stage init then does: ec2-init.service is no longer ordered after the
// network's wait-online units, so a boot from a local seed whose stage init
// needs nothing from the network reaches sshd without waiting for it.
// Needed: no datasource found locally (stage init asks the network ones);
// a source that talks to its platform at the end of stage init (Azure's
// ready report); an #include of a URL; a boothook or a part-handler (code run
// in stage init); a stage-init module that may reach out (bootcmd,
// random_seed.command, mounts, a write_files source URL, rsyslog's
// install_rsyslog, a module of another stage moved into cloud_init_modules). Stages config and final wait for network-online
// themselves (their units), so packages, ntp, phone_home and scripts do not
// make stage init wait.
import type { Context } from '../context.ts';
import { withSystemConfig, type SystemConfig } from '../config/system.ts';
import { userModuleLists } from '../modules/module-lists.ts';
import { SOURCES } from '../sources/search.ts';
import type { Instance } from '../state/instance.ts';
import type { Config } from '../config/merge.ts';
import { planModules } from './modules.ts';
import { readUserData, savedUserDataInput } from './userdata.ts';

/** init-local's decision: "yes: why" or "no: why" (a missing file is a yes: init-local did not decide). */
export const NETWORK_NEED = '/run/ec2-init/network-needed';

export interface NetworkNeed { needed: boolean; reason: string }

const yes = (reason: string): NetworkNeed => ({ needed: true, reason });

/** A stage-init module's config that may reach the network, or null. */
function moduleNeed(name: string, config: Config): string | null {
  const nonEmpty = (v: unknown) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0) && v !== '';
  switch (name) {
    case 'bootcmd': return nonEmpty(config['bootcmd']) ? 'bootcmd runs commands' : null;
    case 'seed_random': {
      const rs = config['random_seed'];
      return rs && typeof rs === 'object' && nonEmpty((rs as Config)['command']) ? 'random_seed.command runs a command' : null;
    }
    case 'mounts': return nonEmpty(config['mounts']) ? 'mounts may name network filesystems' : null;
    // As cloud-init 24.4+ decides: a write_files entry (not deferred) with a source URL.
    case 'write_files': {
      const list = Array.isArray(config['write_files']) ? config['write_files'] : [];
      const url = list.some((e) => e && typeof e === 'object' && !(e as Config)['defer']
        && /^\s*[a-z][a-z0-9+.-]*:/i.test(String(((e as Config)['source'] as Config | undefined)?.['uri'] ?? '')) && !/^\s*file:/i.test(String(((e as Config)['source'] as Config)['uri'])));
      return url ? 'a write_files entry reads a URL' : null;
    }
    case 'rsyslog': {
      const rs = config['rsyslog'];
      return rs && typeof rs === 'object' && (rs as Config)['install_rsyslog'] === true ? 'rsyslog may install packages' : null;
    }
    default: return null;
  }
}

/** Decide, from what init-local found: the source, its user-data and vendor-data, the init modules that will run. */
export async function networkNeed(ctx: Context, system: SystemConfig, instance: Instance | null): Promise<NetworkNeed> {
  if (!instance) return yes('no datasource found locally: stage init asks the network ones');
  const source = SOURCES.find((s) => s.name === instance.source.name);
  if (source?.provisioned) return yes(`${source.name} is told over the network when stage init is done`);
  // Read as `plan` reads it: nothing fetched, nothing written, problems left for stage init to report.
  const scope = ctx.scoped();
  const data = await readUserData(scope, savedUserDataInput(ctx, instance, 'plan'));
  const url = data.includes.find((i) => !/^file:/i.test(i.name));
  if (url) return yes('the user-data #includes a URL');
  const code = [...data.parts, ...data.vendorParts].find((p) => p.route.to === 'boothook' || p.route.to === 'part-handler' || p.route.to === 'register-handler');
  if (code) return yes(`${code.part.filename} (${code.part.type}) runs in stage init`);
  const config = withSystemConfig(system, data.userConfig, data.vendorConfig, instance.source.config);
  for (const step of planModules(scope, 'init', instance.id, config, userModuleLists(data.userConfig, data.vendorConfig))) {
    if (!step.run) continue;
    if (step.module.stage !== 'init') return yes(`${step.name} (a ${step.module.stage} module) runs in stage init`);
    const why = moduleNeed(step.name, config);
    if (why) return yes(why);
  }
  return { needed: false, reason: `${instance.source.name} found locally; nothing in stage init needs the network` };
}

/** init-local: decide and record (a failure to decide records a yes). */
export async function recordNetworkNeed(ctx: Context, system: SystemConfig, instance: Instance | null): Promise<void> {
  let need: NetworkNeed;
  try { need = await networkNeed(ctx, system, instance); } catch (e) { need = yes(`could not tell (${(e as Error).message})`); }
  ctx.files.write(NETWORK_NEED, `${need.needed ? 'yes' : 'no'}: ${need.reason}\n`, { mode: 0o644 });
  ctx.log.info(`network: stage init ${need.needed ? 'waits for it' : 'does not wait for it'}: ${need.reason}`);
}

/**
 * The units network-online.target pulls in (enabled: linked in its .wants),
 * which ec2-init.service used to be ordered after. NetworkManager's is left
 * out: NetworkManager starts after sysinit.target, which stage init comes
 * before (as cloud-init's does on Debian): waiting for it here would wait
 * for ever (cloud-init too waits only for networkd's).
 */
function onlineUnits(ctx: Context): string[] {
  const units = new Set<string>();
  for (const dir of ['/etc/systemd/system', '/run/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system']) {
    for (const name of ctx.files.list(`${dir}/network-online.target.wants`)) {
      if (/^[A-Za-z0-9@._-]+\.service$/.test(name) && name !== 'NetworkManager-wait-online.service') units.add(name);
    }
  }
  return [...units].sort();
}

/** Longest wait: systemd-networkd-wait-online gives up after 120 s by default. */
const WAIT_MS = 150_000;

/** Stage init: wait for the network when init-local said so (or said nothing), under systemd only. */
export async function waitForNetworkIfNeeded(ctx: Context): Promise<void> {
  const record = ctx.files.readTextIfExists(NETWORK_NEED);
  if (record?.startsWith('no:')) { ctx.log.info(`network: not waited for (${record.slice(3).trim()})`); return; }
  // systemd's own test that it runs the machine (sd_booted).
  if (!ctx.files.isDirectory('/run/systemd/system')) return;
  const units = onlineUnits(ctx);
  if (!units.length) { ctx.log.info('network: nothing enabled brings network-online.target up; not waited for'); return; }
  const why = record ? record.slice(4).trim() : 'init-local did not say whether it is needed';
  ctx.log.info(`network: waiting for ${units.join(', ')} (${why})`);
  const r = await ctx.capture(['systemctl', 'start', ...units], { timeoutMs: WAIT_MS });
  if (r.code !== 0) ctx.log.info(`network: systemctl start ${units.join(' ')}: ${r.timedOut ? `no end after ${WAIT_MS / 1000} s` : `exit ${r.code}`} ${r.stderr.trim()}; going on`);
}
