// The largest inputs the limits admit, and a few past them (issue 19): each
// as a NoCloud seed in a throw-away root, booted by dist/ec2-init stage by
// stage (init-local, init, config: where a source is read, its user-data
// expanded and saved, and the saved config read back), with each stage's
// wall time and peak RSS (wait4's ru_maxrss, through GNU time). Printed,
// never asserted; the target is ≤ 256 MiB and seconds for anything admitted.
//   npm run bench:limits                 # build, then every case
//   node bench/limits.ts --only archive  # the cases whose name has this in it
// Needs root (with-root.sh: a mount namespace, chroot), as the integration tests.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SOURCE_BUDGET } from '../src/sources/budget.ts';
import { makeMime } from '../src/userdata/make-mime.ts';

const TOP = join(import.meta.dirname, '..');
const AGENT = process.env['EC2_INIT_AGENT'] ?? join(TOP, 'dist', 'ec2-init');
const WITH_ROOT = join(TOP, 'test', 'helpers', 'with-root.sh');
const MiB = 1024 * 1024;
const META = 'instance-id: iid-limits\nlocal-hostname: limits\n';

interface Case { name: string; what: string; userData: () => Uint8Array; vendorData?: () => Uint8Array }

const text = (s: string) => Buffer.from(s);
/** `n` bytes in all: `head`, then whole copies of `line`, then newlines to fill. */
function filled(n: number, head: string, line: string): Uint8Array {
  const copies = Math.floor((n - head.length) / line.length);
  const text = head + line.repeat(copies);
  return Buffer.from(text + '\n'.repeat(n - text.length));
}
/** The user-data bytes the budget leaves beside this case's meta-data (and vendor-data). */
const fits = (other = 0) => SOURCE_BUDGET - META.length - other;

const CASES: Case[] = [
  {
    name: 'archive-10000', what: '#cloud-config-archive, 10,000 small script parts (issue 19 item 6)',
    userData: () => text('#cloud-config-archive\n' + Array.from({ length: 10_000 }, (_, i) =>
      `- type: text/x-shellscript\n  filename: s${i}.sh\n  content: "#!/bin/sh\\necho ${i}\\n"\n`).join('')),
  },
  {
    name: 'mime-10000', what: 'MIME multipart, 10,000 small script parts',
    userData: () => makeMime(Array.from({ length: 10_000 }, (_, i) => ({ content: text(`#!/bin/sh\necho ${i}\n`), type: 'text/x-shellscript', filename: `s${i}.sh` }))),
  },
  {
    name: 'archive-1000', what: '#cloud-config-archive, 1,000 small script parts',
    userData: () => text('#cloud-config-archive\n' + Array.from({ length: 1000 }, (_, i) =>
      `- type: text/x-shellscript\n  filename: s${i}.sh\n  content: "#!/bin/sh\\necho ${i}\\n"\n`).join('')),
  },
  {
    name: 'mime-1000', what: 'MIME multipart, 1,000 small script parts',
    userData: () => makeMime(Array.from({ length: 1000 }, (_, i) => ({ content: text(`#!/bin/sh\necho ${i}\n`), type: 'text/x-shellscript', filename: `s${i}.sh` }))),
  },
  { name: 'newlines-15MiB', what: '15 MiB of \\n (item 6)', userData: () => Buffer.alloc(15 * MiB, '\n') },
  { name: 'cr-8MiB', what: '8 MiB of \\r (item 6)', userData: () => Buffer.alloc(8 * MiB, '\r') },
  { name: 'cloud-config-newlines-15MiB', what: '#cloud-config then 15 MiB of \\n', userData: () => filled(15 * MiB, '#cloud-config\n', '\n') },
  {
    name: 'write-files-max', what: 'the largest user-data the budget admits: one write_files block scalar',
    userData: () => filled(fits(), '#cloud-config\nwrite_files:\n- path: /big\n  content: |\n', '    0123456789abcdef0123456789abcdef0123456789abcdef0123456789a\n'),
  },
  {
    name: 'runcmd-max', what: 'as many nodes as the YAML reader admits (100,000) in the budget: runcmd with 99,000 158-byte commands',
    userData: () => text('#cloud-config\nruncmd:\n' + `- echo ${'x'.repeat(150)}\n`.repeat(99_000)),
  },
  {
    name: 'script-max', what: 'the largest user-data the budget admits: one shell script',
    userData: () => filled(fits(), '#!/bin/sh\n', '# 0123456789abcdef0123456789abcdef0123456789abcdef0123456789a\n'),
  },
  {
    name: 'gzip-max', what: 'gzip user-data inflating to what the budget admits',
    userData: () => gzipSync(filled(fits(), '#!/bin/sh\n', '#\n'), { level: 9 }),
  },
  {
    name: 'user-and-vendor-max', what: 'user-data and vendor-data sharing the budget, half each',
    userData: () => filled(fits(8 * MiB), '#!/bin/sh\n', '# user\n'),
    vendorData: () => filled(8 * MiB, '#!/bin/sh\n', '# vendor\n'),
  },
  {
    name: 'aliases-200x4MiB', what: 'a 4 MiB string repeated by 200 aliases (840 MB once written out again): refused by the YAML reader',
    userData: () => text(`#cloud-config\nbig: &a "${'A'.repeat(4 * MiB)}"\nmore: [${Array(200).fill('*a').join(', ')}]\n`),
  },
  { name: 'over-budget-by-1', what: 'one byte past the budget: refused at the read, the meta-data still used', userData: () => filled(fits() + 1, '#!/bin/sh\n', '#\n') },
  { name: 'over-budget-64MiB', what: 'a 64 MiB seed file (what the readers allowed before)', userData: () => filled(64 * MiB, '#!/bin/sh\n', '#\n') },
  { name: 'gzip-bomb-256MiB', what: 'gzip inflating to 256 MiB', userData: () => gzipSync(Buffer.alloc(256 * MiB, 'a'), { level: 9 }) },
];

