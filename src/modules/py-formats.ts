// The text formats cloud-init's Python writes for the configuration-management
// modules, byte for byte: PyYAML's block-style dump (salt's minion and grains
// files, puppet's csr_attributes.yaml), json.dumps (chef's firstboot.json)
// and ConfigParser (puppet.conf: read, changed, written back). Only what
// those files need: sorted keys, block collections, PyYAML's choice of plain,
// single- or double-quoted scalars and its folding of long lines.
import { resolveImplicit, TAG } from '../yaml/scalars.ts';
import { pyFloatRepr } from '../yaml/construct.ts';
import { isMapping } from '../yaml/index.ts';

// ---------------------------------------------------------------------------
// PyYAML's yaml.dump(default_flow_style=False)

const WIDTH = 80;

interface Analysis { multiline: boolean; plain: boolean; single: boolean }

/** PyYAML's Emitter.analyze_scalar, for block context with allow_unicode=False (flow indicators do not matter there). */
function analyze(s: string): Analysis {
  if (s === '') return { multiline: false, plain: false, single: true };
  let blockInd = false;
  let lineBreaks = false;
  let special = false;
  let spaceBreak = false;
  let breakSpace = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let prevSpace = false;
  let prevBreak = false;
  if (s.startsWith('---') || s.startsWith('...')) blockInd = true;
  let precededByWs = true;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const next = s[i + 1];
    const followedByWs = next === undefined || ' \t\n\r\x85\u2028\u2029\0'.includes(next);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockInd = true;
      if ('?:'.includes(ch)) { if (followedByWs) blockInd = true; }
      if (ch === '-' && followedByWs) blockInd = true;
    } else {
      if (ch === ':') { if (followedByWs) blockInd = true; }
      if (ch === '#' && precededByWs) blockInd = true;
    }
    const isBreak = '\n\x85\u2028\u2029'.includes(ch);
    if (isBreak) lineBreaks = true;
    if (!(ch === '\n' || (ch >= ' ' && ch <= '~'))) special = true;
    if (ch === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === s.length - 1) trailingSpace = true;
      if (prevBreak) breakSpace = true;
      prevSpace = true; prevBreak = false;
    } else if (isBreak) {
      if (i === 0) leadingBreak = true;
      if (i === s.length - 1) trailingBreak = true;
      if (prevSpace) spaceBreak = true;
      prevSpace = false; prevBreak = true;
    } else { prevSpace = false; prevBreak = false; }
    precededByWs = ' \t\n\r\x85\u2028\u2029\0'.includes(ch);
  }
  let plain = true;
  let single = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) plain = false;
  if (breakSpace) { plain = false; single = false; }
  if (spaceBreak || special) { plain = false; single = false; }
  if (lineBreaks) plain = false;
  if (blockInd) plain = false;
  return { multiline: lineBreaks, plain, single };
}

class Writer {
  out = '';
  column = 0;
  write(t: string): void {
    this.out += t;
    const nl = t.lastIndexOf('\n');
    this.column = nl < 0 ? this.column + t.length : t.length - nl - 1;
  }
  newline(indent: number): void { this.write(`\n${' '.repeat(indent)}`); }
}

