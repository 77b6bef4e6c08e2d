// Cloud-config validation: each module's schema for the keys it owns,
// unknown keys named (with the closest known key), keys of cloud-init
// modules ec2-init does not implement reported as such, deprecated keys
// explained — each problem with the line and column it comes from.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { Module, Schema } from '../modules/module.ts';
import { PYYAML_OPTIONS, yamlFailure, yamlTooBig } from '../userdata/yaml.ts';
import { CLOUD_INIT_KEYS } from './cloud-init-keys.ts';

export interface SchemaProblem {
  level: 'error' | 'warning';
  /** Dotted path of the offending value: 'write_files.0.permissions'. */
  path: string;
  message: string;
  line: number;
  column: number;
}

type Path = Array<string | number>;
interface Found { level: 'error' | 'warning'; path: Path; message: string; onKey?: boolean }

// Keys that are not any module's: merge control and the system config's own.
const GENERAL_KEYS = new Set(['merge_how', 'merge_type', 'datasource_list', 'datasource', 'system_info', 'default_user',
  'cloud_init_modules', 'cloud_config_modules', 'cloud_final_modules', 'datasource_search_deadline', 'launch-index', 'version']);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Uint8Array) return 'string'; // YAML !!binary: bytes, where cloud-init's schema says string
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: unknown, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
}

/** Problems of `value` against `schema`, found at `path`. */
export function checkValue(value: unknown, schema: Schema, path: Path): Found[] {
  const out: Found[] = [];
  if (schema.deprecated) out.push({ level: 'warning', path, message: `deprecated: ${schema.deprecated}` });
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeMatches(value, t))) {
      out.push({ level: 'error', path, message: `${JSON.stringify(value)} is not of type ${types.map((t) => `'${t}'`).join(', ')}` });
      return out;
    }
  }
  if (schema.enum && !schema.enum.some((e) => e === value)) {
    out.push({ level: 'error', path, message: `${JSON.stringify(value)} is not one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}` });
  }
  for (const alternatives of [schema.oneOf, schema.anyOf]) {
    if (!alternatives) continue;
    const results = alternatives.map((s) => checkValue(value, s, path).filter((f) => f.level === 'error'));
    if (!results.some((r) => r.length === 0)) {
      // The alternative that got furthest explains best what is wrong.
      const best = results.reduce((a, b) => (deepest(b) > deepest(a) ? b : a));
      out.push(...(deepest(best) > path.length ? best : [{ level: 'error' as const, path, message: `${JSON.stringify(value)} matches none of the allowed forms` }]));
    }
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) out.push({ level: 'error', path, message: `${value} is less than the minimum of ${schema.minimum}` });
    if (schema.maximum !== undefined && value > schema.maximum) out.push({ level: 'error', path, message: `${value} is more than the maximum of ${schema.maximum}` });
  }
  if (typeof value === 'string' && schema.pattern && !new RegExp(schema.pattern).test(value)) {
    out.push({ level: 'error', path, message: `${JSON.stringify(value)} does not match ${schema.pattern}` });
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) out.push({ level: 'error', path, message: `needs at least ${schema.minItems} item(s)` });
    if (schema.items) value.forEach((item, i) => out.push(...checkValue(item, schema.items!, [...path, i])));
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const req of schema.required ?? []) {
      if (!(req in obj)) out.push({ level: 'error', path, message: `'${req}' is a required property` });
    }
    for (const [k, v] of Object.entries(obj)) {
      const own = schema.properties?.[k];
      const pattern = Object.entries(schema.patternProperties ?? {}).find(([re]) => new RegExp(re).test(k))?.[1];
      const sub = own ?? pattern ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      if (sub) out.push(...checkValue(v, sub, [...path, k]));
      else if (schema.additionalProperties === false) {
        const hint = closest(k, Object.keys(schema.properties ?? {}));
        out.push({ level: 'error', path: [...path, k], onKey: true, message: `unknown key '${k}'${hint ? ` (did you mean '${hint}'?)` : ''}` });
      }
    }
  }
  return out;
}

function deepest(found: Found[]): number {
  return Math.max(-1, ...found.map((f) => f.path.length));
}

