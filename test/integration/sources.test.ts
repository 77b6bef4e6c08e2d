// Datasources through the executable: NoCloud (kernel command line, seedfrom,
// seed dirs), ConfigDrive (seed dir), instance data and `query`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createServer } from 'node:http';
import { read, writeIn } from '../helpers/files.ts';
import { agent, agentAsync, cannotRun, newRoot, seed } from '../helpers/agent.ts';
import { needCommands } from '../helpers/needs.ts';

describe('datasources (the executable)', { skip: cannotRun() ?? false }, () => {

  test('NoCloud from the kernel command line (file:// seed), with an h= override', () => {
    const root = newRoot();
    writeIn(root, 'proc/cmdline', 'console=ttyS0 ds=nocloud;s=file:///srv/seed/;h=from-cmdline\n');
    writeIn(root, 'srv/seed/meta-data', 'instance-id: iid-cmdline\n');
    writeIn(root, 'srv/seed/user-data', '#!/bin/sh\necho cmdline > /ran\n');
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'ran'), 'cmdline\n');
    assert.equal(agent(root, ['query', 'v1.local_hostname']).stdout, 'from-cmdline\n');
    assert.equal(agent(root, ['query', 'v1.instance_id']).stdout, 'iid-cmdline\n');
  });

  test('NoCloud from the kernel command line over http (ds=nocloud;s=http://…/)', async () => {
    const served: string[] = [];
    const server = createServer((req, res) => {
      served.push(req.url!);
      if (req.url === '/seed/meta-data') res.end('instance-id: iid-http\n');
      else if (req.url === '/seed/user-data') res.end('#!/bin/sh\necho http > /ran\n');
      else { res.statusCode = 404; res.end(); }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const root = newRoot();
      writeIn(root, 'proc/cmdline', `ds=nocloud;s=http://127.0.0.1:${(server.address() as { port: number }).port}/seed/\n`);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(read(root, 'ran'), 'http\n');
      assert.deepEqual(served.slice(0, 2), ['/seed/meta-data', '/seed/user-data']);
    } finally { server.close(); }
  });

  test('NoCloud seedfrom in meta-data points at the rest of the seed', () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-seed\nseedfrom: file:///srv/more/\n', null);
    writeIn(root, 'srv/more/user-data', '#!/bin/sh\necho seedfrom > /ran\n');
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'ran'), 'seedfrom\n');
  });

  test('ConfigDrive from a seed directory: uuid, hostname, keys, user_data, newest version', () => {
    const root = newRoot();
    writeIn(root, 'etc/cloud/cloud.cfg', 'datasource_list: [ConfigDrive]\n');
    const base = 'var/lib/cloud/seed/config_drive/openstack';
    writeIn(root, `${base}/2012-08-10/meta_data.json`, JSON.stringify({ uuid: 'old' }));
    writeIn(root, `${base}/2015-10-15/meta_data.json`, JSON.stringify({
      uuid: '83679162-1378-4288-a2d4-70e13ec132aa', hostname: 'cd-host', public_keys: { mykey: 'ssh-ed25519 AAAA test@x' }, admin_pass: 's3cret',
    }));
    writeIn(root, `${base}/2015-10-15/user_data`, '#cloud-config\nruncmd: ["echo cd > /ran"]\n');
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(read(root, 'ran'), 'cd\n');
    assert.equal(read(root, 'var/lib/cloud/data/instance-id'), '83679162-1378-4288-a2d4-70e13ec132aa\n');
    assert.equal(agent(root, ['query', 'v1.local_hostname']).stdout, 'cd-host\n');
    assert.equal(agent(root, ['query', 'v1.cloud_name']).stdout, 'openstack\n');
    assert.match(agent(root, ['query', 'v1.public_ssh_keys']).stdout, /ssh-ed25519 AAAA test@x/);
    assert.equal(statSync(join(root, 'var/lib/cloud/data/configdrive/meta_data.json')).mode & 0o777, 0o600);
  });

  test('ConfigDrive vendor_data.json is read as the metadata service reads it: its "cloud-init" key', () => {
    const root = newRoot();
    writeIn(root, 'etc/cloud/cloud.cfg', 'datasource_list: [ConfigDrive]\n');
    const base = 'var/lib/cloud/seed/config_drive/openstack/latest';
    writeIn(root, `${base}/meta_data.json`, JSON.stringify({ uuid: 'cd-vendor' }));
    writeIn(root, `${base}/vendor_data.json`, JSON.stringify({ 'cloud-init': '#cloud-config\nruncmd: ["echo vendor > /vendor-ran"]\n', other: 1 }));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(read(root, 'vendor-ran'), 'vendor\n');
  });

  test('NoCloud from a cidata ISO volume, found by label and read without mounting', (t) => {
    const missing = needCommands(['genisoimage'], 'genisoimage');
    if (missing) return t.skip(missing);
    const root = newRoot();
    writeIn(root, 'build/meta-data', 'instance-id: iid-iso\nlocal-hostname: iso-host\n');
    writeIn(root, 'build/user-data', '#cloud-config\nruncmd: ["echo iso > /ran"]\n');
    mkdirSync(join(root, 'images'));
    const iso = spawnSync('genisoimage', ['-quiet', '-o', join(root, 'images/seed.iso'), '-V', 'cidata', '-J', '-r', join(root, 'build')], { encoding: 'utf8' });
    assert.equal(iso.status, 0, iso.stderr);
    // As udev would: a by-label link inside the root (resolved against the root).
    mkdirSync(join(root, 'dev/disk/by-label'), { recursive: true });
    symlinkSync('/images/seed.iso', join(root, 'dev/disk/by-label/cidata'));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(read(root, 'ran'), 'iso\n');
    assert.equal(agent(root, ['query', 'v1.local_hostname']).stdout, 'iso-host\n');
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(root), false, 'nothing left mounted');
  });

  test('ConfigDrive from a config-2 vfat volume, found by scanning block devices', (t) => {
    const missing = needCommands(['mkfs.vfat', 'mcopy', 'mmd'], 'dosfstools mtools');
    if (missing) return t.skip(missing);
    const root = newRoot();
    const img = join(root, 'dev/vdb');
    mkdirSync(join(root, 'dev'), { recursive: true });
    assert.equal(spawnSync('mkfs.vfat', ['-n', 'config-2', '-C', img, '4096']).status, 0);
    const put = (name: string, content: string) => {
      writeIn(root, `build/${name}`, content);
      const r = spawnSync('mcopy', ['-i', img, join(root, `build/${name}`), `::/openstack/latest/${name}`], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    for (const dir of ['::/openstack', '::/openstack/latest']) assert.equal(spawnSync('mmd', ['-i', img, dir]).status, 0);
    put('meta_data.json', JSON.stringify({ uuid: 'vfat-uuid-1', hostname: 'vfat-host' }));
    put('user_data', '#!/bin/sh\necho vfat > /ran\n');
    writeIn(root, 'sys/class/block/vdb/size', '8192\n');
    writeIn(root, 'etc/cloud/cloud.cfg', 'datasource_list: [ConfigDrive]\n');
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(read(root, 'ran'), 'vfat\n');
    assert.equal(read(root, 'var/lib/cloud/data/instance-id'), 'vfat-uuid-1\n');
    // cloud-init's subplatform: the volume's device (the next boot's device wait looks for that drive).
    assert.equal(agent(root, ['query', 'v1.subplatform']).stdout, 'config-disk (/dev/vdb)\n');
  });

  test('instance data: the world-readable file has secrets redacted; the sensitive one is 0600', () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-data\nlocal-hostname: h1\nadmin-password: hunter2\n', '#!/bin/sh\n# secret-token-in-user-data\n');
    assert.equal(agent(root, ['boot']).status, 0);
    const pub = read(root, 'run/ec2-init/instance-data.json');
    const sensitive = read(root, 'run/ec2-init/instance-data-sensitive.json');
    assert.equal(statSync(join(root, 'run/ec2-init/instance-data.json')).mode & 0o777, 0o644);
    assert.equal(statSync(join(root, 'run/ec2-init/instance-data-sensitive.json')).mode & 0o777, 0o600);
    assert.ok(!pub.includes('hunter2') && !pub.includes(Buffer.from('#!/bin/sh\n# secret').toString('base64').slice(0, 12)));
    assert.match(pub, /"admin-password": "redacted for non-root user"/);
    assert.match(sensitive, /hunter2/);
    assert.equal(agent(root, ['query', 'ds.meta_data.local-hostname']).stdout, 'h1\n');
    const all = JSON.parse(agent(root, ['query', '--all']).stdout) as { v1: { datasource: string } };
    assert.equal(all.v1.datasource, 'NoCloud');
    const missing = agent(root, ['query', 'v1.nope']);
    assert.equal(missing.status, 1);
    // cloud-init query's own words for a missing leaf.
    assert.match(missing.stderr, /instance-data 'v1' has no 'nope'/);
  });

  // How fast an absent source is ruled out is measured in bench/, not asserted here.
  test('absent sources are each ruled out, and a not-EC2 platform never asks the metadata service', () => {
    const root = newRoot();
    writeIn(root, 'etc/cloud/cloud.cfg', 'datasource_list: [NoCloud, ConfigDrive, Ec2]\n');
    const r = agent(root, ['init']);
    assert.match(r.stderr, /not an EC2 platform/);
    assert.match(r.stderr, /no datasource found/);
    // Looked for and not found, or not asked at all because local facts rule the platform out.
    const ruledOut = [...r.stderr.matchAll(/datasource (\w+): (?:not found \([\d.]+ ms\)|.*; metadata service not asked)/g)].map((m) => m[1]);
    assert.deepEqual(ruledOut, ['NoCloud', 'ConfigDrive', 'Ec2']);
    assert.doesNotMatch(r.stderr, /ec2: /, 'no metadata request was attempted');
  });
});
