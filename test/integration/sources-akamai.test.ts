// Integration: the built executable boots from Akamai's (Linode's) Metadata
// service — the simulator on 127.0.0.1 and ::1, enforcing its token — with
// the platform told by DMI (sys_vendor Linode, the system serial the
// Linode's id).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agentAsync, cannotRun, statusProblems } from '../helpers/agent.ts';
import { AKAMAI_INSTANCE, startAkamaiSimulator, type AkamaiSimulator } from '../helpers/akamai-simulator.ts';
import { cloudRoot } from '../helpers/cloud-root.ts';
import { read } from '../helpers/files.ts';
import { needCommands } from '../helpers/needs.ts';

const skip = cannotRun() ?? needCommands(['ssh-keygen', 'useradd'], 'openssh-client passwd') ?? false;

function akamaiRoot(sim: AkamaiSimulator, o: { vendor?: string; extra?: string; url6?: string; boardSerial?: string } = {}): string {
  return cloudRoot({
    dmi: { sys_vendor: o.vendor ?? 'Linode', product_serial: String(AKAMAI_INSTANCE.id), ...(o.boardSerial !== undefined && { board_serial: o.boardSerial }) },
    nics: [['eth0', 'f2:3c:94:11:22:33']],
    config: `datasource:\n  Akamai:\n    base_urls: {ipv4: '${sim.url}', ipv6: '${o.url6 ?? sim.url6}'}\n${o.extra ?? ''}`,
  });
}

const query = async (root: string, key: string) => (await agentAsync(root, ['query', key])).stdout.trim();
const USER_DATA = '#cloud-config\nhostname: li-web\nruncmd: [[sh, -c, "echo from-akamai > /ran"]]\n';

