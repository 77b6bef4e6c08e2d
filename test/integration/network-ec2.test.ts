// EC2's network config from the metadata (src/network/ec2.ts; the conversion
// itself: test/unit/network-ec2.test.ts): the built executable booting from
// the IMDS simulator on 127.0.0.1 (AWS's mock metadata values, plus a second
// NIC where a test adds one) on throw-away roots with planted NICs, checking
// the files rendered for networkd, ifupdown and netplan. Nothing touches this
// machine's network.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SKIP_REASON, startImdsSimulator } from '../helpers/imds-simulator.ts';
import { EC2_PRIMARY_MAC as PRIMARY, EC2_SECOND_MAC as SECOND } from '../helpers/fixtures.ts';
import { plantNic, plantTools, read, writeIn } from '../helpers/files.ts';
import { agentAsync, cannotRun, newRoot, statusProblems } from '../helpers/agent.ts';

const skip = cannotRun() ?? SKIP_REASON ?? false;

/** The second NIC, as IMDS lists it (meta-data leaves the simulator adds to AWS's mock). */
const SECOND_NIC: Record<string, string> = {
  [`network/interfaces/macs/${SECOND}/device-number`]: '1',
  [`network/interfaces/macs/${SECOND}/network-card`]: '0',
  [`network/interfaces/macs/${SECOND}/mac`]: SECOND,
  [`network/interfaces/macs/${SECOND}/local-ipv4s`]: '172.31.50.20\n172.31.50.21',
  [`network/interfaces/macs/${SECOND}/subnet-ipv4-cidr-block`]: '172.31.48.0/20',
  [`network/interfaces/macs/${SECOND}/interface-id`]: 'eni-0000000000000002',
  [`network/interfaces/macs/${SECOND}/vpc-id`]: 'vpc-d295a6a7',
};

