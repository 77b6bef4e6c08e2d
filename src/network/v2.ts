// Network config version 2 (netplan's format, as cloud-init reads it):
// ethernets (matched by MAC, name or driver; set-name), bonds, bridges,
// VLANs; dhcp4/dhcp6, addresses, gateway4/gateway6, routes, nameservers, mtu.
// A NIC matched by MAC gets the name of this machine's NIC with that MAC
// (from the root's /sys/class/net) unless set-name names it: cloud-init 22.4
// used the config's id instead, which names a NIC that may not exist.
import { isMapping } from '../yaml/index.ts';
import { Checker, type Path } from './check.ts';
import {
  isIPv4, newIface, routeTo, toCidr,
  type Iface, type Param, type Route,
} from './model.ts';
import { controlIn, show } from '../validate/check.ts';
import { deviceId, driverName, interfaceGlob, interfaceName, mac as macAddress, searchDomain } from '../validate/net.ts';
import { bondBridgeParam, BOND_MODES, DHCP_OVERRIDE_RULES } from '../validate/options.ts';
import { globTest, nicsByMac, type Nic } from './sysfs.ts';

const COMMON = [
  'addresses', 'dhcp4', 'dhcp6', 'gateway4', 'gateway6', 'nameservers', 'routes', 'mtu', 'macaddress',
  'accept-ra', 'optional', 'dhcp4-overrides', 'dhcp6-overrides',
];
/** Keys netplan knows that ec2-init's ifupdown and networkd renderers do not render (netplan gets them unchanged). */
const NETPLAN_ONLY = new Set([
  'renderer', 'link-local', 'critical', 'dhcp-identifier', 'ipv6-privacy', 'ipv6-mtu', 'ipv6-address-generation',
  'ipv6-address-token', 'routing-policy', 'wakeonlan', 'emit-lldp', 'receive-checksum-offload',
  'transmit-checksum-offload', 'tcp-segmentation-offload', 'tcp6-segmentation-offload', 'generic-segmentation-offload',
  'generic-receive-offload', 'large-receive-offload', 'activation-mode', 'ignore-carrier', 'neigh-suppress',
  'infiniband-mode', 'openvswitch', 'virtual-function-count', 'embedded-switch-mode', 'delay-virtual-functions-rebind',
]);
const KNOWN: Record<string, Set<string>> = {
  ethernets: new Set([...COMMON, 'match', 'set-name', ...NETPLAN_ONLY]),
  bonds: new Set([...COMMON, 'interfaces', 'parameters', ...NETPLAN_ONLY]),
  bridges: new Set([...COMMON, 'interfaces', 'parameters', ...NETPLAN_ONLY]),
  vlans: new Set([...COMMON, 'id', 'link', ...NETPLAN_ONLY]),
};

export const BOND_PARAMS = new Set([
  'mode', 'lacp-rate', 'mii-monitor-interval', 'min-links', 'transmit-hash-policy', 'ad-select', 'all-slaves-active',
  'all-members-active', 'arp-interval', 'arp-ip-targets', 'arp-validate', 'arp-all-targets', 'up-delay', 'down-delay',
  'fail-over-mac-policy', 'gratuitous-arp', 'gratuitious-arp', 'packets-per-slave', 'packets-per-member',
  'primary-reselect-policy', 'resend-igmp', 'learn-packet-interval', 'primary',
]);
export const BRIDGE_PARAMS = new Set(['ageing-time', 'aging-time', 'priority', 'port-priority', 'forward-delay', 'hello-time', 'max-age', 'path-cost', 'stp']);

export interface V2Result { interfaces: Iface[]; netplan: Record<string, unknown> }

