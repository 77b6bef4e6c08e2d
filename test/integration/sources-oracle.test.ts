// Integration: the built executable boots on "Oracle Cloud" — DMI's chassis
// asset tag under --root, IMDS simulated on 127.0.0.1
// (test/helpers/oracle-simulator.ts, which refuses /opc/v2 without
// `Authorization: Bearer Oracle`): v2 first, v1 where v2 is not there,
// user-data, hostname, key, cloud-id and v1 keys as cloud-init gives them,
// the primary VNIC (and secondaries when asked) rendered for networkd — and
// never a config for the NIC of an iSCSI root.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ORACLE_KEY, ORACLE_PRIMARY_MAC, ORACLE_SECOND_MAC, startOracleSimulator, type OracleSimulator } from '../helpers/oracle-simulator.ts';
import { cloudRoot } from '../helpers/cloud-root.ts';
import { read, writeIn } from '../helpers/files.ts';
import { agentAsync, cannotRun, statusProblems } from '../helpers/agent.ts';
import { needCommands } from '../helpers/needs.ts';

const skip = cannotRun() ?? needCommands(['ssh-keygen', 'useradd'], 'openssh-client passwd') ?? false;

const OCI_DMI = { sys_vendor: 'QEMU', product_name: 'Standard PC (i440FX + PIIX, 1996)', chassis_asset_tag: 'OracleCloud.com', product_uuid: '9a3f6c1e-0f1b-4d6e-9c2a-7b5d4e3f2a1c' };
const USER_DATA = '#cloud-config\nwrite_files: [{path: /etc/from-oci, content: "oci user-data\\n"}]\n';

function ociRoot(sim: OracleSimulator, opts: { dmi?: Record<string, string>; list?: string; extra?: string } = {}): string {
  return cloudRoot({
    dmi: opts.dmi ?? OCI_DMI,
    config: `datasource_list: ${opts.list ?? '[Oracle]'}\ndatasource:\n  Oracle:\n    metadata_urls: ['${sim.url}']\n    timeout: 2\n    max_wait: 5\n${opts.extra ?? ''}`,
    nics: [['ens3', ORACLE_PRIMARY_MAC], ['ens5', ORACLE_SECOND_MAC]],
  });
}

const v1 = (root: string) => (JSON.parse(read(root, 'run/ec2-init/instance-data.json')) as { v1: Record<string, unknown> }).v1;
const networkFiles = (root: string) => (existsSync(join(root, 'etc/systemd/network')) ? readdirSync(join(root, 'etc/systemd/network')).sort() : []);

