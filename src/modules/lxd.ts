// lxd (cloud-init's cc_lxd, stage final, per instance): LXD from the image's
// apt (Debian ships an `lxd` package; cloud-init, for Ubuntu only, installs
// the snap), the storage tools the backend needs (zfsutils-linux, lvm2,
// btrfs-progs), then `lxd waitready`, `lxd init --preseed` (the preseed on
// stdin) or `lxd init --auto --key=value`, and the bridge through `lxc
// network create/attach-profile`. Everything after the install talks to the
// LXD daemon: the running system's work, left to it under --root.
import { which } from '../host/root-facts.ts';
import type { Context } from '../context.ts';
import { parseYaml } from '../yaml/index.ts';
import { show } from '../validate/check.ts';
import { interfaceName } from '../validate/net.ts';
import { installPackages } from './distro-actions.ts';
import { isMapping, onRunningSystem } from './helpers.ts';
import type { Module, ModuleRun, Schema } from './module.ts';

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

interface Lxd { init: Record<string, unknown>; bridge: Record<string, unknown>; preseed: string }

/** cloud-init's supplemental_schema_validation. */
function read(config: ModuleRun['config']): Lxd | null {
  const c = config['lxd'];
  if (!c) return null;
  if (!isMapping(c)) throw new Error(`lxd config must be a mapping, found ${show(c)}`);
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
  if (errors.length) throw new Error(errors.join('; '));
  return { init: init as Record<string, unknown>, bridge: bridge as Record<string, unknown>, preseed: preseed as string };
}

/** cloud-init's get_required_packages. */
function storagePackages(ctx: Context, lxd: Lxd): string[] {
  const drivers: string[] = [];
  if (lxd.init['storage_backend']) drivers.push(String(lxd.init['storage_backend']));
  if (lxd.preseed.includes('storage_pools')) {
    try {
      const pre = parseYaml(lxd.preseed);
      const pools = isMapping(pre) && Array.isArray(pre['storage_pools']) ? pre['storage_pools'] : [];
      for (const p of pools) if (isMapping(p) && p['driver']) drivers.push(String(p['driver']));
    } catch { ctx.log.warn('lxd.preseed is not YAML: cannot tell which storage packages it needs'); }
  }
  const out: string[] = [];
  if (drivers.includes('zfs') && which(ctx.files, 'zfs') === null) out.push('zfsutils-linux');
  if (drivers.includes('lvm') && which(ctx.files, 'lvcreate') === null) out.push('lvm2');
  if (drivers.includes('btrfs') && which(ctx.files, 'mkfs.btrfs') === null) out.push('btrfs-progs');
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

/** `lxd init --auto` with the init keys as --key=value (cloud-init's handle_init_cfg). */
export function initArgv(init: Record<string, unknown>): string[] {
  const argv = ['lxd', 'init', '--auto'];
  for (const k of INIT_KEYS) if (init[k]) argv.push(`--${k.replace(/_/g, '-')}=${String(init[k])}`);
  return argv;
}

async function run(r: ModuleRun): Promise<void> {
  const { ctx, where } = r;
  const lxd = read(r.config);
  if (!lxd) return;
  const commands = Object.keys(lxd.bridge).length ? bridgeCommands(lxd.bridge) : { create: null, attach: null };
  const packages = [...(which(ctx.files, 'lxd') === null ? ['lxd'] : []), ...storagePackages(ctx, lxd)];
  await installPackages(ctx, r.config, r.instanceId, where, packages);
  if (!onRunningSystem(ctx, where, 'lxd waitready, lxd init and the bridge (they talk to the LXD daemon)', { essential: true })) return;
  const step = async (argv: string[], input?: string) => {
    const res = await ctx.run(argv, { timeoutMs: 600_000, env: { LC_ALL: 'C', USER: 'root' }, ...(input === undefined ? {} : { input }) });
    if (res.code !== 0) throw new Error(`${argv.slice(0, 3).join(' ')}: exit ${res.code ?? res.signal}`);
  };
  await step(['lxd', 'waitready', '--timeout=300']);
  if (lxd.preseed) { await step(['lxd', 'init', '--preseed'], lxd.preseed); return; }
  const didInit = Object.keys(lxd.init).length > 0;
  if (didInit) await step(initArgv(lxd.init));
  const name = String(lxd.bridge['name'] ?? DEFAULT_NETWORK);
  // lxd init --auto makes lxdbr0 itself: cloud-init's maybe_cleanup_default removes it before its own.
  if (didInit && name === DEFAULT_NETWORK) {
    if (commands.create) {
      const d = await ctx.run(['lxc', 'network', 'detach-profile', name, 'default', '--force-local'], { timeoutMs: 120_000 });
      if (d.code === 0) await step(['lxc', 'network', 'delete', name, '--force-local']);
    }
    if (commands.attach) await ctx.run(['lxc', 'profile', 'device', 'remove', 'default', 'eth0', '--force-local'], { timeoutMs: 120_000 });
  }
  if (commands.create) await step(['lxc', ...commands.create, '--force-local']);
  if (commands.attach) await step(['lxc', ...commands.attach, '--force-local']);
}

export const lxd: Module = {
  name: 'lxd',
  stage: 'final',
  frequency: 'per-instance',
  keys: ['lxd'],
  schema: { lxd: SCHEMA },
  describe({ ctx, config }) {
    const l = read(config);
    if (!l) return [];
    const later = ctx.root === '/' ? '' : ' (left for the running system with --root)';
    const pk = [...(which(ctx.files, 'lxd') === null ? ['lxd'] : []), ...storagePackages(ctx, l)];
    return [
      ...(pk.length ? [`install ${pk.join(' ')}`] : []),
      ...(l.preseed ? [`lxd init --preseed${later}`] : Object.keys(l.init).length ? [`${initArgv(l.init).filter((a) => !a.startsWith('--trust-password')).join(' ')}${later}`] : []),
      ...(Object.keys(l.bridge).length ? [`lxd bridge ${String(l.bridge['mode'])} ${String(l.bridge['name'] ?? DEFAULT_NETWORK)}${later}`] : []),
    ];
  },
  run,
};
