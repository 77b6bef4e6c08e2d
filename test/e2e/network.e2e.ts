// Boot tests of network rendering (issue 13): a Debian bookworm VM under qemu
// (TCG) with the ec2-init .deb gets a static address from its seed, and what
// the guest itself sees — the NIC's name, its addresses, the default route
// and the DNS servers — is printed on the serial console by a script the
// user-data runs, and checked here.
//   1. NoCloud network-config v2 on a cidata ISO: the NIC matched by its MAC,
//      renamed (set-name), two static addresses, a default route, DNS.
//   2. Config drive: network_data.json on a config-2 ISO: the NIC found by its
//      MAC, a static address, a default route, a DNS service.
// The network is qemu's user networking (slirp) with restrict=on, as in
// vm.ts: nothing leaves this machine. The static addresses are inside slirp's
// 10.0.2.0/24 (gateway 10.0.2.2, DNS 10.0.2.3) but ones its DHCP never hands
// out (it starts at 10.0.2.15), so an address seen in the guest can only come
// from the config ec2-init rendered; each guest also has a MAC of its own.
// No packet goes beyond slirp: the default route is proven by the kernel's
// choice for an off-link address (ip route get, nothing sent) and by the
// gateway's answer to ARP (a datagram to 10.0.2.2 itself, dropped by slirp).
//
// The image renders for systemd-networkd (no ifupdown, no netplan in it;
// iproute2's ip, which the renderer needs, prints the addresses and routes in
// the guest). The image has no systemd-resolved, so DNS is
// checked where networkd keeps it (its per-link state, networkctl), not in
// /etc/resolv.conf.
//
//   CI=1 npm run deb && node --test test/e2e/network.e2e.ts   (as root)
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { agentFeatures, type Features } from './features.ts';
import {
  cannotRun, copyDisk, debPath, disk, makeIso, readFromImage, recoverImage, removeDir, writeToImage, type Disk,
} from './image.ts';
import { boot, consoleLines, type Boot } from './vm.ts';

const VERBOSE = process.env.EC2_INIT_E2E_VERBOSE === '1';
const BOOT_TIMEOUT_MS = Number(process.env.EC2_INIT_E2E_BOOT_TIMEOUT_MS ?? 300_000);
const HOPELESS = [/^shutdown: .*$/m, /Kernel panic - not syncing.*$/m];

const skip = cannotRun()
  ?? (existsSync(debPath()) ? undefined : `${debPath()} is missing: run npm run deb first`);

// What the guest prints, once its address $1 is up (networkd may still be at it when the final stage starts).
const NET_REPORT = `#!/bin/sh
# e2e network report (test/e2e/network.e2e.ts), not part of ec2-init.
want=$1
i=0
while [ $i -lt 60 ] && ! ip -4 -o addr show | grep -q " $want/"; do i=$((i+1)); sleep 0.5; done
# The gateway answers ARP (slirp drops the datagram itself: nothing leaves the VM's host).
bash -c 'echo e2e > /dev/udp/10.0.2.2/9' 2>/dev/null || true
sleep 1
{
  echo "E2E-NET-BEGIN waited=$i"
  for n in /sys/class/net/*; do echo "E2E-NET-LINK $(basename "$n") $(cat "$n/address") $(cat "$n/ifindex") $(cat "$n/operstate")"; done
  ip -4 -o addr show | sed 's/^/E2E-NET-ADDR /'
  ip -4 route show | sed 's/^/E2E-NET-ROUTE /'
  ip route get 192.0.2.1 | sed 's/^/E2E-NET-GET /'
  ip neigh show | sed 's/^/E2E-NET-NEIGH /'
  for f in /run/systemd/netif/links/*; do
    grep -E '^(ADMIN_STATE|OPER_STATE|NETWORK_FILE|DNS|DOMAINS)=' "$f" | sed "s|^|E2E-NET-STATE $(basename "$f") |"
  done
  sed 's/^/E2E-NET-RESOLV /' /etc/resolv.conf
  networkctl status --no-pager 2>&1 | sed 's/^/E2E-NET-CTL /'
  echo "E2E-NET-END"
} > /dev/ttyS0 2>&1
`;

