// What several system modules share: cloud-init's truthy strings, finding a
// program inside the root, effects that need the running system (skipped
// under --root), and cloud-init's two template kinds: "basic" ($name,
// ${name}) and the small Jinja subset its templates use (## template: jinja).
import { statSync } from 'node:fs';
import type { Context } from '../context.ts';

/** cloud-init's translate_bool: true, 'true', 'yes', 'on', '1', 'y' (plus `extra`). */
export function isTrue(value: unknown, extra: string[] = []): boolean {
  if (value === true) return true;
  if (typeof value === 'number') return value === 1;
  return typeof value === 'string' && ['true', 'yes', 'on', '1', 'y', ...extra].includes(value.trim().toLowerCase());
}

/** cloud-init's is_false: false, 'false', 'no', 'off', '0', 'n'. */
export function isFalse(value: unknown): boolean {
  if (value === false) return true;
  if (typeof value === 'number') return value === 0;
  return typeof value === 'string' && ['false', 'no', 'off', '0', 'n'].includes(value.trim().toLowerCase());
}

/** A boolean option (get_cfg_option_bool): undefined when absent. */
export function optionBool(value: unknown): boolean | undefined {
  return value === undefined || value === null ? undefined : isTrue(value);
}

const PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The program's path inside the root (absolute names as given, others on PATH), or null. */
export function which(ctx: Context, program: string): string | null {
  const candidates = program.includes('/') ? [program] : PATH.map((dir) => `${dir}/${program}`);
  for (const path of candidates) {
    try {
      const st = statSync(ctx.files.real(path));
      if (st.isFile() && (st.mode & 0o111) !== 0) return path;
    } catch { /* not there */ }
  }
  return null;
}

/**
 * Effects on the running system (hostname, service restarts, shutdown) happen
 * only when the root is /. Otherwise they are logged as skipped (DESIGN.md §2)
 * and this returns false.
 */
export function onRunningSystem(ctx: Context, where: string, what: string, opts: { essential?: boolean } = {}): boolean {
  if (ctx.root === '/') return true;
  ctx.log.info(`${where}: skipped with --root ${ctx.root} (needs the running system): ${what}`);
  // The module's whole point (partitions, volumes) was skipped: it stays to do on the real boot.
  if (opts.essential) ctx.leftForRunningSystem = true;
  return false;
}

/** The current time as cloud-init's time_rfc2822: 'Wed, 25 Nov 2026 01:54:30 +0000'. */
export function rfc2822(date = new Date()): string {
  return date.toUTCString().replace(/GMT$/, '+0000').replace(/^(\w+), (\d) /, '$1, 0$2 ');
}

// ---------------------------------------------------------------------------
// Templates

export type TemplateVars = Record<string, unknown>;

const JINJA_HEADER = /^##\s*template:\s*jinja[ \t]*\r?\n/i;

/**
 * Render a cloud-init template: Jinja when it starts with '## template: jinja',
 * otherwise cloud-init's basic renderer ($name and ${name}; unknown names stay).
 */
export function renderTemplate(text: string, vars: TemplateVars): string {
  const header = JINJA_HEADER.exec(text);
  if (header) return renderJinja(text.slice(header[0].length), vars);
  return text.replace(/\$\{?([A-Za-z0-9_.]+)\}?/g, (all, name: string) => {
    const v = lookup(vars, name);
    return v === undefined ? all : stringify(v);
  });
}

