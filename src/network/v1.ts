// Network config version 1 (cloud-init's own format; OpenStack's
// network_data.json is converted to it, as cloud-init does): a list of
// physical, bond, bridge, vlan, nameserver and route entries; subnets of
// type dhcp/dhcp4, dhcp6, static/static6, ipv6_slaac,
// ipv6_dhcpv6-stateless/-stateful, manual. A physical entry with a
// mac_address names the NIC with that MAC.
import { isFalse, isTrue } from '../validate/bool.ts';
import { isMapping } from '../yaml/index.ts';
import { Checker, type Path } from './check.ts';
import {
  inSubnet, isIPv6, newIface, routeIsV6, routeTo, toCidr,
  type Dns, type Iface, type Route,
} from './model.ts';
import { driverName, interfaceName, mac as macAddress, searchDomain } from '../validate/net.ts';
import { bondBridgeParam } from '../validate/options.ts';

const IFACE_KEYS = new Set(['type', 'name', 'mac_address', 'mtu', 'subnets', 'params', 'accept-ra', 'wakeonlan', 'keep_configuration', 'optional']);
const EXTRA: Record<string, string[]> = {
  bond: ['bond_interfaces'],
  bridge: ['bridge_interfaces'],
  vlan: ['vlan_link', 'vlan_id'],
};
const SUBNET_KEYS = new Set(['type', 'address', 'netmask', 'gateway', 'dns_nameservers', 'dns_search', 'routes', 'control', 'metric', 'mtu', 'broadcast', 'scope', 'pointopoint', 'ipv4', 'ipv6']);

/** v1 bond-* parameters (cloud-init's and ifenslave's names) → netplan's. */
const BOND_V1: Record<string, string> = {
  'bond-mode': 'mode', 'bond-miimon': 'mii-monitor-interval', 'bond-lacp-rate': 'lacp-rate',
  'bond-xmit-hash-policy': 'transmit-hash-policy', 'bond-min-links': 'min-links', 'bond-ad-select': 'ad-select',
  'bond-updelay': 'up-delay', 'bond-downdelay': 'down-delay', 'bond-arp-interval': 'arp-interval',
  'bond-arp-ip-target': 'arp-ip-targets', 'bond-arp-validate': 'arp-validate', 'bond-arp-all-targets': 'arp-all-targets',
  'bond-fail-over-mac': 'fail-over-mac-policy', 'bond-num-grat-arp': 'gratuitous-arp', 'bond-primary': 'primary',
  'bond-primary-reselect': 'primary-reselect-policy', 'bond-all-slaves-active': 'all-slaves-active',
  'bond-lp-interval': 'learn-packet-interval', 'bond-packets-per-slave': 'packets-per-slave', 'bond-resend-igmp': 'resend-igmp',
};
const BRIDGE_V1: Record<string, string> = {
  bridge_ageing: 'ageing-time', bridge_bridgeprio: 'priority', bridge_fd: 'forward-delay', bridge_hello: 'hello-time',
  bridge_maxage: 'max-age', bridge_stp: 'stp', bridge_pathcost: 'path-cost', bridge_portprio: 'port-priority',
};

export interface V1Result { interfaces: Iface[]; dns: Dns }

/**
 * `labels[i]` names config entry i in messages when the input was not v1
 * itself (network_data.json: "links[0] (tap1)").
 */
