// lxd (cloud-init's cc_lxd, stage final, per instance): LXD from the image's
// apt (Debian ships an `lxd` package; cloud-init, for Ubuntu only, installs
// the snap), the storage tools the backend needs (zfsutils-linux, lvm2,
// btrfs-progs), then `lxd waitready`, `lxd init --preseed` (the preseed on
// stdin) or `lxd init --auto --key=value` (the trust password by a preseed
// on stdin, never on the command line), and the bridge through `lxc
// network create/attach-profile`. Everything after the install talks to the
// LXD daemon: the running system's work, left to it under --root.
import type { Action, RunAction } from '../host/actions.ts';
import type { Config } from '../config/merge.ts';
import { which } from '../host/root-facts.ts';
import { parseYaml } from '../yaml/index.ts';
import { show } from '../validate/check.ts';
import { interfaceName } from '../validate/net.ts';
import { installActions } from './distro-actions.ts';
import { isMapping } from './helpers.ts';
import { actionModule, type ActionRun, type Report, type Schema } from './module.ts';
import { pyYamlDump } from './py-formats.ts';

const DEFAULT_NETWORK = 'lxdbr0';
const INIT_KEYS = ['network_address', 'network_port', 'storage_backend', 'storage_create_device', 'storage_create_loop', 'storage_pool', 'trust_password'];
const STRING: Schema = { type: 'string' };
const SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    init: {
      type: 'object',
      additionalProperties: false,
      properties: {
        network_address: STRING, network_port: { type: 'integer' }, storage_backend: { enum: ['zfs', 'dir', 'lvm', 'btrfs'] },
        storage_create_device: STRING, storage_create_loop: { type: 'integer' }, storage_pool: STRING, trust_password: STRING,
      },
    },
    bridge: {
      type: 'object',
      required: ['mode'],
      additionalProperties: false,
      properties: {
        mode: { enum: ['none', 'existing', 'new'] }, name: STRING, mtu: { type: 'integer' },
        ipv4_address: STRING, ipv4_netmask: { type: 'integer' }, ipv4_dhcp_first: STRING, ipv4_dhcp_last: STRING,
        ipv4_dhcp_leases: { type: 'integer' }, ipv4_nat: { type: 'boolean' }, ipv6_address: STRING, ipv6_netmask: { type: 'integer' },
        ipv6_nat: { type: 'boolean' }, domain: STRING,
      },
    },
    preseed: { type: 'string', description: 'YAML for lxd init --preseed (not with init or bridge)' },
  },
};

interface Lxd {
  init: Record<string, unknown>;
  bridge: Record<string, unknown>;
  preseed: string;
  /** The storage drivers the config names (cloud-init's get_required_packages). */
  drivers: string[];
  commands: { create: string[] | null; attach: string[] | null };
}

/** cloud-init's supplemental_schema_validation, the bridge's commands and the storage drivers. */
function check(config: Config, report: Report): Lxd | null {
  const c = config['lxd'];
  if (!c) return null;
  if (!isMapping(c)) { report('error', `lxd config must be a mapping, found ${show(c)}`); return null; }
  const init = c['init'] ?? {};
  const bridge = c['bridge'] ?? {};
  const preseed = c['preseed'] ?? '';
  const errors: string[] = [];
  if (!isMapping(init)) errors.push('lxd.init must be a mapping');
  if (!isMapping(bridge)) errors.push('lxd.bridge must be a mapping');
  if (typeof preseed !== 'string') errors.push('lxd.preseed must be a string');
  if (preseed && (isMapping(init) && Object.keys(init).length || isMapping(bridge) && Object.keys(bridge).length)) {
    errors.push('lxd.preseed cannot be given with lxd.init or lxd.bridge');
  }
  if (errors.length || !isMapping(init) || !isMapping(bridge) || typeof preseed !== 'string') { report('error', errors.join('; ')); return null; }
  let commands: Lxd['commands'];
  try {
    commands = Object.keys(bridge).length ? bridgeCommands(bridge) : { create: null, attach: null };
  } catch (e) { report('error', (e as Error).message); return null; }
  const drivers: string[] = [];
  if (init['storage_backend']) drivers.push(String(init['storage_backend']));
  if (preseed.includes('storage_pools')) {
    try {
      const pre = parseYaml(preseed);
      const pools = isMapping(pre) && Array.isArray(pre['storage_pools']) ? pre['storage_pools'] : [];
      for (const p of pools) if (isMapping(p) && p['driver']) drivers.push(String(p['driver']));
    } catch { report('warning', 'lxd.preseed is not YAML: cannot tell which storage packages it needs'); }
  }
  return { init, bridge, preseed, drivers, commands };
}

/** The storage tools the drivers need and the root lacks. */
function storagePackages(files: ActionRun['files'], drivers: string[]): string[] {
  const out: string[] = [];
  if (drivers.includes('zfs') && which(files, 'zfs') === null) out.push('zfsutils-linux');
  if (drivers.includes('lvm') && which(files, 'lvcreate') === null) out.push('lvm2');
  if (drivers.includes('btrfs') && which(files, 'mkfs.btrfs') === null) out.push('btrfs-progs');
  return out;
}

