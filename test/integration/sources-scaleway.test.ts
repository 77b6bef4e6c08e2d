// Integration: the built executable boots from Scaleway's metadata API — the
// simulator on 127.0.0.1, which gives user-data and vendor-data only to a
// privileged source port — with the platform told by DMI (sys_vendor
// Scaleway), the kernel command line or /var/run/scaleway.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { describe, test } from 'node:test';
import { agentAsync, cannotRun, statusProblems } from '../helpers/agent.ts';
import { cloudRoot } from '../helpers/cloud-root.ts';
import { dhclientLease } from '../helpers/cloudstack-simulator.ts';
import { read, writeIn } from '../helpers/files.ts';
import { needCommands } from '../helpers/needs.ts';
import { SCALEWAY_CONF, startScalewaySimulator, type ScalewaySimulator } from '../helpers/scaleway-simulator.ts';

const skip = cannotRun() ?? needCommands(['ssh-keygen', 'useradd'], 'openssh-client passwd') ?? false;

function scwRoot(sim: ScalewaySimulator, o: { vendor?: string; cmdline?: string; list?: string; keys?: string } = {}): string {
  const root = cloudRoot({
    dmi: { sys_vendor: o.vendor ?? 'Scaleway', product_name: 'SCW-DEV1-S' },
    nics: [['ens2', 'de:00:00:5c:10:20']],
    ...(o.cmdline !== undefined && { cmdline: o.cmdline }),
    config: `${o.list ?? ''}datasource:\n  Scaleway:\n    metadata_urls: ['${sim.url}']\n${o.keys ?? ''}`,
  });
  // The image's DHCP client leased the primary public address (the one to keep on DHCP).
  writeIn(root, 'var/lib/dhcp/dhclient.ens2.leases', dhclientLease('10.64.0.1', '51.15.10.20', 'ens2'));
  return root;
}

const query = async (root: string, key: string) => (await agentAsync(root, ['query', key])).stdout.trim();

/** GET from this process (an unprivileged source port). */
function plainGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => http.get(url, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject));
}

