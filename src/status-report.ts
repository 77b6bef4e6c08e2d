// How `status` prints: one word (done, degraded, error, running, not
// started), the details with --long, or the whole record as JSON.
import { STAGE_KEY, stageOf, summarize, type Status } from './state/status.ts';
import { escapeControls } from './log.ts';
import { STAGES } from './types.ts';

export function formatStatus(status: Status | null, json: boolean, long: boolean, dead: string | null = null): string {
  const { outcome, exitCode } = summarize(status, dead);
  if (json) {
    return JSON.stringify({ status: outcome, exit_code: exitCode, ...(dead && { dead_stage: dead }), ...(status ?? {}) }, null, 2) + '\n';
  }
  let out = `status: ${outcome}\n`;
  if (dead) out += `error: ${dead}\n`;
  if (!long || status === null) return out;
  out += `datasource: ${status.v1.datasource ?? 'none'}\ninstance: ${status.v1.instance_id ?? 'none'}\n`;
  for (const stage of STAGES) {
    const s = stageOf(status, stage);
    const took = s.start !== null && s.finished !== null ? `${((s.finished - s.start) * 1000).toFixed(0)} ms` : s.start !== null ? 'running' : 'not run';
    out += `stage ${STAGE_KEY[stage]}: ${took}\n`;
    for (const e of s.errors) out += `  error: ${escapeControls(e)}\n`;
    for (const e of s.recoverable_errors) out += `  warning: ${escapeControls(e)}\n`;
  }
  return out;
}