describe('boot from Akamai (simulator on 127.0.0.1 and ::1)', { skip }, () => {
  test('IPv6 first: token, instance, base64 user-data, keys; hostname, instance-data, cloud-id', async () => {
    const sim = await startAkamaiSimulator({ userData: USER_DATA });
    try {
      const root = akamaiRoot(sim);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(statusProblems(root), []);
      assert.equal(read(root, 'ran'), 'from-akamai\n');
      assert.equal(read(root, 'etc/hostname'), 'li-web\n');
      assert.match(read(root, 'home/debian/.ssh/authorized_keys'), /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK8Zs4r5W6x1p2Q9mN3b4V5c6D7e8F9g0H1i2J3k4L5m akamai@test$/m);
      assert.equal(read(root, 'var/lib/cloud/data/instance-id'), '51515151\n');
      assert.equal(read(root, 'run/cloud-init/cloud-id'), 'akamai\n');
      assert.equal(await query(root, 'v1.cloud_name'), 'akamai');
      assert.equal(await query(root, 'v1.platform'), 'akamai');
      assert.equal(await query(root, 'v1.region'), 'us-ord');
      assert.equal(await query(root, 'ds.meta_data.label'), 'linode51515151');
      // The IPv6 endpoint served everything; the IPv4 one was not needed.
      assert.deepEqual(sim.requests6.map((q) => `${q.method} ${q.path}`), ['PUT /v1/token', 'GET /v1/instance', 'GET /v1/user-data', 'GET /v1/ssh-keys']);
      assert.equal(sim.requests.length, 0);
      const [put, instance, userData] = sim.requests6;
      assert.equal(put!.headers['metadata-token-expiry-seconds'], '300');
      assert.equal(instance!.headers['metadata-token'], sim.tokens[0]);
      assert.equal(instance!.headers['accept'], 'application/json');
      assert.equal(userData!.headers['metadata-token'], sim.tokens[0]);
      // The token is in no file of the root.
      const log = read(root, 'var/log/ec2-init.log');
      assert.ok(!log.includes(sim.tokens[0]!));
      // No network config from Akamai: the fallback (DHCP on the NIC), as cloud-init.
      assert.match(read(root, 'etc/systemd/network/10-cloud-init-eth0.network'), /DHCP=yes/);
    } finally { await sim.close(); }
  });

  test('IPv6 endpoint refused: IPv4; allow_ipv6: false asks IPv4 only; an expired token is not reused', async () => {
    const sim = await startAkamaiSimulator({ userData: USER_DATA });
    try {
      const dead = 'http://[::1]:1';
      const root = akamaiRoot(sim, { url6: dead });
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      assert.equal(read(root, 'ran'), 'from-akamai\n');
      assert.deepEqual(sim.requests.map((q) => q.path), ['/v1/token', '/v1/instance', '/v1/user-data', '/v1/ssh-keys']);
      assert.match(read(root, 'var/log/ec2-init.log'), /datasource Akamai: failed to read the metadata over IPv6 \(http:\/\/\[::1\]:1\): connection refused/);

      sim.requests.length = 0;
      sim.expireTokens();
      const v4only = akamaiRoot(sim, { extra: '    allow_ipv6: false\n' });
      assert.equal((await agentAsync(v4only, ['boot'])).status, 0);
      assert.equal(sim.requests6.length, 0);
      assert.equal(sim.requests.filter((q) => q.status === 401).length, 0); // a new token, never a stale one
      assert.equal(read(v4only, 'ran'), 'from-akamai\n');
    } finally { await sim.close(); }
  });

  test('the token refused, or every way turned off by DMI: the local data only (no user-data, the serial the id)', async () => {
    const sim = await startAkamaiSimulator({ userData: USER_DATA, tokenStatus: 403 });
    try {
      const refused = akamaiRoot(sim, { extra: '    allow_ipv6: false\n' });
      assert.equal((await agentAsync(refused, ['boot'])).status, 0);
      assert.deepEqual(sim.requests.map((q) => `${q.method} ${q.path} ${q.status}`), ['PUT /v1/token 403']);
      assert.equal(read(refused, 'var/lib/cloud/data/instance-id'), '51515151\n');
      assert.equal(read(refused, 'var/lib/cloud/data/user-data.raw'), '');

      sim.requests.length = 0;
      const off = akamaiRoot(sim, { boardSerial: 'als=0;ais=0' });
      assert.equal((await agentAsync(off, ['boot'])).status, 0);
      assert.equal(sim.requests.length + sim.requests6.length, 0);
      assert.equal(read(off, 'var/lib/cloud/data/instance-id'), '51515151\n');
      assert.match(read(off, 'var/log/ec2-init.log'), /the configuration allows no way to the metadata service/);
    } finally { await sim.close(); }
  });

  test('init turned off by DMI (ais=0): read in init-local only; another cloud by DMI: no request', async () => {
    const sim = await startAkamaiSimulator({ userData: USER_DATA });
    try {
      const deferred = akamaiRoot(sim, { boardSerial: 'ais=0' });
      assert.equal((await agentAsync(deferred, ['boot'])).status, 0);
      assert.equal(read(deferred, 'ran'), 'from-akamai\n');
      const log = read(deferred, 'var/log/ec2-init.log');
      assert.ok(log.indexOf('datasource Akamai: found instance') < log.indexOf('stage init: start'), 'found in init-local');
      sim.requests.length = 0;
      sim.requests6.length = 0;
      // Only sources of this branch listed: DigitalOcean's own source would ask its real metadata address.
      const other = akamaiRoot(sim, { vendor: 'DigitalOcean', extra: 'datasource_list: [Akamai, UpCloud]\n' });
      assert.equal((await agentAsync(other, ['boot'])).status, 2);
      assert.match(read(other, 'var/log/ec2-init.log'), /datasource Akamai: DMI's sys_vendor is neither Linode nor Akamai; metadata service not asked/);
      assert.equal(sim.requests.length + sim.requests6.length, 0);
    } finally { await sim.close(); }
  });

  test('user-data that is not base64 is used as sent, with a warning; no /v1/ssh-keys: no keys, no error', async () => {
    const sim = await startAkamaiSimulator({ userDataRaw: '#!/bin/sh\necho raw > /ran\n', sshKeys: null });
    try {
      const root = akamaiRoot(sim);
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      assert.equal(read(root, 'ran'), 'raw\n');
      assert.match(read(root, 'var/log/ec2-init.log'), /\/v1\/user-data is not base64; using it as sent/);
      assert.match(read(root, 'var/log/ec2-init.log'), /\/v1\/ssh-keys: HTTP 404; no keys from it/);
    } finally { await sim.close(); }
  });
});
