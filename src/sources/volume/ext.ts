// The size an ext2/3/4 filesystem gives itself, from its superblock (1024
// bytes in: the block count, low and high halves, and the block size), read
// in userspace at an offset. resize_rootfs asks it so that a root filesystem
// that already fills its device, as on every boot but a grown one's, costs
// no resize2fs run: a program start is a tenth of a second to seconds on an
// emulated CPU, on the path to sshd.
import type { Files } from '../../host/files.ts';
import { closeFd, readAt } from '../../host/descriptors.ts';

const SUPERBLOCK = 1024;
const MAGIC = 0xef53;
const INCOMPAT_64BIT = 0x80;

export interface ExtSize { blocks: number; blockSize: number }

/** The filesystem's own size on `path` (a device or an image file of the root); null when it holds no ext2/3/4 superblock or cannot be read. */
export function extFilesystemSize(files: Pick<Files, 'openForReading'>, path: string): ExtSize | null {
  let opened: { fd: number } | null;
  try { opened = files.openForReading(path); } catch { return null; }
  if (!opened) return null;
  try {
    const sb = new Uint8Array(1024);
    let got = 0;
    while (got < sb.length) {
      const n = readAt(opened.fd, sb, got, sb.length - got, SUPERBLOCK + got);
      if (n === 0) return null;
      got += n;
    }
    const v = new DataView(sb.buffer);
    if (v.getUint16(56, true) !== MAGIC) return null;
    const log = v.getUint32(24, true);
    if (log > 6) return null; // 1 KiB to 64 KiB blocks only
    const high = v.getUint32(96, true) & INCOMPAT_64BIT ? v.getUint32(0x150, true) : 0;
    return { blocks: high * 2 ** 32 + v.getUint32(4, true), blockSize: 1024 * 2 ** log };
  } catch {
    return null;
  } finally { closeFd(opened.fd); }
}

/** Whether an ext filesystem of `size` already fills `deviceBytes` (resize2fs would find nothing to do). */
export function fillsDevice(size: ExtSize, deviceBytes: number): boolean {
  return size.blocks === Math.floor(deviceBytes / size.blockSize);
}
