// Integration: the built executable boots from the OpenStack metadata service
// — a real HTTP server (the simulator) on 127.0.0.1 serving nova's
// /openstack tree — with the platform identified by DMI as ds-identify does.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EXAMPLE_META_DATA, startOpenStackSimulator } from '../helpers/openstack-simulator.ts';
import { plantNic, read, writeIn } from '../helpers/files.ts';
import { agentAsync, cannotRun, newRoot } from '../helpers/agent.ts';

const skip = cannotRun() ?? false;

describe('boot from the OpenStack metadata service (simulator on 127.0.0.1)', { skip }, () => {

  function openstackRoot(url: string, dmi: string | null = 'OpenStack Nova', list = ''): string {
    const root = newRoot();
    writeIn(root, 'etc/cloud/cloud.cfg', `${list}datasource:\n  OpenStack:\n    metadata_urls: ['${url}']\n    timeout: 2\n    max_wait: 5\n    retries: 3\nsystem_info:\n  network:\n    renderers: [networkd]\n`);
    if (dmi) writeIn(root, 'sys/class/dmi/id/product_name', `${dmi}\n`);
    for (const [n, mac] of [['ens3', 'fa:16:3e:00:00:01'], ['ens4', 'fa:16:3e:00:00:02'], ['ens5', 'fa:16:3e:00:00:03']] as const) plantNic(root, n, mac);
    return root;
  }

  test('DMI says OpenStack Nova: user-data runs, meta-data is the instance, network_data.json is rendered', async () => {
    const sim = await startOpenStackSimulator({
      userData: '#!/bin/sh\necho "from openstack" > /script-ran\n',
      vendorData: { 'cloud-init': '#cloud-config\nwrite_files: [{path: /etc/from-vendor, content: v}]\n' },
    });
    try {
      const root = openstackRoot(sim.url);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(read(root, 'script-ran'), 'from openstack\n');
      assert.equal(read(root, 'etc/from-vendor'), 'v');
      assert.equal(read(root, 'var/lib/cloud/data/instance-id'), `${EXAMPLE_META_DATA.uuid}\n`);
      assert.equal((await agentAsync(root, ['query', 'v1.cloud_name'])).stdout, 'openstack\n');
      assert.equal((await agentAsync(root, ['query', 'ds.meta_data.meta.role'])).stdout, 'webserver\n');
      assert.match(read(root, 'root/.ssh/authorized_keys'), /ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb9QGQ2m1o0L7r0kE6m6b5Y8bKQ1JxZ2p3n4q5r6s7t test@openstack/);
      assert.deepEqual(sim.requests.map((q) => q.path), [
        '/openstack', '/openstack/latest/meta_data.json', '/openstack/latest/user_data', '/openstack/latest/vendor_data.json', '/openstack/latest/network_data.json',
      ]);
      // network_data.json from the service, rendered in stage init (a network source).
      assert.match(read(root, 'etc/systemd/network/10-cloud-init-bond0.101.network'), /Address=10\.20\.30\.40\/24/);
      assert.match(read(root, 'etc/systemd/network/10-cloud-init-bond0.netdev'), /Mode=802\.3ad/);
      const record = JSON.parse(read(root, 'var/lib/cloud/data/network-rendered.json')) as { source: string; instanceId: string };
      assert.equal(record.source, 'OpenStack network_data.json (OpenStack network_data.json)');
      assert.equal(record.instanceId, EXAMPLE_META_DATA.uuid);
      assert.match(read(root, 'var/lib/cloud/data/openstack/network_data.json'), /"links"/);
    } finally { await sim.close(); }
  });

  test('not OpenStack by DMI: the service is never asked (the default datasource list included)', async () => {
    const sim = await startOpenStackSimulator({});
    try {
      const root = openstackRoot(sim.url, 'Standard PC (Q35 + ICH9, 2009)');
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 2, r.stderr); // degraded: no datasource
      assert.equal(sim.requests.length, 0);
      assert.match(read(root, 'var/log/ec2-init.log'), /datasource OpenStack: DMI does not say OpenStack; metadata service not asked/);
    } finally { await sim.close(); }
  });

  test('datasource_list: [OpenStack] forces it; no "latest": the newest dated version; 503s are retried', async () => {
    const sim = await startOpenStackSimulator({ versions: ['2012-08-10', '2016-06-30', '2013-04-04'], failFirst: 2, networkData: null });
    try {
      const root = openstackRoot(sim.url, null, 'datasource_list: [OpenStack]\n');
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      const paths = sim.requests.filter((q) => q.status === 200).map((q) => q.path);
      assert.deepEqual(paths.slice(0, 2), ['/openstack', '/openstack/2016-06-30/meta_data.json']);
      assert.equal(sim.requests.filter((q) => q.status === 503).length, 2);
      // No network_data.json: the fallback from init-local stays (DHCP on the first NIC).
      assert.match(read(root, 'etc/systemd/network/10-cloud-init-ens3.network'), /DHCP=yes/);
    } finally { await sim.close(); }
  });

  test('a reboot of the same instance keeps the network config rendered on its first boot', async () => {
    const sim = await startOpenStackSimulator({});
    try {
      const root = openstackRoot(sim.url);
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      const before = read(root, 'etc/systemd/network/10-cloud-init-ens5.network');
      sim.options.networkData = { links: [{ id: 'x', type: 'phy', ethernet_mac_address: 'fa:16:3e:00:00:03' }], networks: [{ id: 'n', type: 'ipv4_dhcp', link: 'x' }] };
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      assert.equal(read(root, 'etc/systemd/network/10-cloud-init-ens5.network'), before);
    } finally { await sim.close(); }
  });
});
