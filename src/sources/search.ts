// Walk datasource_list in order and take the first source that answers.
// Which sources a pass asks (source.ts, SearchStage):
//   local    init-local: sources read from files, and sources behind a
//            link-local address, over the ephemeral network (src/net/ephemeral.ts)
//   files    init's first pass: a seed that appeared after init-local
//   network  init's second pass: sources behind the network, and the
//            link-local ones again (init-local could not reach them), now
//            over the configured network (cloud-init's Ec2Local, then Ec2)
// A source is asked only where local facts say its platform can be this
// machine (detect), so an absent cloud costs no request, no DHCP; and the
// whole search has a hard deadline. A source's code is loaded (registry.ts)
// only when a pass reaches it and asks it: a boot whose first listed source
// answers loads no other.
//
// The ephemeral network is set up only on the running system (root `/`):
// under --root nothing touches the running system (DESIGN.md §2), so a
// link-local source is read over whatever network there is (tests point its
// URLs at 127.0.0.1), unless EC2_INIT_EPHEMERAL_NETWORK=1 asks for it (tests
// that run the agent in a network namespace of their own). `plan` never sets
// one up.
import type { Context } from '../context.ts';
import { now } from '../host/clock.ts';
import { envVar } from '../host/process.ts';
import { markMetadataConnections } from '../net/http.ts';
import type { Instance } from '../state/instance.ts';
import type { SourceData, Stage } from '../types.ts';
import type { Config } from '../config/merge.ts';
import { keepWithinBudget, ReadBudget } from './budget.ts';
import { forgetUnanswered, recordUnanswered, unansweredThisBoot } from './unanswered.ts';
import { readPlatform, type Platform } from './platform.ts';
import { SOURCE_INFO, sourceInfo, type SourceInfo } from './registry.ts';
import { dsConfig, seconds, type SearchStage, type SourceRun } from './source.ts';
import { imdsMark } from './systemd-imds.ts';

/** Overall limit of one search, whatever the sources' own settings (seconds in config: datasource_search_deadline). */
const SEARCH_DEADLINE_S = 60;

/** The variable that allows the ephemeral network under --root (see above). */
export const EPHEMERAL_ENV = 'EC2_INIT_EPHEMERAL_NETWORK';

export type { SearchStage };

function askedIn(source: SourceInfo, stage: SearchStage): boolean {
  switch (stage) {
    case 'local': return source.reach === 'files' || source.reach === 'link-local';
    case 'files': return source.reach === 'files';
    case 'network': return source.reach === 'network' || source.reach === 'link-local';
  }
}

export interface SearchOptions {
  /** Never set up an ephemeral network (plan: it changes nothing). */
  noEphemeral?: boolean;
}

/** Whether a link-local source asked in init-local gets the ephemeral network (the rule above). */
function ephemeralAllowed(ctx: Context, opts: SearchOptions): boolean {
  if (opts.noEphemeral) return false;
  return ctx.root === '/' || envVar(EPHEMERAL_ENV) === '1';
}

/**
 * The passes in boot order, each with the stage that runs it: boot's stages
 * take theirs (stages.ts), plan takes all of them in turn (plan/index.ts).
 */
export const SEARCH_PASSES: ReadonlyArray<{ pass: SearchStage; stage: Stage }> = [
  { pass: 'local', stage: 'init-local' },
  { pass: 'files', stage: 'init' },
  { pass: 'network', stage: 'init' },
];

/** The first source `passes` find, in SEARCH_PASSES' order, and the stage whose pass found it. */
export async function searchPasses(ctx: Context, system: Config, list: string[], passes: readonly SearchStage[], opts: SearchOptions = {}): Promise<{ found: SourceData; stage: Stage } | null> {
  for (const { pass, stage } of SEARCH_PASSES) {
    // 'files' asks again what 'local' asked (for a seed that appeared since): within one search it is not asked twice.
    if (!passes.includes(pass) || (pass === 'files' && passes.includes('local'))) continue;
    const found = await searchSources(ctx, system, list, pass, opts);
    if (found) return { found, stage };
  }
  return null;
}

