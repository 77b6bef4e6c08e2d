// How `status` prints — exactly as cloud-init 25's `cloud-init status` does,
// so the scripts and tools written for it (Packer, Terraform, Ansible's
// cloud_init_data_facts) read ec2-init unchanged: "status: done", --long's
// block, --format json with sorted keys (and ec2-init's `problems`: each
// error and warning as a record), --format yaml.
import { escapeControls } from '../log.ts';
import { summarize, type Status } from '../state/status.ts';
import { toBlockYaml } from '../config/yaml-emit.ts';
import { fromBootProblem } from '../schema/problems.ts';
import type { BootCode } from '../state/enabled.ts';

export type StatusFormat = 'tabular' | 'json' | 'yaml';

/** "DataSourceNoCloud [seed=…]" → "nocloud", as cloud-init reports it. */
function shortDatasource(ds: string | null): string {
  return (ds ?? '').split(' ')[0]!.toLowerCase().replace('datasource', '');
}

/** strftime("%a, %d %b %Y %H:%M:%S %z", gmtime(t)). */
function lastUpdate(seconds: number): string {
  const d = new Date(seconds * 1000);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${day}, ${p(d.getUTCDate())} ${mon} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** The record cloud-init's status prints (its details_dict). */
export function statusDetails(status: Status | null, dead: string | null, boot: BootCode): { details: Record<string, unknown>; exitCode: number } {
  const s = summarize(status, dead, !boot.enabled);
  const v1 = { ...(status?.v1 ?? {}) } as Record<string, unknown>;
  let latest = 0;
  for (const v of Object.values(v1)) {
    if (v && typeof v === 'object') {
      const st = v as { start?: number | null; finished?: number | null };
      latest = Math.max(latest, st.start ?? 0, st.finished ?? 0);
    }
  }
  const datasource = (v1['datasource'] as string | null | undefined) ?? null;
  delete v1['datasource'];
  const detail = dead ?? (datasource ? datasource : v1['stage'] ? `Running in stage: ${String(v1['stage'])}` : boot.reason);
  return {
    details: {
      datasource: shortDatasource(datasource),
      boot_status_code: boot.code,
      status: s.status,
      extended_status: s.extended,
      detail,
      errors: s.errors,
      recoverable_errors: s.warnings,
      last_update: latest ? lastUpdate(latest) : '',
      ...v1,
    },
    exitCode: s.exitCode,
  };
}

export function formatStatus(details: Record<string, unknown>, format: StatusFormat, long: boolean): string {
  if (format === 'json') {
    // ec2-init's own key: each problem as a record (schema/problems.ts), the same records `schema --format json` gives.
    const errors = details['errors'] as string[];
    const warnings = details['recoverable_errors'] as Record<string, string[]>;
    const problems = [
      ...errors.map((e) => fromBootProblem('error', e)),
      ...Object.values(warnings).flat().map((w) => fromBootProblem('warning', w)),
    ];
    return `${pythonJson({ ...details, problems })}\n`;
  }
  if (format === 'yaml') return toBlockYaml(details);
  let out = `status: ${String(details['status'])}\n`;
  if (!long) return out;
  const errors = details['errors'] as string[];
  const warnings = details['recoverable_errors'] as Record<string, string[]>;
  const oneLine = (e: string) => escapeControls(e.replace(/\n/g, ' '));
  out += `extended_status: ${String(details['extended_status'])}\n`;
  out += `boot_status_code: ${String(details['boot_status_code'])}\n`;
  if (details['last_update']) out += `last_update: ${String(details['last_update'])}\n`;
  out += `detail: ${escapeControls(String(details['detail']))}\n`;
  out += `errors:${errors.length ? errors.map((e) => `\n\t- ${oneLine(e)}`).join('') : ' []'}\n`;
  const levels = Object.entries(warnings);
  out += `recoverable_errors:${levels.length ? `\n${levels.map(([k, v]) => `${k}:${v.map((e) => `\n\t- ${oneLine(e)}`).join('')}`).join('\n')}` : ' {}'}\n`;
  return out;
}

/**
 * JSON as Python's json.dumps(x, indent=2, sort_keys=True, separators=(",", ": "))
 * writes it (keys sorted at every level, non-ASCII escaped), so a byte-for-byte
 * comparison with cloud-init's output holds.
 */
export function pythonJson(value: unknown, indent = 2): string {
  const walk = (v: unknown, depth: number): string => {
    const pad = ' '.repeat(indent * (depth + 1));
    const end = ' '.repeat(indent * depth);
    if (Array.isArray(v)) return v.length ? `[\n${v.map((x) => pad + walk(x, depth + 1)).join(',\n')}\n${end}]` : '[]';
    if (v && typeof v === 'object') {
      const keys = Object.keys(v).sort();
      return keys.length ? `{\n${keys.map((k) => `${pad}${ascii(k)}: ${walk((v as Record<string, unknown>)[k], depth + 1)}`).join(',\n')}\n${end}}` : '{}';
    }
    if (typeof v === 'string') return ascii(v);
    if (v === undefined) return 'null';
    return JSON.stringify(v);
  };
  return walk(value, 0);
}

function ascii(s: string): string {
  return JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
