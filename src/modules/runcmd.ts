// runcmd: the commands become a script in the instance's scripts/ directory,
// run in the final stage with the user's other scripts (cloud-init's cc_runcmd).
import { layout } from '../state/layout.ts';
import { COMMAND_LIST, commandsToScript, count, type Module } from './module.ts';

export const runcmd: Module = {
  name: 'runcmd',
  stage: 'config',
  frequency: 'per-instance',
  keys: ['runcmd'],
  schema: { runcmd: COMMAND_LIST },
  writes: ({ instanceId }) => [`${layout.scripts(instanceId)}/runcmd`],
  describe: ({ instanceId, config }) => [
    `write ${count(config['runcmd'])} command(s) to ${layout.scripts(instanceId)}/runcmd (run in stage final)`,
  ],
  async run({ ctx, instanceId, config, where }) {
    ctx.files.write(`${layout.scripts(instanceId)}/runcmd`, commandsToScript(where, config['runcmd']), { mode: 0o700 });
  },
};