describe('boot from Scaleway (simulator on 127.0.0.1)', { skip }, () => {
  test('conf, then user-data and vendor-data from port 1; keys of both kinds; zone and region; the network config', async () => {
    const sim = await startScalewaySimulator({
      userData: '#cloud-config\nruncmd: [[sh, -c, "echo from-scaleway > /ran"]]\n',
      vendorData: '#cloud-config\nwrite_files: [{path: /etc/from-vendor, content: v}]\n',
    });
    try {
      assert.equal(await plainGet(`${sim.url}/user_data/cloud-init`), 403); // the simulator enforces the rule
      sim.requests.length = 0;
      const root = scwRoot(sim);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(statusProblems(root), []);
      assert.equal(read(root, 'ran'), 'from-scaleway\n');
      assert.equal(read(root, 'etc/from-vendor'), 'v');
      assert.equal(read(root, 'etc/hostname'), 'scw-web-1\n');
      const keys = read(root, 'home/debian/.ssh/authorized_keys');
      assert.match(keys, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFscw0key1scw0key2scw0key3scw0key4scw0key5scw scaleway@test$/m);
      assert.match(keys, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBtag0key1tag0key2tag0key3tag0key4tag0key5tag tag@scaleway$/m);
      assert.equal(read(root, 'var/lib/cloud/data/instance-id'), `${SCALEWAY_CONF['id'] as string}\n`);
      assert.equal(read(root, 'run/cloud-init/cloud-id'), 'scaleway\n');
      assert.equal(await query(root, 'v1.cloud_name'), 'scaleway');
      assert.equal(await query(root, 'v1.platform'), 'scaleway');
      assert.equal(await query(root, 'v1.availability_zone'), 'fr-par-1');
      assert.equal(await query(root, 'v1.region'), 'fr-par');
      assert.equal(await query(root, 'ds.meta_data.commercial_type'), 'DEV1-S');
      assert.equal(await query(root, 'ds.meta_data.net_in_use'), 'ipv4');
      assert.deepEqual(sim.requests.map((q) => `${q.path} ${q.status}`),
        ['/ 200', '/conf?format=json 200', '/user_data/cloud-init 200', '/vendor_data/cloud-init 200']);
      assert.deepEqual(sim.requests.slice(2).map((q) => q.remotePort), [1, 1]); // a reset, not a FIN, freed port 1 at once
      // DHCP for the leased address, with the route to the API; the other addresses static.
      const ens2 = read(root, 'etc/systemd/network/10-cloud-init-ens2.network');
      assert.match(ens2, /DHCP=ipv4/);
      assert.match(ens2, /Address=51\.15\.10\.21\/32/);
      assert.match(ens2, /Address=2001:bc8:1210:42::1\/64/);
      assert.match(ens2, /\[Route\]\nDestination=169\.254\.42\.42\/32\nGateway=62\.210\.0\.1\nGatewayOnLink=yes/);
      assert.match(ens2, /\[Route\]\nGateway=fe80::a3f:f4ff:fe1c:7d00\n/); // the IPv6 default route
    } finally { await sim.close(); }
  });

  test('source port 1 in use: port 2, at once (the service was not asked)', async () => {
    const sim = await startScalewaySimulator({ userData: '#!/bin/sh\necho port2 > /ran\n' });
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(1, '127.0.0.1', resolve));
    try {
      const root = scwRoot(sim);
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      assert.equal(read(root, 'ran'), 'port2\n');
      assert.deepEqual(sim.requests.filter((q) => q.path.includes('_data/')).map((q) => `${q.path} ${q.remotePort}`),
        ['/user_data/cloud-init 2', '/vendor_data/cloud-init 2']);
      assert.match(read(root, 'var/log/ec2-init.log'), /user_data\/cloud-init from port 1: .*EADDRINUSE/);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
      await sim.close();
    }
  });

  test('timeout: a user-data request that hangs is given up after `timeout`, and port 2 asked 5 s later (cloud-init\'s pause)', async () => {
    const sim = await startScalewaySimulator({ userData: '#!/bin/sh\necho after-hang > /ran\n', hang: (q) => q.path === '/user_data/cloud-init' && q.remotePort === 1 });
    try {
      const root = scwRoot(sim, { keys: '    timeout: 1\n' });
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      assert.equal(read(root, 'ran'), 'after-hang\n');
      const ud = sim.requests.filter((q) => q.path === '/user_data/cloud-init');
      assert.deepEqual(ud.map((q) => q.remotePort), [1, 2]);
      const gap = ud[1]!.at - ud[0]!.at;
      assert.ok(gap >= 5900 && gap < 9000, `port 2 asked ${gap} ms after port 1 (timeout 1 s + pause 5 s)`);
    } finally { await sim.close(); }
  });

  test('told by the kernel command line or /var/run/scaleway; another cloud by DMI: no request', async () => {
    const sim = await startScalewaySimulator({ userData: '#!/bin/sh\necho cmdline > /ran\n' });
    try {
      const byCmdline = scwRoot(sim, { vendor: 'QEMU', cmdline: 'BOOT_IMAGE=/vmlinuz root=/dev/vda1 scaleway quiet' });
      assert.equal((await agentAsync(byCmdline, ['boot'])).status, 0);
      assert.equal(read(byCmdline, 'ran'), 'cmdline\n');
      const byFile = scwRoot(sim, { vendor: 'QEMU' });
      writeIn(byFile, 'var/run/scaleway', '');
      assert.equal((await agentAsync(byFile, ['boot'])).status, 0);
      assert.equal(read(byFile, 'ran'), 'cmdline\n');
      sim.requests.length = 0;
      // Only sources of this branch listed: another cloud's own source would ask its real metadata address.
      const other = scwRoot(sim, { vendor: 'UpCloud', list: 'datasource_list: [Scaleway, Akamai]\n' });
      assert.equal((await agentAsync(other, ['boot'])).status, 2);
      assert.equal(sim.requests.length, 0);
    } finally { await sim.close(); }
  });
});
