// The injections of issue 19 (items 1-2), one case per class: a value of a
// network config (NoCloud network-config v1 or v2, a config drive's
// network_data.json) that carries a payload for the file it lands in — a
// newline and an ifupdown `up` command for /etc/network/interfaces.d, a newline
// and a section of its own for systemd-networkd. Each case says which key path
// the error must name. Shared by the unit tests (the renderers) and the
// integration tests (the built executable, the files read by the real tools).

/** What the payload is for: ifupdown runs `up` lines as root; networkd takes a new section and keys. */
export const PAYLOADS = {
  eni: '\n    up touch /tmp/ec2-init-pwned',
  networkd: '\n[Match]\nName=*\n\n[Network]\nDNS=6.6.6.6',
} as const;

export type Target = keyof typeof PAYLOADS;

export interface Injection {
  name: string;
  /** The file in the seed: NoCloud's network-config or a config drive's network_data.json. */
  format: 'network-config' | 'network_data.json';
  /** The seed's content with the payload `p` in place (as a YAML or JSON string). */
  seed: (p: string) => string;
  /** The key path the error names. */
  key: RegExp;
}

const q = (s: string) => JSON.stringify(s);

/** Two NICs of the test machine (planted under the root's /sys/class/net). */
export const NICS = [{ name: 'ens3', mac: '52:54:00:12:34:01' }, { name: 'ens4', mac: '52:54:00:12:34:02' }, { name: 'ens5', mac: '52:54:00:12:34:03' }] as const;

const v1 = (entries: string) => `version: 1\nconfig:\n${entries}`;
const v1Static = (extra: string) => v1(`  - type: physical\n    name: ens3\n    mac_address: "${NICS[0].mac}"\n    subnets:\n      - type: static\n        address: 192.0.2.10/24\n${extra}`);
const v1Bond = (params: string) => v1(`  - {type: physical, name: ens4, mac_address: "${NICS[1].mac}"}\n  - {type: physical, name: ens5, mac_address: "${NICS[2].mac}"}\n  - type: bond\n    name: bond0\n    bond_interfaces: [ens4, ens5]\n    params: {${params}}\n    subnets: [{type: dhcp4}]\n`);
const v1Bridge = (params: string) => v1(`  - {type: physical, name: ens4, mac_address: "${NICS[1].mac}"}\n  - type: bridge\n    name: br0\n    bridge_interfaces: [ens4]\n    params: {${params}}\n    subnets: [{type: dhcp4}]\n`);

const v2 = (ens3: string, rest = '') => `network:\n  version: 2\n  ethernets:\n    ens3:\n      match: {macaddress: "${NICS[0].mac}"}\n      set-name: ens3\n${ens3}${rest}`;
const v2Bond = (params: string) => `network:\n  version: 2\n  ethernets:\n    ens4: {match: {macaddress: "${NICS[1].mac}"}, set-name: ens4}\n    ens5: {match: {macaddress: "${NICS[2].mac}"}, set-name: ens5}\n  bonds:\n    bond0:\n      interfaces: [ens4, ens5]\n      dhcp4: true\n      parameters: {${params}}\n`;
const v2Bridge = (params: string) => `network:\n  version: 2\n  ethernets:\n    ens4: {match: {macaddress: "${NICS[1].mac}"}, set-name: ens4}\n  bridges:\n    br0:\n      interfaces: [ens4]\n      dhcp4: true\n      parameters: {${params}}\n`;

const nd = (links: unknown[], networks: unknown[], services: unknown[] = []) => JSON.stringify({ links, networks, services }, null, 1);
const ndLink = (i: number) => ({ id: `tap${i}`, type: 'phy', ethernet_mac_address: NICS[i]!.mac });
const ndBond = (k: string, p: string) => nd(
  [ndLink(1), ndLink(2), { id: 'bond0', type: 'bond', bond_links: ['tap1', 'tap2'], bond_mode: '802.3ad', [k]: p }],
  [{ id: 'n0', link: 'bond0', type: 'ipv4_dhcp' }],
);

