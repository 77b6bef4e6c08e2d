// DHCP lease values as the clients write them down, read one way for every
// reader: dhclient's lease files (init-local's own client in
// ephemeral-dhcp.ts, the image's lease files in sources/leases.ts), and an
// IPv4 address in an option the client has no name for (Azure's 245: dhclient
// writes "a8:3f:81:10", networkd and udhcpc "a83f8110").

/** The leases of a dhclient lease file, oldest first, each as option → value (cloud-init's parse_leases). */
export function dhclientLeases(text: string): Record<string, string>[] {
  return [...text.matchAll(/lease \{([^}]*)\}/g)].map((m) => {
    const options: Record<string, string> = {};
    for (const stmt of m[1]!.split(';')) {
      const line = stmt.trim().replace(/"/g, '').replace(/^option /, '');
      const sp = line.indexOf(' ');
      if (sp > 0) options[line.slice(0, sp)] = line.slice(sp + 1).trim();
    }
    return options;
  });
}

/** An IPv4 address as an unknown option's value: dotted, bytes in hex with colons ("a8:3f:81:10"), or 8 hex digits; null otherwise. */
export function optionAddress(value: string): string | null {
  const v = value.trim();
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(v)) return v.split('.').every((o) => Number(o) <= 255) ? v : null;
  const bytes = v.includes(':') ? v.split(':') : v.match(/^[0-9a-fA-F]{8}$/) ? v.match(/../g)! : [];
  if (bytes.length !== 4 || !bytes.every((b) => /^[0-9a-fA-F]{1,2}$/.test(b))) return null;
  return bytes.map((b) => parseInt(b, 16)).join('.');
}
