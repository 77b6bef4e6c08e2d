// cloud-init's fallback network config, for a boot whose datasource gives
// none: DHCP (v4 and v6) on the NIC most likely connected, matched by its MAC
// and keeping its name. The choice, as cloud-init's find_candidate_nics: NICs
// with carrier first, then those that may get one (dormant, or operstate
// down/lowerlayerdown/unknown), each group in natural order with eth0 first;
// never lo or veth*. Bonds, bridges and VLANs of the image are passed over too
// (cloud-init would rarely see them this early either).
import type { Nic } from './sysfs.ts';

function naturalKey(name: string): Array<string | number> {
  return name.split(/(\d+)/).filter((p) => p !== '').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

export function naturalCompare(a: string, b: string): number {
  const x = naturalKey(a);
  const y = naturalKey(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    if (p === q) continue;
    if (typeof p === 'number' && typeof q === 'number') return p - q;
    return String(p) < String(q) ? -1 : 1;
  }
  return 0;
}

export function fallbackNic(nics: Nic[]): Nic | null {
  const connected: Nic[] = [];
  const maybe: Nic[] = [];
  for (const n of nics) {
    if (n.name === 'lo' || n.name.startsWith('veth') || n.bond || n.bridge || n.vlan) continue;
    if (n.carrier) connected.push(n);
    else if (n.dormant || ['dormant', 'down', 'lowerlayerdown', 'unknown'].includes(n.operstate)) maybe.push(n);
  }
  for (const group of [connected, maybe]) {
    group.sort((a, b) => naturalCompare(a.name, b.name));
    const eth0 = group.findIndex((n) => n.name === 'eth0');
    if (eth0 > 0) group.unshift(...group.splice(eth0, 1));
  }
  return [...connected, ...maybe][0] ?? null;
}

/** The v2 config cloud-init generates for it. */
export function fallbackConfig(nic: Nic): Record<string, unknown> {
  const match = nic.mac ? { macaddress: nic.mac } : { name: nic.name };
  return { version: 2, ethernets: { [nic.name]: { dhcp4: true, dhcp6: true, 'set-name': nic.name, match } } };
}