export function parseV1(net: Record<string, unknown>, ck: Checker, labels: string[] = []): V1Result {
  const dns: Dns = { nameservers: [], search: [] };
  const out: Iface[] = [];
  const config = ck.list(net, 'config', []);
  if (!config) { ck.error([], "network config v1 needs 'config: [...]' (a list of entries)"); return { interfaces: [], dns }; }
  const byName = new Map<string, Iface>();
  const routes: Array<{ route: Route; path: Path; label: string }> = [];
  const ifaceDns: Array<{ name: string; dns: Dns; path: Path }> = [];
  for (const i of readOrder(config)) {
    const raw = config[i];
    const path: Path = ['config', i];
    const name = isMapping(raw) && typeof raw['name'] === 'string' ? raw['name'] : null;
    const label = labels[i] ?? `config[${i}]${name ? ` (${name})` : ''}`;
    let iface: Iface | null = null;
    const ok = ck.entry(path, label, () => {
      if (!isMapping(raw)) { ck.error(path, 'expected a mapping with a type'); return; }
      const type = ck.str(raw, 'type', path);
      switch (type) {
        case 'physical': case 'bond': case 'bridge': case 'vlan':
          iface = device(type, raw, path, label, ck, byName); break;
        case 'nameserver': {
          ck.unknownKeys(raw, new Set(['type', 'address', 'search', 'interface']), path, 'nameserver');
          const entry = { nameservers: ck.ips(raw, 'address', path, true), search: ck.each(ck.strings(raw, 'search', path, true), [...path, 'search'], searchDomain) };
          const on = ck.str(raw, 'interface', path);
          if (on) ifaceDns.push({ name: on, dns: entry, path });
          else { dns.nameservers.push(...entry.nameservers); dns.search.push(...entry.search); }
          break;
        }
        case 'route': {
          const r = readRoute(raw, path, ck, new Set(['type', 'destination', 'network', 'netmask', 'prefix', 'gateway', 'metric']));
          if (r) routes.push({ route: r, path, label });
          break;
        }
        case 'loopback': break;
        case undefined: ck.error(path, "needs a 'type' (physical, bond, bridge, vlan, nameserver, route)"); break;
        default: ck.error([...path, 'type'], `'${type}' is not a type ec2-init renders (physical, bond, bridge, vlan, nameserver, route)`);
      }
    });
    if (ok && iface) { out.push(iface); byName.set((iface as Iface).name, iface); }
  }
  for (const { name, dns: d, path } of ifaceDns) {
    const target = byName.get(name);
    if (!target) { ck.warn([...path, 'interface'], `no interface '${name}' in this config; used as global DNS`); dns.nameservers.push(...d.nameservers); dns.search.push(...d.search); continue; }
    target.dns.nameservers.push(...d.nameservers);
    target.dns.search.push(...d.search);
  }
  // A global route goes on the interface whose subnet holds its gateway.
  for (const { route, path, label } of routes) {
    const target = route.via ? out.find((f) => f.addresses.some((a) => inSubnet(route.via!, a))) : undefined;
    const fallback = target ?? out.find((f) => f.addresses.some((a) => isIPv6(a.split('/')[0]!) === routeIsV6(route)));
    if (!fallback) { ck.error(path, `${label}: no interface in this config has an address on the way to gateway ${route.via ?? '(none)'}; route not rendered`); continue; }
    fallback.routes.push(route);
  }
  // Members before what they are members of (ifupdown brings them up in file order).
  return { interfaces: order(out), dns };
}