/** Read the mapping under `network:` (version: 2). */
export function parseV2(net: Record<string, unknown>, ck: Checker, nics: Nic[]): V2Result {
  const out: Iface[] = [];
  const byId = new Map<string, Iface>();
  const netplan: Record<string, unknown> = { version: 2 };
  const known = new Set(['version', 'ethernets', 'bonds', 'bridges', 'vlans', 'renderer', 'wifis', 'tunnels', 'vrfs', 'modems', 'nm-devices', 'dummy-devices', 'virtual-ethernets']);
  for (const k of Object.keys(net)) {
    if (!known.has(k)) ck.warn([k], 'not a network config v2 key; ignored', true);
    else if (!['version', 'ethernets', 'bonds', 'bridges', 'vlans', 'renderer'].includes(k)) {
      ck.warn([k], 'not rendered for ifupdown or networkd (netplan gets it unchanged)', true);
    }
    if (k !== 'version' && known.has(k)) netplan[k] = net[k];
  }
  // Sections only netplan reads (wifis, tunnels, …) go to it as given, less the entries with a
  // string no netplan-written file could carry.
  for (const k of Object.keys(netplan)) {
    if (['version', 'ethernets', 'bonds', 'bridges', 'vlans', 'renderer'].includes(k) || !isMapping(netplan[k])) continue;
    const kept: Record<string, unknown> = {};
    for (const [id, raw] of Object.entries(netplan[k] as Record<string, unknown>)) {
      if (ck.entry([k, id], `${k}.${id}`, () => { checkStrings(raw, [k, id], ck); })) kept[id] = raw;
    }
    netplan[k] = kept;
  }
  const byMac = nicsByMac(nics);
  // Devices refer to others by id (a bond's interfaces, a VLAN's link): each
  // is read once what it refers to is, so a VLAN on a bond works as one on a NIC.
  const pending: Array<{ section: string; id: string; raw: unknown }> = [];
  for (const section of ['ethernets', 'bonds', 'bridges', 'vlans'] as const) {
    const devices = ck.map(net, section, []);
    for (const [id, raw] of Object.entries(devices ?? {})) pending.push({ section, id, raw });
  }
  const defined = new Set(pending.map((p) => p.id));
  const refs = (raw: unknown): string[] => {
    if (!isMapping(raw)) return [];
    const r = Array.isArray(raw['interfaces']) ? raw['interfaces'].map(String) : [];
    if (typeof raw['link'] === 'string') r.push(raw['link']);
    return r.filter((x) => defined.has(x));
  };
  const done = new Set<string>();
  /** Interface name → the entry that has it: a second entry with the name is an error (two files, two stanzas for one interface). */
  const names = new Map<string, string>();
  while (pending.length) {
    // The first whose references are all read (or, in a loop of references, the first left).
    const i = Math.max(0, pending.findIndex((p) => refs(p.raw).every((r) => done.has(r))));
    const { section, id, raw } = pending.splice(i, 1)[0]!;
    done.add(id);
    const path: Path = [section, id];
    let iface: Iface | null = null;
    const ok = ck.entry(path, `${section}.${id}`, () => {
      // An empty entry (eth0: {} or eth0:) only brings the interface up, as in netplan.
      if (!isMapping(raw) && raw !== null && raw !== undefined) { ck.error(path, `expected a mapping, found ${typeof raw}`, true); return; }
      ck.valid(path, deviceId(id));
      iface = device(section, id, isMapping(raw) ? raw : {}, path, ck, byId, byMac, nics);
      checkStrings(raw, path, ck);
      const other = names.get(iface.name);
      if (other) ck.error(path, `names the interface '${iface.name}', as ${other} does (one interface, one entry)`, true);
    });
    if (ok && iface) { out.push(iface); byId.set(id, iface); names.set((iface as Iface).name, `${section}.${id}`); }
    else if (isMapping(netplan[section])) {
      // netplan gets the config as given, less the entries that cannot be rendered (it would refuse the whole file).
      const { [id]: _dropped, ...rest } = netplan[section] as Record<string, unknown>;
      netplan[section] = rest;
    }
  }
  return { interfaces: out, netplan };
}

