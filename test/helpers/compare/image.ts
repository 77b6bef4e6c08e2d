// The reference image (bench/chroot.ts: Debian bookworm by debootstrap, with
// Debian's cloud-init, cached under /var/cache/ec2-init-bench/; trixie's for
// cloud-init 25.1 when asked), or the reason the comparison cannot run here. A cached image costs nothing; the
// first build needs debootstrap and the Debian mirror, once.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureImage, imageKey, MIRROR, SUITE, type Suite } from '../../../bench/chroot.ts';
import { equalModules, type EqualModules } from '../../../bench/scenarios.ts';
import { hasCommand } from '../needs.ts';
import { EC2_INIT } from './run.ts';

export interface Reference { suite: Suite; root: string; cloudInitVersion: string; modules: EqualModules; built: boolean; buildMs: number }

const CACHE = process.env['EC2_INIT_BENCH_CACHE'] ?? '/var/cache/ec2-init-bench';

function overlayfs(): boolean {
  return spawnSync('grep', ['-qw', 'overlay', '/proc/filesystems']).status === 0
    || spawnSync('modprobe', ['-q', 'overlay']).status === 0;
}

async function mirrorAnswers(suite: Suite): Promise<boolean> {
  try {
    const r = await fetch(`${MIRROR}/dists/${suite}/Release`, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
    return r.ok;
  } catch { return false; }
}

/** The image, built if need be, or why the comparison cannot run (the caller applies ../needs.ts's rule). */
export async function reference(suite: Suite = SUITE): Promise<Reference | string> {
  if (process.getuid?.() !== 0) return 'comparing with cloud-init needs root (namespaces, overlay mounts, chroot)';
  for (const cmd of ['unshare', 'mount', 'chroot']) if (!hasCommand(cmd)) return `${cmd} is missing (util-linux / coreutils)`;
  if (!overlayfs()) return 'overlayfs is not available in this kernel';
  if (!existsSync(EC2_INIT)) return `${EC2_INIT} is missing: run npm run build`;
  const cached = existsSync(join(CACHE, imageKey(suite), 'image.json'));
  if (!cached) {
    if (!hasCommand('debootstrap')) return 'no cached cloud-init image and debootstrap is missing (apt-get install -y debootstrap)';
    if (!(await mirrorAnswers(suite))) return `no cached cloud-init image (${suite}) and the Debian mirror (${MIRROR}) does not answer`;
  }
  const t0 = performance.now();
  const image = ensureImage(suite, (s) => console.error(`compare-cloud-init: ${s}`));
  return {
    suite,
    root: image.root,
    cloudInitVersion: image.cloudInitVersion,
    modules: equalModules(image.root),
    built: !cached,
    buildMs: performance.now() - t0,
  };
}
