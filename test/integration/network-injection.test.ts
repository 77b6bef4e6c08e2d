// Integration (issue 19, items 1-3): the built executable renders each
// hostile network config of test/helpers/net-injections.ts (NoCloud
// network-config v1 and v2, a config drive's network_data.json) on a
// throw-away root, for ifupdown, systemd-networkd and netplan; the files are
// then read by the real parsers: ifquery for ifupdown; systemd-networkd
// itself, in namespaces of its own over veth pairs named like the NICs, for
// networkd's files and for the ones netplan's generator makes from the YAML;
// /usr/lib/netplan/generate and PyYAML (libyaml, netplan's reader) for the
// YAML. What must hold: the value is refused with its key path, no `up`
// command or section of the payload reaches what the parser read, every file
// parses without a warning, and networkd applies no injected DNS or match.
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { agentAsync, cannotRun, newRoot, seed } from '../helpers/agent.ts';
import { plantNic, plantTools, read, tempDir, writeIn } from '../helpers/files.ts';
import { INJECTIONS, NICS, PAYLOADS, type Injection } from '../helpers/net-injections.ts';
import { cannotParse, ifquery, netplanGenerate, networkd, pyyaml, type EniParse, type NetworkdRun, type YamlResult } from '../helpers/real-parsers.ts';
import { readIni } from '../helpers/systemd-ini.ts';

const skip = cannotRun() ?? cannotParse() ?? false;
const RENDERERS = ['eni', 'networkd', 'netplan'] as const;
type Renderer = typeof RENDERERS[number];

/** A root with the seed of `c` carrying the payload for `renderer`, booted through init-local. */
async function boot(c: Injection, renderer: Renderer): Promise<string> {
  const root = newRoot();
  const payload = PAYLOADS[renderer === 'eni' ? 'eni' : 'networkd'];
  const ds = c.format === 'network-config' ? 'NoCloud' : 'ConfigDrive';
  if (c.format === 'network-config') {
    seed(root, 'instance-id: iid-inject\nlocal-hostname: inject\n', '#cloud-config\n{}\n');
    writeIn(root, 'var/lib/cloud/seed/nocloud/network-config', c.seed(payload));
  } else {
    writeIn(root, 'var/lib/cloud/seed/config_drive/openstack/latest/meta_data.json', JSON.stringify({ uuid: 'iid-inject', hostname: 'inject' }));
    writeIn(root, 'var/lib/cloud/seed/config_drive/openstack/latest/network_data.json', c.seed(payload));
  }
  writeIn(root, 'etc/cloud/cloud.cfg', `datasource_list: [${ds}]\nsystem_info:\n  network:\n    renderers: [${renderer}]\n`);
  for (const n of NICS) plantNic(root, n.name, n.mac);
  if (renderer === 'eni') { plantTools(root, ['ifup', 'ifdown', 'ifquery']); writeIn(root, 'etc/network/interfaces', 'source /etc/network/interfaces.d/*\n'); }
  if (renderer === 'netplan') plantTools(root, ['netplan']);
  // Exit 1: the stage had errors (the refused entries); never a crash.
  const r = await agentAsync(root, ['init', '--local']);
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  return root;
}

/**
 * A copy of networkd files for a veth to match: a veth has no permanent MAC,
 * so PermanentMACAddress= (how ec2-init matches a NIC found by MAC) is read as
 * MACAddress= (the veth is given the NIC's MAC); nothing else is changed.
 */
function forVeths(dir: string): string {
  const copy = tempDir('ec2-init-nd-');
  if (existsSync(dir)) cpSync(dir, copy, { recursive: true });
  for (const f of readdirSync(copy)) {
    const p = join(copy, f);
    writeFileSync(p, readFileSync(p, 'utf8').replace(/^PermanentMACAddress=/gm, 'MACAddress='));
  }
  return copy;
}

interface Outcome { root: string; eni?: EniParse; nd?: NetworkdRun; ndDir?: string; yaml?: YamlResult; generate?: { status: number; stderr: string } }