function device(
  section: string, id: string, cfg: Record<string, unknown>, path: Path, ck: Checker,
  byId: Map<string, Iface>, byMac: Map<string, string>, nics: Nic[],
): Iface {
  const kind = section === 'ethernets' ? 'physical' : section === 'bonds' ? 'bond' : section === 'bridges' ? 'bridge' : 'vlan';
  const iface = newIface(`${section}.${id}`, kind, id);
  ck.unknownKeys(cfg, KNOWN[section]!, path, section);
  const netplanOnly = Object.keys(cfg).filter((k) => NETPLAN_ONLY.has(k));
  if (netplanOnly.length) ck.warn(path, `${netplanOnly.join(', ')}: rendered only by netplan (ifupdown and networkd ignore ${netplanOnly.length > 1 ? 'them' : 'it'})`, true);
  if (kind === 'physical') {
    const match = ck.map(cfg, 'match', path);
    const setName = ck.str(cfg, 'set-name', path);
    if (match) {
      ck.unknownKeys(match, new Set(['macaddress', 'name', 'driver']), [...path, 'match'], 'match');
      const mac = ck.str(match, 'macaddress', [...path, 'match']);
      if (mac !== undefined) iface.match.mac = ck.valid([...path, 'match', 'macaddress'], macAddress(mac));
      const name = ck.str(match, 'name', [...path, 'match']);
      if (name !== undefined) iface.match.name = ck.valid([...path, 'match', 'name'], interfaceGlob(name));
      const driver = ck.str(match, 'driver', [...path, 'match']);
      if (driver !== undefined) iface.match.driver = ck.valid([...path, 'match', 'driver'], driverName(driver));
    }
    if (setName !== undefined) {
      if (!match) ck.error([...path, 'set-name'], 'needs a match (netplan renames only a NIC it matched)', true);
      ck.valid([...path, 'set-name'], interfaceName(setName));
      iface.name = setName;
      iface.rename = true;
      iface.nameKnown = true;
    } else {
      // Which NIC of this machine is it? By MAC, else by name (a glob may match several: the first).
      const found = iface.match.mac ? byMac.get(iface.match.mac)
        : iface.match.name ? nics.map((n) => n.name).filter(globTest(iface.match.name)).sort()[0]
          : iface.match.driver ? nics.filter((n) => n.driver === iface.match.driver).map((n) => n.name).sort()[0]
            : id;
      if (!match) iface.match.name = id;
      if (found) { iface.name = found; iface.nameKnown = !match || nics.some((n) => n.name === found); }
      else iface.nameKnown = false;
      if (!match && deviceId(id).ok) { const n = interfaceName(id); if (!n.ok) ck.error(path, `${n.why} (or add a match)`, true); }
    }
  } else if (deviceId(id).ok) {
    const n = interfaceName(id);
    if (!n.ok) ck.error(path, n.why, true);
  }
  common(cfg, path, ck, iface);
  if (kind === 'bond' || kind === 'bridge') {
    for (const [i, member] of ck.strings(cfg, 'interfaces', path).entries()) {
      const m = byId.get(member);
      if (!m) ck.error([...path, 'interfaces', i], `'${member}' is not a device defined (and renderable) in this config`);
      else iface.members.push(m.name);
    }
    const params = ck.map(cfg, 'parameters', path);
    if (params) readParams(params, [...path, 'parameters'], ck, iface, kind === 'bond' ? BOND_PARAMS : BRIDGE_PARAMS, byId);
  }
  if (kind === 'vlan') {
    iface.vlanId = ck.int(cfg, 'id', path, 0, 4094);
    if (iface.vlanId === undefined && cfg['id'] === undefined) ck.error([...path], 'needs an id', true);
    const link = ck.str(cfg, 'link', path);
    if (link === undefined) ck.error(path, 'needs a link (the device it is on)', true);
    else if (!byId.has(link)) ck.error([...path, 'link'], `'${link}' is not a device defined (and renderable) in this config`);
    else iface.vlanLink = byId.get(link)!.name;
  }
  return iface;
}

function readParams(params: Record<string, unknown>, path: Path, ck: Checker, iface: Iface, known: Set<string>, byId: Map<string, Iface>): void {
  for (const [k, v] of Object.entries(params)) {
    if (!known.has(k)) { ck.warn([...path, k], `not a ${iface.kind} parameter ec2-init knows; ignored`, true); continue; }
    if (k === 'mode' && (typeof v !== 'string' || !BOND_MODES.includes(v))) {
      ck.error([...path, k], `expected one of ${BOND_MODES.join(', ')}, found ${show(v)}`);
      continue;
    }
    let value: unknown = v;
    if (k === 'primary' && typeof v === 'string') value = byId.get(v)?.name ?? v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) value = v.map(String);
    else if (isMapping(v)) value = Object.entries(v).map(([port, n]) => `${byId.get(port)?.name ?? port} ${String(n)}`);
    const checked = ck.valid([...path, k], bondBridgeParam(iface.kind === 'bond' ? 'bond' : 'bridge', k, value));
    if (checked !== undefined) iface.params[k] = checked;
  }
}

/** dhcp4-overrides / dhcp6-overrides: the keys ec2-init renders, each by its rule (the rest is netplan's). */
function readOverrides(o: Record<string, unknown>, path: Path, ck: Checker): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const rule = DHCP_OVERRIDE_RULES[k];
    if (!rule) { out[k] = v; continue; }
    const checked = ck.valid([...path, k], rule(v));
    if (checked !== undefined) out[k] = checked;
  }
  return out;
}

/**
 * Every key and string of a v2 entry: netplan gets the entry as given and
 * writes files of its own from it, so no string in it may hold what no line
 * can carry (netplan 0.106 writes a newline in a search domain as is).
 */
function checkStrings(v: unknown, path: Path, ck: Checker): void {
  if (typeof v === 'string') {
    const c = controlIn(v);
    if (c) ck.error(path, `${show(v)} has ${c}, which no network config file can carry`);
  } else if (Array.isArray(v)) v.forEach((x, i) => checkStrings(x, [...path, i], ck));
  else if (isMapping(v)) {
    for (const [k, x] of Object.entries(v)) {
      const c = controlIn(k);
      if (c) ck.error([...path, k], `the key ${show(k)} has ${c}`, true);
      else checkStrings(x, [...path, k], ck);
    }
  }
}

