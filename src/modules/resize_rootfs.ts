// resize_rootfs (cloud-init's cc_resizefs): grow the root filesystem to fill
// its (possibly just grown) partition, every boot: resize2fs for ext2/3/4
// (not started when the filesystem's superblock says it fills its device),
// xfs_growfs for xfs, btrfs filesystem resize max for btrfs. It runs without
// any config, as in cloud-init (resize_rootfs: true); false turns it off. The
// running system's root only: under --root it is planned and skipped.
import type { Action } from '../host/actions.ts';
import { deviceOfMount, leftForRunningSystem, mountTable } from './disk-devices.ts';
import { isFalse } from './helpers.ts';
import { which } from '../host/root-facts.ts';
import { actionModule, type ReadFiles, type Schema } from './module.ts';
import { extFilesystemSize, fillsDevice } from '../sources/volume/ext.ts';

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

/** "N blocks of B bytes" when the ext filesystem on `device` fills it (its size from /sys/class/block), else null. */
function fullExt(files: ReadFiles, device: string): string | null {
  const sectors = Number(files.readTextIfExists(`/sys/class/block/${device.split('/').pop()}/size`)?.trim());
  const size = extFilesystemSize(files, device);
  if (!size || !Number.isSafeInteger(sectors) || sectors <= 0) return null;
  return fillsDevice(size, sectors * 512) ? `${size.blocks} blocks of ${size.blockSize} bytes` : null;
}

function off(value: unknown): boolean {
  return value !== undefined && value !== null && value !== 'noblock' && isFalse(value);
}

export const resizeRootfs = actionModule<true>({
  name: 'resizefs',
  stage: 'init',
  frequency: 'per-boot',
  keys: [],
  schema: SCHEMA,
  // resize_rootfs: false: nothing to do.
  check: (config) => (off(config['resize_rootfs']) ? null : true),
  actions(_, { files, where, root: rootDir }): Action[] {
    if (rootDir !== '/') return [leftForRunningSystem('resize the root filesystem (resize2fs / xfs_growfs / btrfs filesystem resize)', false)];
    if (files.exists('/run/systemd/container')) return [{ kind: 'log', text: `${where}: in a container: the root filesystem is not ours to resize` }];
    const root = [...mountTable()].reverse().find((m) => m.mountpoint === '/');
    // No mount table (a chroot without /proc): nothing known, nothing touched.
    if (!root) return [{ kind: 'log', text: `${where}: no mount for / in /proc/self/mountinfo: nothing resized` }];
    const device = deviceOfMount({ files }, root);
    const argv = resizeCommand(root.fstype, device ?? root.source, '/');
    if (argv === null) return [{ kind: 'log', text: `${where}: cannot resize a ${root.fstype} root filesystem: skipped` }];
    if (device === null && argv[1] !== '/') return [{ kind: 'log', text: `${where}: no block device for / (${root.source}): skipped` }];
    if (!which(files, argv[0]!)) return [{ kind: 'report', level: 'warning', message: `${argv[0]} is missing: the ${root.fstype} root filesystem is not resized` }];
    // ext: when the filesystem already fills its device (every boot after the one that grew it), resize2fs
    // would say "Nothing to do!": not started (its start alone is seconds under emulation, before sshd).
    const full = argv[0] === 'resize2fs' && device !== null ? fullExt(files, device) : null;
    if (full) return [{ kind: 'log', text: `${where}: ${device}: the ${root.fstype} filesystem already fills its device (${full}): nothing to grow` }];
    // noblock: cloud-init resizes in a background process; an online grow takes
    // a second or two, so here it is done in place either way.
    return [{
      kind: 'run', argv, why: `grow the ${root.fstype} root filesystem`, runningSystem: 'optional',
      then: (r) => [{ kind: 'log', text: `${where}: ${argv.join(' ')}: ${(r.stdout + r.stderr).trim().split('\n').pop() || 'done'}` }],
    }];
  },
});
