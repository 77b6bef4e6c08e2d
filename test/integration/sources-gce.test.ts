// Integration: the built executable boots on "GCE" — DMI of a Compute
// Engine VM under --root, the metadata server simulated on 127.0.0.1
// (test/helpers/gce-simulator.ts, which refuses requests without
// `Metadata-Flavor: Google`), user-data applied, hostname, the default
// user's ssh keys filtered as cloud-init filters them, cloud-id and the v1
// keys as cloud-init gives them, the fallback network config rendered.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GCE_PROJECT_KEY, GCE_SSH_KEY, startGceSimulator, type GceSimulator } from '../helpers/gce-simulator.ts';
import { cloudRoot } from '../helpers/cloud-root.ts';
import { read } from '../helpers/files.ts';
import { agentAsync, cannotRun, statusProblems } from '../helpers/agent.ts';
import { needCommands } from '../helpers/needs.ts';

const skip = cannotRun() ?? needCommands(['ssh-keygen', 'useradd'], 'openssh-client passwd') ?? false;

const GCE_DMI = { sys_vendor: 'Google', product_name: 'Google Compute Engine', product_serial: 'GoogleCloud-0F3A2B1C4D5E6F708192A3B4C5D6E7F8', bios_vendor: 'Google' };
const ALICE_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAliceAliceAliceAliceAliceAliceAliceAliceAliceAl alice@laptop';
const USER_DATA = '#cloud-config\nwrite_files: [{path: /etc/from-gce, content: "gce user-data\\n"}]\nruncmd: ["echo ran > /runcmd-ran"]\n';

function gceRoot(sim: GceSimulator, opts: { dmi?: Record<string, string>; list?: string } = {}): string {
  return cloudRoot({
    dmi: opts.dmi ?? GCE_DMI,
    config: `datasource_list: ${opts.list ?? '[GCE]'}\ndatasource:\n  GCE:\n    metadata_url: ${sim.base}\n    retries: 3\n    sec_between_retries: 0.05\n    timeout: 2\n`,
    nics: [['ens4', '42:01:0a:80:00:02']],
  });
}

const query = async (root: string, key: string) => (await agentAsync(root, ['query', key])).stdout;

