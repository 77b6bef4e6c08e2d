// The pure parts of the GCE, Oracle, DigitalOcean, Hetzner and Vultr sources,
// as tables: detection from DMI, GCE's ssh key filter, each cloud's network
// config conversion (checked against cloud-init's own test data and parsed
// by ec2-init's v1 parser), Hetzner's URLs and base64 rule, Oracle's iSCSI
// root check.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Files } from '../../src/host/files.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import { parseNetworkConfig } from '../../src/network/parse.ts';
import { digitalOceanNetwork } from '../../src/sources/digitalocean.ts';
import { filterKeys, gce, gceBase, gceDefaultUser, keyExpired, keyLines } from '../../src/sources/gce.ts';
import { hetzner, hetznerNetwork, hetznerUrls, maybeBase64 } from '../../src/sources/hetzner.ts';
import { iscsiRoot, oracle, oracleNetwork } from '../../src/sources/oracle.ts';
import type { Platform } from '../../src/sources/platform.ts';
import { digitalOcean } from '../../src/sources/digitalocean.ts';
import { pubkeys } from '../../src/sources/pubkeys.ts';
import { vultr, vultrNetwork } from '../../src/sources/vultr.ts';

function platform(dmi: Partial<Platform['dmi']>, cmdline = '', files: string[] = []): Platform {
  const empty = Object.fromEntries(['sys_vendor', 'product_name', 'product_serial', 'product_uuid', 'product_version', 'chassis_asset_tag',
    'chassis_vendor', 'board_vendor', 'board_name', 'bios_vendor', 'bios_version'].map((k) => [k, ''])) as Platform['dmi'];
  return { dmi: { ...empty, ...dmi }, hypervisorUuid: '', cmdline, pid1Environ: () => [], exists: (p) => files.includes(p) };
}

/** A logger that keeps its warnings. */
function warnings(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { ...silentLogger, lines, warn: (m: string) => { lines.push(m); } };
}

describe('detection from local facts (ds-identify\'s rules)', () => {
  const cases: Array<[string, Platform, string[]]> = [
    ['GCE by product name', platform({ product_name: 'Google Compute Engine' }), ['GCE']],
    ['GCE by serial (no product name)', platform({ product_serial: 'GoogleCloud-1234ABCD' }), ['GCE']],
    ['Oracle by chassis asset tag', platform({ chassis_asset_tag: 'OracleCloud.com' }), ['Oracle']],
    ['DigitalOcean by vendor', platform({ sys_vendor: 'DigitalOcean', product_serial: '22532410' }), ['DigitalOcean']],
    ['Hetzner by vendor', platform({ sys_vendor: 'Hetzner', product_serial: '123456' }), ['Hetzner']],
    ['Vultr by vendor', platform({ sys_vendor: 'Vultr' }), ['Vultr']],
    ['Vultr bare metal by the kernel command line', platform({ sys_vendor: 'Supermicro' }, 'ro vultr quiet'), ['Vultr']],
    ['Vultr by /etc/vultr', platform({}, '', ['/etc/vultr']), ['Vultr']],
    ['not "vultr" inside another word', platform({}, 'ro vultrx=1'), []],
    ['EC2 (Amazon EC2) is none of them', platform({ sys_vendor: 'Amazon EC2', product_name: 't3.micro' }), []],
    ['QEMU is none of them', platform({ sys_vendor: 'QEMU', product_name: 'Standard PC (Q35 + ICH9, 2009)' }), []],
    ['Hetzner is exact (case matters, as in ds-identify)', platform({ sys_vendor: 'hetzner' }), []],
  ];
  for (const [what, p, want] of cases) {
    test(what, () => {
      assert.deepEqual([gce, oracle, digitalOcean, hetzner, vultr].filter((s) => s.detect(p)).map((s) => s.name), want);
    });
  }
  test('every source declares link-local reach, and DigitalOcean a link-local address rather than DHCP', () => {
    assert.deepEqual([gce, oracle, digitalOcean, hetzner, vultr].map((s) => [s.name, s.reach, s.ephemeral]), [
      ['GCE', 'link-local', 'dhcp4'], ['Oracle', 'link-local', 'dhcp4'], ['DigitalOcean', 'link-local', 'link-local4'],
      ['Hetzner', 'link-local', 'dhcp4'], ['Vultr', 'link-local', 'dhcp4'],
    ]);
  });
});