/** The known key nearest to `word` when it is a likely typo (edit distance ≤ 2), else null. */
function closest(word: string, known: string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const k of known) {
    const d = distance(word, k);
    if (d < bestDistance) { best = k; bestDistance = d; }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** Problems of a whole cloud-config (already parsed) against the modules' schemas. */
export function checkConfig(config: Record<string, unknown>, modules: readonly Module[]): Found[] {
  const owners = new Map<string, Module>();
  // Several modules may share a key (write_files, write_files_deferred): the one with its schema speaks.
  // A module owns the keys it runs on and the keys its schema describes (ssh runs on none).
  for (const m of modules) {
    for (const k of [...m.keys, ...Object.keys(m.schema ?? {})]) if (!owners.get(k)?.schema?.[k]) owners.set(k, m);
  }
  const out: Found[] = [];
  for (const [key, value] of Object.entries(config)) {
    const owner = owners.get(key);
    if (owner) {
      const schema = owner.schema?.[key];
      if (schema) out.push(...checkValue(value, schema, [key]));
    } else if (CLOUD_INIT_KEYS[key]) {
      out.push({ level: 'warning', path: [key], onKey: true, message: `'${key}' belongs to cloud-init's module ${CLOUD_INIT_KEYS[key]}, which ec2-init does not implement: ignored` });
    } else if (!GENERAL_KEYS.has(key)) {
      const hint = closest(key, [...owners.keys(), ...Object.keys(CLOUD_INIT_KEYS)]);
      out.push({ level: 'error', path: [key], onKey: true, message: `unknown key '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}` });
    }
  }
  return out;
}

/** Line and column (1-based) of the value at `path`, or of its key. */
function position(doc: Document, lines: LineCounter, path: Path, onKey: boolean): { line: number; col: number } {
  let node: unknown = doc.contents;
  let offset = (doc.contents as { range?: number[] } | null)?.range?.[0] ?? 0;
  for (const [i, seg] of path.entries()) {
    let next: unknown = undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair) {
        const last = i === path.length - 1;
        const keyRange = (pair.key as { range?: number[] }).range;
        if (last && onKey && keyRange) return lines.linePos(keyRange[0]!);
        next = pair.value ?? pair.key;
      }
    } else if (isSeq(node) && typeof seg === 'number') next = node.items[seg];
    const range = (next as { range?: number[] } | undefined)?.range;
    if (!range) break;
    node = next;
    offset = range[0]!;
  }
  return lines.linePos(offset);
}

export interface Checked {
  config: Record<string, unknown>;
  problems: SchemaProblem[];
}

/**
 * Parse a cloud-config document (YAML 1.1, as PyYAML reads it) and check it.
 * A YAML syntax error or a document that is not a mapping is one error
 * problem; the config is then empty.
 */
export function checkCloudConfigText(text: string, modules: readonly Module[]): Checked {
  const tooBig = yamlTooBig(text);
  if (tooBig) return { config: {}, problems: [{ level: 'error', path: '', message: `invalid YAML: ${tooBig}`, line: 1, column: 1 }] };
  const lines = new LineCounter();
  const doc = parseDocument(text, { ...PYYAML_OPTIONS, lineCounter: lines });
  const err = doc.errors[0];
  if (err) {
    const pos = lines.linePos(err.pos[0]);
    return { config: {}, problems: [{ level: 'error', path: '', message: `invalid YAML: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`, line: pos.line, column: pos.col }] };
  }
  let value: unknown;
  try {
    value = doc.toJS(PYYAML_OPTIONS) as unknown;
  } catch (e) {
    return { config: {}, problems: [{ level: 'error', path: '', message: `invalid YAML: ${yamlFailure(e)}`, line: 1, column: 1 }] };
  }
  if (value === null || value === undefined) return { config: {}, problems: [] };
  if (typeOf(value) !== 'object') {
    return { config: {}, problems: [{ level: 'error', path: '', message: `a cloud-config must be a mapping of keys to values, found ${typeOf(value)}`, line: 1, column: 1 }] };
  }
  const config = value as Record<string, unknown>;
  const problems = checkConfig(config, modules).map((f) => {
    const pos = position(doc, lines, f.path, f.onKey ?? false);
    return { level: f.level, path: f.path.join('.'), message: f.message, line: pos.line, column: pos.col };
  });
  return { config, problems };
}

/** "line 5, column 3: write_files.0.permissions: …" */
export function formatProblem(p: SchemaProblem): string {
  return `line ${p.line}, column ${p.column}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}