function device(type: 'physical' | 'bond' | 'bridge' | 'vlan', raw: Record<string, unknown>, path: Path, label: string, ck: Checker, byName: Map<string, Iface>): Iface {
  ck.unknownKeys(raw, new Set([...IFACE_KEYS, ...(EXTRA[type] ?? [])]), path, `a ${type} entry`);
  const name = ck.str(raw, 'name', path);
  if (name === undefined) ck.error(path, 'needs a name');
  else if (!ck.valid([...path, 'name'], interfaceName(name))) { /* reported */ }
  else if (byName.has(name)) ck.error([...path, 'name'], `'${name}' is defined twice (first by ${byName.get(name)!.entry})`);
  const iface = newIface(label, type, name ?? '?');
  const macText = ck.str(raw, 'mac_address', path);
  const mac = macText === undefined ? undefined : ck.valid([...path, 'mac_address'], macAddress(macText));
  if (type === 'physical') {
    if (mac) { iface.match.mac = mac; iface.rename = true; }
    else iface.match.name = iface.name;
    iface.nameKnown = true;
    const params = ck.map(raw, 'params', path);
    if (params && typeof params['driver'] === 'string') iface.match.driver = ck.valid([...path, 'params', 'driver'], driverName(params['driver']));
  } else if (mac) iface.mac = mac;
  iface.mtu = ck.int(raw, 'mtu', path, 68, 65535);
  const ra = raw['accept-ra'];
  if (ra !== undefined && ra !== null) {
    // As cloud-init's is_true reads it: Vultr's service sends `accept-ra: 1`.
    if (isTrue(ra)) iface.acceptRa = true;
    else if (isFalse(ra)) iface.acceptRa = false;
    else ck.error([...path, 'accept-ra'], `expected true or false, found ${JSON.stringify(ra)}`);
  }
  if (type === 'bond' || type === 'bridge') {
    const key = type === 'bond' ? 'bond_interfaces' : 'bridge_interfaces';
    for (const [i, m] of ck.strings(raw, key, path).entries()) {
      if (!byName.has(m)) ck.error([...path, key, i], `'${m}' is not an interface defined (and renderable) in this config`);
      else iface.members.push(m);
    }
    const params = ck.map(raw, 'params', path) ?? {};
    for (const [k, v] of Object.entries(params)) {
      const norm = type === 'bond' ? `bond-${k.replace(/^bond[-_]/, '').replace(/_/g, '-')}` : k;
      const to = type === 'bond' ? BOND_V1[norm] : BRIDGE_V1[norm];
      if (!to) { ck.warn([...path, 'params', k], `not a ${type} parameter ec2-init knows; ignored`, true); continue; }
      let value: unknown = v;
      if (to === 'stp') value = v === true || v === 'on' || v === 'yes' || v === 1 || v === '1';
      else if (Array.isArray(v)) value = v.map(String);
      else if (to === 'arp-ip-targets' && typeof v === 'string') value = v.split(/[\s,]+/).filter(Boolean);
      else if (to === 'path-cost' || to === 'port-priority') value = [String(v)];
      else if (typeof v === 'string' && /^\d+$/.test(v)) value = Number(v);
      const checked = ck.valid([...path, 'params', k], bondBridgeParam(type, to, value));
      if (checked !== undefined) iface.params[to] = checked;
    }
  }
  if (type === 'vlan') {
    iface.vlanId = ck.int(raw, 'vlan_id', path, 0, 4094);
    if (raw['vlan_id'] === undefined) ck.error(path, 'needs a vlan_id');
    const link = ck.str(raw, 'vlan_link', path);
    if (link === undefined) ck.error(path, 'needs a vlan_link (the interface it is on)');
    else if (!byName.has(link)) ck.error([...path, 'vlan_link'], `'${link}' is not an interface defined (and renderable) in this config`);
    else iface.vlanLink = link;
  }
  for (const [i, s] of (ck.list(raw, 'subnets', path) ?? []).entries()) {
    const sp = [...path, 'subnets', i];
    if (!isMapping(s)) { ck.error(sp, 'expected a mapping with a type'); continue; }
    subnet(s, sp, ck, iface);
  }
  return iface;
}

function subnet(s: Record<string, unknown>, sp: Path, ck: Checker, iface: Iface): void {
  ck.unknownKeys(s, SUBNET_KEYS, sp, 'a subnet');
  const type = ck.str(s, 'type', sp);
  switch (type) {
    case 'dhcp': case 'dhcp4': iface.dhcp4 = true; break;
    case 'dhcp6': iface.dhcp6 = true; break;
    case 'ipv6_slaac': iface.acceptRa = true; iface.slaac = true; break;
    case 'ipv6_dhcpv6-stateless': case 'ipv6_dhcpv6-stateful': iface.dhcp6 = true; iface.acceptRa = true; break;
    case 'manual': break;
    case 'static': case 'static6': {
      const address = ck.str(s, 'address', sp);
      if (address === undefined) { ck.error(sp, `a ${type} subnet needs an address`); break; }
      const c = toCidr(address, s['netmask'] ?? s['prefix']);
      if ('error' in c) { ck.error([...sp, 'address'], c.error); break; }
      const v6 = isIPv6(address.split('/')[0]!);
      if (type === 'static6' && !v6) { ck.error([...sp, 'address'], `a static6 subnet needs an IPv6 address, found ${address}`); break; }
      iface.addresses.push(c.cidr);
      const gw = ck.ip(s, 'gateway', sp, v6 ? 6 : 4);
      if (gw) {
        if (v6) { if (iface.gateway6 && iface.gateway6 !== gw) ck.warn([...sp, 'gateway'], `a second IPv6 gateway (${iface.gateway6} first); only the first is a default route`); else iface.gateway6 = gw; }
        else if (iface.gateway4 && iface.gateway4 !== gw) ck.warn([...sp, 'gateway'], `a second IPv4 gateway (${iface.gateway4} first); only the first is a default route`);
        else iface.gateway4 = gw;
      }
      break;
    }
    case undefined: ck.error(sp, "needs a 'type' (dhcp4, dhcp6, static, static6, ipv6_slaac, manual, …)"); return;
    default: ck.error([...sp, 'type'], `'${type}' is not a subnet type (dhcp, dhcp4, dhcp6, static, static6, ipv6_slaac, ipv6_dhcpv6-stateless, ipv6_dhcpv6-stateful, manual)`); return;
  }
  iface.dns.nameservers.push(...ck.ips(s, 'dns_nameservers', sp, true));
  iface.dns.search.push(...ck.each(ck.strings(s, 'dns_search', sp, true), [...sp, 'dns_search'], searchDomain));
  for (const [j, r] of (ck.list(s, 'routes', sp) ?? []).entries()) {
    const rp = [...sp, 'routes', j];
    if (!isMapping(r)) { ck.error(rp, 'expected a mapping (network, netmask, gateway)'); continue; }
    const route = readRoute(r, rp, ck, new Set(['network', 'destination', 'netmask', 'prefix', 'gateway', 'metric']));
    if (route) iface.routes.push(route);
  }
}

