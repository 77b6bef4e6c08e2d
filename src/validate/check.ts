// What every validator returns, and the character rules they share. A value
// from a datasource or user-data becomes a token of a system file only as
// the `value` of an ok Checked; otherwise `why` says which rule it broke, in
// words a user can act on (the caller adds the key path).

export type Checked<T> = { ok: true; value: T } | { ok: false; why: string };

export const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
export const bad = <T = never>(why: string): Checked<T> => ({ ok: false, why });

/**
 * A value as it may be shown in a message: control and non-ASCII-printable
 * characters escaped (\n, \x7f, \u2028), so a message stays one line and shows
 * what was refused; long values cut.
 */
export function show(v: unknown): string {
  if (typeof v !== 'string') {
    if (v === null) return 'null';
    if (Array.isArray(v)) return 'a list';
    if (typeof v === 'object') return 'a mapping';
    return String(v);
  }
  const cut = v.length > 60 ? `${v.slice(0, 60)}…` : v;
  return `'${cut.replace(/[\\']|[^\x20-\x7e\u00a0-\u2027\u202a-\ud7ff\ue000-\ufffd]/g, escapeOne)}'`;
}

function escapeOne(c: string): string {
  if (c === '\\' || c === "'") return `\\${c}`;
  const map: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
  if (map[c]) return map[c]!;
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * C0 controls (newline, CR, tab, NUL …), DEL, C1 controls (U+0085 NEL among
 * them), the Unicode line and paragraph separators, and lone surrogates: what
 * no line-based system file can carry in a value, and YAML only escaped.
 */
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function hasControl(s: string): boolean { return CONTROL.test(s); }

/** The first control character of `s` as a message ("a newline", "U+007F"), or null. */
export function controlIn(s: string): string | null {
  const m = CONTROL.exec(s);
  if (!m) return null;
  const c = m[0];
  if (c === '\n') return 'a newline';
  if (c === '\r') return 'a carriage return';
  if (c === '\t') return 'a tab';
  const code = c.charCodeAt(0);
  if (code >= 0xd800 && code <= 0xdfff) return 'a lone surrogate (not Unicode text)';
  return `the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** A string (numbers are taken as their text, as YAML readers give `mtu: 9000` or `name: 0`). */
export function text(v: unknown): Checked<string> {
  if (typeof v === 'string') return ok(v);
  if (typeof v === 'number' && Number.isFinite(v)) return ok(String(v));
  return bad(`expected a string, found ${show(v)}`);
}

/** `pattern` over the whole string, with `rule` as the reason when it does not hold. */
export function matching(v: unknown, pattern: RegExp, rule: string): Checked<string> {
  const t = text(v);
  if (!t.ok) return t;
  const c = controlIn(t.value);
  if (c) return bad(`${show(t.value)} has ${c}; ${rule}`);
  return pattern.test(t.value) ? t : bad(`${show(t.value)}: ${rule}`);
}
