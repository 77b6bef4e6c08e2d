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
