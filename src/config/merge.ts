// Merging of cloud-config parts, exactly as cloud-init's mergers do it
// (cloudinit/mergers/{__init__,m_dict,m_list,m_str}.py and the cloud-config
// handler):
// - a part's mergers come from its `merge_how` key (else `merge_type`), then
//   from its Merge-Type header (X-Merge-Type when Merge-Type is absent);
//   with none at all the handler's default `dict(replace)+list()+str()` applies;
// - a merge is dispatched on the type of the value merged *into*: the first
//   merger of that kind wins (so a part's own merge_how beats its header);
// - dict(): no_replace (default) | replace, recurse_array/recurse_list,
//   recurse_str, allow_delete (a null deletes); dicts always recurse;
// - list(): replace (default) | append | prepend | no_replace, recurse_array,
//   recurse_str, recurse_dict (index by index);
// - str(): append, else the new string replaces;
// - anything else (numbers, booleans, null) keeps the old value when merged into.
// A part cloud-init would fail to merge (bad merger spec, a string appended
// to a number, a config that is not a mapping) leaves the result unchanged:
// cloud-init logs it and skips that part.

import { isMapping as isDict } from '../yaml/index.ts';

export type Config = Record<string, unknown>;

/** One merger as parsed: its kind and its options. */
export interface MergerSpec { name: string; opts: string[] }

/** The handler's default when a part names no mergers. */
export const DEFAULT_CLOUD_CONFIG_MERGE = 'dict(replace)+list()+str()';

const NAME_MATCH = /^([a-zA-Z_][A-Za-z0-9_]*)\((.*?)\)$/s;

/** Parse 'dict(replace)+list(append)' the way cloud-init does; throws on a malformed entry. */
export function parseMergeString(mergeHow: string): MergerSpec[] {
  const out: MergerSpec[] = [];
  for (let name of mergeHow.split('+')) {
    name = name.toLowerCase().trim().replaceAll('-', '_');
    if (name === '') continue;
    const m = NAME_MATCH.exec(name);
    if (m === null) throw new Error(`Matcher identifier '${name}' is not in the right format`);
    const opts = m[2]!.trim().split(',').map((o) => o.trim().toLowerCase()).filter((o) => o !== '');
    out.push({ name: m[1]!, opts });
  }
  return out;
}

/** Remove merge_how (else merge_type) from `cfg` and parse it. */
function extractFromConfig(cfg: Config): MergerSpec[] {
  let raw: unknown = null;
  if (Object.hasOwn(cfg, 'merge_how')) { raw = cfg['merge_how']; delete cfg['merge_how']; }
  if (raw === null || raw === undefined) {
    raw = null;
    if (Object.hasOwn(cfg, 'merge_type')) { raw = cfg['merge_type']; delete cfg['merge_type']; }
  }
  if (raw === null || raw === undefined) return [];
  if (typeof raw === 'string') return parseMergeString(raw);
  if (!Array.isArray(raw)) throw new Error(`merge_how must be a string or a list, not ${pyType(raw)}`);
  const out: MergerSpec[] = [];
  for (const m of raw) {
    let name: unknown;
    let opts: unknown;
    if (isDict(m)) {
      if (!Object.hasOwn(m, 'name') || !Object.hasOwn(m, 'settings')) throw new Error('a merge_how entry needs name and settings');
      name = typeof m['name'] === 'string' ? m['name'].replaceAll('-', '_').trim() : m['name'];
      opts = m['settings'];
    } else if (Array.isArray(m) && m.length > 0) {
      name = m[0];
      opts = m.slice(1);
    } else {
      throw new Error(`merge_how entry ${JSON.stringify(m)} is not understood`);
    }
    if (name === '' || name === null || name === undefined) continue;
    if (typeof name !== 'string') throw new Error('merge_how entry name must be a string');
    if (!Array.isArray(opts)) throw new Error(`settings of merger '${name}' must be a list`);
    out.push({ name, opts: opts.map((o) => String(o)) });
  }
  return out;
}

// ---- the mergers --------------------------------------------------------------

interface Merger {
  onDict?: (value: Config, mergeWith: unknown) => unknown;
  onList?: (value: unknown[], mergeWith: unknown) => unknown;
  onStr?: (value: string, mergeWith: unknown) => unknown;
}

class Lookup {
  readonly mergers: Merger[] = [];
  merge(source: unknown, mergeWith: unknown): unknown {
    if (isDict(source)) {
      const m = this.mergers.find((x) => x.onDict !== undefined);
      return m ? m.onDict!(source, mergeWith) : source;
    }
    if (Array.isArray(source)) {
      const m = this.mergers.find((x) => x.onList !== undefined);
      return m ? m.onList!(source, mergeWith) : source;
    }
    if (typeof source === 'string') {
      const m = this.mergers.find((x) => x.onStr !== undefined);
      return m ? m.onStr!(source, mergeWith) : source;
    }
    return source;
  }
}

function dictMerger(root: Lookup, opts: string[]): Merger {
  const method = opts.includes('replace') ? 'replace' : 'no_replace';
  const recurseStr = opts.includes('recurse_str');
  const recurseArray = opts.includes('recurse_array') || opts.includes('recurse_list');
  const allowDelete = opts.includes('allow_delete');
  const sameKey = (oldV: unknown, newV: unknown): unknown => {
    if (method === 'replace') return newV;
    if (Array.isArray(newV) && recurseArray) return root.merge(oldV, newV);
    if (typeof newV === 'string' && recurseStr) return root.merge(oldV, newV);
    if (isDict(newV)) return root.merge(oldV, newV);
    return oldV;
  };
  return {
    onDict(value, mergeWith) {
      if (!isDict(mergeWith)) return value;
      const out: Config = { ...value };
      for (const [k, v] of Object.entries(mergeWith)) {
        if (Object.hasOwn(out, k)) {
          if (v === null && allowDelete) delete out[k];
          else setKey(out, k, sameKey(out[k], v));
        } else setKey(out, k, v);
      }
      return out;
    },
  };
}