function readRoute(r: Record<string, unknown>, rp: Path, ck: Checker, keys: Set<string>): Route | null {
  ck.unknownKeys(r, keys, rp, 'a route');
  const dest = ck.str(r, 'destination', rp) ?? ck.str(r, 'network', rp);
  if (dest === undefined) { ck.error(rp, "a route needs 'network' (or 'destination')"); return null; }
  const c = dest === 'default' ? { cidr: '0.0.0.0/0' } : toCidr(dest, r['netmask'] ?? r['prefix']);
  if ('error' in c) { ck.error(rp, c.error); return null; }
  const to = routeTo(c.cidr);
  if ('error' in to) { ck.error(rp, to.error); return null; }
  const route: Route = { to: to.to };
  const via = ck.ip(r, 'gateway', rp);
  if (via) route.via = via;
  const metric = ck.int(r, 'metric', rp, 0, 2 ** 32 - 1);
  if (metric !== undefined) route.metric = metric;
  if (!via && to.to === 'default') { ck.error(rp, 'a default route needs a gateway'); return null; }
  return route;
}

/** Indexes of `config` in an order where an entry comes after the entries it names (members, vlan_link). */
function readOrder(config: unknown[]): number[] {
  const nameOf = (e: unknown) => (isMapping(e) && typeof e['name'] === 'string' ? e['name'] : null);
  const names = new Set(config.map(nameOf).filter((n): n is string => n !== null));
  const refs = (e: unknown): string[] => {
    if (!isMapping(e)) return [];
    const r = [e['bond_interfaces'], e['bridge_interfaces']].flatMap((v) => (Array.isArray(v) ? v.map(String) : []));
    if (typeof e['vlan_link'] === 'string') r.push(e['vlan_link']);
    return r.filter((x) => names.has(x));
  };
  const left = config.map((_, i) => i);
  const done = new Set<string>();
  const out: number[] = [];
  while (left.length) {
    const k = Math.max(0, left.findIndex((i) => refs(config[i]).every((r) => done.has(r))));
    const [i] = left.splice(k, 1);
    out.push(i!);
    const n = nameOf(config[i!]);
    if (n) done.add(n);
  }
  return out;
}

/** Dependencies first: a bond's members and a VLAN's link come before it. */
export function order(list: Iface[]): Iface[] {
  const out: Iface[] = [];
  const placed = new Set<string>();
  const left = [...list];
  while (left.length) {
    const i = Math.max(0, left.findIndex((f) => [...f.members, ...(f.vlanLink ? [f.vlanLink] : [])].every((d) => placed.has(d) || !list.some((x) => x.name === d))));
    const [f] = left.splice(i, 1);
    out.push(f!);
    placed.add(f!.name);
  }
  return out;
}
