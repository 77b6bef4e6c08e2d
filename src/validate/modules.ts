// Validators for the values of the smaller system modules (keyboard, grub_dpkg,
// rsyslog's remotes, ssh_import_id): each value becomes a token of a system file or of a
// debconf answer only once it passed here.
import { bad, type Checked, controlIn, matching, ok, show, text } from './check.ts';

/**
 * A keyboard setting of /etc/default/keyboard (XKBLAYOUT, XKBMODEL,
 * XKBVARIANT, XKBOPTIONS): the file is sourced by shells, inside double
 * quotes, so only XKB's own characters pass (letters, digits, '_', '-', ',',
 * ':', '+', '.', '(', ')'); empty is allowed (no variant, no options).
 */
export function keyboardValue(v: unknown): Checked<string> {
  return matching(v, /^[A-Za-z0-9_,:+.()-]*$/, "an XKB name is letters, digits and '_', '-', ',', ':', '+', '.', '(', ')'");
}

/**
 * A debconf answer of one line (debconf-set-selections reads one question per
 * line): no control character, no leading or trailing blank it would drop.
 */
export function debconfValue(v: unknown): Checked<string> {
  const t = text(v);
  if (!t.ok) return t;
  const c = controlIn(t.value);
  if (c) return bad(`${show(t.value)} has ${c}; a debconf answer is one line`);
  if (t.value !== t.value.trim()) return bad(`${show(t.value)} starts or ends with a blank, which debconf drops`);
  return t;
}

/** An ssh-import-id id: 'gh:user', 'lp:user' or a bare Launchpad user (ssh-import-id's default). */
export function importId(v: unknown): Checked<{ service: 'gh' | 'lp'; user: string }> {
  const t = text(v);
  if (!t.ok) return t;
  const m = /^(?:(gh|lp):)?([A-Za-z0-9][A-Za-z0-9._+-]{0,99})$/.exec(t.value.trim());
  if (!m) return bad(`${show(t.value)} is not an id ssh-import-id takes: gh:USER (GitHub) or lp:USER / USER (Launchpad)`);
  return ok({ service: (m[1] ?? 'lp') as 'gh' | 'lp', user: m[2]! });
}

/**
 * One rsyslog remote as cloud-init's parse_remotes_line reads it —
 * '[filter] [@|@@]host[:port] [# comment]' — and writes it back:
 * '*.* @host:port # name'. The name (the key, or the comment) ends the line,
 * so it must be one line; the host and filter are single words by the split.
 */
export function rsyslogRemote(name: string, line: string): Checked<string> {
  const nc = controlIn(name);
  if (nc) return bad(`the name ${show(name)} has ${nc}`);
  const lc = controlIn(line);
  if (lc) return bad(`${show(line)} has ${lc}`);
  const parts = line.split(/[ ]*[#]+[ ]*/);
  const [data, comment] = parts.length === 2 ? [parts[0]!, parts[1]!.trim()] : [line, null];
  const toks = data.trim().split(/\s+/).filter(Boolean);
  let match: string | null = null;
  let hostPort: string;
  if (toks.length <= 1) hostPort = toks[0] ?? '';
  else if (toks.length === 2) [match, hostPort] = toks as [string, string];
  else return bad(`line had multiple spaces: ${show(data)}`);
  const m = /^(@{0,2})(?:\[([^\]]*)\]|([^:]*))(?::([0-9]+))?$/.exec(hostPort);
  if (!m) return bad(`invalid host specification ${show(hostPort)}`);
  const addr = m[3] ?? m[2] ?? '';
  if (!addr) return bad('address is required');
  if (addr.startsWith('[') && !addr.endsWith(']')) return bad(`host spec had invalid brackets: ${show(addr)}`);
  const label = name || comment || '';
  const port = m[4] === undefined ? 0 : parseInt(m[4], 10);
  if (port > 65535) return bad(`port ${port} is out of range (1-65535)`);
  const host = addr.includes(':') ? `[${addr}]` : addr;
  return ok(`${match || '*.*'} ${m[1] === '@@' ? '@@' : '@'}${host}${port ? `:${port}` : ''}${label ? ` # ${label}` : ''}`);
}
