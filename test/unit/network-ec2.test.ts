// EC2's network config from the metadata (src/network/ec2.ts, as cloud-init
// 25.1's convert_ec2_metadata_network_config): the conversion itself. The
// built executable booting from the IMDS simulator: test/integration/network-ec2.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ec2NetworkConfig, vpcRouter } from '../../src/network/ec2.ts';
import type { Nic } from '../../src/network/sysfs.ts';
import { loadMockTree, SKIP_REASON } from '../helpers/imds-simulator.ts';
import { EC2_PRIMARY_MAC as PRIMARY, EC2_SECOND_MAC as SECOND } from '../helpers/fixtures.ts';

const nic = (name: string, mac: string): Nic => ({
  name, mac, driver: 'ena', physical: true, bond: false, bridge: false, vlan: false, carrier: true, dormant: false, operstate: 'up',
});

/** Metadata with two NICs, as the Ec2 datasource's walk gives it (several lines → a list). */
function twoNics(): Record<string, unknown> {
  return {
    'instance-id': 'i-0123',
    mac: PRIMARY,
    network: {
      interfaces: {
        macs: {
          [PRIMARY]: {
            'device-number': '0', 'network-card': '0', mac: PRIMARY,
            'local-ipv4s': ['172.31.40.10', '172.31.40.11'], 'subnet-ipv4-cidr-block': '172.31.32.0/20',
            ipv6s: '2001:db8:8:4::2', 'subnet-ipv6-cidr-blocks': '2001:db8:8:4::/64', 'vpc-id': 'vpc-1',
          },
          [SECOND]: {
            'device-number': '1', 'network-card': '0', mac: SECOND,
            'local-ipv4s': ['172.31.50.20', '172.31.50.21', '172.31.50.22'], 'subnet-ipv4-cidr-block': '172.31.48.0/20', 'vpc-id': 'vpc-1',
          },
        },
      },
    },
  };
}

