// Integration: the built executable boots from a CloudStack virtual router —
// the simulator's metadata service (port 80) and password server (port
// 8080) on a loopback address of its own — found as cloud-init finds it:
// the DHCP server of the image's DHCP client's lease (networkd, then
// dhclient), else the default gateway. DMI says CloudStack.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agentAsync, cannotRun, statusProblems } from '../helpers/agent.ts';
import { cloudRoot, hashOf, shadowOf } from '../helpers/cloud-root.ts';
import { CLOUDSTACK_META_DATA, dhclientLease, startCloudStackSimulator, type VirtualRouter } from '../helpers/cloudstack-simulator.ts';
import { read, writeIn } from '../helpers/files.ts';
import { needCommands } from '../helpers/needs.ts';

const skip = cannotRun() ?? needCommands(['ssh-keygen', 'useradd', 'chpasswd', 'perl'], 'openssh-client passwd perl-base') ?? false;

function csRoot(o: { product?: string; lease?: string; list?: string } = {}): string {
  const root = cloudRoot({
    dmi: { product_name: o.product ?? 'CloudStack KVM Hypervisor', sys_vendor: 'Apache Software Foundation' },
    nics: [['eth0', '1e:00:7a:00:00:39']],
    config: `${o.list ?? ''}datasource:\n  CloudStack:\n    max_wait: 10\n    timeout: 2\n`,
  });
  if (o.lease) writeIn(root, 'var/lib/dhcp/dhclient.eth0.leases', o.lease);
  return root;
}

/** /proc/net/route with a default route via `gw` (the kernel's little-endian hex). */
function routeTable(gw: string): string {
  const hex = gw.split('.').map(Number).reverse().map((n) => n.toString(16).padStart(2, '0')).join('').toUpperCase();
  return 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
    `eth0\t00000000\t${hex}\t0003\t0\t0\t100\t00000000\t0\t0\t0\neth0\t00010A0A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n`;
}

const query = async (root: string, key: string) => (await agentAsync(root, ['query', key])).stdout.trim();

describe('boot from a CloudStack virtual router (simulator on its own loopback address)', { skip }, () => {
  let sim: VirtualRouter;

  test('the router from the dhclient lease: user-data, hostname, key, instance-data, the password once', async () => {
    sim = await startCloudStackSimulator({ userData: '#!/bin/sh\necho from-cloudstack > /ran\n', password: 'cs-Pa55word' });
    try {
      const root = csRoot({ lease: dhclientLease(sim.address) });
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(statusProblems(root), []);
      assert.equal(read(root, 'ran'), 'from-cloudstack\n');
      assert.equal(read(root, 'etc/hostname'), 'vm-web-1\n');
      assert.match(read(root, 'home/debian/.ssh/authorized_keys'), /cloudstack@test/);
      assert.equal(read(root, 'var/lib/cloud/data/instance-id'), `${CLOUDSTACK_META_DATA['instance-id'] as string}\n`);
      assert.equal(read(root, 'run/cloud-init/cloud-id'), 'cloudstack\n');
      assert.equal(await query(root, 'v1.cloud_name'), 'cloudstack');
      assert.equal(await query(root, 'v1.platform'), 'cloudstack');
      assert.equal(await query(root, 'v1.availability_zone'), 'zone1');
      assert.equal(await query(root, 'v1.subplatform'), `metadata (http://${sim.address}/)`);
      assert.deepEqual(sim.requests.slice(0, 3).map((q) => q.path), ['/latest/meta-data/instance-id', '/latest/user-data', '/latest/meta-data/']);
      assert.deepEqual(sim.passwordRequests.map((q) => q.headers['domu_request']), ['send_my_password', 'saved_password']);
      assert.match(read(root, 'var/log/ec2-init.log'), new RegExp(`virtual router ${sim.address.replace(/\./g, '\\.')}, from dhclient's newest lease file`));
      assert.ok(!read(root, 'var/log/ec2-init.log').includes('cs-Pa55word'));
      const hash = shadowOf(root, read, 'debian')![1]!;
      assert.ok(hashOf(hash, 'cs-Pa55word'));

      // A reboot: asked again, nothing to set (saved_password), no second acknowledgement, the password as it was.
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      assert.equal(sim.acks(), 1);
      assert.equal(shadowOf(root, read, 'debian')![1], hash);
    } finally { await sim.close(); }
  });

  test('networkd\'s lease wins over dhclient\'s; no lease: the default gateway (plan: nothing acknowledged)', async () => {
    sim = await startCloudStackSimulator({ password: 'cs-Pa55word' });
    try {
      const viaNetworkd = csRoot({ lease: dhclientLease('127.0.0.0') });
      writeIn(viaNetworkd, 'run/systemd/netif/leases/2', `# This is private data. Do not parse.\nADDRESS=10.1.1.57\nNETMASK=255.255.255.0\nROUTER=10.1.1.1\nSERVER_ADDRESS=${sim.address}\nT1=43200\n`);
      const p1 = await agentAsync(viaNetworkd, ['plan']);
      assert.equal(p1.status, 0, p1.stderr);
      assert.match(p1.stdout, new RegExp(`CloudStack: instance ${CLOUDSTACK_META_DATA['instance-id'] as string}`));

      const viaGateway = csRoot();
      writeIn(viaGateway, 'proc/net/route', routeTable(sim.address));
      const p2 = await agentAsync(viaGateway, ['plan']);
      assert.equal(p2.status, 0, p2.stderr);
      assert.match(p2.stdout, new RegExp(`CloudStack: instance ${CLOUDSTACK_META_DATA['instance-id'] as string}`));
      assert.equal(sim.acks(), 0);
      assert.equal(sim.passwordRequests.length, 2);
    } finally { await sim.close(); }
  });

  test('another cloud by DMI, or a container: no request; no router anywhere: a warning, not found', async () => {
    sim = await startCloudStackSimulator({});
    try {
      // Only sources of this branch listed, not Exoscale's: it would ask its real metadata address.
      const other = csRoot({ product: 'Exoscale Compute Platform', lease: dhclientLease(sim.address), list: 'datasource_list: [CloudStack, UpCloud]\n' });
      assert.equal((await agentAsync(other, ['boot'])).status, 2);
      const container = csRoot({ lease: dhclientLease(sim.address) });
      writeIn(container, 'proc/1/environ', 'container=lxc\0PATH=/usr/bin\0');
      assert.equal((await agentAsync(container, ['boot'])).status, 2);
      assert.match(read(container, 'var/log/ec2-init.log'), /datasource CloudStack: DMI's product_name does not start with CloudStack \(or a container\)/);
      assert.equal(sim.requests.length + sim.passwordRequests.length, 0);
      const nowhere = csRoot();
      assert.equal((await agentAsync(nowhere, ['boot'])).status, 2);
      assert.ok(statusProblems(nowhere).includes('datasource CloudStack: no virtual router found (no data-server name, no DHCP lease naming a server, no default gateway)'));
    } finally { await sim.close(); }
  });
});
