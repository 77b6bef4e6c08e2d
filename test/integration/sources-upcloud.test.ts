// Integration: the built executable boots from UpCloud's metadata service —
// a real HTTP server (the simulator) on 127.0.0.1 serving metadata/v1.json —
// with the platform told by DMI (sys_vendor UpCloud, the server's uuid).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agentAsync, cannotRun, statusProblems } from '../helpers/agent.ts';
import { cloudRoot } from '../helpers/cloud-root.ts';
import { read } from '../helpers/files.ts';
import { needCommands } from '../helpers/needs.ts';
import { startUpCloudSimulator, UPCLOUD_NICS, UPCLOUD_UUID } from '../helpers/upcloud-simulator.ts';

const skip = cannotRun() ?? needCommands(['ssh-keygen', 'useradd'], 'openssh-client passwd') ?? false;

function upcloudRoot(url: string, o: { vendor?: string; list?: string; nics?: [string, string][]; keys?: string } = {}): string {
  return cloudRoot({
    dmi: { sys_vendor: o.vendor ?? 'UpCloud', product_uuid: UPCLOUD_UUID },
    nics: o.nics ?? UPCLOUD_NICS,
    config: `${o.list ?? ''}datasource:\n  UpCloud:\n    metadata_url: ${url}\n    wait_retry: 0\n${o.keys ?? ''}`,
  });
}

const query = async (root: string, key: string) => (await agentAsync(root, ['query', key])).stdout.trim();

