// systemd-networkd: /etc/systemd/network/10-cloud-init-NAME.network for each
// interface, .netdev for bonds, bridges and VLANs, and .link to name a NIC
// found by MAC. Unlike cloud-init's networkd renderer (which writes .network
// files only, and every global route into every file), bonds, bridges and
// VLANs are created, and a route goes only where its gateway is.
// A NIC found by MAC is matched by PermanentMACAddress: a VLAN or bond on it
// shares its MAC, never its permanent one.
import type { Iface, NetworkConfig, Param } from './model.ts';
import { dnsOf, gatewayOffLink, HEADER, memberOf, renamesOf, renderable, routesOf, type Rendered } from './render.ts';

export const NETWORKD_DIR = '/etc/systemd/network';

type Section = [string, Array<[string, string]>];

function ini(sections: Section[]): string {
  const body = sections.filter(([, kv]) => kv.length > 0)
    .map(([name, kv]) => `[${name}]\n${kv.map(([k, v]) => `${k}=${v}`).join('\n')}\n`).join('\n');
  return `${HEADER.join('\n')}\n\n${body}`;
}

const yesNo = (b: boolean) => (b ? 'yes' : 'no');

/** Seconds (netplan's bond/bridge values: plain numbers are milliseconds for the monitor intervals, seconds for the bridge's). */
function sec(v: Param, unit: 'ms' | 's'): string {
  return typeof v === 'number' || /^\d+$/.test(String(v)) ? `${String(v)}${unit}` : String(v);
}

const BOND_KEYS: Record<string, [string, ((v: Param) => string)?]> = {
  mode: ['Mode'],
  'lacp-rate': ['LACPTransmitRate'],
  'mii-monitor-interval': ['MIIMonitorSec', (v) => sec(v, 'ms')],
  'min-links': ['MinLinks'],
  'transmit-hash-policy': ['TransmitHashPolicy'],
  'ad-select': ['AdSelect'],
  'all-slaves-active': ['AllSlavesActive', (v) => yesNo(v === true || v === 'true' || v === 1)],
  'all-members-active': ['AllSlavesActive', (v) => yesNo(v === true || v === 'true' || v === 1)],
  'arp-interval': ['ARPIntervalSec', (v) => sec(v, 'ms')],
  'arp-ip-targets': ['ARPIPTargets', (v) => (Array.isArray(v) ? v.join(' ') : String(v))],
  'arp-validate': ['ARPValidate'],
  'arp-all-targets': ['ARPAllTargets'],
  'up-delay': ['UpDelaySec', (v) => sec(v, 'ms')],
  'down-delay': ['DownDelaySec', (v) => sec(v, 'ms')],
  'fail-over-mac-policy': ['FailOverMACPolicy'],
  'gratuitous-arp': ['GratuitousARP'],
  'gratuitious-arp': ['GratuitousARP'],
  'packets-per-slave': ['PacketsPerSlave'],
  'packets-per-member': ['PacketsPerSlave'],
  'primary-reselect-policy': ['PrimaryReselectPolicy'],
  'resend-igmp': ['ResendIGMP'],
  'learn-packet-interval': ['LearnPacketIntervalSec', (v) => sec(v, 's')],
};

const BRIDGE_KEYS: Record<string, [string, ((v: Param) => string)?]> = {
  stp: ['STP', (v) => yesNo(v === true || v === 'on' || v === 'yes')],
  'forward-delay': ['ForwardDelaySec', (v) => sec(v, 's')],
  'hello-time': ['HelloTimeSec', (v) => sec(v, 's')],
  'max-age': ['MaxAgeSec', (v) => sec(v, 's')],
  'ageing-time': ['AgeingTimeSec', (v) => sec(v, 's')],
  'aging-time': ['AgeingTimeSec', (v) => sec(v, 's')],
  priority: ['Priority'],
};

const DHCP4_OVERRIDES: Record<string, string> = {
  'use-dns': 'UseDNS', 'use-domains': 'UseDomains', 'use-hostname': 'UseHostname', 'use-ntp': 'UseNTP',
  'use-mtu': 'UseMTU', 'use-routes': 'UseRoutes', 'route-metric': 'RouteMetric', 'send-hostname': 'SendHostname', hostname: 'Hostname',
};

