// Unit: network config v1, v2 and network_data.json read into the model, and
// rendered for ifupdown, systemd-networkd and netplan; the fallback NIC.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderEni } from '../../src/network/eni.ts';
import { fallbackConfig, fallbackNic } from '../../src/network/fallback.ts';
import { renderNetplan } from '../../src/network/netplan.ts';
import { renderNetworkd } from '../../src/network/networkd.ts';
import { parseNetworkConfig, type NetworkInput } from '../../src/network/parse.ts';
import type { Rendered } from '../../src/network/render.ts';
import type { Nic } from '../../src/network/sysfs.ts';
import { parseYaml } from '../../src/yaml/index.ts';
import { EXAMPLE_NETWORK_DATA } from '../helpers/openstack-simulator.ts';

const nic = (name: string, mac: string, extra: Partial<Nic> = {}): Nic => ({
  name, mac, driver: 'virtio_net', physical: true, bond: false, bridge: false, vlan: false, carrier: true, dormant: false, operstate: 'up', ...extra,
});
const NICS = [nic('ens3', '52:54:00:00:00:01'), nic('ens4', '52:54:00:00:00:02'), nic('ens5', '52:54:00:00:00:03')];

function parse(text: string, nics = NICS, where = 'network-config') {
  const p = parseNetworkConfig({ format: 'yaml', text, where }, nics);
  return p;
}
const files = (r: Rendered) => Object.fromEntries(r.files.map((f) => [f.path, f.content]));
/** The content without the header comment, for exact comparisons. */
const body = (s: string | undefined) => (s ?? '').split('\n').filter((l) => !l.startsWith('#')).join('\n').trim();

const V2_STATIC = `#
network:
  version: 2
  ethernets:
    id0:
      match:
        macaddress: "52:54:00:00:00:01"
      set-name: eth0
      addresses: [192.168.10.5/24, "2001:db8::5/64"]
      routes:
        - to: default
          via: 192.168.10.1
        - to: 10.0.0.0/8
          via: 192.168.10.254
          metric: 50
      nameservers:
        addresses: [192.168.10.1, 1.1.1.1]
        search: [example.com]
      mtu: 1400
    lan:
      match: {macaddress: "52:54:00:00:00:02"}
      dhcp4: true
      dhcp6: true
`;

