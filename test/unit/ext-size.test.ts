// Unit: an ext filesystem's own size read from its superblock
// (src/sources/volume/ext.ts), on images made by the real mkfs.ext4 and
// checked against dumpe2fs: resize_rootfs skips resize2fs when the
// filesystem fills its device, and only then.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Context } from '../../src/context.ts';
import { extFilesystemSize, fillsDevice } from '../../src/sources/volume/ext.ts';
import type { Logger } from '../../src/log.ts';
import { tempDir } from '../helpers/files.ts';
import { needCommands } from '../helpers/needs.ts';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const skip = needCommands(['mkfs.ext4', 'dumpe2fs'], 'e2fsprogs') ?? false;

function blockCount(image: string): number {
  const r = spawnSync('dumpe2fs', ['-h', image], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(/^Block count:\s+(\d+)$/m.exec(r.stdout)![1]);
}

const CASES: [string, string[], number][] = [
  ['4 KiB blocks, 64bit', ['-b', '4096', '-O', '64bit'], 4096],
  ['1 KiB blocks, no 64bit', ['-b', '1024', '-O', '^64bit'], 1024],
  ['ext2', ['-t', 'ext2', '-b', '2048'], 2048],
];
for (const [what, args, blockSize] of CASES) {
  test(`${what}: the superblock's size is dumpe2fs's; it fills its image until the image grows`, { skip }, () => {
    const root = tempDir('ec2-init-ext-');
    const image = join(root, 'disk.img');
    writeFileSync(image, '');
    truncateSync(image, 48 * 1024 * 1024);
    const mk = spawnSync('mkfs.ext4', ['-q', '-F', ...args, image], { encoding: 'utf8' });
    assert.equal(mk.status, 0, mk.stderr);
    const files = new Context(root, quiet).files;
    const size = extFilesystemSize(files, '/disk.img');
    assert.ok(size);
    assert.equal(size.blocks, blockCount(image));
    assert.equal(size.blockSize, blockSize);
    assert.equal(fillsDevice(size, statSync(image).size), true);
    truncateSync(image, 64 * 1024 * 1024);
    assert.equal(fillsDevice(size, statSync(image).size), false, 'the device grew: resize2fs has work');
  });
}

test('no ext superblock (zeros, a short file, a missing file): not known, so resize2fs runs as before', () => {
  const root = tempDir('ec2-init-ext-');
  writeFileSync(join(root, 'zeros'), new Uint8Array(4096));
  writeFileSync(join(root, 'short'), new Uint8Array(100));
  const files = new Context(root, quiet).files;
  assert.equal(extFilesystemSize(files, '/zeros'), null);
  assert.equal(extFilesystemSize(files, '/short'), null);
  assert.equal(extFilesystemSize(files, '/absent'), null);
});
