// install_hotplug (cloud-init's cc_install_hotplug, stage final, per
// instance): cloud-init installs a udev rule that runs its hotplug hook when
// `updates: network: when: [hotplug]` asks and the datasource supports it,
// and removes the rule (reloading udev) when it is there but not asked for.
// ec2-init has no hotplug hook (it renders the network once per instance or
// per boot), so it never installs the rule: asking for hotplug is a warning
// that says so (README, "Differences from cloud-init"); a rule an earlier
// cloud-init left is removed as cloud-init removes it, since its hook is gone.
import type { Action } from '../host/actions.ts';
import { which } from '../host/root-facts.ts';
import { isMapping } from './helpers.ts';
import { actionModule, type ModuleRun } from './module.ts';

const RULE = '/etc/udev/rules.d/90-cloud-init-hook-hotplug.rules';

function hotplugAsked(config: ModuleRun['config']): boolean {
  const u = config['updates'];
  const n = isMapping(u) ? u['network'] : undefined;
  const when = isMapping(n) ? n['when'] : undefined;
  return Array.isArray(when) && when.includes('hotplug');
}

export const installHotplug = actionModule<true>({
  name: 'install_hotplug',
  stage: 'final',
  frequency: 'per-instance',
  keys: [],
  schema: {
    updates: {
      type: 'object',
      additionalProperties: false,
      properties: {
        network: {
          type: 'object',
          properties: { when: { type: 'array', items: { enum: ['boot-new-instance', 'boot-legacy', 'boot', 'hotplug'] } } },
        },
      },
    },
  },
  check(config, report) {
    if (!hotplugAsked(config)) return true;
    report('warning', 'updates.network.when asks for hotplug, which ec2-init does not support (it has no hotplug hook): '
      + 'udev rules will NOT be installed; a NIC added later is not configured by ec2-init');
    return null;
  },
  actions(_notAsked, { files, log, where }): Action[] {
    if (!files.exists(RULE)) { log.info(`${where}: hotplug not enabled: nothing to install`); return []; }
    return [
      { kind: 'remove', path: RULE, why: 'hotplug not enabled' },
      ...(which(files, 'udevadm') === null ? [] : [
        { kind: 'run', argv: ['udevadm', 'control', '--reload-rules'], timeoutMs: 60_000, runningSystem: 'optional', why: 'udev forgets the rule' } satisfies Action,
      ]),
    ];
  },
});
