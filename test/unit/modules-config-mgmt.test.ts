// The parsing parts of the configuration-management modules, table-driven:
// ansible-pull's flags and version, lxd's init and bridge commands (as
// cloud-init's bridge_to_cmd builds them), the package and service name rules,
// and the keys in the order cloud-init's final stage sees them; what the
// modules refuse, and install_hotplug.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { Context } from '../../src/context.ts';
import { silentLogger } from '../../src/log.ts';
import { ansible, parseVersion, pullArgs } from '../../src/modules/ansible.ts';
import { chef } from '../../src/modules/chef.ts';
import { installHotplug } from '../../src/modules/install_hotplug.ts';
import type { Module, ModuleRun } from '../../src/modules/module.ts';
import { runModule } from '../../src/modules/run-module.ts';
import { puppet } from '../../src/modules/puppet.ts';
import { tempDir, writeIn } from '../helpers/files.ts';
import { planModule } from '../helpers/module-actions.ts';
import { packageSpec, serviceName } from '../../src/modules/distro-actions.ts';
import { bridgeCommands, initArgv } from '../../src/modules/lxd.ts';
import { sortedKeys } from '../../src/modules/py-formats.ts';

test('ansible-pull: false dropped, true a bare flag, the rest --key=value, underscores as dashes; the playbooks are not flags', () => {
  assert.deepEqual(pullArgs({ url: 'https://git.example/r.git', accept_host_key: true, clean: false, vault_id: 'v', playbook_names: ['a.yml'] }),
    ['--url=https://git.example/r.git', '--accept-host-key', '--vault-id=v']);
  assert.deepEqual(parseVersion('ansible-pull [core 2.14.3]\n  config file = None\n'), [2, 14, 3]);
  assert.equal(parseVersion('no version here'), null);
});

/** bridgeCommands with its first refusal thrown. */
const bridgeOf = (b: Record<string, unknown>) => bridgeCommands(b, (_level, message) => { throw new Error(message); })!;

test("lxd: cloud-init's init flags and bridge commands", () => {
  assert.deepEqual(initArgv({ storage_backend: 'zfs', storage_pool: 'default', network_port: 8443, trust_password: '' }),
    ['lxd', 'init', '--auto', '--network-port=8443', '--storage-backend=zfs', '--storage-pool=default']);
  assert.deepEqual(bridgeOf({ mode: 'none' }), { create: null, attach: null });
  assert.deepEqual(bridgeOf({ mode: 'existing', name: 'br0' }), { create: null, attach: ['network', 'attach-profile', 'br0', 'default', 'eth0'] });
  assert.deepEqual(bridgeOf({ mode: 'new', ipv4_address: '10.0.8.1', ipv4_netmask: 24, ipv4_dhcp_first: '10.0.8.2', ipv4_dhcp_last: '10.0.8.3', ipv6_address: 'fd98::1', ipv6_netmask: 64, ipv6_nat: 'true', domain: 'lxd', mtu: 1500 }).create,
    ['network', 'create', 'lxdbr0', 'ipv4.address=10.0.8.1/24', 'ipv4.nat=true', 'ipv4.dhcp.ranges=10.0.8.2-10.0.8.3', 'ipv6.address=fd98::1/64', 'ipv6.nat=true', 'dns.domain=lxd', 'bridge.mtu=1500']);
  assert.deepEqual(bridgeOf({ mode: 'new' }).create, ['network', 'create', 'lxdbr0', 'ipv4.address=none', 'ipv6.address=none']);
  assert.throws(() => bridgeOf({ mode: 'bogus' }), /lxd\.bridge\.mode: 'bogus' is not a bridge mode/);
});

