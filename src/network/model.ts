// The one shape every network config is read into — netplan-like v2, v1 and
// OpenStack's network_data.json alike — and every renderer reads from. It is
// cloud-init's NetworkState reduced to what ec2-init renders: interfaces with
// their addresses, routes and DNS, bonds, bridges, VLANs, and global DNS.

import { isIP, isIPv4, isIPv6, prefix as prefixLength } from '../validate/net.ts';

export type Kind = 'physical' | 'bond' | 'bridge' | 'vlan';

export interface Route {
  /** 'default', or a network in CIDR form (10.0.0.0/8, 2001:db8::/32). */
  to: string;
  via?: string;
  metric?: number;
  table?: number;
  onLink?: boolean;
}

export interface Dns { nameservers: string[]; search: string[] }

export type Param = string | number | boolean | string[];

export interface Iface {
  /** How the input names this entry, for messages: "ethernets.eth0", "config[2] (bond0)", "links[0] (tap1)". */
  entry: string;
  kind: Kind;
  /** The interface's name once configured (set-name, the v1 name, the NIC found by MAC, or the v2 id). */
  name: string;
  /** Physical only: how to find the NIC. */
  match: { mac?: string; name?: string; driver?: string };
  /** Physical only: the NIC found by `match` is to be named `name` (v2 set-name; v1 name with a MAC). */
  rename: boolean;
  /** False when `name` is only the config's id: no NIC of this machine was found for it. */
  nameKnown: boolean;
  /** Bond, bridge, VLAN: the MAC address to give it. */
  mac?: string;
  mtu?: number;
  dhcp4: boolean;
  dhcp6: boolean;
  acceptRa?: boolean;
  /** A v1 ipv6_slaac subnet: ifupdown gets its own `inet6 auto` stanza for it, as cloud-init writes one per subnet. */
  slaac?: boolean;
  /** CIDR: 192.168.1.10/24, 2001:db8::10/64. */
  addresses: string[];
  gateway4?: string;
  gateway6?: string;
  routes: Route[];
  dns: Dns;
  /** Bond and bridge: the member interfaces' names. */
  members: string[];
  /** Bond and bridge parameters in netplan's vocabulary (mode, mii-monitor-interval, stp, forward-delay, …). */
  params: Record<string, Param>;
  vlanId?: number;
  /** VLAN: the name of the interface it rides on. */
  vlanLink?: string;
  optional?: boolean;
  /** The interface's own DHCP settings (v2 dhcp4-overrides), kept for netplan. */
  dhcp4Overrides?: Record<string, unknown>;
}

export interface NetworkConfig {
  /** Where it came from, for messages and `plan`: "NoCloud network-config (v2)". */
  origin: string;
  version: 1 | 2;
  /** In the order they are to be brought up: members before their bond, links before their VLAN. */
  interfaces: Iface[];
  /** Global DNS (v1 nameserver entries, network_data.json services). */
  dns: Dns;
  /** v2 input as given (validated), for netplan, which cloud-init hands v2 through unchanged. */
  v2?: Record<string, unknown>;
  /** The config as read (v1 or v2 mapping), for /run/ec2-init/network-config.json. */
  raw: unknown;
}

/** A problem in one entry of a network config: the entry is left out, the rest is rendered. */
export interface Problem {
  level: 'warning' | 'error';
  message: string;
}

export function newIface(entry: string, kind: Kind, name: string): Iface {
  return {
    entry, kind, name, match: {}, rename: false, nameKnown: kind !== 'physical',
    dhcp4: false, dhcp6: false, addresses: [], routes: [], dns: { nameservers: [], search: [] }, members: [], params: {},
  };
}

// ---------------------------------------------------------------------------
// Addresses (the rules are src/validate/net.ts's, the one place they live)

export { isIP, isIPv4, isIPv6, MAC_PATTERN as MAC } from '../validate/net.ts';

