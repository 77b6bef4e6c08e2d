// Unit: the injections of issue 19 (items 1-3) through the parsers and every
// renderer: each hostile value is refused with its key path, its entry is left
// out, the rest is rendered, and no file carries the payload. The netplan
// writer's YAML reads back exactly (control characters escaped). The same
// files read by the real tools: test/integration/network-injection.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderEni } from '../../src/network/eni.ts';
import { emitYaml, renderNetplan, yamlQuote } from '../../src/network/netplan.ts';
import { renderNetworkd } from '../../src/network/networkd.ts';
import { parseNetworkConfig } from '../../src/network/parse.ts';
import type { Rendered } from '../../src/network/render.ts';
import type { Nic } from '../../src/network/sysfs.ts';
import { parseYaml } from '../../src/yaml/index.ts';
import { INJECTIONS, NICS, PAYLOADS, type Target } from '../helpers/net-injections.ts';

const nics: Nic[] = NICS.map((n) => ({ name: n.name, mac: n.mac, driver: 'virtio_net', physical: true, bond: false, bridge: false, vlan: false, carrier: true, dormant: false, operstate: 'up' }));
const RENDER: Record<Target | 'netplan', (c: Parameters<typeof renderEni>[0]) => Rendered> = { eni: renderEni, networkd: renderNetworkd, netplan: renderNetplan };

function parse(format: string, text: string) {
  return parseNetworkConfig(format === 'network_data.json'
    ? { format: 'network_data', text, where: 'network_data.json' }
    : { format: 'yaml', text, where: 'network-config' }, nics);
}

describe('network config injections (issue 19): refused by key path, the rest rendered', () => {
  for (const c of INJECTIONS) {
    for (const renderer of ['eni', 'networkd', 'netplan'] as const) {
      test(`${c.name} → ${renderer}`, () => {
        const payload = PAYLOADS[renderer === 'eni' ? 'eni' : 'networkd'];
        const p = parse(c.format, c.seed(payload));
        const errors = p.problems.filter((x) => x.level === 'error').map((x) => x.message);
        assert.ok(errors.some((m) => c.key.test(m)), `no error names ${c.key}:\n${errors.join('\n')}`);
        // Messages stay one line each (the log escapes, but the message itself shows the value escaped).
        for (const m of errors) assert.ok(!m.includes('\n'), m);
        const out = p.config ? RENDER[renderer](p.config) : null;
        for (const f of out?.files ?? []) {
          assert.ok(!/ec2-init-pwned|6\.6\.6\.6|Name=\*/.test(f.content), `${f.path} carries the payload:\n${f.content}`);
        }
      });
    }
  }

  test('the same configs without the payload render as before: every entry in', () => {
    for (const c of INJECTIONS) {
      const p = parse(c.format, c.seed(''));
      assert.deepEqual(p.problems.filter((x) => x.level === 'error'), [], c.name);
    }
  });

  test('a v2 id of a NIC not found names no file outside /etc/systemd/network', () => {
    const p = parse('network-config', 'version: 2\nethernets:\n  "../../../../etc/cron.d/x":\n    match: {macaddress: "de:ad:be:ef:00:01"}\n    dhcp4: true\n  ens3: {dhcp4: true}\n');
    assert.ok(p.problems.some((x) => x.level === 'error' && /ethernets\.\.\.\/\.\.\/\.\.\/\.\.\/etc\/cron\.d\/x: .*device id/.test(x.message)), p.problems.map((x) => x.message).join('\n'));
    const files = renderNetworkd(p.config!).files.map((f) => f.path);
    assert.deepEqual(files, ['/etc/systemd/network/10-cloud-init-ens3.network']);
  });

  test('a match glob that is no regular expression is no crash', () => {
    const p = parse('network-config', 'version: 2\nethernets:\n  nic: {match: {name: "ens[4-3]"}, dhcp4: true}\n  other: {match: {name: "ens["}, dhcp4: true}\n');
    assert.ok(p.config);
    assert.ok(p.problems.some((x) => /ethernets\.other\.match\.name/.test(x.message)));
  });
});

