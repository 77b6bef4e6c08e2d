// not_applicable: one line in the log for each key of a cloud-init module a
// Debian image has no use for (snap, ubuntu_pro, landscape, yum_repos, …;
// the list and the reasons are in schema/cloud-init-keys.ts). cloud-init's
// own Debian module lists leave those modules out, so it ignores the keys
// without a word and the boot is not degraded; ec2-init ignores them too, but
// says so once per instance, as information, never as a warning.
import { CLOUD_INIT_KEYS, NOT_ON_DEBIAN } from '../schema/cloud-init-keys.ts';
import { notApplicable } from '../schema/validate.ts';
import { actionModule } from './module.ts';

export const notApplicableKeys = actionModule<string[]>({
  name: 'not_applicable',
  stage: 'init',
  frequency: 'per-instance',
  keys: [],
  housekeeping: true,
  check(config) {
    const keys = Object.keys(config).filter((k) => NOT_ON_DEBIAN[CLOUD_INIT_KEYS[k] ?? ''] !== undefined);
    return keys.length ? keys : null;
  },
  actions: (keys, { where }) => keys.map((k) => ({ kind: 'log', text: `${where}: ${notApplicable(k, CLOUD_INIT_KEYS[k]!)}`, why: `${k} not applicable` })),
});