test('package and service names: a word apt or systemctl takes as a name, never an option', () => {
  for (const ok of ['puppet', 'puppet-agent=7.23.0-1', 'salt-minion', 'g++', 'lib32z1=1:1.2']) assert.ok(packageSpec(ok).ok, ok);
  for (const bad of ['-oAPT::Get::AllowUnauthenticated=1', 'puppet agent', 'Puppet', 'puppet\nchef', '']) assert.ok(!packageSpec(bad).ok, bad);
  for (const ok of ['salt-minion', 'wg-quick@wg0', 'puppet.service']) assert.ok(serviceName(ok).ok, ok);
  for (const bad of ['--now', '../x', 'a b']) assert.ok(!serviceName(bad).ok, bad);
});

test('sortedKeys: every mapping in sorted order, lists kept in theirs', () => {
  assert.deepEqual(JSON.stringify(sortedKeys({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 3 } })), '{"a":{"c":3,"d":[{"y":2,"z":1}]},"b":1}');
});

// ---------------------------------------------------------------------------
// What the modules refuse, and install_hotplug, on a temp directory (nothing runs).

function run(module: Module, config: Record<string, unknown>, prep?: (root: string) => void): { ctx: Context; done: Promise<void> } {
  const dir = tempDir('ec2-init-cm-');
  prep?.(dir);
  const ctx = new Context(dir, silentLogger);
  const source = { hostname: 'h', publicKeys: [], metaData: {} } as unknown as ModuleRun['source'];
  return { ctx, done: runModule(module, { ctx, instanceId: 'iid-u-1', source, config, where: `module ${module.name}` }) };
}

test('install types that download from the Internet are refused, naming the fix, before anything is installed', async () => {
  const refused = async (module: Module, config: Record<string, unknown>) => {
    const p = await planModule(module, config);
    assert.ok(!p.lines.some((l) => /^run apt/.test(l)), `${module.name}: nothing installed`);
    return { ...p, errors: p.problems.filter((d) => d.level === 'error').map((d) => d.message).join('\n') };
  };
  assert.match((await refused(puppet, { puppet: { install_type: 'aio' } })).errors, /install_type 'aio' runs puppetlabs' install script from the Internet.*apt: sources.*install_type: packages/);
  assert.match((await refused(ansible, { ansible: { install_method: 'pip', package_name: 'ansible-core' } })).errors, /install_method 'pip' installs ansible from PyPI.*install_method: distro/);
  const chefRun = await refused(chef, { chef: { install_type: 'omnibus', server_url: 'https://chef.example', validation_name: 'v' } });
  assert.match(chefRun.errors, /install_type 'omnibus' downloads Chef's omnibus install script/);
  // As cloud-init: client.rb and firstboot.json are written before the install.
  const written = (path: string) => chefRun.actions.find((a) => a.kind === 'write' && a.path === path) as { content: string } | undefined;
  assert.match(written('/etc/chef/client.rb')!.content, /^chef_server_url {8}"https:\/\/chef\.example"$/m);
  assert.equal(written('/etc/chef/firstboot.json')!.content, '{}');
});

test('install_hotplug: asked for, a warning that no rule is installed; not asked for, an old rule is removed', async () => {
  const asked = run(installHotplug, { updates: { network: { when: ['boot', 'hotplug'] } } });
  await asked.done;
  assert.match(asked.ctx.diags.map((d) => d.message).join('\n'), /hotplug, which ec2-init does not support.*NOT be installed/);
  const RULE = 'etc/udev/rules.d/90-cloud-init-hook-hotplug.rules';
  const old = run(installHotplug, {}, (root) => writeIn(root, RULE, 'SUBSYSTEM=="net", RUN+="/usr/lib/cloud-init/hook-hotplug"\n'));
  await old.done;
  assert.equal(existsSync(`${old.ctx.root}/${RULE}`), false);
  assert.deepEqual(old.ctx.diags, []);
});

test('lxd and ansible: a user-data word never becomes an option of lxc or ansible', () => {
  assert.throws(() => bridgeOf({ mode: 'new', name: '--force-local' }), /lxd\.bridge\.name/);
  assert.deepEqual(bridgeOf({ mode: 'existing', name: 'lxdbr1' }).attach, ['network', 'attach-profile', 'lxdbr1', 'default', 'eth0']);
});
