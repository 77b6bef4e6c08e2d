// Integration: the built executable boots on "Vultr" — DMI under --root (or
// the kernel command line's "vultr" on bare metal), the metadata service
// simulated on 127.0.0.1 (test/helpers/vultr-simulator.ts): user-data and
// vendor-data applied, hostname, ssh key, cloud-id and v1 keys as cloud-init
// gives them, the network config made from `interfaces` rendered for
// networkd, cloud-init's headers sent.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VULTR_KEY, VULTR_PRIVATE_MAC, VULTR_PUBLIC_MAC, startVultrSimulator, vultrMetadata, type VultrSimulator } from '../helpers/vultr-simulator.ts';
import { cloudRoot } from '../helpers/cloud-root.ts';
import { read } from '../helpers/files.ts';
import { agentAsync, cannotRun, statusProblems } from '../helpers/agent.ts';
import { needCommands } from '../helpers/needs.ts';

const skip = cannotRun() ?? needCommands(['ssh-keygen', 'useradd'], 'openssh-client passwd') ?? false;

const VULTR_DMI = { sys_vendor: 'Vultr', product_name: 'VC2', product_serial: '42872224' };
const USER_DATA = '#cloud-config\nwrite_files: [{path: /etc/from-vultr, content: "vultr user-data\\n"}]\n';

function vultrRoot(sim: VultrSimulator, opts: { dmi?: Record<string, string>; list?: string; cmdline?: string } = {}): string {
  return cloudRoot({
    dmi: opts.dmi ?? VULTR_DMI,
    config: `datasource_list: ${opts.list ?? '[Vultr]'}\ndatasource:\n  Vultr:\n    url: ${sim.url}\n    timeout: 2\n    retries: 3\n    wait: 0.05\n`,
    nics: [['ens3', VULTR_PUBLIC_MAC], ['ens7', VULTR_PRIVATE_MAC]],
    cmdline: opts.cmdline,
  });
}

const v1 = (root: string) => (JSON.parse(read(root, 'run/ec2-init/instance-data.json')) as { v1: Record<string, unknown> }).v1;

describe('boot on Vultr (DMI under --root, metadata service simulated on 127.0.0.1)', { skip }, () => {

  test('user-data, vendor-data, hostname, key, cloud-id, v1 keys, interfaces rendered, cloud-init\'s headers', async () => {
    const sim = await startVultrSimulator({ userData: USER_DATA });
    try {
      const root = vultrRoot(sim);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(statusProblems(root), []);
      assert.equal(read(root, 'etc/from-vultr'), 'vultr user-data\n');
      assert.equal(read(root, 'etc/from-vultr-vendor'), 'vendor\n');
      assert.equal(read(root, 'etc/hostname'), 'vultr-guest-1\n');
      assert.match(read(root, 'home/debian/.ssh/authorized_keys'), new RegExp(VULTR_KEY.split(' ')[1]!));
      assert.deepEqual(sim.requests.map((q) => q.path), ['/v1.json']);
      assert.equal(sim.requests[0]!.headers['metadata-token'], 'cloudinit');
      assert.match(sim.requests[0]!.headers['user-agent'] ?? '', /^Cloud-Init\/25\.1 \(ec2-init [^)]+\) - OS: Linux Variant: debian$/);
      assert.equal(read(root, 'run/cloud-init/cloud-id'), 'vultr\n');
      const v = v1(root);
      assert.deepEqual([v['cloud_name'], v['platform'], v['region'], v['availability_zone'], v['instance_id'], v['local_hostname'], v['subplatform']],
        ['vultr', 'vultr', 'us', null, '29bea708-2e6e-480a-90ad-0e6b5d5ad62f', 'vultr-guest-1', 'unknown']);
      // startup-script is a secret (cloud-init's sensitive key): in neither instance-data file.
      assert.doesNotMatch(read(root, 'run/ec2-init/instance-data-sensitive.json'), /secret startup script/);
      const ens3 = read(root, 'etc/systemd/network/10-cloud-init-ens3.network');
      assert.match(ens3, /DHCP=(yes|ipv4)/);
      assert.match(ens3, /IPv6AcceptRA=(yes|true)/);
      assert.match(ens3, /Address=45\.76\.7\.172\/23/);
      assert.match(ens3, /Address=2002:19f0:5:28a7::\/64/);
      assert.match(ens3, /DNS=108\.61\.10\.10/);
      assert.match(read(root, 'etc/systemd/network/10-cloud-init-ens7.network'), /Address=10\.1\.112\.3\/20/);
    } finally { await sim.close(); }
  });

  test('bare metal: "vultr" on the kernel command line says Vultr; an empty hostname is "guest"', async () => {
    const sim = await startVultrSimulator({ metadata: { ...vultrMetadata(null), hostname: '' } });
    try {
      const root = vultrRoot(sim, { dmi: { sys_vendor: 'Supermicro', product_name: 'SYS-5019C-MR' }, list: '[Vultr, NoCloud]', cmdline: 'BOOT_IMAGE=/vmlinuz root=UUID=1 ro vultr' });
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(read(root, 'etc/hostname'), 'guest\n');
      assert.equal(read(root, 'var/lib/cloud/data/user-data.raw'), '');
    } finally { await sim.close(); }
  });

  test('DMI of another cloud, no "vultr" on the command line, no /etc/vultr: never asked', async () => {
    const sim = await startVultrSimulator({});
    try {
      const root = vultrRoot(sim, { dmi: { sys_vendor: 'Hetzner', product_serial: '1' }, list: '[Vultr, NoCloud]', cmdline: 'ro quiet' });
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 2, r.stderr);
      assert.match(read(root, 'var/log/ec2-init.log'), /datasource Vultr: not Vultr/);
      assert.equal(sim.requests.length, 0);
    } finally { await sim.close(); }
  });

  test('a 9 MiB user-data inside the one document is counted once against the 16 MiB budget: kept and applied', async () => {
    // (It was counted twice, as the document and as the user-data, and left out.)
    const userData = `#cloud-config\nwrite_files: [{path: /etc/big-user-data, content: kept}]\n# ${'x'.repeat(9 * 1024 * 1024)}\n`;
    const sim = await startVultrSimulator({ userData });
    try {
      const root = vultrRoot(sim);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(statusProblems(root), []);
      assert.equal(read(root, 'etc/big-user-data'), 'kept');
    } finally { await sim.close(); }
  });
});
