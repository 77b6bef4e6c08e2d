// The boot record (src/commands/boot-record.ts) and its picture
// (src/commands/plot.ts) on a log as a boot on the running system writes
// it: the kernel's start is the time axis' zero, udevadm settle, the
// datasource search and a module's wait for the early host keys are waits, a timed-out program is a failure, and the
// numbering of --boot is journalctl's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pickBoot, readBoots } from '../../src/commands/boot-record.ts';
import { plotBoot } from '../../src/commands/plot.ts';

const T = (ms: number) => new Date(Date.parse('2026-12-07T10:00:00.000Z') + ms).toISOString();
const LOG = [
  `${T(0)} INFO: ec2-init 0.1.0: init --local`,
  `${T(0)} INFO: kernel: up 2.500 s`,
  `${T(1)} INFO: stage init-local: start`,
  `${T(301)} INFO: program udevadm: exit 0 in 300.0 ms`,
  `${T(321)} INFO: datasource NoCloud: found instance i-1 (20.0 ms)`,
  `${T(400)} INFO: stage init-local: done in 399.0 ms`,
  `${T(500)} INFO: ec2-init 0.1.0: init`,
  `${T(500)} INFO: kernel: up 3.000 s`,
  `${T(501)} INFO: stage init: start`,
  `${T(560)} INFO: program ssh-keygen: exit 0 in 50.0 ms`,
  `${T(590)} INFO: module ssh: waited 0.08 s for the early host keys`,
  `${T(600)} INFO: module ssh: done in 99.0 ms`,
  `${T(1700)} INFO: program sh bootcmd: timed out after 1 s in 1000.0 ms`,
  `${T(1700)} ERROR: module bootcmd: timed out after 1 s`,
  `${T(1701)} INFO: module bootcmd: failed in 1100.0 ms`,
  `${T(1702)} INFO: stage init: done in 1201.0 ms with 1 problem(s)`,
  // A second boot, under --root (no kernel line).
  `${T(90000)} INFO: stage init-local: start`,
  `${T(90010)} INFO: stage init-local: done in 10.0 ms`,
  '',
].join('\n');

test('the log becomes boots of timed events: stages, modules, programs, waits; failures marked', () => {
  const boots = readBoots(LOG);
  assert.equal(boots.length, 2);
  const [first, second] = boots;
  assert.equal(first!.kernelStart, Date.parse(T(0)) - 2500);
  assert.equal(second!.kernelStart, null);
  const at = (s: string) => Date.parse(s);
  assert.deepEqual(first!.events.map((e) => [e.kind, e.stage, e.name, e.start - at(T(0)), e.end - at(T(0)), e.failed]), [
    ['wait', 'init-local', 'udevadm', 1, 301, false],
    ['wait', 'init-local', 'datasource NoCloud', 301, 321, false],
    ['stage', 'init-local', 'stage init-local', 1, 400, false],
    ['program', 'init', 'ssh-keygen', 510, 560, false],
    ['wait', 'init', 'early host keys', 510, 590, false],
    ['module', 'init', 'ssh', 501, 600, false],
    ['program', 'init', 'sh bootcmd', 700, 1700, true],
    ['module', 'init', 'bootcmd', 601, 1701, true],
    ['stage', 'init', 'stage init', 501, 1702, true],
  ]);
  assert.equal(pickBoot(boots, 0), second);
  assert.equal(pickBoot(boots, -1), first);
  assert.equal(pickBoot(boots, 1), first);
  assert.equal(pickBoot(boots, 2), second);
  assert.equal(pickBoot(boots, -2), null);
  assert.equal(pickBoot(boots, 3), null);
});

test('the picture starts at the kernel: the first stage 2.5 s in; waits striped, failures red', () => {
  const svg = plotBoot(readBoots(LOG)[0]!, 'a boot');
  // Span: kernel start (-2500 ms) to the last end (1702 ms) = 4202 ms over 960 px from x = 96.
  const x = (ms: number) => Math.round((96 + ((ms + 2500) / 4202) * 960) * 10) / 10;
  assert.match(svg, new RegExp(`<rect x="${x(1)}" y="[\\d.]+" width="[\\d.]+" height="12" fill="#35608f"/><text[^>]*>stage init-local 399.0 ms</text>`));
  assert.match(svg, /fill="url\(#wait\)"\/><text[^>]*>udevadm 300.0 ms</);
  assert.match(svg, /fill="#d62728"\/><text[^>]*>sh bootcmd 1.00 s</);
  assert.match(svg, /<title>sh bootcmd \(program in stage init\): timed out after 1 s, took 1.00 s; 3.20 s to 4.20 s from kernel start<\/title>/);
  assert.match(svg, /done 4.20 s from kernel start; 2 modules, 2 programs/);
  assert.match(svg, />0 s<\/text>/);
  assert.doesNotMatch(svg, /<script|\bon\w+=|href/i);
});

test('names from the log are escaped: the SVG stays well-formed', () => {
  const log = `${T(0)} INFO: stage init-local: start\n${T(5)} INFO: program sh <a&b>"x': exit 0 in 4.0 ms\n${T(6)} INFO: stage init-local: done in 6.0 ms\n`;
  const svg = plotBoot(readBoots(log)[0]!, 'boot <1> & "2"');
  assert.match(svg, /sh &#60;a&#38;b&#62;&#34;x&#39; 4.0 ms/);
  assert.match(svg, /boot &#60;1&#62; &#38; &#34;2&#34;/);
  assert.doesNotMatch(svg.replace(/&#\d+;/g, ''), /<a|&b|"x'/);
});
