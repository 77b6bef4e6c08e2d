// Stage init's user-data work at boot: read the user-data and vendor-data
// (plan/userdata.ts: the same reading `plan` prints), save what DESIGN.md §4
// says, then take each part's step: the parts to their handlers, vendor
// scripts saved for scripts_vendor. Vendor-data is processed like user-data,
// but the user's config wins where they conflict, and `vendor_data:
// {enabled: false}` in the user's config turns it off (as in cloud-init).
import type { Context } from './context.ts';
import { toYaml } from './config/yaml.ts';
import { handleParts } from './handlers/index.ts';
import { logStep } from './plan/steps.ts';
import { readUserData, savedUserDataInput } from './plan/userdata.ts';
import { failpoint } from './state/failpoint.ts';
import type { Instance } from './state/instance.ts';
import { layout } from './state/layout.ts';
import type { Config } from './config/merge.ts';

export interface Consumed {
  userConfig: Config;
  vendorConfig: Config;
}

export async function consumeUserData(ctx: Context, instance: Instance): Promise<Consumed> {
  const input = savedUserDataInput(ctx, instance, 'boot');
  // Where `query vendordata` reads it (as cloud-init's instance/vendor-data.txt): never in the instance data.
  if (input.vendorRaw) ctx.files.write(`${layout.instance(instance.id)}/vendor-data.txt`, input.vendorRaw, { mode: 0o600 });
  const data = await readUserData(ctx, input);
  for (const d of data.problems) ctx.report(d.level, d.where, d.message);
  ctx.files.write(layout.userDataTxt, data.expanded, { mode: 0o600 });
  ctx.files.write(layout.userConfig, `#cloud-config\n${toYaml(data.userConfig)}`, { mode: 0o600 });
  failpoint('after-user-config');
  if (data.vendorOff) ctx.log.info(`vendor-data: ${data.vendorOff}`);
  ctx.files.write(layout.vendorConfig, `#cloud-config\n${toYaml(data.vendorConfig)}`, { mode: 0o600 });
  await handleParts(ctx, instance.id, data.parts);
  for (const step of data.vendorParts) {
    logStep(ctx.log, step);
    if (step.route.to === 'save-script') ctx.files.write(step.route.path, step.part.body, { mode: 0o700, deferSync: true });
  }
  ctx.files.flushDeferred();
  return { userConfig: data.userConfig, vendorConfig: data.vendorConfig };
}
