// Integration: the built executable provisions an Azure VM from its
// simulators — IMDS and the wireserver, real HTTP servers on 127.0.0.1 — and
// an ovf-env.xml seed, on a Debian-shaped root (real useradd, chpasswd,
// passwd, chrooted), with DMI saying Azure as ds-identify reads it. What a
// user of Azure checks: the user with its key and password, the hostname,
// user-data applied, cloud-id and instance data, exactly one Ready report
// per new instance (none on a reboot), NotReady with the reason when
// provisioning fails, and the KVP record beside it; the password nowhere.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  AZURE_ASSET_TAG, DEFAULT_GOAL_STATE, EXAMPLE_KEY, EXAMPLE_UUID, exampleImds, ovfEnvXml, startAzureSimulator, swapUuid,
  type AzureSimulator, type OvfOptions,
} from '../helpers/azure-simulator.ts';
import { debianRoot } from '../helpers/debian-root.ts';
import { mode, plantNic, read, writeIn } from '../helpers/files.ts';
import { agentAsync, cannotRun, statusProblems } from '../helpers/agent.ts';
import { needCommands } from '../helpers/needs.ts';
import { TOP } from '../helpers/paths.ts';

const skip = cannotRun() ?? needCommands(['useradd', 'chpasswd', 'passwd', 'openssl'], 'passwd openssl') ?? false;

const PASSWORD = 'Az-Pr0visioning-Secret-93!';
const KVP = 'var/lib/hyperv/.kvp_pool_1';

/** A Debian-shaped root that DMI says is Azure (gen1: no /sys/firmware/efi), with an ovf-env.xml seed and a NIC. */
function azureRoot(sim: AzureSimulator, ovf: OvfOptions | string | null = {}, extraCfg = '', wireserver = sim.wireserver): string {
  const root = debianRoot();
  writeIn(root, 'etc/cloud/cloud.cfg.d/90-azure-test.cfg', `datasource:\n  Azure:\n    metadata_url: ${sim.imdsUrl}\n    wireserver_endpoint: '${wireserver}'\n    timeout: 2\n    max_wait: 10\n${extraCfg}system_info:\n  network:\n    renderers: [networkd]\n`);
  writeIn(root, 'sys/class/dmi/id/chassis_asset_tag', `${AZURE_ASSET_TAG}\n`);
  writeIn(root, 'sys/class/dmi/id/product_uuid', `${EXAMPLE_UUID.toUpperCase()}\n`);
  writeIn(root, 'sys/class/dmi/id/sys_vendor', 'Microsoft Corporation\n');
  writeIn(root, 'etc/ssh/sshd_config', 'Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\nUsePAM yes\n');
  plantNic(root, 'eth0', '00:0d:3a:12:34:56');
  writeIn(root, 'var/lib/hyperv/.keep', '');
  if (ovf !== null) writeIn(root, 'var/lib/cloud/seed/azure/ovf-env.xml', typeof ovf === 'string' ? ovf : ovfEnvXml(ovf), 0o600);
  return root;
}

const passwdLine = (root: string, name: string) => read(root, 'etc/passwd').split('\n').find((l) => l.startsWith(`${name}:`));
const shadowField = (root: string, name: string) => read(root, 'etc/shadow').split('\n').find((l) => l.startsWith(`${name}:`))?.split(':')[1];

/** The KVP pool's records: 512-byte key, 2048-byte value, NUL-padded. */
function kvpRecords(root: string): { key: string; value: string }[] {
  const b = readFileSync(join(root, KVP));
  assert.equal(b.length % 2560, 0, 'the pool is whole records');
  const out = [];
  for (let o = 0; o < b.length; o += 2560) {
    out.push({ key: b.subarray(o, o + 512).toString('utf8').replace(/\0+$/, ''), value: b.subarray(o + 512, o + 2560).toString('utf8').replace(/\0+$/, '') });
  }
  return out;
}

/** Every file under the root (its seed, /usr, /dev, /proc left out) that holds `secret`. */
function filesHolding(root: string, secret: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir))) {
      const rel = dir ? `${dir}/${name}` : name;
      if (['usr', 'proc', 'dev', 'sys', 'var/lib/cloud/seed'].includes(rel)) continue;
      const st = statSync(join(root, rel), { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(rel);
      else if (st?.isFile() && readFileSync(join(root, rel), 'latin1').includes(secret)) out.push(rel);
    }
  };
  walk('');
  return out;
}

async function withSim<T>(opts: Parameters<typeof startAzureSimulator>[0], fn: (sim: AzureSimulator) => Promise<T>): Promise<T> {
  const sim = await startAzureSimulator(opts);
  try { return await fn(sim); } finally { await sim.close(); }
}

