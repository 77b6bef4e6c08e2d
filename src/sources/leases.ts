// What the image's own DHCP client leased, read from its lease files under
// the root, as cloud-init reads them: systemd-networkd's
// (/run/systemd/netif/leases/<ifindex>, KEY=VALUE lines) first, then the
// newest of dhclient's lease files (Debian's /var/lib/dhcp/dhclient.*.leases,
// then /var/lib/dhclient/*.lease[s]), whose last lease holding the option
// wins. CloudStack finds its virtual router there (the DHCP server),
// Scaleway the address DHCP gave when it is read after networking.
import type { Files } from '../host/files.ts';
import { dhclientLeases } from '../net/dhcp-lease-text.ts';

const NETWORKD_LEASES = '/run/systemd/netif/leases';
const DHCLIENT_DIRS: [string, RegExp][] = [['/var/lib/dhcp', /dhclient\.\w+\.leases/], ['/var/lib/dhclient', /.+\.leases?$/]];

function readText(files: Files, path: string): string | null {
  try { return files.readTextIfExists(path, 1024 * 1024); } catch { return null; }
}

/** KEY=VALUE lines of a networkd lease file. */
export function networkdLease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

export { dhclientLeases };

/** `key` of the first networkd lease (by file name) that has it, or null. */
export function fromNetworkd(files: Files, key: string): string | null {
  for (const name of files.list(NETWORKD_LEASES).sort()) {
    const value = networkdLease(readText(files, `${NETWORKD_LEASES}/${name}`) ?? '')[key];
    if (value) return value;
  }
  return null;
}

/** `option` of the newest dhclient lease file's last lease that has it, or null. */
export function fromDhclient(files: Files, option: string): string | null {
  for (const [dir, pattern] of DHCLIENT_DIRS) {
    let newest: { path: string; mtime: number } | null = null;
    for (const name of files.list(dir)) {
      if (!pattern.test(name)) continue;
      const st = files.stat(`${dir}/${name}`);
      if (st && st.kind === 'file' && (!newest || st.mtimeMs > newest.mtime)) newest = { path: `${dir}/${name}`, mtime: st.mtimeMs };
    }
    if (!newest) continue;
    for (const lease of dhclientLeases(readText(files, newest.path) ?? '').reverse()) {
      if (lease[option]) return lease[option];
    }
    return null;
  }
  return null;
}
