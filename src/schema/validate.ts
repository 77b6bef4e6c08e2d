// Cloud-config validation: each module's schema for the keys it owns,
// unknown keys named (with the closest known key), keys of cloud-init
// modules ec2-init does not implement reported as such, deprecated keys
// explained — each problem with the line and column it comes from.
import type { Module, Schema } from '../modules/module.ts';
import { isMapping, parseYamlWithPositions, YamlError, type Located } from '../yaml/index.ts';
import { CLOUD_INIT_KEYS, NOT_ON_DEBIAN } from './cloud-init-keys.ts';

export interface SchemaProblem {
  /** 'info': worth a line (a key this image cannot act on), not a problem of the config. */
  level: 'error' | 'warning' | 'info';
  /** Dotted path of the offending value: 'write_files.0.permissions'. */
  path: string;
  message: string;
  line: number;
  column: number;
}

type Path = Array<string | number>;
interface Found { level: SchemaProblem['level']; path: Path; message: string; onKey?: boolean }

// Keys that are not any module's: merge control and the system config's own.
const GENERAL_KEYS = new Set(['merge_how', 'merge_type', 'datasource_list', 'datasource', 'system_info', 'default_user',
  'cloud_init_modules', 'cloud_config_modules', 'cloud_final_modules', 'datasource_search_deadline', 'launch-index', 'version',
  'output', 'systemd.credentials']);

/** A module list entry: a name, [name, frequency, args…] or {name, frequency, args} (cloud-init's _read_modules). */
const MODULE_LIST: Schema = {
  type: 'array',
  items: {
    oneOf: [
      { type: 'string' },
      { type: 'array', minItems: 1, items: { type: ['string', 'integer', 'boolean', 'object', 'array', 'null'] } },
      { type: 'object', required: ['name'], properties: { name: { type: 'string' }, frequency: { enum: ['always', 'once', 'once-per-instance'] } } },
      { type: 'null' },
    ],
  },
};
/** `output` (applied by modules/output.ts): a target, a [stdout, stderr] pair or {output, error}, per stage or for all. */
const OUTPUT_TARGET: Schema = { type: 'string' };
const OUTPUT_STREAMS: Schema = {
  oneOf: [
    OUTPUT_TARGET,
    { type: 'array', items: { type: ['string', 'null'] } },
    { type: 'object', additionalProperties: false, properties: { output: OUTPUT_TARGET, error: OUTPUT_TARGET } },
  ],
};
const OUTPUT_SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: { all: OUTPUT_STREAMS, init: OUTPUT_STREAMS, config: OUTPUT_STREAMS, final: OUTPUT_STREAMS },
};

const GENERAL_SCHEMAS: Record<string, Schema> = {
  output: OUTPUT_SCHEMA,
  // systemd-imds's (systemd ≥ 261) credentials, in the JSON user-data it shares with ec2-init (userdata/sniff.ts):
  // systemd imports them, ec2-init leaves them alone. Checked as systemd-imds checks each entry.
  'systemd.credentials': {
    type: 'array',
    items: {
      type: 'object', required: ['name'],
      properties: { name: { type: 'string' }, text: { type: 'string' }, data: { type: 'string' }, encrypted: { type: 'string' } },
    },
  },
  cloud_init_modules: MODULE_LIST,
  cloud_config_modules: MODULE_LIST,
  cloud_final_modules: MODULE_LIST,
};

/** The one line for a key of a cloud-init module a Debian image has no use for. */
export function notApplicable(key: string, owner: string): string {
  return `'${key}' (cloud-init's ${owner}) is not applicable on this image: ${NOT_ON_DEBIAN[owner]}; ignored`;
}

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
    } else if (GENERAL_KEYS.has(key)) {
      const schema = GENERAL_SCHEMAS[key];
      if (schema) out.push(...checkValue(value, schema, [key]));
    } else if (CLOUD_INIT_KEYS[key] && NOT_ON_DEBIAN[CLOUD_INIT_KEYS[key]!]) {
      const owner = CLOUD_INIT_KEYS[key]!;
      out.push({ level: 'info', path: [key], onKey: true, message: notApplicable(key, owner) });
    } else if (CLOUD_INIT_KEYS[key]) {
      out.push({ level: 'warning', path: [key], onKey: true, message: `'${key}' belongs to cloud-init's module ${CLOUD_INIT_KEYS[key]}, which ec2-init does not implement: ignored` });
    } else {
      const hint = closest(key, [...owners.keys(), ...Object.keys(CLOUD_INIT_KEYS)]);
      out.push({ level: 'error', path: [key], onKey: true, message: `unknown key '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}` });
    }
  }
  return out;
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
  let doc: Located;
  try {
    doc = parseYamlWithPositions(text);
  } catch (e) {
    if (!(e instanceof YamlError)) throw e;
    return { config: {}, problems: [{ level: 'error', path: '', message: `invalid YAML: ${e.reason}`, line: e.line, column: e.column }] };
  }
  const value = doc.value;
  if (value === null || value === undefined) return { config: {}, problems: [] };
  if (!isMapping(value)) {
    return { config: {}, problems: [{ level: 'error', path: '', message: `a cloud-config must be a mapping of keys to values, found ${typeOf(value)}`, line: 1, column: 1 }] };
  }
  const config = value as Record<string, unknown>;
  const problems = checkConfig(config, modules).map((f) => {
    const pos = doc.locate(f.path, f.onKey ?? false);
    return { level: f.level, path: f.path.join('.'), message: f.message, line: pos.line, column: pos.column };
  });
  return { config, problems };
}

/** "line 5, column 3: write_files.0.permissions: …" */
export function formatProblem(p: SchemaProblem): string {
  return `line ${p.line}, column ${p.column}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}