describe('boot on Azure (IMDS and wireserver simulators on 127.0.0.1, ovf-env.xml seed)', { skip }, () => {
  test('first boot: user with key and password, hostname, user-data, instance data; exactly one Ready report; a reboot sends nothing', () => withSim({}, async (sim) => {
    const customData = '#cloud-config\nwrite_files:\n  - path: /etc/from-customdata\n    content: "custom data applied\\n"\nruncmd:\n  - echo ran > /runcmd-ran\n';
    const root = azureRoot(sim, { password: PASSWORD, customData, disableSshPasswordAuth: false, publicKeys: [{ fingerprint: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01', path: '/home/azureuser/.ssh/authorized_keys', value: EXAMPLE_KEY }] });
    const r = await agentAsync(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(statusProblems(root), []);
    // user-data (CustomData) applied, in all stages
    assert.equal(read(root, 'etc/from-customdata'), 'custom data applied\n');
    assert.equal(read(root, 'runcmd-ran'), 'ran\n');
    // the user Azure asked for (IMDS adminUsername; the system config's default user otherwise), its key and password
    assert.match(passwdLine(root, 'azureuser')!, /^azureuser:x:\d+:\d+:Debian:\/home\/azureuser:\/bin\/bash$/);
    assert.equal(passwdLine(root, 'debian'), undefined);
    assert.equal(read(root, 'home/azureuser/.ssh/authorized_keys').trim(), EXAMPLE_KEY);
    const hash = shadowField(root, 'azureuser')!;
    assert.match(hash, /^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/, 'an unlocked SHA-512 crypt hash');
    const salt = hash.split('$')[2]!;
    assert.equal(execFileSync('openssl', ['passwd', '-6', '-salt', salt, '-stdin'], { input: PASSWORD }).toString().trim(), hash, 'the hash is of the ovf-env.xml password');
    assert.match(read(root, 'etc/ssh/sshd_config.d/50-cloud-init.conf'), /^PasswordAuthentication yes$/m);
    assert.equal(read(root, 'etc/hostname'), 'vm-1\n');
    // identity and instance data
    assert.equal(read(root, 'var/lib/cloud/data/instance-id'), `${EXAMPLE_UUID}\n`);
    const q = async (key: string) => (await agentAsync(root, ['query', key])).stdout.trim();
    assert.equal(await q('v1.cloud_id'), 'azure');
    assert.equal(await q('v1.platform'), 'azure');
    assert.equal(await q('v1.subplatform'), 'seed-dir (/var/lib/cloud/seed/azure)');
    assert.equal(await q('v1.region'), 'westeurope');
    assert.equal(await q('v1.availability_zone'), '0');
    assert.equal(await q('v1.local_hostname'), 'vm-1');
    assert.equal(await q('ds.meta_data.imds.compute.vmId'), swapUuid(EXAMPLE_UUID));
    assert.equal(read(root, 'run/cloud-init/cloud-id'), 'azure\n');
    // one Ready report, with the goal state's ids, after the goal state was fetched
    assert.equal(sim.reports.length, 1);
    assert.deepEqual({ ...sim.reports[0], body: undefined }, { state: 'Ready', substatus: null, description: null, ...DEFAULT_GOAL_STATE, answered: 200, body: undefined });
    assert.deepEqual(sim.wireserverRequests.map((q) => `${q.method} ${q.path}`), ['GET /machine/?comp=goalstate', 'POST /machine?comp=health']);
    assert.ok(sim.wireserverRequests.every((q) => q.headers['x-ms-agent-name'] === 'WALinuxAgent'));
    // IMDS asked with its header, extended document first
    assert.equal(sim.imdsRequests[0]!.path, '/metadata/instance?api-version=2021-08-01&extended=true');
    assert.ok(sim.imdsRequests.every((q) => q.headers['metadata'] === 'true'));
    // KVP: the success line
    const kvp = kvpRecords(root);
    assert.deepEqual(kvp.map((k) => k.key), ['PROVISIONING_REPORT']);
    assert.match(kvp[0]!.value, new RegExp(`^result=success\\|agent=ec2-init/[^|]+\\|timestamp=[^|]+\\|vm_id=${swapUuid(EXAMPLE_UUID)}$`));
    // the password: nowhere (logs, instance data, caches, the kept ovf-env.xml, status), and the kept copies owner-only
    assert.deepEqual(filesHolding(root, PASSWORD), []);
    assert.match(read(root, 'var/lib/waagent/ovf-env.xml'), /<ns1:UserPassword>REDACTED<\/ns1:UserPassword>/);
    assert.equal(mode(root, 'var/lib/waagent/ovf-env.xml'), 0o600);
    assert.equal(mode(root, 'var/lib/waagent'), 0o700);
    assert.equal(mode(root, 'var/lib/cloud/data/azure/ovf-env.xml'), 0o600);
    assert.ok(!read(root, 'run/ec2-init/instance-data.json').includes(hash.split('$')[3]!), 'the hash is not in the world-readable instance data');

    // A reboot of the same instance: nothing sent, nothing asked of the wireserver.
    const again = await agentAsync(root, ['boot']);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(sim.reports.length, 1);
    assert.equal(sim.wireserverRequests.length, 2);
    assert.equal(kvpRecords(root).length, 1);
    assert.match(read(root, 'var/log/ec2-init.log'), /datasource Azure: Ready was reported for this instance on .*; nothing sent/);
  }));

  test('a user that cannot be created: one NotReady/ProvisioningFailed report naming it, the KVP error line; none on the reboot', () => withSim({ imds: exampleImds(EXAMPLE_UUID, { compute: { osProfile: { adminUsername: 'azureuser', computerName: 'vm-1', disablePasswordAuthentication: 'true' } } }) }, async (sim) => {
    const root = azureRoot(sim, { password: PASSWORD });
    // The image already has a group of the user's name: useradd refuses to make its user group.
    writeIn(root, 'etc/group', `${read(root, 'etc/group')}azureuser:x:1500:\n`);
    writeIn(root, 'etc/gshadow', `${read(root, 'etc/gshadow')}azureuser:!::\n`, 0o640);
    // A pool left from before this boot (mtime long ago) is emptied before the first record.
    writeIn(root, KVP, Buffer.alloc(2560, 0x41));
    utimesSync(join(root, KVP), 0, 0);
    const r = await agentAsync(root, ['boot']);
    assert.equal(r.status, 1, `status says error\n${r.stderr}`);
    assert.equal(passwdLine(root, 'azureuser'), undefined);
    assert.ok(statusProblems(root).some((p) => /users_groups: user azureuser: useradd failed .*group azureuser exists/.test(p)), statusProblems(root).join('\n'));
    assert.equal(sim.reports.length, 1);
    const report = sim.reports[0]!;
    assert.equal(report.state, 'NotReady');
    assert.equal(report.substatus, 'ProvisioningFailed');
    assert.equal(report.answered, 200);
    assert.match(report.description!, /^result=error\|'?reason=failure to provision: module users_groups: user azureuser: useradd failed/);
    assert.match(report.description!, /vm_id=91267c52-9f02-4cfe-b1f4-a4da7ebac2cf/);
    assert.ok(report.description!.length <= 512);
    const kvp = kvpRecords(root);
    assert.equal(kvp.length, 1, 'the stale record is gone');
    assert.equal(kvp[0]!.key, 'PROVISIONING_REPORT');
    assert.match(kvp[0]!.value, /^result=error\|'?reason=failure to provision: module users_groups: user azureuser/);
    assert.match(kvp[0]!.value, /\|documentation_url=https:\/\/aka\.ms\/linuxprovisioningerror$/);
    assert.deepEqual(filesHolding(root, PASSWORD), []);
    // disablePasswordAuthentication "true" from IMDS wins over the password's default
    assert.match(read(root, 'etc/ssh/sshd_config.d/50-cloud-init.conf'), /^PasswordAuthentication no$/m);

    await agentAsync(root, ['boot']);
    assert.equal(sim.reports.length, 1, 'a reboot sends nothing');
    assert.equal(kvpRecords(root).length, 1);
  }));

  test('an ovf-env.xml that does not parse: NotReady with the parse error, IMDS not asked, nothing of it applied, the password nowhere', () => withSim({}, async (sim) => {
    const broken = ovfEnvXml({ password: PASSWORD, customData: '#!/bin/sh\ntouch /must-not-run\n' }).replace('</ns1:ProvisioningSection>', '</ns1:ProvisioningSectio>');
    const root = azureRoot(sim, broken);
    // What an earlier instance left in the cache is not this one's provisioning data.
    writeIn(root, 'var/lib/cloud/data/azure/ovf-env.xml', ovfEnvXml({ username: 'olduser' }), 0o600);
    const r = await agentAsync(root, ['boot']);
    assert.equal(r.status, 1);
    assert.ok(statusProblems(root).some((p) => /datasource Azure: provisioning failed: error parsing ovf-env.xml: <\/ns1:ProvisioningSectio> closes <ns1:ProvisioningSection> at line \d+/.test(p)));
    assert.equal(sim.reports.length, 1);
    assert.equal(sim.reports[0]!.state, 'NotReady');
    assert.match(sim.reports[0]!.description!, /^result=error\|reason=error parsing ovf-env\.xml: /);
    assert.equal(sim.imdsRequests.length, 0);
    assert.ok(!existsSync(join(root, 'must-not-run')));
    assert.ok(!existsSync(join(root, 'var/lib/waagent/ovf-env.xml')), 'no ovf-env.xml kept for this instance');
    assert.equal(passwdLine(root, 'azureuser'), undefined);
    assert.deepEqual(filesHolding(root, PASSWORD), []);
  }));

  test('no provisioning medium: IMDS only (old api-version, "not yet" answers retried): its user-data, keys, hostname, network config; azure-china', () => withSim({
    oldApiOnly: true,
    imdsFailFirst: { n: 2, status: 404 },
    imds: exampleImds(EXAMPLE_UUID, {
      compute: { location: 'chinaeast2', osProfile: { adminUsername: 'imdsuser', computerName: 'imds-host', disablePasswordAuthentication: 'true' }, userData: Buffer.from('#!/bin/sh\necho from-imds > /imds-user-data\n').toString('base64') },
      network: { interface: [
        { macAddress: '000D3A123456', ipv4: { ipAddress: [{ privateIpAddress: '10.0.0.4' }, { privateIpAddress: '10.0.0.5' }], subnet: [{ address: '10.0.0.0', prefix: '24' }] }, ipv6: { ipAddress: [] } },
        { macAddress: '000D3A654321', ipv4: { ipAddress: [{ privateIpAddress: '10.0.1.4' }], subnet: [{ address: '10.0.1.0', prefix: '24' }] }, ipv6: { ipAddress: [] } },
        { macAddress: '000D3A000000', ipv4: { ipAddress: [], subnet: [] }, ipv6: { ipAddress: [] } },
      ] },
    }),
  }, async (sim) => {
    const root = azureRoot(sim, null);
    plantNic(root, 'eth1', '00:0d:3a:65:43:21');
    const r = await agentAsync(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(sim.imdsRequests.map((q) => `${q.status} ${q.path}`), [
      '404 /metadata/instance?api-version=2021-08-01&extended=true',
      '404 /metadata/instance?api-version=2021-08-01&extended=true',
      '400 /metadata/instance?api-version=2021-08-01&extended=true',
      '200 /metadata/instance?api-version=2019-06-01',
    ]);
    assert.equal(read(root, 'imds-user-data'), 'from-imds\n');
    assert.match(passwdLine(root, 'imdsuser')!, /^imdsuser:/);
    assert.equal(read(root, 'home/imdsuser/.ssh/authorized_keys').trim(), EXAMPLE_KEY);
    assert.match(shadowField(root, 'imdsuser')!, /^!/, 'no password: locked');
    assert.equal(read(root, 'etc/hostname'), 'imds-host\n');
    assert.equal((await agentAsync(root, ['query', 'v1.cloud_id'])).stdout, 'azure-china\n');
    assert.equal((await agentAsync(root, ['query', 'v1.subplatform'])).stdout, 'imds (IMDS)\n');
    // IMDS's userData is user-data: redacted in the world-readable instance data, there for root
    const world = JSON.parse(read(root, 'run/ec2-init/instance-data.json')) as { ds: { meta_data: { imds: { compute: Record<string, unknown> } } } };
    assert.equal(world.ds.meta_data.imds.compute['userData'], 'redacted for non-root user');
    assert.equal(world.ds.meta_data.imds.compute['vmSize'], 'Standard_B1s');
    assert.equal(mode(root, 'run/ec2-init/instance-data-sensitive.json'), 0o600);
    // network: both NICs by MAC, renamed eth0/eth1; the primary's second address static; DNS and the default route from the primary
    const eth0 = read(root, 'etc/systemd/network/10-cloud-init-eth0.network');
    assert.match(eth0, /MACAddress=00:0d:3a:12:34:56/);
    assert.match(eth0, /DHCP=ipv4/);
    assert.match(eth0, /Address=10\.0\.0\.5\/24/);
    assert.match(eth0, /RouteMetric=100/);
    const eth1 = read(root, 'etc/systemd/network/10-cloud-init-eth1.network');
    assert.match(eth1, /MACAddress=00:0d:3a:65:43:21/);
    assert.match(eth1, /RouteMetric=200/);
    assert.match(eth1, /UseDNS=no/);
    assert.ok(!existsSync(join(root, 'etc/systemd/network/10-cloud-init-eth2.network')), 'a NIC without addresses is left out');
    assert.equal(sim.reports.length, 1);
    assert.equal(sim.reports[0]!.state, 'Ready');
  }));

  test("with the package's own config (no users list, Azure in its datasource_list): the user Azure asks for is made", () => withSim({}, async (sim) => {
    const root = azureRoot(sim);
    writeIn(root, 'etc/cloud/cloud.cfg', '');
    writeIn(root, 'etc/cloud/cloud.cfg.d/10_ec2-init.cfg', readFileSync(join(TOP, 'debian/config/10_ec2-init.cfg')));
    const r = await agentAsync(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(read(root, 'var/log/ec2-init.log'), /datasource NoCloud: not found[^]*datasource ConfigDrive: not found[^]*datasource Azure: found instance/);
    assert.match(passwdLine(root, 'azureuser')!, /^azureuser:x:\d+:\d+:Debian:\/home\/azureuser:\/bin\/bash$/);
    assert.equal(read(root, 'home/azureuser/.ssh/authorized_keys').trim(), EXAMPLE_KEY);
    assert.deepEqual(sim.reports.map((x) => x.state), ['Ready']);
  }));

  test('the wireserver busy (503) is asked again; unreachable on the first boot, the next boot sends the report', async () => {
    await withSim({ wireserverFailFirst: 2 }, async (sim) => {
      const root = azureRoot(sim);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(sim.wireserverRequests.map((q) => q.status), [503, 503, 200, 200]);
      assert.deepEqual(sim.reports.map((x) => x.state), ['Ready']);
    });
    await withSim({}, async (sim) => {
      const closed = await startAzureSimulator({});
      const deadPort = closed.wireserverPort;
      await closed.close();
      const root = azureRoot(sim, {}, '', `127.0.0.1:${deadPort}`);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 1);
      assert.ok(statusProblems(root).some((p) => new RegExp(`the Ready report did not reach the wireserver 127\\.0\\.0\\.1:${deadPort}: .*the next boot sends it again`).test(p)));
      assert.equal(sim.reports.length, 0);
      writeIn(root, 'etc/cloud/cloud.cfg.d/91-wireserver.cfg', `datasource:\n  Azure:\n    wireserver_endpoint: '${sim.wireserver}'\n`);
      const again = await agentAsync(root, ['boot']);
      assert.equal(again.status, 0, again.stderr);
      assert.deepEqual(sim.reports.map((x) => x.state), ['Ready']);
      assert.equal(kvpRecords(root).length, 1, 'the outcome was decided (and written to KVP) once');
    });
  });

  test('not Azure by DMI: neither service is asked; a preprovisioned VM is reported as not supported; experimental_skip_ready_report sends nothing', async () => {
    await withSim({}, async (sim) => {
      const root = azureRoot(sim, null);
      writeIn(root, 'sys/class/dmi/id/chassis_asset_tag', 'No Asset Tag\n');
      await agentAsync(root, ['boot']);
      assert.equal(sim.imdsRequests.length + sim.wireserverRequests.length, 0);
      assert.match(read(root, 'var/log/ec2-init.log'), /datasource Azure: neither the DMI chassis asset tag nor a seeded ovf-env.xml says Azure; metadata service not asked/);
    });
    await withSim({}, async (sim) => {
      const root = azureRoot(sim, { preprovisionedVmType: 'Savable' });
      assert.equal((await agentAsync(root, ['boot'])).status, 1);
      assert.deepEqual(sim.reports.map((x) => [x.state, x.substatus]), [['NotReady', 'ProvisioningFailed']]);
      assert.match(sim.reports[0]!.description!, /reason=preprovisioned VM \(Savable\) is not supported by ec2-init\|agent=ec2-init\/[^|]+\|pps_type=Savable\|/);
    });
    await withSim({}, async (sim) => {
      const root = azureRoot(sim, {}, '    experimental_skip_ready_report: true\n    disk_aliases: {ephemeral0: /dev/sdb}\n    bogus_key: 1\n');
      assert.equal((await agentAsync(root, ['boot'])).status, 2, 'degraded: the config warnings');
      assert.equal(sim.wireserverRequests.length, 0);
      assert.ok(passwdLine(root, 'azureuser'));
      const warnings = statusProblems(root);
      assert.ok(warnings.some((w) => /unknown key\(s\) bogus_key; ignored/.test(w)), warnings.join('\n'));
      assert.ok(warnings.some((w) => /disk_aliases\}\} ignored: ec2-init does not set up the resource disk/.test(w)));
    });
  });
});