interface NetReport {
  links: Array<{ name: string; mac: string; ifindex: string; state: string }>;
  addrs: string[];
  routes: string[];
  get: string[];
  neigh: string[];
  /** ifindex → networkd's state lines (KEY=value). */
  state: Map<string, string[]>;
  resolv: string[];
  ctl: string[];
}

function parseNet(consoleText: string): NetReport {
  const body = (tag: string) => consoleLines(consoleText, `E2E-NET-${tag} `).map((l) => l.slice(l.indexOf(`E2E-NET-${tag} `) + `E2E-NET-${tag} `.length).trim());
  const state = new Map<string, string[]>();
  for (const l of body('STATE')) {
    const [idx, kv] = [l.split(' ')[0]!, l.split(' ').slice(1).join(' ')];
    state.set(idx, [...(state.get(idx) ?? []), kv]);
  }
  return {
    links: body('LINK').map((l) => { const [name, mac, ifindex, st] = l.split(' '); return { name: name!, mac: mac!, ifindex: ifindex!, state: st! }; }),
    addrs: body('ADDR'), routes: body('ROUTE'), get: body('GET'), neigh: body('NEIGH'), state, resolv: body('RESOLV'), ctl: body('CTL'),
  };
}

function echo(prefix: string): ((t: string) => void) | undefined {
  return VERBOSE ? (t) => process.stderr.write(t.replace(/^/gm, prefix)) : undefined;
}

interface StageJson { start: number | null; finished: number | null; errors: string[] }
type StatusJson = { v1: Record<'init-local' | 'init' | 'modules-config' | 'modules-final', StageJson> & { datasource: string | null } };

