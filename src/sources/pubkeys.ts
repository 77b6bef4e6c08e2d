// ssh public keys from metadata, in whatever shape the service gives them:
// one string (a key a line), a list of keys, or a mapping of names to a key
// or a list of keys (cloud-init's normalize_pubkey_data). Empty entries and
// anything that is not a string are dropped.

export function pubkeys(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/\r\n|\r|\n/).filter((k) => k.trim() !== '');
  if (Array.isArray(value)) return value.filter((k): k is string => typeof k === 'string' && k.trim() !== '');
  if (value && typeof value === 'object') {
    return Object.values(value as Record<string, unknown>).flatMap((v) => (typeof v === 'string' ? [v] : Array.isArray(v) ? v : []))
      .filter((k): k is string => typeof k === 'string' && k.trim() !== '');
  }
  return [];
}
