// Unit: the validators of src/validate/, the one place where a value from a
// datasource or user-data becomes a token of a system file: what each takes
// (the values real configs have) and what each refuses, with the rule named.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { show, type Checked } from '../../src/validate/check.ts';
import { accountName, fstabEntry, pathUnderRoot } from '../../src/validate/files.ts';
import {
  cidr, deviceId, driverName, hostname, interfaceGlob, interfaceName, ip, ipv4, ipv6, mac, ntpAllow, ntpServer, prefix, searchDomain,
} from '../../src/validate/net.ts';
import { bondBridgeParam, DHCP_OVERRIDE_RULES, eniValue, networkdValue } from '../../src/validate/options.ts';
import { programName } from '../../src/validate/packages.ts';

const NL = '\n    up touch /tmp/pwned';

function takes<T>(rule: (v: unknown) => Checked<T>, values: unknown[]): void {
  for (const v of values) { const r = rule(v); assert.ok(r.ok, `${show(v)} refused: ${r.ok ? '' : r.why}`); }
}

function refuses<T>(rule: (v: unknown) => Checked<T>, values: unknown[], why?: RegExp): void {
  for (const v of values) {
    const r = rule(v);
    assert.ok(!r.ok, `${show(v)} taken`);
    if (why) assert.match(r.why, why);
    // A message is one line, whatever the value held.
    assert.ok(!/[\n\r\u2028\u2029]/.test(r.why), r.why);
  }
}

describe('network names and addresses', () => {
  test('interface names: what the kernel takes and no file reads as syntax', () => {
    takes(interfaceName, ['eth0', 'ens3', 'enp0s31f6', 'bond0.42', 'br-lan', 'tap1234abcd-12', 'eth0_1', 'a', '123456789012345']);
    refuses(interfaceName, ['', '.', '..', '1234567890123456', 'eth0:1', 'eth 0', 'eth0/1', `eth0${NL}`, 'eth*', 'eth0\\', '-eth0', 'eth0"', 'eth0%1', 'ethé'], /interface name/);
    takes(interfaceGlob, ['en*', 'eth?', 'eth[01]', 'eth[!0]', 'ens3']);
    refuses(interfaceGlob, ['en*\nName=*', 'eth[', 'a b', '']);
    takes(deviceId, ['primary', 'id0', 'lan', 'management-interface', 'ens3']);
    refuses(deviceId, ['../../../etc/cron.d/x', '.', 'a/b', 'a\nb', '']);
    takes(driverName, ['virtio_net', 'ixgbe', 'mlx5_core', 'hv_netvsc', 'xen-netfront', 'e1000*']);
    refuses(driverName, ['virtio\n[Match]', 'a b', '']);
  });

  test('MACs come back in lower case; IPv4, IPv6, zones that are interface names, prefixes, CIDRs', () => {
    assert.deepEqual(mac('52:54:00:AB:cd:01'), { ok: true, value: '52:54:00:ab:cd:01' });
    refuses(mac, ['52:54:00:ab:cd', '52-54-00-ab-cd-01', `52:54:00:ab:cd:01${NL}`]);
    takes(ipv4, ['192.0.2.1', '0.0.0.0', '255.255.255.255']);
    refuses(ipv4, ['256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4 ']);
    takes(ipv6, ['2001:db8::1', '::', '::ffff:192.0.2.1', 'fe80::1%eth0', 'fe80::1%2']);
    // The zone is checked as an interface name: before it was not looked at, and a newline there went into files.
    refuses(ipv6, [`fe80::1%x${NL}`, 'fe80::1%', 'fe80::1%a b', 'fe80::1%../x', '2001:db8::1::2', 'g::1'], /IPv6/);
    takes(ip, ['10.0.0.1', 'fe80::1%ens3']);
    refuses(ip, [`fe80::1%x${NL}`, 'example.com', '']);
    assert.deepEqual(prefix('24', 4), { ok: true, value: 24 });
    refuses((v) => prefix(v, 4), ['33', '-1', 'x', '']);
    takes((v) => prefix(v, 6), ['128', '0', 64]);
    takes(cidr, ['10.0.0.0/8', '2001:db8::/32', '192.0.2.1/32']);
    refuses(cidr, ['10.0.0.0', '10.0.0.0/33', 'fe80::/64%x', '10.0.0.0/8/1']);
  });

  test('search domains, hostnames, NTP servers', () => {
    takes(searchDomain, ['example.com', 'lan.example', 'example.com.', 'corp', '_msdcs.example.com', '~example.com', '~.']);
    refuses(searchDomain, [`example.com${NL}`, 'example.com\n[Network]\nDNS=6.6.6.6', 'a b', 'a..b', '-a.com', 'a.com-', '', '.', 'x'.repeat(64)], /domain/);
    takes(hostname, ['web1', 'web1.example.org', 'ip-10-1-2-3', 'db2.internal.example', 'h', '1host']);
    refuses(hostname, ['web1\n6.6.6.6 bank.example.com', 'a b', '-F', 'web1.', '', 'a#b', 'ho\u0085st'], /hostname/);
    takes(ntpServer, ['ntp.ubuntu.com', '192.168.23.2', '2001:db8::123', '0.debian.pool.ntp.org']);
    refuses(ntpServer, ['pool.ntp.org iburst\nallow all', 'a b', '']);
    takes(ntpAllow, ['10.0.0.0/8', '192.168', '2001:db8::/32', 'client.example']);
    refuses(ntpAllow, ['10.0.0.0/8\nallow all', 'all 1']);
  });
});

