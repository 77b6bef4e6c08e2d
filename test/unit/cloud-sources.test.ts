// The pure parts of the Akamai, AliYun, CloudStack, Exoscale, Scaleway and
// UpCloud datasources, as tables: settings and their overrides, decoding,
// keys, lease files, and each cloud's network config — checked against the
// cases of cloud-init's own tests (tests/unittests/sources/test_<cloud>.py).
// Booting the built executable from each cloud's simulator:
// test/integration/sources-<cloud>.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pythonBase64 } from '../../src/bytes.ts';
import { akamaiConfig, akamaiPlan, dmiOverrides } from '../../src/sources/akamai.ts';
import { aliyunKeys, aliyunNetworkConfig, decodeValues } from '../../src/sources/aliyun.ts';
import { defaultGateway, passwordConfig } from '../../src/sources/cloudstack.ts';
import { passwordUrl } from '../../src/sources/exoscale.ts';
import { dhclientLeases, networkdLease } from '../../src/sources/leases.ts';
import { scalewayKeys, scalewayNetworkConfig } from '../../src/sources/scaleway.ts';
import { upcloudNetworkConfig } from '../../src/sources/upcloud.ts';
import type { Nic } from '../../src/network/sysfs.ts';
import { UPCLOUD_EXAMPLE } from '../helpers/upcloud-simulator.ts';

const nic = (name: string, mac: string, carrier = true): Nic => ({
  name, mac, driver: 'virtio_net', physical: true, bond: false, bridge: false, vlan: false, carrier, dormant: false, operstate: carrier ? 'up' : 'down',
});

describe('Akamai', () => {
  test('which endpoints each stage asks (cloud-init test_should_fetch_data, plus the order)', () => {
    const rows: [string, 'local' | 'network', Record<string, unknown>, ReturnType<typeof akamaiPlan>][] = [
      ['defaults, init-local', 'local', {}, ['ipv6', 'ipv4']],
      ['defaults, init', 'network', {}, ['ipv6', 'ipv4']],
      ['no DHCP, init-local: IPv6 only', 'local', { allow_dhcp: false }, ['ipv6']],
      ['no DHCP nor IPv6, init-local: defer', 'local', { allow_dhcp: false, allow_ipv6: false }, 'defer'],
      ['no DHCP nor IPv6, init: IPv4', 'network', { allow_dhcp: false, allow_ipv6: false }, ['ipv4']],
      ['local stage off, init-local: defer', 'local', { allow_local_stage: false }, 'defer'],
      ['local stage off, init', 'network', { allow_local_stage: false }, ['ipv6', 'ipv4']],
      ['init stage off, init-local', 'local', { allow_init_stage: false }, ['ipv6', 'ipv4']],
      ['init stage off, init: defer', 'network', { allow_init_stage: false }, 'defer'],
      ['no IPv4 nor IPv6: local data only', 'local', { allow_ipv4: false, allow_ipv6: false }, 'none'],
      ['no stage at all: local data only', 'network', { allow_local_stage: false, allow_init_stage: false }, 'none'],
      ['no IPv4, init', 'network', { allow_ipv4: false }, ['ipv6']],
    ];
    for (const [what, stage, cfg, want] of rows) assert.deepEqual(akamaiPlan(akamaiConfig(cfg, ''), stage), want, what);
  });

  test("DMI's board serial overrides the system config; base_urls and paths merge with the defaults", () => {
    assert.deepEqual(dmiOverrides('als=0;ais=1;dhcp=01;v6=0;pmp=f2:3,12:34'), { als: false, ais: true, dhcp: true, v6: false });
    assert.deepEqual(dmiOverrides(''), {});
    assert.deepEqual(dmiOverrides('v4=x;zz=1'), {});
    const c = akamaiConfig({ allow_ipv6: true, base_urls: { ipv4: 'http://12.34.56.78' }, paths: { token: '/changed' } }, 'v6=0');
    assert.equal(c.allowIpv6, false);
    assert.deepEqual(c.baseUrls, { ipv4: 'http://12.34.56.78', ipv6: 'http://[fd00:a9fe:a9fe::1]' });
    assert.deepEqual(c.paths, { token: '/changed', metadata: '/v1/instance', userdata: '/v1/user-data' });
  });

  test('user-data base64 as Python reads it (cloud-init test_fetch_metadata)', () => {
    const rows: [string, string | null][] = [
      ['dGVzdGluZyBlbmNvZGVkIHVzZXJkYXRh', 'testing encoded userdata'],
      ['dGVzdDHwn4yKdGVzdDI=', 'test1\u{1F30A}test2'],
      ['dGVz\ndGluZw==\n', 'testing'],
      ['#!/bin/sh\necho hi\n', null], // what is left of it is no whole base64: used as sent
      ['YQ', null], // padding missing
    ];
    for (const [input, want] of rows) {
      const got = pythonBase64(input);
      assert.equal(got === null ? null : Buffer.from(got).toString('utf8'), want, input);
    }
    assert.deepEqual([...pythonBase64('H4sIAAAAAAACAytJLS7hAgDGNbk7BQAAAA==')!.slice(0, 3)], [0x1f, 0x8b, 0x08]); // gzip stays bytes
  });
});