describe('GCE ssh keys', () => {
  const now = Date.UTC(2026, 0, 1);
  test('instance and project keys, unless blocked or legacy sshKeys', () => {
    const project = { 'ssh-keys': 'debian:ssh-ed25519 AAAP project', sshKeys: 'debian:ssh-ed25519 AAAL legacy-project' };
    assert.deepEqual(keyLines({ 'ssh-keys': 'debian:ssh-ed25519 AAAI inst' }, project),
      ['debian:ssh-ed25519 AAAI inst', 'debian:ssh-ed25519 AAAP project', 'debian:ssh-ed25519 AAAL legacy-project']);
    assert.deepEqual(keyLines({ 'ssh-keys': 'debian:k1', 'block-project-ssh-keys': 'TRUE' }, project), ['debian:k1']);
    assert.deepEqual(keyLines({ sshKeys: 'debian:k0', 'ssh-keys': 'debian:k1' }, project), ['debian:k0', 'debian:k1']);
    assert.deepEqual(keyLines({}, { 'ssh-keys': 'a:1\nb:2\n' }), ['a:1', 'b:2', '']);
  });
  const table: Array<[string, string, string | null, boolean]> = [
    ['the default user\'s key', 'debian:ssh-ed25519 AAAA1 me@host', 'debian', true],
    ['"cloudinit"\'s key', 'cloudinit:ssh-ed25519 AAAA2 ci', 'debian', true],
    ['another user\'s key', 'alice:ssh-ed25519 AAAA3 alice', 'debian', false],
    ['no default user: only cloudinit', 'debian:ssh-ed25519 AAAA4 x', null, false],
    ['no USER: part', 'ssh-ed25519 AAAA5 nouser', 'debian', false],
    ['non-ASCII', 'debian:ssh-ed25519 AAAA6 é', 'debian', false],
    ['expired google-ssh key', 'debian:ecdsa-sha2-nistp256 AAAA7 google-ssh {"userName":"u@example.com","expireOn":"2018-11-01T00:00:00+0000"}', 'debian', false],
    ['google-ssh key expiring later', 'debian:ecdsa-sha2-nistp256 AAAA8 google-ssh {"userName":"u@example.com","expireOn":"2030-11-01T00:00:00+00:00"}', 'debian', true],
    ['google-ssh without expireOn', 'debian:ssh-rsa AAAA9 google-ssh {"userName":"u@example.com"}', 'debian', true],
    ['unparsable expireOn is not expiry', 'debian:ssh-rsa AAAB0 google-ssh {"expireOn":"soon"}', 'debian', true],
  ];
  for (const [what, line, user, kept] of table) {
    test(what, () => {
      assert.deepEqual(filterKeys([line], user, now), kept ? [line.slice(line.indexOf(':') + 1)] : []);
    });
  }
  test('expiry instants: Z, +HHMM and +HH:MM offsets', () => {
    const key = (at: string) => `ssh-rsa AAAA google-ssh {"expireOn":"${at}"}`;
    const t = Date.UTC(2026, 5, 1, 12, 0, 0);
    assert.equal(keyExpired(key('2026-06-01T11:59:59Z'), t), true);
    assert.equal(keyExpired(key('2026-06-01T12:00:01Z'), t), false);
    assert.equal(keyExpired(key('2026-06-01T13:30:00+0200'), t), true); // 11:30 UTC
    assert.equal(keyExpired(key('2026-06-01T07:30:00-05:00'), t), false); // 12:30 UTC
    assert.equal(keyExpired('ssh-rsa AAAA other-schema {"expireOn":"2000-01-01T00:00:00Z"}', t), false);
  });
  test('the default user: only where the system config\'s users name "default"', () => {
    const info = { system_info: { default_user: { name: 'debian' } } };
    assert.equal(gceDefaultUser({ users: ['default'], ...info }), 'debian');
    assert.equal(gceDefaultUser({ users: [{ name: 'default' }, 'bob'], ...info }), 'debian');
    assert.equal(gceDefaultUser({ users: ['bob'], ...info }), null);
    assert.equal(gceDefaultUser({ ...info }), null);
    assert.equal(gceDefaultUser({ user: 'ops', ...info }), 'ops');
  });
  test('metadata_url: metadata.google.internal is asked at its address; others as given', () => {
    assert.equal(gceBase({}, silentLogger), 'http://169.254.169.254/computeMetadata/v1/');
    assert.equal(gceBase({ metadata_url: 'http://metadata.google.internal/computeMetadata/v1/' }, silentLogger), 'http://169.254.169.254/computeMetadata/v1/');
    assert.equal(gceBase({ metadata_url: 'http://127.0.0.1:8080/computeMetadata/v1' }, silentLogger), 'http://127.0.0.1:8080/computeMetadata/v1/');
  });
});

