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

/** Parse one YAML document; throws with line and column on a syntax error. */
export async function loadYaml(text: string): Promise<unknown> {
  const Y = await yamlModule();
  return Y.parse(text, PYYAML_OPTIONS);
}

/** A YAML mapping as parsed: a plain object (not an array, Date, Buffer, Set or Map). */
export function isMapping(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}
