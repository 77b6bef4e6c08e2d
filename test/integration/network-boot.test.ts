// Integration: the built executable renders the datasource's network config
// in stage init-local, on a throw-away root with planted interfaces
// (/sys/class/net under the root) and planted network tools (the renderer's
// availability checks). Nothing touches this machine's network.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { EXAMPLE_META_DATA, EXAMPLE_NETWORK_DATA } from '../helpers/openstack-simulator.ts';
import { plantNic, plantTools, read, writeIn } from '../helpers/files.ts';
import { agent, cannotRun, newRoot, seed, statusProblems } from '../helpers/agent.ts';

const skip = cannotRun() ?? false;

const V2 = `network:
  version: 2
  ethernets:
    primary:
      match: {macaddress: "52:54:00:12:34:01"}
      set-name: eth0
      addresses: [192.0.2.10/24]
      routes: [{to: default, via: 192.0.2.1}]
      nameservers: {addresses: [192.0.2.53], search: [example.net]}
    second:
      match: {macaddress: "52:54:00:12:34:02"}
      dhcp4: true
`;

describe('network config rendered in init-local (built executable, throw-away roots)', { skip }, () => {
  function nocloudRoot(networkConfig: string | null, cfg = 'system_info:\n  network:\n    renderers: [networkd]\n'): string {
    const root = newRoot();
    seed(root, 'instance-id: iid-net-1\nlocal-hostname: net1\n', '#cloud-config\n{}\n');
    if (networkConfig !== null) writeIn(root, 'var/lib/cloud/seed/nocloud/network-config', networkConfig);
    writeIn(root, 'etc/cloud/cloud.cfg', `datasource_list: [NoCloud]\n${cfg}`);
    plantNic(root, 'ens3', '52:54:00:12:34:01');
    plantNic(root, 'ens4', '52:54:00:12:34:02');
    return root;
  }

  test('NoCloud v2 for systemd-networkd: .link to name the NIC, .network with address, route and DNS', () => {
    const root = nocloudRoot(V2);
    const r = agent(root, ['init', '--local']);
    assert.equal(r.status, 0, r.stderr);
    const net = read(root, 'etc/systemd/network/10-cloud-init-eth0.network');
    assert.match(net, /\[Match\]\nPermanentMACAddress=52:54:00:12:34:01\n\n\[Network\]\nDHCP=no\nAddress=192\.0\.2\.10\/24\nDNS=192\.0\.2\.53\nDomains=example\.net\n\n\[Route\]\nGateway=192\.0\.2\.1\n/);
    assert.match(read(root, 'etc/systemd/network/10-cloud-init-eth0.link'), /\[Link\]\nName=eth0\n/);
    assert.match(read(root, 'etc/systemd/network/10-cloud-init-ens4.network'), /PermanentMACAddress=52:54:00:12:34:02\n\n\[Network\]\nDHCP=ipv4\n/);
    const record = JSON.parse(read(root, 'var/lib/cloud/data/network-rendered.json')) as { instanceId: string; renderer: string; files: string[] };
    assert.equal(record.instanceId, 'iid-net-1');
    assert.equal(record.renderer, 'networkd');
    assert.equal(record.files.length, 3);
    // --root: the rename is left for the running system, and said so.
    assert.match(read(root, 'var/log/ec2-init.log'), /skipped with --root .*ip link set dev ens3 name eth0/);
    assert.deepEqual(statusProblems(root), []);
  });

  test('a reboot keeps what the first boot rendered; a new instance renders anew and removes what it no longer needs', () => {
    const root = nocloudRoot(V2);
    assert.equal(agent(root, ['boot']).status, 0);
    const path = join(root, 'etc/systemd/network/10-cloud-init-eth0.network');
    writeFileSync(path, '# edited by the admin\n');
    // Same instance, changed network-config: kept (per instance).
    writeIn(root, 'var/lib/cloud/seed/nocloud/network-config', 'version: 2\nethernets:\n  ens3: {dhcp4: true}\n');
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(readFileSync(path, 'utf8'), '# edited by the admin\n');
    assert.match(read(root, 'var/log/ec2-init.log'), /network: kept: rendered on this instance's first boot/);
    // New instance: rendered from the new config; the old files are gone.
    writeIn(root, 'var/lib/cloud/seed/nocloud/meta-data', 'instance-id: iid-net-2\n');
    assert.equal(agent(root, ['boot']).status, 0);
    assert.ok(!existsSync(path));
    assert.ok(!existsSync(join(root, 'etc/systemd/network/10-cloud-init-eth0.link')));
    assert.match(read(root, 'etc/systemd/network/10-cloud-init-ens3.network'), /\[Match\]\nName=ens3\n\n\[Network\]\nDHCP=ipv4\n/);
  });

  test('ifupdown when the image has it (cloud-init\'s default order puts eni before netplan and networkd)', () => {
    const root = nocloudRoot(V2, '');
    plantTools(root, ['ifup', 'ifdown', 'ifquery', 'netplan']);
    writeIn(root, 'etc/network/interfaces', 'source /etc/network/interfaces.d/*\n');
    assert.equal(agent(root, ['init', '--local']).status, 0);
    const eni = read(root, 'etc/network/interfaces.d/50-cloud-init');
    assert.match(eni, /\nauto eth0\niface eth0 inet static\n {4}address 192\.0\.2\.10\/24\n {4}dns-nameservers 192\.0\.2\.53\n {4}dns-search example\.net\n {4}post-up ip route add default via 192\.0\.2\.1 dev eth0 \|\| true\n/);
    assert.match(eni, /\nauto ens4\niface ens4 inet dhcp\n/);
    assert.match(read(root, 'etc/udev/rules.d/70-persistent-net.rules'), /ATTR\{address\}=="52:54:00:12:34:01", NAME="eth0"/);
    assert.ok(!existsSync(join(root, 'etc/netplan/50-cloud-init.yaml')));
    assert.deepEqual(statusProblems(root), []);
  });

  test('netplan first in system_info.network.renderers: /etc/netplan/50-cloud-init.yaml (0600), v2 as given', () => {
    const root = nocloudRoot(V2, 'system_info:\n  network:\n    renderers: [netplan, eni, networkd]\n');
    plantTools(root, ['ifup', 'ifdown', 'ifquery', 'netplan']);
    writeIn(root, 'etc/network/interfaces', 'source /etc/network/interfaces.d/*\n');
    assert.equal(agent(root, ['init', '--local']).status, 0);
    const p = join(root, 'etc/netplan/50-cloud-init.yaml');
    assert.equal(statSync(p).mode & 0o777, 0o600);
    const text = readFileSync(p, 'utf8');
    assert.match(text, /\nnetwork:\n {2}version: 2\n {2}ethernets:\n {4}primary:\n {6}match:\n {8}macaddress: "52:54:00:12:34:01"\n {6}set-name: "eth0"\n/);
    assert.match(read(root, 'var/log/ec2-init.log'), /skipped with --root .*netplan generate/);
    assert.ok(!existsSync(join(root, 'etc/network/interfaces.d/50-cloud-init')));
  });

  test('no network config: the fallback, DHCP on the first connected NIC', () => {
    const root = nocloudRoot(null);
    plantNic(root, 'ens2', '52:54:00:12:34:00', false);
    assert.equal(agent(root, ['init', '--local']).status, 0);
    assert.match(read(root, 'etc/systemd/network/10-cloud-init-ens3.network'), /\[Match\]\nPermanentMACAddress=52:54:00:12:34:01\n\n\[Network\]\nDHCP=yes\n/);
    assert.ok(!existsSync(join(root, 'etc/systemd/network/10-cloud-init-ens2.network')));
    assert.ok(!existsSync(join(root, 'etc/systemd/network/10-cloud-init-ens4.network')));
  });

  test('no datasource at all in init-local: the fallback is written', () => {
    const root = newRoot();
    writeIn(root, 'etc/cloud/cloud.cfg', 'datasource_list: [NoCloud]\nsystem_info: {network: {renderers: [networkd]}}\n');
    plantNic(root, 'eth0', '52:54:00:12:34:09');
    assert.equal(agent(root, ['init', '--local']).status, 0);
    assert.match(read(root, 'etc/systemd/network/10-cloud-init-eth0.network'), /DHCP=yes/);
  });

  test('disabled by the system config and by the kernel command line; network config in user-data is ignored', () => {
    const a = nocloudRoot(V2, 'network: {config: disabled}\nsystem_info: {network: {renderers: [networkd]}}\n');
    assert.equal(agent(a, ['boot']).status, 0);
    assert.ok(!existsSync(join(a, 'etc/systemd/network')));
    assert.match(read(a, 'var/log/ec2-init.log'), /network: disabled by network: \{config: disabled\} in the system config/);
    const b = nocloudRoot(V2);
    writeIn(b, 'proc/cmdline', 'root=/dev/vda1 ro network-config=disabled quiet\n');
    assert.equal(agent(b, ['init', '--local']).status, 0);
    assert.ok(!existsSync(join(b, 'etc/systemd/network')));
    // user-data's network: key changes nothing (the seed's config is rendered).
    const c = nocloudRoot(V2);
    writeIn(c, 'var/lib/cloud/seed/nocloud/user-data', '#cloud-config\nnetwork: {config: disabled}\n');
    const rc = agent(c, ['boot']);
    assert.notEqual(rc.status, 1, rc.stderr);
    assert.ok(existsSync(join(c, 'etc/systemd/network/10-cloud-init-eth0.network')));
  });

  test('an entry that cannot be rendered is an error naming it (line, column); the rest is rendered and the boot goes on', () => {
    const root = nocloudRoot(`${V2}    broken:\n      match: {macaddress: "52:54:00:12:34:03"}\n      addresses: [not-an-address/24]\n`);
    writeIn(root, 'var/lib/cloud/seed/nocloud/user-data', '#cloud-config\nruncmd: ["touch /ran"]\n');
    const r = agent(root, ['boot']);
    assert.equal(r.status, 1, r.stderr); // an error was reported …
    assert.ok(existsSync(join(root, 'ran')), 'the boot went on'); // … and the boot went on
    assert.ok(existsSync(join(root, 'etc/systemd/network/10-cloud-init-eth0.network')));
    const problems = statusProblems(root).join('\n');
    assert.match(problems, /NoCloud network-config line 15, column 19: ethernets\.broken\.addresses\[0\]: 'not-an-address\/24' is not an IP address/);
    assert.match(problems, /ethernets\.broken not rendered/);
    assert.equal(agent(root, ['status']).status, 1);
  });

  test('config drive network_data.json (OpenStack example): bond, VLAN, static v4/v6, DHCP', () => {
    const root = newRoot();
    writeIn(root, 'etc/cloud/cloud.cfg', 'datasource_list: [ConfigDrive]\nsystem_info: {network: {renderers: [networkd]}}\n');
    writeIn(root, 'var/lib/cloud/seed/config_drive/openstack/latest/meta_data.json', JSON.stringify(EXAMPLE_META_DATA));
    writeIn(root, 'var/lib/cloud/seed/config_drive/openstack/latest/network_data.json', JSON.stringify(EXAMPLE_NETWORK_DATA));
    plantNic(root, 'ens3', 'fa:16:3e:00:00:01');
    plantNic(root, 'ens4', 'fa:16:3e:00:00:02');
    plantNic(root, 'ens5', 'fa:16:3e:00:00:03');
    const r = agent(root, ['init', '--local']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(read(root, 'etc/systemd/network/10-cloud-init-bond0.netdev'), /Kind=bond\nMACAddress=fa:16:3e:00:00:01\nMTUBytes=9000\n\n\[Bond\]\nMode=802\.3ad\n/);
    assert.match(read(root, 'etc/systemd/network/10-cloud-init-ens3.network'), /Bond=bond0/);
    assert.match(read(root, 'etc/systemd/network/10-cloud-init-bond0.network'), /VLAN=bond0\.101/);
    assert.match(read(root, 'etc/systemd/network/10-cloud-init-bond0.101.network'), /Address=10\.20\.30\.40\/24\nDNS=10\.20\.30\.2\n\n\[Route\]\nGateway=10\.20\.30\.1\n\n\[Route\]\nDestination=172\.16\.0\.0\/12\nGateway=10\.20\.30\.254\n/);
    assert.match(read(root, 'etc/systemd/network/10-cloud-init-ens5.network'), /DHCP=ipv4\nIPv6AcceptRA=no\nAddress=2001:db8:100::10\/64\nDNS=8\.8\.8\.8\nDNS=2001:4860:4860::8888\n/);
    assert.deepEqual(statusProblems(root), []);
  });

  test('plan shows what would be rendered and writes nothing', () => {
    const root = nocloudRoot(V2);
    const r = agent(root, ['plan']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /init-local network +RUN +network: render NoCloud network-config \(v2\) for networkd: \/etc\/systemd\/network\/10-cloud-init-eth0\.link, \/etc\/systemd\/network\/10-cloud-init-eth0\.network, \/etc\/systemd\/network\/10-cloud-init-ens4\.network/);
    assert.ok(!existsSync(join(root, 'etc/systemd/network')));
  });
});