/** A plain or single-quoted scalar, folding at a single space past the width, as PyYAML's write_plain/write_single_quoted. */
function writeFolded(w: Writer, s: string, indent: number, quote: boolean): void {
  if (quote) w.write("'");
  let i = 0;
  while (i < s.length) {
    const ch = s[i]!;
    if (ch === ' ') {
      let j = i;
      while (s[j] === ' ') j++;
      if (j - i === 1 && w.column > WIDTH && i !== 0 && j !== s.length) w.newline(indent);
      else w.write(s.slice(i, j));
      i = j;
    } else if (ch === '\n') {
      let j = i;
      while (s[j] === '\n') j++;
      // A single-quoted scalar folds: one line break is written as an empty line.
      w.write('\n'.repeat(j - i + 1));
      w.write(' '.repeat(indent));
      i = j;
    } else {
      let j = i;
      while (j < s.length && s[j] !== ' ' && s[j] !== '\n') j++;
      const chunk = s.slice(i, j);
      w.write(quote ? chunk.replace(/'/g, "''") : chunk);
      i = j;
    }
  }
  if (quote) w.write("'");
}

const ESCAPES: Record<string, string> = {
  '\0': '0', '\x07': 'a', '\b': 'b', '\t': 't', '\n': 'n', '\x0b': 'v', '\f': 'f', '\r': 'r', '\x1b': 'e',
  '"': '"', '\\': '\\', '\x85': 'N', '\xa0': '_', '\u2028': 'L', '\u2029': 'P',
};

function doubleQuoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ESCAPES[ch] !== undefined) out += `\\${ESCAPES[ch]}`;
    else if (code >= 0x20 && code <= 0x7e) out += ch;
    else if (code <= 0xff) out += `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
    else if (code <= 0xffff) out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += `\\U${code.toString(16).toUpperCase().padStart(8, '0')}`;
  }
  return `${out}"`;
}

function scalarText(v: unknown): { text: string; str: boolean } {
  if (v === null || v === undefined) return { text: 'null', str: false };
  if (typeof v === 'boolean') return { text: v ? 'true' : 'false', str: false };
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return { text: String(v), str: false };
    if (Number.isNaN(v)) return { text: '.nan', str: false };
    if (!Number.isFinite(v)) return { text: v > 0 ? '.inf' : '-.inf', str: false };
    const r = pyFloatRepr(v).toLowerCase();
    return { text: !r.includes('.') && r.includes('e') ? r.replace('e', '.0e') : r, str: false };
  }
  if (typeof v === 'bigint') return { text: String(v), str: false };
  return { text: String(v), str: true };
}

function writeScalar(w: Writer, v: unknown, indent: number, simpleKey: boolean): void {
  const { text, str } = scalarText(v);
  if (!str) { w.write(text); return; }
  const a = analyze(text);
  const implicit = resolveImplicit(text) === TAG.str;
  if (implicit && a.plain && !(simpleKey && a.multiline)) writeFolded(w, text, indent, false);
  else if (a.single && !(simpleKey && a.multiline)) writeFolded(w, text, indent, true);
  else w.write(doubleQuoted(text));
}

const isEmpty = (v: unknown) => (Array.isArray(v) && v.length === 0) || (isMapping(v) && Object.keys(v).length === 0);
const isCollection = (v: unknown) => (Array.isArray(v) || isMapping(v)) && !isEmpty(v);

type Place = 'top' | 'value' | 'item';

/** Start an entry of a collection at column `own`: on the '-' line for the first entry of a sequence item, else on a new line. */
function startEntry(w: Writer, own: number, first: boolean, place: Place): void {
  if (first && place === 'item') w.write(' '.repeat(Math.max(1, own - w.column)));
  else if (w.out !== '') w.newline(own);
  else w.write(' '.repeat(own));
}

/** A value after 'key:' or '-': a scalar on the same line, a collection below it (or on the '-' line). */
function writeValue(w: Writer, v: unknown, own: number, step: number, place: Place): void {
  if (isCollection(v)) { writeCollection(w, v, own, step, place); return; }
  w.write(' ');
  if (Array.isArray(v)) w.write('[]');
  else if (isMapping(v)) w.write('{}');
  else writeScalar(w, v, own + step, false);
}

/** `parent` is the column of the mapping or sequence holding it; PyYAML does not indent a sequence inside a mapping. */
function writeCollection(w: Writer, v: unknown, parent: number, step: number, place: Place): void {
  if (Array.isArray(v)) {
    const own = place === 'top' ? 0 : place === 'value' ? parent : parent + step;
    v.forEach((item, i) => {
      startEntry(w, own, i === 0, place);
      w.write('-');
      writeValue(w, item, own, step, 'item');
    });
    return;
  }
  const m = v as Record<string, unknown>;
  const own = place === 'top' ? 0 : parent + step;
  Object.keys(m).sort().forEach((key, i) => {
    startEntry(w, own, i === 0, place);
    writeScalar(w, key, own + step, true);
    w.write(':');
    writeValue(w, m[key], own, step, 'value');
  });
}

