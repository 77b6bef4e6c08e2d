// bootcmd: commands run early, in stage init, on every boot, with
// INSTANCE_ID in the environment (cloud-init's cc_bootcmd).
import { layout } from '../state/layout.ts';
import { COMMAND_LIST, commandsToScript, count, type Module } from './module.ts';

export const bootcmd: Module = {
  name: 'bootcmd',
  stage: 'init',
  frequency: 'per-boot',
  keys: ['bootcmd'],
  schema: { bootcmd: COMMAND_LIST },
  describe: ({ config }) => [`run ${count(config['bootcmd'])} boot command(s) with /bin/sh`],
  async run({ ctx, instanceId, config, where }) {
    const script = `${layout.instance(instanceId)}/bootcmd`;
    ctx.files.write(script, commandsToScript(where, config['bootcmd']), { mode: 0o700 });
    await ctx.runChecked(where, ['/bin/sh', script], { env: { INSTANCE_ID: instanceId } });
  },
};
