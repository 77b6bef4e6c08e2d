// Walk datasource_list in order and take the first source that answers.
// Local sources are tried in `init --local`; network ones in `init`. The
// whole search has a hard deadline, and the metadata service is asked only
// where the platform can be EC2 (unless configured otherwise), so an absent
// source costs milliseconds, not minutes.
import { asText } from '../bytes.ts';
import type { Context } from '../context.ts';
import type { Config } from '../userdata/merge.ts';
import type { SourceData } from '../types.ts';
import { readConfigDrive } from './configdrive.ts';
import { layout } from '../state/layout.ts';
import { readEc2, type Ec2Cache } from './ec2.ts';
import { maybeEc2, maybeOpenStack } from './identify.ts';
import { readNoCloud } from './nocloud.ts';
import { DEFAULT_OPENSTACK_URLS, readOpenStack } from './openstack.ts';
import { sys } from '../host/sys.ts';

interface Source {
  /** Needs the network (asked in `init`, not in `init --local`). */
  network: boolean;
  read(ctx: Context, system: Config, deadline: number): Promise<SourceData | null>;
}

const DEFAULT_EC2_URLS = ['http://169.254.169.254', 'http://[fd00:ec2::254]'];

function dsConfig(system: Config, name: string): Config {
  const ds = system['datasource'];
  const own = ds && typeof ds === 'object' ? (ds as Config)[name] : undefined;
  return own && typeof own === 'object' ? own as Config : {};
}

/** Seconds as cloud-init's config gives them → milliseconds, with a default. */
function ms(value: unknown, fallbackSeconds: number): number {
  return typeof value === 'number' && value >= 0 ? value * 1000 : fallbackSeconds * 1000;
}

const SOURCES: Record<string, Source> = {
  NoCloud: { network: false, read: (ctx, _s, deadline) => readNoCloud(ctx.files, deadline) },
  ConfigDrive: { network: false, read: async (ctx) => readConfigDrive(ctx.files) },
  Ec2: {
    network: true,
    async read(ctx, system, deadline) {
      const cfg = dsConfig(system, 'Ec2');
      const list = (system['datasource_list'] as string[] | undefined)?.filter((s) => s !== 'None');
      const forced = cfg['strict_id'] === false || (list?.length === 1 && list[0] === 'Ec2');
      if (!forced && !maybeEc2(ctx.files)) {
        ctx.log.info('datasource Ec2: not an EC2 platform (DMI and hypervisor uuid say so); metadata service not asked');
        return null;
      }
      const urls = Array.isArray(cfg['metadata_urls']) ? (cfg['metadata_urls'] as unknown[]).map(String) : DEFAULT_EC2_URLS;
      const fallback = cfg['v1_fallback'];
      return readEc2({
        metadataUrls: urls,
        timeoutMs: ms(cfg['timeout'], 2),
        maxWaitMs: Math.min(ms(cfg['max_wait'], 20), Math.max(0, deadline - sys.now())),
        v1Fallback: fallback === 'always' || fallback === 'never' ? fallback : 'auto',
        cached: ec2Cache(ctx),
      }, ctx.log);
    },
  },
  OpenStack: {
    network: true,
    async read(ctx, system, deadline) {
      const cfg = dsConfig(system, 'OpenStack');
      const list = (system['datasource_list'] as string[] | undefined)?.filter((s) => s !== 'None');
      const forced = list?.length === 1 && list[0] === 'OpenStack';
      if (!forced && !maybeOpenStack(ctx.files)) {
        ctx.log.info('datasource OpenStack: DMI does not say OpenStack; metadata service not asked');
        return null;
      }
      const urls = Array.isArray(cfg['metadata_urls']) ? (cfg['metadata_urls'] as unknown[]).map(String) : DEFAULT_OPENSTACK_URLS;
      // cloud-init's defaults: timeout 10 s, max_wait -1 (one round), retries 5.
      const retries = typeof cfg['retries'] === 'number' && cfg['retries'] >= 0 ? Math.floor(cfg['retries']) : 5;
      return readOpenStack({
        metadataUrls: urls,
        timeoutMs: ms(cfg['timeout'], 10),
        maxWaitMs: Math.min(ms(cfg['max_wait'], 0), Math.max(0, deadline - sys.now())),
        retries,
        deadline,
      }, ctx.log);
    },
  },
};

/** What the Ec2 source cached on an earlier boot (data/ec2/), or null. */
function ec2Cache(ctx: Context): Ec2Cache | null {
  const dir = layout.providerCache('ec2');
  const meta = ctx.files.readIfExists(`${dir}/meta-data.json`);
  if (meta === null) return null;
  return {
    metaDataJson: asText(meta),
    userData: ctx.files.readIfExists(`${dir}/user-data`),
    identityDocument: ctx.files.readTextIfExists(`${dir}/dynamic-instance-identity-document.json`) ?? null,
  };
}

/** Overall limit of one search, whatever the sources' own settings (seconds in config: datasource_search_deadline). */
const SEARCH_DEADLINE_S = 60;

/** The first source of `list` (of the given kind) that has data; null when none does. */
export async function searchSources(ctx: Context, system: Config, list: string[], network: boolean): Promise<SourceData | null> {
  const deadline = sys.now() + ms(system['datasource_search_deadline'], SEARCH_DEADLINE_S);
  for (const name of list) {
    if (name === 'None') continue;
    const source = SOURCES[name];
    if (!source) {
      if (!network) ctx.report('warning', `datasource ${name}`, `not supported (supported: ${Object.keys(SOURCES).join(', ')}); skipped`);
      continue;
    }
    if (source.network !== network) continue;
    const started = sys.now();
    try {
      const found = await source.read(ctx, system, deadline);
      ctx.log.info(`datasource ${name}: ${found ? `found instance ${found.instanceId}` : 'not found'} (${(sys.now() - started).toFixed(1)} ms)`);
      if (found) return found;
    } catch (e) {
      ctx.report('error', `datasource ${name}`, (e as Error).message);
    }
  }
  return null;
}
