// LXD / Incus: the devlxd API over a unix socket in the root. A real Node
// HTTP server listens on <root>/dev/lxd/sock (as lxd puts one into every
// instance) and the built executable boots from it; the host layer's part —
// reaching a socket of the root, never one a planted link points at outside
// it — is checked through Files and the HTTP client directly.
import assert from 'node:assert/strict';
import { lchownSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Files } from '../../src/host/files.ts';
import { request } from '../../src/net/http.ts';
import { agentAsync, cannotRun, newRoot } from '../helpers/agent.ts';
import { startDevLxd } from '../helpers/devlxd-simulator.ts';
import { plantNic, read, tempDir, writeIn } from '../helpers/files.ts';
import { needRoot } from '../helpers/needs.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILxdLxdLxdLxdLxdLxdLxdLxdLxdLxdLxdLxdLxdLxdL lxd@test';
const NETWORK = 'version: 2\nethernets:\n  eth0:\n    match: {macaddress: "00:16:3e:aa:bb:01"}\n    addresses: [198.51.100.7/24]\n    routes: [{to: default, via: 198.51.100.1}]\n';

function lxdRoot(): string {
  const root = newRoot();
  writeIn(root, 'etc/cloud/cloud.cfg', 'datasource_list: [NoCloud, LXD]\nsystem_info:\n  network:\n    renderers: [networkd]\n');
  plantNic(root, 'eth0', '00:16:3e:aa:bb:01');
  return root;
}

describe('LXD datasource: boot from devlxd on /dev/lxd/sock (built executable)', { skip: cannotRun() ?? false }, () => {
  test('container: meta-data, cloud-init.* over user.* config, user.meta-data keys, vendor-data, network-config; effects and instance data', async () => {
    const root = lxdRoot();
    const lxd = await startDevLxd(join(root, 'dev/lxd/sock'), {
      metaData: '#cloud-config\ninstance-id: c1-uuid-0001\nlocal-hostname: c1\n',
      config: {
        'cloud-init.user-data': '#cloud-config\nruncmd: ["echo from-cloud-init-key > /ran"]\n',
        'user.user-data': '#cloud-config\nruncmd: ["echo from-user-key > /ran"]\n',
        'cloud-init.vendor-data': '#cloud-config\nwrite_files: [{path: /etc/vendor-was-here, content: "vendor\\n"}]\n',
        'cloud-init.network-config': NETWORK,
        'user.meta-data': `public-keys: ["${KEY}"]\n`,
        'user.favorite-color': 'blue',
      },
      devices: { eth0: { type: 'nic', name: 'eth0', network: 'lxdbr0' } },
    });
    try {
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(read(root, 'ran'), 'from-cloud-init-key\n');
      assert.equal(read(root, 'etc/vendor-was-here'), 'vendor\n');
      assert.equal(read(root, 'etc/hostname'), 'c1\n');
      assert.match(read(root, 'root/.ssh/authorized_keys'), /lxd@test/);
      assert.match(read(root, 'etc/systemd/network/10-cloud-init-eth0.network'), /Address=198\.51\.100\.7\/24/);
      assert.match(read(root, 'var/log/ec2-init.log'), /config user\.user-data ignored in favor of cloud-init\.user-data/);
      const q = async (key: string) => (await agentAsync(root, ['query', key])).stdout.trim();
      assert.equal(await q('v1.cloud_name'), 'lxd');
      assert.equal(await q('v1.platform'), 'lxd');
      assert.equal(await q('v1.subplatform'), 'LXD socket API v. 1.0 (/dev/lxd/sock)');
      assert.equal(await q('v1.instance_id'), 'c1-uuid-0001');
      assert.equal(await q('v1.datasource'), 'LXD');
      assert.equal(read(root, 'run/cloud-init/cloud-id'), 'lxd\n');
      assert.deepEqual(readFileSync(join(root, 'var/lib/cloud/data/user-data.raw'), 'utf8'), '#cloud-config\nruncmd: ["echo from-cloud-init-key > /ran"]\n');
      assert.equal(statSync(join(root, 'var/lib/cloud/data/lxd/meta-data')).mode & 0o777, 0o600);
      // What was asked, in cloud-init's order: meta-data, the config listing and each key (sorted), devices.
      assert.deepEqual(lxd.requests.slice(0, 3), ['GET /1.0/meta-data', 'GET /1.0/config', 'GET /1.0/config/cloud-init.network-config']);
      assert.ok(lxd.requests.includes('GET /1.0/config/user.favorite-color'));
      assert.ok(lxd.requests.includes('GET /1.0/devices'));
      // A reboot: the same instance, nothing run again.
      const second = await agentAsync(root, ['boot']);
      assert.equal(second.status, 0, second.stderr);
      assert.match(read(root, 'var/log/ec2-init.log'), /instance c1-uuid-0001: same instance as last boot/);
      assert.equal(read(root, 'ran'), 'from-cloud-init-key\n');
    } finally { await lxd.close(); }
  });

  test('older LXD: user.* keys alone; a 500 is retried; hostile config routes are skipped', async () => {
    const root = lxdRoot();
    const lxd = await startDevLxd(join(root, 'dev/lxd/sock'), {
      metaData: 'instance-id: c2\nlocal-hostname: c2\n',
      config: { 'user.user-data': '#!/bin/sh\necho user-key > /ran\n' },
      fail: { route: '/1.0/meta-data', status: 500, times: 3 },
      extraRoutes: ['/1.0/config/x\r\nX-Evil: 1', '/etc/shadow', '/1.0/config/../../secret'],
    });
    try {
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(read(root, 'ran'), 'user-key\n');
      assert.equal(lxd.requests.filter((q) => q === 'GET /1.0/meta-data').length, 4);
      assert.ok(!lxd.requests.some((q) => /Evil|shadow|secret/.test(q)), lxd.requests.join('\n'));
      assert.match(read(root, 'var/log/ec2-init.log'), /route "\/etc\/shadow" ignored/);
    } finally { await lxd.close(); }
  });

  test('Incus: /dev/lxd a link to /dev/incus (resolved inside the root); the default datasource_list', async () => {
    const root = lxdRoot();
    // The default datasource_list (no cloud.cfg of the image's).
    rmSync(join(root, 'etc/cloud/cloud.cfg'));
    mkdirSync(join(root, 'dev'), { recursive: true });
    symlinkSync('incus', join(root, 'dev/lxd'));
    const incus = await startDevLxd(join(root, 'dev/incus/sock'), { metaData: 'instance-id: i3\nlocal-hostname: incus3\n' });
    try {
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(read(root, 'etc/hostname'), 'incus3\n');
      assert.equal((await agentAsync(root, ['query', 'v1.subplatform'])).stdout, 'LXD socket API v. 1.0 (/dev/lxd/sock)\n');
    } finally { await incus.close(); }
  });

  test('an LXD VM whose agent makes the socket late is waited for (DMI board_name LXD)', async () => {
    const root = lxdRoot();
    writeIn(root, 'sys/class/dmi/id/board_name', 'LXD\n');
    let lxd: Awaited<ReturnType<typeof startDevLxd>> | null = null;
    const late = setTimeout(() => { void startDevLxd(join(root, 'dev/lxd/sock'), { metaData: 'instance-id: vm4\nlocal-hostname: vm4\n' }).then((s) => { lxd = s; }); }, 2500);
    try {
      const r = await agentAsync(root, ['init', '--local']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /waiting for lxd-agent/);
      assert.equal(read(root, 'var/lib/cloud/data/instance-id'), 'vm4\n');
    } finally { clearTimeout(late); await (lxd as { close(): Promise<void> } | null)?.close(); }
  });

  test('no socket, not an LXD VM: not found at once; a meta-data error names the socket and route', async () => {
    const root = lxdRoot();
    const r = await agentAsync(root, ['init', '--local']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /datasource LXD: no \/dev\/lxd\/sock, and neither DMI nor a virtio port says LXD; not asked/);
    const lxd = await startDevLxd(join(root, 'dev/lxd/sock'), { metaData: 'x', fail: { route: '/1.0/meta-data', status: 403, times: 99 } });
    try {
      const bad = await agentAsync(root, ['init', '--local']);
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /datasource LXD: \/dev\/lxd\/sock \/1\.0\/meta-data: HTTP 403/);
    } finally { await lxd.close(); }
  });
});

