// Integration: the built executable boots on "Hetzner Cloud" — DMI of a
// Hetzner server under --root (vendor, and the serial that must equal the
// instance-id), the metadata service simulated on 127.0.0.1
// (test/helpers/hetzner-simulator.ts): user-data and vendor-data applied,
// hostname, ssh key, cloud-id and v1 keys as cloud-init gives them, the
// metadata's network config and the private network rendered for networkd.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { HETZNER_KEY, HETZNER_MAC, HETZNER_PRIVATE_MAC, hetznerMetadata, startHetznerSimulator, type HetznerSimulator } from '../helpers/hetzner-simulator.ts';
import { cloudRoot } from '../helpers/cloud-root.ts';
import { read } from '../helpers/files.ts';
import { agentAsync, cannotRun, statusProblems } from '../helpers/agent.ts';
import { needCommands } from '../helpers/needs.ts';

const skip = cannotRun() ?? needCommands(['ssh-keygen', 'useradd'], 'openssh-client passwd') ?? false;

const HETZNER_DMI = { sys_vendor: 'Hetzner', product_name: 'vServer', product_serial: '42424242', product_version: '20171111', bios_vendor: 'Hetzner' };
const USER_DATA = '#cloud-config\nwrite_files: [{path: /etc/from-hetzner, content: "hetzner user-data\\n"}]\nruncmd: ["echo ran > /runcmd-ran"]\n';

function hetznerRoot(sim: HetznerSimulator, opts: { dmi?: Record<string, string>; list?: string } = {}): string {
  return cloudRoot({
    dmi: opts.dmi ?? HETZNER_DMI,
    config: `datasource_list: ${opts.list ?? '[Hetzner]'}\ndatasource:\n  Hetzner:\n    metadata_url: ${sim.base}metadata\n    userdata_url: ${sim.base}userdata\n` +
      '    timeout: 2\n    retries: 3\n    wait_retry: 0.05\n',
    nics: [['ens3', HETZNER_MAC], ['enp7s0', HETZNER_PRIVATE_MAC]],
  });
}

const v1 = (root: string) => (JSON.parse(read(root, 'run/ec2-init/instance-data.json')) as { v1: Record<string, unknown> }).v1;

describe('boot on Hetzner Cloud (DMI under --root, metadata service simulated on 127.0.0.1)', { skip }, () => {

  test('user-data (base64, as the service carries binary), vendor-data, hostname, key, v1 keys, network config', async () => {
    const sim = await startHetznerSimulator({ userData: Buffer.from(USER_DATA).toString('base64') });
    try {
      const root = hetznerRoot(sim);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(statusProblems(root), []);
      assert.equal(read(root, 'etc/from-hetzner'), 'hetzner user-data\n');
      assert.equal(read(root, 'runcmd-ran'), 'ran\n');
      assert.equal(read(root, 'etc/from-hetzner-vendor'), 'vendor\n');
      assert.equal(read(root, 'etc/hostname'), 'my-server\n');
      assert.match(read(root, 'home/debian/.ssh/authorized_keys'), new RegExp(HETZNER_KEY.split(' ')[1]!));
      assert.deepEqual(sim.requests.map((q) => q.path), ['/hetzner/v1/metadata', '/hetzner/v1/metadata/private-networks', '/hetzner/v1/userdata']);
      assert.equal(read(root, 'run/cloud-init/cloud-id'), 'hetzner\n');
      const v = v1(root);
      assert.deepEqual([v['cloud_name'], v['cloud_id'], v['platform'], v['region'], v['availability_zone'], v['instance_id'], v['local_hostname'], v['subplatform']],
        ['hetzner', 'hetzner', 'hetzner', null, null, '42424242', 'my-server', `metadata (${sim.base}metadata)`]);
      assert.deepEqual(v['public_ssh_keys'], [HETZNER_KEY]);
      assert.match((await agentAsync(root, ['query', 'ds.meta_data.private-networks'])).stdout, /"ip": "10\.1\.0\.2"/);
      assert.equal(statSync(join(root, 'var/lib/cloud/data/hetzner/metadata')).mode & 0o777, 0o600);
      // The metadata's network-config: eth0 by MAC (renamed), DHCPv4 and static IPv6; the private network by DHCP.
      const eth0 = read(root, 'etc/systemd/network/10-cloud-init-eth0.network');
      assert.match(eth0, /PermanentMACAddress=96:00:00:08:19:da/);
      assert.match(eth0, /DHCP=ipv4/);
      assert.match(eth0, /Address=2a01:4f8:c2c:1234::1\/64/);
      assert.match(eth0, /Gateway=fe80::1/);
      assert.match(eth0, /DNS=185\.12\.64\.1/);
      assert.match(read(root, 'etc/systemd/network/10-cloud-init-eth0.link'), /Name=eth0/);
      assert.match(read(root, 'etc/systemd/network/10-cloud-init-enp7s0.network'), /DHCP=(yes|ipv4)/);
      const record = JSON.parse(read(root, 'var/lib/cloud/data/network-rendered.json')) as { source: string };
      assert.equal(record.source, 'Hetzner metadata network config (v1)');
    } finally { await sim.close(); }
  });

  test('no user-data (204), plain-text keys in a list, 503s then slow answers', async () => {
    const sim = await startHetznerSimulator({ userData: null, failFirst: 2, delayMs: 150 });
    try {
      const root = hetznerRoot(sim);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(sim.requests.map((q) => [q.path, q.status]), [
        ['/hetzner/v1/metadata', 503], ['/hetzner/v1/metadata', 503], ['/hetzner/v1/metadata', 200],
        ['/hetzner/v1/metadata/private-networks', 200], ['/hetzner/v1/userdata', 204],
      ]);
      assert.equal(read(root, 'var/lib/cloud/data/user-data.raw'), '');
      assert.equal(read(root, 'etc/hostname'), 'my-server\n');
    } finally { await sim.close(); }
  });

  test('an instance-id that is not DMI\'s serial: the metadata is not this machine\'s, an error', async () => {
    const sim = await startHetznerSimulator({ metadata: { ...hetznerMetadata(), 'instance-id': 99999999 } });
    try {
      const root = hetznerRoot(sim);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 1, r.stderr);
      assert.match(read(root, 'var/log/ec2-init.log'), /instance-id 99999999 is not DMI's serial number 42424242/);
      assert.throws(() => read(root, 'var/lib/cloud/data/instance-id'));
    } finally { await sim.close(); }
  });

  test('DMI of another cloud: the service is never asked, even as the only datasource', async () => {
    const sim = await startHetznerSimulator({});
    try {
      for (const list of ['[Hetzner, NoCloud]', '[Hetzner]']) {
        const root = hetznerRoot(sim, { dmi: { sys_vendor: 'DigitalOcean', product_name: 'Droplet', product_serial: '42424242' }, list });
        const r = await agentAsync(root, ['boot']);
        assert.equal(r.status, 2, r.stderr);
        assert.match(read(root, 'var/log/ec2-init.log'), /datasource Hetzner: DMI sys_vendor is not Hetzner/);
      }
      assert.equal(sim.requests.length, 0);
    } finally { await sim.close(); }
  });
});