describe('Hetzner', () => {
  test('URLs: the defaults, cloud-init 25.1\'s metadata_url/userdata_url, newer paths', () => {
    assert.deepEqual(hetznerUrls({}), {
      metadata: 'http://169.254.169.254/hetzner/v1/metadata',
      privateNetworks: 'http://169.254.169.254/hetzner/v1/metadata/private-networks',
      userdata: 'http://169.254.169.254/hetzner/v1/userdata',
    });
    assert.deepEqual(hetznerUrls({ metadata_url: 'http://127.0.0.1:9/hetzner/v1/metadata', userdata_url: 'http://127.0.0.1:9/hetzner/v1/userdata' }), {
      metadata: 'http://127.0.0.1:9/hetzner/v1/metadata',
      privateNetworks: 'http://127.0.0.1:9/hetzner/v1/metadata/private-networks',
      userdata: 'http://127.0.0.1:9/hetzner/v1/userdata',
    });
    assert.equal(hetznerUrls({ userdata_path: 'ud' }).userdata, 'http://169.254.169.254/hetzner/v1/ud');
  });
  const b = (s: string) => new TextEncoder().encode(s);
  const table: Array<[string, string, string]> = [
    ['cloud-config stays', '#cloud-config\nruncmd: [true]\n', '#cloud-config\nruncmd: [true]\n'],
    ['strict base64 is decoded', Buffer.from('#!/bin/sh\necho hi\n').toString('base64'), '#!/bin/sh\necho hi\n'],
    ['base64 with a newline is not strict: stays', `${Buffer.from('#!/bin/sh\n').toString('base64')}\n`, `${Buffer.from('#!/bin/sh\n').toString('base64')}\n`],
    ['bad padding stays', 'abc', 'abc'],
  ];
  for (const [what, input, want] of table) {
    test(`user-data: ${what}`, () => assert.equal(Buffer.from(maybeBase64(b(input))).toString(), want));
  }
  test('network-config plus a DHCP entry per private network found by MAC', () => {
    const log = warnings();
    const net = { version: 1, config: [{ type: 'physical', name: 'eth0', mac_address: '96:00:00:08:19:da', subnets: [{ type: 'dhcp', ipv4: true }] }] };
    const priv = [{ ip: '10.1.0.2', mac_address: '86:00:00:AA:5D:F8', network: '10.1.0.0/16' }, { ip: '10.2.0.2', mac_address: '86:00:00:00:00:01' }];
    const out = hetznerNetwork(net, priv, new Map([['86:00:00:aa:5d:f8', 'enp7s0']]), log);
    assert.deepEqual(out, { version: 1, config: [...net.config, { type: 'physical', mac_address: '86:00:00:aa:5d:f8', name: 'enp7s0', subnets: [{ ipv4: true, type: 'dhcp' }] }] });
    assert.match(log.lines.join('\n'), /private network 1 \(MAC 86:00:00:00:00:01\): no NIC/);
    assert.equal(hetznerNetwork(null, [], new Map(), silentLogger), undefined);
  });
});

