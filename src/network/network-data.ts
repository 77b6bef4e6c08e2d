// OpenStack's network_data.json (config drive and metadata service) → network
// config v1, as cloud-init converts it: links (NICs by MAC, bonds named
// bond0, bond1…, VLANs named LINK.ID), networks (ipv4/ipv6 static,
// ipv4_dhcp, ipv6_dhcp, ipv6_slaac, ipv6_dhcpv6-stateless/-stateful) as
// subnets of their link, with routes and per-network DNS; services (dns) as
// global nameservers. A NIC is found by MAC among the root's interfaces.
import { isMapping } from '../yaml/index.ts';
import type { Problem } from './model.ts';

const PHYSICAL_TYPES = new Set(['bgpovs', 'bridge', 'cascading', 'dvs', 'ethernet', 'hw_veb', 'hyperv', 'ovs', 'phy', 'tap', 'vhostuser', 'vif', 'vrouter', 'midonet', 'other']);

export interface Converted { v1: { version: 1; config: Record<string, unknown>[] }; labels: string[]; problems: Problem[] }

export function convertNetworkData(json: unknown, where: string, byMac: Map<string, string>): Converted {
  const problems: Problem[] = [];
  const config: Record<string, unknown>[] = [];
  const labels: string[] = [];
  const fail = (message: string) => problems.push({ level: 'error', message: `${where}: ${message}` });
  if (!isMapping(json)) { fail('expected a JSON object with links, networks and services'); return { v1: { version: 1, config }, labels, problems }; }
  const list = (k: string): Record<string, unknown>[] => {
    const v = json[k];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) { fail(`${k}: expected a list`); return []; }
    return v.filter((x, i) => (isMapping(x) ? true : (fail(`${k}[${i}]: expected an object`), false))) as Record<string, unknown>[];
  };
  const links = list('links');
  const networks = list('networks');
  const services = list('services');
  // link id → the name it gets, once known.
  const nameOf = new Map<string, string>();
  let bonds = 0;
  const pending: Array<{ cfg: Record<string, unknown>; link: Record<string, unknown>; label: string }> = [];
  for (const [i, link] of links.entries()) {
    const id = String(link['id'] ?? `#${i}`);
    const label = `${where} links[${i}] (${id})`;
    const type = typeof link['type'] === 'string' ? link['type'] : 'phy';
    const mac = typeof link['ethernet_mac_address'] === 'string' ? link['ethernet_mac_address'].toLowerCase() : undefined;
    const cfg: Record<string, unknown> = {};
    if (typeof link['mtu'] === 'number') cfg['mtu'] = link['mtu'];
    const subnets: Record<string, unknown>[] = [];
    for (const [j, net] of networks.entries()) {
      if (net['link'] !== link['id']) continue;
      const s = subnet(net, `${where} networks[${j}] (${String(net['id'] ?? j)})`, problems, cfg);
      if (s) subnets.push(s);
    }
    cfg['subnets'] = subnets;
    if (type === 'bond') {
      const name = typeof link['name'] === 'string' ? link['name'] : `bond${bonds++}`;
      const params: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(link)) if (k.startsWith('bond_') && k !== 'bond_links') params[`bond-${k.slice(5)}`] = v;
      Object.assign(cfg, { type: 'bond', name, params, ...(mac ? { mac_address: mac } : {}) });
      nameOf.set(id, name);
    } else if (type === 'vlan') {
      Object.assign(cfg, { type: 'vlan', vlan_id: link['vlan_id'] });
      if (typeof link['vlan_mac_address'] === 'string') cfg['mac_address'] = link['vlan_mac_address'].toLowerCase();
      if (typeof link['name'] === 'string') cfg['name'] = link['name'];
    } else {
      if (!PHYSICAL_TYPES.has(type)) problems.push({ level: 'warning', message: `${label}: unknown link type '${type}'; treated as a NIC (as cloud-init does)` });
      cfg['type'] = 'physical';
      if (mac) cfg['mac_address'] = mac;
      // The link's id is the host's name for its side (tap…): the guest's name is its NIC's.
      const name = typeof link['name'] === 'string' ? link['name'] : mac ? byMac.get(mac) : undefined;
      if (name) { cfg['name'] = name; nameOf.set(id, name); }
      else {
        problems.push({ level: 'error', message: `${label}: ${mac ? `no NIC of this machine has MAC ${mac}` : 'neither a name nor an ethernet_mac_address'}; link not rendered` });
        continue;
      }
    }
    pending.push({ cfg, link, label });
  }
  // Now that NICs have names: bond members and VLAN links by name.
  for (const { cfg, link, label } of pending) {
    if (cfg['type'] === 'bond') {
      const members = Array.isArray(link['bond_links']) ? link['bond_links'].map(String) : [];
      const missing = members.filter((m) => !nameOf.has(m));
      if (missing.length) {
        problems.push({ level: 'error', message: `${label}: bond_links ${missing.join(', ')} are not links with a name; bond not rendered` });
        nameOf.delete(String(link['id']));
        continue;
      }
      cfg['bond_interfaces'] = members.map((m) => nameOf.get(m)!);
    } else if (cfg['type'] === 'vlan') {
      const on = nameOf.get(String(link['vlan_link']));
      if (!on) { problems.push({ level: 'error', message: `${label}: vlan_link ${String(link['vlan_link'])} is not a link with a name; VLAN not rendered` }); continue; }
      cfg['vlan_link'] = on;
      cfg['name'] ??= `${on}.${String(link['vlan_id'])}`;
      nameOf.set(String(link['id']), cfg['name'] as string);
    }
    config.push(cfg);
    labels.push(label);
  }
  for (const [i, s] of services.entries()) {
    if (s['type'] !== 'dns') continue;
    config.push({ type: 'nameserver', address: s['address'] });
    labels.push(`${where} services[${i}]`);
  }
  return { v1: { version: 1, config }, labels, problems };
}

