// The DHCP leases of the ephemeral network, as each client leaves them
// (src/net/ephemeral-dhcp.ts): dhclient's lease file, dhcpcd's (the server's
// DHCP message as it came), udhcpc's environment as our script writes it;
// option 121 both ways dhclient writes it; and a lease whose values could
// not reach `ip` safely is no lease. The clients themselves, on a real DHCP
// server in network namespaces: test/integration/ephemeral-network.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DhcpError, parseDhclientLeases, parseDhcpMessage, parseRfc3442, parseUdhcpcLease } from '../../src/net/ephemeral-dhcp.ts';

// As dhclient 4.4 writes it (two leases: the newest, last, counts).
const DHCLIENT = `lease {
  interface "eth0";
  fixed-address 10.9.0.41;
  option subnet-mask 255.255.255.0;
  option routers 10.9.0.1;
}
lease {
  interface "eth0";
  fixed-address 10.9.0.53;
  option subnet-mask 255.255.255.0;
  option routers 10.9.0.1;
  option dhcp-lease-time 3600;
  option dhcp-message-type 5;
  option dhcp-server-identifier 10.9.0.1;
  option rfc3442-classless-static-routes 32,169,254,169,254,10,9,0,1,0,10,9,0,1;
  option broadcast-address 10.9.0.255;
  option host-name "vm";
  option unknown-245 a8:3f:81:10;
  renew 1 2026/12/07 07:03:48;
}
`;

/** A DHCP ACK: yiaddr and the given options (code, bytes) after the magic cookie. */
function ack(yiaddr: number[], options: Array<[number, number[]]>): Uint8Array {
  const head = new Uint8Array(240);
  head.set([2, 1, 6, 0], 0);
  head.set(yiaddr, 16);
  head.set([99, 130, 83, 99], 236);
  const opts = options.flatMap(([code, bytes]) => [code, bytes.length, ...bytes]);
  return new Uint8Array([...head, ...opts, 0, 0, 255]);
}

describe('DHCP leases of the ephemeral network', () => {
  test('dhclient: the newest lease, options by name, option 121 and Azure\'s 245 decoded', () => {
    const l = parseDhclientLeases(DHCLIENT, 'eth0');
    assert.deepEqual({ address: l.address, prefix: l.prefix, broadcast: l.broadcast, router: l.router, server: l.server },
      { address: '10.9.0.53', prefix: 24, broadcast: '10.9.0.255', router: '10.9.0.1', server: '10.9.0.1' });
    assert.deepEqual(l.staticRoutes, [{ to: '169.254.169.254/32', via: '10.9.0.1' }, { to: '0.0.0.0/0', via: '10.9.0.1' }]);
    assert.equal(l.options['unknown-245'], '168.63.129.16');
    assert.equal(l.options['host-name'], 'vm');
    assert.equal(l.client, 'dhclient');
  });

  test('dhcpcd: the DHCP message of its lease file, named as dhclient names the options', () => {
    const msg = ack([10, 9, 0, 57], [[53, [5]], [1, [255, 255, 240, 0]], [3, [10, 9, 0, 1, 10, 9, 0, 2]], [54, [10, 9, 0, 1]], [51, [0, 0, 14, 16]],
      [15, [...Buffer.from('ec2.internal')]], [121, [24, 192, 168, 5, 10, 9, 0, 1]], [245, [168, 63, 129, 16]], [250, [1, 2]]]);
    const options = parseDhcpMessage(msg);
    assert.equal(options['fixed-address'], '10.9.0.57');
    assert.equal(options['subnet-mask'], '255.255.240.0');
    assert.equal(options['routers'], '10.9.0.1,10.9.0.2');
    assert.equal(options['dhcp-lease-time'], '3600');
    assert.equal(options['domain-name'], 'ec2.internal');
    assert.equal(options['unknown-245'], '168.63.129.16');
    assert.equal(options['unknown-250'], '01:02');
    assert.equal(options['rfc3442-classless-static-routes'], '24,192,168,5,10,9,0,1');
    assert.throws(() => parseDhcpMessage(new Uint8Array(300)), DhcpError, 'no magic cookie: not a lease');
  });

  test('udhcpc: the NUL-separated values our script wrote; a value cannot smuggle a second one', () => {
    const raw = Buffer.from(['ip=10.9.0.60', 'subnet=255.255.255.0', 'broadcast=', 'router=10.9.0.1 10.9.0.2', 'serverid=10.9.0.1',
      'staticroutes=169.254.169.254/32 10.9.0.1 0.0.0.0/0 10.9.0.1', 'domain=a\nip=6.6.6.6', 'opt245=a83f8110', ''].join('\0'));
    const l = parseUdhcpcLease(raw, 'eth0');
    assert.equal(l.address, '10.9.0.60');
    assert.equal(l.broadcast, '10.9.0.255', 'computed when the server sends none');
    assert.equal(l.router, '10.9.0.1');
    assert.deepEqual(l.staticRoutes, [{ to: '169.254.169.254/32', via: '10.9.0.1' }, { to: '0.0.0.0/0', via: '10.9.0.1' }]);
    assert.equal(l.options['domain-name'], 'a\nip=6.6.6.6');
    assert.equal(l.options['unknown-245'], '168.63.129.16');
  });

  test('option 121: dhclient\'s decimal form and the unknown-121 hex form; a malformed route ends the list', () => {
    assert.deepEqual(parseRfc3442('0,10,0,2,2'), [{ to: '0.0.0.0/0', via: '10.0.2.2' }]);
    assert.deepEqual(parseRfc3442('0:a:0:0:1:20:a8:3f:81:10:a:0:0:1'), [{ to: '0.0.0.0/0', via: '10.0.0.1' }, { to: '168.63.129.16/32', via: '10.0.0.1' }]);
    assert.deepEqual(parseRfc3442('24,10,1,2,10,0,0,1,33,1,2,3'), [{ to: '10.1.2.0/24', via: '10.0.0.1' }]);
    assert.deepEqual(parseRfc3442('24,10,1'), []);
  });

  test('a lease whose address, mask or routes are not what they claim is refused, never handed to ip', () => {
    const bad = (body: string) => () => parseDhclientLeases(`lease {\n${body}\n}\n`, 'eth0');
    assert.throws(bad('  fixed-address 10.9.0.5 dev lo;\n  option subnet-mask 255.255.255.0;'), /address "10\.9\.0\.5 dev lo" is not an IPv4 address/);
    assert.throws(bad('  fixed-address 10.9.0.5;\n  option subnet-mask 255.0.255.0;'), /subnet mask "255\.0\.255\.0" is not one/);
    assert.throws(bad('  option subnet-mask 255.255.255.0;'), /address "" is not an IPv4 address/);
    assert.throws(() => parseDhclientLeases('', 'eth0'), /dhclient wrote no lease/);
    const l = parseDhclientLeases('lease {\n  fixed-address 10.9.0.5;\n  option subnet-mask 255.255.255.0;\n  option routers 10.9.0.1--x;\n}\n', 'eth0');
    assert.equal(l.router, null, 'a router that is not an address is no router');
    const routes = parseUdhcpcLease(Buffer.from('ip=10.9.0.5\0subnet=255.255.255.0\0staticroutes=10.0.0.0/8 via;reboot 1.2.3.4 5.6.7.8\0'), 'eth0');
    assert.deepEqual(routes.staticRoutes, []);
  });
});