describe('option values', () => {
  test('bond and bridge parameters by their key', () => {
    assert.deepEqual(bondBridgeParam('bond', 'mode', '802.3ad'), { ok: true, value: '802.3ad' });
    assert.deepEqual(bondBridgeParam('bond', 'mii-monitor-interval', '100'), { ok: true, value: 100 });
    assert.deepEqual(bondBridgeParam('bond', 'mii-monitor-interval', '100ms'), { ok: true, value: '100ms' });
    assert.deepEqual(bondBridgeParam('bond', 'arp-ip-targets', '10.0.0.1, 10.0.0.2'), { ok: true, value: ['10.0.0.1', '10.0.0.2'] });
    assert.deepEqual(bondBridgeParam('bridge', 'path-cost', ['eth0 100']), { ok: true, value: ['eth0 100'] });
    assert.deepEqual(bondBridgeParam('bridge', 'stp', false), { ok: true, value: false });
    for (const [kind, key, v] of [
      ['bond', 'mode', `active-backup${NL}`], ['bond', 'transmit-hash-policy', `layer2${NL}`], ['bond', 'lacp-rate', 'fast\n[Network]'],
      ['bond', 'primary', `eth0${NL}`], ['bond', 'arp-ip-targets', '10.0.0.1\nup x'], ['bond', 'min-links', '1 2'],
      ['bridge', 'forward-delay', `4${NL}`], ['bridge', 'path-cost', [`eth0${NL} 100`]], ['bridge', 'path-cost', ['eth0 100\nup x']],
      ['bridge', 'priority', { a: 1 }], ['bond', 'not-a-key', 1],
    ] as const) {
      const r = bondBridgeParam(kind, key, v);
      assert.ok(!r.ok, `${kind} ${key} ${show(v)} taken`);
    }
  });

  test('dhcp overrides: booleans, a metric, a hostname', () => {
    assert.equal(DHCP_OVERRIDE_RULES['use-dns']!(false).ok, true);
    assert.equal(DHCP_OVERRIDE_RULES['use-domains']!('route').ok, true);
    assert.equal(DHCP_OVERRIDE_RULES['route-metric']!(100).ok, true);
    assert.equal(DHCP_OVERRIDE_RULES['use-dns']!('no\n[Match]\nName=*').ok, false);
    assert.equal(DHCP_OVERRIDE_RULES['route-metric']!('100\n[Match]').ok, false);
    assert.equal(DHCP_OVERRIDE_RULES['hostname']!('h\n[Match]\nName=*').ok, false);
  });

  test('what an ifupdown or networkd line can carry', () => {
    for (const v of ['a\nb', 'a\\', 'a\u2028b', ' a', '']) assert.equal(eniValue(v).ok, false, show(v));
    assert.equal(eniValue('dns-search a b').ok, true);
    for (const v of ['a\nb', 'a\\b', 'a"b', "a'b", 'a\x7f']) assert.equal(networkdValue(v).ok, false, show(v));
    assert.equal(networkdValue('example.com foo.bar').ok, true);
  });
});

describe('file-system tokens', () => {
  test('paths under the root, fstab entries (space and tab escaped as fstab does), account names', () => {
    takes(pathUnderRoot, ['/swap.img', '/mnt/data', '/']);
    refuses(pathUnderRoot, ['swap.img', '/a/../etc', '/a\nb', '/./a']);
    assert.deepEqual(fstabEntry(['/dev/sdb', '/mnt/my data', 'ext4', 'defaults,nofail', '0', '2']),
      { ok: true, value: ['/dev/sdb', '/mnt/my\\040data', 'ext4', 'defaults,nofail', '0', '2'] });
    assert.equal(fstabEntry(['LABEL=a\\040b', 'none', 'swap', 'sw', '0', '0']).ok, true);
    // A device starting with '#' would make the line a comment (found by the fuzz harness).
    assert.deepEqual(fstabEntry(['#x', '/mnt', 'ext4', 'defaults', '0', '2']), { ok: true, value: ['\\043x', '/mnt', 'ext4', 'defaults', '0', '2'] });
    for (const bad of [
      ['/dev/sdb\n/dev/sdc', '/mnt', 'ext4', 'defaults', '0', '2'], ['/dev/sdb', '/mnt\n/dev/sdc /x', 'ext4', 'defaults', '0', '2'],
      ['/dev/sdb', '/mnt', 'ext4 x', 'defaults', '0', '2'], ['/dev/sdb', '/mnt', 'ext4', 'defaults\nx', '0', '2'],
      ['/dev/sdb', '/mnt', 'ext4', 'defaults', '0\n/dev/x', '2'], ['/dev/sdb', 'mnt', 'ext4', 'defaults', '0', '2'],
      ['/dev/sdb', '/mnt', 'ext4', 'defaults', '0', '2', 'extra'], ['/dev/sdb', '/mnt', 'ext4', 'defaults', 'None', '2'],
    ]) assert.equal(fstabEntry(bad).ok, false, JSON.stringify(bad));
    takes(accountName, ['ubuntu', 'debian', 'web_admin', 'svc-1', 'machine$', 'Admin']);
    refuses(accountName, ['root\nx', '1user', '-o', 'a b', 'a:b', '']);
  });
});

describe('program names', () => {
  test('a program looked up in PATH by its name, or by its absolute path (cc_ntp\'s check_exe values)', () => {
    takes(programName, ['chronyd', 'ntpd', 'ntpdate', 'systemd-timesyncd', 'g++', '/lib/systemd/systemd-timesyncd', '/usr/local/sbin/ntpd']);
    refuses(programName, ['-oEvil', '--help', '.hidden', 'a b', 'chronyd\nx', ''], /program name/);
    refuses(programName, ['bin/ntpd', '../../bin/sh', '/usr/sbin/../../etc/shadow', '/a\nb'], /absolute path/);
    refuses(programName, [null, ['chronyd'], { a: 1 }], /expected a string/);
  });
});