describe('boot from UpCloud (simulator on 127.0.0.1)', { skip }, () => {
  test('user-data, vendor-data, hostname, the key of the default user, instance-data and the network config', async () => {
    const sim = await startUpCloudSimulator({
      userData: '#cloud-config\nruncmd: [[sh, -c, "echo from-upcloud > /ran"]]\n',
      vendorData: '#cloud-config\nwrite_files: [{path: /etc/from-vendor, content: v}]\n',
    });
    try {
      const root = upcloudRoot(sim.metadataUrl);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(statusProblems(root), []);
      assert.equal(read(root, 'ran'), 'from-upcloud\n');
      assert.equal(read(root, 'etc/from-vendor'), 'v');
      assert.equal(read(root, 'etc/hostname'), 'web1\n');
      assert.match(read(root, 'home/debian/.ssh/authorized_keys'), /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFdQpD0m5L8zZt0jPpJp2wqYb5FzX0u0hK5uW2mQ3vYc upcloud@test$/m);
      assert.equal(read(root, 'var/lib/cloud/data/instance-id'), `${UPCLOUD_UUID}\n`);
      assert.equal(read(root, 'run/cloud-init/cloud-id'), 'upcloud\n');
      assert.equal(await query(root, 'v1.cloud_name'), 'upcloud');
      assert.equal(await query(root, 'v1.platform'), 'upcloud');
      assert.equal(await query(root, 'v1.availability_zone'), 'fi-hel2');
      assert.equal(await query(root, 'v1.region'), 'null'); // cloud-init reads `region` of its reduced meta-data: none
      assert.equal(await query(root, 'v1.subplatform'), `metadata (${sim.metadataUrl})`);
      assert.equal(await query(root, 'ds.meta_data.local-hostname'), 'web1.example.com');
      assert.equal(await query(root, 'ds.meta_data.availability_zone'), 'fi-hel2');
      // One request: the whole description.
      assert.deepEqual(sim.requests.map((q) => `${q.method} ${q.path}`), ['GET /metadata/v1.json']);
      // The network config of the metadata, per NIC by MAC.
      const net = (n: string) => read(root, `etc/systemd/network/10-cloud-init-${n}.network`);
      assert.match(net('eth0'), /DHCP=ipv4/);
      assert.match(net('eth0'), /Address=94\.237\.105\.50\/32/);
      assert.match(net('eth2'), /DHCP=ipv6/);
      assert.match(net('eth3'), /DHCP=no\nAddress=172\.30\.1\.10\/24\nDNS=172\.30\.0\.2/);
      assert.match(net('eth3'), /Gateway=172\.30\.1\.1/);
      assert.match(net('eth1'), /DNS=94\.237\.127\.9\nDNS=94\.237\.40\.9/);
      assert.match(read(root, 'var/log/ec2-init.log'), /render UpCloud metadata network config \(v1\) for networkd/);
    } finally { await sim.close(); }
  });

  test('another cloud by DMI: no request, even with UpCloud the only source listed (cloud-init checks DMI itself)', async () => {
    const sim = await startUpCloudSimulator();
    try {
      // Only sources of this branch listed: another cloud's own source would ask its real metadata address.
      for (const list of ['datasource_list: [UpCloud, Akamai]\n', 'datasource_list: [UpCloud]\n']) {
        const root = upcloudRoot(sim.metadataUrl, { vendor: 'Hetzner', list });
        const r = await agentAsync(root, ['boot']);
        assert.equal(r.status, 2, r.stderr); // degraded: no datasource
        assert.match(read(root, 'var/log/ec2-init.log'), /datasource UpCloud: DMI's sys_vendor is not UpCloud/);
      }
      assert.equal(sim.requests.length, 0);
    } finally { await sim.close(); }
  });

  test('503s are retried; a NIC the machine lacks is left out of the network config with a warning', async () => {
    const sim = await startUpCloudSimulator({ failFirst: 2 });
    try {
      const root = upcloudRoot(sim.metadataUrl, { nics: UPCLOUD_NICS.slice(0, 3) });
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 2, r.stderr); // degraded by the warning
      assert.deepEqual(sim.requests.map((q) => q.status), [503, 503, 200]);
      assert.deepEqual(statusProblems(root), ['datasource UpCloud: network config: network.interfaces[3]: no interface with MAC 3a:d6:ba:4a:8a:e1 on this machine; left out']);
      assert.match(read(root, 'etc/systemd/network/10-cloud-init-eth2.network'), /DHCP=ipv6/);
    } finally { await sim.close(); }
  });

  test('timeout and retries as configured: a hung request is given up after `timeout`, then asked again; `retries` caps the attempts', async () => {
    const sim = await startUpCloudSimulator({ hang: (q) => sim.requests.indexOf(q) === 0 });
    try {
      const root = upcloudRoot(sim.metadataUrl, { keys: '    timeout: 1\n' });
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sim.requests.length, 2);
      const gap = sim.requests[1]!.at - sim.requests[0]!.at;
      assert.ok(gap >= 900 && gap < 5000, `asked again ${gap} ms after the hung request (timeout: 1)`);
      assert.equal(read(root, 'etc/hostname'), 'web1\n');
    } finally { await sim.close(); }
    const dead = await startUpCloudSimulator({ hang: () => true });
    try {
      const root = upcloudRoot(dead.metadataUrl, { keys: '    timeout: 1\n    retries: 2\n' });
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 1, r.stderr); // the datasource's error
      assert.match(r.stderr, /ERROR: datasource UpCloud: timed out after 1000 ms/);
      assert.equal(dead.requests.length, 6); // the first attempt and 2 retries, in init-local and again in init
    } finally { await dead.close(); }
  });

  test('a 9 MiB user-data inside the one document is counted once against the 16 MiB budget: kept and applied', async () => {
    // (It was counted twice, as the document and as the user-data, and left out.)
    const userData = `#cloud-config\nwrite_files: [{path: /etc/big-user-data, content: kept}]\n# ${'x'.repeat(9 * 1024 * 1024)}\n`;
    const sim = await startUpCloudSimulator({ userData });
    try {
      const root = upcloudRoot(sim.metadataUrl);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(statusProblems(root), []);
      assert.equal(read(root, 'etc/big-user-data'), 'kept');
    } finally { await sim.close(); }
  });
});
