// Validators for option values of network configs: bond and bridge
// parameters and dhcp4/dhcp6-overrides, each by the syntax its key has
// (netplan's vocabulary: v1's bond-* and bridge_* names are mapped to it
// first), and the last word on what an ifupdown option line or a
// systemd-networkd `Key=value` line can carry at all.
import { bad, type Checked, controlIn, ok, show, text } from './check.ts';
import { hostname, interfaceName, ipv4 } from './net.ts';

/** A bond or bridge parameter's value as the model keeps it (port maps as "port value" pairs). */
export type ParamValue = string | number | boolean | string[];

type Rule = (v: unknown) => Checked<ParamValue>;

function scalar(v: unknown): Checked<string | number | boolean> {
  if (typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return ok(v);
  return text(v);
}

const oneOf = (...names: string[]): Rule => (v) => {
  const s = scalar(v);
  if (s.ok && names.includes(String(s.value))) return s;
  return bad(`expected one of ${names.join(', ')}, found ${show(v)}`);
};

const count: Rule = (v) => {
  const s = scalar(v);
  if (s.ok && /^\d{1,10}$/.test(String(s.value))) return typeof s.value === 'string' ? ok(Number(s.value)) : s;
  return bad(`expected a whole number, found ${show(v)}`);
};

/** A time: a number (the key's unit) or a number with a systemd time unit (100ms, 2s, 1min). */
const duration: Rule = (v) => {
  const s = scalar(v);
  if (s.ok && /^\d{1,10}(\.\d{1,6})?(us|usec|ms|msec|s|sec|seconds?|m|min|minutes?|h|hr|hours?)?$/.test(String(s.value))) {
    return typeof s.value === 'string' && /^\d+$/.test(s.value) ? ok(Number(s.value)) : s;
  }
  return bad(`expected a time (a number, or a number with a unit such as 100ms or 2s), found ${show(v)}`);
};

const flag: Rule = (v) => {
  if (typeof v === 'boolean') return ok(v);
  const s = scalar(v);
  if (s.ok && ['true', 'false', 'yes', 'no', 'on', 'off', '1', '0'].includes(String(s.value))) return s;
  return bad(`expected true or false, found ${show(v)}`);
};

const ipv4List: Rule = (v) => {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split(/[ ,]+/).filter(Boolean) : [v];
  const out: string[] = [];
  for (const a of list) {
    const r = ipv4(a);
    if (!r.ok) return bad(`expected IPv4 addresses: ${r.why}`);
    out.push(r.value);
  }
  return out.length ? ok(out) : bad('expected at least one IPv4 address');
};

/** Port maps (path-cost, port-priority): "port value" pairs, the port an interface name, the value a whole number. */
const portMap: Rule = (v) => {
  const list = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const pair of list) {
    const t = text(pair);
    const m = t.ok ? /^(\S+) (\d{1,10})$/.exec(t.value) : null;
    if (!m) return bad(`expected a port and a whole number ("eth0 100"), found ${show(pair)}`);
    const port = interfaceName(m[1]);
    if (!port.ok) return bad(`port ${port.why}`);
    out.push(`${port.value} ${m[2]}`);
  }
  return ok(out);
};

const primary: Rule = (v) => interfaceName(v);

export const BOND_MODES = ['balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb'];

