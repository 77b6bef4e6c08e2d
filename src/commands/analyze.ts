// `analyze show` (each stage and its modules, in order, with their times)
// and `analyze blame` (modules, slowest first), read from the log of the
// last boot in /var/log/ec2-init.log.
import type { Files } from '../host/files.ts';
import { layout } from '../state/layout.ts';

interface Timing { stage: string; name: string; ms: number }

function lastBoot(files: Files): Timing[] {
  const lines = (files.readTextIfExists(layout.log) ?? '').split('\n');
  // The last boot starts at the last 'stage init-local: start' (or the first line).
  let start = 0;
  lines.forEach((l, i) => { if (/ stage init-local: start$/.test(l)) start = i; });
  const out: Timing[] = [];
  let stage = '';
  for (const line of lines.slice(start)) {
    const s = / stage ([\w-]+): (start|done in ([\d.]+) ms)/.exec(line);
    if (s) {
      stage = s[1]!;
      if (s[3]) out.push({ stage, name: `stage ${stage}`, ms: Number(s[3]) });
      continue;
    }
    const m = / module (\w+): (?:done|failed) in ([\d.]+) ms/.exec(line);
    if (m) out.push({ stage, name: m[1]!, ms: Number(m[2]) });
  }
  return out;
}

export function analyze(files: Files, what: string): string {
  const timings = lastBoot(files);
  if (timings.length === 0) return `no boot recorded in ${layout.log}\n`;
  const modules = timings.filter((t) => !t.name.startsWith('stage '));
  if (what === 'blame') {
    return [...modules].sort((a, b) => b.ms - a.ms)
      .map((t) => `${t.ms.toFixed(1).padStart(9)} ms  ${t.name} (${t.stage})`).join('\n') + '\n';
  }
  // The log has each stage's total after its modules: print the stage first.
  return timings.filter((t) => t.name.startsWith('stage ')).map((st) =>
    `${st.name}: ${st.ms.toFixed(1)} ms\n` +
    modules.filter((m) => m.stage === st.stage).map((m) => `  ${m.name}: ${m.ms.toFixed(1)} ms\n`).join('')).join('');
}
