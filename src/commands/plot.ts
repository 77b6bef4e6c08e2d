// `analyze plot`: one boot as an SVG picture, the way `systemd-analyze plot`
// draws one — a lane per stage; in it the stage, each module, each program a
// module ran and each wait (the datasource search, udev, DHCP) as a bar of
// its own row, all on one time axis that starts at the kernel's start (a
// boot under --root has no kernel of its own: its first stage's start).
// Failures are red, waits striped; each bar carries its time as text and a
// <title> tooltip. Plain SVG 1.1: no script, no external reference, no
// font to fetch, so a browser, an image viewer or a terminal's shows it.
import type { Boot, BootEvent } from './boot-record.ts';

const LANE_W = 96; // the stage names
const PLOT_W = 960;
const RIGHT = 16;
const ROW_H = 16;
const BAR_H = 12;
const TOP = 78; // title, legend, axis
const CHAR_W = 6.2; // 11 px sans-serif, an average character (to tell whether a label fits in its bar)

const FILL: Record<BootEvent['kind'], string> = { stage: '#35608f', module: '#4e9bd6', program: '#8a77c2', wait: 'url(#wait)' };
const FAILED = '#d62728';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (n: number) => String(Math.round(n * 10) / 10);

/** "53.6 ms", "1.23 s". */
export function duration(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** A tick step of 1, 2 or 5 times a power of ten, about `span`/8. */
function tickStep(span: number): number {
  const rough = span / 8;
  const pow = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((k) => k * pow).find((s) => s >= rough) ?? 10 * pow;
}

const STAGES = ['init-local', 'init', 'config', 'final'];

export function plotBoot(boot: Boot, title: string): string {
  const origin = boot.kernelStart ?? Math.min(...boot.events.map((e) => e.start));
  const end = Math.max(...boot.events.map((e) => e.end));
  const span = Math.max(end - origin, 1);
  const x = (t: number) => LANE_W + ((t - origin) / span) * PLOT_W;
  const width = LANE_W + PLOT_W + RIGHT;

  // Lanes in stage order; in each, the stage bar first, then its work as it started.
  const order = (e: BootEvent) => (e.kind === 'stage' ? 0 : 1);
  const lanes = STAGES.map((stage) => boot.events.filter((e) => e.stage === stage)
    .sort((a, b) => order(a) - order(b) || a.start - b.start || b.end - a.end)).filter((l) => l.length > 0);
  const rows = lanes.reduce((n, l) => n + l.length, 0);
  const height = TOP + rows * ROW_H + lanes.length * 6 + 12;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push('<defs><pattern id="wait" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#d9d9d9"/><rect width="3" height="6" fill="#a6a6a6"/></pattern></defs>');
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  const from = boot.kernelStart === null ? 'from the first stage' : 'from kernel start';
  out.push(`<text x="8" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="8" y="34">${esc(`done ${duration(end - origin)} ${from}${boot.kernelStart === null ? ' (a boot under --root: no kernel start of its own)' : ''}; ${boot.events.filter((e) => e.kind === 'module').length} modules, ${boot.events.filter((e) => e.kind === 'program').length} programs`)}</text>`);
  // Legend.
  const legend: Array<[string, string]> = [['stage', FILL.stage], ['module', FILL.module], ['program', FILL.program], ['wait', FILL.wait], ['failed', FAILED]];
  legend.forEach(([name, fill], i) => {
    const lx = LANE_W + i * 90;
    out.push(`<rect x="${lx}" y="42" width="12" height="10" fill="${fill}"/><text x="${lx + 16}" y="51">${name}</text>`);
  });
  // Axis: ticks and grid lines over the whole height.
  const step = tickStep(span);
  out.push(`<g stroke="#e3e3e3">`);
  const ticks: string[] = [];
  for (let t = 0; t <= span + 1e-9; t += step) {
    const tx = num(x(origin + t));
    out.push(`<line x1="${tx}" y1="${TOP - 6}" x2="${tx}" y2="${height - 8}"/>`);
    ticks.push(`<text x="${tx}" y="${TOP - 10}" text-anchor="middle">${step >= 1000 ? `${num(t / 1000)} s` : `${num(t)} ms`}</text>`);
  }
  out.push('</g>', ...ticks);

  let y = TOP;
  lanes.forEach((lane, i) => {
    const laneH = lane.length * ROW_H + 6;
    out.push(`<rect x="0" y="${y}" width="${width}" height="${laneH}" fill="${i % 2 ? '#ffffff' : '#f3f6f9'}" fill-opacity="0.6"/>`);
    out.push(`<text x="8" y="${y + 12}" font-weight="bold">${esc(lane[0]!.stage)}</text>`);
    y += 3;
    for (const e of lane) {
      const bx = x(e.start);
      const bw = Math.max(x(e.end) - bx, 1);
      const ms = e.end - e.start;
      const label = `${e.name} ${duration(ms)}`;
      const tip = `${e.name}${e.kind === 'stage' ? '' : ` (${e.kind} in stage ${e.stage})`}: ${e.outcome}, took ${duration(ms)}; ${duration(e.start - origin)} to ${duration(e.end - origin)} ${from}`;
      const fill = e.failed ? FAILED : FILL[e.kind];
      const inside = bw >= label.length * CHAR_W + 6;
      const after = bx + bw + 4 + label.length * CHAR_W <= width;
      const tx = inside ? bx + 3 : after ? bx + bw + 4 : bx - 4;
      const attrs = inside ? (e.kind === 'wait' && !e.failed ? '' : ' fill="#fff"') : after ? '' : ' text-anchor="end"';
      out.push(`<g><title>${esc(tip)}</title><rect x="${num(bx)}" y="${y + (ROW_H - BAR_H) / 2}" width="${num(bw)}" height="${BAR_H}" fill="${fill}"/>` +
        `<text x="${num(tx)}" y="${y + 12}"${attrs}>${esc(label)}</text></g>`);
      y += ROW_H;
    }
    y += 3;
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
