// A machine on no cloud ec2-init has (no DMI, a plain QEMU VM, a Xen guest
// that is not EC2), booted under --root with the default datasource_list and
// the ephemeral network allowed: no source behind the network is asked, so
// no request is sent anywhere and no DHCP client runs. The agent runs in a
// network namespace of the test's own, its NIC eth0 visible and joined to a
// DHCP server (dnsmasq), where every IPv4 and IPv6 address is local (AnyIP
// routes on lo) and a listener on port 80 of all of them — 127.0.0.1 and
// 169.254.169.254 alike — records every connection (bridged to a recorder in
// this process); every source's metadata URL in the config points at the
// recorder too. The namespace's own counters show no TCP connection
// attempted and no UDP sent, the DHCP server leased nothing, and no process
// is left. A control with EC2's DMI shows the same set-up does see requests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { SOURCE_INFO } from '../../src/sources/registry.ts';
import { cannotRun, newRoot } from '../helpers/agent.ts';
import { writeIn } from '../helpers/files.ts';
import { needCommands } from '../helpers/needs.ts';
import { agentIn, bridge, makePair, startDhcpServer, type Pair } from '../helpers/netns.ts';

const skip = cannotRun() ?? needCommands(['ip', 'socat', 'ss', 'dnsmasq'], 'iproute2 socat dnsmasq-base') ?? false;

const pairs: Pair[] = [];
after(async () => { for (const p of pairs.splice(0)) await p.close(); });

/** The namespace's own counters: TCP connections attempted, UDP datagrams sent (IPv4 and IPv6). */
function counters(pair: Pair): { tcpActiveOpens: number; udpOut: number } {
  const snmp = pair.exec(pair.agentNs, ['cat', '/proc/net/snmp', '/proc/net/snmp6']).stdout;
  const field = (proto: string, name: string): number => {
    const lines = snmp.split('\n').filter((l) => l.startsWith(`${proto}:`));
    const [head, values] = [lines[0]!.split(/\s+/), lines[1]!.split(/\s+/)];
    return Number(values[head.indexOf(name)]);
  };
  const udp6 = Number(/^Udp6OutDatagrams\s+(\d+)/m.exec(snmp)?.[1] ?? NaN);
  return { tcpActiveOpens: field('Tcp', 'ActiveOpens'), udpOut: field('Udp', 'OutDatagrams') + udp6 };
}