interface Run { stage: string; seconds: number; cpu: number; rssMiB: number; status: number | null }

function runStage(root: string, args: string[]): Run {
  const out = `${root}.time`;
  const log = openSync(`${root}.stderr`, 'w'); // the agent logs a line a part: never into a pipe buffer
  try {
    const r = spawnSync('/usr/bin/time', ['-o', out, '-f', '%e %U %S %M', 'env', '-i', WITH_ROOT, root, AGENT, '--root', root, ...args],
      { stdio: ['ignore', 'ignore', log], timeout: 900_000, killSignal: 'SIGKILL' });
    const [secs, user, system, kib] = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number) as [number, number, number, number];
    return { stage: args.join(' '), seconds: secs, cpu: user + system, rssMiB: kib / 1024, status: r.status };
  } finally {
    closeSync(log);
  }
}

function statusSummary(root: string): string {
  const r = spawnSync('env', ['-i', WITH_ROOT, root, AGENT, '--root', root, 'status', '--format', 'json'], { encoding: 'utf8' });
  try {
    const s = JSON.parse(r.stdout) as { errors: string[]; recoverable_errors: Record<string, string[]> };
    const all = [...s.errors, ...Object.values(s.recoverable_errors).flat()];
    return all.length === 0 ? 'no problems' : all.map((m) => m.length > 160 ? `${m.slice(0, 160)}…` : m).join(' | ');
  } catch { return `status: ${r.stdout.slice(0, 200)}`; }
}

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] ?? '' : '';
console.log(`budget: ${SOURCE_BUDGET} bytes (${SOURCE_BUDGET / MiB} MiB); agent ${AGENT}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
for (const c of CASES.filter((x) => x.name.includes(only))) {
  const parent = mkdtempSync(join(tmpdir(), 'ec2-init-limits-'));
  const root = join(parent, 'root');
  try {
    const seed = join(root, 'var/lib/cloud/seed/nocloud');
    mkdirSync(seed, { recursive: true });
    writeFileSync(join(seed, 'meta-data'), META);
    const ud = c.userData();
    writeFileSync(join(seed, 'user-data'), ud);
    if (c.vendorData) writeFileSync(join(seed, 'vendor-data'), c.vendorData());
    const runs = [['init', '--local'], ['init'], ['modules', '--mode', 'config']].map((a) => runStage(root, a));
    console.log(`\n${c.name}: ${c.what} (${ud.length} bytes)`);
    for (const r of runs) {
      console.log(`  ${r.stage.padEnd(22)} ${r.seconds.toFixed(2).padStart(6)} s (CPU ${r.cpu.toFixed(2).padStart(5)} s) ${r.rssMiB.toFixed(1).padStart(6)} MiB peak RSS  exit ${r.status}`);
    }
    console.log(`  status: ${statusSummary(root)}`);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}
