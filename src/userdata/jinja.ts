// '## template: jinja' parts: rendered with the instance data
// (/run/ec2-init/instance-data-sensitive.json: v1.*, ds.meta_data.*, and
// cloud-init's aliases: v1 keys at the top level, '-' and '.' in key names
// also reachable as '_'), then typed by their new first line as cloud-init
// does: only #cloud-config and #! results are handled, anything else is
// ignored with a warning.
//
// The renderer is a small, safe subset of Jinja, with cloud-init's settings
// (trim_blocks, the trailing newline kept, undefined variables printed as
// CI_MISSING_JINJA_VAR/<name> and warned about): {{ expr }}, {# #},
// {% if/elif/else/endif %}, {% for x in … %}/{% else %}/{% endfor %},
// {% set x = expr %}, {% raw %}; dotted and ['key'] access; literals; ==, !=,
// <, <=, >, >=, in, not in, and, or, not, ~, is [not] defined/undefined/none/
// string/number; the filters default (d), lower, upper, trim, string, int,
// length (count), join, replace, first, last; dict.items()/keys()/values()/
// get(). Anything else (macros, includes, other calls, arithmetic, unknown
// filters) is refused: the whole template is parsed before anything is
// rendered, and a refused or failing template yields no part at all.
//
// Rendering happens before cloud-config merging (a template may render to
// #cloud-config), so it is a step on the Part list: renderTemplateParts.
import { asText, utf8 } from '../bytes.ts';
import type { Context } from '../context.ts';
import { layout } from '../state/layout.ts';
import type { Diag, Part } from '../types.ts';
import { sniffType } from './sniff.ts';

export const JINJA_TYPE = 'text/jinja2';
export const MISSING_PREFIX = 'CI_MISSING_JINJA_VAR/';
export const TEMPLATE_DATA = `${layout.runDir}/instance-data-sensitive.json`;
/** The types cloud-init's jinja handler passes rendered output on to (its sub-handlers). */
const RENDERED_TYPES = new Set(['text/cloud-config', 'text/x-shellscript']);
const MAX_OUTPUT = 16 * 1024 * 1024;

export class JinjaError extends Error {
  /** 1-based line in the part (the '## template: jinja' line is line 1). */
  readonly line: number;
  constructor(line: number, message: string) {
    super(message);
    this.line = line;
  }
}

// ---------------------------------------------------------------- values

/** A Jinja undefined value (cloud-init's DebugUndefined subclass). */
class Undef {
  readonly name: string;
  /** Set when it came from a lookup on a value: for the error message. */
  readonly owner: string | null;
  constructor(name: string, owner: string | null = null) {
    this.name = name;
    this.owner = owner;
  }
}

type Value = null | boolean | number | string | Value[] | { [k: string]: Value } | Undef;
type Dict = { [k: string]: Value };

const isDict = (v: Value): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Undef);

function undefinedError(line: number, u: Undef): JinjaError {
  return new JinjaError(line, u.owner === null ? `'${u.name}' is undefined` : `'${u.owner}' has no attribute '${u.name}'`);
}

function typeName(v: Value): string {
  if (v === null) return 'NoneType';
  if (v instanceof Undef) return 'Undefined';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'dict';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  return 'str';
}

function truthy(v: Value): boolean {
  if (v === null || v instanceof Undef) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string' || Array.isArray(v)) return v.length > 0;
  return Object.keys(v).length > 0;
}

