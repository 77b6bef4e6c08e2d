// Integration: the built executable boots on "DigitalOcean" — DMI of a
// droplet under --root (vendor, and the serial that is the droplet id), the
// metadata service simulated on 127.0.0.1
// (test/helpers/digitalocean-simulator.ts): user-data and vendor-data
// applied, hostname, ssh key, cloud-id and v1 keys as cloud-init gives them,
// the droplet's interfaces rendered for networkd (public eth0, private eth1).
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DO_KEY, DO_PRIVATE_MAC, DO_PUBLIC_MAC, dropletMetadata, startDigitalOceanSimulator, type DigitalOceanSimulator } from '../helpers/digitalocean-simulator.ts';
import { cloudRoot } from '../helpers/cloud-root.ts';
import { read } from '../helpers/files.ts';
import { agentAsync, cannotRun, statusProblems } from '../helpers/agent.ts';
import { needCommands } from '../helpers/needs.ts';

const skip = cannotRun() ?? needCommands(['ssh-keygen', 'useradd'], 'openssh-client passwd') ?? false;

const DO_DMI = { sys_vendor: 'DigitalOcean', product_name: 'Droplet', product_serial: '22532410', bios_vendor: 'DigitalOcean' };
const USER_DATA = '#cloud-config\nwrite_files: [{path: /etc/from-do, content: "do user-data\\n"}]\nruncmd: ["echo ran > /runcmd-ran"]\n';

function doRoot(sim: DigitalOceanSimulator, opts: { dmi?: Record<string, string>; list?: string; extra?: string } = {}): string {
  return cloudRoot({
    dmi: opts.dmi ?? DO_DMI,
    config: `datasource_list: ${opts.list ?? '[DigitalOcean]'}\ndatasource:\n  DigitalOcean:\n    metadata_url: ${sim.metadataUrl}\n    retries: 3\n    wait_retry: 0.05\n${opts.extra ?? ''}`,
    nics: [['ens3', DO_PUBLIC_MAC], ['ens4', DO_PRIVATE_MAC]],
  });
}

const v1 = (root: string) => (JSON.parse(read(root, 'run/ec2-init/instance-data.json')) as { v1: Record<string, unknown> }).v1;

describe('boot on DigitalOcean (DMI under --root, metadata service simulated on 127.0.0.1)', { skip }, () => {

  test('user-data, vendor-data, hostname, key, cloud-id, v1 keys, public eth0 and private eth1', async () => {
    const sim = await startDigitalOceanSimulator({ userData: USER_DATA });
    try {
      const root = doRoot(sim);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(statusProblems(root), []);
      assert.equal(read(root, 'etc/from-do'), 'do user-data\n');
      assert.equal(read(root, 'runcmd-ran'), 'ran\n');
      assert.equal(read(root, 'etc/from-do-vendor'), 'vendor\n');
      assert.equal(read(root, 'etc/hostname'), 'web-droplet-1\n');
      assert.match(read(root, 'home/debian/.ssh/authorized_keys'), new RegExp(DO_KEY.split(' ')[1]!));
      assert.deepEqual(sim.requests.map((q) => q.path), ['/metadata/v1.json']);
      assert.equal(read(root, 'run/cloud-init/cloud-id'), 'digitalocean\n');
      const v = v1(root);
      assert.deepEqual([v['cloud_name'], v['platform'], v['region'], v['availability_zone'], v['instance_id'], v['local_hostname'], v['subplatform']],
        ['digitalocean', 'digitalocean', null, 'nyc3', '22532410', 'web-droplet-1', `metadata (${sim.metadataUrl})`]);
      // The droplet's auth_key stays in the owner-only cache, out of instance-data.
      assert.doesNotMatch(read(root, 'run/ec2-init/instance-data-sensitive.json'), /0123456789abcdef0123456789abcdef/);
      assert.equal(statSync(join(root, 'var/lib/cloud/data/digitalocean/metadata.json')).mode & 0o777, 0o600);
      const eth0 = read(root, 'etc/systemd/network/10-cloud-init-eth0.network');
      assert.match(eth0, /PermanentMACAddress=04:01:57:d1:9e:01/);
      assert.match(eth0, /Address=192\.0\.2\.20\/24/);
      assert.match(eth0, /Address=10\.17\.0\.5\/16/);
      assert.match(eth0, /Address=2604:A880:0800:0010:0000:0000:0123:4001\/64/i);
      assert.match(eth0, /Gateway=192\.0\.2\.1/);
      assert.doesNotMatch(eth0, /Gateway=10\.17\.0\.1/); // not the anchor's
      assert.match(eth0, /DNS=67\.207\.67\.2/);
      assert.match(read(root, 'etc/systemd/network/10-cloud-init-eth0.link'), /Name=eth0/);
      const eth1 = read(root, 'etc/systemd/network/10-cloud-init-eth1.network');
      assert.match(eth1, /Address=10\.132\.6\.205\/16/);
      assert.doesNotMatch(eth1, /Gateway=/);
    } finally { await sim.close(); }
  });

  test('no droplet_id in the metadata: DMI\'s serial is the instance-id; a request that gets no answer is retried after its timeout', async () => {
    const { droplet_id: _id, ...md } = dropletMetadata(null);
    let hung = false;
    const sim = await startDigitalOceanSimulator({ metadata: md, hang: () => (hung ? false : (hung = true)) });
    try {
      const root = doRoot(sim, { extra: '    timeout: 1\n' });
      const started = performance.now();
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sim.requests.length, 2);
      assert.ok(sim.requests[1]!.at - sim.requests[0]!.at >= 1000, 'the second attempt came after the first one\'s timeout');
      assert.ok(performance.now() - started < 20_000);
      assert.equal(read(root, 'var/lib/cloud/data/instance-id'), '22532410\n');
    } finally { await sim.close(); }
  });

  test('DMI of another cloud: the service is never asked, even as the only datasource', async () => {
    const sim = await startDigitalOceanSimulator({});
    try {
      for (const list of ['[DigitalOcean, NoCloud]', '[DigitalOcean]']) {
        const root = doRoot(sim, { dmi: { sys_vendor: 'Vultr', product_serial: '22532410' }, list });
        const r = await agentAsync(root, ['boot']);
        assert.equal(r.status, 2, r.stderr);
        assert.match(read(root, 'var/log/ec2-init.log'), /datasource DigitalOcean: DMI sys_vendor is not DigitalOcean/);
      }
      assert.equal(sim.requests.length, 0);
    } finally { await sim.close(); }
  });

  test('a 9 MiB user-data inside the one document is counted once against the 16 MiB budget: kept and applied', async () => {
    // (It was counted twice, as the document and as the user-data, and left out.)
    const userData = `#cloud-config\nwrite_files: [{path: /etc/big-user-data, content: kept}]\n# ${'x'.repeat(9 * 1024 * 1024)}\n`;
    const sim = await startDigitalOceanSimulator({ userData });
    try {
      const root = doRoot(sim);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(statusProblems(root), []);
      assert.equal(read(root, 'etc/big-user-data'), 'kept');
    } finally { await sim.close(); }
  });
});