export function renderNetworkd(given: NetworkConfig): Rendered {
  const { config, problems } = renderable(given);
  const out: Rendered = { files: [], renames: renamesOf(config), problems };
  const members = memberOf(config);
  const vlansOn = new Map<string, string[]>();
  for (const f of config.interfaces) if (f.vlanLink) vlansOn.set(f.vlanLink, [...(vlansOn.get(f.vlanLink) ?? []), f.name]);
  const file = (name: string, ext: string, content: string) =>
    out.files.push({ path: `${NETWORKD_DIR}/10-cloud-init-${name}.${ext}`, content, mode: 0o644 });
  for (const f of config.interfaces) {
    const match: Array<[string, string]> = [];
    if (f.kind === 'physical' && f.match.mac) match.push(['PermanentMACAddress', f.match.mac]);
    else if (f.kind === 'physical' && f.match.name) match.push(['Name', f.match.name]);
    else if (f.kind === 'physical' && !f.match.driver) match.push(['Name', f.name]);
    else if (f.kind !== 'physical') match.push(['Name', f.name]);
    if (f.kind === 'physical' && f.match.driver) match.push(['Driver', f.match.driver]);
    if (f.kind === 'physical' && f.rename && f.match.mac) {
      file(f.name, 'link', ini([['Match', match], ['Link', [['Name', f.name]]]]));
    }
    if (f.kind !== 'physical') file(f.name, 'netdev', ini(netdev(f, out)));
    const link: Array<[string, string]> = [];
    if (f.mtu) link.push(['MTUBytes', String(f.mtu)]);
    if (f.kind === 'physical' && f.mac) link.push(['MACAddress', f.mac]);
    if (f.optional) link.push(['RequiredForOnline', 'no']);
    const network: Array<[string, string]> = [];
    const dhcp = f.dhcp4 && f.dhcp6 ? 'yes' : f.dhcp4 ? 'ipv4' : f.dhcp6 ? 'ipv6' : 'no';
    network.push(['DHCP', dhcp]);
    if (f.acceptRa !== undefined) network.push(['IPv6AcceptRA', yesNo(f.acceptRa)]);
    for (const a of f.addresses) network.push(['Address', a]);
    const dns = dnsOf(config, f, members);
    for (const d of dns.nameservers) network.push(['DNS', d]);
    if (dns.search.length) network.push(['Domains', dns.search.join(' ')]);
    const master = members.get(f.name);
    if (master) {
      network.push([master.kind === 'bond' ? 'Bond' : 'Bridge', master.name]);
      if (master.kind === 'bond' && master.params['primary'] === f.name) network.push(['PrimarySlave', 'yes']);
      if (!f.dhcp6 && f.acceptRa === undefined) network.push(['LinkLocalAddressing', 'no']);
    }
    for (const v of vlansOn.get(f.name) ?? []) network.push(['VLAN', v]);
    const sections: Section[] = [['Match', match], ['Link', link], ['Network', network]];
    for (const r of routesOf(f)) {
      const kv: Array<[string, string]> = [];
      if (r.to !== 'default') kv.push(['Destination', r.to]);
      if (r.via) kv.push(['Gateway', r.via]);
      if (r.metric !== undefined) kv.push(['Metric', String(r.metric)]);
      if (r.table !== undefined) kv.push(['Table', String(r.table)]);
      // Without a static address of the gateway's family networkd sets GatewayOnLink itself (with a warning): said here.
      const noStatic = r.via !== undefined && r.onLink === undefined && !f.addresses.some((a) => a.includes(':') === r.via!.includes(':'));
      if (r.onLink || gatewayOffLink(f, r) || noStatic) kv.push(['GatewayOnLink', 'yes']);
      sections.push(['Route', kv]);
    }
    if (f.dhcp4Overrides && f.dhcp4) {
      const kv: Array<[string, string]> = [];
      for (const [k, v] of Object.entries(f.dhcp4Overrides)) {
        const key = DHCP4_OVERRIDES[k];
        if (key) kv.push([key, typeof v === 'boolean' ? yesNo(v) : String(v)]);
        else out.problems.push({ level: 'warning', message: `${f.entry}: dhcp4-overrides.${k} is not rendered for networkd; ignored` });
      }
      sections.push(['DHCPv4', kv]);
    }
    file(f.name, 'network', ini(sections));
  }
  return out;
}

function netdev(f: Iface, out: Rendered): Section[] {
  const dev: Array<[string, string]> = [['Name', f.name], ['Kind', f.kind]];
  if (f.mac) dev.push(['MACAddress', f.mac]);
  if (f.mtu) dev.push(['MTUBytes', String(f.mtu)]);
  const sections: Section[] = [['NetDev', dev]];
  if (f.kind === 'vlan') sections.push(['VLAN', [['Id', String(f.vlanId ?? 0)]]]);
  const table = f.kind === 'bond' ? BOND_KEYS : f.kind === 'bridge' ? BRIDGE_KEYS : {};
  const kv: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(f.params)) {
    if (k === 'primary') continue; // on the member's .network (PrimarySlave=)
    const spec = table[k];
    if (!spec) { out.problems.push({ level: 'warning', message: `${f.entry}: ${f.kind} parameter ${k} is not rendered for networkd; ignored` }); continue; }
    kv.push([spec[0], spec[1] ? spec[1](v) : String(v)]);
  }
  if (f.kind === 'bond') sections.push(['Bond', kv]);
  if (f.kind === 'bridge') sections.push(['Bridge', kv]);
  return sections;
}
