// disable_ec2_metadata (cloud-init's cc_disable_ec2_metadata), every boot in
// stage config: with `disable_ec2_metadata: true`, a route that makes
// 169.254.169.254 unreachable for the rest of the boot and after it
// (`ip route add prohibit 169.254.169.254`, or `route add -host … reject`
// where only net-tools is there), so nothing on the instance can read its
// credentials from IMDS. The route lives in the running kernel: under --root
// it is logged as skipped (a route is not a file of the root). A second
// run on the same boot finds the route there: that is not an error.
import { which } from '../host/root-facts.ts';
import { onRunningSystem, optionBool } from './helpers.ts';
import type { Module } from './module.ts';

const ADDRESS = '169.254.169.254';

export const disableEc2Metadata: Module = {
  name: 'disable_ec2_metadata',
  stage: 'config',
  frequency: 'per-boot',
  keys: ['disable_ec2_metadata'],
  schema: { disable_ec2_metadata: { type: 'boolean', description: `true: route ${ADDRESS} to 'prohibit' for the rest of the boot` } },
  describe: ({ config }) => optionBool(config, 'disable_ec2_metadata', false)
    ? [`ip route add prohibit ${ADDRESS} (running system only)`] : ['the metadata service stays reachable'],
  async run({ ctx, config, where }) {
    if (!optionBool(config, 'disable_ec2_metadata', false)) { ctx.log.info(`${where}: not asked: the metadata route stays`); return; }
    const ip = which(ctx.files, 'ip');
    const route = ip === null ? which(ctx.files, 'route') : null;
    if (ip === null && route === null) {
      ctx.report('error', where, `neither ip (iproute2) nor route (net-tools) is installed: ${ADDRESS} stays reachable`);
      return;
    }
    const argv = ip !== null ? [ip, 'route', 'add', 'prohibit', ADDRESS] : [route!, 'add', '-host', ADDRESS, 'reject'];
    if (!onRunningSystem(ctx, where, argv.join(' '))) return;
    const r = await ctx.capture(argv, { timeoutMs: 30_000 });
    if (r.code === 0) ctx.log.info(`${where}: ${ADDRESS} is now unreachable (${argv.slice(1).join(' ')})`);
    else if (/File exists/i.test(r.stderr)) ctx.log.info(`${where}: the route for ${ADDRESS} is already there`);
    else ctx.report('error', where, `${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  },
};
