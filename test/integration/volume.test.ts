// Seed volumes read in userspace: real ISO 9660 (genisoimage, xorriso),
// FAT12/16/32 (mkfs.vfat + mtools) and UDF (genisoimage -udf, pycdlib,
// mkudffs) images built here, read back with openVolume and compared byte for
// byte with the files they were made from, and cross-checked with isoinfo,
// mtype and blkid. Needs the Debian packages genisoimage, xorriso,
// dosfstools, mtools, udftools, python3-pycdlib.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Files } from '../../src/host/files.ts';
import { findVolumeByLabel, openVolume, type Volume } from '../../src/sources/volume/index.ts';
import { tempDir } from '../helpers/files.ts';
import { needCommands } from '../helpers/needs.ts';
import { buf } from '../helpers/bytes.ts';

/** Image files made here are read by their paths on this machine. */
const HOST = new Files('/');

const TOOLS = ['genisoimage', 'xorriso', 'isoinfo', 'mkfs.vfat', 'mcopy', 'mtype'];
const skip = needCommands(TOOLS, 'genisoimage xorriso dosfstools mtools') ?? false;
const PATH = `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin`;

let tmp = '';
let src = '';
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: tmp, env: { ...process.env, PATH, MTOOLS_SKIP_CHECK: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });

/** A seed tree with both layouts (NoCloud, config drive), nesting, long names, a multi-cluster file. */
function makeTree(dir: string): void {
  const put = (p: string, data: string | Buffer) => { mkdirSync(join(dir, p, '..'), { recursive: true }); writeFileSync(join(dir, p), data); };
  put('meta-data', 'instance-id: iid-vol-1\nlocal-hostname: vol-host\n');
  put('user-data', '#cloud-config\nruncmd:\n  - [touch, /ran]\n');
  put('vendor-data', '#cloud-config\n{}\n');
  put('network-config', 'version: 2\nethernets: {}\n');
  put('openstack/latest/meta_data.json', JSON.stringify({ uuid: 'u-1', hostname: 'cfg', public_keys: { k: 'ssh-ed25519 AAAA x' } }));
  put('openstack/latest/user_data', '#!/bin/sh\necho hi\n');
  put('openstack/latest/vendor_data.json', '{}');
  put('openstack/latest/network_data.json', '{"links":[]}');
  put('openstack/2012-08-10/meta_data.json', '{"uuid":"old"}');
  put('ec2/latest/meta-data.json', '{"instance-id":"i-1"}');
  put('ec2/2009-04-04/user-data', 'old');
  put('content/0000', 'file injected by nova');
  put('empty', '');
  put('MixedCase.Name.TXT', 'mixed');
  put('a/b/c/d/e/long file name with spaces and more than thirty-one characters.txt', 'deep and long');
  // Spans many clusters (and sectors, and ISO blocks); not a multiple of any of them.
  const big = Buffer.alloc(300_001);
  let x = 12345;
  for (let i = 0; i < big.length; i++) { x = (x * 1103515245 + 12345) >>> 0; big[i] = x >>> 24; }
  put('openstack/latest/big.bin', big);
}

/** Every file and directory of a host tree, as volume paths. */
function walk(root: string, rel = ''): { files: string[]; dirs: string[] } {
  const out = { files: [] as string[], dirs: [rel || '/'] };
  for (const name of readdirSync(join(root, rel))) {
    const p = `${rel}/${name}`;
    if (statSync(join(root, p)).isDirectory()) {
      const sub = walk(root, p);
      out.files.push(...sub.files);
      out.dirs.push(...sub.dirs);
    } else out.files.push(p);
  }
  return out;
}

/** The volume holds exactly the tree: every listing and every file's bytes. */
function assertSameTree(v: Volume, root: string): void {
  const { files, dirs } = walk(root);
  for (const d of dirs) assert.deepEqual(v.list(d), readdirSync(join(root, d)).sort(), `list ${d}`);
  for (const f of files) assert.deepEqual(buf(v.read(f)), readFileSync(join(root, f)), `read ${f}`);
}

function image(name: string): string { return join(tmp, name); }

