// EC2's network config, from the meta-data the Ec2 datasource walked
// (network/interfaces/macs/<mac>/…), as cloud-init 25.1's
// convert_ec2_metadata_network_config makes it (a v2 mapping, then read like
// any other v2 config):
// - every NIC of this machine that the metadata lists gets DHCPv4 (and DHCPv6
//   when it has ipv6s), matched by MAC and keeping its name (set-name);
// - the order of the NICs, hence which is primary and each one's route
//   metric (100, 200, …), is by network-card, then device-number, then MAC;
// - each NIC's secondary private addresses (local-ipv4s and ipv6s after the
//   first, which DHCP gives) are static addresses, IPv4 with the prefix of
//   the subnet (subnet-ipv4-cidr-block, /24 when absent), IPv6 as /128;
// - for netplan only (the one renderer of routing-policy), a secondary NIC
//   gets its own routing table (100 + its index): a default route via the
//   subnet's router, the subnet's routes, and a rule per address, so that
//   replies leave by the NIC they came in on;
// - with one NIC, no route metric, routes or rules.
// `datasource: {Ec2: {apply_full_imds_network_config: false}}` configures
// only the primary NIC (the fallback NIC), by DHCP — as cloud-init does.
//
// Where ec2-init differs, and why:
// - The policy-routing gateway is the subnet's router, which AWS always puts
//   at the subnet's network address + 1: cloud-init runs a DHCP discovery on
//   the secondary NIC at render time to learn it, which ec2-init does not
//   (no DHCP client of its own, and nothing may touch the running system
//   with --root).
// - Without network-card and device-number (EC2-like clouds), the NIC whose
//   MAC is the instance's `mac` comes first; cloud-init orders by MAC only.
// - `network-card-index` (what AWS's mock and some IMDS versions call it) is
//   read when `network-card` is absent.
// - Without a fallback NIC among the metadata's (partial config), the first
//   NIC by the order above is configured; cloud-init raises there.
import { isMapping } from '../yaml/index.ts';
import { isIP, isIPv4, type Problem } from './model.ts';
import { show } from '../validate/check.ts';
import { nicsByMac, type Nic } from './sysfs.ts';

export interface Ec2NetOptions {
  /** apply_full_imds_network_config (default true). */
  full: boolean;
  /** The chosen renderer is netplan: add policy routing for secondary NICs. */
  netplan: boolean;
  /** The fallback NIC's name (the primary for a partial config). */
  fallbackNic: string | null;
}

export interface Ec2Net {
  /** A v2 mapping, or null when the metadata has no usable network/interfaces/macs. */
  config: Record<string, unknown> | null;
  problems: Problem[];
  /** Why there is no config (for the log: the fallback is written, which is no problem). */
  note?: string;
}

const WHERE = 'Ec2 meta-data network/interfaces/macs';

/** A metadata value that may be one line or several (the walk gives a list for several lines). */
function values(v: unknown): string[] {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split(/\r?\n/) : [];
  return list.map((x) => String(x).trim()).filter(Boolean);
}

function intOr(md: Record<string, unknown>, keys: string[], alt: number): number {
  for (const k of keys) {
    const v = md[k];
    if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) return Number(v);
  }
  return alt;
}

/** The subnet's router: network address + 1 (AWS reserves it in every subnet). */
export function vpcRouter(cidr: string): string | null {
  const [net, p] = cidr.split('/');
  const prefix = Number(p);
  if (!net || !isIPv4(net) || !Number.isInteger(prefix) || prefix < 0 || prefix > 30) return null;
  const n = net.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const router = (((n & mask) >>> 0) + 1) >>> 0;
  return [24, 16, 8, 0].map((s) => (router >>> s) & 255).join('.');
}

function secondaryAddresses(md: Record<string, unknown>, mac: string, problems: Problem[]): string[] {
  const out: string[] = [];
  const v4 = values(md['local-ipv4s']);
  if (v4.length > 1) {
    const cidr = typeof md['subnet-ipv4-cidr-block'] === 'string' ? md['subnet-ipv4-cidr-block'].trim() : '';
    let prefix = '24';
    if (cidr.split('/').length === 2 && /^\d{1,2}$/.test(cidr.split('/')[1]!)) prefix = cidr.split('/')[1]!;
    else problems.push({ level: 'warning', message: `${WHERE}/${mac}: no usable subnet-ipv4-cidr-block (${JSON.stringify(cidr)}); its secondary IPv4 addresses get /24` });
    for (const ip of v4.slice(1)) out.push(`${ip}/${prefix}`);
  }
  // IPv6: /128, as DHCPv6 gives the first (cloud-init reads a subnet-ipv6-cidr-block
  // that IMDS does not have — it has subnet-ipv6-cidr-blocks — so /128 is what it writes too).
  const v6 = values(md['ipv6s']);
  for (const ip of v6.slice(1)) out.push(`${ip}/128`);
  return out.sort();
}

