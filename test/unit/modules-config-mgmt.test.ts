// The parsing parts of the configuration-management modules, table-driven:
// ansible-pull's flags and version, lxd's init and bridge commands (as
// cloud-init's bridge_to_cmd builds them), the package and service name rules,
// and the keys in the order cloud-init's final stage sees them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseVersion, pullArgs } from '../../src/modules/ansible.ts';
import { packageSpec, serviceName } from '../../src/modules/distro-actions.ts';
import { bridgeCommands, initArgv } from '../../src/modules/lxd.ts';
import { sortedKeys } from '../../src/modules/py-formats.ts';

test('ansible-pull: false dropped, true a bare flag, the rest --key=value, underscores as dashes; the playbooks are not flags', () => {
  assert.deepEqual(pullArgs({ url: 'https://git.example/r.git', accept_host_key: true, clean: false, vault_id: 'v', playbook_names: ['a.yml'] }),
    ['--url=https://git.example/r.git', '--accept-host-key', '--vault-id=v']);
  assert.deepEqual(parseVersion('ansible-pull [core 2.14.3]\n  config file = None\n'), [2, 14, 3]);
  assert.equal(parseVersion('no version here'), null);
});

test("lxd: cloud-init's init flags and bridge commands", () => {
  assert.deepEqual(initArgv({ storage_backend: 'zfs', storage_pool: 'default', network_port: 8443, trust_password: '' }),
    ['lxd', 'init', '--auto', '--network-port=8443', '--storage-backend=zfs', '--storage-pool=default']);
  assert.deepEqual(bridgeCommands({ mode: 'none' }), { create: null, attach: null });
  assert.deepEqual(bridgeCommands({ mode: 'existing', name: 'br0' }), { create: null, attach: ['network', 'attach-profile', 'br0', 'default', 'eth0'] });
  assert.deepEqual(bridgeCommands({ mode: 'new', ipv4_address: '10.0.8.1', ipv4_netmask: 24, ipv4_dhcp_first: '10.0.8.2', ipv4_dhcp_last: '10.0.8.3', ipv6_address: 'fd98::1', ipv6_netmask: 64, ipv6_nat: 'true', domain: 'lxd', mtu: 1500 }).create,
    ['network', 'create', 'lxdbr0', 'ipv4.address=10.0.8.1/24', 'ipv4.nat=true', 'ipv4.dhcp.ranges=10.0.8.2-10.0.8.3', 'ipv6.address=fd98::1/64', 'ipv6.nat=true', 'dns.domain=lxd', 'bridge.mtu=1500']);
  assert.deepEqual(bridgeCommands({ mode: 'new' }).create, ['network', 'create', 'lxdbr0', 'ipv4.address=none', 'ipv6.address=none']);
  assert.throws(() => bridgeCommands({ mode: 'bogus' }), /invalid lxd\.bridge\.mode 'bogus'/);
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