/** The first source of `list` that the pass asks and that has data; null when none does. */
export async function searchSources(ctx: Context, system: Config, list: string[], stage: SearchStage, opts: SearchOptions = {}): Promise<SourceData | null> {
  const deadline = now() + seconds(system['datasource_search_deadline'], SEARCH_DEADLINE_S);
  const named = list.filter((n) => n !== 'None');
  let platform: Platform | null = null;
  // systemd-imds's locked mode: every connection to a metadata address carries its mark (net/http.ts).
  markMetadataConnections(imdsMark(ctx.files));
  for (const name of named) {
    const info = sourceInfo(name);
    if (!info) {
      if (stage === 'local') ctx.report('warning', `datasource ${name}`, `not supported (supported: ${SOURCE_INFO.map((s) => s.name).join(', ')}); skipped`);
      continue;
    }
    if (!askedIn(info, stage)) continue;
    const source = await info.load();
    platform ??= readPlatform(ctx.files);
    const cfg = dsConfig(system, name);
    // A single configured source is asked whatever DMI says (ds-identify's rule); strict_id: false asks it too.
    const forced = named.length === 1 || cfg['strict_id'] === false;
    if ((!forced || source.detectWhenForced) && !source.detect(platform)) {
      ctx.log.info(`datasource ${name}: ${source.notDetected ?? 'not this platform'}; ${source.reach === 'files' ? '' : 'metadata service '}not asked` +
        (forced ? ' (checked even when it is the only source listed)' : ''));
      continue;
    }
    if (stage === 'network') {
      const why = unansweredThisBoot(ctx.files, name, cfg);
      if (why) {
        ctx.log.info(`datasource ${name}: not asked again: in init-local this boot, ${why} (timeout or max_wait in its config makes stage init ask again)`);
        continue;
      }
    }
    // init-local keeps this boot's record (`plan` reads too, but changes nothing).
    const record = stage === 'local' && !ctx.planning;
    if (record) forgetUnanswered(ctx.files, name);
    const started = now();
    const budget = new ReadBudget();
    const run: SourceRun = {
      ctx, log: ctx.log, platform, system, cfg, deadline, forced, stage, budget,
      ...(record && { gaveUp: (why: string) => recordUnanswered(ctx.files, name, why) }),
    };
    try {
      let found: SourceData | null;
      if (source.reach === 'link-local' && stage === 'local' && ephemeralAllowed(ctx, opts)) {
        // The DHCP clients and the link set-up: loaded only for a link-local source on the running system.
        const { withEphemeralNetwork } = await import('../net/ephemeral.ts');
        found = await withEphemeralNetwork(ctx, {
          kinds: typeof source.ephemeral === 'string' ? [source.ephemeral] : source.ephemeral ?? ['dhcp4'],
          connectivityUrls: source.connectivityUrls?.(cfg) ?? [],
          deadline, system,
        }, (net) => source.read(net.lease ? { ...run, lease: net.lease } : run), null);
      } else {
        if (source.reach === 'link-local' && stage === 'local') {
          ctx.log.info(`datasource ${name}: read over the network there is (${opts.noEphemeral ? 'plan' : `--root ${ctx.root}`}: no ephemeral network${opts.noEphemeral ? '' : `; ${EPHEMERAL_ENV}=1 sets one up`})`);
        }
        found = await source.read(run);
      }
      if (found) keepWithinBudget(found, budget, (m) => ctx.report('error', `datasource ${name}`, m));
      ctx.log.info(`datasource ${name}: ${found ? `found instance ${found.instanceId}` : 'not found'} (${(now() - started).toFixed(1)} ms)`);
      if (found) return found;
    } catch (e) {
      ctx.report('error', `datasource ${name}`, (e as Error).message);
    }
  }
  return null;
}

/** The found source's provisioned step (Azure's ready report), at the end of stage init; nothing for sources without one. */
export async function sourceProvisioned(ctx: Context, system: Config, instance: Instance): Promise<void> {
  const info = sourceInfo(instance.source.name);
  if (!info?.provisioned) return;
  const source = await info.load();
  if (!source.provisioned) return;
  try {
    await source.provisioned({ ctx, system, cfg: dsConfig(system, source.name), instance, problems: [...ctx.diags] });
  } catch (e) {
    ctx.report('error', `datasource ${source.name}`, `after provisioning: ${(e as Error).message}`);
  }
}