/** cloud-init's bridge_to_cmd: the `lxc` commands that create and attach the bridge. */
export function bridgeCommands(bridge: Record<string, unknown>): { create: string[] | null; attach: string[] | null } {
  const mode = bridge['mode'];
  if (mode === 'none') return { create: null, attach: null };
  // A word of lxc's command lines: an interface name, never an option (-…).
  const checked = interfaceName(bridge['name'] ?? DEFAULT_NETWORK);
  if (!checked.ok) throw new Error(`lxd.bridge.name: ${checked.why}`);
  const name = checked.value;
  const attach = ['network', 'attach-profile', name, 'default', 'eth0'];
  if (mode === 'existing') return { create: null, attach };
  if (mode !== 'new') throw new Error(`invalid lxd.bridge.mode ${show(mode)} (none, existing or new)`);
  const create = ['network', 'create', name];
  const b = (k: string) => (bridge[k] === undefined || bridge[k] === null || bridge[k] === '' ? undefined : String(bridge[k]));
  if (b('ipv4_address') && b('ipv4_netmask')) {
    create.push(`ipv4.address=${b('ipv4_address')}/${b('ipv4_netmask')}`);
    if ((b('ipv4_nat') ?? 'true') === 'true') create.push('ipv4.nat=true');
    if (b('ipv4_dhcp_first') && b('ipv4_dhcp_last')) create.push(`ipv4.dhcp.ranges=${b('ipv4_dhcp_first')}-${b('ipv4_dhcp_last')}`);
  } else create.push('ipv4.address=none');
  if (b('ipv6_address') && b('ipv6_netmask')) {
    create.push(`ipv6.address=${b('ipv6_address')}/${b('ipv6_netmask')}`);
    if (b('ipv6_nat') === 'true') create.push('ipv6.nat=true');
  } else create.push('ipv6.address=none');
  if (b('domain')) create.push(`dns.domain=${b('domain')}`);
  if (bridge['mtu'] !== undefined && bridge['mtu'] !== -1) create.push(`bridge.mtu=${String(bridge['mtu'])}`);
  return { create, attach };
}

/**
 * `lxd init --auto` with the init keys as --key=value (cloud-init's
 * handle_init_cfg) but trust_password, which never goes on a command line
 * (any user sees it in ps): trustPreseed gives it on stdin.
 */
export function initArgv(init: Record<string, unknown>): string[] {
  const argv = ['lxd', 'init', '--auto'];
  for (const k of INIT_KEYS) if (k !== 'trust_password' && init[k]) argv.push(`--${k.replace(/_/g, '-')}=${String(init[k])}`);
  return argv;
}

/** The preseed that sets the trust password (what --trust-password does), for `lxd init --preseed` on stdin. */
export function trustPreseed(password: string): string {
  return pyYamlDump({ config: { 'core.trust_password': password } });
}

/** A step that talks to the LXD daemon: the running system's (the module's point: it stays to do on the real boot). */
function daemon(argv: string[], why: string, extra: Partial<RunAction> = {}): Action {
  return { kind: 'run', argv, timeoutMs: 600_000, env: { LC_ALL: 'C', USER: 'root' }, why, runningSystem: 'essential', ...extra };
}

export const lxd = actionModule<Lxd>({
  name: 'lxd',
  stage: 'final',
  frequency: 'per-instance',
  keys: ['lxd'],
  schema: { lxd: SCHEMA },
  check,
  actions(l, run): Action[] {
    const packages = [...(which(run.files, 'lxd') === null ? ['lxd'] : []), ...storagePackages(run.files, l.drivers)];
    const install = installActions(run, packages);
    if (packages.length && install.length === 0) return [];
    const out: Action[] = [...install, daemon(['lxd', 'waitready', '--timeout=300'], 'wait for the LXD daemon')];
    if (l.preseed) return [...out, daemon(['lxd', 'init', '--preseed'], 'lxd init --preseed', { input: l.preseed })];
    const didInit = Object.keys(l.init).length > 0;
    if (didInit) out.push(daemon(initArgv(l.init), 'lxd init --auto'));
    const password = l.init['trust_password'];
    if (password) out.push(daemon(['lxd', 'init', '--preseed'], 'the trust password', { input: trustPreseed(String(password)) }));
    const { create, attach } = l.commands;
    const name = String(l.bridge['name'] ?? DEFAULT_NETWORK);
    // lxd init --auto makes lxdbr0 itself: cloud-init's maybe_cleanup_default removes it before its own.
    if (didInit && name === DEFAULT_NETWORK) {
      if (create) {
        out.push(daemon(['lxc', 'network', 'detach-profile', name, 'default', '--force-local'], `detach the default ${name}`, {
          timeoutMs: 120_000, failure: 'ignore',
          then: (r) => (r.code === 0 ? [daemon(['lxc', 'network', 'delete', name, '--force-local'], `delete the default ${name}`)] : []),
        }));
      }
      if (attach) out.push(daemon(['lxc', 'profile', 'device', 'remove', 'default', 'eth0', '--force-local'], 'remove the default eth0', { timeoutMs: 120_000, failure: 'ignore' }));
    }
    if (create) out.push(daemon(['lxc', ...create, '--force-local'], `create the bridge ${name}`));
    if (attach) out.push(daemon(['lxc', ...attach, '--force-local'], `attach ${name} to the default profile`));
    return out;
  },
});
