// Validators for network names and addresses, as they may stand in a
// system file or a network tool's argument (ifupdown's interfaces,
// systemd-networkd's .network/.netdev/.link, netplan's YAML, /etc/hosts,
// /etc/hostname, NTP client configs, LXD's bridge): interface names and
// globs, v2 device ids, drivers, MACs, IPv4 and IPv6 addresses (an IPv6 zone
// is itself an interface name), prefixes and netmasks, MTUs, DNS search
// domains and domain names, hostnames and FQDNs, NTP servers. Each rule
// is narrower than what the kernel or a resolver would take where the wider
// set could be read as syntax (whitespace, '#', '\', quotes, '%', globs).
import { bad, type Checked, controlIn, matching, ok, show, text } from './check.ts';

// ---------------------------------------------------------------------------
// Interfaces

const IFNAME = /^[A-Za-z0-9_.+-]{1,15}$/;
const IFNAME_RULE = "an interface name is 1 to 15 letters, digits, '_', '.', '+' or '-', not starting with '-', and not '.' or '..'";

/** A kernel interface name (eth0, ens3, bond0.42, br-lan). */
export function interfaceName(v: unknown): Checked<string> {
  const r = matching(v, IFNAME, IFNAME_RULE);
  if (r.ok && (r.value === '.' || r.value === '..' || r.value.startsWith('-'))) return bad(`${show(r.value)}: ${IFNAME_RULE}`);
  return r;
}

/** netplan's `match: name:` — an interface name that may hold shell globs (en*, eth?, eth[01]). */
export function interfaceGlob(v: unknown): Checked<string> {
  const rule = "a name pattern is 1 to 63 letters, digits, '_', '.', '+', '-', and the globs '*', '?' and '[…]'";
  const r = matching(v, /^(?:[A-Za-z0-9_.+*?-]|\[!?[A-Za-z0-9_.+-]+\])+$/, rule);
  if (r.ok && (r.value.length > 63 || r.value.startsWith('-'))) return bad(`${show(r.value)}: ${rule}`);
  return r;
}

/** A netplan device id: a YAML key, and the name of the files rendered for a device whose NIC is not found. */
export function deviceId(v: unknown): Checked<string> {
  const rule = "a device id is 1 to 64 letters, digits, '_', '.', '+' or '-', not starting with '-', and not '.' or '..'";
  const r = matching(v, /^[A-Za-z0-9_.+-]{1,64}$/, rule);
  if (r.ok && (r.value === '.' || r.value === '..' || r.value.startsWith('-'))) return bad(`${show(r.value)}: ${rule}`);
  return r;
}

/** A kernel driver name as netplan's `match: driver:` and v1's `params: driver:` give it (globs allowed). */
export function driverName(v: unknown): Checked<string> {
  return matching(v, /^[A-Za-z0-9_.*?-]{1,64}$/, "a driver name is 1 to 64 letters, digits, '_', '.', '-' (and the globs '*', '?')");
}

export const MAC_PATTERN = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$|^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){19}$/;

/** A MAC address (6 octets; 20 for InfiniBand), given back in lower case. */
export function mac(v: unknown): Checked<string> {
  const r = matching(v, MAC_PATTERN, 'a MAC address is six (or twenty) two-digit hex octets separated by colons');
  return r.ok ? ok(r.value.toLowerCase()) : r;
}

// ---------------------------------------------------------------------------
// Addresses

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(s: string): boolean { return IPV4.test(s); }

/** The address part of an IPv6 address without its zone. */
function isIPv6Address(addr: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(addr) || !addr.includes(':')) return false;
  const double = addr.split('::');
  if (double.length > 2) return false;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const all = [...groups(double[0]!), ...(double.length === 2 ? groups(double[1]!) : [])];
  const last = all.at(-1);
  const v4tail = last !== undefined && last.includes('.');
  if (v4tail && !isIPv4(last)) return false;
  const hex = v4tail ? all.slice(0, -1) : all;
  if (!hex.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  const count = hex.length + (v4tail ? 2 : 0);
  return double.length === 2 ? count < 8 : count === 8;
}

/** An IPv6 address, with an optional zone (fe80::1%eth0) that is itself an interface name. */
export function isIPv6(s: string): boolean {
  const at = s.indexOf('%');
  if (at === -1) return isIPv6Address(s);
  return isIPv6Address(s.slice(0, at)) && interfaceName(s.slice(at + 1)).ok;
}

export function isIP(s: string): boolean { return isIPv4(s) || isIPv6(s); }

export function ipv4(v: unknown): Checked<string> {
  const t = text(v);
  if (!t.ok) return t;
  return isIPv4(t.value) ? t : bad(`${show(t.value)} is not an IPv4 address (four numbers from 0 to 255 separated by dots)`);
}

export function ipv6(v: unknown): Checked<string> {
  const t = text(v);
  if (!t.ok) return t;
  if (isIPv6(t.value)) return t;
  const at = t.value.indexOf('%');
  if (at !== -1 && isIPv6Address(t.value.slice(0, at))) {
    const zone = interfaceName(t.value.slice(at + 1));
    return bad(`${show(t.value)} is not an IPv6 address: its zone ${zone.ok ? '' : zone.why}`);
  }
  return bad(`${show(t.value)} is not an IPv6 address`);
}

