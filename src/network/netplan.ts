// netplan: /etc/netplan/50-cloud-init.yaml (0600, as netplan wants it). A v2
// config goes through as given, as cloud-init hands it to netplan; a v1 or
// network_data.json config is written as v2 from the model (gateways as
// "to: default" routes, netplan having deprecated gateway4/gateway6).
import { oneLine } from './check.ts';
import type { Iface, NetworkConfig, Problem } from './model.ts';
import { isMapping } from '../yaml/index.ts';
import { show } from '../validate/check.ts';
import { isIPv6 } from '../validate/net.ts';
import { dnsOf, HEADER, memberOf, renamesOf, renderable, routesOf, type Rendered } from './render.ts';

export const NETPLAN_PATH = '/etc/netplan/50-cloud-init.yaml';

export function renderNetplan(given: NetworkConfig): Rendered {
  // A v2 config was checked string by string when it was read (v2.ts); a model is checked here.
  const checked = given.v2 ? { config: given, problems: [] } : renderable(given);
  const { config, problems } = withoutZones(checked.config, checked.problems);
  const network = config.v2 ?? fromModel(config);
  let yaml: string;
  try { yaml = emitYaml({ network }); } catch (e) {
    return { files: [], renames: [], problems: [...problems, { level: 'error', message: `${config.origin}: ${(e as Error).message}; ${NETPLAN_PATH} not written` }] };
  }
  return {
    files: [{ path: NETPLAN_PATH, content: `${HEADER.join('\n')}\n${yaml}`, mode: 0o600 }],
    renames: config.v2 ? [] : renamesOf(config),
    problems,
  };
}

/** The first IPv6 address with a zone (fe80::1%eth0) among the strings of `v`. */
function zoned(v: unknown): string | null {
  if (typeof v === 'string') return v.includes('%') && isIPv6(v) ? v : null;
  if (Array.isArray(v)) { for (const x of v) { const z = zoned(x); if (z) return z; } return null; }
  if (v && typeof v === 'object') { for (const x of Object.values(v)) { const z = zoned(x); if (z) return z; } }
  return null;
}

/**
 * netplan (0.106, Debian 12's) reads no zone in an address: a nameserver,
 * gateway or route via of fe80::1%eth0 makes it refuse the whole file, and
 * the machine boots without network. ifupdown and networkd take it in a
 * nameserver. For netplan a v2 device with a zone is left out, and a zoned
 * nameserver of a v1 or network_data.json config, named; the rest is written.
 */