function policyRouting(dev: Record<string, unknown>, md: Record<string, unknown>, v4: boolean, table: number, mac: string, problems: Problem[]): void {
  const prefixes = values(md[v4 ? 'subnet-ipv4-cidr-block' : 'subnet-ipv6-cidr-blocks']);
  const ips = values(md[v4 ? 'local-ipv4s' : 'ipv6s']);
  if (prefixes.length === 0 || ips.length === 0) return; // not enough to go on (as cloud-init)
  const routes = (dev['routes'] ??= []) as Record<string, unknown>[];
  if (v4) {
    const gw = vpcRouter(prefixes[0]!);
    if (gw) routes.push({ to: '0.0.0.0/0', via: gw, table });
    else problems.push({ level: 'warning', message: `${WHERE}/${mac}: subnet-ipv4-cidr-block ${prefixes[0]} gives no router; no default route in table ${table}` });
  }
  for (const p of prefixes) routes.push({ to: p, table });
  const rules = (dev['routing-policy'] ??= []) as Record<string, unknown>[];
  // Only netplan reads routing-policy, and it takes it as given: an address from the metadata is checked here.
  for (const ip of ips) {
    if (isIP(ip)) rules.push({ from: ip, table });
    else problems.push({ level: 'warning', message: `${WHERE}/${mac}: ${v4 ? 'local-ipv4s' : 'ipv6s'}: ${show(ip)} is not an IP address; no routing-policy rule for it` });
  }
}

export function ec2NetworkConfig(metaData: Record<string, unknown>, nics: Nic[], opts: Ec2NetOptions): Ec2Net {
  const problems: Problem[] = [];
  const network = metaData['network'];
  const interfaces = isMapping(network) ? network['interfaces'] : undefined;
  const macsRaw = isMapping(interfaces) ? interfaces['macs'] : undefined;
  if (!isMapping(macsRaw)) {
    return { config: null, problems, note: 'Ec2 meta-data has no network/interfaces/macs: the fallback (DHCP on the first NIC) applies' };
  }
  const macsMd = new Map<string, Record<string, unknown>>();
  for (const [mac, md] of Object.entries(macsRaw)) if (isMapping(md)) macsMd.set(mac.toLowerCase(), md);
  const byMac = nicsByMac(nics);
  const instanceMac = typeof metaData['mac'] === 'string' ? metaData['mac'].trim().toLowerCase() : '';
  // This machine's NICs that the metadata knows, in cloud-init's order.
  const known = [...byMac.entries()].filter(([mac]) => macsMd.has(mac));
  if (known.length === 0) {
    return { config: null, problems, note: `${WHERE}: none of its MACs (${[...macsMd.keys()].join(', ') || 'none'}) is a NIC of this machine: the fallback applies` };
  }
  const ordered = [...known].sort(([a], [b]) => {
    const ma = macsMd.get(a)!;
    const mb = macsMd.get(b)!;
    const key = (mac: string, md: Record<string, unknown>): number[] => [
      intOr(md, ['network-card', 'network-card-index'], Infinity), intOr(md, ['device-number'], Infinity), mac === instanceMac ? 0 : 1,
    ];
    const ka = key(a, ma);
    const kb = key(b, mb);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  const order = new Map(ordered.map(([mac], i) => [mac, i]));
  const ethernets: Record<string, Record<string, unknown>> = {};

  if (!opts.full) {
    const [mac, name] = known.find(([, n]) => n === opts.fallbackNic) ?? ordered[0]!;
    const dev: Record<string, unknown> = { dhcp4: true, dhcp6: false, match: { macaddress: mac }, 'set-name': name };
    if (values(macsMd.get(mac)!['ipv6s']).length) dev['dhcp6'] = true;
    ethernets[name] = dev;
    return { config: { version: 2, ethernets }, problems };
  }

  for (const [mac, name] of [...known].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const md = macsMd.get(mac)!;
    const idx = order.get(mac)!;
    const override: Record<string, unknown> = { 'route-metric': (idx + 1) * 100 };
    const dev: Record<string, unknown> = { dhcp4: true, 'dhcp4-overrides': override, dhcp6: false, match: { macaddress: mac }, 'set-name': name };
    const table = 100 + idx;
    const policy = opts.netplan && md['device-number'] !== undefined && idx !== 0;
    if (policy) {
      override['use-routes'] = true;
      policyRouting(dev, md, true, table, mac, problems);
    }
    if (values(md['ipv6s']).length) {
      dev['dhcp6'] = true;
      dev['dhcp6-overrides'] = { ...override };
      if (policy) policyRouting(dev, md, false, table, mac, problems);
    }
    const addresses = secondaryAddresses(md, mac, problems);
    if (addresses.length) dev['addresses'] = addresses;
    ethernets[name] = dev;
  }
  if (Object.keys(ethernets).length === 1) {
    for (const dev of Object.values(ethernets)) {
      delete dev['dhcp4-overrides'];
      delete dev['dhcp6-overrides'];
      delete dev['routes'];
      delete dev['routing-policy'];
    }
  }
  return { config: { version: 2, ethernets }, problems };
}
