// netplan: /etc/netplan/50-cloud-init.yaml (0600, as netplan wants it). A v2
// config goes through as given, as cloud-init hands it to netplan; a v1 or
// network_data.json config is written as v2 from the model (gateways as
// "to: default" routes, netplan having deprecated gateway4/gateway6).
import type { Iface, NetworkConfig } from './model.ts';
import { dnsOf, HEADER, memberOf, renamesOf, routesOf, type Rendered } from './render.ts';

export const NETPLAN_PATH = '/etc/netplan/50-cloud-init.yaml';

export function renderNetplan(config: NetworkConfig): Rendered {
  const network = config.v2 ?? fromModel(config);
  return {
    files: [{ path: NETPLAN_PATH, content: `${HEADER.join('\n')}\n${emitYaml({ network })}`, mode: 0o600 }],
    renames: config.v2 ? [] : renamesOf(config),
    problems: [],
  };
}

function fromModel(config: NetworkConfig): Record<string, unknown> {
  const members = memberOf(config);
  const sections: Record<string, Record<string, unknown>> = { ethernets: {}, bonds: {}, bridges: {}, vlans: {} };
  for (const f of config.interfaces) {
    const d: Record<string, unknown> = {};
    if (f.kind === 'physical') {
      const match: Record<string, string> = {};
      if (f.match.mac) match['macaddress'] = f.match.mac;
      else if (f.match.name && f.match.name !== f.name) match['name'] = f.match.name;
      if (f.match.driver) match['driver'] = f.match.driver;
      if (Object.keys(match).length) { d['match'] = match; d['set-name'] = f.name; }
    }
    if (f.mac) d['macaddress'] = f.mac;
    if (f.mtu) d['mtu'] = f.mtu;
    if (f.kind === 'bond' || f.kind === 'bridge') {
      d['interfaces'] = f.members;
      if (Object.keys(f.params).length) d['parameters'] = params(f);
    }
    if (f.kind === 'vlan') { d['id'] = f.vlanId; d['link'] = f.vlanLink; }
    if (f.dhcp4) d['dhcp4'] = true;
    if (f.dhcp6) d['dhcp6'] = true;
    if (f.acceptRa !== undefined) d['accept-ra'] = f.acceptRa;
    if (f.addresses.length) d['addresses'] = f.addresses;
    const routes = routesOf(f).map((r) => ({
      to: r.to, ...(r.via ? { via: r.via } : {}), ...(r.metric !== undefined ? { metric: r.metric } : {}),
      ...(r.table !== undefined ? { table: r.table } : {}), ...(r.onLink ? { 'on-link': true } : {}),
    }));
    if (routes.length) d['routes'] = routes;
    const dns = dnsOf(config, f, members);
    if (dns.nameservers.length || dns.search.length) {
      d['nameservers'] = { ...(dns.nameservers.length ? { addresses: dns.nameservers } : {}), ...(dns.search.length ? { search: dns.search } : {}) };
    }
    if (f.optional) d['optional'] = true;
    const section = f.kind === 'physical' ? 'ethernets' : f.kind === 'bond' ? 'bonds' : f.kind === 'bridge' ? 'bridges' : 'vlans';
    sections[section]![f.name] = d;
  }
  const out: Record<string, unknown> = { version: 2 };
  for (const [k, v] of Object.entries(sections)) if (Object.keys(v).length) out[k] = v;
  return out;
}

function params(f: Iface): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f.params)) {
    // Port maps (path-cost, port-priority) are kept as "port value" pairs in the model.
    if ((k === 'path-cost' || k === 'port-priority') && Array.isArray(v)) {
      out[k] = Object.fromEntries(v.map((pair) => { const [p, n] = pair.split(/\s+/); return [p, Number(n)]; }));
    } else out[k] = v;
  }
  return out;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const RESERVED = /^(?:y|n|yes|no|on|off|true|false|null|~)$/i;

function key(k: string): string { return PLAIN_KEY.test(k) && !RESERVED.test(k) ? k : JSON.stringify(k); }

function scalar(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v); // a JSON string is a YAML double-quoted scalar
  if (v === null || v === undefined) return 'null';
  return String(v);
}

/** Block YAML for plain data; strings always double-quoted, so nothing reads back as another type. */
export function emitYaml(v: unknown, indent = 0): string {
  const pad = ' '.repeat(indent);
  if (Array.isArray(v)) {
    if (v.length === 0) return `${pad}[]\n`;
    return v.map((item) => {
      if (item && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length) {
        const inner = emitYaml(item, indent + 2);
        return `${pad}- ${inner.slice(indent + 2)}`;
      }
      return `${pad}- ${item && typeof item === 'object' ? emitYaml(item, 0).trim() : scalar(item)}\n`;
    }).join('');
  }
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) return `${pad}{}\n`;
    return entries.map(([k, val]) => {
      if (val && typeof val === 'object' && (Array.isArray(val) ? val.length : Object.keys(val).length)) {
        return `${pad}${key(k)}:\n${emitYaml(val, Array.isArray(val) ? indent + 2 : indent + 2)}`;
      }
      if (val && typeof val === 'object') return `${pad}${key(k)}: ${Array.isArray(val) ? '[]' : '{}'}\n`;
      return `${pad}${key(k)}: ${scalar(val)}\n`;
    }).join('');
  }
  return `${pad}${scalar(v)}\n`;
}
