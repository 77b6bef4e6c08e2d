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
// What the decision reads of the user-data is kept between boots
// (NEED_CACHE, owner-only: it is user-data), keyed by a digest of every input
// of that reading: a later boot with the same inputs neither parses the
// user-data nor loads its readers (nor the modules, for their schemas).
import { asText } from '../bytes.ts';
import type { Context } from '../context.ts';
import { withSystemConfig, type SystemConfig } from '../config/system.ts';
import { readSavedJson, toYaml } from '../config/yaml.ts';
import { sha256, utf8Encode } from '../host/codecs.ts';
import { DATA, layout } from '../state/layout.ts';
import { VERSION } from '../version.ts';
import { userModuleLists } from '../modules/module-lists.ts';
import type { Instance } from '../state/instance.ts';
import type { Config } from '../config/merge.ts';
import { sourceInfo } from '../sources/registry.ts';
import { planModules } from './modules.ts';

/** init-local's decision: "yes: why" or "no: why" (a missing file is a yes: init-local did not decide). */
export const NETWORK_NEED = '/run/ec2-init/network-needed';

export interface NetworkNeed { needed: boolean; reason: string }

/** init-local's reading of the user-data for the decision, from the last boot whose inputs were the same. */
export const NEED_CACHE = `${DATA}/network-need.cache.json`;

/** What the decision needs of the user-data and vendor-data. */
interface NeedInput {
  /** The user-data #includes a URL. */
  url: boolean;
  /** A part that runs code in stage init: 'part-001 (text/cloud-boothook)', or null. */
  code: string | null;
  userConfig: Config;
  vendorConfig: Config;
}

/** The digest of everything the reading depends on: this version, the instance, the user-data, the vendor-data, the template data. */
function inputKey(ctx: Context, instance: Instance): string {
  const read = (path: string) => ctx.files.readIfExists(path);
  // Jinja templates render with the instance data (userdata/jinja.ts TEMPLATE_DATA), written this boot by init-local.
  const inputs = [read(layout.userDataRaw), read(`${layout.providerCache(instance.source.provider)}/vendor-data.raw`), read(`${layout.runDir}/instance-data-sensitive.json`)];
  const head = utf8Encode(JSON.stringify([VERSION, instance.id, instance.source.launchIndex ?? null, instance.source.metaBytes ?? 0, inputs.map((b) => (b === null ? null : b.length))]));
  const all = new Uint8Array(head.length + inputs.reduce((n, b) => n + (b?.length ?? 0), 0));
  all.set(head, 0);
  let at = head.length;
  for (const b of inputs) if (b) { all.set(b, at); at += b.length; }
  return Array.from(sha256(all), (x) => x.toString(16).padStart(2, '0')).join('');
}

/** The kept reading when it was made from these inputs; anything else there (a link, a broken or foreign file) is not used. */
function keptInput(ctx: Context, key: string): NeedInput | null {
  let saved: Record<string, unknown> | null;
  try {
    const st = ctx.files.lstat(NEED_CACHE);
    if (st?.kind !== 'file') return null;
    saved = readSavedJson(asText(ctx.files.read(NEED_CACHE)));
  } catch { return null; }
  const mapping = (v: unknown): v is Config => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!saved || saved['key'] !== key || typeof saved['url'] !== 'boolean' || !(saved['code'] === null || typeof saved['code'] === 'string')
    || !mapping(saved['userConfig']) || !mapping(saved['vendorConfig'])) return null;
  return { url: saved['url'], code: saved['code'] as string | null, userConfig: saved['userConfig'], vendorConfig: saved['vendorConfig'] };
}

/** Read as `plan` reads it (nothing fetched, nothing written, problems left for stage init to report), or as kept. */
async function needInput(ctx: Context, instance: Instance): Promise<NeedInput> {
  const key = inputKey(ctx, instance);
  const kept = keptInput(ctx, key);
  if (kept) { ctx.log.info('network: user-data, vendor-data and instance data as at an earlier decision: not read again'); return kept; }
  const { readUserData, savedUserDataInput } = await import('./userdata.ts');
  const data = await readUserData(ctx.scoped(), savedUserDataInput(ctx, instance, 'plan'));
  const code = [...data.parts, ...data.vendorParts].find((p) => p.route.to === 'boothook' || p.route.to === 'part-handler' || p.route.to === 'register-handler');
  const input: NeedInput = {
    url: data.includes.some((i) => !/^file:/i.test(i.name)),
    code: code ? `${code.part.filename} (${code.part.type})` : null,
    userConfig: data.userConfig, vendorConfig: data.vendorConfig,
  };
  // Not kept when the user-data #includes anything: what a file or URL holds can change while the user-data does not.
  if (data.includes.length === 0) {
    try {
      // Something else in its place (a planted link) is removed, never written through.
      const there = ctx.files.lstat(NEED_CACHE);
      if (there !== null && there.kind !== 'file') ctx.files.unlink(NEED_CACHE);
      ctx.files.write(NEED_CACHE, toYaml({ key, ...input }), { mode: 0o600 });
    } catch { /* not kept: the next boot reads again */ }
  }
  return input;
}

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
  if (sourceInfo(instance.source.name)?.provisioned) return yes(`${instance.source.name} is told over the network when stage init is done`);
  const data = await needInput(ctx, instance);
  if (data.url) return yes('the user-data #includes a URL');
  if (data.code) return yes(`${data.code} runs in stage init`);
  const config = withSystemConfig(system, data.userConfig, data.vendorConfig, instance.source.config);
  // Problems with the module lists are stage init's to report.
  const scope = ctx.scoped();
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
