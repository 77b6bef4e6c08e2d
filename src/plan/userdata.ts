// Stage init's reading of the user-data and vendor-data, for boot and plan
// alike: expanded (gzip, MIME, #include, archives, launch index), templates
// rendered, cloud-config merged, each part routed (parts.ts). It changes
// nothing but the #include-once cache, and only at boot: `plan` lists each
// #include it would fetch as a step and fetches nothing. What the caller
// saves and runs is consume.ts's (boot) or the printout's (plan).
import { EMPTY } from '../bytes.ts';
import { sha256, utf8Encode } from '../host/codecs.ts';
import type { Context } from '../context.ts';
import { mergeCloudConfig } from '../handlers/index.ts';
import { readTemplateData, renderTemplateParts } from '../userdata/jinja.ts';
import type { Instance } from '../state/instance.ts';
import { layout } from '../state/layout.ts';
import type { Diag, Part } from '../types.ts';
import { SOURCE_BUDGET } from '../sources/budget.ts';
import { expandUserData, type ExpandOptions } from '../userdata/expand.ts';
import type { Config } from '../config/merge.ts';
import { routeParts, routeVendorParts } from './parts.ts';
import { logStep, type IncludeStep, type PartStep } from './steps.ts';

export interface UserDataInput {
  instanceId: string;
  launchIndex: number | undefined;
  raw: Uint8Array;
  /** The provider's vendor-data, when it gave any. */
  vendorRaw: Uint8Array | null;
  /** What the source read besides user-data and vendor-data (SourceData.metaBytes): the rest of the budget is theirs. */
  metaBytes: number;
  /** What templates see: the instance data (instance-data.ts) of this boot. */
  templateData: unknown;
  /** boot: includes fetched (#include-once kept per instance); plan: listed, never fetched. */
  mode: 'boot' | 'plan';
}

export interface UserData {
  /** Each #include URL met, in order (at boot: fetched). */
  includes: IncludeStep[];
  /** The user-data's parts (templates rendered), each routed. */
  parts: PartStep[];
  /** user-data.txt: the expanded user-data. */
  expanded: Uint8Array;
  userConfig: Config;
  /** The vendor-data's parts, routed; empty when there is none or the user turned it off. */
  vendorParts: PartStep[];
  vendorConfig: Config;
  /** Why vendor-data is not used although the provider gave some, or null. */
  vendorOff: string | null;
  problems: Diag[];
}

export async function readUserData(ctx: Context, input: UserDataInput): Promise<UserData> {
  const problems: Diag[] = [];
  const includes: IncludeStep[] = [];
  // One budget for all a source gives (sources/budget.ts): the meta-data's share, then the user-data's
  // documents (gzip undone, includes fetched), then the vendor-data's in what is left.
  let left = Math.max(0, SOURCE_BUDGET - input.metaBytes);
  const expand = async (raw: Uint8Array, label: 'user-data' | 'vendor-data') => {
    const r = await expandUserData(raw, { ...expandOptions(ctx, input, label, includes), maxBytes: left });
    left -= r.used;
    for (const d of r.diags) problems.push({ ...d, where: label === 'user-data' ? d.where : d.where.replace(/^user-data/, label) });
    if (input.mode === 'boot') {
      ctx.log.info(`${label}: ${raw.length} bytes, ${r.parts.length} part(s): ${r.parts.map((p) => `${p.filename} (${p.type})`).join(', ') || 'none'}`);
    }
    return r;
  };
  const report = (label: string) => (level: Diag['level'], where: string, message: string) =>
    problems.push({ level, where: where.replace(/^user-data/, label), message });

  const user = await expand(input.raw, 'user-data');
  // '## template: jinja' parts become what they render to, before cloud-config is merged.
  const parts: Part[] = renderTemplateParts(user.parts, input.templateData, report('user-data'));
  const userConfig = mergeCloudConfig(parts, report('user-data'));

  let vendorParts: Part[] = [];
  let vendorConfig: Config = {};
  let vendorOff: string | null = null;
  if (input.vendorRaw && input.vendorRaw.length > 0) {
    if ((userConfig['vendor_data'] as { enabled?: unknown } | undefined)?.enabled === false) {
      vendorOff = 'disabled by vendor_data.enabled: false in the user-data';
    } else {
      vendorParts = (await expand(input.vendorRaw, 'vendor-data')).parts;
      vendorConfig = mergeCloudConfig(vendorParts, report('vendor-data'));
    }
  }
  return {
    includes, parts: routeParts(parts, input.instanceId), expanded: user.expanded, userConfig,
    vendorParts: routeVendorParts(vendorParts, input.instanceId), vendorConfig, vendorOff, problems,
  };
}

function expandOptions(ctx: Context, input: UserDataInput, label: string, includes: IncludeStep[]): ExpandOptions {
  // #include-once bodies are kept per instance, owner-only: they are user-data.
  const cached = (url: string) => `${layout.instance(input.instanceId)}/include-once/${hex(sha256(utf8Encode(url)))}`;
  const boot = input.mode === 'boot';
  return {
    ...(input.launchIndex !== undefined && { launchIndex: input.launchIndex }),
    files: ctx.files,
    note: (message) => ctx.log.info(message),
    includeCache: {
      get: (url) => ctx.files.readIfExists(cached(url)),
      put: (url, body) => { if (boot) ctx.files.write(cached(url), body, { mode: 0o600 }); },
    },
    onInclude: ({ url, once, where, cached: kept }) => {
      // A query string can carry a signature (presigned URLs): the log and the plan show it elided.
      const bare = url.replace(/\?.*$/s, '?…');
      const shown = bare.length > 200 ? bare.slice(0, 200) + '…' : bare;
      const step: IncludeStep = {
        kind: 'include', stage: 'init', name: shown, once, run: true,
        detail: `${where.replace(/^user-data/, label)}: ${kept ? 'the #include-once body kept for this instance' : 'fetch it'}, then handle what it holds`,
      };
      includes.push(step);
      if (boot) logStep(ctx.log, step);
      return boot || kept;
    },
  };
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** What a saved instance's user-data is read from (stage init, and init-local's network decision). */
export function savedUserDataInput(ctx: Context, instance: Instance, mode: UserDataInput['mode']): UserDataInput {
  return {
    instanceId: instance.id,
    launchIndex: instance.source.launchIndex,
    raw: ctx.files.readIfExists(layout.userDataRaw) ?? EMPTY,
    vendorRaw: ctx.files.readIfExists(`${layout.providerCache(instance.source.provider)}/vendor-data.raw`),
    metaBytes: instance.source.metaBytes ?? 0,
    // Written this boot from what the source gave (state/instance-data.ts), as plan computes it.
    templateData: readTemplateData(ctx),
    mode,
  };
}