describe('AliYun', () => {
  test('meta-data/all values decoded as the tree leaves are; public-keys in their three shapes', () => {
    assert.deepEqual(decodeValues({ a: 'x\r\ny', b: '{"k": 1}', c: { d: 'plain' }, e: 7, f: '' }), { a: ['x', 'y'], b: { k: 1 }, c: { d: 'plain' }, e: 7, f: '' });
    assert.deepEqual(aliyunKeys({ 0: { 'openssh-key': 'ssh-rsa AAAA one ' }, k2: 'ssh-rsa BBBB two', k3: ['ssh-rsa CCCC three'] }),
      ['ssh-rsa AAAA one', 'ssh-rsa BBBB two', 'ssh-rsa CCCC three']);
    assert.deepEqual(aliyunKeys(undefined), []);
  });

  test('network config (cloud-init test_aliyun: one NIC; two NICs with metrics; IPv6; only the primary)', () => {
    const one = { interfaces: { macs: { '00:16:3e:14:59:58': { gateway: '172.16.101.253' } } } };
    assert.deepEqual(aliyunNetworkConfig(one, [nic('eth0', '00:16:3e:14:59:58')], true), {
      version: 2, ethernets: { eth0: { dhcp4: true, dhcp6: false, match: { macaddress: '00:16:3e:14:59:58' }, 'set-name': 'eth0' } },
    });
    const two = { interfaces: { macs: { '00:16:3E:14:59:58': {}, '00:16:3e:14:59:59': { ipv6s: '[2408::1]' } } } };
    const nics = [nic('eth10', '00:16:3e:14:59:59'), nic('eth2', '00:16:3e:14:59:58'), nic('eth5', 'aa:aa:aa:aa:aa:aa')];
    assert.deepEqual(aliyunNetworkConfig(two, nics, true), {
      version: 2,
      ethernets: {
        eth2: { dhcp4: true, dhcp6: false, match: { macaddress: '00:16:3e:14:59:58' }, 'set-name': 'eth2', 'dhcp4-overrides': { 'route-metric': 100 } },
        eth10: { dhcp4: true, dhcp6: true, match: { macaddress: '00:16:3e:14:59:59' }, 'set-name': 'eth10', 'dhcp4-overrides': { 'route-metric': 200 }, 'dhcp6-overrides': { 'route-metric': 200 } },
      },
    });
    assert.deepEqual(aliyunNetworkConfig(two, [nic('eth0', '00:16:3e:14:59:59'), nic('eth1', '00:16:3e:14:59:58', false)], false), {
      version: 2, ethernets: { eth0: { dhcp4: true, dhcp6: true, match: { macaddress: '00:16:3e:14:59:59' }, 'set-name': 'eth0' } },
    });
    assert.equal(aliyunNetworkConfig({ interfaces: {} }, nics, true), null);
  });
});

describe('CloudStack and Exoscale', () => {
  test('lease files: dhclient (cloud-init test_cloudstack), networkd; /proc/net/route', () => {
    const dhclient = 'lease {\n  interface "eth0";\n  fixed-address 10.0.0.5;\n  option dhcp-server-identifier 10.0.0.1;\n  option domain-name "a.example";\n}\n' +
      'lease {\n  interface "eth0";\n  fixed-address 10.0.0.6;\n  option dhcp-server-identifier 168.63.129.16;\n}\n';
    assert.deepEqual(dhclientLeases(dhclient).map((l) => [l['fixed-address'], l['dhcp-server-identifier'], l['domain-name']]),
      [['10.0.0.5', '10.0.0.1', 'a.example'], ['10.0.0.6', '168.63.129.16', undefined]]);
    assert.deepEqual(dhclientLeases(''), []);
    assert.equal(networkdLease('# This is private data. Do not parse.\nADDRESS=10.1.1.57\nSERVER_ADDRESS=10.1.1.1\n')['SERVER_ADDRESS'], '10.1.1.1');
    const route = 'Iface\tDestination\tGateway \tFlags\nens3\t0001A8C0\t00000000\t0001\nens3\t00000000\t0101A8C0\t0003\n';
    assert.equal(defaultGateway(route), '192.168.1.1');
    assert.equal(defaultGateway('Iface\tDestination\tGateway\n'), null);
  });

  test("the password's config, and where the password server is", () => {
    assert.deepEqual(passwordConfig('p@ss'), { ssh_pwauth: true, password: 'p@ss', chpasswd: { expire: false } });
    assert.equal(passwordConfig(null), undefined);
    const rows: [string, number, string, string][] = [
      ['http://169.254.169.254', 8080, '1.0', 'http://169.254.169.254:8080/1.0/'],
      ['http://127.0.0.1:4567/', 4568, '1.0', 'http://127.0.0.1:4568/1.0/'],
      ['http://[fd00::1]', 8080, '2.0', 'http://[fd00::1]:8080/2.0/'],
    ];
    for (const [url, port, version, want] of rows) assert.equal(passwordUrl(url, port, version), want);
  });
});