describe('network config v2', () => {
  test('static addresses, routes, DNS, set-name: networkd, ifupdown, netplan', () => {
    const p = parse(V2_STATIC);
    assert.deepEqual(p.problems, []);
    const nd = files(renderNetworkd(p.config!));
    assert.deepEqual(Object.keys(nd).sort(), [
      '/etc/systemd/network/10-cloud-init-ens4.network',
      '/etc/systemd/network/10-cloud-init-eth0.link',
      '/etc/systemd/network/10-cloud-init-eth0.network',
    ]);
    assert.equal(body(nd['/etc/systemd/network/10-cloud-init-eth0.link']), '[Match]\nPermanentMACAddress=52:54:00:00:00:01\n\n[Link]\nName=eth0');
    assert.equal(body(nd['/etc/systemd/network/10-cloud-init-eth0.network']), [
      '[Match]', 'PermanentMACAddress=52:54:00:00:00:01', '',
      '[Link]', 'MTUBytes=1400', '',
      '[Network]', 'DHCP=no', 'Address=192.168.10.5/24', 'Address=2001:db8::5/64', 'DNS=192.168.10.1', 'DNS=1.1.1.1', 'Domains=example.com', '',
      '[Route]', 'Gateway=192.168.10.1', '',
      '[Route]', 'Destination=10.0.0.0/8', 'Gateway=192.168.10.254', 'Metric=50',
    ].join('\n'));
    // Matched by MAC with no set-name: the machine's own name for that NIC, not the config's id 'lan' (cloud-init 22.4 used the id).
    assert.equal(body(nd['/etc/systemd/network/10-cloud-init-ens4.network']), '[Match]\nPermanentMACAddress=52:54:00:00:00:02\n\n[Network]\nDHCP=yes');

    const eni = renderEni(p.config!);
    const e = files(eni);
    assert.equal(body(e['/etc/network/interfaces.d/50-cloud-init']), [
      'auto lo', 'iface lo inet loopback', '',
      'auto eth0', 'iface eth0 inet static', '    address 192.168.10.5/24', '    mtu 1400',
      '    dns-nameservers 192.168.10.1 1.1.1.1', '    dns-search example.com',
      '    post-up ip route add default via 192.168.10.1 dev eth0 || true',
      '    pre-down ip route del default via 192.168.10.1 dev eth0 || true',
      '    post-up ip route add 10.0.0.0/8 via 192.168.10.254 metric 50 dev eth0 || true',
      '    pre-down ip route del 10.0.0.0/8 via 192.168.10.254 metric 50 dev eth0 || true', '',
      'iface eth0 inet6 static', '    address 2001:db8::5/64', '',
      'auto ens4', 'iface ens4 inet dhcp', '',
      'iface ens4 inet6 dhcp',
    ].join('\n'));
    assert.equal(body(e['/etc/udev/rules.d/70-persistent-net.rules']),
      'SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="52:54:00:00:00:01", NAME="eth0"');
    assert.deepEqual(eni.renames, [{ mac: '52:54:00:00:00:01', name: 'eth0', entry: 'ethernets.id0' }]);

    // netplan gets v2 as given (cloud-init's pass-through), under a header, 0600.
    const np = renderNetplan(p.config!);
    assert.equal(np.files[0]!.path, '/etc/netplan/50-cloud-init.yaml');
    assert.equal(np.files[0]!.mode, 0o600);
    const back = parseYaml(np.files[0]!.content) as { network: Record<string, unknown> };
    const given = parseYaml(V2_STATIC) as { network: Record<string, unknown> };
    assert.deepEqual(back.network, given.network);
  });

  test('a bond of two NICs with a VLAN on it, and a bridge', () => {
    const p = parse(`version: 2
ethernets:
  nic1: {match: {macaddress: "52:54:00:00:00:01"}}
  nic2: {match: {macaddress: "52:54:00:00:00:02"}}
  ens5: {}
bonds:
  bond0:
    interfaces: [nic1, nic2]
    mtu: 9000
    parameters: {mode: 802.3ad, mii-monitor-interval: 100, lacp-rate: fast, transmit-hash-policy: layer3+4, primary: nic1}
    dhcp4: true
vlans:
  bond0.42:
    id: 42
    link: bond0
    addresses: [10.42.0.2/24]
    routes: [{to: 0.0.0.0/0, via: 10.42.0.1}]
bridges:
  br0:
    interfaces: [ens5]
    parameters: {stp: false, forward-delay: 4}
    addresses: [172.30.0.2/16]
`);
    assert.deepEqual(p.problems, []);
    assert.deepEqual(p.config!.interfaces.map((i) => i.name), ['ens3', 'ens4', 'ens5', 'bond0', 'br0', 'bond0.42']);
    const nd = files(renderNetworkd(p.config!));
    assert.equal(body(nd['/etc/systemd/network/10-cloud-init-bond0.netdev']),
      '[NetDev]\nName=bond0\nKind=bond\nMTUBytes=9000\n\n[Bond]\nMode=802.3ad\nMIIMonitorSec=100ms\nLACPTransmitRate=fast\nTransmitHashPolicy=layer3+4');
    assert.match(nd['/etc/systemd/network/10-cloud-init-ens3.network']!, /\[Network\]\nDHCP=no\nBond=bond0\nPrimarySlave=yes\nLinkLocalAddressing=no\n/);
    assert.match(nd['/etc/systemd/network/10-cloud-init-ens4.network']!, /Bond=bond0\n/);
    assert.match(nd['/etc/systemd/network/10-cloud-init-bond0.network']!, /\[Match\]\nName=bond0\n\n\[Link\]\nMTUBytes=9000\n\n\[Network\]\nDHCP=ipv4\nVLAN=bond0\.42\n/);
    assert.equal(body(nd['/etc/systemd/network/10-cloud-init-bond0.42.netdev']), '[NetDev]\nName=bond0.42\nKind=vlan\n\n[VLAN]\nId=42');
    assert.match(nd['/etc/systemd/network/10-cloud-init-bond0.42.network']!, /Address=10\.42\.0\.2\/24\n\n\[Route\]\nGateway=10\.42\.0\.1\n/);
    assert.equal(body(nd['/etc/systemd/network/10-cloud-init-br0.netdev']), '[NetDev]\nName=br0\nKind=bridge\n\n[Bridge]\nSTP=no\nForwardDelaySec=4s');
    assert.match(nd['/etc/systemd/network/10-cloud-init-ens5.network']!, /\[Match\]\nName=ens5\n\n\[Network\]\nDHCP=no\nBridge=br0\n/);

    const eni = body(files(renderEni(p.config!))['/etc/network/interfaces.d/50-cloud-init']);
    assert.match(eni, /auto ens3\niface ens3 inet manual\n {4}bond-master bond0\n {4}bond-mode 802\.3ad/);
    assert.match(eni, /auto bond0\niface bond0 inet dhcp\n {4}mtu 9000\n {4}bond-slaves none\n {4}bond-mode 802\.3ad\n {4}bond-miimon 100\n {4}bond-lacp-rate fast\n {4}bond-xmit-hash-policy layer3\+4\n {4}bond-primary ens3/);
    assert.match(eni, /auto bond0\.42\niface bond0\.42 inet static\n {4}address 10\.42\.0\.2\/24\n {4}vlan-raw-device bond0\n {4}vlan_id 42\n {4}post-up ip route add default via 10\.42\.0\.1 dev bond0\.42 \|\| true/);
    assert.match(eni, /auto br0\niface br0 inet static\n {4}address 172\.30\.0\.2\/16\n {4}bridge_ports ens5\n {4}bridge_stp off\n {4}bridge_fd 4/);
    // A bridge port is brought up by its bridge: no auto line of its own.
    assert.match(eni, /\n\niface ens5 inet manual\n/);
    // Members come before their bond, the bond before its VLAN.
    assert.ok(eni.indexOf('iface ens4') < eni.indexOf('iface bond0 ') && eni.indexOf('iface bond0 ') < eni.indexOf('iface bond0.42'));
  });

  test('errors name the entry with line and column; the other entries are still rendered', () => {
    const p = parse(`network:
  version: 2
  ethernets:
    good:
      match: {macaddress: "52:54:00:00:00:01"}
      dhcp4: true
    bad:
      dhcp4: maybe
      addresses: [10.0.0.5]
  bonds:
    bond0:
      interfaces: [bad]
  vlans:
    v1: {id: 5000, link: good}
`);
    const msgs = p.problems.map((x) => `${x.level}: ${x.message}`);
    assert.ok(msgs.includes("error: network-config line 8, column 14: ethernets.bad.dhcp4: expected true or false, found 'maybe'"), msgs.join('\n'));
    assert.ok(msgs.includes("error: network-config line 9, column 19: ethernets.bad.addresses[0]: '10.0.0.5' needs a prefix length (10.0.0.5/24, 10.0.0.5/64)"), msgs.join('\n'));
    assert.ok(msgs.some((m) => m.startsWith('error: network-config line 7, column 5: ethernets.bad not rendered')), msgs.join('\n'));
    assert.ok(msgs.includes("error: network-config line 12, column 20: bonds.bond0.interfaces[0]: 'bad' is not a device defined (and renderable) in this config"), msgs.join('\n'));
    assert.ok(msgs.includes('error: network-config line 14, column 14: vlans.v1.id: expected a whole number from 0 to 4094, found 5000'), msgs.join('\n'));
    assert.deepEqual(p.config!.interfaces.map((i) => i.entry), ['ethernets.good']);
    // netplan gets what can be rendered, not the broken entries (it would refuse the whole file).
    const np = parseYaml(renderNetplan(p.config!).files[0]!.content) as { network: { ethernets: object; bonds: object; vlans: object } };
    assert.deepEqual(Object.keys(np.network.ethernets), ['good']);
    assert.deepEqual(np.network.bonds, {});
    assert.deepEqual(np.network.vlans, {});
  });

  test('invalid YAML and a wrong version are errors with where they are', () => {
    assert.match(parse('version: 2\nethernets:\n  eth0: {dhcp4: true\n').problems[0]!.message, /^network-config: invalid YAML at line 4, column 1: ./);
    assert.equal(parse('version: 3\n').problems[0]!.message, 'network-config line 1, column 1: version: version 3 is not one ec2-init reads (1 or 2)');
    assert.equal(parse('network: {config: disabled}\n').disabled, true);
  });

  test('ifupdown needs a name: a MAC no NIC of this machine has is an error naming the entry', () => {
    const p = parse('version: 2\nethernets:\n  x:\n    match: {macaddress: "de:ad:be:ef:00:01"}\n    dhcp4: true\n  ens3: {dhcp4: true}\n');
    const r = renderEni(p.config!);
    assert.deepEqual(r.problems.map((x) => x.message), ["ethernets.x: no NIC of this machine matches it (MAC de:ad:be:ef:00:01) and it has no set-name; ifupdown needs the interface's name; not rendered"]);
    assert.match(files(r)['/etc/network/interfaces.d/50-cloud-init']!, /auto ens3\niface ens3 inet dhcp/);
    // networkd matches by MAC, so it renders it all the same.
    assert.ok(files(renderNetworkd(p.config!))['/etc/systemd/network/10-cloud-init-x.network']!.includes('PermanentMACAddress=de:ad:be:ef:00:01'));
  });
});

