// YAML as cloud-init reads it (PyYAML safe_load, YAML 1.1: yes/no/on/off are
// booleans, duplicate keys allowed with the last one winning, merge keys).
// The `yaml` package is loaded on first use only: most user-data never needs
// it while being decoded (archives and launch-index keys do).
import type { ParseOptions, DocumentOptions, SchemaOptions, ToJSOptions } from 'yaml';

type YamlModule = typeof import('yaml');
let mod: YamlModule | null = null;

async function yamlModule(): Promise<YamlModule> {
  mod ??= await import('yaml');
  return mod;
}

const BOOL_TAG = 'tag:yaml.org,2002:bool';
// PyYAML's bool resolver: unlike the yaml package's 1.1 schema, y/Y/n/N stay strings.
const PY_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const PY_FALSE = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/;

type Tag = { tag: string; test?: RegExp; identify?: (v: unknown) => boolean };

/** Options for the `yaml` package that make it read YAML the way PyYAML does. */
export const PYYAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions & ToJSOptions = {
  version: '1.1',
  uniqueKeys: false,
  merge: true,
  maxAliasCount: 1000,
  prettyErrors: true,
  customTags: (tags) => (tags as unknown as Tag[]).map((t) => {
    if (t.tag !== BOOL_TAG || t.test === undefined || t.identify === undefined) return t;
    return { ...t, test: t.identify(true) ? PY_TRUE : PY_FALSE };
  }) as unknown as typeof tags,
};

/** Parse one YAML document; throws with line and column on a syntax error, and for documents past the limits. */
export async function loadYaml(text: string): Promise<unknown> {
  const tooBig = yamlTooBig(text);
  if (tooBig) throw new Error(tooBig);
  const Y = await yamlModule();
  try { return Y.parse(text, PYYAML_OPTIONS); } catch (e) {
    if (e instanceof RangeError || /alias count/i.test((e as Error).message)) throw new Error(yamlFailure(e));
    throw e;
  }
}

/** Most nodes a YAML document may have: a real cloud-config has a few thousand. */
export const MAX_YAML_NODES = 50_000;
/** Deepest flow nesting ([ and {) a document may have. */
export const MAX_YAML_DEPTH = 200;

/**
 * Why `text` is past the limits ("more than 100000 nodes…"), or null. A cheap
 * upper bound, counted before the parser spends memory on the document: one
 * node per line and per ',', '[' or '{' — except inside block scalars (the
 * lines of a `|` or `>` value are one node, however many), so a large file
 * in write_files costs nothing here.
 */
export function yamlTooBig(text: string): string | null {
  let nodes = 0;
  let depth = 0;
  let blockIndent = -1; // indentation of the line that opened a block scalar; -1: not in one
  let pos = 0;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    let indent = 0;
    while (pos + indent < end && text.charCodeAt(pos + indent) === 32) indent++;
    const blank = pos + indent >= end || text.charCodeAt(pos + indent) === 13;
    if (blockIndent >= 0 && (blank || indent > blockIndent)) { pos = end + 1; continue; }
    blockIndent = -1;
    nodes++;
    let quote = 0;
    for (let i = pos + indent; i < end; i++) {
      const c = text.charCodeAt(i);
      if (quote !== 0) { if (c === quote) quote = 0; continue; }
      if (c === 34 || c === 39) quote = c; // inside quotes, brackets are text (a rough rule: it only has to bound)
      else if (c === 44) nodes++;
      else if (c === 91 || c === 123) { nodes++; if (++depth > MAX_YAML_DEPTH) return `nested more than ${MAX_YAML_DEPTH} levels deep ([ and {): flatten the document`; }
      else if (c === 93 || c === 125) depth = Math.max(0, depth - 1);
      else if (c === 35 && (i === pos + indent || text.charCodeAt(i - 1) === 32)) break; // a comment
    }
    if (nodes > MAX_YAML_NODES) return `more than ${MAX_YAML_NODES} nodes: split the document or shorten its lists`;
    // A line ending in a block scalar indicator (| or >, with chomping/indent flags, maybe a comment) opens one.
    const line = text.slice(pos + indent, end).replace(/\s+#.*$/, '').trimEnd();
    if (/(^|[\s:-])[|>][+-]?\d?[+-]?$/.test(line)) blockIndent = indent;
    pos = end + 1;
  }
  return null;
}

/** Why building the value failed, in words (the parser throws for aliases it will not expand, and for nesting past the stack). */
export function yamlFailure(e: unknown): string {
  if (e instanceof RangeError) return 'nested too deeply (stack exhausted): flatten the document';
  const message = (e as Error).message ?? String(e);
  if (/alias count/i.test(message)) return 'too many aliases (more than 1000 expansions: a "billion laughs" document?)';
  return message.split('\n')[0]!;
}

/** A YAML mapping as parsed: a plain object (not an array, Date, Uint8Array, Set or Map). */
export function isMapping(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}