/** Bond parameters: netplan's names, each with the values the kernel's bonding driver (and ifenslave's numbers) take. */
export const BOND_PARAM_RULES: Record<string, Rule> = {
  mode: oneOf(...BOND_MODES, '0', '1', '2', '3', '4', '5', '6'),
  'lacp-rate': oneOf('slow', 'fast', '0', '1'),
  'mii-monitor-interval': duration,
  'min-links': count,
  'transmit-hash-policy': oneOf('layer2', 'layer3+4', 'layer2+3', 'encap2+3', 'encap3+4', 'vlan+srcmac', '0', '1', '2', '3', '4', '5'),
  'ad-select': oneOf('stable', 'bandwidth', 'count', '0', '1', '2'),
  'all-slaves-active': flag,
  'all-members-active': flag,
  'arp-interval': duration,
  'arp-ip-targets': ipv4List,
  'arp-validate': oneOf('none', 'active', 'backup', 'all', 'filter', 'filter_active', 'filter_backup', '0', '1', '2', '3', '4', '5', '6'),
  'arp-all-targets': oneOf('any', 'all', '0', '1'),
  'up-delay': duration,
  'down-delay': duration,
  'fail-over-mac-policy': oneOf('none', 'active', 'follow', '0', '1', '2'),
  'gratuitous-arp': count,
  'gratuitious-arp': count,
  'packets-per-slave': count,
  'packets-per-member': count,
  'primary-reselect-policy': oneOf('always', 'better', 'failure', '0', '1', '2'),
  'resend-igmp': count,
  'learn-packet-interval': duration,
  primary,
};

export const BRIDGE_PARAM_RULES: Record<string, Rule> = {
  'ageing-time': duration,
  'aging-time': duration,
  priority: count,
  'port-priority': portMap,
  'forward-delay': duration,
  'hello-time': duration,
  'max-age': duration,
  'path-cost': portMap,
  stp: flag,
};

/** One bond or bridge parameter by its key's rule; an unknown key is refused (the caller warns and leaves it out). */
export function bondBridgeParam(kind: 'bond' | 'bridge', key: string, v: unknown): Checked<ParamValue> {
  const rule = (kind === 'bond' ? BOND_PARAM_RULES : BRIDGE_PARAM_RULES)[key];
  return rule ? rule(v) : bad(`not a ${kind} parameter ec2-init knows`);
}

/** dhcp4-overrides / dhcp6-overrides keys ec2-init renders, with their values' rules. */
export const DHCP_OVERRIDE_RULES: Record<string, (v: unknown) => Checked<string | number | boolean>> = {
  'use-dns': flagOnly, 'use-ntp': flagOnly, 'use-hostname': flagOnly, 'use-mtu': flagOnly, 'use-routes': flagOnly,
  'send-hostname': flagOnly,
  'use-domains': (v) => (v === 'route' ? ok(v) : flagOnly(v)),
  'route-metric': (v) => { const r = count(v); return r.ok ? ok(r.value as number) : bad(r.why); },
  hostname: (v) => hostname(v),
};

function flagOnly(v: unknown): Checked<string | number | boolean> {
  const r = flag(v);
  return r.ok ? ok(r.value as string | boolean) : bad(r.why);
}

// ---------------------------------------------------------------------------
// What a line of the file can carry

/**
 * A value on an ifupdown option line (`    KEY VALUE`): no control
 * characters (a newline starts a new option, say `up CMD`), no backslash (a
 * final one joins the next line), not empty, no surrounding whitespace.
 */
export function eniValue(v: string): Checked<string> {
  const c = controlIn(v);
  if (c) return bad(`${show(v)} has ${c}, which an ifupdown line cannot carry`);
  if (v.includes('\\')) return bad(`${show(v)} has a backslash, which ifupdown reads as a line continuation`);
  if (v.trim() !== v || v === '') return bad(`${show(v)}: an ifupdown value is not empty and has no surrounding whitespace`);
  return ok(v);
}

/**
 * A value of a systemd-networkd `Key=value` line: no control characters (a
 * newline starts a new key or section), no backslash (a final one joins the
 * next line; elsewhere it is an escape in lists), no quotes (list syntax).
 */
export function networkdValue(v: string): Checked<string> {
  const c = controlIn(v);
  if (c) return bad(`${show(v)} has ${c}, which a networkd line cannot carry`);
  if (/[\\"']/.test(v)) return bad(`${show(v)} has a backslash or a quote, which networkd reads as syntax`);
  if (v.trim() !== v) return bad(`${show(v)}: a networkd value has no surrounding whitespace`);
  return ok(v);
}
