// Boot test of Azure provisioning (issue 21): a Debian bookworm VM under qemu
// (TCG) with the ec2-init .deb, DMI that says Azure (the chassis asset tag,
// a product uuid; BIOS, so a gen1 VM), ovf-env.xml on a UDF disc in the
// CD-ROM drive as Azure attaches it, and Azure's two services at their real
// addresses: IMDS at 169.254.169.254:80 and the wireserver at
// 168.63.129.16:80, each a qemu guestfwd to the simulator on 127.0.0.1
// (test/helpers/azure-simulator.ts). Both addresses are inside the slirp
// network (168.0.0.0/7, which slirp answers ARP for), so the guest reaches
// them on-link; restrict=on: nothing leaves this machine. No datasource
// config in the image: the agent finds everything where Azure puts it.
//   1. First boot: the user from ovf-env.xml with IMDS's key and the
//      password's hash, the hostname, CustomData run, and exactly one Ready
//      health report with the goal state's ids reaching the simulator.
//   2. The same disk again without the disc (Azure takes it away): the same
//      instance, ovf-env.xml from the copy the first boot kept, no report.
//
//   npm run deb && node --test test/e2e/azure.e2e.ts   (as root; qemu-system-x86 socat genisoimage e2fsprogs debootstrap)
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { agentFeatures, type Features } from './features.ts';
import { cannotRun, copyDisk, debPath, disk, makeIso, readFromImage, recoverImage, removeDir, writeToImage, type Disk } from './image.ts';
import { boot, consoleLines, type Boot } from './vm.ts';
import { AZURE_ASSET_TAG, DEFAULT_GOAL_STATE, EXAMPLE_KEY, exampleImds, ovfEnvXml, startAzureSimulator, swapUuid } from '../helpers/azure-simulator.ts';

const VERBOSE = process.env.EC2_INIT_E2E_VERBOSE === '1';
const BOOT_TIMEOUT_MS = Number(process.env.EC2_INIT_E2E_BOOT_TIMEOUT_MS ?? 300_000);
const HOPELESS = [/^shutdown: .*$/m, /Kernel panic - not syncing.*$/m];
const skip = cannotRun() ?? (existsSync(debPath()) ? undefined : `${debPath()} is missing: run npm run deb first`);

const UUID = 'a1b2c3d4-1111-4222-8333-444455556666';
const MAC = '00:0d:3a:e2:e0:01';
const PASSWORD = 'E2e-Azure-Pr0v-Secret!';

type StageJson = { errors: string[] };
type StatusJson = { v1: Record<'init-local' | 'init' | 'modules-config' | 'modules-final', StageJson> & { datasource: string | null } };

async function bootOrExplain(t: TestContext, d: Disk, image: string, dir: string, extra: { cdrom?: string; netdev: string }): Promise<Boot> {
  const b = await boot({
    dir, image, kernel: d.kernel, initrd: d.initrd, timeoutMs: BOOT_TIMEOUT_MS, giveUpOn: HOPELESS, mac: MAC,
    smbios: [`type=1,manufacturer=Microsoft Corporation,product=Virtual Machine,uuid=${UUID}`, `type=3,manufacturer=Microsoft Corporation,asset=${AZURE_ASSET_TAG}`],
    onConsole: VERBOSE ? (s) => process.stderr.write(s.replace(/^/gm, '  | ')) : undefined,
    ...extra,
  });
  t.diagnostic(`qemu ran ${(b.ms / 1000).toFixed(1)} s${b.timedOut ? ' (killed at the timeout)' : ''}, exit ${b.exitCode}`);
  if (b.exitCode !== 0) recoverImage(image);
  if (b.timedOut || b.exitCode !== 0 || b.gaveUp) {
    const tail = b.console.replace(/\r/g, '').split('\n').slice(-60).join('\n');
    assert.fail(`the VM did not power off by itself (exit ${b.exitCode}).\nqemu: ${b.stderr}\n--- console tail ---\n${tail}\n` +
      `--- /var/log/ec2-init.log ---\n${readFromImage(image, '/var/log/ec2-init.log') ?? '(none)'}`);
  }
  return b;
}