describe('boot on Oracle Cloud (DMI under --root, IMDS simulated on 127.0.0.1)', { skip }, () => {

  test('IMDSv2: user-data, hostname, key, cloud-id, v1 keys, the primary VNIC by DHCP with MTU 9000', async () => {
    const sim = await startOracleSimulator({ userData: USER_DATA });
    try {
      assert.equal((await fetch(`${sim.url}/opc/v2/instance/`)).status, 401); // the service's rule
      const before = sim.requests.length;
      const root = ociRoot(sim);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(statusProblems(root), []);
      assert.equal(read(root, 'etc/from-oci'), 'oci user-data\n');
      assert.equal(read(root, 'etc/hostname'), 'instance-20260101-1400\n');
      assert.match(read(root, 'home/debian/.ssh/authorized_keys'), new RegExp(ORACLE_KEY.split(' ')[1]!));
      const asked = sim.requests.slice(before);
      assert.deepEqual(asked.map((q) => [q.path, q.headers['authorization']]), [['/opc/v2/instance/', 'Bearer Oracle'], ['/opc/v2/vnics/', 'Bearer Oracle']]);
      assert.equal(read(root, 'run/cloud-init/cloud-id'), 'oracle\n');
      const v = v1(root);
      assert.deepEqual([v['cloud_name'], v['platform'], v['region'], v['availability_zone'], v['instance_id'], v['local_hostname'], v['subplatform']],
        ['oracle', 'oracle', null, 'phx-ad-1', 'ocid1.instance.oc1.phx.anyhqljtexampleexampleexample', 'instance-20260101-1400', `metadata (${sim.url}/opc/v2/)`]);
      assert.equal((await agentAsync(root, ['query', 'ds.meta_data.canonicalRegionName'])).stdout, 'us-phoenix-1\n');
      const ens3 = read(root, 'etc/systemd/network/10-cloud-init-ens3.network');
      assert.match(ens3, /PermanentMACAddress=02:00:17:05:d1:db/);
      assert.match(ens3, /DHCP=(yes|ipv4)/);
      assert.match(ens3 + read(root, 'etc/systemd/network/10-cloud-init-ens3.link'), /MTUBytes=9000/);
      assert.ok(!networkFiles(root).some((f) => f.includes('ens5')), 'secondary VNICs only with configure_secondary_nics');
    } finally { await sim.close(); }
  });

  test('configure_secondary_nics: the secondary VNIC static, from the VNIC data', async () => {
    const sim = await startOracleSimulator({ userData: null });
    try {
      const root = ociRoot(sim, { extra: '    configure_secondary_nics: true\n' });
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      const ens5 = read(root, 'etc/systemd/network/10-cloud-init-ens5.network');
      assert.match(ens5, /Address=10\.0\.0\.231\/24/);
      assert.doesNotMatch(ens5, /DHCP=(yes|ipv4)/);
    } finally { await sim.close(); }
  });

  test('an older service without /opc/v2: v1, without the header', async () => {
    const sim = await startOracleSimulator({ userData: USER_DATA, versions: 'v1' });
    try {
      const root = ociRoot(sim);
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      assert.deepEqual(sim.requests.map((q) => [q.path, q.status, q.headers['authorization'] ?? null]), [
        ['/opc/v2/instance/', 404, 'Bearer Oracle'], ['/opc/v1/instance/', 200, null], ['/opc/v1/vnics/', 200, null],
      ]);
      assert.equal(read(root, 'etc/from-oci'), 'oci user-data\n');
      assert.equal(v1(root)['subplatform'], `metadata (${sim.url}/opc/v1/)`);
    } finally { await sim.close(); }
  });

  test('IMDSv1 disabled and the service busy at first: rounds of v2 then v1 until v2 answers', async () => {
    const sim = await startOracleSimulator({ userData: USER_DATA, versions: 'v2', failFirst: 2 });
    try {
      const root = ociRoot(sim);
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      assert.deepEqual(sim.requests.map((q) => [q.path, q.status]), [
        ['/opc/v2/instance/', 503], ['/opc/v1/instance/', 503], ['/opc/v2/instance/', 200], ['/opc/v2/vnics/', 200],
      ]);
      assert.equal(read(root, 'etc/from-oci'), 'oci user-data\n');
    } finally { await sim.close(); }
  });

  test('iSCSI root (iBFT boot target): no config for its NIC — not the metadata\'s, not the fallback — and the VNICs are not asked', async () => {
    const sim = await startOracleSimulator({ userData: USER_DATA });
    try {
      const root = ociRoot(sim);
      writeIn(root, 'sys/firmware/ibft/target0/flags', '3\n');
      // Stage init only: what init-local renders before a link-local source is asked is the ephemeral network's business.
      const r = await agentAsync(root, ['init']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(read(root, 'etc/from-oci'), 'oci user-data\n');
      assert.deepEqual(networkFiles(root), []);
      assert.deepEqual(sim.requests.map((q) => q.path), ['/opc/v2/instance/']);
      assert.match(read(root, 'var/log/ec2-init.log'), /the root is on iSCSI \(iBFT target0 is the firmware's boot target\): its NIC is left as the initramfs configured it/);
      assert.match(read(root, 'var/log/ec2-init.log'), /network: disabled by config: disabled in Oracle metadata network config/);
    } finally { await sim.close(); }
  });

  test('DMI of another cloud: IMDS is never asked', async () => {
    const sim = await startOracleSimulator({});
    try {
      const root = ociRoot(sim, { dmi: { sys_vendor: 'Google', product_name: 'Google Compute Engine' }, list: '[Oracle, NoCloud]' });
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 2, r.stderr);
      assert.match(read(root, 'var/log/ec2-init.log'), /datasource Oracle: DMI chassis asset tag is not OracleCloud\.com/);
      assert.equal(sim.requests.length, 0);
    } finally { await sim.close(); }
  });
});
