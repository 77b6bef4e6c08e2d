// Plain data (mappings, lists, strings, numbers, booleans, null) as block
// YAML, the way PyYAML's safe_dump(default_flow_style=False) lays it out:
// for `status --format yaml` and other output meant for people and tools.
// Strings are quoted whenever a plain scalar could read back as something
// else (yes, 010, null, a leading '-', ': ' inside…).

const PLAIN = /^[A-Za-z_/.][A-Za-z0-9_ ./()+,@=-]*$/;
const RESERVED = /^(?:y|n|yes|no|on|off|true|false|null|~)$/i;

function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : v > 0 ? '.inf' : v < 0 ? '-.inf' : '.nan';
  const s = String(v);
  if (s !== '' && PLAIN.test(s) && !RESERVED.test(s) && !s.endsWith(' ') && !/[:#] |: |\s#/.test(s)) return s;
  return `'${s.replace(/'/g, "''").replace(/\n/g, '\n\n')}'`;
}

function emit(v: unknown, indent: number, out: string[], lead: string): void {
  const pad = ' '.repeat(indent);
  if (Array.isArray(v)) {
    if (v.length === 0) { out.push(`${lead}[]`); return; }
    if (lead) out.push(lead.trimEnd());
    for (const item of v) {
      if (item && typeof item === 'object' && Object.keys(item).length) {
        const sub: string[] = [];
        emit(item, indent + 2, sub, '');
        out.push(`${pad}- ${sub[0]!.trimStart()}`, ...sub.slice(1));
      } else out.push(`${pad}- ${scalarOrEmpty(item)}`);
    }
    return;
  }
  if (v && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    if (keys.length === 0) { out.push(`${lead}{}`); return; }
    if (lead) out.push(lead.trimEnd());
    for (const k of keys) {
      const val = (v as Record<string, unknown>)[k];
      if (val && typeof val === 'object' && (Array.isArray(val) ? val.length : Object.keys(val).length)) {
        emit(val, Array.isArray(val) ? indent : indent + 2, out, `${pad}${scalar(k)}:`);
      } else out.push(`${pad}${scalar(k)}: ${scalarOrEmpty(val)}`);
    }
    return;
  }
  out.push(`${lead}${scalar(v)}`);
}

function scalarOrEmpty(v: unknown): string {
  if (Array.isArray(v)) return '[]';
  if (v && typeof v === 'object') return '{}';
  return scalar(v);
}

export function toBlockYaml(value: unknown): string {
  const out: string[] = [];
  emit(value, 0, out, '');
  return `${out.join('\n')}\n`;
}