describe('boot on GCE (DMI under --root, metadata server simulated on 127.0.0.1)', { skip }, () => {

  test('user-data (base64), hostname, the default user\'s keys, cloud-id, v1 keys, fallback network', async () => {
    const sim = await startGceSimulator({
      instanceAttributes: {
        'user-data': Buffer.from(USER_DATA).toString('base64'),
        'user-data-encoding': 'base64',
        'ssh-keys': `debian:${GCE_SSH_KEY}\nalice:${ALICE_KEY}\n`,
      },
      projectAttributes: { 'ssh-keys': `debian:${GCE_PROJECT_KEY}` },
    });
    try {
      // The simulator is the server's rules: no header, no answer.
      assert.equal((await fetch(`${sim.base}instance/id`)).status, 403);
      const before = sim.requests.length;
      const root = gceRoot(sim);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(statusProblems(root), []);
      assert.equal(read(root, 'etc/from-gce'), 'gce user-data\n');
      assert.equal(read(root, 'runcmd-ran'), 'ran\n');
      assert.equal(read(root, 'etc/hostname'), 'vm-1\n');
      const keys = read(root, 'home/debian/.ssh/authorized_keys');
      assert.match(keys, new RegExp(GCE_SSH_KEY.split(' ')[1]!));
      assert.match(keys, new RegExp(GCE_PROJECT_KEY.split(' ')[1]!));
      assert.doesNotMatch(keys, /alice@laptop/);
      const asked = sim.requests.slice(before);
      assert.deepEqual(asked.map((q) => q.path), [
        '/computeMetadata/v1/instance/id', '/computeMetadata/v1/instance/zone', '/computeMetadata/v1/instance/hostname',
        '/computeMetadata/v1/instance/attributes/?recursive=True', '/computeMetadata/v1/project/attributes/?recursive=True',
      ]);
      for (const q of asked) assert.equal(q.headers['metadata-flavor'], 'Google');
      assert.equal(read(root, 'run/cloud-init/cloud-id'), 'gce\n');
      assert.equal(await query(root, 'v1.cloud_id'), 'gce\n');
      assert.equal(await query(root, 'v1.cloud_name'), 'gce\n');
      assert.equal(await query(root, 'v1.platform'), 'gce\n');
      assert.equal(await query(root, 'v1.region'), 'us-central1\n');
      assert.equal(await query(root, 'v1.availability_zone'), 'us-central1-a\n');
      assert.equal(await query(root, 'v1.instance_id'), '4567890123456789012\n');
      assert.equal(await query(root, 'v1.local_hostname'), 'vm-1\n');
      assert.equal(await query(root, 'v1.subplatform'), `metadata (${sim.base})\n`);
      assert.equal(await query(root, 'ds.meta_data.project-data.ssh-keys'), `debian:${GCE_PROJECT_KEY}\n`);
      // The instance data others can read has the user-data redacted; the cache is owner-only.
      const world = JSON.parse(read(root, 'run/ec2-init/instance-data.json')) as { ds: { meta_data: { 'instance-data': Record<string, string> } } };
      assert.equal(world.ds.meta_data['instance-data']['user-data'], 'redacted for non-root user');
      assert.equal(statSync(join(root, 'var/lib/cloud/data/gce/meta-data.json')).mode & 0o777, 0o600);
      assert.ok(!read(root, 'var/log/ec2-init.log').includes('gce user-data'));
      // GCE gives no network config: DHCP on the NIC (cloud-init's fallback).
      assert.match(read(root, 'etc/systemd/network/10-cloud-init-ens4.network'), /DHCP=(yes|ipv4)/);
    } finally { await sim.close(); }
  });

  test('block-project-ssh-keys: only the instance\'s keys; plain-text user-data', async () => {
    const sim = await startGceSimulator({
      instanceAttributes: { 'user-data': '#!/bin/sh\necho plain > /plain-ran\n', 'ssh-keys': `debian:${GCE_SSH_KEY}`, 'block-project-ssh-keys': 'true' },
      projectAttributes: { 'ssh-keys': `debian:${GCE_PROJECT_KEY}` },
    });
    try {
      const root = gceRoot(sim);
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      assert.equal(read(root, 'plain-ran'), 'plain\n');
      const keys = read(root, 'home/debian/.ssh/authorized_keys');
      assert.match(keys, /gce-user@workstation/);
      assert.doesNotMatch(keys, /project@workstation/);
    } finally { await sim.close(); }
  });

  test('503s first: retried (sec_between_retries apart) and then read', async () => {
    const sim = await startGceSimulator({ failFirst: 2, instanceAttributes: { 'user-data': '#cloud-config\nruncmd: ["touch /ok"]\n' } });
    try {
      const root = gceRoot(sim);
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      assert.deepEqual(sim.requests.slice(0, 3).map((q) => [q.path, q.status]), [
        ['/computeMetadata/v1/instance/id', 503], ['/computeMetadata/v1/instance/id', 503], ['/computeMetadata/v1/instance/id', 200],
      ]);
      assert.equal(read(root, 'var/lib/cloud/data/instance-id'), '4567890123456789012\n');
    } finally { await sim.close(); }
  });

  test('an answer without Metadata-Flavor is taken (cloud-init does not check it) but said', async () => {
    const sim = await startGceSimulator({ flavor: false });
    try {
      const root = gceRoot(sim);
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      assert.match(read(root, 'var/log/ec2-init.log'), /answered without 'Metadata-Flavor: Google'/);
      assert.equal(read(root, 'var/lib/cloud/data/instance-id'), '4567890123456789012\n');
    } finally { await sim.close(); }
  });

  test('DMI of another cloud: the metadata server is never asked, even as the only datasource', async () => {
    const sim = await startGceSimulator({});
    try {
      for (const list of ['[GCE, NoCloud]', '[GCE]']) {
        const root = gceRoot(sim, { dmi: { sys_vendor: 'Hetzner', product_name: 'vServer', product_serial: '123456' }, list });
        const r = await agentAsync(root, ['boot']);
        assert.equal(r.status, 2, r.stderr); // degraded: no datasource
        assert.match(read(root, 'var/log/ec2-init.log'), /datasource GCE: DMI does not say Google/);
      }
      assert.equal(sim.requests.length, 0);
    } finally { await sim.close(); }
  });
});
