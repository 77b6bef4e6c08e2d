// bootcmd: commands run early, in stage init, on every boot, with
// INSTANCE_ID in the environment (cloud-init's cc_bootcmd).
import { layout } from '../state/layout.ts';
import { actionModule, checkCommands, COMMAND_LIST } from './module.ts';

export const bootcmd = actionModule<string>({
  name: 'bootcmd',
  stage: 'init',
  frequency: 'per-boot',
  keys: ['bootcmd'],
  schema: { bootcmd: COMMAND_LIST },
  check: (config, report) => checkCommands('bootcmd', config, report),
  actions(script, { instanceId }) {
    const path = `${layout.instance(instanceId)}/bootcmd`;
    return [
      { kind: 'write', path, content: script, mode: 0o700, why: 'the boot commands' },
      { kind: 'run', argv: ['/bin/sh', path], env: { INSTANCE_ID: instanceId }, why: 'the boot commands' },
    ];
  },
});