/** An IPv6 address without a zone (a network's own address, as LXD's ipv6.address takes it). */
export function ipv6Address(v: unknown): Checked<string> {
  const t = text(v);
  if (!t.ok) return t;
  return isIPv6Address(t.value) ? t : bad(`${show(t.value)} is not an IPv6 address (without a '%' zone)`);
}

/** An IPv4 or IPv6 address. */
export function ip(v: unknown): Checked<string> {
  const t = text(v);
  if (!t.ok) return t;
  if (isIP(t.value)) return t;
  return t.value.includes(':') ? ipv6(t.value) : bad(`${show(t.value)} is not an IPv4 or IPv6 address`);
}

/** A prefix length: 0–32 for IPv4, 0–128 for IPv6. */
export function prefix(v: unknown, family: 4 | 6): Checked<number> {
  const max = family === 4 ? 32 : 128;
  const t = text(v);
  if (t.ok && /^\d{1,3}$/.test(t.value) && Number(t.value) <= max) return ok(Number(t.value));
  return bad(`${show(v)} is not a prefix length (a whole number from 0 to ${max})`);
}

/** A link MTU: a whole number of bytes from 68 (IPv4's least) to 65535. */
export function mtu(v: unknown): Checked<number> {
  const t = text(v);
  if (t.ok && /^\d{2,5}$/.test(t.value) && Number(t.value) >= 68 && Number(t.value) <= 65535) return ok(Number(t.value));
  return bad(`${show(v)} is not an MTU (a whole number of bytes from 68 to 65535)`);
}

/** An address with its prefix length (192.0.2.1/24, 2001:db8::1/64), zone-less. */
export function cidr(v: unknown): Checked<string> {
  const t = text(v);
  if (!t.ok) return t;
  const [addr, len, ...rest] = t.value.split('/');
  if (rest.length || len === undefined || addr === undefined) return bad(`${show(t.value)} is not an address with a prefix length (10.0.0.0/8, 2001:db8::/32)`);
  const family = isIPv4(addr) ? 4 : isIPv6Address(addr) ? 6 : 0;
  if (family === 0) return bad(`${show(t.value)}: ${show(addr)} is not an IPv4 or IPv6 address (without a zone)`);
  const p = prefix(len, family);
  return p.ok ? t : bad(`${show(t.value)}: ${p.why}`);
}

// ---------------------------------------------------------------------------
// Names

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

function labelsOk(name: string): boolean {
  return name.length <= 253 && name.split('.').every((l) => LABEL.test(l));
}

const DOMAIN_RULE = "a domain is dot-separated labels of 1 to 63 letters, digits, '_' or '-' (not at a label's ends), 253 characters at most";

/**
 * A DNS search domain (resolv.conf's `search`, networkd's `Domains=`): a
 * domain with an optional final dot; networkd's routing-only form ('~' first,
 * or '~.' alone) is kept, as netplan and cloud-init pass it through.
 */
export function searchDomain(v: unknown): Checked<string> {
  const t = text(v);
  if (!t.ok) return t;
  return t.value === '~.' ? t : domainOf(t.value, t.value.replace(/^~/, ''));
}

/** A DNS domain name (LXD's dns.domain): a domain with an optional final dot, no routing-only '~'. */
export function domainName(v: unknown): Checked<string> {
  const t = text(v);
  return t.ok ? domainOf(t.value, t.value) : t;
}

/** `value` when `body` (value without searchDomain's '~') is a domain with an optional final dot. */
function domainOf(value: string, body: string): Checked<string> {
  const c = controlIn(value);
  if (c) return bad(`${show(value)} has ${c}; ${DOMAIN_RULE}`);
  const name = body.replace(/\.$/, '');
  return name !== '' && labelsOk(name) ? ok(value) : bad(`${show(value)} is not a domain name: ${DOMAIN_RULE}`);
}

const HOST_RULE = "a hostname is dot-separated labels of 1 to 63 letters, digits, '_' or '-' (not at a label's ends), 253 characters at most";

/** A hostname or fully qualified domain name, as /etc/hostname, /etc/hosts and hostname(1) take it. */
export function hostname(v: unknown): Checked<string> {
  const t = text(v);
  if (!t.ok) return t;
  const c = controlIn(t.value);
  if (c) return bad(`${show(t.value)} has ${c}; ${HOST_RULE}`);
  return t.value !== '' && labelsOk(t.value) ? t : bad(`${show(t.value)} is not a hostname: ${HOST_RULE}`);
}

/** An NTP server, pool or peer: a hostname or an IP address. */
export function ntpServer(v: unknown): Checked<string> {
  const t = text(v);
  if (!t.ok) return t;
  if (isIP(t.value)) return t;
  const h = hostname(t.value);
  return h.ok ? h : bad(`${show(t.value)} is not a hostname or IP address (${HOST_RULE})`);
}

/** An NTP `allow`/`restrict` target: an address, a network (10.0.0.0/8), or a hostname. */
export function ntpAllow(v: unknown): Checked<string> {
  const t = text(v);
  if (!t.ok) return t;
  if (isIP(t.value) || cidr(t.value).ok || hostname(t.value).ok) return t;
  return bad(`${show(t.value)} is not an address, a network (10.0.0.0/8) or a hostname`);
}