describe('EC2 metadata → network config v2 (cloud-init 25.1 convert_ec2_metadata_network_config)', () => {
  test('one NIC: DHCPv4, DHCPv6 when it has ipv6s, matched by MAC keeping its name, no route metric', () => {
    const md = { mac: PRIMARY, network: { interfaces: { macs: { [PRIMARY]: { 'device-number': '0', 'local-ipv4s': '172.16.34.43', ipv6s: '2001:db8:8:4::2' } } } } };
    const r = ec2NetworkConfig(md, [nic('ens5', PRIMARY), nic('ens6', '0e:00:00:00:00:99')], { full: true, netplan: false, fallbackNic: 'ens5' });
    assert.deepEqual(r.config, { version: 2, ethernets: { ens5: { dhcp4: true, dhcp6: true, match: { macaddress: PRIMARY }, 'set-name': 'ens5' } } });
    assert.deepEqual(r.problems, []);
  });

  test('two NICs: order by device-number (not MAC), route metrics 100/200, secondary addresses with the subnet prefix', () => {
    const r = ec2NetworkConfig(twoNics(), [nic('ens5', PRIMARY), nic('ens6', SECOND)], { full: true, netplan: false, fallbackNic: 'ens5' });
    assert.deepEqual(r.config, {
      version: 2,
      ethernets: {
        ens6: {
          dhcp4: true, 'dhcp4-overrides': { 'route-metric': 200 }, dhcp6: false, match: { macaddress: SECOND }, 'set-name': 'ens6',
          addresses: ['172.31.50.21/20', '172.31.50.22/20'],
        },
        ens5: {
          dhcp4: true, 'dhcp4-overrides': { 'route-metric': 100 }, dhcp6: true, 'dhcp6-overrides': { 'route-metric': 100 },
          match: { macaddress: PRIMARY }, 'set-name': 'ens5', addresses: ['172.31.40.11/20'],
        },
      },
    });
  });

  test('netplan: the secondary NIC gets its own table (101): default via the subnet router, the subnet, a rule per address', () => {
    const r = ec2NetworkConfig(twoNics(), [nic('ens5', PRIMARY), nic('ens6', SECOND)], { full: true, netplan: true, fallbackNic: 'ens5' });
    const second = (r.config!['ethernets'] as Record<string, Record<string, unknown>>)['ens6']!;
    assert.deepEqual(second['dhcp4-overrides'], { 'route-metric': 200, 'use-routes': true });
    assert.deepEqual(second['routes'], [{ to: '0.0.0.0/0', via: '172.31.48.1', table: 101 }, { to: '172.31.48.0/20', table: 101 }]);
    assert.deepEqual(second['routing-policy'], ['172.31.50.20', '172.31.50.21', '172.31.50.22'].map((from) => ({ from, table: 101 })));
    const primary = (r.config!['ethernets'] as Record<string, Record<string, unknown>>)['ens5']!;
    assert.equal(primary['routes'], undefined, 'the primary NIC keeps the main table');
    assert.equal(primary['routing-policy'], undefined);
  });

  test('apply_full_imds_network_config: false: only the fallback NIC, by DHCP', () => {
    const r = ec2NetworkConfig(twoNics(), [nic('ens5', PRIMARY), nic('ens6', SECOND)], { full: false, netplan: true, fallbackNic: 'ens5' });
    assert.deepEqual(r.config, { version: 2, ethernets: { ens5: { dhcp4: true, dhcp6: true, match: { macaddress: PRIMARY }, 'set-name': 'ens5' } } });
  });

  test('without network-card and device-number (EC2-like clouds): the instance\'s own MAC first, then by MAC', () => {
    const md = twoNics();
    const macs = ((md['network'] as Record<string, any>)['interfaces']['macs']) as Record<string, Record<string, unknown>>;
    for (const m of Object.values(macs)) { delete m['device-number']; delete m['network-card']; }
    const r = ec2NetworkConfig(md, [nic('eth0', PRIMARY), nic('eth1', SECOND)], { full: true, netplan: true, fallbackNic: 'eth0' });
    const eth = r.config!['ethernets'] as Record<string, Record<string, unknown>>;
    assert.deepEqual(eth['eth0']!['dhcp4-overrides'], { 'route-metric': 100 });
    assert.deepEqual(eth['eth1']!['dhcp4-overrides'], { 'route-metric': 200 });
    assert.equal(eth['eth1']!['routing-policy'], undefined, 'no device-number: no policy routing (as cloud-init)');
  });

  test('NICs the metadata does not list are left alone; no listed NIC on this machine, or no network key: null (the fallback)', () => {
    const r = ec2NetworkConfig(twoNics(), [nic('ens5', PRIMARY), nic('docker0', '02:42:00:00:00:01')], { full: true, netplan: false, fallbackNic: 'ens5' });
    assert.deepEqual(Object.keys(r.config!['ethernets'] as object), ['ens5']);
    const none = ec2NetworkConfig(twoNics(), [nic('ens9', '0e:99:99:99:99:99')], { full: true, netplan: false, fallbackNic: 'ens9' });
    assert.equal(none.config, null);
    assert.match(none.note ?? '', /none of its MACs .* is a NIC of this machine/);
    assert.deepEqual(none.problems, []);
    assert.equal(ec2NetworkConfig({ 'instance-id': 'i-1' }, [nic('ens5', PRIMARY)], { full: true, netplan: false, fallbackNic: 'ens5' }).config, null);
  });

  test('the VPC router of a subnet is its network address + 1', () => {
    assert.equal(vpcRouter('172.31.48.0/20'), '172.31.48.1');
    assert.equal(vpcRouter('10.0.1.128/25'), '10.0.1.129');
    assert.equal(vpcRouter('2001:db8::/64'), null);
  });

  test('the mock metadata AWS publishes has what the conversion reads', { skip: SKIP_REASON ?? false }, () => {
    const leaves = loadMockTree()!.leaves;
    for (const k of ['mac', 'device-number', 'local-ipv4s', 'ipv6s', 'subnet-ipv4-cidr-block', 'subnet-ipv6-cidr-blocks']) {
      const path = k === 'mac' ? 'meta-data/mac' : `meta-data/network/interfaces/macs/${PRIMARY}/${k}`;
      assert.ok(leaves.has(path), path);
    }
  });
});
