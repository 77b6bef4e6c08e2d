// Merging of cloud-config parts. This first version: later parts win,
// dictionaries merge recursively (cloud-init's dict(replace)). Merge-Type
// headers and merge_how are added in issue 3.

export type Config = Record<string, unknown>;

function isDict(v: unknown): v is Config {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Merge `next` into `base` (neither is modified) and return the result. */
export function mergeConfig(base: Config, next: Config, _mergeType?: string): Config {
  const out: Config = { ...base };
  for (const [key, value] of Object.entries(next)) {
    if (key === 'merge_how' || key === 'merge_type') continue;
    out[key] = isDict(out[key]) && isDict(value) ? mergeConfig(out[key], value) : value;
  }
  return out;
}