before(() => {
  if (skip) return;
  tmp = mkdtempSync(join(tmpdir(), 'ec2-init-volume-'));
  src = join(tmp, 'src');
  makeTree(src);
});
after(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

describe('iso9660', { skip }, () => {
  const isos: Record<string, () => string> = {
    'genisoimage -J -r': () => { run('genisoimage', ['-quiet', '-o', image('g.iso'), '-V', 'cidata', '-J', '-joliet-long', '-r', src]); return image('g.iso'); },
    'xorriso -as mkisofs -J -r': () => { run('xorriso', ['-as', 'mkisofs', '-quiet', '-o', image('x.iso'), '-V', 'config-2', '-J', '-joliet-long', '-r', src]); return image('x.iso'); },
    'xorriso native (Rock Ridge)': () => { run('xorriso', ['-outdev', image('xn.iso'), '-volid', 'CONFIG-2', '-map', src, '/']); return image('xn.iso'); },
    'genisoimage -J only (Joliet names)': () => { run('genisoimage', ['-quiet', '-o', image('j.iso'), '-V', 'CIDATA', '-J', '-joliet-long', src]); return image('j.iso'); },
  };
  const labels: Record<string, string> = { 'genisoimage -J -r': 'cidata', 'xorriso -as mkisofs -J -r': 'config-2', 'xorriso native (Rock Ridge)': 'CONFIG-2', 'genisoimage -J only (Joliet names)': 'CIDATA' };

  for (const [how, make] of Object.entries(isos)) {
    test(`${how}: label, listings and every file byte for byte`, () => {
      const v = openVolume(HOST, make());
      assert.ok(v);
      assert.equal(v.fsType, 'iso9660');
      assert.equal(v.label, labels[how]);
      assertSameTree(v, src);
      // Joliet and Rock Ridge names are case-sensitive.
      assert.equal(v.read('/META-DATA'), null);
      assert.deepEqual(v.list('/Openstack'), []);
      // Absent things, directories, odd paths.
      assert.equal(v.read('/nope'), null);
      assert.equal(v.read('/openstack'), null);
      assert.equal(v.read('/meta-data/x'), null);
      assert.deepEqual(v.list('/meta-data'), []);
      assert.deepEqual(v.list('/no/such/dir'), []);
      assert.deepEqual(buf(v.read('openstack//latest/./../latest/user_data')), readFileSync(join(src, 'openstack/latest/user_data')));
      assert.deepEqual(buf(v.read('/../meta-data')), readFileSync(join(src, 'meta-data')));
    });
  }

  test('cross-check with isoinfo (Joliet extraction)', () => {
    const iso = image('g.iso');
    for (const p of ['/meta-data', '/openstack/latest/meta_data.json', '/openstack/latest/big.bin']) {
      const theirs = execFileSync('isoinfo', ['-i', iso, '-J', '-x', p], { maxBuffer: 1 << 24 });
      assert.deepEqual(buf(openVolume(HOST, iso)!.read(p)), theirs, p);
    }
  });

  test('Rock Ridge symbolic links (relative, absolute, looping) and deep relocated directories', () => {
    const dir = join(tmp, 'rr');
    mkdirSync(join(dir, 'openstack/2015-10-15'), { recursive: true });
    writeFileSync(join(dir, 'openstack/2015-10-15/meta_data.json'), '{"uuid":"linked"}');
    symlinkSync('2015-10-15', join(dir, 'openstack/latest'));
    symlinkSync('/openstack/2015-10-15/meta_data.json', join(dir, 'abs'));
    symlinkSync('loop', join(dir, 'loop'));
    writeFileSync(join(dir, 'ünïcødé 名前.txt'), 'utf-8 name');
    const deep = 'd1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11';
    mkdirSync(join(dir, deep), { recursive: true });
    writeFileSync(join(dir, deep, 'f'), 'deep');
    for (const [tool, out, args] of [['genisoimage', 'rr.iso', ['-quiet', '-r']], ['xorriso', 'rr2.iso', ['-as', 'mkisofs', '-quiet', '-r']]] as const) {
      run(tool, [...args, '-o', image(out), dir]);
      const v = openVolume(HOST, image(out))!;
      assert.equal(String(buf(v.read('/openstack/latest/meta_data.json'))), '{"uuid":"linked"}', tool);
      assert.equal(String(buf(v.read('/abs'))), '{"uuid":"linked"}', tool);
      assert.deepEqual(v.list('/openstack/latest'), ['meta_data.json'], tool);
      assert.throws(() => v.read('/loop'), /too many symbolic links/, tool);
      assert.equal(String(buf(v.read(`/${deep}/f`))), 'deep', tool);
      assert.deepEqual(v.list('/d1/d2/d3/d4/d5/d6/d7/d8'), ['d9'], tool);
      assert.equal(String(buf(v.read('/ünïcødé 名前.txt'))), 'utf-8 name', tool);
    }
  });

  test('Joliet names beyond ASCII', () => {
    const dir = join(tmp, 'jol');
    mkdirSync(dir);
    writeFileSync(join(dir, 'ünïcødé 名前.txt'), 'joliet name');
    run('genisoimage', ['-quiet', '-input-charset', 'utf-8', '-o', image('jol.iso'), '-J', dir]);
    const v = openVolume(HOST, image('jol.iso'))!;
    assert.deepEqual(v.list('/'), ['ünïcødé 名前.txt']);
    assert.equal(String(buf(v.read('/ünïcødé 名前.txt'))), 'joliet name');
  });

  test('plain ISO 9660 names: lowercased, no ";1", matched case-insensitively', () => {
    const dir = join(tmp, 'plain');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'meta.txt'), 'plain meta');
    writeFileSync(join(dir, 'sub', 'user'), 'plain user');
    run('genisoimage', ['-quiet', '-o', image('plain.iso'), '-V', 'cidata', dir]);
    const v = openVolume(HOST, image('plain.iso'))!;
    assert.equal(v.label, 'cidata');
    assert.deepEqual(v.list('/'), ['meta.txt', 'sub']);
    assert.deepEqual(v.list('/sub'), ['user']);
    assert.equal(String(buf(v.read('/META.TXT'))), 'plain meta');
    assert.equal(String(buf(v.read('/sub/user'))), 'plain user');
    assert.deepEqual(buf(v.read('/meta.txt')), execFileSync('isoinfo', ['-i', image('plain.iso'), '-x', '/META.TXT;1']));
  });
});

describe('vfat', { skip }, () => {
  const fats: Array<[string, string, string[], string]> = [
    ['FAT12 (mkfs.vfat -C img 2048)', 'f12.img', ['-n', 'CIDATA', '-C', image('f12.img'), '2048'], 'CIDATA'],
    ['FAT16, 2 KiB clusters', 'f16.img', ['-F', '16', '-s', '4', '-n', 'cidata', '-C', image('f16.img'), '20000'], 'cidata'],
    ['FAT32 (-F 32, 40 MiB)', 'f32.img', ['-F', '32', '-n', 'config-2', '-C', image('f32.img'), '40960'], 'config-2'],
    ['FAT32, 4 KiB sectors', 'f32s.img', ['-F', '32', '-S', '4096', '-n', 'CONFIG-2', '-C', image('f32s.img'), '300000'], 'CONFIG-2'],
  ];
  for (const [how, file, args, label] of fats) {
    test(`${how}: label, listings and every file byte for byte`, () => {
      run('mkfs.vfat', args);
      run('mcopy', ['-s', '-i', image(file), ...readdirSync(src).map((n) => join(src, n)), '::/']);
      const v = openVolume(HOST, image(file));
      assert.ok(v);
      assert.equal(v.fsType, 'vfat');
      assert.equal(v.label, label);
      assertSameTree(v, src);
      // FAT names match case-insensitively, long or short.
      assert.deepEqual(buf(v.read('/META-DATA')), readFileSync(join(src, 'meta-data')));
      assert.deepEqual(buf(v.read('/OpenStack/LATEST/Meta_Data.JSON')), readFileSync(join(src, 'openstack/latest/meta_data.json')));
      assert.deepEqual(buf(v.read('/OPENST~1/LATEST/META_D~1.JSO')), readFileSync(join(src, 'openstack/latest/meta_data.json')));
      assert.equal(v.read('/nope'), null);
      assert.equal(v.read('/openstack'), null);
      assert.deepEqual(v.list('/meta-data'), []);
      assert.deepEqual(v.list('/x/y'), []);
      // Cross-check with mtools.
      for (const p of ['/meta-data', '/openstack/latest/big.bin', '/a/b/c/d/e/long file name with spaces and more than thirty-one characters.txt']) {
        assert.deepEqual(buf(v.read(p)), execFileSync('mtype', ['-i', image(file), `::${p}`], { maxBuffer: 1 << 24, env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } }), p);
      }
    });
  }

  test('a fragmented file (interleaved writes) reads back whole', () => {
    const img = image('frag.img');
    run('mkfs.vfat', ['-n', 'CIDATA', '-C', img, '2048']);
    // Fill, punch holes, then write a file that must take the holes.
    for (let i = 0; i < 8; i++) { writeFileSync(join(tmp, `fill${i}`), Buffer.alloc(3000, i)); run('mcopy', ['-i', img, join(tmp, `fill${i}`), `::/fill${i}`]); }
    for (let i = 0; i < 8; i += 2) run('mdel', ['-i', img, `::/fill${i}`]);
    const data = Buffer.alloc(11000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    writeFileSync(join(tmp, 'frag'), data);
    run('mcopy', ['-i', img, join(tmp, 'frag'), '::/user-data']);
    assert.deepEqual(buf(openVolume(HOST, img)!.read('/user-data')), data);
    assert.deepEqual(buf(openVolume(HOST, img)!.read('/fill3')), Buffer.alloc(3000, 3));
  });
});