describe('DigitalOcean interfaces → v1 (cloud-init\'s test droplet)', () => {
  const interfaces = {
    private: [{ ipv4: { ip_address: '10.132.6.205', netmask: '255.255.0.0', gateway: '10.132.0.1' }, mac: '04:01:57:d1:9e:02', type: 'private' }],
    public: [{
      ipv4: { ip_address: '192.0.0.20', netmask: '255.255.255.0', gateway: '104.236.0.1' },
      ipv6: { ip_address: '2604:A880:0800:0000:1000:0000:0000:0000', cidr: 64, gateway: '2604:A880:0800:0000:0000:0000:0000:0001' },
      anchor_ipv4: { ip_address: '10.0.0.5', netmask: '255.255.0.0', gateway: '10.0.0.1' },
      mac: '04:01:57:d1:9e:01', type: 'public',
    }],
  };
  const nics = new Map([['04:01:57:d1:9e:01', 'ens1'], ['04:01:57:d1:9e:02', 'ens2']]);
  test('public → eth0 with its gateways (not the anchor\'s), private → eth1 without, DNS', () => {
    const out = digitalOceanNetwork(interfaces, ['2001:4860:4860::8844', '8.8.8.8'], nics, silentLogger);
    assert.deepEqual(out, {
      version: 1,
      config: [
        { type: 'physical', mac_address: '04:01:57:d1:9e:02', name: 'eth1', subnets: [{ type: 'static', control: 'auto', address: '10.132.6.205', netmask: '255.255.0.0' }] },
        {
          type: 'physical', mac_address: '04:01:57:d1:9e:01', name: 'eth0', subnets: [
            { type: 'static', control: 'auto', address: '192.0.0.20', netmask: '255.255.255.0', gateway: '104.236.0.1' },
            { type: 'static', control: 'auto', address: '2604:A880:0800:0000:1000:0000:0000:0000/64', gateway: '2604:A880:0800:0000:0000:0000:0000:0001' },
            { type: 'static', control: 'auto', address: '10.0.0.5', netmask: '255.255.0.0' },
          ],
        },
        { type: 'nameserver', address: ['2001:4860:4860::8844', '8.8.8.8'] },
      ],
    });
    const parsed = parseNetworkConfig({ format: 'value', value: out, where: 'test' }, []);
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(parsed.config!.interfaces.map((i) => [i.name, i.addresses, i.gateway4 ?? null]),
      [['eth1', ['10.132.6.205/16'], null], ['eth0', ['192.0.0.20/24', '2604:A880:0800:0000:1000:0000:0000:0000/64', '10.0.0.5/16'], '104.236.0.1']]);
  });
  test('a NIC that is not on this machine is left out, and said', () => {
    const log = warnings();
    const out = digitalOceanNetwork(interfaces, [], new Map([['04:01:57:d1:9e:01', 'ens1']]), log) as { config: Array<{ name: string }> };
    assert.deepEqual(out.config.map((c) => c.name), ['eth0']);
    assert.match(log.lines.join('\n'), /interfaces\.private: no NIC with MAC 04:01:57:d1:9e:02/);
  });
});