function pyRepr(v: Value): string {
  if (typeof v === 'string') {
    const q = v.includes("'") && !v.includes('"') ? '"' : "'";
    // eslint-disable-next-line no-control-regex
    const body = v.replace(/[\\\n\r\t\x00-\x1f\x7f]/g, (c) => ({ '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    return q + (q === "'" ? body.replace(/'/g, "\\'") : body) + q;
  }
  return pyStr(v);
}

/** Python's str() of a value, as Jinja prints it. */
function pyStr(v: Value): string {
  if (v === null) return 'None';
  if (v instanceof Undef) return MISSING_PREFIX + v.name;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    return String(v);
  }
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
}

function pyEq(a: Value, b: Value): boolean {
  if (a instanceof Undef || b instanceof Undef) return a instanceof Undef && b instanceof Undef;
  const num = (x: Value) => (typeof x === 'boolean' ? Number(x) : x);
  const x = num(a);
  const y = num(b);
  if (typeof x === 'number' || typeof y === 'number') return x === y;
  if (x === null || y === null || typeof x === 'string' || typeof y === 'string') return x === y;
  if (Array.isArray(x) || Array.isArray(y)) {
    return Array.isArray(x) && Array.isArray(y) && x.length === y.length && x.every((e, i) => pyEq(e, y[i]!));
  }
  const ka = Object.keys(x as Dict);
  const kb = Object.keys(y as Dict);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(y as Dict, k) && pyEq((x as Dict)[k]!, (y as Dict)[k]!));
}

// ---------------------------------------------------------------- variables

// Jinja's operator tokens, longest first: cloud-init aliases a key holding
// them with each operator replaced by '_' ('local-hostname' → local_hostname).
const OPERATOR = /\/\/|\*\*|==|!=|>=|<=|[-+/*%~[\](){}=<>.:|,;]/g;

/** A deep copy of instance data (plain JSON values). */
function copyValue<T>(v: T): T {
  return v === undefined ? v : JSON.parse(JSON.stringify(v)) as T;
}

/** cloud-init's convert_jinja_instance_data (with its key aliases unless `aliases` is false, as `query --all` shows it). */
export function templateVariables(data: unknown, aliases = true): Dict {
  const out: Dict = {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return out;
  for (const key of Object.keys(data).sort()) {
    const raw = (data as Record<string, unknown>)[key];
    let value: Value;
    if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
      value = templateVariables(raw, aliases);
      out[key] = value;
      // v1 (and any vN) keys are also reachable at the top level.
      if (/^v\d+$/.test(key)) for (const [k, v] of Object.entries(value)) out[k] = copyValue(v);
    } else {
      value = raw as Value;
      out[key] = value;
    }
    const alias = key.replace(OPERATOR, '_');
    if (aliases && alias !== key) out[alias] = copyValue(out[key]!);
  }
  return out;
}

// ---------------------------------------------------------------- lexer

type Tok =
  | { kind: 'text'; text: string; line: number }
  | { kind: 'out'; src: string; line: number }
  | { kind: 'stmt'; src: string; line: number };

function lineAt(text: string, pos: number, base: number): number {
  let n = base;
  for (let i = text.indexOf('\n'); i !== -1 && i < pos; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Split a template into text, {{ }} and {% %} (comments dropped), applying -, + and trim_blocks. */
function lex(src: string, base: number): Tok[] {
  const toks: Tok[] = [];
  let pos = 0;
  let trimNext = false; // a '-' before the end of the previous tag
  let dropNewline = false; // trim_blocks after a {% %} or {# #}
  const pushText = (text: string, line: number) => {
    if (trimNext) text = text.replace(/^\s+/, '');
    else if (dropNewline && text.startsWith('\n')) text = text.slice(1);
    trimNext = false;
    dropNewline = false;
    if (text !== '') toks.push({ kind: 'text', text, line });
  };
  while (pos < src.length) {
    const open = src.slice(pos).search(/\{[{%#]/);
    if (open === -1) { pushText(src.slice(pos), lineAt(src, pos, base)); break; }
    const start = pos + open;
    const kind = src[start + 1]!;
    const line = lineAt(src, start, base);
    let text = src.slice(pos, start);
    const leftTrim = src[start + 2] === '-';
    if (leftTrim) text = text.replace(/\s+$/, '');
    pushText(text, lineAt(src, pos, base));
    let inner = start + 2 + (leftTrim || src[start + 2] === '+' ? 1 : 0);
    if (kind === '#') {
      const end = src.indexOf('#}', inner);
      if (end === -1) throw new JinjaError(line, 'unclosed comment: no #}');
      trimNext = src[end - 1] === '-';
      dropNewline = !trimNext && src[end - 1] !== '+';
      pos = end + 2;
      continue;
    }
    const close = kind === '{' ? '}}' : '%}';
    // Find the closing delimiter outside string literals.
    let i = inner;
    let quote = '';
    for (; i < src.length; i++) {
      const c = src[i]!;
      if (quote) {
        if (c === '\\') i++;
        else if (c === quote) quote = '';
      } else if (c === '"' || c === "'") quote = c;
      else if (src.startsWith(close, i)) break;
    }
    if (i >= src.length) throw new JinjaError(line, `unclosed tag: no ${close}`);
    const rightTrim = src[i - 1] === '-' && i - 1 >= inner;
    const plus = src[i - 1] === '+' && i - 1 >= inner;
    const body = src.slice(inner, rightTrim || plus ? i - 1 : i).trim();
    pos = i + 2;
    if (kind === '%' && /^raw$/.test(body)) {
      // Everything up to {% endraw %} is text, as is.
      const endRe = /\{%([-+]?)\s*endraw\s*([-+]?)%\}/g;
      endRe.lastIndex = pos;
      const m = endRe.exec(src);
      if (!m) throw new JinjaError(line, 'unclosed {% raw %}: no {% endraw %}');
      let rawText = src.slice(pos, m.index);
      if (rightTrim) rawText = rawText.replace(/^\s+/, '');
      else if (!plus && rawText.startsWith('\n')) rawText = rawText.slice(1);
      if (m[1] === '-') rawText = rawText.replace(/\s+$/, '');
      if (rawText !== '') toks.push({ kind: 'text', text: rawText, line: lineAt(src, pos, base) });
      pos = m.index + m[0].length;
      trimNext = m[2] === '-';
      dropNewline = !trimNext && m[2] !== '+';
      continue;
    }
    toks.push({ kind: kind === '{' ? 'out' : 'stmt', src: body, line });
    trimNext = rightTrim;
    dropNewline = kind === '%' && !rightTrim && !plus;
  }
  return toks;
}

// ---------------------------------------------------------------- expressions

type Expr =
  | { t: 'lit'; v: Value }
  | { t: 'list'; items: Expr[] }
  | { t: 'name'; name: string }
  | { t: 'get'; obj: Expr; key: Expr; dotted: boolean }
  | { t: 'method'; obj: Expr; name: string; args: Expr[] }
  | { t: 'not'; e: Expr }
  | { t: 'bool'; op: 'and' | 'or'; a: Expr; b: Expr }
  | { t: 'cmp'; op: string; a: Expr; b: Expr }
  | { t: 'is'; e: Expr; test: string; neg: boolean }
  | { t: 'cat'; a: Expr; b: Expr }
  | { t: 'add'; a: Expr; b: Expr }
  | { t: 'filter'; e: Expr; name: string; args: Expr[] };

interface ETok { k: 'name' | 'str' | 'num' | 'op'; v: string }

const FILTERS = new Set(['default', 'd', 'lower', 'upper', 'trim', 'string', 'int', 'length', 'count', 'join', 'replace', 'first', 'last', 'list']);
const TESTS = new Set(['defined', 'undefined', 'none', 'string', 'number']);
const METHODS = new Set(['items', 'keys', 'values', 'get']);
const STATEMENTS = 'if/elif/else/endif, for/else/endfor, set, raw';

function tokenizeExpr(s: string, line: number): ETok[] {
  const out: ETok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let v = '';
      for (; j < s.length && s[j] !== c; j++) {
        if (s[j] === '\\' && j + 1 < s.length) {
          const e = s[++j]!;
          v += ({ n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' } as Record<string, string>)[e] ?? `\\${e}`;
        } else v += s[j];
      }
      if (j >= s.length) throw new JinjaError(line, `unterminated string in '${s}'`);
      out.push({ k: 'str', v });
      i = j + 1;
      continue;
    }
    const num = /^\d[\d_]*(\.\d+)?([eE][-+]?\d+)?/.exec(s.slice(i));
    if (num) { out.push({ k: 'num', v: num[0].replace(/_/g, '') }); i += num[0].length; continue; }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i));
    if (name) { out.push({ k: 'name', v: name[0] }); i += name[0].length; continue; }
    const op = /^(==|!=|<=|>=|\/\/|\*\*|[<>|.,()[\]{}~+\-*/%=:!])/.exec(s.slice(i));
    if (!op) throw new JinjaError(line, `unexpected character '${c}' in '${s}'`);
    out.push({ k: 'op', v: op[0] });
    i += op[0].length;
  }
  return out;
}

class ExprParser {
  private readonly toks: ETok[];
  private i = 0;
  private readonly line: number;
  private readonly src: string;
  constructor(src: string, line: number) {
    this.src = src;
    this.line = line;
    this.toks = tokenizeExpr(src, line);
  }

  private peek(): ETok | undefined { return this.toks[this.i]; }
  private isOp(v: string): boolean { const t = this.peek(); return t !== undefined && t.k === 'op' && t.v === v; }
  private isName(v: string): boolean { const t = this.peek(); return t !== undefined && t.k === 'name' && t.v === v; }
  private fail(msg: string): never { throw new JinjaError(this.line, `${msg} in '${this.src}'`); }
  private expectOp(v: string): void { if (!this.isOp(v)) this.fail(`expected '${v}'`); this.i++; }
  private name(): string {
    const t = this.peek();
    if (!t || t.k !== 'name') this.fail('expected a name');
    this.i++;
    return t.v;
  }
  get done(): boolean { return this.i >= this.toks.length; }
  /** For statements: the next bare word ('in' of a for) without consuming others. */
  takeName(v: string): boolean { if (this.isName(v)) { this.i++; return true; } return false; }
  takeOp(v: string): boolean { if (this.isOp(v)) { this.i++; return true; } return false; }
  targetName(): string { return this.name(); }

  end(): void { if (!this.done) this.unsupportedAt(this.peek()!); }

  private unsupportedAt(t: ETok): never {
    if (t.k === 'op' && ['+', '-', '*', '/', '//', '%', '**'].includes(t.v)) {
      const prev = this.toks[this.i - 1];
      const next = this.toks[this.i + 1];
      const hint = t.v === '-' && prev?.k === 'name' && next?.k === 'name'
        ? ` (a key with '-' is reachable as ${prev.v}_${next.v}, or ['${prev.v}-${next.v}'])` : '';
      throw new JinjaError(this.line, `unsupported jinja construct: arithmetic '${t.v}' in '${this.src}'${hint}`);
    }
    if (t.k === 'name' && t.v === 'if') throw new JinjaError(this.line, `unsupported jinja construct: inline 'if' expression in '${this.src}'`);
    this.fail(`unexpected '${t.v}'`);
  }

  expr(): Expr { return this.or(); }

  private or(): Expr {
    let a = this.and();
    while (this.takeName('or')) a = { t: 'bool', op: 'or', a, b: this.and() };
    return a;
  }
  private and(): Expr {
    let a = this.not();
    while (this.takeName('and')) a = { t: 'bool', op: 'and', a, b: this.not() };
    return a;
  }
  private not(): Expr {
    if (this.takeName('not')) return { t: 'not', e: this.not() };
    return this.compare();
  }
  private compare(): Expr {
    let a = this.concat();
    for (;;) {
      const t = this.peek();
      if (t?.k === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.v)) {
        this.i++;
        a = { t: 'cmp', op: t.v, a, b: this.concat() };
      } else if (this.isName('in')) {
        this.i++;
        a = { t: 'cmp', op: 'in', a, b: this.concat() };
      } else if (this.isName('not') && this.toks[this.i + 1]?.k === 'name' && this.toks[this.i + 1]!.v === 'in') {
        this.i += 2;
        a = { t: 'cmp', op: 'not in', a, b: this.concat() };
      } else if (this.takeName('is')) {
        const neg = this.takeName('not');
        const test = this.name();
        if (!TESTS.has(test)) throw new JinjaError(this.line, `unsupported jinja construct: test 'is ${test}' in '${this.src}' (supported: ${[...TESTS].join(', ')})`);
        a = { t: 'is', e: a, test, neg };
      } else return a;
    }
  }
  private concat(): Expr {
    let a = this.filtered();
    // '+' joins lists or strings (cloud-init's timesyncd template: servers|list + pools|list);
    // on anything else it is arithmetic, refused when evaluated.
    for (;;) {
      if (this.takeOp('~')) a = { t: 'cat', a, b: this.filtered() };
      else if (this.takeOp('+')) a = { t: 'add', a, b: this.filtered() };
      else break;
    }
    const t = this.peek();
    if (t?.k === 'op' && ['-', '*', '/', '//', '%', '**'].includes(t.v)) this.unsupportedAt(t);
    return a;
  }
  private filtered(): Expr {
    let e = this.postfix();
    while (this.takeOp('|')) {
      const name = this.name();
      if (!FILTERS.has(name)) throw new JinjaError(this.line, `unsupported jinja construct: filter '${name}' in '${this.src}' (supported: ${[...FILTERS].join(', ')})`);
      const args = this.isOp('(') ? this.args() : [];
      e = { t: 'filter', e, name, args };
    }
    return e;
  }
  private args(): Expr[] {
    this.expectOp('(');
    const args: Expr[] = [];
    while (!this.isOp(')')) {
      const t = this.peek();
      if (t?.k === 'name' && this.toks[this.i + 1]?.v === '=' && this.toks[this.i + 1]?.k === 'op') {
        throw new JinjaError(this.line, `unsupported jinja construct: keyword argument '${t.v}=' in '${this.src}'`);
      }
      args.push(this.expr());
      if (!this.takeOp(',')) break;
    }
    this.expectOp(')');
    return args;
  }
  private postfix(): Expr {
    let e = this.primary();
    for (;;) {
      if (this.takeOp('.')) {
        const t = this.peek();
        if (!t || (t.k !== 'name' && t.k !== 'num')) this.fail("expected a name after '.'");
        this.i++;
        if (this.isOp('(')) {
          if (!METHODS.has(t.v)) throw new JinjaError(this.line, `unsupported jinja construct: call '${t.v}()' in '${this.src}' (only .items(), .keys(), .values(), .get() on a mapping)`);
          e = { t: 'method', obj: e, name: t.v, args: this.args() };
        } else e = { t: 'get', obj: e, key: { t: 'lit', v: t.k === 'num' ? Number(t.v) : t.v }, dotted: true };
      } else if (this.takeOp('[')) {
        if (this.isOp(':')) this.fail('slices are not supported');
        const key = this.expr();
        if (this.isOp(':')) throw new JinjaError(this.line, `unsupported jinja construct: slice in '${this.src}'`);
        this.expectOp(']');
        e = { t: 'get', obj: e, key, dotted: false };
      } else if (this.isOp('(')) {
        throw new JinjaError(this.line, `unsupported jinja construct: call in '${this.src}' (functions, macros and methods cannot be called)`);
      } else return e;
    }
  }
  private primary(): Expr {
    const t = this.peek();
    if (!t) this.fail('expression ends too early');
    this.i++;
    if (t.k === 'str') {
      let v = t.v;
      while (this.peek()?.k === 'str') v += this.toks[this.i++]!.v; // 'a' 'b' concatenates
      return { t: 'lit', v };
    }
    if (t.k === 'num') return { t: 'lit', v: Number(t.v) };
    if (t.k === 'name') {
      switch (t.v) {
        case 'true': case 'True': return { t: 'lit', v: true };
        case 'false': case 'False': return { t: 'lit', v: false };
        case 'none': case 'None': return { t: 'lit', v: null };
        case 'and': case 'or': case 'not': case 'in': case 'is': case 'if': case 'else':
          this.fail(`unexpected '${t.v}'`);
      }
      return { t: 'name', name: t.v };
    }
    if (t.v === '(') {
      const e = this.expr();
      if (this.isOp(',')) throw new JinjaError(this.line, `unsupported jinja construct: tuple in '${this.src}'`);
      this.expectOp(')');
      return e;
    }
    if (t.v === '[') {
      const items: Expr[] = [];
      while (!this.isOp(']')) {
        items.push(this.expr());
        if (!this.takeOp(',')) break;
      }
      this.expectOp(']');
      return { t: 'list', items };
    }
    if (t.v === '{') throw new JinjaError(this.line, `unsupported jinja construct: dict literal in '${this.src}'`);
    if (t.v === '-' && this.peek()?.k === 'num') return { t: 'lit', v: -Number(this.toks[this.i++]!.v) };
    this.i--;
    return this.unsupportedAt(t);
  }
}

function parseExpr(src: string, line: number): Expr {
  if (src === '') throw new JinjaError(line, 'empty expression');
  const p = new ExprParser(src, line);
  const e = p.expr();
  p.end();
  return e;
}

// ---------------------------------------------------------------- statements

type Node =
  | { n: 'text'; text: string; line: number }
  | { n: 'out'; e: Expr; line: number }
  | { n: 'if'; branches: Array<{ cond: Expr; body: Node[]; line: number }>; else: Node[] }
  | { n: 'for'; targets: string[]; iter: Expr; body: Node[]; else: Node[]; line: number }
  | { n: 'set'; name: string; e: Expr; line: number };

type StmtTok = Extract<Tok, { kind: 'stmt' }>;

function parse(toks: Tok[]): Node[] {
  let i = 0;
  const keyword = (t: Tok) => (t.kind === 'stmt' ? /^[A-Za-z_]\w*/.exec(t.src)?.[0] ?? '' : '');
  // Parse nodes until one of `stops` (a statement keyword) is met; return it.
  const block = (stops: string[], opener: StmtTok | null): { nodes: Node[]; stop: StmtTok | null } => {
    const nodes: Node[] = [];
    while (i < toks.length) {
      const t = toks[i]!;
      if (t.kind === 'text') { nodes.push({ n: 'text', text: t.text, line: t.line }); i++; continue; }
      if (t.kind === 'out') { nodes.push({ n: 'out', e: parseExpr(t.src, t.line), line: t.line }); i++; continue; }
      const kw = keyword(t);
      if (stops.includes(kw)) return { nodes, stop: t };
      i++;
      const rest = t.src.slice(kw.length).trim();
      switch (kw) {
        case 'if': {
          const branches = [{ cond: parseExpr(rest, t.line), body: [] as Node[], line: t.line }];
          let elseBody: Node[] = [];
          for (;;) {
            const b = block(['elif', 'else', 'endif'], t);
            branches[branches.length - 1]!.body = b.nodes;
            const stop = b.stop!;
            i++;
            const kw2 = keyword(stop);
            if (kw2 === 'elif') { branches.push({ cond: parseExpr(stop.src.slice(4).trim(), stop.line), body: [], line: stop.line }); continue; }
            if (kw2 === 'else') {
              if (stop.src.trim() !== 'else') throw new JinjaError(stop.line, `unexpected text after else: '${stop.src}'`);
              const e = block(['endif'], t);
              elseBody = e.nodes;
              i++;
            }
            break;
          }
          nodes.push({ n: 'if', branches, else: elseBody });
          break;
        }
        case 'for': {
          const p = new ExprParser(rest, t.line);
          const targets = [p.targetName()];
          while (p.takeOp(',')) targets.push(p.targetName());
          if (!p.takeName('in')) throw new JinjaError(t.line, `expected 'in' in '{% ${t.src} %}'`);
          const iter = p.expr();
          if (p.takeName('if')) throw new JinjaError(t.line, `unsupported jinja construct: loop filter 'for … if' in '{% ${t.src} %}'`);
          if (p.takeName('recursive')) throw new JinjaError(t.line, `unsupported jinja construct: recursive loop in '{% ${t.src} %}'`);
          p.end();
          const b = block(['else', 'endfor'], t);
          i++;
          let elseBody: Node[] = [];
          if (keyword(b.stop!) === 'else') { elseBody = block(['endfor'], t).nodes; i++; }
          nodes.push({ n: 'for', targets, iter, body: b.nodes, else: elseBody, line: t.line });
          break;
        }
        case 'set': {
          const m = /^([A-Za-z_]\w*)\s*=(?!=)\s*([\s\S]+)$/.exec(rest);
          if (!m) throw new JinjaError(t.line, `unsupported jinja construct: '{% ${t.src} %}' (only {% set name = expression %})`);
          nodes.push({ n: 'set', name: m[1]!, e: parseExpr(m[2]!.trim(), t.line), line: t.line });
          break;
        }
        case 'elif': case 'else': case 'endif': case 'endfor':
          throw new JinjaError(t.line, `'{% ${kw} %}' without a matching ${kw === 'endfor' ? 'for' : 'if'}`);
        default:
          throw new JinjaError(t.line, `unsupported jinja construct: '{% ${t.src.slice(0, 60)} %}' (supported statements: ${STATEMENTS})`);
      }
    }
    if (opener) throw new JinjaError(opener.line, `'{% ${opener.src.slice(0, 60)} %}' is never closed (no {% end${keyword(opener)} %})`);
    return { nodes, stop: null };
  };
  return block([], null).nodes;
}

// ---------------------------------------------------------------- evaluation

class Scope {
  private readonly vars = new Map<string, Value>();
  private readonly parent: Scope | null;
  private readonly globals: Dict;
  constructor(globals: Dict, parent: Scope | null = null) {
    this.globals = globals;
    this.parent = parent;
  }
  get(name: string): Value {
    if (this.vars.has(name)) return this.vars.get(name)!;
    if (this.parent) return this.parent.get(name);
    return Object.hasOwn(this.globals, name) ? this.globals[name]! : new Undef(name);
  }
  set(name: string, v: Value): void { this.vars.set(name, v); }
}

interface RenderState { out: string[]; size: number; missing: string[] }

function getItem(obj: Value, key: Value, line: number): Value {
  if (obj instanceof Undef) throw undefinedError(line, obj);
  const keyStr = typeof key === 'string' ? key : pyStr(key);
  if (isDict(obj)) return Object.hasOwn(obj, keyStr) ? obj[keyStr]! : new Undef(keyStr, 'dict object');
  if ((Array.isArray(obj) || typeof obj === 'string') && typeof key === 'number' && Number.isInteger(key)) {
    const idx = key < 0 ? obj.length + key : key;
    if (idx >= 0 && idx < obj.length) return obj[idx]!;
  }
  return new Undef(keyStr, `${typeName(obj)} object`);
}

function evaluate(e: Expr, scope: Scope, line: number): Value {
  switch (e.t) {
    case 'lit': return e.v;
    case 'list': return e.items.map((x) => evaluate(x, scope, line));
    case 'name': return scope.get(e.name);
    case 'get': return getItem(evaluate(e.obj, scope, line), evaluate(e.key, scope, line), line);
    case 'method': {
      const obj = evaluate(e.obj, scope, line);
      if (obj instanceof Undef) throw undefinedError(line, obj);
      if (!isDict(obj)) throw new JinjaError(line, `'${typeName(obj)} object' has no method '${e.name}'`);
      const args = e.args.map((a) => evaluate(a, scope, line));
      if (e.name === 'get') {
        const k = args[0];
        if (k === undefined) throw new JinjaError(line, 'get() needs a key');
        const ks = typeof k === 'string' ? k : pyStr(k);
        return Object.hasOwn(obj, ks) ? obj[ks]! : (args[1] ?? null);
      }
      if (args.length) throw new JinjaError(line, `${e.name}() takes no arguments`);
      if (e.name === 'keys') return Object.keys(obj);
      if (e.name === 'values') return Object.values(obj);
      return Object.entries(obj).map(([k, v]) => [k, v]);
    }
    case 'not': return !truthy(evaluate(e.e, scope, line));
    case 'bool': {
      const a = evaluate(e.a, scope, line);
      if (e.op === 'and') return truthy(a) ? evaluate(e.b, scope, line) : a;
      return truthy(a) ? a : evaluate(e.b, scope, line);
    }
    case 'cat': return strOf(evaluate(e.a, scope, line)) + strOf(evaluate(e.b, scope, line));
    case 'add': {
      const a = evaluate(e.a, scope, line);
      const b = evaluate(e.b, scope, line);
      if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
      if (typeof a === 'string' && typeof b === 'string') return a + b;
      throw new JinjaError(line, `unsupported jinja construct: arithmetic '+' on ${typeName(a)} and ${typeName(b)} (only lists or strings can be joined)`);
    }
    case 'is': {
      const v = evaluate(e.e, scope, line);
      let r: boolean;
      switch (e.test) {
        case 'defined': r = !(v instanceof Undef); break;
        case 'undefined': r = v instanceof Undef; break;
        case 'none': r = v === null; break;
        case 'string': r = typeof v === 'string'; break;
        default: r = typeof v === 'number';
      }
      return e.neg ? !r : r;
    }
    case 'cmp': return compare(e.op, evaluate(e.a, scope, line), evaluate(e.b, scope, line), line);
    case 'filter': return applyFilter(e.name, evaluate(e.e, scope, line), e.args.map((a) => evaluate(a, scope, line)), line);
  }
}

/** Python str() that records an undefined printed as CI_MISSING_JINJA_VAR/<name>. */
let missingSink: string[] | null = null;
function strOf(v: Value): string {
  if (v instanceof Undef) missingSink?.push(v.name);
  return pyStr(v);
}

function compare(op: string, a: Value, b: Value, line: number): boolean {
  if (op === '==') return pyEq(a, b);
  if (op === '!=') return !pyEq(a, b);
  if (op === 'in' || op === 'not in') {
    let r: boolean;
    if (b instanceof Undef) throw undefinedError(line, b);
    if (typeof b === 'string') {
      if (typeof a !== 'string') throw new JinjaError(line, `'in <string>' requires string as left operand, not ${typeName(a)}`);
      r = b.includes(a);
    } else if (Array.isArray(b)) r = b.some((x) => pyEq(a, x));
    else if (isDict(b)) r = typeof a === 'string' && Object.hasOwn(b, a);
    else throw new JinjaError(line, `argument of type '${typeName(b)}' is not iterable`);
    return op === 'in' ? r : !r;
  }
  for (const v of [a, b]) if (v instanceof Undef) throw undefinedError(line, v);
  const num = (x: Value) => (typeof x === 'boolean' ? Number(x) : x);
  const x = num(a);
  const y = num(b);
  if (!((typeof x === 'number' && typeof y === 'number') || (typeof x === 'string' && typeof y === 'string'))) {
    throw new JinjaError(line, `'${op}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
  }
  switch (op) {
    case '<': return x < y;
    case '<=': return x <= y;
    case '>': return x > y;
    default: return x >= y;
  }
}

function applyFilter(name: string, v: Value, args: Value[], line: number): Value {
  switch (name) {
    case 'default': case 'd': {
      const fallback = args[0] ?? '';
      return v instanceof Undef || (args[1] !== undefined && truthy(args[1]) && !truthy(v)) ? fallback : v;
    }
    case 'list':
      if (v instanceof Undef || v === null) return [];
      if (Array.isArray(v)) return [...v];
      if (typeof v === 'string') return [...v];
      if (typeof v === 'object') return Object.keys(v);
      throw new JinjaError(line, `'${typeName(v)}' object is not iterable`);
    case 'lower': return strOf(v).toLowerCase();
    case 'upper': return strOf(v).toUpperCase();
    case 'trim': return strOf(v).replace(/^\s+|\s+$/g, '');
    case 'string': return strOf(v);
    case 'int': {
      if (typeof v === 'number') return Math.trunc(v);
      if (typeof v === 'boolean') return Number(v);
      const s = typeof v === 'string' ? v.trim() : '';
      if (/^[-+]?\d+$/.test(s)) return Number(s);
      if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return Math.trunc(Number(s));
      return typeof args[0] === 'number' ? args[0] : 0;
    }
    case 'length': case 'count':
      if (v instanceof Undef) return 0;
      if (typeof v === 'string' || Array.isArray(v)) return v.length;
      if (isDict(v)) return Object.keys(v).length;
      throw new JinjaError(line, `object of type '${typeName(v)}' has no len()`);
    case 'join': {
      if (v instanceof Undef) return '';
      const items = Array.isArray(v) ? v : isDict(v) ? Object.keys(v) : typeof v === 'string' ? [...v] : null;
      if (items === null) throw new JinjaError(line, `'${typeName(v)}' object is not iterable`);
      return items.map(strOf).join(args[0] === undefined ? '' : strOf(args[0]));
    }
    case 'replace': {
      if (args.length < 2) throw new JinjaError(line, 'replace needs two arguments');
      return strOf(v).split(strOf(args[0]!)).join(strOf(args[1]!));
    }
    default: { // first, last
      if (v instanceof Undef) throw undefinedError(line, v);
      const items = Array.isArray(v) ? v : isDict(v) ? Object.keys(v) : typeof v === 'string' ? [...v] : null;
      if (items === null) throw new JinjaError(line, `'${typeName(v)}' object is not iterable`);
      const x = name === 'first' ? items[0] : items[items.length - 1];
      return x === undefined ? new Undef(name, 'sequence') : x;
    }
  }
}

function run(nodes: Node[], scope: Scope, st: RenderState): void {
  const emit = (s: string, line: number) => {
    st.size += s.length;
    if (st.size > MAX_OUTPUT) throw new JinjaError(line, `rendered output is larger than ${MAX_OUTPUT} bytes`);
    st.out.push(s);
  };
  for (const node of nodes) {
    switch (node.n) {
      case 'text': emit(node.text, node.line); break;
      case 'out': emit(strOf(evaluate(node.e, scope, node.line)), node.line); break;
      case 'set': scope.set(node.name, evaluate(node.e, scope, node.line)); break;
      case 'if': {
        const hit = node.branches.find((b) => truthy(evaluate(b.cond, scope, b.line)));
        run(hit ? hit.body : node.else, scope, st);
        break;
      }
      case 'for': {
        const it = evaluate(node.iter, scope, node.line);
        let items: Value[];
        if (it instanceof Undef) items = [];
        else if (Array.isArray(it)) items = it;
        else if (isDict(it)) items = Object.keys(it);
        else if (typeof it === 'string') items = [...it];
        else throw new JinjaError(node.line, `'${typeName(it)}' object is not iterable`);
        if (items.length === 0) { run(node.else, scope, st); break; }
        items.forEach((item, idx) => {
          const inner = new Scope({}, scope);
          if (node.targets.length === 1) inner.set(node.targets[0]!, item);
          else {
            const seq = Array.isArray(item) ? item : typeof item === 'string' ? [...item] : null;
            if (seq === null || seq.length !== node.targets.length) {
              throw new JinjaError(node.line, `cannot unpack ${pyRepr(item)} into ${node.targets.length} names`);
            }
            node.targets.forEach((n, k) => inner.set(n, seq[k]!));
          }
          inner.set('loop', {
            index: idx + 1, index0: idx, revindex: items.length - idx, revindex0: items.length - idx - 1,
            first: idx === 0, last: idx === items.length - 1, length: items.length,
          });
          run(node.body, inner, st);
        });
        break;
      }
    }
  }
}

export interface Rendered {
  text: string;
  /** Names printed as CI_MISSING_JINJA_VAR/<name> (cloud-init warns about them). */
  missing: string[];
}

/**
 * Render a '## template: jinja' payload (its first line is the header).
 * Throws JinjaError (with the part's line) for a syntax error, an unsupported
 * construct or a render-time error; nothing is returned half-rendered.
 */
export function renderJinja(payload: string, vars: Dict): Rendered {
  const nl = payload.indexOf('\n');
  let body = nl === -1 ? '' : payload.slice(nl + 1);
  body = body.replace(/\r\n?/g, '\n');
  // Jinja drops one trailing newline; cloud-init adds it back.
  const trailing = body.endsWith('\n');
  if (trailing) body = body.slice(0, -1);
  const nodes = parse(lex(body, 2));
  const st: RenderState = { out: [], size: 0, missing: [] };
  missingSink = st.missing;
  try {
    run(nodes, new Scope(vars), st);
  } finally {
    missingSink = null;
  }
  return { text: st.out.join('') + (trailing ? '\n' : ''), missing: [...new Set(st.missing)] };
}

// ---------------------------------------------------------------- parts

export type Report = (level: Diag['level'], where: string, message: string) => void;

/** The instance data templates see, or null when it is not there (yet). */
export function readTemplateData(ctx: Context): unknown {
  const raw = ctx.files.readIfExists(TEMPLATE_DATA);
  if (raw === null) return null;
  try { return JSON.parse(asText(raw)) as unknown; } catch { return null; }
}

/**
 * Render one template part: the typed result (cloud-config or a #! script),
 * or null when it yields nothing to handle (each reason is reported).
 */
export function renderTemplatePart(part: Part, data: unknown, report: Report): Part | null {
  const where = `user-data ${part.filename} (${part.type})`;
  if (data === null || data === undefined) {
    report('error', where, `jinja template not rendered: no instance data at ${TEMPLATE_DATA}`);
    return null;
  }
  let rendered: Rendered;
  try {
    rendered = renderJinja(asText(part.body), templateVariables(data));
  } catch (e) {
    // Anything else (a template nested deeper than the stack) is refused too.
    report('error', where, e instanceof JinjaError
      ? `jinja template refused, line ${e.line}: ${e.message}; this part was not handled`
      : `jinja template refused: ${(e as Error).message}; this part was not handled`);
    return null;
  }
  if (rendered.missing.length) {
    report('warning', where, `could not render jinja template variables: ${rendered.missing.map((m) => `'${m}'`).join(', ')} (printed as ${MISSING_PREFIX}<name>)`);
  }
  if (rendered.text === '') return null;
  const body = utf8(rendered.text);
  const type = sniffType(body);
  if (type === null || !RENDERED_TYPES.has(type)) {
    report('warning', where, `jinja template ignored: it renders to ${type === null ? 'no known type' : `'${type}'`}; a template must render to #cloud-config or a #! script`);
    return null;
  }
  return { ...part, type, body };
}

/**
 * Parts with every '## template: jinja' part rendered and typed by its new
 * first line (the others unchanged); for boot (data from the root's
 * instance-data-sensitive.json) and plan (from the datasource found).
 */
export function renderTemplateParts(parts: Part[], data: unknown, report: Report): Part[] {
  const out: Part[] = [];
  for (const part of parts) {
    if (part.type !== JINJA_TYPE) { out.push(part); continue; }
    const r = renderTemplatePart(part, data, report);
    if (r) out.push(r);
  }
  return out;
}
