// Boot test of EC2's network config on the first boot (issue 20): a Debian
// bookworm VM under qemu (TCG) with the ec2-init .deb, DMI that says EC2, and
// the IMDS simulator (IMDSv2 only) at 169.254.169.254:80 through qemu's
// guestfwd. The metadata gives the NIC (by its MAC) a second private address,
// 160.0.2.77, which only EC2's network config can put there: slirp's DHCP
// hands out 160.0.2.15 (slirp's host is 160.0.2.2). The slirp network is 160.0.0.0/4, which holds both and
// the metadata address (a static address inside 169.254.0.0/16 is refused by
// systemd-networkd: "Failed to set static address: Invalid argument"; real EC2
// subnets are private ranges, as Azure's VM test does it too). init-local reads the metadata over its ephemeral
// network (the image's dhclient: a lease, the read, everything undone) and
// renders the NIC config before networking, so systemd-networkd brings up
// both addresses on this first boot — the guest prints what it sees.
// restrict=on: nothing leaves this machine.
//
//   npm run deb && node --test test/e2e/ec2-network.e2e.ts   (as root)
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { cannotRun, copyDisk, debPath, disk, readFromImage, recoverImage, removeDir, writeToImage, type Disk } from './image.ts';
import { boot, consoleLines } from './vm.ts';

const VERBOSE = process.env.EC2_INIT_E2E_VERBOSE === '1';
const BOOT_TIMEOUT_MS = Number(process.env.EC2_INIT_E2E_BOOT_TIMEOUT_MS ?? 300_000);
const HOPELESS = [/^shutdown: .*$/m, /Kernel panic - not syncing.*$/m];
const skip = cannotRun() ?? (existsSync(debPath()) ? undefined : `${debPath()} is missing: run npm run deb first`);

const MAC = '52:54:00:e2:ec:02';
const SECONDARY = '160.0.2.77';

// What the guest prints once the secondary address is up (or after 30 s).
const REPORT = `#!/bin/sh
# e2e network report (test/e2e/ec2-network.e2e.ts), not part of ec2-init.
i=0
while [ $i -lt 60 ] && ! ip -4 -o addr show | grep -q " ${SECONDARY}/"; do i=$((i+1)); sleep 0.5; done
{
  echo "E2E-NET-BEGIN waited=$i"
  ip -4 -o addr show | sed 's/^/E2E-NET-ADDR /'
  for f in /run/systemd/netif/links/*; do grep -E '^(ADMIN_STATE|NETWORK_FILE)=' "$f" | sed 's/^/E2E-NET-STATE /'; done
  echo "E2E-NET-END"
} > /dev/ttyS0 2>&1
`;

type StatusJson = { v1: Record<'init-local' | 'init' | 'modules-config' | 'modules-final', { errors: string[] }> & { datasource: string | null } };

