// resize_rootfs (cloud-init's cc_resizefs): grow the root filesystem to fill
// its (possibly just grown) partition, every boot: resize2fs for ext2/3/4,
// xfs_growfs for xfs, btrfs filesystem resize max for btrfs. It runs without
// any config, as in cloud-init (resize_rootfs: true); false turns it off. The
// running system's root only: under --root it is planned and skipped.
import { describeExit } from '../host/run.ts';
import { deviceOfMount, mountTable } from './disk-devices.ts';
import { isFalse, onRunningSystem } from './helpers.ts';
import { which } from '../host/root-facts.ts';
import type { Module, ModuleRun, Schema } from './module.ts';

const SCHEMA: Record<string, Schema> = {
  resize_rootfs: { enum: [true, false, 'noblock'] },
};

/** The resize command for a filesystem type, or null when there is none. */
export function resizeCommand(fstype: string, device: string, mountpoint: string): string[] | null {
  if (/^ext[234]$/.test(fstype)) return ['resize2fs', device];
  if (fstype === 'xfs') return ['xfs_growfs', mountpoint];
  if (fstype === 'btrfs') return ['btrfs', 'filesystem', 'resize', 'max', mountpoint];
  if (fstype === 'f2fs') return ['resize.f2fs', device];
  return null;
}

function off(value: unknown): boolean {
  return value !== undefined && value !== null && value !== 'noblock' && isFalse(value);
}

async function run(r: ModuleRun): Promise<void> {
  const { ctx, where, config } = r;
  if (off(config['resize_rootfs'])) { ctx.log.debug(`${where}: resize_rootfs false`); return; }
  if (!onRunningSystem(ctx, where, 'resize the root filesystem (resize2fs / xfs_growfs / btrfs filesystem resize)')) return;
  if (ctx.files.exists('/run/systemd/container')) { ctx.log.info(`${where}: in a container: the root filesystem is not ours to resize`); return; }
  const root = [...mountTable()].reverse().find((m) => m.mountpoint === '/');
  // No mount table (a chroot without /proc): nothing known, nothing touched.
  if (!root) { ctx.log.info(`${where}: no mount for / in /proc/self/mountinfo: nothing resized`); return; }
  const device = deviceOfMount(ctx, root);
  const argv = resizeCommand(root.fstype, device ?? root.source, '/');
  if (argv === null) { ctx.log.info(`${where}: cannot resize a ${root.fstype} root filesystem: skipped`); return; }
  if (device === null && argv[1] !== '/') { ctx.log.info(`${where}: no block device for / (${root.source}): skipped`); return; }
  if (!which(ctx.files, argv[0]!)) { ctx.report('warning', where, `${argv[0]} is missing: the ${root.fstype} root filesystem is not resized`); return; }
  // noblock: cloud-init resizes in a background process; an online grow takes
  // a second or two, so here it is done in place either way (and reported).
  const res = await ctx.capture(argv);
  if (res.code !== 0) throw new Error(`${argv.join(' ')} failed (${describeExit(res)}): ${(res.stdout + res.stderr).trim()}`);
  ctx.log.info(`${where}: ${argv.join(' ')}: ${(res.stdout + res.stderr).trim().split('\n').pop() ?? 'done'}`);
}

export const resizeRootfs: Module = {
  name: 'resizefs',
  stage: 'init',
  frequency: 'per-boot',
  keys: [],
  schema: SCHEMA,
  describe: (r) => {
    if (off(r.config['resize_rootfs'])) return ['resize_rootfs false: nothing'];
    const line = 'resize the root filesystem to its partition (resize2fs / xfs_growfs / btrfs)';
    return [r.ctx.root === '/' ? line : `skipped with --root: ${line}`];
  },
  run,
};