describe('EC2 boot renders the metadata\'s network config (built executable, IMDS simulator on 127.0.0.1)', { skip }, () => {

  function ec2Root(url: string, renderers: string, extra = ''): string {
    const root = newRoot();
    writeIn(root, 'etc/cloud/cloud.cfg', `datasource_list: [Ec2]\ndatasource:\n  Ec2:\n    metadata_urls: ['${url}']\n    timeout: 1\n    max_wait: 5\n${extra}` +
      `system_info:\n  network:\n    renderers: [${renderers}]\n`);
    plantNic(root, 'ens5', PRIMARY);
    return root;
  }

  test('one NIC (AWS\'s mock): init-local reads the metadata and renders its config for networkd, before networking', async () => {
    const sim = await startImdsSimulator({ mode: 'required', userData: '#cloud-config\n{}\n' });
    try {
      const root = ec2Root(sim.url, 'networkd');
      plantNic(root, 'ens6', '0e:00:00:00:00:99'); // not in the metadata: not configured
      const local = await agentAsync(root, ['init', '--local']);
      assert.equal(local.status, 0, local.stderr);
      // Under --root no ephemeral network is set up: the source is read over the network there is (127.0.0.1).
      assert.match(local.stderr, /datasource Ec2: read over the network there is \(--root [^)]*: no ephemeral network/);
      assert.match(local.stderr, /step: init-local datasource Ec2 RUN/);
      const early = JSON.parse(read(root, 'var/lib/cloud/data/network-rendered.json')) as { origin: string };
      assert.equal(early.origin, 'datasource', 'the metadata\'s config, already in init-local');
      const requests = sim.requests.length;
      const r = await agentAsync(root, ['init']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sim.requests.length, requests, 'init reuses what init-local read: no request');
      const net = read(root, 'etc/systemd/network/10-cloud-init-ens5.network');
      // DHCP for v4 and v6 (the mock's NIC has an IPv6 address), matched by the MAC, no route metric with one NIC.
      assert.match(net, new RegExp(`\\[Match\\]\\nPermanentMACAddress=${PRIMARY}\\n\\n\\[Network\\]\\nDHCP=yes\\n`));
      assert.doesNotMatch(net, /RouteMetric|^Address=/m);
      assert.equal(existsSync(join(root, 'etc/systemd/network/10-cloud-init-ens6.network')), false);
      const record = JSON.parse(read(root, 'var/lib/cloud/data/network-rendered.json')) as { origin: string; source: string; instanceId: string; files: string[] };
      assert.equal(record.origin, 'datasource');
      assert.match(record.source, /^Ec2 meta-data network\/interfaces\/macs/);
      assert.match(record.instanceId, /^i-/);
      assert.deepEqual(statusProblems(root), []);
      // A reboot (init-local asks only for the instance-id and reuses the cache): kept, not rendered again.
      assert.equal((await agentAsync(root, ['init', '--local'])).status, 0);
      assert.equal((await agentAsync(root, ['init'])).status, 0);
      assert.equal(read(root, 'etc/systemd/network/10-cloud-init-ens5.network'), net);
      assert.match(read(root, 'var/log/ec2-init.log'), /network: kept: rendered on this instance's first boot from Ec2 meta-data/);
    } finally { await sim.close(); }
  });

  test('two NICs for networkd: the primary by device-number (metric 100), the second with metric 200 and its secondary address', async () => {
    const sim = await startImdsSimulator({ mode: 'required', userData: null, metaData: SECOND_NIC });
    try {
      const root = ec2Root(sim.url, 'networkd');
      plantNic(root, 'ens6', SECOND);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      const primary = read(root, 'etc/systemd/network/10-cloud-init-ens5.network');
      assert.match(primary, /DHCP=yes\n/);
      assert.match(primary, /\[DHCPv4\]\nRouteMetric=100\n/);
      const second = read(root, 'etc/systemd/network/10-cloud-init-ens6.network');
      assert.match(second, new RegExp(`PermanentMACAddress=${SECOND}\\n`));
      assert.match(second, /DHCP=ipv4\n/);
      assert.match(second, /Address=172\.31\.50\.21\/20\n/);
      assert.match(second, /\[DHCPv4\]\nRouteMetric=200\n/);
      assert.doesNotMatch(second, /172\.31\.50\.20/, 'the first address is DHCP\'s, not a static one');
      assert.deepEqual(statusProblems(root), []);
    } finally { await sim.close(); }
  });

  test('two NICs for ifupdown: both by DHCP, the secondary address as a static stanza of the second', async () => {
    const sim = await startImdsSimulator({ mode: 'required', userData: null, metaData: SECOND_NIC });
    try {
      const root = ec2Root(sim.url, 'eni');
      plantNic(root, 'ens6', SECOND);
      plantTools(root, ['ifup', 'ifdown', 'ifquery']);
      writeIn(root, 'etc/network/interfaces', 'source /etc/network/interfaces.d/*\n');
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      const eni = read(root, 'etc/network/interfaces.d/50-cloud-init');
      assert.match(eni, /auto ens5\niface ens5 inet dhcp\n/);
      assert.match(eni, /iface ens5 inet6 dhcp\n/);
      assert.match(eni, /auto ens6\niface ens6 inet dhcp\n/);
      assert.match(eni, /iface ens6 inet static\n\s+address 172\.31\.50\.21\/20\n/);
    } finally { await sim.close(); }
  });

  test('two NICs for netplan: policy routing for the second NIC (table 101, default via the subnet router); partial config: only the primary', async () => {
    const sim = await startImdsSimulator({ mode: 'required', userData: null, metaData: SECOND_NIC });
    try {
      const root = ec2Root(sim.url, 'netplan');
      plantNic(root, 'ens6', SECOND);
      plantTools(root, ['netplan']);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      const yaml = read(root, 'etc/netplan/50-cloud-init.yaml');
      assert.match(yaml, /ens6:/);
      assert.match(yaml, /routing-policy:/);
      assert.match(yaml, /from: "?172\.31\.50\.20"?\n/);
      assert.match(yaml, /via: "?172\.31\.48\.1"?\n/);
      assert.match(yaml, /table: 101/);
      assert.match(yaml, /use-routes: true/);
      assert.match(yaml, /route-metric: 100/);
      assert.deepEqual(statusProblems(root), []);

      const partial = ec2Root(sim.url, 'netplan', '    apply_full_imds_network_config: false\n');
      plantNic(partial, 'ens6', SECOND);
      plantTools(partial, ['netplan']);
      assert.equal((await agentAsync(partial, ['boot'])).status, 0);
      const only = read(partial, 'etc/netplan/50-cloud-init.yaml');
      assert.match(only, /ens5:/);
      assert.doesNotMatch(only, /ens6|routing-policy|route-metric/);
    } finally { await sim.close(); }
  });
});