describe('Vultr v1.json → v1 (cloud-init\'s test instance)', () => {
  const interfaces = [
    {
      ipv4: { additional: [], address: '45.76.7.171', gateway: '45.76.6.1', netmask: '255.255.254.0' },
      ipv6: { additional: [{ network: '2002:19f0:5:28a7::', prefix: '64' }], address: '2001:19f0:5:28a7:5400:03ff:fe1b:4eca', network: '2001:19f0:5:28a7::', prefix: '64' },
      mac: '56:00:03:1b:4e:ca', 'network-type': 'public',
    },
    {
      ipv4: { additional: [], address: '10.1.112.3', gateway: '', netmask: '255.255.240.0' },
      ipv6: { additional: [], network: '', prefix: '' },
      mac: '5a:00:03:1b:4e:ca', 'network-type': 'private',
    },
  ];
  const nics = new Map([['56:00:03:1b:4e:ca', 'eth0'], ['5a:00:03:1b:4e:ca', 'eth1']]);
  const expected = {
    version: 1,
    config: [
      { type: 'nameserver', address: ['108.61.10.10', '2001:19f0:300:1704::6'] },
      { name: 'eth0', type: 'physical', mac_address: '56:00:03:1b:4e:ca', 'accept-ra': 1, subnets: [
        { type: 'dhcp', control: 'auto' }, { type: 'ipv6_slaac', control: 'auto' }, { type: 'static6', control: 'auto', address: '2002:19f0:5:28a7::/64' }] },
      { name: 'eth1', type: 'physical', mac_address: '5a:00:03:1b:4e:ca', subnets: [{ type: 'static', control: 'auto', address: '10.1.112.3', netmask: '255.255.240.0' }] },
    ],
  };
  test('interfaces: the first by DHCP and SLAAC, the others static, additional addresses', () => {
    const out = vultrNetwork({ interfaces }, nics, silentLogger);
    assert.deepEqual(out, expected);
    const parsed = parseNetworkConfig({ format: 'value', value: out, where: 'test' }, []);
    assert.deepEqual(parsed.problems, []); // accept-ra: 1 is read as cloud-init reads it
    assert.equal(parsed.config!.interfaces[0]!.acceptRa, true);
  });
  test('an unconfigured private interface is left out', () => {
    const out = vultrNetwork({ interfaces: [interfaces[0], { ...interfaces[1], unconfigured: true }] }, nics, silentLogger) as { config: unknown[] };
    assert.deepEqual(out.config, expected.config.slice(0, 2));
  });
  test('cloud_interfaces: taken as they are, named by MAC', () => {
    const ci = { version: 1, config: [expected.config[0], ...expected.config.slice(1).map((e) => { const { name: _n, ...rest } = e as Record<string, unknown>; return rest; })] };
    assert.deepEqual(vultrNetwork({ cloud_interfaces: ci, interfaces: [] }, nics, silentLogger), expected);
  });
});

