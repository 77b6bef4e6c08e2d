// Integration: the built executable boots from Exoscale's metadata service
// and password server — the simulator on 127.0.0.1 — with the platform told
// by DMI (product_name Exoscale…). The password flow: set for the default
// user, acknowledged once, asked again on every boot (a console reset takes
// effect at the next reboot), never in the logs or a world-readable file.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { agentAsync, cannotRun, statusProblems } from '../helpers/agent.ts';
import type { VirtualRouter } from '../helpers/cloudstack-simulator.ts';
import { cloudRoot, hashOf, shadowOf } from '../helpers/cloud-root.ts';
import { exoscaleConfig, startExoscaleSimulator, EXOSCALE_META_DATA } from '../helpers/exoscale-simulator.ts';
import { read } from '../helpers/files.ts';
import { needCommands } from '../helpers/needs.ts';

const skip = cannotRun() ?? needCommands(['ssh-keygen', 'useradd', 'chpasswd', 'perl'], 'openssh-client passwd perl-base') ?? false;

const PASSWORD = 'Tr0ub4dor&3-exo';

function exoscaleRoot(sim: VirtualRouter, product = 'Exoscale Compute Platform', extra = ''): string {
  return cloudRoot({ dmi: { product_name: product, sys_vendor: 'Exoscale' }, nics: [['eth0', '06:6a:2c:00:00:01']], config: extra + exoscaleConfig(sim) });
}

const query = async (root: string, key: string) => (await agentAsync(root, ['query', key])).stdout.trim();

/** Every file under `dir` whose content holds `needle`, with its mode. */
function filesHolding(dir: string, needle: string): { path: string; mode: number }[] {
  const out: { path: string; mode: number }[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && readFileSync(p).includes(needle)) out.push({ path: p.slice(dir.length), mode: statSync(p).mode & 0o777 });
    }
  };
  walk(dir);
  return out;
}

describe('boot from Exoscale (simulator on 127.0.0.1)', { skip }, () => {
  test('user-data, hostname, key, instance-data; the password set for debian, acknowledged once, kept secret', async () => {
    const sim = await startExoscaleSimulator({ userData: '#cloud-config\nruncmd: [[sh, -c, "echo from-exoscale > /ran"]]\n', password: PASSWORD });
    try {
      const root = exoscaleRoot(sim);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(statusProblems(root), []);
      assert.equal(read(root, 'ran'), 'from-exoscale\n');
      assert.equal(read(root, 'etc/hostname'), 'exo-web-1\n');
      assert.match(read(root, 'home/debian/.ssh/authorized_keys'), /exoscale@test/);
      assert.equal(read(root, 'var/lib/cloud/data/instance-id'), `${EXOSCALE_META_DATA['instance-id'] as string}\n`);
      assert.equal(read(root, 'run/cloud-init/cloud-id'), 'exoscale\n');
      assert.equal(await query(root, 'v1.cloud_name'), 'exoscale');
      assert.equal(await query(root, 'v1.platform'), 'exoscale');
      assert.equal(await query(root, 'v1.availability_zone'), 'ch-gva-2');
      assert.equal(await query(root, 'ds.meta_data.service-offering'), 'Small');
      // The metadata: waited for by instance-id, then user-data and the tree.
      const paths = sim.requests.map((q) => q.path);
      assert.deepEqual(paths.slice(0, 3), ['/1.0/meta-data/instance-id', '/1.0/user-data', '/1.0/meta-data/']);
      // The password: asked, then acknowledged, once.
      assert.deepEqual(sim.passwordRequests.map((q) => `${q.path} ${String(q.headers['domu_request'])}`), ['/1.0/ send_my_password', '/1.0/ saved_password']);
      const shadow = shadowOf(root, read, 'debian')!;
      assert.ok(hashOf(shadow[1]!, PASSWORD), `debian's password is the one the server gave (${shadow[1]!.slice(0, 4)}…)`);
      assert.notEqual(shadow[2], '0'); // chpasswd: {expire: false}: not expired
      assert.match(read(root, 'etc/ssh/sshd_config.d/50-cloud-init.conf'), /PasswordAuthentication yes/);
      // Only owner-only files may hold it; never a log, never instance-data.
      const holding = filesHolding(root, PASSWORD);
      assert.ok(holding.length > 0);
      for (const f of holding) assert.equal(f.mode & 0o077, 0, `${f.path} holds the password and is mode ${f.mode.toString(8)}`);
      for (const f of holding) assert.ok(!/\.log$|instance-data/.test(f.path), `${f.path} holds the password`);
    } finally { await sim.close(); }
  });

  test('reboots: asked again (saved_password: nothing set, no second acknowledgement); a console reset applies at the next reboot', async () => {
    const sim = await startExoscaleSimulator({ password: PASSWORD });
    try {
      const root = exoscaleRoot(sim);
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      const first = shadowOf(root, read, 'debian')![1]!;
      assert.equal(sim.acks(), 1);

      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      assert.equal(sim.acks(), 1);
      assert.deepEqual(sim.passwordRequests.slice(2).map((q) => q.headers['domu_request']), ['send_my_password']);
      assert.equal(shadowOf(root, read, 'debian')![1], first);
      assert.match(read(root, 'var/log/ec2-init.log'), /datasource Exoscale: module set_passwords runs again this boot/);

      sim.resetPassword('n3w-Console-pw');
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      assert.equal(sim.acks(), 2);
      assert.ok(hashOf(shadowOf(root, read, 'debian')![1]!, 'n3w-Console-pw'));
      assert.equal(filesHolding(join(root, 'var/log'), 'n3w-Console-pw').length, 0);
    } finally { await sim.close(); }
  });

  test('plan reads the password without acknowledging it; a dead password server costs the password only', async () => {
    const sim = await startExoscaleSimulator({ password: PASSWORD });
    try {
      const root = exoscaleRoot(sim);
      const plan = await agentAsync(root, ['plan']);
      assert.equal(plan.status, 0, plan.stderr);
      assert.ok(!plan.stdout.includes(PASSWORD));
      assert.deepEqual(sim.passwordRequests.map((q) => q.headers['domu_request']), ['send_my_password']);
      assert.equal(sim.acks(), 0);

      const dead = cloudRoot({ dmi: { product_name: 'Exoscale Compute Platform' }, config: exoscaleConfig(sim).replace(/password_server_port: \d+/, 'password_server_port: 1') });
      assert.equal((await agentAsync(dead, ['boot'])).status, 0);
      assert.match(read(dead, 'var/log/ec2-init.log'), /datasource Exoscale: no password from http:\/\/127\.0\.0\.1:1\/1\.0\/: connection refused/);
      assert.equal(shadowOf(dead, read, 'debian')![1], '!'); // locked, as lock_passwd makes it
    } finally { await sim.close(); }
  });

  test('another cloud by DMI: no request', async () => {
    const sim = await startExoscaleSimulator({ password: PASSWORD });
    try {
      // Another cloud's DMI; only sources of this branch listed (that cloud's own source would ask its real metadata address).
      const root = exoscaleRoot(sim, 'OpenStack Nova', 'datasource_list: [Exoscale, UpCloud]\n');
      assert.equal((await agentAsync(root, ['boot'])).status, 2);
      assert.equal(sim.requests.length + sim.passwordRequests.length, 0);
    } finally { await sim.close(); }
  });
});
