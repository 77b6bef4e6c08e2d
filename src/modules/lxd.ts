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
import { type Checked, show } from '../validate/check.ts';
import { domainName, interfaceName, ipv4, ipv6Address, mtu, prefix } from '../validate/net.ts';
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
  commands: Commands;
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
  // A bridge refused (reported) is left out; lxd init still runs.
  const commands = (Object.keys(bridge).length ? bridgeCommands(bridge, report) : null) ?? { create: null, attach: null };
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

type Commands = { create: string[] | null; attach: string[] | null };

/** A bridge key's value if given (cloud-init skips a missing or empty one), checked by `valid`. */
function bridgeValue<T>(bridge: Record<string, unknown>, key: string, valid: (v: unknown) => Checked<T>, bad: string[]): T | undefined {
  const v = bridge[key];
  if (v === undefined || v === null || v === '') return undefined;
  const c = valid(v);
  if (!c.ok) bad.push(`lxd.bridge.${key}: ${c.why}`);
  return c.ok ? c.value : undefined;
}

/**
 * cloud-init's bridge_to_cmd: the `lxc` commands that create and attach the
 * bridge. Each value is a word of lxc's command line and a key of LXD's
 * network config: it passes its validator (validate/net.ts), or the bridge
 * is left out (reported by key) and null is returned.
 */
export function bridgeCommands(bridge: Record<string, unknown>, report: Report): Commands | null {
  const mode = bridge['mode'];
  if (mode === 'none') return { create: null, attach: null };
  const bad: string[] = [];
  const refuse = () => { for (const b of bad) report('error', `${b}; the bridge is left out`); return null; };
  // A word of lxc's command lines: an interface name, never an option (-…).
  const named = interfaceName(bridge['name'] ?? DEFAULT_NETWORK);
  if (!named.ok) bad.push(`lxd.bridge.name: ${named.why}`);
  if (mode !== 'new' && mode !== 'existing') bad.push(`lxd.bridge.mode: ${show(mode)} is not a bridge mode (none, existing or new)`);
  if (!named.ok || bad.length) return refuse();
  const name = named.value;
  const attach = ['network', 'attach-profile', name, 'default', 'eth0'];
  if (mode === 'existing') return { create: null, attach };
  const v4 = bridgeValue(bridge, 'ipv4_address', ipv4, bad);
  const v4mask = bridgeValue(bridge, 'ipv4_netmask', (v) => prefix(v, 4), bad);
  const first = bridgeValue(bridge, 'ipv4_dhcp_first', ipv4, bad);
  const last = bridgeValue(bridge, 'ipv4_dhcp_last', ipv4, bad);
  const v6 = bridgeValue(bridge, 'ipv6_address', ipv6Address, bad);
  const v6mask = bridgeValue(bridge, 'ipv6_netmask', (v) => prefix(v, 6), bad);
  const domain = bridgeValue(bridge, 'domain', domainName, bad);
  // -1 is the schema's default: LXD's own MTU.
  const linkMtu = bridge['mtu'] === -1 ? undefined : bridgeValue(bridge, 'mtu', mtu, bad);
  if (bad.length) return refuse();
  // The NAT flags only choose fixed words: true (the YAML boolean, or cloud-init's string) turns NAT on.
  const flag = (k: string) => (bridge[k] === undefined || bridge[k] === null || bridge[k] === '' ? undefined : String(bridge[k]));
  const create = ['network', 'create', name];
  if (v4 !== undefined && v4mask !== undefined) {
    create.push(`ipv4.address=${v4}/${v4mask}`);
    if ((flag('ipv4_nat') ?? 'true') === 'true') create.push('ipv4.nat=true');
    if (first !== undefined && last !== undefined) create.push(`ipv4.dhcp.ranges=${first}-${last}`);
  } else create.push('ipv4.address=none');
  if (v6 !== undefined && v6mask !== undefined) {
    create.push(`ipv6.address=${v6}/${v6mask}`);
    if (flag('ipv6_nat') === 'true') create.push('ipv6.nat=true');
  } else create.push('ipv6.address=none');
  if (domain !== undefined) create.push(`dns.domain=${domain}`);
  if (linkMtu !== undefined) create.push(`bridge.mtu=${linkMtu}`);
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