function common(cfg: Record<string, unknown>, path: Path, ck: Checker, iface: Iface): void {
  iface.dhcp4 = ck.bool(cfg, 'dhcp4', path) ?? false;
  iface.dhcp6 = ck.bool(cfg, 'dhcp6', path) ?? false;
  iface.acceptRa = ck.bool(cfg, 'accept-ra', path);
  iface.optional = ck.bool(cfg, 'optional', path);
  iface.mtu = ck.int(cfg, 'mtu', path, 68, 65535);
  const mac = ck.str(cfg, 'macaddress', path);
  if (mac !== undefined) iface.mac = ck.valid([...path, 'macaddress'], macAddress(mac));
  const o4 = ck.map(cfg, 'dhcp4-overrides', path);
  if (o4) iface.dhcp4Overrides = readOverrides(o4, [...path, 'dhcp4-overrides'], ck);
  const o6 = ck.map(cfg, 'dhcp6-overrides', path);
  if (o6) readOverrides(o6, [...path, 'dhcp6-overrides'], ck);
  const addresses = ck.list(cfg, 'addresses', path) ?? [];
  for (const [i, a] of addresses.entries()) {
    // "192.168.1.10/24", or {"192.168.1.10/24": {label: …, lifetime: …}}.
    const text = typeof a === 'string' ? a : isMapping(a) && Object.keys(a).length === 1 ? Object.keys(a)[0]! : null;
    if (text === null) { ck.error([...path, 'addresses', i], 'expected an address with its prefix (192.168.1.10/24)'); continue; }
    if (!text.includes('/')) { ck.error([...path, 'addresses', i], `'${text}' needs a prefix length (${text}/24, ${text}/64)`); continue; }
    const c = toCidr(text);
    if ('error' in c) ck.error([...path, 'addresses', i], c.error);
    else iface.addresses.push(c.cidr);
  }
  iface.gateway4 = ck.ip(cfg, 'gateway4', path, 4);
  iface.gateway6 = ck.ip(cfg, 'gateway6', path, 6);
  if (iface.gateway4 || iface.gateway6) {
    ck.warn([...path, iface.gateway4 ? 'gateway4' : 'gateway6'], 'is deprecated in netplan; a route "to: default" says the same', true);
  }
  const ns = ck.map(cfg, 'nameservers', path);
  if (ns) {
    ck.unknownKeys(ns, new Set(['addresses', 'search']), [...path, 'nameservers'], 'nameservers');
    iface.dns.nameservers = ck.ips(ns, 'addresses', [...path, 'nameservers']);
    iface.dns.search = ck.each(ck.strings(ns, 'search', [...path, 'nameservers']), [...path, 'nameservers', 'search'], searchDomain);
  }
  const routes = ck.list(cfg, 'routes', path) ?? [];
  for (const [i, r] of routes.entries()) {
    const rp = [...path, 'routes', i];
    if (!isMapping(r)) { ck.error(rp, 'expected a mapping (to, via, metric)'); continue; }
    const route = readRoute(r, rp, ck);
    if (route) iface.routes.push(route);
  }
}

const ROUTE_KEYS = new Set(['to', 'via', 'metric', 'table', 'on-link', 'scope', 'type', 'from', 'mtu', 'congestion-window', 'advertised-receive-window']);

function readRoute(r: Record<string, unknown>, rp: Path, ck: Checker): Route | null {
  ck.unknownKeys(r, ROUTE_KEYS, rp, 'routes');
  const toText = ck.str(r, 'to', rp);
  if (toText === undefined) { ck.error(rp, "needs 'to' (default, or a network such as 10.0.0.0/8)"); return null; }
  const to = routeTo(toText);
  if ('error' in to) { ck.error([...rp, 'to'], to.error); return null; }
  const route: Route = { to: to.to };
  const via = ck.ip(r, 'via', rp);
  if (via) route.via = via;
  const metric = ck.int(r, 'metric', rp, 0, 2 ** 32 - 1);
  if (metric !== undefined) route.metric = metric;
  const table = ck.int(r, 'table', rp, 0, 2 ** 32 - 1);
  if (table !== undefined) route.table = table;
  const onLink = ck.bool(r, 'on-link', rp);
  if (onLink !== undefined) route.onLink = onLink;
  if (via && to.to !== 'default' && isIPv4(via) !== isIPv4(to.to.split('/')[0]!)) ck.error([...rp, 'via'], `gateway ${via} and destination ${to.to} are of different IP versions`);
  if (!via && to.to === 'default') ck.error(rp, 'a default route needs a gateway (via)');
  return route;
}

export type { Param };
