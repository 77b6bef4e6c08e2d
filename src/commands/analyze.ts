// `analyze show` (each stage and its modules, in order, with their times)
// and `analyze blame` (modules, slowest first) of the last boot recorded in
// /var/log/ec2-init.log (boot-record.ts reads it; `analyze plot` draws it: plot.ts).
import type { Files } from '../host/files.ts';
import { writeHostFile } from '../host/machine.ts';
import { utf8Encode } from '../host/codecs.ts';
import { layout } from '../state/layout.ts';
import { pickBoot, readBoots } from './boot-record.ts';
import { plotBoot } from './plot.ts';

export function analyze(files: Files, what: string): string {
  const events = readBoots(files.readTextIfExists(layout.log) ?? '').at(-1)?.events ?? [];
  if (!events.some((e) => e.kind === 'stage' || e.kind === 'module')) return `no boot recorded in ${layout.log}\n`;
  const ms = (e: { start: number; end: number }) => e.end - e.start;
  const modules = events.filter((e) => e.kind === 'module');
  if (what === 'blame') {
    return [...modules].sort((a, b) => ms(b) - ms(a))
      .map((t) => `${ms(t).toFixed(1).padStart(9)} ms  ${t.name} (${t.stage})`).join('\n') + '\n';
  }
  // The log has each stage's total after its modules: print the stage first.
  return events.filter((e) => e.kind === 'stage').map((st) =>
    `${st.name}: ${ms(st).toFixed(1)} ms\n` +
    modules.filter((m) => m.stage === st.stage).map((m) => `  ${m.name}: ${ms(m).toFixed(1)} ms\n`).join('')).join('');
}

/**
 * `analyze plot`: boot `n` (0 the last, -1 the one before, 1 the first
 * recorded) as SVG, written to `output` (a file of this machine, as the
 * caller names it; never followed through a link) or returned for stdout.
 */
export function analyzePlot(files: Files, n: number, output: string | null): string | null {
  const boots = readBoots(files.readTextIfExists(layout.log) ?? '').filter((b) => b.events.length > 0);
  const boot = pickBoot(boots, n);
  if (!boot) throw new Error(`no boot ${n} in ${layout.log} (${boots.length} recorded: 0 is the last, ${boots.length ? `-${boots.length - 1} the first` : 'none'})`);
  const index = boots.indexOf(boot) + 1;
  const first = new Date(Math.min(...boot.events.map((e) => e.start))).toISOString().replace(/\.\d+Z$/, 'Z');
  const svg = plotBoot(boot, `ec2-init boot ${index}, ${first}`);
  if (output === null) return svg;
  writeHostFile(output, utf8Encode(svg), 0o644);
  return null;
}