function listMerger(root: Lookup, opts: string[]): Merger {
  const method = (['append', 'prepend', 'replace', 'no_replace'] as const).find((m) => opts.includes(m)) ?? 'replace';
  const recurseStr = opts.includes('recurse_str');
  const recurseDict = opts.includes('recurse_dict');
  const recurseArray = opts.includes('recurse_array') || opts.includes('recurse_list');
  const sameIndex = (oldV: unknown, newV: unknown): unknown => {
    if (method === 'no_replace') return oldV;
    if (Array.isArray(newV) && recurseArray) return root.merge(oldV, newV);
    if (typeof newV === 'string' && recurseStr) return root.merge(oldV, newV);
    if (isDict(newV) && recurseDict) return root.merge(oldV, newV);
    return newV;
  };
  return {
    onList(value, mergeWith) {
      if (method === 'replace' && !Array.isArray(mergeWith)) return mergeWith;
      if (method === 'prepend') return [...pyIter(mergeWith), ...value];
      if (method === 'append') return [...value, ...pyIter(mergeWith)];
      const items = pyIter(mergeWith);
      if (!Array.isArray(mergeWith) && typeof mergeWith !== 'string' && Math.min(value.length, items.length) > 0) {
        throw new Error(`cannot index ${pyType(mergeWith)} while merging a list`); // Python: KeyError
      }
      const out = [...value];
      const common = Math.min(out.length, items.length);
      for (let i = 0; i < common; i++) out[i] = sameIndex(out[i], items[i]);
      return out;
    },
  };
}

function strMerger(opts: string[]): Merger {
  const append = opts.includes('append');
  return {
    onStr(value, mergeWith) {
      if (!append) return mergeWith;
      if (typeof mergeWith !== 'string') throw new Error(`cannot append ${pyType(mergeWith)} to a string`);
      return value + mergeWith;
    },
  };
}

function construct(specs: MergerSpec[]): Lookup {
  const root = new Lookup();
  for (const { name, opts } of specs) {
    const kind = name.startsWith('m_') ? name.slice(2) : name;
    if (kind === 'dict') root.mergers.push(dictMerger(root, opts));
    else if (kind === 'list') root.mergers.push(listMerger(root, opts));
    else if (kind === 'str') root.mergers.push(strMerger(opts));
    else throw new Error(`Could not find merger module named 'm_${kind}'`);
  }
  return root;
}

// ---- the public functions ---------------------------------------------------

export interface MergeResult { config: Config; error?: string }

/**
 * Merge the cloud-config `next` into `base` as cloud-init's cloud-config
 * handler does; `mergeType` is the part's Merge-Type header. Neither input
 * is modified. When cloud-init would skip the part, `config` is `base`
 * (unchanged) and `error` says why.
 */
export function tryMergeConfig(base: Config, next: unknown, mergeType?: string): MergeResult {
  try {
    if (!isDict(next)) throw new Error(`cloud-config is a ${pyType(next)}, not a mapping`);
    const payload: Config = { ...next };
    const specs = [...extractFromConfig(payload), ...parseMergeString(mergeType ?? '')];
    const merger = construct(specs.length > 0 ? specs : parseMergeString(DEFAULT_CLOUD_CONFIG_MERGE));
    const merged = merger.merge(base, payload);
    return { config: isDict(merged) ? merged : base };
  } catch (e) {
    return { config: base, error: (e as Error).message };
  }
}

/** Merge `next` into `base` (see tryMergeConfig); a part cloud-init would skip leaves `base` unchanged. */
export function mergeConfig(base: Config, next: Config, mergeType?: string): Config {
  return tryMergeConfig(base, next, mergeType).config;
}

/** The mergers' own default, used by mergeManyDicts: earlier values win, dicts recurse. */
export const DEFAULT_MERGE = 'list()+dict()+str()';

/**
 * cloud-init's util.mergemanydict: merge configs where the FIRST has the
 * highest priority (system config: cloud.cfg.d files in reverse name order,
 * user config before system config). Each source's merge_how is honoured,
 * else list()+dict()+str(): keys already present are kept, mappings are
 * merged recursively. Sources that are empty or not mappings are skipped;
 * inputs are not modified.
 */
export function mergeManyDicts(sources: readonly unknown[], reverse = false): Config {
  const list = reverse ? [...sources].reverse() : sources;
  let merged: Config = {};
  for (const src of list) {
    if (!isDict(src) || Object.keys(src).length === 0) continue;
    try {
      const cfg: Config = { ...src };
      const specs = extractFromConfig(cfg);
      const out = construct(specs.length > 0 ? specs : parseMergeString(DEFAULT_MERGE)).merge(merged, cfg);
      if (isDict(out)) merged = out;
    } catch {
      // cloud-init would raise here; a source that cannot be merged is left out.
    }
  }
  return merged;
}

// ---- helpers ----------------------------------------------------------------

function setKey(obj: Config, k: string, v: unknown): void {
  Object.defineProperty(obj, k, { value: v, writable: true, enumerable: true, configurable: true });
}

/** Python's iteration of a value being extended into a list. */
function pyIter(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return Array.from(v);
  if (isDict(v)) return Object.keys(v);
  throw new Error(`'${pyType(v)}' object is not iterable`);
}

function pyType(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (Array.isArray(v)) return 'list';
  if (isDict(v)) return 'dict';
  if (typeof v === 'string') return 'str';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  return typeof v;
}