describe('the netplan writer: YAML that libyaml, PyYAML and src/yaml read back exactly', () => {
  test('DEL, C1 controls, NEL and the Unicode line separators are escaped; a lone surrogate is refused', () => {
    const values = ['a\x7fb', 'a\x80\x9fb', 'line\u0085break', 'a\u2028b\u2029c', '\ufeffbom', 'tab\there', 'nul\0', 'esc\x1b[0m', 'quote"back\\slash', '😀 astral', 'plain'];
    for (const v of values) {
      const text = emitYaml({ network: { version: 2, ethernets: { eth0: { nameservers: { search: [v] } } } } });
      assert.ok(!/[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]/.test(text), JSON.stringify(text));
      const back = parseYaml(text) as { network: { ethernets: { eth0: { nameservers: { search: string[] } } } } };
      assert.equal(back.network.ethernets.eth0.nameservers.search[0], v);
    }
    assert.equal(yamlQuote('a\ud800b'), null);
    assert.throws(() => emitYaml({ network: { ethernets: { eth0: { x: 'a\udc00' } } } }), /network\.ethernets\.eth0\.x: has a lone surrogate/);
  });

  test('a v2 entry whose strings the YAML cannot carry is left out, with its key path; the rest goes to netplan', () => {
    const p = parseNetworkConfig({ format: 'value', where: 'system config network', value: {
      version: 2,
      ethernets: { ens3: { dhcp4: true }, ens4: { dhcp4: true, wakeonlan: true, 'ipv6-address-token': 'a\ud800' } },
      wifis: { wl0: { 'access-points': { 'x\ny': {} } } },
    } }, nics);
    const msgs = p.problems.map((x) => x.message);
    assert.ok(msgs.some((m) => /ethernets\.ens4\.ipv6-address-token: .*lone surrogate/.test(m)), msgs.join('\n'));
    assert.ok(msgs.some((m) => /wifis\.wl0\.access-points\.x\\ny: .*newline/.test(m)), msgs.join('\n'));
    const out = renderNetplan(p.config!);
    const back = parseYaml(out.files[0]!.content) as { network: { ethernets: object; wifis: object } };
    assert.deepEqual(Object.keys(back.network.ethernets), ['ens3']);
    assert.deepEqual(back.network.wifis, {});
  });
});

describe('what the fuzz harness found (test/fuzz/)', () => {
  test('two v2 devices with one interface name: the second is an error naming both, one file and one stanza for the name', () => {
    const p = parseNetworkConfig({ format: 'value', where: 'network-config', value: { version: 2,
      ethernets: { e1: { match: { macaddress: NICS[0].mac }, 'set-name': 'bond0' }, e2: { match: { macaddress: NICS[1].mac }, 'set-name': 'ens4' } },
      bonds: { bond0: { interfaces: ['e2'], dhcp4: true } },
    } }, nics);
    assert.ok(p.problems.some((x) => x.level === 'error' && /bonds\.bond0: names the interface 'bond0', as ethernets\.e1 does/.test(x.message)), p.problems.map((x) => x.message).join('\n'));
    assert.deepEqual(p.config!.interfaces.map((f) => f.entry), ['ethernets.e1', 'ethernets.e2']);
    assert.equal(renderEni(p.config!).files[0]!.content.match(/^iface bond0 /gm)?.length, 1);
    const np = (parseYaml(renderNetplan(p.config!).files[0]!.content) as { network: { ethernets: object; bonds?: object } }).network;
    assert.deepEqual([Object.keys(np.ethernets), Object.keys(np.bonds ?? {})], [['e1', 'e2'], []]);
  });

  test("a gateway's zone: the route's own interface is dropped from it (ip and networkd read none); another interface's is an error", () => {
    const cfg = (zone: string) => parse('network-config', `version: 2\nethernets:\n  ens3:\n    addresses: ["2001:db8::10/64"]\n    routes: [{to: "2001:db8:1::/48", via: "fe80::1%${zone}"}]\n  ens4: {dhcp4: true}\n`).config!;
    const own = cfg('ens3');
    assert.match(renderEni(own).files[0]!.content, /post-up ip -6 route add 2001:db8:1::\/48 via fe80::1 dev ens3 /);
    assert.match(renderNetworkd(own).files.find((f) => f.path.endsWith('ens3.network'))!.content, /^Gateway=fe80::1$/m);
    for (const render of [renderEni, renderNetworkd]) {
      const out = render(cfg('ens4'));
      assert.ok(out.problems.some((x) => /^ethernets\.ens3: gateway 'fe80::1%ens4': its zone is not ens3/.test(x.message)), out.problems.map((x) => x.message).join('\n'));
      assert.ok(!out.files.some((f) => f.content.includes('fe80::1')));
      assert.ok(out.files.some((f) => f.content.includes('ens4')));
    }
  });

  test('netplan reads no zone in an address: a v2 device with one is left out for netplan, a v1 zoned nameserver is; the rest is written', () => {
    const v2 = renderNetplan(parse('network-config', 'version: 2\nethernets:\n  ens3: {dhcp6: true, nameservers: {addresses: ["fe80::53%ens3"]}}\n  ens4: {dhcp4: true}\n').config!);
    assert.ok(v2.problems.some((x) => /^ethernets\.ens3: 'fe80::53%ens3': netplan reads no zone/.test(x.message)));
    assert.deepEqual(Object.keys((parseYaml(v2.files[0]!.content) as { network: { ethernets: object } }).network.ethernets), ['ens4']);
    const v1 = renderNetplan(parse('network-config', `version: 1\nconfig:\n  - {type: physical, name: ens3, subnets: [{type: dhcp6, dns_nameservers: ["fe80::53%ens3", "2001:db8::53"]}]}\n`).config!);
    assert.ok(v1.problems.some((x) => /config\[0\].*: nameserver 'fe80::53%ens3': netplan reads no zone/.test(x.message)), v1.problems.map((x) => x.message).join('\n'));
    assert.match(v1.files[0]!.content, /addresses:\n\s+- "2001:db8::53"\n/);
    assert.ok(!v1.files[0]!.content.includes('fe80::53'));
  });
});