describe('VM boot on Azure (qemu; ovf-env.xml on a UDF disc; IMDS and wireserver through guestfwd)', { skip, timeout: 1_800_000 }, () => {
  let d: Disk;
  let f: Features;
  const dirs: string[] = [];
  before(() => { d = disk(debPath()); f = agentFeatures(d.deb); });
  after(() => { if (process.env.EC2_INIT_E2E_KEEP !== '1') for (const dir of dirs) removeDir(dir); });

  it('first boot provisions from the disc and IMDS and reports Ready once; the reboot without the disc reports nothing', async (t) => {
    if (!f.azure) { t.skip('the agent has no Azure datasource'); return; }
    if (!f.udf) t.diagnostic('the agent has no UDF reader: the disc (a UDF bridge) is read through its ISO 9660 side');
    const { dir, image } = copyDisk(d);
    dirs.push(dir);
    const customData = [
      '#cloud-config',
      'write_files:',
      '  - path: /etc/e2e/azure.txt',
      '    content: "from custom data\\n"',
      'runcmd:',
      '  - echo "E2E-AZURE-RUNCMD $(cat /var/lib/cloud/data/instance-id)" > /dev/ttyS0',
      // What networkd made of IMDS's network config: the NIC named eth0 by it, with its address.
      `  - 'ip -o -4 addr show | sed "s/^/E2E-AZURE-NET /" > /dev/ttyS0'`,
      '',
    ].join('\n');
    const iso = join(dir, 'ovf.iso');
    makeIso(iso, 'rd_rdfe_e2e', { 'ovf-env.xml': ovfEnvXml({ hostname: 'e2e-azure', username: 'azureuser', password: PASSWORD, customData, disableSshPasswordAuth: false }) }, true);
    const imds = exampleImds(UUID, {
      compute: { name: 'e2e-azure', osProfile: { adminUsername: 'azureuser', computerName: 'e2e-azure', disablePasswordAuthentication: 'false' } },
      network: { interface: [{ macAddress: MAC.replace(/:/g, '').toUpperCase(), ipv4: { ipAddress: [{ privateIpAddress: '168.0.0.15' }], subnet: [{ address: '168.0.0.0', prefix: '7' }] }, ipv6: { ipAddress: [] } }] },
    });
    const sim = await startAzureSimulator({ imds });
    try {
      const netdev = [
        'net=168.0.0.0/7',
        `guestfwd=tcp:169.254.169.254:80-cmd:socat - TCP:127.0.0.1:${sim.imdsPort}`,
        `guestfwd=tcp:168.63.129.16:80-cmd:socat - TCP:127.0.0.1:${sim.wireserverPort}`,
      ].join(',');
      writeToImage(image, { '/etc/e2e/poweroff': { content: 'harness\n' } });
      const b = await bootOrExplain(t, d, image, dir, { cdrom: iso, netdev });
      const log = readFromImage(image, '/var/log/ec2-init.log') ?? '';
      t.diagnostic(log.split('\n').filter((l) => /datasource Azure/.test(l)).join('\n'));
      assert.match(log, new RegExp(`datasource Azure: ovf-env.xml from /dev/sr0 \\((${f.udf ? 'udf' : 'iso9660|udf'})\\)`));
      // provisioned
      assert.deepEqual(consoleLines(b.console, 'E2E-AZURE-RUNCMD').map((l) => l.replace(/.*E2E-/, 'E2E-').trim()), [`E2E-AZURE-RUNCMD ${UUID}`]);
      assert.equal(readFromImage(image, '/etc/e2e/azure.txt'), 'from custom data\n');
      assert.equal(readFromImage(image, '/etc/hostname')?.trim(), 'e2e-azure');
      // IMDS's network config, rendered in init-local, took effect on this first boot: the NIC is eth0 by its MAC.
      assert.match(log, /step: init-local network network RUN: render Azure/);
      const net = consoleLines(b.console, 'E2E-AZURE-NET');
      assert.ok(net.some((l) => /\beth0\s+inet 168\.0\.\d+\.\d+\/7\b/.test(l)), `eth0 has its slirp address: ${JSON.stringify(net)}`);
      assert.match(readFromImage(image, '/etc/passwd') ?? '', /^azureuser:x:\d+:\d+:/m);
      assert.equal(readFromImage(image, '/home/azureuser/.ssh/authorized_keys')?.trim(), EXAMPLE_KEY);
      assert.match(readFromImage(image, '/etc/shadow') ?? '', /^azureuser:\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}:/m);
      assert.ok(!log.includes(PASSWORD), 'the password is not in the log');
      assert.match(readFromImage(image, '/var/lib/waagent/ovf-env.xml') ?? '', /<ns1:UserPassword>REDACTED<\/ns1:UserPassword>/);
      const status = JSON.parse(readFromImage(image, '/var/lib/cloud/data/status.json') ?? 'null') as StatusJson;
      assert.match(status.v1.datasource ?? '', /Azure/);
      for (const stage of ['init-local', 'init', 'modules-config', 'modules-final'] as const) assert.deepEqual(status.v1[stage].errors, [], `no errors in stage ${stage}`);
      // the services, as the guest asked them
      assert.ok(sim.imdsRequests.length >= 1 && sim.imdsRequests.every((q) => q.headers['metadata'] === 'true'));
      assert.deepEqual(sim.reports.map((r) => ({ state: r.state, containerId: r.containerId, instanceId: r.instanceId, answered: r.answered })),
        [{ state: 'Ready', containerId: DEFAULT_GOAL_STATE.containerId, instanceId: DEFAULT_GOAL_STATE.instanceId, answered: 200 }]);
      assert.match(readFromImage(image, `/var/lib/cloud/instances/${UUID}/azure-report.json`) ?? '', /"sentAt": "20/);
      t.diagnostic(`IMDS ${sim.imdsRequests.length} request(s), wireserver ${sim.wireserverRequests.length}; vm id ${swapUuid(UUID)}`);

      // Azure takes the disc away after provisioning; the reboot finds the kept copy and sends nothing.
      const again = await bootOrExplain(t, d, image, dir, { netdev });
      assert.equal(consoleLines(again.console, 'E2E-AZURE-RUNCMD').length, 0, 'per-instance work is not repeated');
      assert.equal(sim.reports.length, 1, 'no report on the reboot');
      assert.match(readFromImage(image, '/var/log/ec2-init.log') ?? '', /datasource Azure: ovf-env.xml from \/var\/lib\/waagent[^]*Ready was reported for this instance on .*; nothing sent/);
      assert.equal(readFromImage(image, '/var/lib/cloud/data/instance-id')?.trim(), UUID);
    } finally {
      await sim.close();
    }
  });
});
