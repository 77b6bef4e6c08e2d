// ifupdown: /etc/network/interfaces.d/50-cloud-init (the path cloud-init's
// Debian distro writes), and /etc/udev/rules.d/70-persistent-net.rules to
// name NICs found by MAC. Bonds in ifenslave's style (bond-master on the
// members), bridges in bridge-utils' (bridge_ports), VLANs with
// vlan-raw-device. Routes use iproute2 (`ip route add … || true`) where
// cloud-init writes net-tools' `route add`, which Debian no longer installs.
// ifupdown needs names: an interface whose NIC was not found on this machine
// (v2 match with no set-name) is an error naming it.
import type { Iface, NetworkConfig, Param, Route } from './model.ts';
import { isIPv6, routeIsV6 } from './model.ts';
import { dnsOf, gatewayOffLink, HEADER, memberOf, renamesOf, renderable, routesOf, type Rendered } from './render.ts';

export const ENI_PATH = '/etc/network/interfaces.d/50-cloud-init';
export const NETRULES_PATH = '/etc/udev/rules.d/70-persistent-net.rules';

const BOND_ENI: Record<string, string> = {
  mode: 'bond-mode', 'mii-monitor-interval': 'bond-miimon', 'lacp-rate': 'bond-lacp-rate',
  'transmit-hash-policy': 'bond-xmit-hash-policy', 'min-links': 'bond-min-links', 'ad-select': 'bond-ad-select',
  'up-delay': 'bond-updelay', 'down-delay': 'bond-downdelay', 'arp-interval': 'bond-arp-interval',
  'arp-ip-targets': 'bond-arp-ip-target', 'arp-validate': 'bond-arp-validate', 'arp-all-targets': 'bond-arp-all-targets',
  'fail-over-mac-policy': 'bond-fail-over-mac', 'gratuitous-arp': 'bond-num-grat-arp', 'gratuitious-arp': 'bond-num-grat-arp',
  primary: 'bond-primary', 'primary-reselect-policy': 'bond-primary-reselect', 'all-slaves-active': 'bond-all-slaves-active',
  'all-members-active': 'bond-all-slaves-active', 'learn-packet-interval': 'bond-lp-interval',
  'packets-per-slave': 'bond-packets-per-slave', 'packets-per-member': 'bond-packets-per-slave', 'resend-igmp': 'bond-resend-igmp',
};
const BRIDGE_ENI: Record<string, string> = {
  stp: 'bridge_stp', 'forward-delay': 'bridge_fd', 'hello-time': 'bridge_hello', 'max-age': 'bridge_maxage',
  'ageing-time': 'bridge_ageing', 'aging-time': 'bridge_ageing', priority: 'bridge_bridgeprio',
  'path-cost': 'bridge_pathcost', 'port-priority': 'bridge_portprio',
};

function value(k: string, v: Param): string[] {
  if (k === 'bridge_stp') return [v === true || v === 'on' ? 'on' : 'off'];
  if (k === 'bridge_pathcost' || k === 'bridge_portprio') return Array.isArray(v) ? v : [String(v)];
  if (k === 'bond-all-slaves-active') return [v === true || v === 1 || v === 'true' ? '1' : '0'];
  return [Array.isArray(v) ? v.join(' ') : String(v)];
}

function routeLines(name: string, r: Route, offLink: boolean): string[] {
  const v6 = r.via ? isIPv6(r.via) : isIPv6(r.to.split('/')[0]!);
  const spec = [r.to === 'default' ? 'default' : r.to, ...(r.via ? ['via', r.via] : []),
    ...(r.metric !== undefined ? ['metric', String(r.metric)] : []), ...(r.table !== undefined ? ['table', String(r.table)] : []),
    'dev', name, ...(r.onLink || offLink ? ['onlink'] : [])].join(' ');
  const ip = v6 ? 'ip -6 route' : 'ip route';
  return [`    post-up ${ip} add ${spec} || true`, `    pre-down ${ip} del ${spec} || true`];
}

export function renderEni(given: NetworkConfig): Rendered {
  const { config, problems } = renderable(given);
  const out: Rendered = { files: [], renames: renamesOf(config), problems };
  const members = memberOf(config);
  const skipped = new Set<string>();
  const stanzas: string[] = ['auto lo\niface lo inet loopback' + dnsLines(config.dns.nameservers, config.dns.search)];
  for (const f of config.interfaces) {
    if (!f.nameKnown) {
      out.problems.push({ level: 'error', message: `${f.entry}: no NIC of this machine matches it${f.match.mac ? ` (MAC ${f.match.mac})` : ''} and it has no set-name; ifupdown needs the interface's name; not rendered` });
      skipped.add(f.name);
      continue;
    }
    const deps = [...f.members, ...(f.vlanLink ? [f.vlanLink] : [])].filter((d) => skipped.has(d));
    if (deps.length) {
      out.problems.push({ level: 'error', message: `${f.entry}: needs ${deps.join(', ')}, which could not be rendered; not rendered` });
      skipped.add(f.name);
      continue;
    }
    stanzas.push(...iface(config, f, members));
  }
  out.files.push({ path: ENI_PATH, content: `${HEADER.join('\n')}\n${stanzas.join('\n\n')}\n`, mode: 0o644 });
  if (out.renames.length) {
    const rules = out.renames.map((r) => `SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="${r.mac}", NAME="${r.name}"`);
    out.files.push({ path: NETRULES_PATH, content: `${HEADER.join('\n')}\n${rules.join('\n')}\n`, mode: 0o644 });
  }
  return out;
}

