// disable_ec2_metadata (cloud-init's cc_disable_ec2_metadata), every boot in
// stage config: with `disable_ec2_metadata: true`, a route that makes
// 169.254.169.254 unreachable for the rest of the boot and after it
// (`ip route add prohibit 169.254.169.254`, or `route add -host … reject`
// where only net-tools is there), so nothing on the instance can read its
// credentials from IMDS. The route lives in the running kernel: under --root
// it is logged as skipped (a route is not a file of the root). A second
// run on the same boot finds the route there: that is not an error.
import type { Action } from '../host/actions.ts';
import { which } from '../host/root-facts.ts';
import { optionBool } from './helpers.ts';
import { actionModule } from './module.ts';

const ADDRESS = '169.254.169.254';

export const disableEc2Metadata = actionModule<true>({
  name: 'disable_ec2_metadata',
  stage: 'config',
  frequency: 'per-boot',
  keys: ['disable_ec2_metadata'],
  schema: { disable_ec2_metadata: { type: 'boolean', description: `true: route ${ADDRESS} to 'prohibit' for the rest of the boot` } },
  check: (config) => (optionBool(config, 'disable_ec2_metadata', false) ? true : null),
  actions(_asked, { files, report, where }): Action[] {
    const ip = which(files, 'ip');
    const route = ip === null ? which(files, 'route') : null;
    if (ip === null && route === null) {
      report('error', `neither ip (iproute2) nor route (net-tools) is installed: ${ADDRESS} stays reachable`);
      return [];
    }
    const argv = ip !== null ? [ip, 'route', 'add', 'prohibit', ADDRESS] : [route!, 'add', '-host', ADDRESS, 'reject'];
    const said = argv.join(' ');
    return [{
      kind: 'run', argv, timeoutMs: 30_000, runningSystem: 'optional', failure: 'ignore', why: said,
      // A second run on the same boot finds the route there: not an error.
      then: (r): Action[] => r.code === 0 ? [{ kind: 'log', text: `${where}: ${ADDRESS} is now unreachable (${argv.slice(1).join(' ')})` }]
        : /File exists/i.test(r.stderr) ? [{ kind: 'log', text: `${where}: the route for ${ADDRESS} is already there` }]
          : [{ kind: 'report', level: 'error', message: `${said} failed (exit ${r.code}): ${r.stderr.trim()}` }],
    }];
  },
});