function subnet(net: Record<string, unknown>, label: string, problems: Problem[], link: Record<string, unknown>): Record<string, unknown> | null {
  const type = net['type'];
  const s: Record<string, unknown> = {};
  switch (type) {
    case 'ipv4_dhcp': s['type'] = 'dhcp4'; break;
    case 'ipv6_dhcp': s['type'] = 'dhcp6'; link['accept-ra'] = true; break;
    case 'ipv6_slaac': case 'ipv6_dhcpv6-stateless': s['type'] = type; break;
    case 'ipv6_dhcpv6-stateful': s['type'] = type; link['accept-ra'] = true; break;
    case 'ipv4': case 'static': s['type'] = 'static'; s['address'] = net['ip_address']; break;
    case 'ipv6': case 'static6': s['type'] = 'static6'; s['address'] = net['ip_address']; link['accept-ra'] = false; break;
    default:
      problems.push({ level: 'error', message: `${label}: network type ${JSON.stringify(type)} is not one ec2-init knows (ipv4, ipv6, ipv4_dhcp, ipv6_dhcp, ipv6_slaac, ipv6_dhcpv6-stateless, ipv6_dhcpv6-stateful); network not rendered` });
      return null;
  }
  if (net['netmask'] !== undefined && s['address'] !== undefined) s['netmask'] = net['netmask'];
  if (Array.isArray(net['routes'])) {
    s['routes'] = net['routes'].filter(isMapping).map((r) => ({ network: r['network'], netmask: r['netmask'], gateway: r['gateway'], ...(r['metric'] !== undefined ? { metric: r['metric'] } : {}) }));
  }
  const dns = Array.isArray(net['services']) ? net['services'].filter((x) => isMapping(x) && x['type'] === 'dns').map((x) => (x as Record<string, unknown>)['address']) : [];
  if (dns.length) s['dns_nameservers'] = dns;
  return s;
}