describe('Oracle VNICs → v1', () => {
  const vm = [
    { vnicId: 'ocid1.vnic.oc1.phx.a', privateIp: '10.0.0.230', vlanTag: 1039, macAddr: '02:00:17:05:D1:DB', virtualRouterIp: '10.0.0.1', subnetCidrBlock: '10.0.0.0/24' },
    { vnicId: 'ocid1.vnic.oc1.phx.b', privateIp: '10.0.0.231', vlanTag: 1041, macAddr: '00:00:17:02:2B:B1', virtualRouterIp: '10.0.0.1', subnetCidrBlock: '10.0.0.0/24' },
  ];
  const nics = new Map([['02:00:17:05:d1:db', 'ens3'], ['00:00:17:02:2b:b1', 'ens4']]);
  const primary = { name: 'ens3', type: 'physical', mac_address: '02:00:17:05:d1:db', mtu: 9000, subnets: [{ type: 'dhcp' }] };
  const secondary = { name: 'ens4', type: 'physical', mac_address: '00:00:17:02:2b:b1', mtu: 9000, subnets: [{ type: 'static', address: '10.0.0.231/24' }] };
  const table: Array<[string, boolean, boolean, unknown[]]> = [
    ['primary only (the default)', true, false, [primary]],
    ['primary and secondaries', true, true, [primary, secondary]],
    ['iSCSI root with secondaries: the primary left alone', false, true, [secondary]],
    ['iSCSI root, no secondaries: nothing', false, false, []],
  ];
  for (const [what, withPrimary, secondaries, want] of table) {
    test(what, () => assert.deepEqual(oracleNetwork(vm, withPrimary, secondaries, nics, silentLogger), want));
  }
  test('IPv6-only VNICs: the primary by DHCPv6, a secondary static with its subnet\'s prefix', () => {
    const v6 = [
      { ipv6Addresses: ['2603:c020:400d:5dbb:e94a:a85d:26e3:e0d4'], ipv6SubnetCidrBlock: '2603:c020:400d:5dbb::/64', ipv6VirtualRouterIp: 'fe80::200:17ff:fe40:8972', macAddr: '02:00:17:0D:6B:BE' },
      { ipv6Addresses: ['2603:c020:400d:5d7e:aacc:8e5f:3b1b:3a4a'], ipv6SubnetCidrBlock: '2603:c020:400d:5d7e::/64', ipv6VirtualRouterIp: 'fe80::200:17ff:fe40:8972', macAddr: '02:00:17:18:F6:FF' },
    ];
    const out = oracleNetwork(v6, true, true, new Map([['02:00:17:0d:6b:be', 'ens3'], ['02:00:17:18:f6:ff', 'ens4']]), silentLogger);
    assert.deepEqual(out.map((c) => c['subnets']), [[{ type: 'dhcp6' }], [{ type: 'static', address: '2603:c020:400d:5d7e:aacc:8e5f:3b1b:3a4a/64' }]]);
  });
  test('bare metal (nicIndex): secondaries are not configured, and said', () => {
    const log = warnings();
    const bm = vm.map((v) => ({ ...v, nicIndex: 0 }));
    assert.deepEqual(oracleNetwork(bm, false, true, nics, log), []);
    assert.match(log.lines.join('\n'), /bare metal/);
  });
  test('the iSCSI root: iBFT flags (valid and boot-selected), or the initramfs\'s /run/net-*.cfg, under the root', () => {
    const root = mkdtempSync(join(tmpdir(), 'ec2-init-oracle-'));
    try {
      const files = new Files(root);
      assert.equal(iscsiRoot(files), null);
      const flags = (t: string, v: string) => { mkdirSync(join(root, 'sys/firmware/ibft', t), { recursive: true }); writeFileSync(join(root, 'sys/firmware/ibft', t, 'flags'), `${v}\n`); };
      flags('target0', '1'); // valid, not the boot target
      flags('target1', 'garbage');
      assert.equal(iscsiRoot(files), null);
      flags('target2', '3');
      assert.match(iscsiRoot(files) ?? '', /iBFT target2/);
      rmSync(join(root, 'sys'), { recursive: true });
      mkdirSync(join(root, 'run'));
      writeFileSync(join(root, 'run/net-ens3.cfg'), "DEVICE='ens3'\nPROTO='dhcp'\n");
      assert.match(iscsiRoot(files) ?? '', /initramfs configured the network \(\/run\/net-ens3\.cfg\)/);
    } finally { rmSync(root, { recursive: true, force: true }); }
  });
});

test('ssh keys in any shape the services use', () => {
  assert.deepEqual(pubkeys('ssh-rsa A a\n\nssh-ed25519 B b\n'), ['ssh-rsa A a', 'ssh-ed25519 B b']);
  assert.deepEqual(pubkeys(['ssh-rsa A', '', 7]), ['ssh-rsa A']);
  assert.deepEqual(pubkeys({ one: 'ssh-rsa A', two: ['ssh-rsa B', ''] }), ['ssh-rsa A', 'ssh-rsa B']);
  assert.deepEqual(pubkeys(null), []);
});
