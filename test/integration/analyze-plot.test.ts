// `analyze plot` of real boots: the SVG parses as XML (python3's parser), has
// one bar per event the log recorded (stages, modules, the programs they
// ran, the datasource wait) at the place its times give, failures red, no
// script; --boot picks earlier boots; --output / cloud-init's -o write it.
// Then headless Chromium renders it: the screenshot has the SVG's size and,
// along the middle of every bar, that bar's colour.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { agent, asCloudInit, cannotRun, newRoot, seed } from '../helpers/agent.ts';
import { read, tempDir } from '../helpers/files.ts';
import { needCommands } from '../helpers/needs.ts';

const USER_DATA = [
  '#cloud-config',
  'bootcmd: [echo early]',
  'write_files: [{path: /etc/plotted, content: x}]',
  'runcmd:',
  '  - echo late',
  '  - exit 3',
  '',
].join('\n');

interface Bar { title: string; x: number; y: number; width: number; height: number; fill: string; text: string }

/** The SVG read by a real XML parser (python3's ElementTree): every element's tag, and each bar (a <g> with a <title>). */
function parseSvg(svg: string): { root: { tag: string; width: number; height: number }; tags: string[]; attributes: string[]; bars: Bar[] } {
  const script = [
    'import json, sys, xml.etree.ElementTree as ET',
    'NS = "{http://www.w3.org/2000/svg}"',
    'root = ET.fromstring(sys.stdin.read())',
    'bars = []',
    'for g in root.iter(NS + "g"):',
    '    t = g.find(NS + "title")',
    '    if t is None: continue',
    '    r = g.find(NS + "rect"); x = g.find(NS + "text")',
    '    bars.append(dict(title=t.text, x=float(r.get("x")), y=float(r.get("y")), width=float(r.get("width")), height=float(r.get("height")), fill=r.get("fill"), text=x.text))',
    'print(json.dumps(dict(root=dict(tag=root.tag, width=float(root.get("width")), height=float(root.get("height"))),',
    '    tags=sorted({e.tag.replace(NS, "") for e in root.iter()}), attributes=sorted({a for e in root.iter() for a in e.attrib}), bars=bars)))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script], { input: svg, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

interface Event { kind: string; name: string; start: number; end: number; failed: boolean }

/** The events of the last boot, read from the log by this test's own reading of its lines. */
function loggedEvents(log: string): Event[] {
  const lines = log.split('\n');
  const first = lines.map((l, i) => (/ stage init-local: start$/.test(l) ? i : -1)).filter((i) => i >= 0).at(-1)!;
  const out: Event[] = [];
  let stageErrors = false; // a stage is failed when an error was logged in it
  for (const line of lines.slice(first)) {
    if (/ stage [\w-]+: start$/.test(line)) stageErrors = false;
    if (/^\S+ ERROR: /.test(line)) stageErrors = true;
    const at = Date.parse(line.slice(0, 24));
    let m: RegExpExecArray | null;
    const add = (kind: string, name: string, ms: string, failed: boolean) => out.push({ kind, name, start: at - Number(ms), end: at, failed });
    if ((m = / stage ([\w-]+): done in ([\d.]+) ms/.exec(line))) add('stage', `stage ${m[1]}`, m[2]!, stageErrors);
    else if ((m = / module (\w+): (done|failed) in ([\d.]+) ms$/.exec(line))) add('module', m[1]!, m[3]!, m[2] === 'failed');
    else if ((m = / program (.+): (exit \d+) in ([\d.]+) ms$/.exec(line))) add('program', m[1]!, m[3]!, m[2] !== 'exit 0');
    else if ((m = / datasource (\w+): found instance \S+ \(([\d.]+) ms\)$/.exec(line))) add('wait', `datasource ${m[1]}`, m[2]!, false);
    else if ((m = / module \w+: waited ([\d.]+) s for (?:the )?(.+)$/.exec(line))) add('wait', m[2]!, String(Number(m[1]) * 1000), false);
  }
  return out;
}

/** A PNG's size and its pixels as RGB (8-bit RGB or RGBA, any filter): what Chromium writes. */
function decodePng(png: Buffer): { width: number; height: number; rgb: (x: number, y: number) => [number, number, number] } {
  assert.equal(png.subarray(0, 8).toString('hex'), '89504e470d0a1a0a');
  let off = 8;
  let width = 0, height = 0, type = 0;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const kind = png.toString('ascii', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (kind === 'IHDR') {
      width = data.readUInt32BE(0); height = data.readUInt32BE(4); type = data[9]!;
      assert.equal(data[8], 8, '8-bit');
    } else if (kind === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const bpp = type === 6 ? 4 : type === 2 ? 3 : assert.fail(`PNG colour type ${type}`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let i = 0; i < stride; i++) {
      const v = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= bpp ? px[y * stride + i - bpp]! : 0;
      const b = y > 0 ? px[(y - 1) * stride + i]! : 0;
      const c = i >= bpp && y > 0 ? px[(y - 1) * stride + i - bpp]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      px[y * stride + i] = (v + [0, a, b, (a + b) >> 1, paeth][filter]!) & 0xff;
    }
  }
  return { width, height, rgb: (x, y) => [px[y * stride + x * bpp]!, px[y * stride + x * bpp + 1]!, px[y * stride + x * bpp + 2]!] };
}

const hex = (c: string) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));

describe('analyze plot', { skip: cannotRun() ?? false }, () => {
  const root = newRoot();
  seed(root, 'instance-id: iid-plot\nlocal-hostname: plotted\n', USER_DATA);

  test('the SVG parses as XML and has a bar for every stage, module, program and wait the log recorded, where their times put it', () => {
    assert.equal(agent(root, ['boot']).status, 1); // runcmd's exit 3
    const r = agent(root, ['analyze', 'plot']);
    assert.equal(r.status, 0, r.stderr);
    const svg = r.stdout;
    const bytes = Buffer.byteLength(svg);
    console.log(`analyze plot of a first boot: ${bytes} bytes`);
    assert.ok(bytes < 32 * 1024, `${bytes} bytes`);
    const doc = parseSvg(svg);
    assert.equal(doc.root.tag, '{http://www.w3.org/2000/svg}svg');
    assert.deepEqual(doc.tags, ['defs', 'g', 'line', 'pattern', 'rect', 'svg', 'text', 'title']);
    assert.ok(!doc.attributes.some((a) => /^on|href/i.test(a)), `no event handler, no link: ${doc.attributes.join(' ')}`);

    const events = loggedEvents(read(root, 'var/log/ec2-init.log'));
    const kinds = new Set(events.map((e) => e.kind));
    assert.deepEqual([...kinds].sort(), ['module', 'program', 'stage', 'wait']);
    assert.ok(events.some((e) => e.kind === 'program' && e.name === 'runcmd' && e.failed), 'the failed user script is recorded');
    assert.equal(doc.bars.length, events.length, 'one bar per event');
    // The time axis: the plot's 960 px span from the first start to the last end (a --root boot: no kernel start).
    const origin = Math.min(...events.map((e) => e.start));
    const span = Math.max(...events.map((e) => e.end)) - origin;
    for (const e of events) {
      const bar = doc.bars.find((b) => b.text.startsWith(`${e.name} `) && Math.abs(b.x - (96 + ((e.start - origin) / span) * 960)) <= 0.2);
      assert.ok(bar, `a bar for ${e.kind} ${e.name} at ${e.start - origin} ms`);
      const ms = e.end - e.start;
      assert.ok(Math.abs(bar.width - Math.max((ms / span) * 960, 1)) <= 0.2, `${e.name}: width ${bar.width} for ${ms} ms`);
      assert.equal(bar.text, `${e.name} ${ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`}`);
      assert.match(bar.title, new RegExp(`^${e.name}.*: .*took ${bar.text.slice(e.name.length + 1)}; `));
      const fill = e.failed ? '#d62728' : { stage: '#35608f', module: '#4e9bd6', program: '#8a77c2', wait: 'url(#wait)' }[e.kind];
      assert.equal(bar.fill, fill, `${e.kind} ${e.name}${e.failed ? ' (failed)' : ''}`);
    }
    for (const stage of ['init-local', 'init', 'config', 'final']) assert.ok(doc.bars.some((b) => b.text.startsWith(`stage ${stage} `)));
    for (const module of ['bootcmd', 'write_files', 'scripts_user']) assert.ok(doc.bars.some((b) => b.text.startsWith(`${module} `)));
    assert.equal(doc.bars.find((b) => b.text.startsWith('scripts_user '))!.fill, '#d62728');
    assert.equal(doc.bars.find((b) => b.text.startsWith('stage final '))!.fill, '#d62728', 'the stage with the failure');
    assert.equal(doc.bars.find((b) => b.text.startsWith('stage init '))!.fill, '#35608f');
  });

  test('--boot picks a boot (0 the last, -1 the one before, 1 the first); --output and cloud-init\'s -o write the same SVG', () => {
    const firstBoot = agent(root, ['analyze', 'plot']).stdout;
    assert.equal(agent(root, ['boot']).status, 0); // the second boot: per-boot modules only (runcmd's script is per-instance)
    const last = agent(root, ['analyze', 'plot', '--boot', '0']).stdout;
    assert.notEqual(last, firstBoot);
    assert.equal(agent(root, ['analyze', 'plot', '--boot', '-1']).stdout, firstBoot);
    assert.equal(agent(root, ['analyze', 'plot', '--boot', '1']).stdout, firstBoot);
    assert.equal(agent(root, ['analyze', 'plot', '--boot', '2']).stdout, last);
    const none = agent(root, ['analyze', 'plot', '--boot', '-2']);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no boot -2 in \/var\/log\/ec2-init.log \(2 recorded/);
    assert.equal(agent(root, ['analyze', 'plot', '--boot', 'last']).status, 64);

    const out = join(tempDir('ec2-init-plot-'), 'boot.svg');
    assert.equal(agent(root, ['analyze', 'plot', '--output', out]).status, 0);
    assert.equal(readFileSync(out, 'utf8'), last);
    const out2 = join(tempDir('ec2-init-plot-'), 'ci.svg');
    const c = asCloudInit(root, ['analyze', 'plot', '-o', out2, '--boot', '-1']);
    assert.equal(c.status, 0, c.stderr);
    assert.equal(readFileSync(out2, 'utf8'), firstBoot);
  });

  test('headless Chromium renders it: the screenshot has the SVG\'s size, and every bar its colour', { skip: needCommands(['chromium'], 'chromium') ?? false }, () => {
    const svg = agent(root, ['analyze', 'plot', '--boot', '1']).stdout;
    const doc = parseSvg(svg);
    const dir = tempDir('ec2-init-chromium-');
    writeFileSync(join(dir, 'boot.svg'), svg);
    // As root Chromium needs --no-sandbox; a throw-away HOME keeps its profile out of this machine's.
    const shot = join(dir, 'boot.png');
    const r = spawnSync('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--force-device-scale-factor=1',
      `--window-size=${doc.root.width},${doc.root.height}`, `--screenshot=${shot}`, `file://${join(dir, 'boot.svg')}`],
    { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir }, timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const png = decodePng(readFileSync(shot));
    assert.deepEqual([png.width, png.height], [doc.root.width, doc.root.height]);
    // Not blank: a good part of it is not white.
    let coloured = 0;
    for (let y = 0; y < png.height; y += 2) for (let x = 0; x < png.width; x += 2) if (png.rgb(x, y).some((v) => v < 200)) coloured++;
    assert.ok(coloured / ((png.width / 2) * (png.height / 2)) > 0.03, `${coloured} coloured samples`);
    // Every solid bar shows its colour along its middle row (its label may cover parts of it; a 1 px bar: within a pixel of it).
    for (const bar of doc.bars.filter((b) => b.fill.startsWith('#'))) {
      const want = hex(bar.fill);
      const cy = Math.floor(bar.y + bar.height / 2);
      const xs = bar.width >= 3 ? [0.1, 0.3, 0.5, 0.7, 0.9].map((k) => Math.floor(bar.x + bar.width * k))
        : [Math.floor(bar.x) - 1, Math.floor(bar.x), Math.floor(bar.x) + 1];
      const close = xs.some((x) => png.rgb(x, cy).every((v, i) => Math.abs(v - want[i]!) <= (bar.width >= 3 ? 8 : 90)));
      assert.ok(close, `${bar.text}: ${xs.map((x) => png.rgb(x, cy).join(',')).join(' | ')} is not ${bar.fill}`);
    }
  });
});
