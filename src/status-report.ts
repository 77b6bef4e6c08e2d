// How `status` prints: one word (done, degraded, error, running, not
// started), the details with --long, or the whole record as JSON.
import { STAGE_KEY, stageOf, summarize, type Status } from './state/status.ts';
import { STAGES } from './types.ts';

export function formatStatus(status: Status | null, json: boolean, long: boolean): string {
  const { outcome, exitCode } = summarize(status);
  if (json) {
    return JSON.stringify({ status: outcome, exit_code: exitCode, ...(status ?? {}) }, null, 2) + '\n';
  }
  let out = `status: ${outcome}\n`;
  if (!long || status === null) return out;
  out += `datasource: ${status.v1.datasource ?? 'none'}\ninstance: ${status.v1.instance_id ?? 'none'}\n`;
  for (const stage of STAGES) {
    const s = stageOf(status, stage);
    const took = s.start !== null && s.finished !== null ? `${((s.finished - s.start) * 1000).toFixed(0)} ms` : s.start !== null ? 'running' : 'not run';
    out += `stage ${STAGE_KEY[stage]}: ${took}\n`;
    for (const e of s.errors) out += `  error: ${e}\n`;
    for (const e of s.recoverable_errors) out += `  warning: ${e}\n`;
  }
  return out;
}