export const INJECTIONS: Injection[] = [
  { name: 'v1 subnet dns_search', format: 'network-config', seed: (p) => v1Static(`        dns_search: [${q(`example.com${p}`)}]\n`), key: /config\[0\]\.subnets\[0\]\.dns_search\[0\]/ },
  { name: 'v1 nameserver search', format: 'network-config', seed: (p) => v1Static('') + `  - {type: nameserver, address: [192.0.2.53], search: [${q(`example.com${p}`)}]}\n`, key: /config\[1\]\.search\[0\]/ },
  { name: 'v1 bond params', format: 'network-config', seed: (p) => v1Bond(`bond-xmit-hash-policy: ${q(`layer2${p}`)}`), key: /config\[2\]\.params\.bond-xmit-hash-policy/ },
  { name: 'v1 bond params (a number)', format: 'network-config', seed: (p) => v1Bond(`bond-miimon: ${q(`100${p}`)}`), key: /config\[2\]\.params\.bond-miimon/ },
  { name: 'v1 bridge params', format: 'network-config', seed: (p) => v1Bridge(`bridge_fd: ${q(`4${p}`)}`), key: /config\[1\]\.params\.bridge_fd/ },
  { name: 'v1 bridge path cost', format: 'network-config', seed: (p) => v1Bridge(`bridge_pathcost: [${q(`ens4 50${p}`)}]`), key: /config\[1\]\.params\.bridge_pathcost/ },
  { name: 'v1 IPv6 gateway zone', format: 'network-config', seed: (p) => v1(`  - type: physical\n    name: ens3\n    mac_address: "${NICS[0].mac}"\n    subnets:\n      - type: static6\n        address: 2001:db8::10/64\n        gateway: ${q(`fe80::1%x${p}`)}\n`), key: /config\[0\]\.subnets\[0\]\.gateway/ },
  { name: 'v1 route gateway zone', format: 'network-config', seed: (p) => v1Static(`        routes: [{network: "2001:db8:1::", prefix: 48, gateway: ${q(`fe80::1%x${p}`)}}]\n`), key: /config\[0\]\.subnets\[0\]\.routes\[0\]\.gateway/ },
  { name: 'v1 nameserver zone', format: 'network-config', seed: (p) => v1Static(`        dns_nameservers: [${q(`fe80::53%x${p}`)}]\n`), key: /config\[0\]\.subnets\[0\]\.dns_nameservers\[0\]/ },
  { name: 'v1 params.driver', format: 'network-config', seed: (p) => v1(`  - type: physical\n    name: ens3\n    params: {driver: ${q(`virtio_net${p}`)}}\n    subnets: [{type: dhcp4}]\n`), key: /config\[0\]\.params\.driver/ },
  { name: 'v2 nameservers.search', format: 'network-config', seed: (p) => v2(`      dhcp4: true\n      nameservers: {search: [${q(`example.com${p}`)}]}\n`), key: /ethernets\.ens3\.nameservers\.search\[0\]/ },
  { name: 'v2 bond parameters', format: 'network-config', seed: (p) => v2Bond(`mode: 802.3ad, transmit-hash-policy: ${q(`layer3+4${p}`)}`), key: /bonds\.bond0\.parameters\.transmit-hash-policy/ },
  { name: 'v2 bond parameters (primary)', format: 'network-config', seed: (p) => v2Bond(`mode: active-backup, primary: ${q(`ens4${p}`)}`), key: /bonds\.bond0\.parameters\.primary/ },
  { name: 'v2 bridge parameters', format: 'network-config', seed: (p) => v2Bridge(`forward-delay: ${q(`4${p}`)}`), key: /bridges\.br0\.parameters\.forward-delay/ },
  { name: 'v2 bridge path-cost port name', format: 'network-config', seed: (p) => v2Bridge(`path-cost: {${q(`ens4${p}`)}: 50}`), key: /bridges\.br0\.parameters\.path-cost/ },
  { name: 'v2 gateway6 zone', format: 'network-config', seed: (p) => v2(`      addresses: ["2001:db8::10/64"]\n      gateway6: ${q(`fe80::1%x${p}`)}\n`), key: /ethernets\.ens3\.gateway6/ },
  { name: 'v2 route via zone', format: 'network-config', seed: (p) => v2(`      addresses: ["2001:db8::10/64"]\n      routes: [{to: "2001:db8:1::/48", via: ${q(`fe80::1%x${p}`)}}]\n`), key: /ethernets\.ens3\.routes\[0\]\.via/ },
  { name: 'v2 nameserver zone', format: 'network-config', seed: (p) => v2(`      dhcp6: true\n      nameservers: {addresses: [${q(`fe80::53%x${p}`)}]}\n`), key: /ethernets\.ens3\.nameservers\.addresses\[0\]/ },
  { name: 'v2 dhcp4-overrides', format: 'network-config', seed: (p) => v2(`      dhcp4: true\n      dhcp4-overrides: {hostname: ${q(`h${p}`)}}\n`), key: /ethernets\.ens3\.dhcp4-overrides\.hostname/ },
  { name: 'v2 match.driver', format: 'network-config', seed: (p) => `network:\n  version: 2\n  ethernets:\n    nic:\n      match: {driver: ${q(`virtio_net${p}`)}}\n      set-name: ens3\n      dhcp4: true\n`, key: /ethernets\.nic\.match\.driver/ },
  { name: 'v2 match.name', format: 'network-config', seed: (p) => `network:\n  version: 2\n  ethernets:\n    nic:\n      match: {name: ${q(`ens3${p}`)}}\n      dhcp4: true\n`, key: /ethernets\.nic\.match\.name/ },
  { name: 'network_data.json bond_xmit_hash_policy', format: 'network_data.json', seed: (p) => ndBond('bond_xmit_hash_policy', `layer3+4${p}`), key: /params\.bond-xmit_hash_policy/ },
  { name: 'network_data.json bond_miimon', format: 'network_data.json', seed: (p) => ndBond('bond_miimon', `100${p}`), key: /params\.bond-miimon/ },
  { name: 'network_data.json route gateway zone', format: 'network_data.json', seed: (p) => nd([ndLink(0)], [{ id: 'n0', link: 'tap0', type: 'ipv6', ip_address: '2001:db8::10', netmask: 'ffff:ffff:ffff:ffff::', routes: [{ network: '2001:db8:1::', netmask: 'ffff:ffff:ffff::', gateway: `fe80::1%x${p}` }] }]), key: /routes\[0\]\.gateway/ },
];
