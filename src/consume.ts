// Stage init's user-data work: expand the raw user-data (and vendor-data),
// save what DESIGN.md §4 says, merge the cloud-config, hand the other parts
// to their handlers. Vendor-data is processed like user-data, but the user's
// config wins where they conflict, and `vendor_data: {enabled: false}` in
// the user's config turns it off (as in cloud-init).
import { EMPTY } from './bytes.ts';
import { sys } from './host/sys.ts';
import type { Context } from './context.ts';
import { toYaml } from './config/yaml.ts';
import { handleParts, mergeCloudConfig, readTemplateData, renderTemplateParts } from './handlers/index.ts';
import { failpoint } from './state/failpoint.ts';
import type { Instance } from './state/instance.ts';
import { layout } from './state/layout.ts';
import type { Part } from './types.ts';
import { expandUserData, type ExpandOptions } from './userdata/expand.ts';
import type { Config } from './userdata/merge.ts';

export interface Consumed {
  userConfig: Config;
  vendorConfig: Config;
}

function expandOptions(ctx: Context, instance: Instance): ExpandOptions {
  // #include-once bodies are kept per instance, owner-only: they are user-data.
  const cached = (url: string) => `${layout.instance(instance.id)}/include-once/${hex(sys.sha256(sys.utf8Encode(url)))}`;
  return {
    launchIndex: instance.source.launchIndex,
    files: ctx.files,
    note: (message) => ctx.log.info(message),
    includeCache: {
      get: (url) => ctx.files.readIfExists(cached(url)),
      put: (url, body) => ctx.files.write(cached(url), body, { mode: 0o600 }),
    },
  };
}

async function expand(ctx: Context, instance: Instance, raw: Uint8Array, label: string): Promise<{ parts: Part[]; expanded: Uint8Array }> {
  const { parts, expanded, diags } = await expandUserData(raw, expandOptions(ctx, instance));
  for (const d of diags) ctx.report(d.level, label === 'user-data' ? d.where : d.where.replace(/^user-data/, label), d.message);
  ctx.log.info(`${label}: ${raw.length} bytes, ${parts.length} part(s): ${parts.map((p) => `${p.filename} (${p.type})`).join(', ') || 'none'}`);
  return { parts, expanded };
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export async function consumeUserData(ctx: Context, instance: Instance): Promise<Consumed> {
  const raw = ctx.files.readIfExists(layout.userDataRaw) ?? EMPTY;
  const { parts: decoded, expanded } = await expand(ctx, instance, raw, 'user-data');
  ctx.files.write(layout.userDataTxt, expanded, { mode: 0o600 });
  // '## template: jinja' parts become what they render to, before cloud-config is merged.
  const parts = renderTemplateParts(decoded, readTemplateData(ctx), (level, where, message) => ctx.report(level, where, message));
  const userConfig = mergeCloudConfig(parts, (level, where, message) => ctx.report(level, where, message));
  ctx.files.write(layout.userConfig, `#cloud-config\n${toYaml(userConfig)}`, { mode: 0o600 });
  failpoint('after-user-config');

  let vendorConfig: Config = {};
  const vendorRaw = ctx.files.readIfExists(`${layout.providerCache(instance.source.provider)}/vendor-data.raw`);
  const vendorOff = (userConfig['vendor_data'] as { enabled?: unknown } | undefined)?.enabled === false;
  if (vendorRaw && vendorRaw.length > 0 && !vendorOff) {
    const vendor = await expand(ctx, instance, vendorRaw, 'vendor-data');
    vendorConfig = mergeCloudConfig(vendor.parts, (level, where, message) => ctx.report(level, where.replace(/^user-data/, 'vendor-data'), message));
    // Vendor scripts run in the final stage, before the user's (scripts_vendor).
    for (const p of vendor.parts.filter((p) => p.type === 'text/x-shellscript')) {
      ctx.files.write(`${layout.vendorScripts(instance.id)}/${p.filename}`, p.body, { mode: 0o700 });
    }
  } else if (vendorRaw && vendorOff) {
    ctx.log.info('vendor-data: disabled by vendor_data.enabled: false in the user-data');
  }
  ctx.files.write(layout.vendorConfig, `#cloud-config\n${toYaml(vendorConfig)}`, { mode: 0o600 });
  await handleParts(ctx, instance.id, parts);
  return { userConfig, vendorConfig };
}
