// Files of the target system, always under the root. Every write is atomic:
// a temp file in the same directory, fsync, rename, fsync of the directory,
// so a boot killed at any moment leaves either the old file or the new one.
import {
  chmodSync, chownSync, closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync,
  readdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { resolveInRoot } from './paths.ts';

export interface WriteOptions {
  /** File mode; 0o644 unless given. User-data and what derives from it: 0o600. */
  mode?: number;
  uid?: number;
  gid?: number;
}

export class Files {
  readonly root: string;
  constructor(root: string) { this.root = root; }

  /** This machine's path for `path` of the target system. */
  real(path: string): string { return resolveInRoot(this.root, path); }

  /**
   * This machine's path for the entry `path` itself: its directory resolved,
   * its last component not followed (to replace or remove a symlink, not its target).
   */
  entry(path: string): string {
    const name = path.split('/').filter(Boolean).pop() ?? '';
    return `${this.real(dirname(path))}/${name}`;
  }

  /** True when `path` itself is a symbolic link. */
  isSymlink(path: string): boolean {
    try { return lstatSync(this.entry(path)).isSymbolicLink(); } catch { return false; }
  }

  exists(path: string): boolean { return existsSync(this.real(path)); }

  read(path: string): Buffer { return readFileSync(this.real(path)); }

  readText(path: string): string { return readFileSync(this.real(path), 'utf8'); }

  /** The file's content, or null when it does not exist. */
  readIfExists(path: string): Buffer | null {
    try { return readFileSync(this.real(path)); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  list(path: string): string[] {
    try { return readdirSync(this.real(path)).sort(); } catch { return []; }
  }

  mkdir(path: string, mode = 0o755): void {
    mkdirSync(this.real(path), { recursive: true, mode });
  }

  /** Replace `path` with `data` atomically, creating parent directories. */
  write(path: string, data: string | Buffer, opts: WriteOptions = {}): void {
    const target = this.real(path);
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    // A fixed temp name (no pid): a write cut short by a crash leaves it behind,
    // and the retry of that same write (its semaphore was never written)
    // reuses and renames it, so crashes do not accumulate litter.
    const temp = `${dirname(target)}/.${target.slice(dirname(target).length + 1)}.ec2-init.tmp`;
    const mode = opts.mode ?? 0o644;
    // Created with the final mode already, so a secret is never readable, even briefly.
    const fd = openSync(temp, 'w', mode & 0o600);
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      if (opts.uid !== undefined || opts.gid !== undefined) {
        chownSync(temp, opts.uid ?? 0, opts.gid ?? 0);
      }
      chmodSync(temp, mode);
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      rmSync(temp, { force: true });
      throw e;
    }
    closeSync(fd);
    renameSync(temp, target);
    syncDir(dirname(target));
  }

  /** Append atomically: the old content plus `data`, written as one new file. */
  append(path: string, data: string | Buffer, opts: WriteOptions = {}): void {
    const old = this.readIfExists(path) ?? Buffer.alloc(0);
    this.write(path, Buffer.concat([old, typeof data === 'string' ? Buffer.from(data) : data]), opts);
  }

  /** Point `path` at `target` (a symlink), replacing what was there atomically. */
  symlink(path: string, target: string): void {
    const real = this.entry(path);
    const temp = `${dirname(real)}/.${path.split('/').pop()}.ec2-init.tmp`;
    rmSync(temp, { force: true });
    symlinkSync(target, temp);
    renameSync(temp, real);
    syncDir(dirname(real));
  }

  /** Remove `path` (a symlink itself, not what it points to). */
  remove(path: string): void { rmSync(this.entry(path), { recursive: true, force: true }); }

  /** Remove a file or symlink (not a directory, not a link's target); no error when it is absent. */
  unlink(path: string): void {
    try { unlinkSync(this.entry(path)); } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  isDirectory(path: string): boolean {
    try { return lstatSync(this.real(path)).isDirectory(); } catch { return false; }
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}