describe('network config injections read by the real parsers (ifquery, systemd-networkd, netplan generate, PyYAML)', { skip }, () => {
  const outcomes = new Map<string, Outcome>();
  const key = (c: Injection, r: Renderer) => `${c.name} → ${r}`;

  before(async () => {
    // Three boots at a time (each is a process of its own in a mount namespace).
    const todo = INJECTIONS.flatMap((c) => RENDERERS.map((r) => [c, r] as const));
    const worker = async () => { for (let job = todo.shift(); job; job = todo.shift()) outcomes.set(key(job[0], job[1]), { root: await boot(job[0], job[1]) }); };
    await Promise.all([worker(), worker(), worker()]);
    const eniCases = INJECTIONS.map((c) => outcomes.get(key(c, 'eni'))!);
    const parsed = ifquery(eniCases.map((o) => join(o.root, 'etc/network/interfaces.d/50-cloud-init')));
    eniCases.forEach((o, i) => { o.eni = parsed[i]; });
    const npCases = INJECTIONS.map((c) => outcomes.get(key(c, 'netplan'))!);
    const yamls = pyyaml(npCases.map((o) => read(o.root, 'etc/netplan/50-cloud-init.yaml')));
    npCases.forEach((o, i) => { o.yaml = yamls[i]; o.generate = netplanGenerate(o.root); o.ndDir = join(o.root, 'run/systemd/network'); });
    for (const c of INJECTIONS) outcomes.get(key(c, 'networkd'))!.ndDir = join(outcomes.get(key(c, 'networkd'))!.root, 'etc/systemd/network');
    const ndCases = [...outcomes.values()].filter((o) => o.ndDir);
    const runs = await networkd(ndCases.map((o) => ({ dir: forVeths(o.ndDir!), nics: NICS })));
    ndCases.forEach((o, i) => { o.nd = runs[i]; });
  });

  /** What networkd read: no warning, one [Match] per file, no injected DNS, no peer veth taken. */
  function networkdHolds(o: Outcome): void {
    assert.deepEqual(o.nd!.warnings, [], o.nd!.log);
    for (const f of existsSync(o.ndDir!) ? readdirSync(o.ndDir!) : []) {
      if (!/\.(network|netdev)$/.test(f)) continue;
      const ini = readIni(readFileSync(join(o.ndDir!, f), 'utf8'));
      assert.deepEqual(ini.errors, [], f);
      // Only the sections ec2-init writes: an injected one ([Match] in a .netdev, a second [Network]) shows here.
      const allowed = f.endsWith('.netdev') ? ['NetDev', 'Bond', 'Bridge', 'VLAN'] : ['Match', 'Link', 'Network', 'Route', 'DHCP', 'DHCPv4', 'DHCPv6', 'Address', 'RoutingPolicyRule', 'IPv6AcceptRA', 'BridgeVLAN'];
      for (const s of ini.sections) assert.ok(allowed.includes(s.name), `${f}: a [${s.name}] section`);
      const counts = new Map<string, number>();
      for (const s of ini.sections) counts.set(s.name, (counts.get(s.name) ?? 0) + 1);
      for (const [name, n] of counts) if (name !== 'Route') assert.equal(n, 1, `${f}: ${n} [${name}] sections`);
    }
    for (const [link, state] of o.nd!.links) {
      assert.ok(!(state['DNS'] ?? '').includes('6.6.6.6'), `${link} got DNS ${state['DNS']}`);
      if (/^p\d$/.test(link)) assert.equal(state['NETWORK_FILE'], undefined, `${link} (a peer no config names) was taken by ${state['NETWORK_FILE']}`);
    }
  }

  for (const c of INJECTIONS) {
    test(`${c.name}: refused by key path, and nothing of it in what the parsers read`, () => {
      for (const r of RENDERERS) {
        const o = outcomes.get(key(c, r))!;
        const log = read(o.root, 'var/log/ec2-init.log');
        assert.ok(log.split('\n').some((l) => / ERROR: network: /.test(l) && c.key.test(l)), `${r}: no error names ${c.key}`);
      }
      // ifupdown: the file parses; its only commands are ec2-init's route lines.
      const eni = outcomes.get(key(c, 'eni'))!.eni!;
      assert.equal(eni.status, 0, eni.stderr);
      for (const [name, opts] of eni.ifaces) {
        for (const [k, v] of opts) {
          assert.ok(!v.includes('ec2-init-pwned') && !k.includes('ec2-init-pwned'), `${name}: ${k} ${v}`);
          if (k === 'up' || k === 'down') assert.match(v, /^ip (-6 )?route (add|del) [0-9a-f.:/ A-Za-z]+ \|\| true$/, `${name}: ${k} ${v}`);
        }
      }
      networkdHolds(outcomes.get(key(c, 'networkd'))!);
      // netplan: the YAML is YAML to libyaml and PyYAML alike, without the payload; netplan takes it; networkd reads what netplan made.
      const np = outcomes.get(key(c, 'netplan'))!;
      assert.ok(np.yaml!.ok, np.yaml!.ok ? '' : np.yaml!.error);
      assert.ok(!/6\.6\.6\.6|Name=\*/.test(JSON.stringify(np.yaml!.ok ? np.yaml!.value : null)));
      assert.equal(np.generate!.status, 0, np.generate!.stderr);
      networkdHolds(np);
    });
  }
});