describe('Scaleway', () => {
  test('keys from ssh_public_keys and AUTHORIZED_KEY tags (cloud-init test_ssh_keys_*)', () => {
    assert.deepEqual(scalewayKeys({
      tags: ['AUTHORIZED_KEY=ssh-rsa_AAAAB3NzaC1yc2EAAAADAQABDDDDD', 'other'],
      ssh_public_keys: [{ key: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABA', fingerprint: '2048 06:ae:...  login (RSA)' }],
    }), ['ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABA', 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABDDDDD']);
    assert.deepEqual(scalewayKeys({ tags: [], ssh_public_keys: [] }), []);
  });

  test('network config (cloud-init test_*_config_ok)', () => {
    const v4 = { address: '10.10.10.10', netmask: '32', family: 'inet' };
    const v4b = { address: '20.20.20.20', netmask: '32', family: 'inet' };
    const v6 = { address: '2001:aaa:aaaa:a:aaaa:aaaa:aaaa:1', netmask: '64', gateway: 'fe80::ffff:ffff:ffff:fff1', family: 'inet6' };
    const route42 = { 'on-link': true, to: '169.254.42.42/32', via: '62.210.0.1' };
    const rows: [string, unknown[], Record<string, unknown>][] = [
      ['the DHCP address only', [{ address: '10.10.10.10' }], { dhcp4: true, routes: [route42] }],
      ['a second IPv4', [v4, v4b], { dhcp4: true, addresses: ['20.20.20.20/32'], routes: [route42] }],
      ['IPv6 only', [v6], { addresses: ['2001:aaa:aaaa:a:aaaa:aaaa:aaaa:1/64'], routes: [{ via: 'fe80::ffff:ffff:ffff:fff1', to: '::/0' }] }],
      ['IPv4 then IPv6', [v4, v6], { dhcp4: true, addresses: ['2001:aaa:aaaa:a:aaaa:aaaa:aaaa:1/64'], routes: [route42, { via: 'fe80::ffff:ffff:ffff:fff1', to: '::/0' }] }],
      ['IPv6 then IPv4', [v6, v4], { dhcp4: true, addresses: ['2001:aaa:aaaa:a:aaaa:aaaa:aaaa:1/64'], routes: [{ via: 'fe80::ffff:ffff:ffff:fff1', to: '::/0' }, route42] }],
    ];
    for (const [what, ips, want] of rows) assert.deepEqual(scalewayNetworkConfig(ips, 'ens2', '10.10.10.10'), { version: 2, ethernets: { ens2: want } }, what);
  });
});

describe('UpCloud', () => {
  test('network config of its example (cloud-init test_network_configuration)', () => {
    const macs = new Map(UPCLOUD_EXAMPLE.network.interfaces.map((i, n) => [i.mac, `eth${n}`] as [string, string]));
    const missing: string[] = [];
    const cfg = upcloudNetworkConfig(UPCLOUD_EXAMPLE.network, macs, (w) => missing.push(w));
    assert.equal(missing.length, 0, missing.join('; '));
    assert.deepEqual(cfg, {
      version: 1,
      config: [
        { type: 'physical', name: 'eth0', mac_address: '3a:d6:ba:4a:36:e7', subnets: [{ type: 'dhcp' }, { type: 'static', control: 'auto', address: '94.237.105.50', netmask: '32' }] },
        { type: 'physical', name: 'eth1', mac_address: '3a:d6:ba:4a:84:cc', subnets: [{ type: 'dhcp' }] },
        { type: 'physical', name: 'eth2', mac_address: '3a:d6:ba:4a:63:e7', subnets: [{ type: 'ipv6_dhcpv6-stateless' }] },
        { type: 'physical', name: 'eth3', mac_address: '3a:d6:ba:4a:8a:e1', subnets: [{ type: 'static', control: 'auto', address: '172.30.1.10', gateway: '172.30.1.1', netmask: '24', dns_nameservers: ['172.30.0.2'] }] },
        { type: 'nameserver', address: ['94.237.127.9', '94.237.40.9'] },
      ],
    });
    const partial = upcloudNetworkConfig(UPCLOUD_EXAMPLE.network, new Map([['3a:d6:ba:4a:36:e7', 'ens3']]), (w) => missing.push(w));
    assert.equal((partial['config'] as unknown[]).length, 2);
    assert.equal(missing.length, 3);
  });
});