function dnsLines(ns: string[], search: string[]): string {
  return (ns.length ? `\n    dns-nameservers ${ns.join(' ')}` : '') + (search.length ? `\n    dns-search ${search.join(' ')}` : '');
}

function iface(config: NetworkConfig, f: Iface, members: Map<string, Iface>): string[] {
  const master = members.get(f.name);
  const attrs: string[] = [];
  if (f.mac) attrs.push(`    hwaddress ${f.mac}`);
  if (f.mtu) attrs.push(`    mtu ${f.mtu}`);
  if (f.kind === 'bond') {
    attrs.push('    bond-slaves none');
    for (const [k, v] of Object.entries(f.params)) {
      const key = BOND_ENI[k];
      if (key) attrs.push(`    ${key} ${value(key, v).join(' ')}`);
    }
  }
  if (f.kind === 'bridge') {
    attrs.push(`    bridge_ports ${f.members.length ? f.members.join(' ') : 'none'}`);
    for (const [k, v] of Object.entries(f.params)) {
      const key = BRIDGE_ENI[k];
      if (key) for (const one of value(key, v)) attrs.push(`    ${key} ${one}`);
    }
  }
  if (f.kind === 'vlan') attrs.push(`    vlan-raw-device ${f.vlanLink}`, `    vlan_id ${f.vlanId}`);
  if (master?.kind === 'bond') {
    attrs.push(`    bond-master ${master.name}`);
    if (master.params['mode'] !== undefined) attrs.push(`    bond-mode ${String(master.params['mode'])}`);
  }
  const dns = dnsOf(config, f, members);
  const v4 = f.addresses.filter((a) => !isIPv6(a.split('/')[0]!));
  const v6 = f.addresses.filter((a) => isIPv6(a.split('/')[0]!));
  const routes = routesOf(f).filter((r) => r.to !== 'default' || !(r.via === f.gateway4 || r.via === f.gateway6) || r.metric !== undefined);
  const heads: Array<{ head: string; lines: string[] }> = [];
  if (f.dhcp4) heads.push({ head: 'inet dhcp', lines: [] });
  for (const [i, a] of v4.entries()) heads.push({ head: 'inet static', lines: [`    address ${a}`, ...(i === 0 && f.gateway4 ? [`    gateway ${f.gateway4}`] : [])] });
  if (f.dhcp6) heads.push({ head: 'inet6 dhcp', lines: f.acceptRa ? ['    accept_ra 2'] : [] });
  // SLAAC beside static IPv6 addresses (Vultr's primary NIC): the stanza cloud-init writes for the subnet.
  if (f.slaac && !f.dhcp6) heads.push({ head: 'inet6 auto', lines: [] });
  for (const [i, a] of v6.entries()) {
    heads.push({ head: 'inet6 static', lines: [`    address ${a}`, ...(i === 0 && f.gateway6 ? [`    gateway ${f.gateway6}`] : []), ...(f.acceptRa === false && i === 0 ? ['    accept_ra 0'] : [])] });
  }
  if (!f.slaac && !f.dhcp6 && v6.length === 0 && f.acceptRa) heads.push({ head: 'inet6 auto', lines: [] });
  if (heads.length === 0) heads.push({ head: 'inet manual', lines: [] });
  const out: string[] = [];
  for (const [i, h] of heads.entries()) {
    const lines: string[] = [];
    // A bridge brings its ports up itself; everything else is started at boot.
    if (i === 0 && !(master?.kind === 'bridge')) lines.push(`auto ${f.name}`);
    lines.push(`iface ${f.name} ${h.head}`, ...h.lines);
    if (i === 0) {
      lines.push(...attrs);
      const d = dnsLines(dns.nameservers, dns.search);
      if (d) lines.push(d.slice(1));
    }
    // A route goes on the first stanza of its family (its gateway is reachable once that is up).
    const family = h.head.startsWith('inet6') ? 6 : h.head === 'inet manual' ? 0 : 4;
    for (const r of routes) {
      const rf = routeIsV6(r) ? 6 : 4;
      const home = heads.findIndex((x) => (x.head.startsWith('inet6') ? 6 : 4) === rf);
      if (home === i || (home === -1 && i === 0) || (family === 0 && i === 0)) lines.push(...routeLines(f.name, r, gatewayOffLink(f, r)));
    }
    out.push(lines.join('\n'));
  }
  return out;
}