/**
 * yaml.dump(value, default_flow_style=False) as PyYAML writes it (sorted keys,
 * no unicode): `indent` 2 (yaml.dump's default) or 4 (cloud-init's
 * safeyaml.dumps, which also writes '---' and '...').
 */
export function pyYamlDump(value: unknown, opts: { indent?: number; explicit?: boolean } = {}): string {
  const step = opts.indent ?? 2;
  const w = new Writer();
  if (isCollection(value)) {
    writeCollection(w, value, 0, step, 'top');
    return `${opts.explicit ? '---\n' : ''}${w.out}\n${opts.explicit ? '...\n' : ''}`;
  }
  // A lone scalar: PyYAML ends a plain one with '...' (an open end) even without explicit_end.
  if (opts.explicit) w.write('--- ');
  if (Array.isArray(value)) w.write('[]');
  else if (isMapping(value)) w.write('{}');
  else writeScalar(w, value, step, false);
  return `${w.out}\n${opts.explicit || !isEmpty(value) ? '...\n' : ''}`;
}

/**
 * The value as cloud-init's config and final stages see it: they read the
 * cloud-config back from cloud-config.txt, which stage init wrote with
 * PyYAML's sorted keys, so every mapping's keys come in sorted order.
 */
export function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (!isMapping(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) out[k] = sortedKeys(v[k]);
  return out;
}

// ---------------------------------------------------------------------------
// Python's json.dumps (default separators, ensure_ascii)

export function pyJsonDumps(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pyJsonDumps).join(', ')}]`;
  if (isMapping(v)) return `{${Object.entries(v).map(([k, x]) => `${pyJsonString(k)}: ${pyJsonDumps(x)}`).join(', ')}}`;
  if (typeof v === 'string') return pyJsonString(v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return String(v);
  return 'null';
}

function pyJsonString(s: string): string {
  return JSON.stringify(s).replace(/[\x7f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// ---------------------------------------------------------------------------
// Python's ConfigParser (RawConfigParser: option names lowercased, '=' or ':')

export interface Ini { defaults: Map<string, string | null>; sections: Map<string, Map<string, string | null>> }

/** Read INI text as cloud-init reads puppet.conf: each line stripped on the left first; a line that is not an option is reported. */
export function readIni(text: string, problem: (line: number, why: string) => void): Ini {
  const ini: Ini = { defaults: new Map(), sections: new Map() };
  let current: Map<string, string | null> | null = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '').replace(/\s+$/, '');
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[(.+)\]/.exec(line);
    if (header) {
      const name = header[1]!;
      if (name === 'DEFAULT') current = ini.defaults;
      else current = ini.sections.get(name) ?? new Map();
      if (name !== 'DEFAULT') ini.sections.set(name, current);
      return;
    }
    const opt = /^(.*?)\s*([=:])\s*(.*)$/.exec(line);
    if (current === null) { problem(i + 1, 'an option before any [section]'); return; }
    if (!opt || opt[1] === '') { problem(i + 1, `not 'name = value': ${JSON.stringify(line.slice(0, 60))}`); return; }
    (current as Map<string, string | null>).set(opt[1]!.toLowerCase(), opt[3]!);
  });
  return ini;
}

/** ConfigParser.write: [DEFAULT] first when it has options, then each section, 'name = value', an empty line after each. */
export function writeIni(ini: Ini): string {
  let out = '';
  const section = (name: string, opts: Map<string, string | null>) => {
    out += `[${name}]\n`;
    for (const [k, v] of opts) out += v === null ? `${k}\n` : `${k} = ${v.replace(/\n/g, '\n\t')}\n`;
    out += '\n';
  };
  if (ini.defaults.size) section('DEFAULT', ini.defaults);
  for (const [name, opts] of ini.sections) section(name, opts);
  return out;
}

/** str() of a YAML scalar as Python prints it into an INI value (True/False, 8140, 1.5). */
export function pyStr(v: string | number | boolean): string {
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  return v;
}
