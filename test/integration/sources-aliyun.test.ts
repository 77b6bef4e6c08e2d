// Integration: the built executable boots from Alibaba Cloud's ECS metadata
// service — the simulator on 127.0.0.1, tokens required — with the platform
// told by DMI (product_name "Alibaba Cloud ECS").
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agentAsync, cannotRun, statusProblems } from '../helpers/agent.ts';
import { startAliyunSimulator, type AliyunSimulator } from '../helpers/aliyun-simulator.ts';
import { cloudRoot } from '../helpers/cloud-root.ts';
import { read } from '../helpers/files.ts';
import { needCommands } from '../helpers/needs.ts';

const skip = cannotRun() ?? needCommands(['ssh-keygen', 'useradd'], 'openssh-client passwd') ?? false;

function aliyunRoot(sim: AliyunSimulator, product = 'Alibaba Cloud ECS', list = ''): string {
  return cloudRoot({
    dmi: { product_name: product, sys_vendor: 'Alibaba Cloud' },
    nics: [['eth0', '00:16:3e:14:59:58'], ['eth1', '00:16:3e:14:59:59']],
    config: `${list}datasource:\n  AliYun:\n    metadata_urls: ['${sim.url}']\n    timeout: 2\n    max_wait: 5\n`,
  });
}

const query = async (root: string, key: string) => (await agentAsync(root, ['query', key])).stdout.trim();
const USER_DATA = '#cloud-config\nruncmd: [[sh, -c, "echo from-aliyun > /ran"]]\n';
const VENDOR_DATA = '#cloud-config\nwrite_files: [{path: /etc/from-vendor, content: v}]\n';

describe('boot from Alibaba Cloud ECS (simulator on 127.0.0.1)', { skip }, () => {
  test('the token, then user-data, vendor-data and meta-data/all: all applied; instance-data; two NICs by MAC', async () => {
    const sim = await startAliyunSimulator({ userData: USER_DATA, vendorData: VENDOR_DATA });
    try {
      const root = aliyunRoot(sim);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(statusProblems(root), []);
      assert.equal(read(root, 'ran'), 'from-aliyun\n');
      assert.equal(read(root, 'etc/from-vendor'), 'v');
      assert.equal(read(root, 'etc/hostname'), 'aliyun-test-vm-00\n');
      assert.match(read(root, 'home/debian/.ssh/authorized_keys'), /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE7x9yQ2h3j4k5l6m7n8o9p0q1r2s3t4u5v6w7x8y9z0 aliyun@test$/m);
      assert.equal(read(root, 'var/lib/cloud/data/instance-id'), 'i-bp15ojxppkmsnyjxxxxx\n');
      assert.equal(read(root, 'run/cloud-init/cloud-id'), 'aliyun\n');
      assert.equal(await query(root, 'v1.cloud_name'), 'aliyun');
      assert.equal(await query(root, 'v1.platform'), 'aliyun');
      assert.equal(await query(root, 'v1.subplatform'), `metadata (${sim.url})`);
      assert.equal(await query(root, 'v1.region'), 'null'); // ECS says region-id, which cloud-init does not read
      assert.equal(await query(root, 'ds.meta_data.region-id'), 'cn-hangzhou');
      // Values decoded as the tree's leaves: two lines are a list.
      assert.deepEqual(JSON.parse(await query(root, 'ds.meta_data.dns-conf.nameservers')), ['100.100.2.136', '100.100.2.138']);
      assert.deepEqual(sim.requests.map((q) => `${q.method} ${q.path}`),
        ['PUT /latest/api/token', 'GET /2016-01-01/user-data', 'GET /2016-01-01/vendor-data', 'GET /2016-01-01/meta-data/all']);
      assert.equal(sim.requests[0]!.headers['x-aliyun-ecs-metadata-token-ttl-seconds'], '21600');
      for (const q of sim.requests.slice(1)) assert.equal(q.headers['x-aliyun-ecs-metadata-token'], sim.tokens[0]);
      assert.ok(!read(root, 'var/log/ec2-init.log').includes(sim.tokens[0]!));
      // Network: DHCP on both NICs, by MAC, metrics 100 and 200; DHCPv6 where the NIC has ipv6s.
      const eth0 = read(root, 'etc/systemd/network/10-cloud-init-eth0.network');
      const eth1 = read(root, 'etc/systemd/network/10-cloud-init-eth1.network');
      assert.match(eth0, /DHCP=ipv4/);
      assert.match(eth0, /RouteMetric=100/);
      assert.match(eth1, /DHCP=yes/);
      assert.match(eth1, /RouteMetric=200/);
    } finally { await sim.close(); }
  });

  test('no meta-data/all: the meta-data tree is walked; a 401 gets a new token', async () => {
    let refused = false;
    const sim = await startAliyunSimulator({
      userData: USER_DATA, noAll: true,
      override: (q) => { if (q.path === '/2016-01-01/vendor-data' && !refused) { refused = true; return { status: 401, body: 'expired' }; } return undefined; },
    });
    try {
      const root = aliyunRoot(sim);
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      assert.equal(read(root, 'ran'), 'from-aliyun\n');
      assert.equal(read(root, 'var/lib/cloud/data/instance-id'), 'i-bp15ojxppkmsnyjxxxxx\n');
      assert.match(read(root, 'home/debian/.ssh/authorized_keys'), /aliyun@test/);
      assert.equal(sim.tokens.length, 2);
      const paths = sim.requests.map((q) => q.path);
      assert.ok(paths.includes('/2016-01-01/meta-data/'));
      assert.ok(paths.includes('/2016-01-01/meta-data/public-keys/0/openssh-key'));
      assert.ok(paths.includes('/2016-01-01/meta-data/network/interfaces/macs/00:16:3e:14:59:58/gateway'));
      assert.match(read(root, 'etc/systemd/network/10-cloud-init-eth0.network'), /RouteMetric=100/);
    } finally { await sim.close(); }
  });

  test('the endpoint disabled (403 to the token request): not found, no v1 fallback; another cloud by DMI: no request', async () => {
    const sim = await startAliyunSimulator({ mode: 'disabled' });
    try {
      const root = aliyunRoot(sim);
      assert.equal((await agentAsync(root, ['boot'])).status, 2);
      // Asked in init-local, then again in init (cloud-init's AliYunLocal, then AliYun): one refused token request each.
      assert.deepEqual(sim.requests.map((q) => `${q.method} ${q.path} ${q.status}`), ['PUT /latest/api/token 403', 'PUT /latest/api/token 403']);
      assert.match(read(root, 'var/log/ec2-init.log'), /no metadata token: .*HTTP 403 \(the metadata endpoint is disabled\)/);
      sim.requests.length = 0;
      // Only sources of this branch listed: OpenStack's own source would ask its real metadata address.
      const other = aliyunRoot(sim, 'OpenStack Nova', 'datasource_list: [AliYun, UpCloud]\n');
      assert.equal((await agentAsync(other, ['boot'])).status, 2);
      assert.equal(sim.requests.length, 0);
    } finally { await sim.close(); }
  });
});