function withoutZones(config: NetworkConfig, problems: Problem[]): { config: NetworkConfig; problems: Problem[] } {
  const out = [...problems];
  const refuse = (entry: string, z: string) => out.push({ level: 'error', message: `${entry}: ${show(z)}: netplan reads no zone (%…) in an address; not rendered for netplan` });
  if (config.v2) {
    const v2: Record<string, unknown> = { ...config.v2 };
    const left = new Set<string>();
    for (const section of ['ethernets', 'bonds', 'bridges', 'vlans']) {
      if (!isMapping(v2[section])) continue;
      const kept: Record<string, unknown> = {};
      for (const [id, raw] of Object.entries(v2[section] as Record<string, unknown>)) {
        const z = zoned(raw);
        // A bond, bridge or VLAN on a device left out would name a device netplan does not know.
        const on = isMapping(raw) ? [...(Array.isArray(raw['interfaces']) ? raw['interfaces'] : []), raw['link']].find((d) => typeof d === 'string' && left.has(d)) : undefined;
        if (z) refuse(`${section}.${id}`, z);
        else if (on !== undefined) out.push({ level: 'error', message: `${section}.${id}: needs ${String(on)}, which could not be rendered; not rendered for netplan` });
        else { kept[id] = raw; continue; }
        left.add(id);
      }
      v2[section] = kept;
    }
    return { config: { ...config, v2 }, problems: out };
  }
  // A model's gateways have no zone left (render.ts renderable): only nameservers can have one.
  const noZone = (what: string) => (a: string) => {
    if (!zoned(a)) return true;
    out.push({ level: 'error', message: `${what}: nameserver ${show(a)}: netplan reads no zone (%…) in an address; left out for netplan` });
    return false;
  };
  const interfaces = config.interfaces.map((f) => ({ ...f, dns: { ...f.dns, nameservers: f.dns.nameservers.filter(noZone(f.entry)) } }));
  const dns = { ...config.dns, nameservers: config.dns.nameservers.filter(noZone(`${config.origin} global DNS`)) };
  return { config: { ...config, interfaces, dns }, problems: out };
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

const ESCAPES: Record<string, string> = {
  '\0': '\\0', '\x07': '\\a', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\v': '\\v', '\f': '\\f', '\r': '\\r',
  '\x1b': '\\e', '"': '\\"', '\\': '\\\\', '\x85': '\\N', '\u2028': '\\L', '\u2029': '\\P',
};

/**
 * `s` as a YAML double-quoted scalar that libyaml (netplan's reader), PyYAML
 * and src/yaml read back as exactly `s`: what YAML 1.1 cannot carry raw (C0
 * and C1 controls, DEL, U+FEFF, U+FFFE/U+FFFF) and what it would fold as a
 * line break (NEL, U+2028, U+2029) is escaped. A lone surrogate is no
 * character at all: null (the caller refuses the value).
 */
export function yamlQuote(s: string): string | null {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const code = c.charCodeAt(0);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { out += c + s[i + 1]; i++; continue; }
    if (code >= 0xd800 && code <= 0xdfff) return null;
    if (ESCAPES[c]) out += ESCAPES[c];
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code === 0xfeff || code === 0xfffe || code === 0xffff) out += `\\u${code.toString(16)}`;
    else out += c;
  }
  return `${out}"`;
}

function quoted(s: string, path: string): string {
  const q = yamlQuote(s);
  // The path's keys may hold what the message must not (a newline, U+2028): escaped, one line.
  if (q === null) throw new Error(`${oneLine(path) || 'a value'}: has a lone surrogate (not Unicode text), which YAML cannot carry`);
  return q;
}

function key(k: string, path: string): string { return PLAIN_KEY.test(k) && !RESERVED.test(k) ? k : quoted(k, path); }

function scalar(v: unknown, path: string): string {
  if (typeof v === 'string') return quoted(v, path);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' && !Number.isFinite(v)) return v > 0 ? '.inf' : v < 0 ? '-.inf' : '.nan';
  return String(v);
}

/**
 * Block YAML for plain data; strings always double-quoted, so nothing reads
 * back as another type. Throws, naming the key path, for a string YAML cannot
 * carry (a lone surrogate): no file is better than one netplan refuses.
 */
export function emitYaml(v: unknown, indent = 0, path = ''): string {
  const pad = ' '.repeat(indent);
  if (Array.isArray(v)) {
    if (v.length === 0) return `${pad}[]\n`;
    return v.map((item, i) => {
      const at = `${path}[${i}]`;
      // A non-empty mapping or list item: its first line after the dash, the rest indented under it.
      if (item && typeof item === 'object' && (Array.isArray(item) ? item.length : Object.keys(item).length)) {
        const inner = emitYaml(item, indent + 2, at);
        return `${pad}- ${inner.slice(indent + 2)}`;
      }
      return `${pad}- ${item && typeof item === 'object' ? emitYaml(item, 0, at).trim() : scalar(item, at)}\n`;
    }).join('');
  }
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) return `${pad}{}\n`;
    return entries.map(([k, val]) => {
      const at = path ? `${path}.${k}` : k;
      if (val && typeof val === 'object' && (Array.isArray(val) ? val.length : Object.keys(val).length)) {
        return `${pad}${key(k, at)}:\n${emitYaml(val, indent + 2, at)}`;
      }
      if (val && typeof val === 'object') return `${pad}${key(k, at)}: ${Array.isArray(val) ? '[]' : '{}'}\n`;
      return `${pad}${key(k, at)}: ${scalar(val, at)}\n`;
    }).join('');
  }
  return `${pad}${scalar(v, path)}\n`;
}
