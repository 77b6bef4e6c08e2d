// The two agents as the harness sees them: how each boots (the commands run
// chrooted into the root), what it puts in the image, where it logs, and how
// to read from its log which modules it ran.
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TOP = join(dirname(fileURLToPath(import.meta.url)), '..');
export const EC2_INIT_BIN = join(TOP, 'dist', 'ec2-init');
const CACHE = process.env.EC2_INIT_BENCH_CACHE ?? '/var/cache/ec2-init-bench';

export interface Agent {
  id: string;                 // 'cloud-init', 'ec2-init', 'ec2-init boot'
  stages: string[][];         // one process per entry, in order
  version: string[];          // the cheapest command: the runtime's start-up floor
  log: string;                // its log, under the root
  modulesRan(log: string): string[];
}

// cloud-init as Debian's systemd units run it: four processes.
export const CLOUD_INIT: Agent = {
  id: 'cloud-init',
  stages: [['cloud-init', 'init', '--local'], ['cloud-init', 'init'],
    ['cloud-init', 'modules', '--mode', 'config'], ['cloud-init', 'modules', '--mode', 'final']],
  version: ['cloud-init', '--version'],
  log: '/var/log/cloud-init.log',
  // Each module ends with "finish: init-network/config-write_files: SUCCESS:
  // config-write_files ran successfully" (or "previously ran" when its
  // semaphore says it is done).
  modulesRan: (log) => [...new Set([...log.matchAll(/finish: [\w-]+\/config-(\w+): SUCCESS: config-\w+ ran successfully/g)].map((m) => m[1]!))],
};

const EC2 = '/usr/bin/ec2-init';
// "module write_files: done in 0.4 ms": the module runner's line per module run.
function ec2Modules(log: string): string[] {
  return [...new Set([...log.matchAll(/module (\w+): done/g)].map((m) => m[1]!))];
}

// ec2-init as its own units run it: the same four processes.
export const EC2_INIT: Agent = {
  id: 'ec2-init',
  stages: [[EC2, 'init', '--local'], [EC2, 'init'], [EC2, 'modules', '--mode', 'config'], [EC2, 'modules', '--mode', 'final']],
  version: [EC2, '--version'],
  log: '/var/log/ec2-init.log',
  modulesRan: ec2Modules,
};

// All four stages in one process (`ec2-init boot`): what a single unit would cost.
export const EC2_INIT_BOOT: Agent = { ...EC2_INIT, id: 'ec2-init boot', stages: [[EC2, 'boot']] };

export const AGENTS = [CLOUD_INIT, EC2_INIT, EC2_INIT_BOOT];

// The layer that puts ec2-init into the image: /usr/bin/ec2-init, copied from
// dist/ on every run of the harness so it always measures the current build.
// It sits on top of the Debian root for every run, cloud-init's included, so
// both agents boot the very same image.
export function ec2InitLayer(): string {
  const layer = join(CACHE, 'ec2-init-layer');
  mkdirSync(join(layer, 'usr/bin'), { recursive: true });
  copyFileSync(EC2_INIT_BIN, join(layer, 'usr/bin/ec2-init'));
  return layer;
}

export function ec2InitVersion(): string {
  return execFileSync(EC2_INIT_BIN, ['--version'], { encoding: 'utf8' }).trim().split('\n')[0]!;
}

// Size on disk of ec2-init installed: the .deb's Installed-Size when one was
// built from this executable, else the executable (which is nearly all of it).
export function ec2InitSize(): { kib: number; from: string } {
  const dist = join(TOP, 'dist');
  const debs = readdirSync(dist).filter((f) => /^ec2-init_.*_amd64\.deb$/.test(f))
    .map((f) => join(dist, f)).filter((f) => statSync(f).mtimeMs >= statSync(EC2_INIT_BIN).mtimeMs);
  if (debs.length > 0 && existsSync('/usr/bin/dpkg-deb')) {
    const deb = debs.sort().pop()!;
    const kib = Number(execFileSync('dpkg-deb', ['-f', deb, 'Installed-Size'], { encoding: 'utf8' }).trim());
    return { kib, from: `Installed-Size of ${deb.slice(TOP.length + 1)}` };
  }
  return { kib: Math.round(statSync(EC2_INIT_BIN).size / 1024), from: 'size of dist/ec2-init; no .deb built from it' };
}