describe('network config v1', () => {
  const V1 = `version: 1
config:
  - type: physical
    name: eth0
    mac_address: "52:54:00:00:00:01"
    mtu: 1500
    subnets:
      - type: static
        address: 192.168.1.10
        netmask: 255.255.255.0
        gateway: 192.168.1.1
        dns_nameservers: [192.168.1.2]
        dns_search: [lan.example]
        routes:
          - network: 10.10.0.0
            netmask: 255.255.0.0
            gateway: 192.168.1.254
            metric: 3
      - type: static6
        address: 2001:db8:1::10/64
        gateway: 2001:db8:1::1
  - type: physical
    name: eth1
    mac_address: "52:54:00:00:00:02"
  - type: physical
    name: eth2
    mac_address: "52:54:00:00:00:03"
  - type: bond
    name: bond0
    bond_interfaces: [eth1, eth2]
    params: {bond-mode: active-backup, bond-miimon: 100, bond_xmit_hash_policy: layer2}
    subnets: [{type: dhcp4}]
  - type: vlan
    name: bond0.200
    vlan_link: bond0
    vlan_id: 200
    subnets: [{type: static, address: 172.16.200.5/24}]
  - type: nameserver
    address: [9.9.9.9]
    search: [example.org]
  - type: route
    destination: 172.17.0.0/16
    gateway: 172.16.200.1
`;
  test('physical with MAC, static v4+v6 with routes and DNS, bond, VLAN, global nameserver and route', () => {
    const p = parse(V1);
    assert.deepEqual(p.problems, []);
    const c = p.config!;
    assert.deepEqual(c.interfaces.map((i) => i.name), ['eth0', 'eth1', 'eth2', 'bond0', 'bond0.200']);
    const nd = files(renderNetworkd(c));
    assert.equal(body(nd['/etc/systemd/network/10-cloud-init-eth0.network']), [
      '[Match]', 'PermanentMACAddress=52:54:00:00:00:01', '', '[Link]', 'MTUBytes=1500', '',
      '[Network]', 'DHCP=no', 'Address=192.168.1.10/24', 'Address=2001:db8:1::10/64', 'DNS=192.168.1.2', 'Domains=lan.example', '',
      '[Route]', 'Gateway=192.168.1.1', '', '[Route]', 'Gateway=2001:db8:1::1', '',
      '[Route]', 'Destination=10.10.0.0/16', 'Gateway=192.168.1.254', 'Metric=3',
    ].join('\n'));
    assert.match(nd['/etc/systemd/network/10-cloud-init-eth1.link']!, /PermanentMACAddress=52:54:00:00:00:02\n\n\[Link\]\nName=eth1/);
    assert.match(nd['/etc/systemd/network/10-cloud-init-bond0.netdev']!, /\[Bond\]\nMode=active-backup\nMIIMonitorSec=100ms\nTransmitHashPolicy=layer2\n/);
    // The global nameserver goes where there is no DNS of its own; the global route where its gateway is.
    assert.match(nd['/etc/systemd/network/10-cloud-init-bond0.200.network']!, /Address=172\.16\.200\.5\/24\nDNS=9\.9\.9\.9\nDomains=example\.org\n\n\[Route\]\nDestination=172\.17\.0\.0\/16\nGateway=172\.16\.200\.1\n/);
    assert.doesNotMatch(nd['/etc/systemd/network/10-cloud-init-eth0.network']!, /172\.17/);

    const eni = body(files(renderEni(c))['/etc/network/interfaces.d/50-cloud-init']);
    assert.match(eni, /^auto lo\niface lo inet loopback\n {4}dns-nameservers 9\.9\.9\.9\n {4}dns-search example\.org\n/);
    assert.match(eni, /auto eth0\niface eth0 inet static\n {4}address 192\.168\.1\.10\/24\n {4}gateway 192\.168\.1\.1\n {4}mtu 1500\n {4}dns-nameservers 192\.168\.1\.2\n {4}dns-search lan\.example\n {4}post-up ip route add 10\.10\.0\.0\/16 via 192\.168\.1\.254 metric 3 dev eth0 \|\| true\n/);
    assert.match(eni, /iface eth0 inet6 static\n {4}address 2001:db8:1::10\/64\n {4}gateway 2001:db8:1::1/);
    assert.match(eni, /auto bond0\niface bond0 inet dhcp\n {4}bond-slaves none\n {4}bond-mode active-backup\n {4}bond-miimon 100\n {4}bond-xmit-hash-policy layer2/);

    // v1 to netplan: v2 with match/set-name, gateways as default routes.
    const np = parseYaml(renderNetplan(c).files[0]!.content) as { network: Record<string, Record<string, Record<string, unknown>>> };
    assert.deepEqual(np.network['ethernets']!['eth0'], {
      match: { macaddress: '52:54:00:00:00:01' }, 'set-name': 'eth0', mtu: 1500,
      addresses: ['192.168.1.10/24', '2001:db8:1::10/64'],
      routes: [{ to: 'default', via: '192.168.1.1' }, { to: 'default', via: '2001:db8:1::1' }, { to: '10.10.0.0/16', via: '192.168.1.254', metric: 3 }],
      nameservers: { addresses: ['192.168.1.2'], search: ['lan.example'] },
    });
    assert.deepEqual(np.network['bonds']!['bond0'], { interfaces: ['eth1', 'eth2'], parameters: { mode: 'active-backup', 'mii-monitor-interval': 100, 'transmit-hash-policy': 'layer2' }, dhcp4: true, nameservers: { addresses: ['9.9.9.9'], search: ['example.org'] } });
    assert.deepEqual(np.network['vlans']!['bond0.200']!['id'], 200);
  });

  test('a subnet type it does not know and a static subnet with no address are errors naming the entry', () => {
    const p = parse('version: 1\nconfig:\n  - type: physical\n    name: eth0\n    subnets: [{type: static}]\n  - type: physical\n    name: eth1\n    subnets: [{type: dhcp42}]\n  - {type: physical, name: eth2, subnets: [{type: dhcp}]}\n');
    const msgs = p.problems.filter((x) => x.level === 'error').map((x) => x.message);
    assert.ok(msgs.includes('network-config line 5, column 15: config[0].subnets[0]: a static subnet needs an address'), msgs.join('\n'));
    assert.ok(msgs.some((m) => m.startsWith("network-config line 8, column 22: config[1].subnets[0].type: 'dhcp42' is not a subnet type")), msgs.join('\n'));
    assert.deepEqual(p.config!.interfaces.map((i) => i.name), ['eth2']);
  });
});