describe('VM boot on EC2: its network config takes effect on the first boot (qemu, IMDS through guestfwd)', { skip, timeout: 1_800_000 }, () => {
  let d: Disk;
  const dirs: string[] = [];
  before(() => { d = disk(debPath()); });
  after(() => { if (process.env.EC2_INIT_E2E_KEEP !== '1') for (const dir of dirs) removeDir(dir); });

  it('init-local reads the metadata over a DHCP lease and renders the NIC config: networkd brings up the secondary address on boot 1', async (t) => {
    const { startImdsSimulator, SKIP_REASON } = await import('../helpers/imds-simulator.ts');
    if (SKIP_REASON) { t.skip(SKIP_REASON); return; }
    const nic = `network/interfaces/macs/${MAC}`;
    const sim = await startImdsSimulator({
      mode: 'required',
      userData: '#cloud-config\nruncmd:\n  - [/usr/local/sbin/e2e-net]\n',
      metaData: {
        mac: MAC,
        [`${nic}/mac`]: MAC,
        [`${nic}/device-number`]: '0',
        [`${nic}/local-ipv4s`]: `160.0.2.15\n${SECONDARY}`,
        [`${nic}/subnet-ipv4-cidr-block`]: '160.0.0.0/4',
      },
    });
    try {
      const { dir, image } = copyDisk(d);
      dirs.push(dir);
      writeToImage(image, { '/usr/local/sbin/e2e-net': { content: REPORT, mode: 0o755 }, '/etc/e2e/poweroff': { content: 'harness\n' } });
      const b = await boot({
        dir, image, kernel: d.kernel, initrd: d.initrd, mac: MAC, timeoutMs: BOOT_TIMEOUT_MS, giveUpOn: HOPELESS,
        netdev: `net=160.0.0.0/4,guestfwd=tcp:169.254.169.254:80-cmd:socat - TCP:127.0.0.1:${sim.port}`,
        smbios: ['type=1,manufacturer=Amazon EC2,product=t3.micro,uuid=ec2e2e00-0000-4000-8000-000000000002', 'type=3,manufacturer=Amazon EC2,asset=i-0e2e2e2e2e2e2e2e3'],
        onConsole: VERBOSE ? (s) => process.stderr.write(s.replace(/^/gm, '  | ')) : undefined,
      });
      t.diagnostic(`qemu ran ${(b.ms / 1000).toFixed(1)} s, exit ${b.exitCode}`);
      if (b.exitCode !== 0) recoverImage(image);
      const log = readFromImage(image, '/var/log/ec2-init.log') ?? '(no /var/log/ec2-init.log)';
      if (b.timedOut || b.exitCode !== 0 || b.gaveUp) {
        assert.fail(`the VM did not power off by itself (exit ${b.exitCode}).\n--- console tail ---\n${b.console.replace(/\r/g, '').split('\n').slice(-60).join('\n')}\n--- /var/log/ec2-init.log ---\n${log}`);
      }
      for (const l of log.split('\n').filter((x) => /ephemeral network|datasource Ec2|stage init-local: done/.test(x))) t.diagnostic(`guest log: ${l.replace(/^\S+ /, '')}`);
      // init-local: a lease through the image's dhclient, Ec2 found there, the NIC put back.
      assert.match(log, /ephemeral network: dhclient leased 160\.0\.2\.\d+\/4 on \S+ in \d+ ms/);
      assert.match(log, /step: init-local datasource Ec2 RUN: instance i-/);
      assert.match(log, /ephemeral network: \S+ back as it was in \d+ ms/);
      assert.doesNotMatch(log, /not everything was undone/);
      // The first boot: networkd used ec2-init's file, and the secondary address is up.
      const addrs = consoleLines(b.console, 'E2E-NET-ADDR').map((l) => l.slice(l.indexOf('E2E-NET-ADDR') + 13));
      const state = consoleLines(b.console, 'E2E-NET-STATE').map((l) => l.slice(l.indexOf('E2E-NET-STATE') + 14).trim());
      for (const l of [...addrs, ...state]) t.diagnostic(`guest: ${l.trim()}`);
      assert.ok(addrs.some((a) => a.includes(`inet ${SECONDARY}/4`)), `${SECONDARY} from EC2's config is up on the first boot: ${JSON.stringify(addrs)}`);
      assert.ok(state.some((s) => /^NETWORK_FILE=\/etc\/systemd\/network\/10-cloud-init-\S+\.network$/.test(s)), `networkd used ec2-init's file: ${JSON.stringify(state)}`);
      const record = JSON.parse(readFromImage(image, '/var/lib/cloud/data/network-rendered.json') ?? 'null') as { origin: string; stage?: string } | null;
      assert.equal(record?.origin, 'datasource', JSON.stringify(record));
      const status = JSON.parse(readFromImage(image, '/var/lib/cloud/data/status.json') ?? 'null') as StatusJson;
      for (const stage of ['init-local', 'init', 'modules-config', 'modules-final'] as const) assert.deepEqual(status.v1[stage].errors, [], `no errors in stage ${stage}`);
      assert.ok(sim.requests.every((q) => q.method === 'PUT' || typeof q.headers['x-aws-ec2-metadata-token'] === 'string'), 'IMDSv2 throughout');
    } finally {
      await sim.close();
    }
  });
});