/** The prefix length of a dotted netmask (255.255.255.0 → 24), or null when it is not one. */
export function maskToPrefix(mask: string): number | null {
  if (!isIPv4(mask)) return null;
  const n = mask.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  let prefix = 0;
  while (prefix < 32 && (n & (2 ** 31 >>> prefix)) !== 0) prefix++;
  const rebuilt = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return rebuilt === n ? prefix : null;
}

/** The prefix length of an IPv6 netmask (ffff:ffff:ffff:ffff:: → 64), or null. */
export function maskToPrefix6(mask: string): number | null {
  if (!isIPv6(mask)) return null;
  const bits = v6ToBig(mask).toString(2).padStart(128, '0');
  const prefix = bits.indexOf('0') === -1 ? 128 : bits.indexOf('0');
  return /^1*0*$/.test(bits) ? prefix : null;
}

export function prefixToMask(prefix: number): string {
  const n = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/**
 * "addr/prefix" from an address that may carry its prefix, with an optional
 * netmask (dotted for IPv4, or a prefix length); null with a reason when invalid.
 */
export function toCidr(address: string, netmask?: unknown): { cidr: string } | { error: string } {
  const [addr, given, ...rest] = address.split('/');
  if (rest.length || !addr || !isIP(addr)) return { error: `'${address}' is not an IP address` };
  const v6 = isIPv6(addr);
  const max = v6 ? 128 : 32;
  // A prefix length as src/validate/net.ts takes it, else a netmask.
  const length = (s: string): number | null => { const p = prefixLength(s, v6 ? 6 : 4); return p.ok ? p.value : null; };
  let prefix: number | null = null;
  if (given !== undefined) {
    prefix = length(given) ?? (!v6 ? maskToPrefix(given) : null);
  } else if (netmask !== undefined && netmask !== null && netmask !== '') {
    const m = String(netmask);
    prefix = length(m) ?? (!v6 ? maskToPrefix(m) : maskToPrefix6(m));
    if (prefix === null) return { error: `netmask '${m}' of ${address} is not a netmask` };
  } else {
    prefix = max; // cloud-init: an address without a prefix is a host address
  }
  if (prefix === null || prefix > max) return { error: `'${address}' has an invalid prefix` };
  return { cidr: `${addr}/${prefix}` };
}

function v4ToInt(a: string): number { return a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0); }

function v6ToBig(a: string): bigint {
  let addr = a.split('%')[0]!;
  if (addr.includes('.')) {
    const i = addr.lastIndexOf(':');
    const n = v4ToInt(addr.slice(i + 1));
    addr = `${addr.slice(0, i)}:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = addr.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** True when `ip` lies in the network of `cidr` (same family). */
export function inSubnet(ip: string, cidr: string): boolean {
  const [net, p] = cidr.split('/') as [string, string];
  const prefix = Number(p);
  if (isIPv4(ip) && isIPv4(net)) {
    if (prefix === 0) return true;
    const mask = (0xffffffff << (32 - prefix)) >>> 0;
    return ((v4ToInt(ip) & mask) >>> 0) === ((v4ToInt(net) & mask) >>> 0);
  }
  if (isIPv6(ip) && isIPv6(net)) {
    const shift = BigInt(128 - prefix);
    return (v6ToBig(ip) >> shift) === (v6ToBig(net) >> shift);
  }
  return false;
}

/** A route destination as CIDR ('default' stays 'default'; 0.0.0.0/0 and ::/0 become 'default'). */
export function routeTo(to: string): { to: string } | { error: string } {
  if (to === 'default') return { to };
  const r = toCidr(to);
  if ('error' in r) return r;
  return { to: r.cidr === '0.0.0.0/0' || r.cidr === '::/0' ? 'default' : r.cidr };
}

/** The family of a route: by its gateway, else its destination. */
export function routeIsV6(r: Route): boolean {
  if (r.via) return isIPv6(r.via);
  return r.to !== 'default' && isIPv6(r.to.split('/')[0]!);
}