describe('a socket of the root (Files.openSocket + the HTTP client over a unix socket)', { skip: needRoot('links owned by root and by others') ?? false }, () => {
  test('served through the root\'s own node; a link out of the root is resolved inside it; a link of another user is refused', async () => {
    const root = tempDir('ec2-init-sock-');
    const outside = tempDir('ec2-init-outside-');
    const hits: string[] = [];
    const outsideServer = createServer((c) => { hits.push('outside'); c.end('HTTP/1.0 200 OK\r\n\r\nleaked'); });
    await new Promise<void>((ok) => outsideServer.listen(join(outside, 'host.sock'), ok));
    const lxd = await startDevLxd(join(root, 'dev/lxd/sock'), { metaData: 'instance-id: x\n' });
    try {
      const files = new Files(root);
      const s = files.openSocket('/dev/lxd/sock');
      assert.ok(s);
      assert.match(s.address, /^\/proc\/self\/fd\/\d+$/);
      try {
        const r = await request('http://lxd/1.0/meta-data', { unixSocket: s.address, timeoutMs: 5000 });
        assert.equal(r.status, 200);
        assert.equal(Buffer.from(r.body).toString(), 'instance-id: x\n');
      } finally { s.close(); }
      // Absolute and relative links aimed at this machine's socket land inside the root: nothing there.
      mkdirSync(join(root, 'dev/abs'));
      symlinkSync(join(outside, 'host.sock'), join(root, 'dev/abs/sock'));
      assert.equal(files.openSocket('/dev/abs/sock'), null);
      mkdirSync(join(root, 'dev/rel'));
      symlinkSync(`../../${'../'.repeat(12)}${outside.slice(1)}/host.sock`, join(root, 'dev/rel/sock'));
      assert.equal(files.openSocket('/dev/rel/sock'), null);
      // A link owned by a user is not followed at all, a regular file is not a socket.
      mkdirSync(join(root, 'dev/user'));
      symlinkSync('/dev/lxd/sock', join(root, 'dev/user/sock'));
      lchownSync(join(root, 'dev/user/sock'), 1000, 1000);
      assert.throws(() => files.openSocket('/dev/user/sock'), /owned by uid 1000/);
      writeIn(root, 'dev/file/sock', 'not a socket');
      assert.throws(() => files.openSocket('/dev/file/sock'), /is not a socket \(file\)/);
      assert.deepEqual(hits, []);
    } finally {
      await lxd.close();
      await new Promise<void>((ok) => outsideServer.close(() => ok()));
    }
  });
});
