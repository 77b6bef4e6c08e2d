// ssh public keys from a datasource's meta-data, in any shape cloud-init
// accepts (its normalize_pubkey_data): one string of lines, a list, or a
// mapping of names to a key or a list of keys.

export function publicKeysOf(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/\r?\n/).filter((k) => k.trim() !== '');
  if (Array.isArray(value)) return value.filter((k) => typeof k === 'string' && k !== '') as string[];
  if (value && typeof value === 'object') {
    return Object.values(value).flatMap((v) => (typeof v === 'string' ? [v] : Array.isArray(v) ? v : []))
      .filter((k): k is string => typeof k === 'string' && k !== '');
  }
  return [];
}
