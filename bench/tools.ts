// The harness's own measuring tools, outside the repo's build:
// - exitstat (bench/exitstat.c, compiled here with cc): wraps every measured
//   process, as GNU time did: rusage (peak RSS, CPU, blocks read) and, with
//   -p, the process's own VmHWM / RssAnon / RssFile at its exit.
// - a layer with hyperfine (the host's, Debian package `hyperfine`) at
//   /usr/lib/ec2-init-bench/hyperfine, so `--version` and /bin/true are timed
//   from inside the root, with no chroot or Node.js spawn in the way.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const CACHE = process.env.EC2_INIT_BENCH_CACHE ?? '/var/cache/ec2-init-bench';
export const HYPERFINE_IN_ROOT = '/usr/lib/ec2-init-bench/hyperfine';

export function exitstat(): string {
  const src = join(HERE, 'exitstat.c');
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12);
  const bin = join(CACHE, 'tools', `exitstat-${hash}`);
  if (!existsSync(bin)) {
    mkdirSync(dirname(bin), { recursive: true });
    execFileSync('cc', ['-O2', '-Wall', '-o', `${bin}.tmp`, src], { stdio: 'inherit' });
    renameSync(`${bin}.tmp`, bin);
  }
  return bin;
}

export function toolsLayer(): string {
  const layer = join(CACHE, 'tools-layer');
  mkdirSync(join(layer, dirname(HYPERFINE_IN_ROOT)), { recursive: true });
  if (!existsSync('/usr/bin/hyperfine')) throw new Error('bench needs hyperfine (apt-get install hyperfine)');
  copyFileSync('/usr/bin/hyperfine', join(layer, HYPERFINE_IN_ROOT));
  return layer;
}