describe('malformed images', { skip }, () => {
  const copy = (from: string, to: string, edit?: (b: Buffer) => void): string => {
    const b = readFileSync(image(from));
    edit?.(b);
    writeFileSync(image(to), b);
    return image(to);
  };

  test('not a volume: garbage, empty, tiny, a directory, absent → null', () => {
    let x = 1;
    const garbage = Buffer.alloc(1 << 20);
    for (let i = 0; i < garbage.length; i++) { x = (x * 1103515245 + 12345) >>> 0; garbage[i] = x >>> 24; }
    writeFileSync(image('garbage.img'), garbage);
    writeFileSync(image('zero.img'), Buffer.alloc(1 << 20));
    writeFileSync(image('empty.img'), '');
    writeFileSync(image('tiny.img'), 'CD001');
    assert.equal(openVolume(HOST, image('garbage.img')), null);
    assert.equal(openVolume(HOST, image('zero.img')), null);
    assert.equal(openVolume(HOST, image('empty.img')), null);
    assert.equal(openVolume(HOST, image('tiny.img')), null);
    assert.equal(openVolume(HOST, tmp), null);
    assert.equal(openVolume(HOST, image('absent.img')), null);
  });

  test('truncated images: null when the header is gone, else an error naming the image', () => {
    const iso = image('g.iso');
    const isoBytes = readFileSync(iso);
    writeFileSync(image('t1.iso'), isoBytes.subarray(0, 20_000));
    assert.equal(openVolume(HOST, image('t1.iso')), null);
    writeFileSync(image('t2.iso'), isoBytes.subarray(0, 40_000));
    // The descriptors survive, the directories do not: found, labelled, and every read an error.
    const v = openVolume(HOST, image('t2.iso'));
    assert.ok(v);
    assert.equal(v.label, 'cidata');
    assert.throws(() => v.read('/openstack/latest/big.bin'), (e: Error) => e.message.includes(image('t2.iso')) && /truncated/.test(e.message));
    assert.throws(() => v.list('/'), /truncated/);
    const fat = readFileSync(image('f12.img'));
    writeFileSync(image('t.img'), fat.subarray(0, 100_000));
    const f = openVolume(HOST, image('t.img'))!;
    assert.equal(f.label, 'CIDATA');
    assert.throws(() => f.read('/openstack/latest/big.bin'), (e: Error) => e.message.includes(image('t.img')) && /truncated/.test(e.message));
    writeFileSync(image('t0.img'), fat.subarray(0, 300));
    assert.equal(openVolume(HOST, image('t0.img')), null);
  });

  test('FAT: cluster chain loops, bad clusters, short chains and oversized files are errors', () => {
    // FAT12 from mkfs.vfat -C 2048: 512-byte sectors, find the FAT and big.bin's entry.
    const bs = readFileSync(image('f12.img')).subarray(0, 512);
    const fatOff = bs.readUInt16LE(14) * 512;
    const set12 = (b: Buffer, c: number, v: number) => {
      const o = fatOff + c + (c >> 1);
      const w = b.readUInt16LE(o);
      b.writeUInt16LE(c & 1 ? (w & 0x000f) | (v << 4) : (w & 0xf000) | v, o);
    };
    const get12 = (b: Buffer, c: number) => { const w = b.readUInt16LE(fatOff + c + (c >> 1)); return c & 1 ? w >> 4 : w & 0xfff; };
    const v = openVolume(HOST, image('f12.img'))!;
    const first = (b: Buffer, name: string) => {
      // The 8.3 entry of user-data: find by the long name's short alias in the root directory.
      const i = b.indexOf(Buffer.from(name, 'latin1'));
      assert.ok(i > 0, name);
      return { entry: i, cluster: b.readUInt16LE(i + 26) };
    };
    assert.ok(v.read('/openstack/latest/big.bin'));
    // The root directory's "OPENST~1" → its chain; loop big.bin's chain onto itself.
    const looped = copy('f12.img', 'loop.img', (b) => {
      const { cluster } = first(b, 'BIG     BIN');
      const second = get12(b, cluster);
      set12(b, second, cluster);
    });
    assert.throws(() => openVolume(HOST, looped)!.read('/openstack/latest/big.bin'), (e: Error) => e.message.includes(looped) && /loops/.test(e.message));
    const early = copy('f12.img', 'early.img', (b) => set12(b, first(b, 'BIG     BIN').cluster, 0xfff));
    assert.throws(() => openVolume(HOST, early)!.read('/openstack/latest/big.bin'), /cluster chain ends after \d+ of 300001 bytes/);
    const free = copy('f12.img', 'free.img', (b) => set12(b, first(b, 'BIG     BIN').cluster, 0));
    assert.throws(() => openVolume(HOST, free)!.read('/openstack/latest/big.bin'), /bad cluster 0/);
    const huge = copy('f12.img', 'huge.img', (b) => b.writeUInt32LE(0x7fffffff, first(b, 'BIG     BIN').entry + 28));
    assert.throws(() => openVolume(HOST, huge)!.read('/openstack/latest/big.bin'), /too large/);
    // Directory chains that loop on themselves are bounded too.
    const dirLoop = copy('f12.img', 'dirloop.img', (b) => { const { cluster } = first(b, 'LATEST     '); set12(b, cluster, cluster); });
    // (The first LATEST entry on the image is ec2/latest or openstack/latest, whichever mcopy wrote first.)
    assert.throws(() => { const d = openVolume(HOST, dirLoop)!; d.list('/ec2/latest'); d.list('/openstack/latest'); }, (e: Error) => e.message.includes(dirLoop) && /loops/.test(e.message));
  });

  test('ISO: oversized files and broken directory records are errors naming the image', () => {
    const huge = copy('g.iso', 'huge.iso', (b) => {
      const i = b.indexOf(Buffer.from('BIG.BIN;1', 'latin1'));
      const rec = i - 33;
      b.writeUInt32LE(0x7fffffff, rec + 10);
    });
    assert.throws(() => openVolume(HOST, huge)!.read('/openstack/latest/big.bin'), (e: Error) => e.message.includes(huge) && /too large/.test(e.message));
    const broken = copy('g.iso', 'broken.iso', (b) => {
      const i = b.indexOf(Buffer.from('META_DAT.;1', 'latin1'));
      const alt = i > 0 ? i : b.indexOf(Buffer.from('META_DAT', 'latin1'));
      b[alt - 33] = 250; // a record length running past its block
    });
    assert.throws(() => openVolume(HOST, broken)!.list('/'), (e: Error) => e.message.includes(broken) && /malformed directory record/.test(e.message));
  });

  test('random corruption never hangs or crashes: results or Errors only', () => {
    let x = 42;
    const rand = (n: number) => { x = (x * 1103515245 + 12345) >>> 0; return (x >>> 8) % n; };
    for (const name of ['g.iso', 'x.iso', 'f12.img']) {
      const orig = readFileSync(image(name));
      // Corrupt where the metadata lives: the first 128 KiB.
      const span = Math.min(orig.length, 128 * 1024);
      for (let round = 0; round < 100; round++) {
        const b = Buffer.from(orig);
        for (let k = 0; k < 1 + rand(40); k++) b[rand(span)] = rand(256);
        const p = image(`fuzz-${name}`);
        writeFileSync(p, b);
        let v: Volume | null = null;
        try { v = openVolume(HOST, p); } catch (e) { assert.ok(e instanceof Error); continue; }
        if (!v) continue;
        for (const op of [() => v.list('/'), () => v.list('/openstack/latest'), () => v.read('/meta-data'), () => v.read('/openstack/latest/big.bin'), () => v.read('/a/b/c/d/e/long file name with spaces and more than thirty-one characters.txt')]) {
          try { op(); } catch (e) { assert.ok(e instanceof Error && e.message.startsWith(p), String(e)); }
        }
      }
    }
  });
});

