// Host keys made early (issue 22), measured: time from init-local's start
// until the three host keys are in /etc/ssh and until stage init is done (what
// sshd waits for), two executables alternating on fresh throw-away roots with
// the same seed: A (e.g. main's build) and B (this tree's dist/ec2-init).
// Between the stages a pause stands for what a real boot does there
// (networkd, wait-online: ~4 s in the VM of issue 22). Ratios per pair.
//   node bench/hostkeys.ts A_EXECUTABLE [B_EXECUTABLE] [--pairs N] [--gap MS]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const WITH_ROOT = join(TOP, 'test', 'helpers', 'with-root.sh');
import { TOP } from '../test/helpers/paths.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => { const i = args.indexOf(name); return i >= 0 ? Number(args.splice(i, 2)[1]) : dflt; };
const pairs = opt('--pairs', 5);
const gap = opt('--gap', 4000);
const [a, b = join(TOP, 'dist', 'ec2-init')] = args;
if (!a) throw new Error('usage: node bench/hostkeys.ts A_EXECUTABLE [B_EXECUTABLE] [--pairs N] [--gap MS]');

function root(): string {
  const r = mkdtempSync(join(tmpdir(), 'ec2-init-hostkeys-'));
  mkdirSync(join(r, 'etc/ssh'), { recursive: true });
  mkdirSync(join(r, 'etc/cloud'), { recursive: true });
  mkdirSync(join(r, 'var/lib/cloud/seed/nocloud'), { recursive: true });
  writeFileSync(join(r, 'etc/cloud/cloud.cfg'), 'users: []\n');
  writeFileSync(join(r, 'etc/ssh/sshd_config'), 'UsePAM yes\n');
  writeFileSync(join(r, 'etc/hostname'), 'bench\n');
  writeFileSync(join(r, 'var/lib/cloud/seed/nocloud/meta-data'), 'instance-id: iid-bench\n');
  writeFileSync(join(r, 'var/lib/cloud/seed/nocloud/user-data'), '#cloud-config\n{}\n');
  return r;
}

const stage = (exe: string, r: string, argv: string[]) => {
  const p = spawnSync('env', ['-i', WITH_ROOT, r, exe, '--root', r, ...argv], { stdio: 'ignore' });
  if (p.status !== 0) throw new Error(`${exe} ${argv.join(' ')}: exit ${p.status}`);
};

/** ms from init-local's start until the keys are in place (stage init's end: the ssh module is its last key step). */
function once(exe: string): { keys: number; init: number } {
  const r = root();
  try {
    const t0 = performance.now();
    stage(exe, r, ['init', '--local']);
    const wait = gap - (performance.now() - t0);
    if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
    const t1 = performance.now();
    stage(exe, r, ['init']);
    const t2 = performance.now();
    for (const t of ['rsa', 'ecdsa', 'ed25519']) {
      if (spawnSync('ssh-keygen', ['-lf', join(r, `etc/ssh/ssh_host_${t}_key`)]).status !== 0) throw new Error(`${exe}: no ${t} key`);
    }
    return { keys: t2 - t0, init: t2 - t1 };
  } finally { rmSync(r, { recursive: true, force: true }); }
}

const med = (xs: number[]) => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]!; };
const rows: { a: { keys: number; init: number }; b: { keys: number; init: number } }[] = [];
for (let i = 0; i < pairs; i++) {
  const first = i % 2 === 0;
  const x = first ? once(a) : once(b);
  const y = first ? once(b) : once(a);
  rows.push(first ? { a: x, b: y } : { a: y, b: x });
  const last = rows[rows.length - 1]!;
  console.log(`pair ${i + 1}: keys in place A ${last.a.keys.toFixed(0)} ms, B ${last.b.keys.toFixed(0)} ms; stage init A ${last.a.init.toFixed(0)} ms, B ${last.b.init.toFixed(0)} ms`);
}
console.log(`gap ${gap} ms, ${pairs} pairs, load ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`median keys in place: A ${med(rows.map((r) => r.a.keys)).toFixed(0)} ms, B ${med(rows.map((r) => r.b.keys)).toFixed(0)} ms; ratio B/A per pair median ${med(rows.map((r) => r.b.keys / r.a.keys)).toFixed(2)}`);
console.log(`median stage init: A ${med(rows.map((r) => r.a.init)).toFixed(0)} ms, B ${med(rows.map((r) => r.b.init)).toFixed(0)} ms; ratio B/A per pair median ${med(rows.map((r) => r.b.init / r.a.init)).toFixed(2)}`);
