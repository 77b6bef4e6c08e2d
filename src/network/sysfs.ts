// The machine's network interfaces, read from the root's /sys/class/net (so a
// test plants them in a throw-away root): names, MACs, drivers, and the state
// the fallback choice weighs (carrier, dormant, operstate).
import type { Files } from '../host/files.ts';
import { interfaceName } from '../validate/net.ts';

export interface Nic {
  name: string;
  /** Lower case; '' when unreadable. For a bond member, its own (permanent) address. */
  mac: string;
  driver: string | null;
  /** Has a device behind it (not a bridge, bond, VLAN, veth, tun…). */
  physical: boolean;
  bond: boolean;
  bridge: boolean;
  vlan: boolean;
  carrier: boolean;
  dormant: boolean;
  operstate: string;
}

const NET = '/sys/class/net';

function read(files: Files, path: string): string | null {
  try { return files.readTextIfExists(path, 4096)?.trim() ?? null; } catch { return null; }
}

function present(files: Files, path: string): boolean {
  try { return files.lstat(path) !== null; } catch { return false; }
}

export function readNics(files: Files): Nic[] {
  const out: Nic[] = [];
  for (const name of files.list(NET)) {
    // A name no interface can have (planted in a root's /sys) is no NIC: it would become a token of the files.
    if (name === 'lo' || !interfaceName(name).ok) continue;
    const dir = `${NET}/${name}`;
    const permanent = read(files, `${dir}/bonding_slave/perm_hwaddr`);
    const driverLink = (() => { try { return files.readlink(`${dir}/device/driver`); } catch { return null; } })();
    out.push({
      name,
      mac: (permanent ?? read(files, `${dir}/address`) ?? '').toLowerCase(),
      driver: driverLink ? driverLink.split('/').pop() ?? null : null,
      physical: present(files, `${dir}/device`),
      bond: present(files, `${dir}/bonding`),
      bridge: present(files, `${dir}/bridge`),
      vlan: present(files, `/proc/net/vlan/${name}`),
      carrier: read(files, `${dir}/carrier`) === '1',
      dormant: read(files, `${dir}/dormant`) === '1',
      operstate: read(files, `${dir}/operstate`) ?? '',
    });
  }
  return out;
}

/** MAC (lower case) → name, for the NICs that have their own device (as cloud-init's get_interfaces_by_mac). */
export function nicsByMac(nics: Nic[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const n of nics) {
    if (!n.mac || n.mac === '00:00:00:00:00:00' || n.bond || n.bridge || n.vlan) continue;
    if (!map.has(n.mac)) map.set(n.mac, n.name);
  }
  return map;
}

/** A shell-style glob (netplan's match: name: en*) as a test. */
export function globTest(glob: string): (name: string) => boolean {
  // '[…]' is a class ('!' first negates it; a range only in ascending order), as fnmatch reads it;
  // everything else is literal, so no glob can make an invalid regular expression.
  const build = (ranges: boolean) => glob.replace(/\[(!?)([^\]]*)\]|([*?])|([^[*?]+|\[)/g, (_all, neg: string | undefined, cls: string | undefined, wild: string | undefined, lit: string | undefined) => {
    if (wild) return wild === '*' ? '.*' : '.';
    if (lit !== undefined) return lit.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    return `[${neg ? '^' : ''}${(cls ?? '').replace(ranges ? /[\]\\^]/g : /[\]\\^-]/g, '\\$&')}]`;
  });
  let compiled: RegExp;
  try { compiled = new RegExp(`^${build(true)}$`); } catch { compiled = new RegExp(`^${build(false)}$`); }
  return (name) => compiled.test(name);
}