describe('udf', { skip: skip || (needCommands(['mkudffs', 'pycdlib-genisoimage', 'blkid'], 'udftools python3-pycdlib util-linux') ?? false) }, () => {
  const BS = 2048;
  /** blkid's label of an image: what /dev/disk/by-label says on a real machine. */
  const blkidLabel = (p: string) => execFileSync('blkid', ['-p', '-o', 'value', '-s', 'LABEL', p], { env: { ...process.env, PATH } }).toString().trim();
  const udfImage = (name: string, make: () => void) => { make(); return image(name); };
  const genisoUdf = () => udfImage('u-g.iso', () => run('genisoimage', ['-quiet', '-udf', '-J', '-joliet-long', '-r', '-V', 'cidata', '-o', image('u-g.iso'), src]));
  const pycdlibUdf = () => udfImage('u-p.iso', () => run('pycdlib-genisoimage', ['-quiet', '-udf', '-J', '-r', '-V', 'config-2', '-o', image('u-p.iso'), src]));

  for (const [how, make] of [['genisoimage -udf (UDF 1.02 bridge)', genisoUdf], ['pycdlib-genisoimage -udf', pycdlibUdf]] as const) {
    test(`${how}: read as UDF, blkid's label, listings and every file byte for byte`, () => {
      const p = make();
      const v = openVolume(HOST, p);
      assert.ok(v);
      assert.equal(v.fsType, 'udf');
      assert.equal(v.label, blkidLabel(p));
      assertSameTree(v, src);
      // UDF names are case-sensitive, as the Linux driver matches them.
      assert.equal(v.read('/META-DATA'), null);
      assert.equal(v.read('/nope'), null);
      assert.equal(v.read('/openstack'), null);
      assert.deepEqual(v.list('/meta-data'), []);
      assert.deepEqual(buf(v.read('openstack//latest/./../latest/user_data')), readFileSync(join(src, 'openstack/latest/user_data')));
    });
  }

  test('pycdlib UDF symbolic links (relative, absolute, looping), names beyond ASCII, a file hidden from UDF', () => {
    const dir = join(tmp, 'udf-links');
    mkdirSync(join(dir, 'openstack/2015-10-15'), { recursive: true });
    writeFileSync(join(dir, 'openstack/2015-10-15/meta_data.json'), '{"uuid":"linked"}');
    symlinkSync('2015-10-15', join(dir, 'openstack/latest'));
    symlinkSync('/openstack/2015-10-15/meta_data.json', join(dir, 'abs'));
    symlinkSync('loop', join(dir, 'loop'));
    writeFileSync(join(dir, 'ünïcødé 名前.txt'), 'utf-16 name');
    writeFileSync(join(dir, 'hidden.txt'), 'hidden');
    run('pycdlib-genisoimage', ['-quiet', '-udf', '-udf-symlinks', '-r', '-hide-udf', 'hidden.txt', '-o', image('u-links.iso'), dir]);
    const v = openVolume(HOST, image('u-links.iso'))!;
    assert.equal(v.fsType, 'udf');
    assert.equal(String(buf(v.read('/openstack/latest/meta_data.json'))), '{"uuid":"linked"}');
    assert.equal(String(buf(v.read('/abs'))), '{"uuid":"linked"}');
    assert.deepEqual(v.list('/openstack/latest'), ['meta_data.json']);
    assert.throws(() => v.read('/loop'), (e: Error) => e.message.startsWith(image('u-links.iso')) && /too many symbolic links/.test(e.message));
    assert.equal(String(buf(v.read('/ünïcødé 名前.txt'))), 'utf-16 name');
    assert.equal(v.read('/hidden.txt'), null);
    assert.ok(!v.list('/').includes('hidden.txt'));
  });

  // Every revision and layout mkudffs makes: physical partitions (hd), sparable ones (cdrw, dvdrw), the VAT of
  // write-once discs (cdr, dvdr, bdr: 1.50-2.60), embedded/short/long descriptors, file entries and extended
  // ones, 512-4096 byte blocks, strategy 4096. mkudffs writes an empty root; its label is blkid's.
  const MKUDFFS: Array<[string, string[]]> = [
    ['1.01 hd', ['--media-type=hd', '--udfrev=1.01']], ['1.02 hd', ['--media-type=hd', '--udfrev=1.02']],
    ['1.50 hd', ['--media-type=hd', '--udfrev=1.50']], ['2.00 hd', ['--media-type=hd', '--udfrev=2.00']],
    ['2.01 hd', ['--media-type=hd', '--udfrev=2.01']], ['2.01 hd, file entries (--noefe)', ['--media-type=hd', '--noefe']],
    ['2.01 hd, short ADs', ['--media-type=hd', '--ad=short']], ['2.01 hd, long ADs', ['--media-type=hd', '--ad=long']],
    ['512-byte blocks', ['--media-type=hd', '--blocksize=512']], ['1024-byte blocks', ['--media-type=hd', '--blocksize=1024']],
    ['4096-byte blocks', ['--media-type=hd', '--blocksize=4096']], ['strategy 4096', ['--media-type=hd', '--strategy=4096']],
    ['sparable (cdrw)', ['--media-type=cdrw']], ['sparable (dvdrw)', ['--media-type=dvdrw']], ['dvdram', ['--media-type=dvdram']],
    ['VAT 1.50 (cdr)', ['--media-type=cdr', '--udfrev=1.50']], ['VAT 2.00 (cdr)', ['--media-type=cdr', '--udfrev=2.00']],
    ['VAT 2.01 (cdr)', ['--media-type=cdr', '--udfrev=2.01']], ['VAT 2.50 (cdr)', ['--media-type=cdr', '--udfrev=2.50']],
    ['VAT 2.60 (dvdr)', ['--media-type=dvdr', '--udfrev=2.60']], ['VAT 2.60 (bdr)', ['--media-type=bdr', '--udfrev=2.60']],
  ];
  test('mkudffs: every revision, partition kind and layout: blkid\'s label, the empty root', () => {
    MKUDFFS.forEach(([how, args], i) => {
      const p = image(`mk${i}.img`);
      rmSync(p, { force: true });
      const label = `mk${i}-${how.split(' ')[0]}`;
      run('mkudffs', [...args, '--new-file', `--label=${label}`, p, '8192']);
      const v = openVolume(HOST, p);
      assert.ok(v, how);
      assert.equal(v.fsType, 'udf', how);
      assert.equal(v.label, label, how);
      assert.equal(blkidLabel(p), label, how);
      assert.deepEqual(v.list('/'), [], how);
      assert.equal(v.read('/ovf-env.xml'), null, how);
    });
    // A label beyond latin-1 is stored in UTF-16 (OSTA compressed unicode, id 16).
    run('mkudffs', ['--utf8', '--media-type=hd', '--new-file', '--label=ünï名', image('mk-u16.img'), '4096']);
    assert.equal(openVolume(HOST, image('mk-u16.img'))!.label, 'ünï名');
    assert.equal(blkidLabel(image('mk-u16.img')), 'ünï名');
  });

  /** Hand edits of a real genisoimage volume: its descriptors, found by tag, changed, and their tags sealed again. */
  const udf = {
    crc(b: Buffer): number {
      let crc = 0;
      for (const byte of b) {
        crc ^= byte << 8;
        for (let k = 0; k < 8; k++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
      }
      return crc;
    },
    /** Set the descriptor's CRC length, CRC and checksum for its current bytes. */
    seal(b: Buffer, at: number, crcLength: number): void {
      b.writeUInt16LE(crcLength, at + 10);
      b.writeUInt16LE(udf.crc(b.subarray(at + 16, at + 16 + crcLength)), at + 8);
      let sum = 0;
      for (let i = 0; i < 16; i++) if (i !== 4) sum = (sum + b[at + i]!) & 0xff;
      b[at + 4] = sum;
    },
    partition(b: Buffer): { start: number; length: number } {
      for (let s = 16; s < 512; s++) if (b.readUInt16LE(s * BS) === 5) return { start: b.readUInt32LE(s * BS + 188), length: b.readUInt32LE(s * BS + 192) };
      throw new Error('no partition descriptor');
    },
    /** The file entry (tag 261) of the file of `size` bytes: its offset in the image and its first allocation descriptor. */
    fileEntry(b: Buffer, size: number): { at: number; adAt: number; length: number; block: number } {
      for (let at = 0; at + BS <= b.length; at += BS) {
        if (b.readUInt16LE(at) !== 261 || Number(b.readBigUInt64LE(at + 56)) !== size) continue;
        const adAt = at + 176 + b.readUInt32LE(at + 168);
        return { at, adAt, length: b.readUInt32LE(adAt) & 0x3fffffff, block: b.readUInt32LE(adAt + 4) };
      }
      throw new Error(`no file entry of ${size} bytes`);
    },
    /** Replace a file entry's allocation descriptors (and its descriptor type); sealed. */
    setAds(b: Buffer, fe: { at: number; adAt: number }, type: 0 | 1 | 3, ads: Buffer): void {
      b.writeUInt16LE((b.readUInt16LE(fe.at + 34) & ~7) | type, fe.at + 34);
      ads.copy(b, fe.adAt);
      b.writeUInt32LE(ads.length, fe.at + 172);
      udf.seal(b, fe.at, fe.adAt - fe.at + ads.length - 16);
    },
    short: (...ads: Array<[number, number]>) => Buffer.concat(ads.map(([len, block]) => { const a = Buffer.alloc(8); a.writeUInt32LE(len >>> 0, 0); a.writeUInt32LE(block, 4); return a; })),
    long: (...ads: Array<[number, number]>) => Buffer.concat(ads.map(([len, block]) => { const a = Buffer.alloc(16); a.writeUInt32LE(len >>> 0, 0); a.writeUInt32LE(block, 4); return a; })),
    /** An allocation extent descriptor with `ads` at partition block `block`. */
    aed(b: Buffer, part: { start: number }, block: number, ads: Buffer): void {
      const at = (part.start + block) * BS;
      b.fill(0, at, at + BS);
      b.writeUInt16LE(258, at);
      b.writeUInt16LE(2, at + 2);
      b.writeUInt32LE(block, at + 12);
      b.writeUInt32LE(ads.length, at + 20);
      ads.copy(b, at + 24);
      udf.seal(b, at, 8 + ads.length);
    },
  };
  const edited = (name: string, edit: (b: Buffer) => void): string => {
    const b = readFileSync(image('u-g.iso'));
    edit(b);
    writeFileSync(image(name), b);
    return image(name);
  };
  const BIG = 300_001;
  const bigBytes = () => readFileSync(join(src, 'openstack/latest/big.bin'));

  test('layouts the tools here do not write, made by hand from a real volume: split, long and continued descriptors, embedded data', () => {
    genisoUdf();
    const split = edited('u-split.iso', (b) => {
      const fe = udf.fileEntry(b, BIG);
      udf.setAds(b, fe, 0, udf.short([2 * BS, fe.block], [BIG - 2 * BS, fe.block + 2]));
    });
    assert.deepEqual(buf(openVolume(HOST, split)!.read('/openstack/latest/big.bin')), bigBytes());
    const long = edited('u-long.iso', (b) => {
      const fe = udf.fileEntry(b, BIG);
      udf.setAds(b, fe, 1, udf.long([3 * BS, fe.block], [BIG - 3 * BS, fe.block + 3]));
    });
    assert.deepEqual(buf(openVolume(HOST, long)!.read('/openstack/latest/big.bin')), bigBytes());
    // The rest of the descriptors in an allocation extent descriptor (written over the empty file's neighbour, vendor_data.json's block).
    const continued = edited('u-aed.iso', (b) => {
      const fe = udf.fileEntry(b, BIG);
      const spare = udf.fileEntry(b, 2).block;
      udf.aed(b, udf.partition(b), spare, udf.short([BIG - BS, fe.block + 1]));
      udf.setAds(b, fe, 0, udf.short([BS, fe.block], [(3 << 30) + BS, spare]));
    });
    assert.deepEqual(buf(openVolume(HOST, continued)!.read('/openstack/latest/big.bin')), bigBytes());
    const meta = readFileSync(join(src, 'meta-data'));
    const embedded = edited('u-icb.iso', (b) => udf.setAds(b, udf.fileEntry(b, meta.length), 3, meta));
    assert.deepEqual(buf(openVolume(HOST, embedded)!.read('/meta-data')), meta);
    // The main volume descriptor sequence broken (its logical volume descriptor's tag): the reserve copy serves.
    const reserve = edited('u-reserve.iso', (b) => {
      const main = b.readUInt32LE(256 * BS + 20);
      for (let s = main; s < main + 16; s++) if (b.readUInt16LE(s * BS) === 6) { b[s * BS + 4] ^= 0xff; return; }
      assert.fail('no logical volume descriptor in the main sequence');
    });
    assert.equal(openVolume(HOST, reserve)!.fsType, 'udf', 'not the ISO 9660 of the bridge');
    assert.deepEqual(buf(openVolume(HOST, reserve)!.read('/meta-data')), meta);
  });

  test('a sparable partition whose sparing table moved a packet (as a drive does for a bad one) is read where the table says', () => {
    run('mkudffs', ['--media-type=cdrw', '--new-file', '--label=spared', image('u-spared.img'), '8192']);
    const b = readFileSync(image('u-spared.img'));
    const main = b.readUInt32LE(256 * BS + 20);
    let lvd = -1;
    for (let s = main; s < main + 32 && lvd < 0; s++) if (b.readUInt16LE(s * BS) === 6) lvd = s * BS;
    const map = lvd + 440;
    assert.equal(b.subarray(map + 5, map + 28).toString('latin1').replace(/\0+$/, ''), '*UDF Sparable Partition');
    const packet = b.readUInt16LE(map + 40);
    const table = b.readUInt32LE(map + 48) * BS;
    const part = udf.partition(b);
    // The packet holding the file set descriptor (and the root), moved to the first spare packet; the original wiped.
    const fsdBlock = b.readUInt32LE(lvd + 252);
    const moved = fsdBlock - (fsdBlock % packet);
    const spare = b.readUInt32LE(table + 60);
    b.copy(b, spare * BS, (part.start + moved) * BS, (part.start + moved + packet) * BS);
    b.fill(0, (part.start + moved) * BS, (part.start + moved + packet) * BS);
    writeFileSync(image('u-wiped.img'), b);
    assert.throws(() => openVolume(HOST, image('u-wiped.img'))!.list('/'), /file set descriptor/);
    b.writeUInt32LE(moved, table + 56);
    udf.seal(b, table, b.readUInt16LE(table + 10));
    writeFileSync(image('u-spared.img'), b);
    const v = openVolume(HOST, image('u-spared.img'))!;
    assert.equal(v.label, 'spared');
    assert.deepEqual(v.list('/'), []);
  });

  test('broken volumes are refused by name, never read outside their partition', () => {
    genisoUdf();
    const refused = (name: string, edit: (b: Buffer) => void, path: string, why: RegExp) => {
      const p = edited(name, edit);
      assert.throws(() => openVolume(HOST, p)!.read(path), (e: Error) => e.message.startsWith(`${p}: udf: `) && why.test(e.message), name);
    };
    // An extent past the partition's end, though the image goes on (ISO 9660 data follows the UDF partition).
    refused('u-out.iso', (b) => {
      const part = udf.partition(b);
      assert.ok(b.length / BS > part.start + part.length + 10, 'the image goes on after the partition');
      const fe = udf.fileEntry(b, BIG);
      udf.setAds(b, fe, 0, udf.short([BIG, part.length + 2]));
    }, '/openstack/latest/big.bin', /past the end of partition 0/);
    refused('u-huge.iso', (b) => {
      const fe = udf.fileEntry(b, BIG);
      b.writeBigUInt64LE(1n << 40n, fe.at + 56);
      udf.seal(b, fe.at, b.readUInt16LE(fe.at + 10));
    }, '/openstack/latest/big.bin', /too large|cover/);
    refused('u-short.iso', (b) => { const fe = udf.fileEntry(b, BIG); udf.setAds(b, fe, 0, udf.short([BS, fe.block])); }, '/openstack/latest/big.bin', /cover 2048 of 300001 bytes/);
    refused('u-aedloop.iso', (b) => {
      const fe = udf.fileEntry(b, BIG);
      const spare = udf.fileEntry(b, 2).block;
      udf.aed(b, udf.partition(b), spare, udf.short([(3 << 30) + BS, spare]));
      udf.setAds(b, fe, 0, udf.short([BS, fe.block], [(3 << 30) + BS, spare]));
    }, '/openstack/latest/big.bin', /loop/);
    refused('u-tag.iso', (b) => { const fe = udf.fileEntry(b, statSync(join(src, 'meta-data')).size); b[fe.at + 60] ^= 0xff; }, '/meta-data', /bad descriptor tag/);
    refused('u-ext.iso', (b) => { const fe = udf.fileEntry(b, BIG); udf.setAds(b, fe, 2 as 0, udf.short([BIG, fe.block])); }, '/openstack/latest/big.bin', /allocation descriptor type 2 is not supported/);
    const truncatedBytes = readFileSync(image('u-g.iso'));
    writeFileSync(image('u-t1.iso'), truncatedBytes.subarray(0, 100_000));
    assert.equal(openVolume(HOST, image('u-t1.iso'))?.fsType, 'iso9660', 'the UDF anchor (sector 256) is gone: the ISO 9660 of the bridge is read');
    writeFileSync(image('u-t2.iso'), truncatedBytes.subarray(0, 600_000));
    const t2 = openVolume(HOST, image('u-t2.iso'))!;
    assert.equal(t2.fsType, 'udf');
    assert.throws(() => t2.read('/openstack/latest/big.bin'), (e: Error) => e.message.startsWith(image('u-t2.iso')) && /truncated/.test(e.message));
  });

  test('random corruption of the descriptors, half of them sealed again (so the garbage is parsed): results or errors naming the image', () => {
    let x = 7;
    const rand = (n: number) => { x = (x * 1103515245 + 12345) >>> 0; return (x >>> 8) % n; };
    const { files, dirs } = walk(src);
    run('mkudffs', ['--media-type=cdr', '--udfrev=2.60', '--new-file', '--label=fz', image('u-vat.img'), '8192']);
    genisoUdf();
    pycdlibUdf();
    for (const name of ['u-g.iso', 'u-p.iso', 'u-vat.img']) {
      const orig = readFileSync(image(name));
      // The descriptors: blocks with a valid tag of a known kind (genisoimage repeats the anchor all over: only sector 256's).
      const tagged: number[] = [];
      for (let at = 0; at + BS <= orig.length; at += BS) {
        const id = orig.readUInt16LE(at);
        let sum = 0;
        for (let i = 0; i < 16; i++) if (i !== 4) sum = (sum + orig[at + i]!) & 0xff;
        if (sum === orig[at + 4] && ((id >= 1 && id <= 9 && (id !== 2 || at === 256 * BS)) || (id >= 256 && id <= 266))) tagged.push(at);
      }
      assert.ok(tagged.length > 5, name);
      for (let round = 0; round < 120; round++) {
        const b = Buffer.from(orig);
        for (let k = 0; k < 1 + rand(8); k++) {
          const at = tagged[rand(tagged.length)]!;
          // Within what the descriptor's CRC covers (a directory block: its first identifiers), often a boundary value.
          const span = b.readUInt16LE(at) === 257 ? 512 : Math.max(8, Math.min(b.readUInt16LE(at + 10), BS - 16));
          b[at + 16 + rand(span)] = [0, 0xff, 0x80, 1, rand(256)][rand(5)]!;
          if (round % 2 === 1) udf.seal(b, at, Math.min(b.readUInt16LE(at + 10), BS - 16));
        }
        const p = image(`fuzz-${name}`);
        writeFileSync(p, b);
        let v: Volume | null = null;
        try { v = openVolume(HOST, p); } catch (e) { assert.ok(e instanceof Error); continue; }
        if (!v) continue;
        for (const op of [...dirs.map((d) => () => v.list(d)), ...files.map((f) => () => v.read(f))]) {
          try { op(); } catch (e) { assert.ok(e instanceof Error && e.message.startsWith(p), String(e)); }
        }
      }
    }
  });

  test('findVolumeByLabel finds a UDF volume by its UDF label', () => {
    genisoUdf();
    const root = tempDir('ec2-init-root-');
    mkdirSync(join(root, 'dev'), { recursive: true });
    mkdirSync(join(root, 'sys/class/block/sr0'), { recursive: true });
    linkSync(image('u-g.iso'), join(root, 'dev/sr0'));
    assert.equal(findVolumeByLabel(new Files(root), ['cidata']), '/dev/sr0');
  });
});

describe('findVolumeByLabel', { skip }, () => {
  /** A fake root: dev/<name> image files, sys/class/block/<name> directories (with size), by-label links. */
  function fakeRoot(devs: Record<string, string | null>, links: Record<string, string> = {}, sizes: Record<string, string> = {}): string {
    const root = tempDir('ec2-init-root-');
    mkdirSync(join(root, 'dev/disk/by-label'), { recursive: true });
    mkdirSync(join(root, 'sys/class/block'), { recursive: true });
    for (const [name, img] of Object.entries(devs)) {
      mkdirSync(join(root, 'sys/class/block', name));
      if (sizes[name] !== undefined) writeFileSync(join(root, 'sys/class/block', name, 'size'), `${sizes[name]}\n`);
      if (img) linkSync(img, join(root, 'dev', name));
    }
    for (const [label, target] of Object.entries(links)) symlinkSync(target, join(root, 'dev/disk/by-label', label));
    return root;
  }
  const inRoot = (root: string) => new Files(root);

  test('by-label symlink, relative and absolute, resolved inside the root', () => {
    const root = fakeRoot({ sr0: image('g.iso'), vdb: image('f32.img') }, { cidata: '../../sr0', 'config-2': '/dev/vdb' });
    assert.equal(findVolumeByLabel(inRoot(root), ['cidata', 'CIDATA']), '/dev/sr0');
    assert.equal(findVolumeByLabel(inRoot(root), ['config-2', 'CONFIG-2']), '/dev/vdb');
  });

  test('no links: every block device is probed; labels match exactly', () => {
    writeFileSync(image('garbage-dev'), Buffer.alloc(70_000, 0xab));
    const root = fakeRoot({ sda: image('garbage-dev'), sda1: null, sdb: image('f12.img'), sr0: image('x.iso'), 'cciss!c0d0': null });
    assert.equal(findVolumeByLabel(inRoot(root), ['cidata', 'CIDATA']), '/dev/sdb');
    assert.equal(findVolumeByLabel(inRoot(root), ['config-2', 'CONFIG-2']), '/dev/sr0');
    assert.equal(findVolumeByLabel(inRoot(root), ['cidata']), null, 'CIDATA is not cidata');
    assert.equal(findVolumeByLabel(inRoot(root), ['Config-2']), null);
  });

  test('a stale by-label link falls back to the scan; empty devices are skipped', () => {
    const root = fakeRoot({ sr0: image('g.iso'), vdc: image('f16.img'), loop0: image('j.iso') }, { CIDATA: '../../sr0' }, { loop0: '0' });
    // sr0 is labelled cidata, not CIDATA; loop0 (labelled CIDATA) has size 0 and is skipped.
    assert.equal(findVolumeByLabel(inRoot(root), ['CIDATA']), null);
    assert.equal(findVolumeByLabel(inRoot(root), ['cidata']), '/dev/sr0');
  });

  test('unreadable or odd devices and roots never throw', () => {
    const root = fakeRoot({ sda: null, sdb: null });
    mkdirSync(join(root, 'dev/sda')); // a directory where a device should be
    symlinkSync('/nonexistent', join(root, 'dev/sdb'));
    symlinkSync('../../nowhere', join(root, 'dev/disk/by-label/cidata'));
    symlinkSync('loop', join(root, 'dev/disk/by-label/CIDATA'));
    symlinkSync('loop', join(root, 'dev/disk/by-label/loop'));
    assert.equal(findVolumeByLabel(inRoot(root), ['cidata', 'CIDATA']), null);
    assert.equal(findVolumeByLabel(new Files('/nonexistent-root'), ['cidata']), null);
    const bare = tempDir('ec2-init-root-');
    assert.equal(findVolumeByLabel(inRoot(bare), ['cidata']), null);
  });

  test('nothing matching costs milliseconds (measured)', (t) => {
    const devs: Record<string, string> = {};
    for (const n of ['sda', 'sdb', 'sdc', 'vda', 'vdb', 'nvme0n1', 'sr0', 'sr1']) devs[n] = image(n === 'sr0' ? 'x.iso' : n === 'sdb' ? 'f12.img' : 'garbage-dev');
    const root = fakeRoot(devs);
    findVolumeByLabel(inRoot(root), ['nothing']);
    const n = 20;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) assert.equal(findVolumeByLabel(inRoot(root), ['cidata-none', 'CIDATA-NONE']), null);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6 / n;
    t.diagnostic(`findVolumeByLabel, 8 devices, no match: ${ms.toFixed(3)} ms`);
    assert.ok(ms < 50, `${ms} ms`);
  });
});