/** A plain HTTP GET from the agent's namespace (asynchronous: the recorder answers from this process). */
async function probe(pair: Pair, host: string): Promise<number | null> {
  const child = pair.start(pair.agentNs, ['bash', '-c', `exec 3<>/dev/tcp/${host}/80; printf 'GET /probe HTTP/1.0\\r\\nHost: probe\\r\\n\\r\\n' >&3; cat <&3 >/dev/null`]);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** The namespace, its recorder on every address, a DHCP server behind eth0, and a root with `dmi` planted. */
async function setUp(dmi: Record<string, string>, seen: string[], port: number): Promise<{ pair: Pair; root: string; leases: () => string }> {
  const pair = makePair();
  pairs.push(pair);
  const dhcp = await startDhcpServer(pair);
  // Every address local, and a listener on port 80 of all of them (and on the recorder's own port of 127.0.0.1).
  assert.equal(pair.exec(pair.agentNs, ['ip', '-4', 'route', 'add', 'local', '0.0.0.0/0', 'dev', 'lo']).status, 0);
  assert.equal(pair.exec(pair.agentNs, ['ip', '-6', 'route', 'add', 'local', '::/0', 'dev', 'lo']).status, 0);
  await bridge(pair, pair.agentNs, '0.0.0.0', 80, port);
  await bridge(pair, pair.agentNs, '::', 80, port);
  await bridge(pair, pair.agentNs, '127.0.0.1', port, port);
  // The bridges work: a request to either metadata address is recorded (then forgotten).
  assert.equal(await probe(pair, '169.254.169.254'), 0);
  assert.equal(await probe(pair, 'fd00:ec2::254'), 0);
  assert.deepEqual(seen.splice(0), ['GET probe/probe', 'GET probe/probe']);

  const root = newRoot();
  for (const [field, value] of Object.entries(dmi)) writeIn(root, `sys/class/dmi/id/${field}`, `${value}\n`);
  if (dmi['product_uuid']) writeIn(root, 'sys/hypervisor/uuid', `${dmi['product_uuid']}\n`);
  const url = `http://127.0.0.1:${port}`;
  // No datasource_list: the default. Each source's URL, where it reads one, is the recorder's.
  writeIn(root, 'etc/cloud/cloud.cfg', `datasource:\n${SOURCE_INFO.map((s) => `  ${s.name}:\n    metadata_urls: ['${url}']\n    metadata_url: '${url}'\n    max_wait: 2\n    timeout: 1\n`).join('')}`);
  return { pair, root, leases: dhcp.leases };
}

async function withRecorder(fn: (seen: string[], port: number) => Promise<void>): Promise<void> {
  const seen: string[] = [];
  const recorder = http.createServer((req, res) => { seen.push(`${req.method} ${req.headers.host ?? ''}${req.url}`); res.end(); });
  await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', r));
  try {
    await fn(seen, (recorder.address() as AddressInfo).port);
  } finally {
    recorder.closeAllConnections();
    await new Promise<void>((r) => recorder.close(() => r()));
  }
}

const PLATFORMS: Record<string, Record<string, string>> = {
  'no DMI (a container, an arm board)': {},
  'a plain QEMU VM': { sys_vendor: 'QEMU', product_name: 'Standard PC (Q35 + ICH9, 2009)', bios_vendor: 'SeaBIOS', chassis_vendor: 'QEMU' },
  'a Xen guest that is not EC2': { sys_vendor: 'Xen', product_name: 'HVM domU', product_uuid: '6c6a1f5e-0d2b-4d2c-9a41-7b1f0c2e9d10', bios_vendor: 'Xen' },
};

describe('an absent cloud costs no request: DMI of no cloud ec2-init has, the default datasource_list', { skip }, () => {
  for (const [name, dmi] of Object.entries(PLATFORMS)) {
    test(name, () => withRecorder(async (seen, port) => {
      const { pair, root, leases } = await setUp(dmi, seen, port);
      const before = counters(pair);
      const r = await agentIn(pair, root, ['boot'], { EC2_INIT_EPHEMERAL_NETWORK: '1' }, { ownDmi: true });
      assert.equal(r.status, 2, `no datasource: status 2\n${r.stderr}`);
      assert.match(r.stderr, /no datasource found \(searched NoCloud, ConfigDrive, /);
      for (const s of SOURCE_INFO.filter((x) => x.reach !== 'files')) {
        assert.match(r.stderr, new RegExp(`datasource ${s.name}: .*; metadata service not asked`), `${s.name} ruled out by local facts`);
      }
      assert.doesNotMatch(r.stderr, /ephemeral network/, 'no network set up, no DHCP client run');
      assert.deepEqual(seen, [], 'no request reached any address');
      assert.equal(leases(), '', 'no DHCP lease');
      assert.deepEqual(counters(pair), before, 'no TCP connection attempted, no UDP datagram sent');
      assert.deepEqual(pair.pids().filter((p) => !/socat/.test(spawnSync('ps', ['-o', 'comm=', '-p', String(p)], { encoding: 'utf8' }).stdout)), [], 'nothing left running');
      assert.ok(r.ms < 5000, `the whole boot took ${Math.round(r.ms)} ms`);
    }));
  }

  test('control: with EC2\'s DMI the same set-up sees the requests', () => withRecorder(async (seen, port) => {
    const { pair, root } = await setUp({ sys_vendor: 'Amazon EC2', product_name: 't3.micro', product_uuid: 'ec2a1f5e-0d2b-4d2c-9a41-7b1f0c2e9d10' }, seen, port);
    const before = counters(pair);
    await agentIn(pair, root, ['init', '--local'], { EC2_INIT_EPHEMERAL_NETWORK: '1' }, { ownDmi: true });
    assert.ok(seen.length > 0, 'Ec2 was asked');
    assert.ok(counters(pair).tcpActiveOpens > before.tcpActiveOpens, 'the counters see its connections');
  }));
});