interface Token { kind: 'text' | 'var' | 'block' | 'comment'; body: string; trimBefore: boolean; trimAfter: boolean }

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'var'; expr: string }
  | { kind: 'if'; branches: Array<{ cond: string | null; body: Node[] }> }
  | { kind: 'for'; name: string; expr: string; body: Node[] };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const CLOSE: Record<string, string> = { '{': '}}', '%': '%}', '#': '#}' };
  const KIND: Record<string, Token['kind']> = { '{': 'var', '%': 'block', '#': 'comment' };
  let last = 0;
  for (let at = src.search(/\{[{%#]/); at !== -1; at = nextOpen(src, last)) {
    const open = src[at + 1]!;
    const end = src.indexOf(CLOSE[open]!, at + 2);
    if (end === -1) throw new Error(`template: unclosed tag '${src.slice(at, at + 40)}'`);
    if (at > last) tokens.push({ kind: 'text', body: src.slice(last, at), trimBefore: false, trimAfter: false });
    let body = src.slice(at + 2, end);
    const trimBefore = body.startsWith('-');
    const trimAfter = body.endsWith('-');
    body = body.slice(trimBefore ? 1 : 0, trimAfter ? -1 : undefined);
    tokens.push({ kind: KIND[open]!, body: body.trim(), trimBefore, trimAfter });
    last = end + 2;
  }
  if (last < src.length) tokens.push({ kind: 'text', body: src.slice(last), trimBefore: false, trimAfter: false });
  // Whitespace control ('-') and cloud-init's trim_blocks=True: the first
  // newline after a block or comment tag is dropped.
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'text') continue;
    const prev = tokens[i - 1];
    const next = tokens[i + 1];
    if (t.trimBefore && prev?.kind === 'text') prev.body = prev.body.replace(/\s+$/, '');
    if (next?.kind === 'text') {
      if (t.trimAfter) next.body = next.body.replace(/^\s+/, '');
      else if (t.kind !== 'var') next.body = next.body.replace(/^\r?\n/, '');
    }
  }
  return tokens;
}

function nextOpen(src: string, from: number): number {
  const i = src.slice(from).search(/\{[{%#]/);
  return i === -1 ? -1 : from + i;
}

function parse(tokens: Token[]): Node[] {
  let pos = 0;
  const block = (ends: string[]): { nodes: Node[]; end: string } => {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos++]!;
      if (t.kind === 'text') { nodes.push({ kind: 'text', text: t.body }); continue; }
      if (t.kind === 'comment') continue;
      if (t.kind === 'var') { nodes.push({ kind: 'var', expr: t.body }); continue; }
      const [word = '', ...rest] = t.body.split(/\s+/);
      if (ends.includes(word)) return { nodes, end: t.body };
      if (word === 'if') {
        const branches: Array<{ cond: string | null; body: Node[] }> = [];
        let cond: string | null = rest.join(' ');
        for (;;) {
          const inner = block(['elif', 'else', 'endif']);
          branches.push({ cond, body: inner.nodes });
          if (inner.end.startsWith('elif')) cond = inner.end.slice(4).trim();
          else if (inner.end === 'else') cond = null;
          else break;
        }
        nodes.push({ kind: 'if', branches });
      } else if (word === 'for') {
        const m = /^for\s+(\w+)\s+in\s+(.+)$/.exec(t.body);
        if (!m) throw new Error(`template: cannot read '{% ${t.body} %}'`);
        const inner = block(['endfor']);
        nodes.push({ kind: 'for', name: m[1]!, expr: m[2]!, body: inner.nodes });
      } else {
        throw new Error(`template: unsupported tag '{% ${t.body} %}' (supported: if/elif/else/endif, for/endfor)`);
      }
    }
    if (ends.length) throw new Error(`template: missing {% ${ends[ends.length - 1]} %}`);
    return { nodes, end: '' };
  };
  return block([]).nodes;
}

function lookup(vars: TemplateVars, path: string): unknown {
  let v: unknown = vars;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v !== null && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

function stringify(v: unknown): string {
  if (v === undefined) return '';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null) return 'None';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Expressions: names (a.b), quoted strings, numbers, `|list`/`|string`/`|lower`/`|upper`, `+`, `not`, `and`, `or`. */
function evaluate(expr: string, vars: TemplateVars): unknown {
  const or = splitTop(expr, ' or ');
  if (or.length > 1) return or.some((e) => truthy(evaluate(e, vars)));
  const and = splitTop(expr, ' and ');
  if (and.length > 1) return and.every((e) => truthy(evaluate(e, vars)));
  const e = expr.trim();
  if (e.startsWith('not ')) return !truthy(evaluate(e.slice(4), vars));
  const sum = splitTop(e, '+');
  if (sum.length > 1) {
    const values = sum.map((s) => evaluate(s, vars));
    return values.every(Array.isArray) ? values.flat() : values.map(stringify).join('');
  }
  const [head = '', ...filters] = splitTop(e, '|').map((s) => s.trim());
  let value: unknown;
  if (/^(['"]).*\1$/s.test(head)) value = head.slice(1, -1);
  else if (/^-?\d+(\.\d+)?$/.test(head)) value = Number(head);
  else if (/^(true|True|false|False|none|None)$/.test(head)) value = /^t/i.test(head) ? true : /^f/i.test(head) ? false : null;
  else if (/^[A-Za-z_][\w.]*$/.test(head)) value = lookup(vars, head);
  else throw new Error(`template: cannot evaluate '${expr}'`);
  for (const f of filters) {
    if (f === 'list') value = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
    else if (f === 'string') value = stringify(value);
    else if (f === 'lower') value = stringify(value).toLowerCase();
    else if (f === 'upper') value = stringify(value).toUpperCase();
    else throw new Error(`template: unsupported filter '${f}'`);
  }
  return value;
}

/** Split at `sep` outside quotes. */
function splitTop(expr: string, sep: string): string[] {
  const parts: string[] = [];
  let quote = '';
  let start = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (quote) { if (c === quote) quote = ''; continue; }
    if (c === '"' || c === "'") { quote = c; continue; }
    if (expr.startsWith(sep, i)) { parts.push(expr.slice(start, i)); start = i + sep.length; i += sep.length - 1; }
  }
  parts.push(expr.slice(start));
  return parts;
}

function renderNodes(nodes: Node[], vars: TemplateVars): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'var') {
      const v = evaluate(n.expr, vars);
      // cloud-init renders an undefined variable as a visible marker.
      out += v === undefined ? `CI_MISSING_JINJA_VAR/${n.expr}` : stringify(v);
    } else if (n.kind === 'if') {
      const branch = n.branches.find((b) => b.cond === null || truthy(evaluate(b.cond, vars)));
      if (branch) out += renderNodes(branch.body, vars);
    } else {
      const list = evaluate(n.expr, vars);
      const items = Array.isArray(list) ? list : list === undefined || list === null ? [] : [list];
      for (const item of items) out += renderNodes(n.body, { ...vars, [n.name]: item });
    }
  }
  return out;
}

/**
 * Jinja with cloud-init's settings: trim_blocks, and its trailing-newline rule
 * (Jinja drops the source's last newline; cloud-init adds one back).
 */
export function renderJinja(src: string, vars: TemplateVars): string {
  const add = src.endsWith('\n') ? '\n' : '';
  return renderNodes(parse(tokenize(src.replace(/\r?\n$/, ''))), vars) + add;
}
