// EC2's network config from the metadata (src/network/ec2.ts, as cloud-init
// 25.1's convert_ec2_metadata_network_config): the conversion itself, then the
// built executable booting from the IMDS simulator on 127.0.0.1 (AWS's mock
// metadata values, plus a second NIC where a test adds one) on throw-away
// roots with planted NICs, checking the files rendered for networkd, ifupdown
// and netplan. Nothing touches this machine's network.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ec2NetworkConfig, vpcRouter } from '../src/network/ec2.ts';
import type { Nic } from '../src/network/sysfs.ts';
import { agentAsync, cannotRun, makeRoot, removeRoot, statusProblems, writeIn } from './helpers/agent.ts';
import { loadMockTree, SKIP_REASON, startImdsSimulator } from './helpers/imds-simulator.ts';

const nic = (name: string, mac: string): Nic => ({
  name, mac, driver: 'ena', physical: true, bond: false, bridge: false, vlan: false, carrier: true, dormant: false, operstate: 'up',
});

const PRIMARY = '0e:49:61:0f:c3:11'; // the mock's instance MAC
const SECOND = '0a:00:00:00:00:02'; // sorts before PRIMARY: the order must come from device-number

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

const skip = cannotRun() ?? SKIP_REASON ?? false;

/** A NIC under the root's /sys/class/net. */
function plantNic(root: string, name: string, mac: string): void {
  const dir = join(root, 'sys/class/net', name);
  mkdirSync(join(dir, 'device'), { recursive: true });
  writeFileSync(join(dir, 'address'), `${mac}\n`);
  writeFileSync(join(dir, 'carrier'), '1\n');
  writeFileSync(join(dir, 'operstate'), 'up\n');
}

/** Programs a renderer's availability check looks for, in the root's own /sbin. */
function plantTools(root: string, names: string[]): void {
  mkdirSync(join(root, 'sbin'), { recursive: true });
  for (const n of names) { writeFileSync(join(root, 'sbin', n), '#!/bin/sh\nexit 0\n'); chmodSync(join(root, 'sbin', n), 0o755); }
}

/** The second NIC, as IMDS lists it (meta-data leaves the simulator adds to AWS's mock). */
const SECOND_NIC: Record<string, string> = {
  [`network/interfaces/macs/${SECOND}/device-number`]: '1',
  [`network/interfaces/macs/${SECOND}/network-card`]: '0',
  [`network/interfaces/macs/${SECOND}/mac`]: SECOND,
  [`network/interfaces/macs/${SECOND}/local-ipv4s`]: '172.31.50.20\n172.31.50.21',
  [`network/interfaces/macs/${SECOND}/subnet-ipv4-cidr-block`]: '172.31.48.0/20',
  [`network/interfaces/macs/${SECOND}/interface-id`]: 'eni-0000000000000002',
  [`network/interfaces/macs/${SECOND}/vpc-id`]: 'vpc-d295a6a7',
};

