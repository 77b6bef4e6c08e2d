// runcmd: the commands become a script in the instance's scripts/ directory,
// run in the final stage with the user's other scripts (cloud-init's cc_runcmd).
import { layout } from '../state/layout.ts';
import { actionModule, checkCommands, COMMAND_LIST } from './module.ts';

export const runcmd = actionModule<string>({
  name: 'runcmd',
  stage: 'config',
  frequency: 'per-instance',
  keys: ['runcmd'],
  schema: { runcmd: COMMAND_LIST },
  check: (config, report) => checkCommands('runcmd', config, report),
  actions: (script, { instanceId }) => [
    { kind: 'write', path: `${layout.scripts(instanceId)}/runcmd`, content: script, mode: 0o700, why: 'run in stage final' },
  ],
});