describe('OpenStack network_data.json', () => {
  const nics = [nic('ens3', 'fa:16:3e:00:00:01'), nic('ens4', 'fa:16:3e:00:00:02'), nic('ens5', 'fa:16:3e:00:00:03')];
  const input: NetworkInput = { format: 'network_data', text: JSON.stringify(EXAMPLE_NETWORK_DATA), where: 'ConfigDrive network_data.json' };

  test('NICs by MAC, bond0 of two, a VLAN on it, static v4 with routes, static v6, DHCP, DNS services', () => {
    const p = parseNetworkConfig(input, nics);
    assert.deepEqual(p.problems, []);
    const c = p.config!;
    assert.deepEqual(c.interfaces.map((i) => `${i.kind} ${i.name}`), ['physical ens3', 'physical ens4', 'bond bond0', 'vlan bond0.101', 'physical ens5']);
    assert.deepEqual(c.dns.nameservers, ['8.8.8.8', '2001:4860:4860::8888']);
    const nd = files(renderNetworkd(c));
    assert.equal(body(nd['/etc/systemd/network/10-cloud-init-bond0.netdev']),
      '[NetDev]\nName=bond0\nKind=bond\nMACAddress=fa:16:3e:00:00:01\nMTUBytes=9000\n\n[Bond]\nMode=802.3ad\nMIIMonitorSec=100ms\nTransmitHashPolicy=layer3+4');
    assert.equal(body(nd['/etc/systemd/network/10-cloud-init-bond0.101.network']), [
      '[Match]', 'Name=bond0.101', '', '[Link]', 'MTUBytes=1500', '',
      '[Network]', 'DHCP=no', 'Address=10.20.30.40/24', 'DNS=10.20.30.2', '',
      '[Route]', 'Gateway=10.20.30.1', '', '[Route]', 'Destination=172.16.0.0/12', 'Gateway=10.20.30.254',
    ].join('\n'));
    assert.equal(body(nd['/etc/systemd/network/10-cloud-init-ens5.network']), [
      '[Match]', 'PermanentMACAddress=fa:16:3e:00:00:03', '', '[Link]', 'MTUBytes=1450', '',
      '[Network]', 'DHCP=ipv4', 'IPv6AcceptRA=no', 'Address=2001:db8:100::10/64', 'DNS=8.8.8.8', 'DNS=2001:4860:4860::8888', '',
      '[Route]', 'Gateway=2001:db8:100::1',
    ].join('\n'));
    const eni = body(files(renderEni(c))['/etc/network/interfaces.d/50-cloud-init']);
    assert.match(eni, /auto bond0\.101\niface bond0\.101 inet static\n {4}address 10\.20\.30\.40\/24\n {4}hwaddress fa:16:3e:00:00:01\n {4}mtu 1500\n {4}vlan-raw-device bond0\n {4}vlan_id 101\n {4}dns-nameservers 10\.20\.30\.2\n {4}post-up ip route add default via 10\.20\.30\.1 dev bond0\.101 \|\| true\n {4}pre-down ip route del default via 10\.20\.30\.1 dev bond0\.101 \|\| true\n {4}post-up ip route add 172\.16\.0\.0\/12 via 10\.20\.30\.254 dev bond0\.101 \|\| true/);
    assert.match(eni, /auto bond0\niface bond0 inet manual\n {4}hwaddress fa:16:3e:00:00:01\n {4}mtu 9000\n {4}bond-slaves none\n {4}bond-mode 802\.3ad\n {4}bond-miimon 100\n {4}bond-xmit-hash-policy layer3\+4\n/);
    // The IPv6 default route on the inet6 stanza, where its gateway is reachable.
    assert.match(eni, /auto ens5\niface ens5 inet dhcp\n {4}mtu 1450\n {4}dns-nameservers 8\.8\.8\.8 2001:4860:4860::8888\n\niface ens5 inet6 static\n {4}address 2001:db8:100::10\/64\n {4}accept_ra 0\n {4}post-up ip -6 route add default via 2001:db8:100::1 dev ens5 \|\| true\n/);
  });

  test('a link whose MAC no NIC has is an error naming the link; the bond on it goes too; the rest is rendered', () => {
    const p = parseNetworkConfig(input, nics.filter((n) => n.name !== 'ens4'));
    const errs = p.problems.filter((x) => x.level === 'error').map((x) => x.message);
    assert.deepEqual(errs, [
      'ConfigDrive network_data.json links[1] (tap2b92a79b-8a): no NIC of this machine has MAC fa:16:3e:00:00:02; link not rendered',
      'ConfigDrive network_data.json links[2] (bond0): bond_links tap2b92a79b-8a are not links with a name; bond not rendered',
      'ConfigDrive network_data.json links[3] (vlan0): vlan_link bond0 is not a link with a name; VLAN not rendered',
    ]);
    assert.match(body(files(renderNetworkd(p.config!))['/etc/systemd/network/10-cloud-init-ens3.network']), /DHCP=no/);
    assert.deepEqual(p.config!.interfaces.map((i) => i.name), ['ens3', 'ens5']);
  });
});

describe('fallback', () => {
  test('the NIC most likely connected: carrier first, eth0 first, natural order; never veth or a bridge', () => {
    const down = { carrier: false, operstate: 'down' };
    assert.equal(fallbackNic([nic('ens10', 'a'), nic('ens9', 'b'), nic('veth0', 'c')])!.name, 'ens9');
    assert.equal(fallbackNic([nic('ens3', 'a'), nic('eth0', 'b')])!.name, 'eth0');
    assert.equal(fallbackNic([nic('ens3', 'a', down), nic('ens4', 'b')])!.name, 'ens4');
    assert.equal(fallbackNic([nic('br0', 'a', { bridge: true }), nic('ens4', 'b', down)])!.name, 'ens4');
    assert.equal(fallbackNic([nic('ens3', 'a', { carrier: false, operstate: 'notpresent' })]), null);
    assert.deepEqual(fallbackConfig(nic('ens3', '52:54:00:aa:bb:cc')), {
      version: 2, ethernets: { ens3: { dhcp4: true, dhcp6: true, 'set-name': 'ens3', match: { macaddress: '52:54:00:aa:bb:cc' } } },
    });
  });
});
