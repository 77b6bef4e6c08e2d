// not_applicable: one line in the log for each key of a cloud-init module a
// Debian image has no use for (snap, ubuntu_pro, landscape, yum_repos, …;
// the list and the reasons are in schema/cloud-init-keys.ts). cloud-init's
// own Debian module lists leave those modules out, so it ignores the keys
// without a word and the boot is not degraded; ec2-init ignores them too, but
// says so once per instance, as information, never as a warning.
import { CLOUD_INIT_KEYS, NOT_ON_DEBIAN } from '../schema/cloud-init-keys.ts';
import { notApplicable } from '../schema/validate.ts';
import type { Module, ModuleRun } from './module.ts';

function keysHere(config: ModuleRun['config']): string[] {
  return Object.keys(config).filter((k) => NOT_ON_DEBIAN[CLOUD_INIT_KEYS[k] ?? ''] !== undefined);
}

export const notApplicableKeys: Module = {
  name: 'not_applicable',
  stage: 'init',
  frequency: 'per-instance',
  keys: [],
  housekeeping: true,
  describe: ({ config }) => keysHere(config).map((k) => `note: ${notApplicable(k, CLOUD_INIT_KEYS[k]!)}`),
  async run({ ctx, config, where }) {
    for (const k of keysHere(config)) ctx.log.info(`${where}: ${notApplicable(k, CLOUD_INIT_KEYS[k]!)}`);
  },
};
