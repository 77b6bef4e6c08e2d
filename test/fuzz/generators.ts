// fast-check generators for the fuzz harness (issue 19): strings that are
// good tokens, or good tokens with what a system file reads as syntax (a
// newline and a payload, other control characters, a backslash, quotes, '#',
// '%', Unicode line separators, lone surrogates), and from them network
// configs (v1, v2, network_data.json), hostnames, mounts entries and plain
// values for the YAML writer and reader.
import fc from 'fast-check';

export const NICS = [
  { name: 'ens3', mac: '52:54:00:12:34:01' },
  { name: 'ens4', mac: '52:54:00:12:34:02' },
  { name: 'ens5', mac: '52:54:00:12:34:03' },
] as const;

/** What files read as syntax, and what makes text not text. */
const BREAKERS = [
  '\n', '\r', '\r\n', '\t', '\0', '\x0b', '\x0c', '\x1b', '\x7f', '\x80', '\x85', '\x9f', '\u2028', '\u2029', '\ufeff',
  '\\', '\\\n', '"', "'", '#', ';', '%', ' ', '[', ']', '*', '=', ':', '/', '..', '-', '\ud800', '\udc00', 'é', '😀',
];
const PAYLOADS = ['\n    up touch /tmp/ec2-init-fuzz', '\n[Match]\nName=*\n[Network]\nDNS=6.6.6.6', '\n127.0.0.1 evil.example', '\n/dev/evil /etc ext4 defaults 0 0', '\nallow all'];

/** A good token, or one spoiled by what some file reads as syntax (inserted anywhere). */
export function spoiled(good: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const broken = fc.tuple(good, fc.constantFrom(...BREAKERS, ...PAYLOADS), fc.nat()).map(([g, b, at]) => {
    const i = at % (g.length + 1);
    return g.slice(0, i) + b + g.slice(i);
  });
  return fc.oneof({ weight: 12, arbitrary: good }, { weight: 2, arbitrary: broken }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) });
}

const octet = fc.integer({ min: 0, max: 255 });
export const goodIpv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const hex = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
export const goodIpv6 = fc.oneof(
  fc.tuple(hex, hex).map(([a, b]) => `2001:db8:${a}::${b}`),
  // A zone: networkd resolves a name when it reads the file, so the one interface every namespace has (or an index).
  fc.tuple(hex, fc.constantFrom('', '%lo', '%1')).map(([a, z]) => `fe80::${a}${z}`),
);
export const goodIp = fc.oneof(goodIpv4, goodIpv6);
export const goodCidr = fc.oneof(
  fc.tuple(goodIpv4, fc.integer({ min: 8, max: 32 })).map(([a, p]) => `${a}/${p}`),
  fc.tuple(hex, fc.integer({ min: 48, max: 128 })).map(([a, p]) => `2001:db8:${a}::1/${p}`),
);
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
export const goodDomain = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
export const goodHostname = goodDomain;
export const goodIfname = fc.constantFrom('ens3', 'ens4', 'ens5', 'eth0', 'bond0', 'br0', 'bond0.42', 'vlan7', 'lan-1', 'a_b');

/** A mapping key that may be hostile too (YAML keys are strings of any kind). */
export const anyKey = spoiled(fc.constantFrom('eth0', 'nic', 'primary', 'lan', 'x'));

// ---------------------------------------------------------------------------
// Network configs

const nicMac = fc.constantFrom(...NICS.map((n) => n.mac));

const v2Ethernet = fc.record({
  match: fc.record({ macaddress: spoiled(nicMac) }),
  'set-name': spoiled(goodIfname),
  dhcp4: fc.boolean(),
  addresses: fc.array(spoiled(goodCidr), { maxLength: 3 }),
  nameservers: fc.record({ addresses: fc.array(spoiled(goodIp), { maxLength: 2 }), search: fc.array(spoiled(goodDomain), { maxLength: 2 }) }),
  routes: fc.array(fc.record({ to: spoiled(fc.constantFrom('10.0.0.0/8', '2001:db8:1::/48', '192.168.0.0/16')), via: spoiled(goodIp) }), { maxLength: 2 }),
  'dhcp4-overrides': fc.record({ 'use-dns': fc.boolean(), hostname: spoiled(goodHostname) }, { requiredKeys: [] }),
}, { requiredKeys: ['match', 'set-name'] });

export const v2Config = fc.record({
  ethernets: fc.dictionary(spoiled(fc.constantFrom('e0', 'e1', 'e2', 'nic', 'primary')), v2Ethernet, { minKeys: 1, maxKeys: 3 }),
  bond: fc.option(fc.record({
    'transmit-hash-policy': spoiled(fc.constantFrom('layer2', 'layer3+4')),
    'mii-monitor-interval': spoiled(fc.constantFrom('100', '250ms')),
  })),
}).map(({ ethernets, bond }) => {
  const network: Record<string, unknown> = { version: 2, ethernets };
  const ids = Object.keys(ethernets);
  // A bond's members have no addresses of their own (networkd refuses DHCP on a member).
  if (bond && ids.length >= 2) {
    for (const id of ids.slice(0, 2)) ethernets[id] = { match: ethernets[id]!.match, 'set-name': ethernets[id]!['set-name'] };
    network['bonds'] = { bond0: { interfaces: ids.slice(0, 2), dhcp4: true, parameters: { mode: '802.3ad', ...bond } } };
  }
  return { network };
});

