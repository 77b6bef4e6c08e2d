// Walk datasource_list in order and take the first source that answers.
// Sources read from files are tried in `init --local`; sources behind the
// network in `init`; link-local metadata services in init-local and again
// in init (source.ts). A source is asked only where local facts say its
// platform can be this machine (detect), so an absent cloud costs no
// request, and the whole search has a hard deadline.
import type { Context } from '../context.ts';
import { sys } from '../host/sys.ts';
import type { Instance } from '../state/instance.ts';
import type { SourceData } from '../types.ts';
import type { Config } from '../userdata/merge.ts';
import { akamai } from './akamai.ts';
import { aliYun } from './aliyun.ts';
import { azure } from './azure.ts';
import { keepWithinBudget, ReadBudget } from './budget.ts';
import { cloudStack } from './cloudstack.ts';
import { configDrive } from './configdrive.ts';
import { digitalOcean } from './digitalocean.ts';
import { ec2 } from './ec2.ts';
import { exoscale } from './exoscale.ts';
import { gce } from './gce.ts';
import { hetzner } from './hetzner.ts';
import { lxd } from './lxd.ts';
import { noCloud } from './nocloud.ts';
import { openStack } from './openstack.ts';
import { oracle } from './oracle.ts';
import { readPlatform, type Platform } from './platform.ts';
import { scaleway } from './scaleway.ts';
import { dsConfig, seconds, type Source } from './source.ts';
import { upCloud } from './upcloud.ts';
import { vmware } from './vmware.ts';
import { vultr } from './vultr.ts';

/** Every source ec2-init has, in the order of cloud-init's default datasource_list. */
export const SOURCES: readonly Source[] = [
  noCloud, configDrive, lxd, digitalOcean, azure, gce, openStack, aliYun, vultr, ec2, cloudStack, scaleway, hetzner, oracle, exoscale, upCloud, akamai, vmware,
];

/** Overall limit of one search, whatever the sources' own settings (seconds in config: datasource_search_deadline). */
const SEARCH_DEADLINE_S = 60;

/** Which sources a stage asks: init-local the local ones, init those behind the network. */
export type SearchStage = 'local' | 'network';

function askedIn(source: Source, stage: SearchStage): boolean {
  if (stage === 'local') return source.reach === 'files';
  return source.reach === 'network' || source.reach === 'link-local';
}

/** The first source of `list` that the stage asks and that has data; null when none does. */
export async function searchSources(ctx: Context, system: Config, list: string[], stage: SearchStage): Promise<SourceData | null> {
  const deadline = sys.now() + seconds(system['datasource_search_deadline'], SEARCH_DEADLINE_S);
  const named = list.filter((n) => n !== 'None');
  let platform: Platform | null = null;
  for (const name of named) {
    const source = SOURCES.find((s) => s.name === name);
    if (!source) {
      if (stage === 'local') ctx.report('warning', `datasource ${name}`, `not supported (supported: ${SOURCES.map((s) => s.name).join(', ')}); skipped`);
      continue;
    }
    if (!askedIn(source, stage)) continue;
    platform ??= readPlatform(ctx.files);
    const cfg = dsConfig(system, name);
    // A single configured source is asked whatever DMI says (ds-identify's rule); strict_id: false asks it too.
    const forced = named.length === 1 || cfg['strict_id'] === false;
    if (!forced && !source.detect(platform)) {
      ctx.log.info(`datasource ${name}: ${source.notDetected ?? 'not this platform'}; ${source.reach === 'files' ? '' : 'metadata service '}not asked`);
      continue;
    }
    const started = sys.now();
    try {
      const budget = new ReadBudget();
      const found = await source.read({ ctx, log: ctx.log, platform, system, cfg, deadline, forced, stage, budget });
      if (found) keepWithinBudget(found, budget, (m) => ctx.report('error', `datasource ${name}`, m));
      ctx.log.info(`datasource ${name}: ${found ? `found instance ${found.instanceId}` : 'not found'} (${(sys.now() - started).toFixed(1)} ms)`);
      if (found) return found;
    } catch (e) {
      ctx.report('error', `datasource ${name}`, (e as Error).message);
    }
  }
  return null;
}

/** The found source's provisioned step (Azure's ready report), at the end of stage init; nothing for sources without one. */
export async function sourceProvisioned(ctx: Context, system: Config, instance: Instance): Promise<void> {
  const source = SOURCES.find((s) => s.name === instance.source.name);
  if (!source?.provisioned) return;
  try {
    await source.provisioned({ ctx, system, cfg: dsConfig(system, source.name), instance, problems: [...ctx.diags] });
  } catch (e) {
    ctx.report('error', `datasource ${source.name}`, `after provisioning: ${(e as Error).message}`);
  }
}
