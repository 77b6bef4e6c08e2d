// The numbers of a boot, from the guest's own clocks:
// - boot epoch: the guest printed its wall clock and /proc/uptime at one
//   moment (E2E-CLOCK from runcmd, or the harness report), so
//   kernel start = now - uptime (uptime counts from the kernel's start);
// - ec2-init done: modules-final's `finished` in status.json, cross-checked
//   with the last "stage final: done" line of /var/log/ec2-init.log;
// - per stage: start/finished from status.json;
// - systemd's view: `systemd-analyze blame` lines and each unit's
//   ExecMainStart/ExitTimestampMonotonic (µs since boot) from the report.
import { parseReport, parseUnits } from './vm.ts';

interface StageJson { start: number | null; finished: number | null }
export interface Measured {
  /** Seconds from kernel start to the end of ec2-init's final stage (NaN when unknown). */
  bootToDone: number;
  summary: string;
  lines: string[];
}

const STAGES = ['init-local', 'init', 'modules-config', 'modules-final'] as const;

export function measure(consoleText: string, agentLog: string, status: { v1: Record<string, unknown> } | null): Measured {
  const text = consoleText.replace(/\r/g, '');
  const report = parseReport(text);
  let epoch = NaN;
  const clock = /E2E-CLOCK (\d+\.\d+) (\d+\.\d+)/.exec(text);
  if (report && Number.isFinite(report.now)) epoch = report.now - report.uptime;
  else if (clock) epoch = Number(clock[1]) - Number(clock[2]);
  const lines: string[] = [];
  const stage = (k: string): StageJson | undefined => status?.v1[k] as StageJson | undefined;
  for (const k of STAGES) {
    const s = stage(k);
    if (s?.start != null && s.finished != null) {
      lines.push(`stage ${k}: started ${(s.start - epoch).toFixed(2)} s after kernel start, took ${((s.finished - s.start) * 1000).toFixed(0)} ms`);
    }
  }
  const done = stage('modules-final')?.finished ?? NaN;
  const bootToDone = done - epoch;
  // The agent's own log: the last "stage final: done in X ms" line.
  const finalLine = agentLog.split('\n').filter((l) => /stage final: done/.test(l)).pop();
  if (finalLine) {
    const ts = Date.parse(finalLine.split(' ')[0]) / 1000;
    lines.push(`ec2-init.log: "${finalLine.slice(0, 120)}" at ${(ts - epoch).toFixed(2)} s after kernel start`);
  }
  const units = report?.units ?? parseUnits(text);
  {
    // The unit's process vs the stage inside it: the difference is the
    // executable's own start (loading it, node and V8 starting) and its exit.
    const stageOfUnit: Record<string, string> = {
      'ec2-init-local': 'init-local', 'ec2-init': 'init', 'ec2-init-config': 'modules-config', 'ec2-init-final': 'modules-final',
    };
    for (const [u, v] of Object.entries(units)) {
      if (!(v.startUs > 0 && v.exitUs > 0)) continue;
      const s = stage(stageOfUnit[u] ?? '');
      const inner = s?.start != null && s.finished != null
        ? `; stage inside it ${(s.start - epoch).toFixed(2)} → ${(s.finished - epoch).toFixed(2)} s (process start → stage start ${(s.start - epoch - v.startUs / 1e6).toFixed(2)} s)`
        : '';
      lines.push(`unit ${u}.service: process ${(v.startUs / 1e6).toFixed(2)} → ${(v.exitUs / 1e6).toFixed(2)} s after kernel start (${((v.exitUs - v.startUs) / 1e6).toFixed(2)} s), ${v.result}${inner}`);
    }
  }
  if (report) {
    const x = report.exec;
    if (x) lines.push(`ec2-init in the guest: reading its ${(x.size / 1e6).toFixed(0)} MB from disk ${x.readMs} ms; --version ${x.coldMs} ms with the page cache dropped, ${x.warmMs} ms warm (sh -c true: ${x.shMs} ms)`);
    for (const l of report.time) lines.push(`systemd-analyze time: ${l.trim()}`);
    for (const l of report.blame) lines.push(`systemd-analyze blame: ${l}`);
  } else {
    for (const m of text.matchAll(/E2E-RUNCMD-BLAME (.*)/g)) lines.push(`systemd-analyze blame (from runcmd, final stage still running): ${m[1].trim()}`);
  }
  const summary = Number.isFinite(bootToDone)
    ? `kernel start → ec2-init done (final stage finished): ${bootToDone.toFixed(2)} s`
    : 'kernel start → ec2-init done: unknown (no clock line or status.json)';
  return { bootToDone, summary, lines };
}