describe('cost (measured, reported)', { skip }, () => {
  test('openVolume + read meta-data and user-data from typical seeds', (t) => {
    const seed = join(tmp, 'seed');
    mkdirSync(seed);
    writeFileSync(join(seed, 'meta-data'), 'instance-id: iid-1\nlocal-hostname: h\n');
    writeFileSync(join(seed, 'user-data'), `#cloud-config\n${'# padding\n'.repeat(400)}`);
    run('genisoimage', ['-quiet', '-o', image('seed.iso'), '-V', 'cidata', '-J', '-r', seed]);
    run('mkfs.vfat', ['-n', 'CIDATA', '-C', image('seed.img'), '2048']);
    run('mcopy', ['-i', image('seed.img'), join(seed, 'meta-data'), join(seed, 'user-data'), '::/']);
    run('genisoimage', ['-quiet', '-udf', '-o', image('seed-udf.iso'), '-V', 'cidata', '-J', '-r', seed]);
    assert.equal(openVolume(HOST, image('seed-udf.iso'))!.fsType, 'udf');
    for (const img of ['seed.iso', 'seed.img', 'seed-udf.iso']) {
      const once = () => {
        const v = openVolume(HOST, image(img))!;
        return [v.read('/meta-data')!, v.read('/user-data')!];
      };
      const [m, u] = once();
      assert.deepEqual(buf(m), readFileSync(join(seed, 'meta-data')));
      assert.deepEqual(buf(u), readFileSync(join(seed, 'user-data')));
      const n = 200;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) once();
      t.diagnostic(`${img}: openVolume + 2 reads: ${(Number(process.hrtime.bigint() - t0) / 1e6 / n).toFixed(3)} ms (warm)`);
    }
  });
});