const v1Physical = fc.record({
  name: spoiled(goodIfname),
  mac_address: spoiled(nicMac),
  subnets: fc.array(fc.oneof(
    fc.record({ type: fc.constant('dhcp4') }),
    fc.record({
      type: fc.constant('static'),
      address: spoiled(goodCidr),
      gateway: spoiled(goodIpv4),
      dns_nameservers: fc.array(spoiled(goodIp), { maxLength: 2 }),
      dns_search: fc.array(spoiled(goodDomain), { maxLength: 2 }),
    }, { requiredKeys: ['type', 'address'] }),
  ), { maxLength: 2 }),
}).map((p) => ({ type: 'physical', ...p }));

export const v1Config = fc.record({
  physical: fc.array(v1Physical, { minLength: 1, maxLength: 3 }),
  nameserver: fc.option(fc.record({ address: fc.array(spoiled(goodIp), { maxLength: 2 }), search: fc.array(spoiled(goodDomain), { maxLength: 2 }) })),
  bondParams: fc.option(fc.record({ 'bond-mode': spoiled(fc.constantFrom('active-backup', '802.3ad')), 'bond-miimon': spoiled(fc.constantFrom('100', '200')) })),
}).map(({ physical, nameserver, bondParams }) => {
  const config: unknown[] = [...physical];
  // A bond's members have no addresses of their own (networkd refuses DHCP on a member).
  if (bondParams && physical.length >= 2) {
    config.splice(0, 2, ...physical.slice(0, 2).map((p) => ({ ...p, subnets: [] })));
    config.push({ type: 'bond', name: 'bond0', bond_interfaces: physical.slice(0, 2).map((p) => p.name), params: bondParams, subnets: [{ type: 'dhcp4' }] });
  }
  if (nameserver) config.push({ type: 'nameserver', ...nameserver });
  return { version: 1, config };
});

export const networkData = fc.record({
  links: fc.array(fc.record({ mac: nicMac, mtu: fc.option(fc.integer({ min: 1280, max: 9000 })) }), { minLength: 1, maxLength: 3 }),
  addresses: fc.array(spoiled(goodIpv4), { minLength: 1, maxLength: 3 }),
  dns: fc.array(spoiled(goodIp), { maxLength: 2 }),
  bond: fc.option(fc.record({ bond_xmit_hash_policy: spoiled(fc.constantFrom('layer2', 'layer3+4')), bond_miimon: spoiled(fc.constantFrom('100')) })),
}).map(({ links, addresses, dns, bond }) => {
  const ls: Record<string, unknown>[] = links.map((l, i) => ({ id: `tap${i}`, type: 'phy', ethernet_mac_address: l.mac, ...(l.mtu ? { mtu: l.mtu } : {}) }));
  if (bond && ls.length >= 2) ls.push({ id: 'bond0', type: 'bond', bond_links: ['tap0', 'tap1'], bond_mode: '802.3ad', ...bond });
  // Networks on the bond when there is one (its members have no addresses of their own).
  const on = ls.some((l) => l['type'] === 'bond') ? ls.filter((l) => l['type'] === 'bond' || !['tap0', 'tap1'].includes(l['id'] as string)) : ls;
  const networks = addresses.map((a, i) => ({ id: `n${i}`, link: on[i % on.length]!['id'], type: 'ipv4', ip_address: a, netmask: '255.255.255.0' }));
  return { links: ls, networks, services: dns.map((address) => ({ type: 'dns', address })) };
});

// ---------------------------------------------------------------------------
// Hostnames, mounts, YAML values

export const hostnames = fc.record({ hostname: spoiled(goodHostname), fqdn: spoiled(goodDomain) });

const field = (good: fc.Arbitrary<string>) => spoiled(good);
export const mountsEntries = fc.array(fc.tuple(
  field(fc.constantFrom('/dev/vdb', '/dev/vdc', 'LABEL=data', 'UUID=1234-ABCD')),
  field(fc.constantFrom('/data', '/srv/www', '/mnt/my data', 'none')),
  field(fc.constantFrom('ext4', 'xfs', 'auto', 'swap')),
  field(fc.constantFrom('defaults', 'defaults,noatime', 'ro,nofail')),
  field(fc.constantFrom('0', '1')),
  field(fc.constantFrom('0', '2')),
), { maxLength: 4 });

/** Short strings of what YAML escapes, folds, reads as syntax or cannot carry at all (lone surrogates). */
const yamlHard = fc.string({ maxLength: 4, unit: fc.constantFrom('a', ' ', ':', '#', '-', '"', "'", '\\', '\n', '\t', '\0', '\x7f', '\x85', '\x9f', '\u2028', '\ufeff', '\ud800', '\udc00', '😀', 'yes', '1e3', '~') });

/** Plain data as YAML can hold it (mappings, lists, strings of any kind, numbers, booleans, null). */
export const yamlValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    spoiled(fc.string({ maxLength: 8 })), yamlHard, fc.integer(), fc.boolean(), fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(anyKey, tie('value'), { maxKeys: 3 })),
})).value;
