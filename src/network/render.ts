// What a renderer produces: files to write under the root, the NICs to
// rename, and problems naming the entries it could not render.
import type { Iface, NetworkConfig, Problem, Route } from './model.ts';
import { inSubnet, isIPv6 } from './model.ts';
import { showPath } from './check.ts';
import { show } from '../validate/check.ts';
import { networkdValue } from '../validate/options.ts';

export interface RenderedFile { path: string; content: string; mode: number }

export interface Rendered {
  files: RenderedFile[];
  /** NICs to be given their configured name (set-name, v1 name with a MAC). */
  renames: Array<{ mac: string; name: string; entry: string }>;
  problems: Problem[];
}

export const HEADER = [
  '# Written by ec2-init from the network config of the datasource (or its',
  '# fallback) on the first boot of this instance. A new instance writes it',
  '# again. To keep ec2-init (and cloud-init) from writing it, put',
  '# "network: {config: disabled}" in /etc/cloud/cloud.cfg.d/99-disable-network-config.cfg.',
];

/** The interfaces that are members of a bond or bridge (they get no addresses of their own). */
export function memberOf(config: NetworkConfig): Map<string, Iface> {
  const map = new Map<string, Iface>();
  for (const f of config.interfaces) for (const m of f.members) map.set(m, f);
  return map;
}

/** The DNS an interface gets: its own, or (v1) the global DNS when it has none and can carry it. */
export function dnsOf(config: NetworkConfig, iface: Iface, members: Map<string, Iface>): { nameservers: string[]; search: string[] } {
  const own = iface.dns;
  if (own.nameservers.length || own.search.length || members.has(iface.name)) return own;
  const hasIp = iface.dhcp4 || iface.dhcp6 || iface.addresses.length > 0;
  return hasIp ? config.dns : own;
}

/** Routes of an interface with its gateways as default routes first. */
export function routesOf(iface: Iface): Route[] {
  const out: Route[] = [];
  if (iface.gateway4) out.push({ to: 'default', via: iface.gateway4 });
  if (iface.gateway6) out.push({ to: 'default', via: iface.gateway6 });
  return [...out, ...iface.routes];
}

/** True when the route's gateway is not on any subnet of the interface (it needs on-link to be reachable). */
export function gatewayOffLink(iface: Iface, r: Route): boolean {
  if (!r.via || r.onLink !== undefined) return false;
  const fam = isIPv6(r.via);
  const same = iface.addresses.filter((a) => isIPv6(a.split('/')[0]!) === fam);
  return same.length > 0 && !same.some((a) => inSubnet(r.via!, a));
}

export function renamesOf(config: NetworkConfig): Rendered['renames'] {
  return config.interfaces.filter((f) => f.kind === 'physical' && f.rename && f.match.mac)
    .map((f) => ({ mac: f.match.mac!, name: f.name, entry: f.entry }));
}

/**
 * The renderers' last check: every string of an interface (or of the global
 * DNS) that can reach a file must be one a line of ifupdown's, networkd's or
 * netplan's file carries as it is — the parsers of v1, v2 and
 * network_data.json have checked each by its own rule already. Returns the
 * problem (the interface is then not rendered), or null.
 */
export function refusedValue(what: string, value: unknown, path: Array<string | number> = []): Problem | null {
  if (typeof value === 'string') {
    const r = networkdValue(value);
    return r.ok ? null : { level: 'error', message: `${what}: ${path.length ? `${showPath(path)}: ` : ''}${r.why}; not rendered` };
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) { const p = refusedValue(what, v, [...path, i]); if (p) return p; }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (path.length === 0 && k === 'entry') continue; // the label messages use
      const p = refusedValue(what, k, [...path, k]) ?? refusedValue(what, v, [...path, k]);
      if (p) return p;
    }
  }
  return null;
}

/**
 * The interface with the zone of each gateway (fe80::1%ens3) taken off:
 * neither ip(8) (ifupdown's route lines) nor networkd's Gateway= nor netplan
 * reads one, and a route of an interface's goes out on that interface
 * anyway. A zone naming another interface says the gateway is somewhere the
 * route does not go: a message (the interface is not rendered).
 */
function ownGateways(f: Iface): Iface | string {
  let wrong: string | null = null;
  const own = (via: string | undefined): string | undefined => {
    const at = via?.indexOf('%') ?? -1;
    if (via === undefined || at === -1) return via;
    if (via.slice(at + 1) !== f.name) wrong ??= via;
    return via.slice(0, at);
  };
  const out: Iface = { ...f, gateway4: own(f.gateway4), gateway6: own(f.gateway6), routes: f.routes.map((r) => (r.via ? { ...r, via: own(r.via) } : r)) };
  if (f.gateway4 === undefined) delete out.gateway4;
  if (f.gateway6 === undefined) delete out.gateway6;
  return wrong === null ? out : `${f.entry}: gateway ${show(wrong)}: its zone is not ${f.name}, the interface its route is on (a gateway's zone can only be that); not rendered`;
}

/**
 * The config less what no file can carry (refusedValue): the interfaces that
 * have such a value, and what depends on them (a bond on a refused member, a
 * VLAN on a refused link), are left out with an error naming them.
 */
export function renderable(config: NetworkConfig): { config: NetworkConfig; problems: Problem[] } {
  const problems: Problem[] = [];
  const left = new Set<string>();
  const interfaces: Iface[] = [];
  for (const f of config.interfaces) {
    const deps = [...f.members, ...(f.vlanLink ? [f.vlanLink] : [])].filter((d) => left.has(d));
    const p = refusedValue(f.entry, f);
    const g = p ? null : ownGateways(f);
    const why = p?.message ?? (typeof g === 'string' ? g : null)
      ?? (deps.length ? `${f.entry}: needs ${deps.join(', ')}, which could not be rendered; not rendered` : null);
    if (why === null && g && typeof g !== 'string') interfaces.push(g);
    else { problems.push({ level: 'error', message: why ?? `${f.entry}: not rendered` }); left.add(f.name); }
  }
  let dns = config.dns;
  const p = refusedValue(`${config.origin} global DNS`, dns);
  if (p) { problems.push(p); dns = { nameservers: [], search: [] }; }
  return { config: { ...config, interfaces, dns }, problems };
}