describe('VM boot: static network config from the seed (qemu, Debian bookworm, systemd-networkd)', { skip, timeout: 1_800_000 }, () => {
  let d: Disk;
  let f: Features;
  const dirs: string[] = [];

  before(() => {
    d = disk(debPath());
    f = agentFeatures(d.deb);
  });

  after(() => {
    if (process.env.EC2_INIT_E2E_KEEP === '1') return;
    for (const dir of dirs) removeDir(dir);
  });

  /** A copy of the disk with the report script and the harness's poweroff. */
  function prepare(): { dir: string; image: string } {
    const { dir, image } = copyDisk(d);
    dirs.push(dir);
    writeToImage(image, {
      '/usr/local/sbin/e2e-net': { content: NET_REPORT, mode: 0o755 },
      '/etc/e2e/poweroff': { content: 'harness\n' },
    });
    return { dir, image };
  }

  async function bootIt(t: TestContext, image: string, dir: string, cdrom: string, mac: string): Promise<Boot> {
    const b = await boot({ dir, image, kernel: d.kernel, initrd: d.initrd, cdrom, mac, timeoutMs: BOOT_TIMEOUT_MS, onConsole: echo('  | '), giveUpOn: HOPELESS });
    t.diagnostic(`qemu ran ${(b.ms / 1000).toFixed(1)} s${b.timedOut ? ' (killed at the timeout)' : ''}${b.gaveUp ? ` (killed after "${b.gaveUp}")` : ''}, exit ${b.exitCode}`);
    if (b.exitCode !== 0) recoverImage(image);
    const log = () => readFromImage(image, '/var/log/ec2-init.log') ?? '(no /var/log/ec2-init.log)';
    if (b.timedOut || b.exitCode !== 0 || b.gaveUp) {
      const tail = b.console.replace(/\r/g, '').split('\n').slice(-60).join('\n');
      assert.fail(`the VM did not power off by itself (exit ${b.exitCode}).\nqemu: ${b.stderr}\n--- console tail ---\n${tail}\n--- /var/log/ec2-init.log ---\n${log()}`);
    }
    if (consoleLines(b.console, 'E2E-NET-END').length !== 1) {
      assert.fail(`the guest printed no network report.\n--- /var/log/ec2-init.log ---\n${log()}\n--- console tail ---\n${b.console.replace(/\r/g, '').split('\n').slice(-80).join('\n')}`);
    }
    return b;
  }

  /** What every scenario checks: the NIC with `mac` has `addresses` (and no DHCP one), the default route, DNS; no errors. */
  function checkGuest(t: TestContext, b: Boot, image: string, o: { mac: string; name?: string; addresses: string[]; dns: string; domain?: string }): string {
    const net = parseNet(b.console);
    for (const l of consoleLines(b.console, 'E2E-NET-').filter((x) => !x.includes('E2E-NET-CTL'))) t.diagnostic(l.replace(/.*?E2E-NET-/, 'guest: ').trim());
    const link = net.links.find((l) => l.mac === o.mac);
    assert.ok(link, `a NIC with MAC ${o.mac}: ${JSON.stringify(net.links)}`);
    if (o.name) assert.equal(link.name, o.name, `renamed by set-name: ${JSON.stringify(net.links)}`);
    const mine = net.addrs.filter((a) => new RegExp(`^\\d+: ${link.name}\\s`).test(a));
    for (const a of o.addresses) assert.ok(mine.some((l) => l.includes(`inet ${a} `)), `${link.name} has ${a}: ${JSON.stringify(net.addrs)}`);
    assert.ok(!net.addrs.some((l) => /inet 10\.0\.2\.(1[5-9]|[2-3]\d)\//.test(l)), `no address from slirp's DHCP: ${JSON.stringify(net.addrs)}`);
    assert.ok(net.routes.some((r) => new RegExp(`^default via 10\\.0\\.2\\.2 dev ${link.name}\\b`).test(r)), `default route via 10.0.2.2 on ${link.name}: ${JSON.stringify(net.routes)}`);
    // The kernel sends an off-link destination to the gateway, from the configured address; the gateway answered ARP.
    assert.ok(net.get.some((g) => new RegExp(`via 10\\.0\\.2\\.2 dev ${link.name}\\b.*src ${o.addresses[0]!.split('/')[0]!.replace(/\./g, '\\.')}\\b`).test(g)), `ip route get: ${JSON.stringify(net.get)}`);
    assert.ok(net.neigh.some((n) => /^10\.0\.2\.2 dev \S+ lladdr 52:55:0a:00:02:02/.test(n)), `the gateway answered ARP: ${JSON.stringify(net.neigh)}`);
    // networkd configured it from ec2-init's file, with the DNS of the config.
    const state = net.state.get(link.ifindex) ?? [];
    assert.ok(state.includes(`NETWORK_FILE=/etc/systemd/network/10-cloud-init-${link.name}.network`), `networkd used ec2-init's file: ${JSON.stringify(state)}`);
    assert.ok(state.includes('ADMIN_STATE=configured'), `networkd configured ${link.name}: ${JSON.stringify(state)}`);
    assert.ok(state.some((s) => s.startsWith('DNS=') && s.split(/[= ]/).includes(o.dns)), `DNS ${o.dns} for ${link.name}: ${JSON.stringify(state)}`);
    if (o.domain) assert.ok(state.some((s) => s.startsWith('DOMAINS=') && s.includes(o.domain!)), `search domain ${o.domain}: ${JSON.stringify(state)}`);
    const status = JSON.parse(readFromImage(image, '/var/lib/cloud/data/status.json') ?? 'null') as StatusJson;
    for (const stage of ['init-local', 'init', 'modules-config', 'modules-final'] as const) {
      assert.deepEqual(status.v1[stage].errors, [], `no errors in stage ${stage}`);
    }
    const record = JSON.parse(readFromImage(image, '/var/lib/cloud/data/network-rendered.json') ?? 'null') as { origin: string; renderer: string; source: string } | null;
    assert.equal(record?.origin, 'datasource', JSON.stringify(record));
    assert.equal(record?.renderer, 'networkd');
    t.diagnostic(`rendered from ${record?.source} for ${record?.renderer}`);
    return link.name;
  }

  it('1. NoCloud network-config v2 on a cidata ISO: MAC match, set-name, two static addresses, default route, DNS', async (t) => {
    if (!f.cidataVolume) { t.skip('the agent cannot read a cidata volume yet'); return; }
    const mac = '52:54:00:e2:e0:01';
    const { dir, image } = prepare();
    const iso = join(dir, 'seed.iso');
    makeIso(iso, 'cidata', {
      'meta-data': 'instance-id: iid-e2e-net-nocloud-1\nlocal-hostname: e2e-net-nocloud\n',
      'user-data': '#cloud-config\nruncmd:\n  - [/usr/local/sbin/e2e-net, 10.0.2.50]\n',
      'network-config': [
        'version: 2',
        'ethernets:',
        '  e2e-nic:',
        '    match:',
        `      macaddress: "${mac}"`,
        '    set-name: e2enet0',
        '    addresses: [10.0.2.50/24, 10.0.2.51/24]',
        '    routes:',
        '      - to: default',
        '        via: 10.0.2.2',
        '    nameservers:',
        '      addresses: [10.0.2.3]',
        '      search: [e2e.example]',
        '',
      ].join('\n'),
    });
    const b = await bootIt(t, image, dir, iso, mac);
    checkGuest(t, b, image, { mac, name: 'e2enet0', addresses: ['10.0.2.50/24', '10.0.2.51/24'], dns: '10.0.2.3', domain: 'e2e.example' });
    assert.match(readFromImage(image, '/etc/systemd/network/10-cloud-init-e2enet0.link') ?? '', new RegExp(`PermanentMACAddress=${mac}[^]*Name=e2enet0`), 'the .link that names it on later boots');
  });

  it('2. config drive: network_data.json on a config-2 ISO: MAC match, static address, default route, DNS service', async (t) => {
    if (!f.configDrive) { t.skip('the agent cannot read a config-2 volume yet'); return; }
    const mac = '52:54:00:e2:e0:02';
    const { dir, image } = prepare();
    const iso = join(dir, 'config-2.iso');
    const uuid = 'e2e0c0f1-2222-4333-8444-5555666700aa';
    makeIso(iso, 'config-2', {
      'openstack/latest/meta_data.json': JSON.stringify({ uuid, hostname: 'e2e-net-configdrive', name: 'e2e-net-configdrive', launch_index: 0 }),
      'openstack/latest/user_data': '#!/bin/sh\nexec /usr/local/sbin/e2e-net 10.0.2.60\n',
      'openstack/latest/network_data.json': JSON.stringify({
        links: [{ id: 'tap0e2e', type: 'ovs', ethernet_mac_address: mac, mtu: 1500, vif_id: 'e2e-vif' }],
        networks: [{
          id: 'network0', type: 'ipv4', link: 'tap0e2e', ip_address: '10.0.2.60', netmask: '255.255.255.0', network_id: 'e2e-net',
          routes: [{ network: '0.0.0.0', netmask: '0.0.0.0', gateway: '10.0.2.2' }],
        }],
        services: [{ type: 'dns', address: '10.0.2.3' }],
      }),
    });
    const b = await bootIt(t, image, dir, iso, mac);
    const name = checkGuest(t, b, image, { mac, addresses: ['10.0.2.60/24'], dns: '10.0.2.3' });
    assert.equal(readFromImage(image, '/var/lib/cloud/data/instance-id')?.trim(), uuid);
    assert.match(readFromImage(image, `/etc/systemd/network/10-cloud-init-${name}.network`) ?? '', new RegExp(`PermanentMACAddress=${mac}`));
  });
});