describe('EC2 boot renders the metadata\'s network config (built executable, IMDS simulator on 127.0.0.1)', { skip }, () => {
  const roots: string[] = [];
  after(() => roots.forEach(removeRoot));
  const read = (root: string, p: string) => readFileSync(join(root, p), 'utf8');

  function ec2Root(url: string, renderers: string, extra = ''): string {
    const root = makeRoot();
    roots.push(root);
    writeIn(root, 'etc/cloud/cloud.cfg', `datasource_list: [Ec2]\ndatasource:\n  Ec2:\n    metadata_urls: ['${url}']\n    timeout: 1\n    max_wait: 5\n${extra}` +
      `system_info:\n  network:\n    renderers: [${renderers}]\n`);
    plantNic(root, 'ens5', PRIMARY);
    return root;
  }

  test('one NIC (AWS\'s mock): init-local writes the fallback, init replaces it with the metadata\'s, for networkd', async () => {
    const sim = await startImdsSimulator({ mode: 'required', userData: '#cloud-config\n{}\n' });
    try {
      const root = ec2Root(sim.url, 'networkd');
      plantNic(root, 'ens6', '0e:00:00:00:00:99'); // not in the metadata: not configured
      const local = await agentAsync(root, ['init', '--local']);
      assert.equal(local.status, 0, local.stderr);
      const fallback = JSON.parse(read(root, 'var/lib/cloud/data/network-rendered.json')) as { origin: string };
      assert.equal(fallback.origin, 'fallback');
      const r = await agentAsync(root, ['init']);
      assert.equal(r.status, 0, r.stderr);
      const net = read(root, 'etc/systemd/network/10-cloud-init-ens5.network');
      // DHCP for v4 and v6 (the mock's NIC has an IPv6 address), matched by the MAC, no route metric with one NIC.
      assert.match(net, new RegExp(`\\[Match\\]\\nPermanentMACAddress=${PRIMARY}\\n\\n\\[Network\\]\\nDHCP=yes\\n`));
      assert.doesNotMatch(net, /RouteMetric|^Address=/m);
      assert.equal(existsSync(join(root, 'etc/systemd/network/10-cloud-init-ens6.network')), false);
      const record = JSON.parse(read(root, 'var/lib/cloud/data/network-rendered.json')) as { origin: string; source: string; instanceId: string; files: string[] };
      assert.equal(record.origin, 'datasource');
      assert.match(record.source, /^Ec2 meta-data network\/interfaces\/macs/);
      assert.match(record.instanceId, /^i-/);
      assert.deepEqual(statusProblems(root), []);
      // A reboot (init-local finds no source yet, init reuses the cache): kept, not the fallback again.
      assert.equal((await agentAsync(root, ['init', '--local'])).status, 0);
      assert.equal((await agentAsync(root, ['init'])).status, 0);
      assert.equal(read(root, 'etc/systemd/network/10-cloud-init-ens5.network'), net);
      assert.match(read(root, 'var/log/ec2-init.log'), /network: kept: rendered on this instance's first boot from Ec2 meta-data/);
    } finally { await sim.close(); }
  });

  test('two NICs for networkd: the primary by device-number (metric 100), the second with metric 200 and its secondary address', async () => {
    const sim = await startImdsSimulator({ mode: 'required', userData: null, metaData: SECOND_NIC });
    try {
      const root = ec2Root(sim.url, 'networkd');
      plantNic(root, 'ens6', SECOND);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      const primary = read(root, 'etc/systemd/network/10-cloud-init-ens5.network');
      assert.match(primary, /DHCP=yes\n/);
      assert.match(primary, /\[DHCPv4\]\nRouteMetric=100\n/);
      const second = read(root, 'etc/systemd/network/10-cloud-init-ens6.network');
      assert.match(second, new RegExp(`PermanentMACAddress=${SECOND}\\n`));
      assert.match(second, /DHCP=ipv4\n/);
      assert.match(second, /Address=172\.31\.50\.21\/20\n/);
      assert.match(second, /\[DHCPv4\]\nRouteMetric=200\n/);
      assert.doesNotMatch(second, /172\.31\.50\.20/, 'the first address is DHCP\'s, not a static one');
      assert.deepEqual(statusProblems(root), []);
    } finally { await sim.close(); }
  });

  test('two NICs for ifupdown: both by DHCP, the secondary address as a static stanza of the second', async () => {
    const sim = await startImdsSimulator({ mode: 'required', userData: null, metaData: SECOND_NIC });
    try {
      const root = ec2Root(sim.url, 'eni');
      plantNic(root, 'ens6', SECOND);
      plantTools(root, ['ifup', 'ifdown', 'ifquery']);
      writeIn(root, 'etc/network/interfaces', 'source /etc/network/interfaces.d/*\n');
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      const eni = read(root, 'etc/network/interfaces.d/50-cloud-init');
      assert.match(eni, /auto ens5\niface ens5 inet dhcp\n/);
      assert.match(eni, /iface ens5 inet6 dhcp\n/);
      assert.match(eni, /auto ens6\niface ens6 inet dhcp\n/);
      assert.match(eni, /iface ens6 inet static\n\s+address 172\.31\.50\.21\/20\n/);
    } finally { await sim.close(); }
  });

  test('two NICs for netplan: policy routing for the second NIC (table 101, default via the subnet router); partial config: only the primary', async () => {
    const sim = await startImdsSimulator({ mode: 'required', userData: null, metaData: SECOND_NIC });
    try {
      const root = ec2Root(sim.url, 'netplan');
      plantNic(root, 'ens6', SECOND);
      plantTools(root, ['netplan']);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      const yaml = read(root, 'etc/netplan/50-cloud-init.yaml');
      assert.match(yaml, /ens6:/);
      assert.match(yaml, /routing-policy:/);
      assert.match(yaml, /from: "?172\.31\.50\.20"?\n/);
      assert.match(yaml, /via: "?172\.31\.48\.1"?\n/);
      assert.match(yaml, /table: 101/);
      assert.match(yaml, /use-routes: true/);
      assert.match(yaml, /route-metric: 100/);
      assert.deepEqual(statusProblems(root), []);

      const partial = ec2Root(sim.url, 'netplan', '    apply_full_imds_network_config: false\n');
      plantNic(partial, 'ens6', SECOND);
      plantTools(partial, ['netplan']);
      assert.equal((await agentAsync(partial, ['boot'])).status, 0);
      const only = read(partial, 'etc/netplan/50-cloud-init.yaml');
      assert.match(only, /ens5:/);
      assert.doesNotMatch(only, /ens6|routing-policy|route-metric/);
    } finally { await sim.close(); }
  });
});