// Item 3: what YAML escapes (DEL, C1, U+FEFF) or cannot carry (a lone surrogate), from a NoCloud
// network-config (YAML escapes) and a config drive's network_data.json (JSON escapes), rendered for netplan.
describe('netplan YAML with DEL, C1 controls, U+FEFF and lone surrogates: read by PyYAML and netplan generate', { skip }, () => {
  const m = NICS.map((n) => n.mac);
  const SEEDS = [
    {
      name: 'NoCloud network-config v2',
      file: 'var/lib/cloud/seed/nocloud/network-config',
      text: [
        'network:', '  version: 2', '  ethernets:',
        `    ens3: {match: {macaddress: "${m[0]}"}, set-name: ens3, dhcp4: true, nameservers: {search: ["a\\x7fb.example"]}}`,
        `    ens4: {match: {macaddress: "${m[1]}"}, set-name: ens4, dhcp4: true, nameservers: {search: ["ok.example"]}}`,
        `    ens5: {match: {macaddress: "${m[2]}"}, set-name: ens5, dhcp4: true, ipv6-address-token: "::\\ud800"}`,
        '  wifis:',
        '    wl0: {dhcp4: true, access-points: {"caf\\u00e9\\ufeff": {password: "secret123"}, "x\\x85y": {}}}', '',
      ].join('\n'),
      errors: [/ethernets\.ens3\.nameservers\.search\[0\]: .*U\+007F/, /ethernets\.ens5\.ipv6-address-token: .*lone surrogate/, /wifis\.wl0\.access-points\.x\\x85y: .*U\+0085/],
      want: (v: { network: { ethernets: object; wifis: Record<string, { 'access-points': object }> } }) => {
        assert.deepEqual(Object.keys(v.network.ethernets), ['ens4']);
        assert.deepEqual(v.network.wifis, {});
      },
    },
    {
      name: 'config drive network_data.json',
      file: 'var/lib/cloud/seed/config_drive/openstack/latest/network_data.json',
      text: JSON.stringify({
        links: [{ id: 'tap0', type: 'phy', ethernet_mac_address: m[0], name: 'ens3\x7f' }, { id: 'tap1', type: 'phy', ethernet_mac_address: m[1] }, { id: 'tap2', type: 'phy', ethernet_mac_address: m[2] }],
        networks: [
          { id: 'n0', link: 'tap0', type: 'ipv4_dhcp' },
          { id: 'n1', link: 'tap1', type: 'ipv4', ip_address: '192.0.2.10', netmask: '255.255.255.0' },
          { id: 'n2', link: 'tap2', type: 'ipv6', ip_address: '2001:db8::\ud800', netmask: 'ffff:ffff:ffff:ffff::', routes: [{ network: '::', netmask: '::', gateway: 'fe80::1%\x9f' }] },
        ],
        services: [{ type: 'dns', address: '\u0085' }],
      }),
      errors: [/links\[0\] \(tap0\)/, /links\[2\] \(tap2\)/, /services\[0\]/],
      want: (v: { network: { ethernets: Record<string, { addresses?: string[] }> } }) => {
        assert.deepEqual(Object.keys(v.network.ethernets), ['ens4']);
        assert.deepEqual(v.network.ethernets['ens4']!.addresses, ['192.0.2.10/24']);
      },
    },
  ];

  for (const s of SEEDS) {
    test(`${s.name}: each such value refused by key path, the rest written as YAML netplan reads`, async () => {
      const root = newRoot();
      if (s.file.includes('nocloud')) seed(root, 'instance-id: iid-yaml\nlocal-hostname: yaml\n', '#cloud-config\n{}\n');
      else writeIn(root, 'var/lib/cloud/seed/config_drive/openstack/latest/meta_data.json', JSON.stringify({ uuid: 'iid-yaml', hostname: 'yaml' }));
      writeIn(root, s.file, s.text);
      writeIn(root, 'etc/cloud/cloud.cfg', `datasource_list: [${s.file.includes('nocloud') ? 'NoCloud' : 'ConfigDrive'}]\nsystem_info:\n  network:\n    renderers: [netplan]\n`);
      for (const n of NICS) plantNic(root, n.name, n.mac);
      plantTools(root, ['netplan']);
      const r = await agentAsync(root, ['init', '--local']);
      assert.ok(r.status === 0 || r.status === 1, r.stderr);
      const log = read(root, 'var/log/ec2-init.log').split('\n').filter((l) => / ERROR: network: /.test(l));
      for (const e of s.errors) assert.ok(log.some((l) => e.test(l)), `no error matches ${e}:\n${log.join('\n')}`);
      const [y] = pyyaml([read(root, 'etc/netplan/50-cloud-init.yaml')]);
      assert.ok(y!.ok, y!.ok ? '' : y!.error);
      s.want(y!.value as never);
      const g = netplanGenerate(root);
      assert.equal(g.status, 0, g.stderr);
    });
  }

  test('what YAML can carry is kept, escaped: a U+FEFF in an SSID reads back exactly, and netplan takes it', async () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-yaml2\nlocal-hostname: yaml\n', '#cloud-config\n{}\n');
    writeIn(root, 'var/lib/cloud/seed/nocloud/network-config', 'network:\n  version: 2\n  wifis:\n    wl0: {dhcp4: true, access-points: {"caf\\u00e9\\ufeff": {password: "secret123"}}}\n');
    writeIn(root, 'etc/cloud/cloud.cfg', 'datasource_list: [NoCloud]\nsystem_info:\n  network:\n    renderers: [netplan]\n');
    plantTools(root, ['netplan']);
    const r = await agentAsync(root, ['init', '--local']);
    assert.ok(r.status === 0 || r.status === 1, r.stderr);
    const text = read(root, 'etc/netplan/50-cloud-init.yaml');
    assert.ok(!text.includes('\ufeff'), 'U+FEFF written raw');
    const [y] = pyyaml([text]);
    assert.ok(y!.ok, y!.ok ? '' : y!.error);
    assert.deepEqual(Object.keys((y!.value as { network: { wifis: { wl0: { 'access-points': object } } } }).network.wifis.wl0['access-points']), ['café\ufeff']);
    const g = netplanGenerate(root);
    assert.equal(g.status, 0, g.stderr);
    assert.ok(existsSync(join(root, 'run/systemd/network/10-netplan-wl0.network')));
  });
});
