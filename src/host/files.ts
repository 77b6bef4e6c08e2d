// Files of the target system, always under the root, never by a host path:
// every call walks the path on directory descriptors (tree.ts), so a link
// planted anywhere — by the image, a bootcmd, or a user in a directory they
// own — never leads a read or a write out of the root, and a link that root
// does not own is never followed at all.
//
// Every write is atomic and never goes through what is at the name: a temp
// file with a fresh random name is created with O_CREAT|O_EXCL|O_NOFOLLOW and
// the final mode's owner-only part (a secret is never briefly readable), owner
// and mode are set on the descriptor, then fsync, rename over the name, fsync
// of the directory. A hard link at the name is replaced, not written through.
import { PathError, pathError, Walker, type Place, type WalkOptions } from './tree.ts';
import {
  O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDONLY, O_WRONLY, sys, type Stat,
} from './sys.ts';

export { PathError } from './tree.ts';

export interface WriteOptions {
  /** File mode; 0o644 unless given. User-data and what derives from it: 0o600. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Missing parent directories are made with this mode and owner (default 0755, root). */
  parents?: { mode: number; uid?: number; gid?: number };
  /**
   * Durable at the next flushDeferred(), not before this call returns: the
   * file is still written to a temp name and renamed (no reader ever sees it
   * half-written), but its two fsyncs are left to one syncfs of the
   * filesystem. For many small files written at once (a user-data's 10,000
   * scripts: two fsyncs each were ~8 ms a file).
   */
  deferSync?: boolean;
}

/** Files larger than this are refused by read(): nothing ec2-init reads is near it. */
export const MAX_READ = 64 * 1024 * 1024;

export class Files {
  /** The root as a path of this machine: for chroot(2) only, never to reach files by. */
  readonly root: string;
  private rootFd: number | null = null;
  /** Directories (device:inode) this process has swept of its earlier runs' temp files: once each (removeOwnLitter). */
  private readonly swept = new Set<string>();
  /** Filesystems holding deferSync writes not flushed yet: device → a descriptor of a directory on it. */
  private readonly deferred = new Map<number, number>();
  /**
   * The directories at() walked to for deferSync writes, until flushDeferred:
   * path → its descriptor, from the walk of the first write there. The next
   * ones skip the walk (six opens and stats a script in instances/ID/scripts/).
   */
  private readonly walkedDirs = new Map<string, number>();
  constructor(root: string) { this.root = root; }

  private fd(): number {
    this.rootFd ??= sys.openat(sys.AT_FDCWD, this.root, O_RDONLY | O_DIRECTORY, 0);
    return this.rootFd;
  }

  /**
   * Walk to `path` and hand its place to `fn`; the walk's descriptors are
   * closed after. `keepDir`: the directory is kept (until flushDeferred) and
   * the next keepDir call for a plain name in it starts there, not at the root.
   */
  private at<T>(path: string, opts: WalkOptions, fn: (place: Place) => T, keepDir = false): T {
    const kept = keepDir ? this.keptPlace(path) : null;
    if (kept) {
      try { return fn(kept); } catch (e) { throw pathError(path, e); }
    }
    const walker = new Walker(this.fd());
    try {
      const place = walker.walk(path, opts);
      // Kept only where the walk took no link ('.', '..' or a link in `path` would map its directory's name to another one).
      const parent = path.slice(0, path.lastIndexOf('/'));
      if (keepDir && place.path === path && !this.walkedDirs.has(parent)) this.walkedDirs.set(parent, sys.openat(place.dir, '.', O_RDONLY | O_DIRECTORY, 0));
      return fn(place);
    } catch (e) {
      throw pathError(path, e);
    } finally { walker.done(); }
  }

  /**
   * `path`'s place in a directory kept by an earlier keepDir walk, when its
   * last name is a plain one holding nothing or a file (a link, or anything
   * else, takes the walk).
   */
  private keptPlace(path: string): Place | null {
    const slash = path.lastIndexOf('/');
    const name = path.slice(slash + 1);
    const dir = this.walkedDirs.get(path.slice(0, slash));
    if (dir === undefined || name === '' || name === '.' || name === '..') return null;
    let stat: Stat | null;
    try { stat = sys.fstatat(dir, name, true); } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') return null;
      stat = null;
    }
    if (stat !== null && stat.kind !== 'file') return null;
    return { dir, name, path, stat };
  }

  /** Like at(), but a path whose directories do not exist is `absent`, as a missing last name is. */
  private atIfExists<T>(path: string, opts: WalkOptions, absent: T, fn: (place: Place) => T): T {
    try { return this.at(path, opts, fn); } catch (e) {
      if (e instanceof PathError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return absent;
      throw e;
    }
  }

  /** What `path` is (links followed), or null when nothing is there. */
  stat(path: string): Stat | null {
    return this.atIfExists(path, { followLast: true }, null, (p) => p.stat);
  }

  /** What `path` itself is (a link is not followed), or null. */
  lstat(path: string): Stat | null {
    return this.atIfExists(path, { followLast: false }, null, (p) => p.stat);
  }

  /** True when something is at `path` (links followed); false also when the path cannot be walked safely. */
  exists(path: string): boolean {
    try { return this.stat(path) !== null; } catch { return false; }
  }

  isDirectory(path: string): boolean {
    try { return this.stat(path)?.kind === 'dir'; } catch { return false; }
  }

  /** True when `path` itself is a symbolic link. */
  isSymlink(path: string): boolean {
    try { return this.lstat(path)?.kind === 'link'; } catch { return false; }
  }

  /** The target of the link at `path`, or null when it is not a link. */
  readlink(path: string): string | null {
    return this.atIfExists(path, { followLast: false }, null, (p) => (p.stat?.kind === 'link' ? sys.readlinkat(p.dir, p.name) : null));
  }

  /** `path` with every link resolved (inside the root), as a path of the target system. */
  realpath(path: string): string {
    return this.at(path, { followLast: true }, (p) => {
      if (p.stat === null) throw new PathError(path, 'ENOENT', 'no such file or directory');
      return p.path;
    });
  }

  /** A regular file's content (at most MAX_READ bytes). */
  read(path: string, maxBytes = MAX_READ): Uint8Array {
    const content = this.readIfExists(path, maxBytes);
    if (content === null) throw new PathError(path, 'ENOENT', 'no such file or directory');
    return content;
  }

  readText(path: string): string { return sys.utf8Decode(this.read(path)); }

  /** The file's content, or null when it does not exist. */
  readIfExists(path: string, maxBytes = MAX_READ): Uint8Array | null {
    return this.atIfExists(path, { followLast: true }, null, (p) => {
      if (p.stat === null) return null;
      if (p.stat.kind !== 'file') throw new PathError(path, 'EINVAL', `is not a regular file (${p.stat.kind})`);
      const fd = sys.openat(p.dir, p.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
      try {
        const st = sys.fstat(fd);
        if (st.kind !== 'file') throw new PathError(path, 'EINVAL', `is not a regular file (${st.kind})`);
        refuseForeignHardLink(path, st, sys.fstat(p.dir));
        return readAll(fd, path, maxBytes, st.size);
      } finally { sys.close(fd); }
    });
  }

  /** The filesystem of an existing directory: its type and free space. */
  statfs(path: string): { type: number; bsize: number; blocks: number; bfree: number } {
    return this.at(path, { followLast: true }, (p) => {
      if (p.stat?.kind !== 'dir') throw new PathError(path, 'ENOTDIR', 'is not a directory');
      const fd = sys.openat(p.dir, p.name || '.', O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
      try { return sys.fstatfs(fd); } finally { sys.close(fd); }
    });
  }

  /**
   * The path of this machine that `path` resolves to, for matching against
   * this machine's mount table and for messages — never to open: a path can
   * change between looking and opening, a descriptor cannot.
   */
  hostPath(path: string): string {
    let resolved: string;
    try { resolved = this.realpath(path); } catch { resolved = path; }
    return this.root === '/' ? resolved : `${this.root.replace(/\/$/, '')}${resolved === '/' ? '' : resolved}`;
  }

  /** The file's content as UTF-8 text, or null when it does not exist. */
  readTextIfExists(path: string, maxBytes = MAX_READ): string | null {
    const content = this.readIfExists(path, maxBytes);
    return content === null ? null : sys.utf8Decode(content);
  }

  /** The names in a directory, sorted; [] when it does not exist (or is not a directory). */
  list(path: string): string[] {
    try {
      return this.at(path, { followLast: true }, (p) => {
        if (p.stat?.kind !== 'dir') return [];
        const fd = p.name === '' ? sys.openat(p.dir, '.', O_RDONLY | O_DIRECTORY, 0) : sys.openat(p.dir, p.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        try { return sys.readdir(fd).sort(); } finally { sys.close(fd); }
      });
    } catch { return []; }
  }

  /** Make a directory and its missing parents (0755, root); an existing one is left as it is. */
  mkdir(path: string, mode = 0o755, owner?: { uid: number; gid: number }): void {
    this.at(path, { followLast: true, create: { mode: 0o755 } }, (p) => {
      if (p.stat?.kind === 'dir') return;
      if (p.stat !== null) throw new PathError(path, 'EEXIST', `exists and is not a directory (${p.stat.kind})`);
      sys.mkdirat(p.dir, p.name, 0o700);
      const fd = sys.openat(p.dir, p.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
      try {
        if (owner) sys.fchown(fd, owner.uid, owner.gid);
        sys.fchmod(fd, mode);
      } finally { sys.close(fd); }
    });
  }

  /** Make `path` a directory with exactly this mode and owner (made when missing, fixed when not). */
  ensureDir(path: string, mode: number, uid: number, gid: number): void {
    this.mkdir(path, mode, { uid, gid });
    this.at(path, { followLast: true }, (p) => {
      const fd = sys.openat(p.dir, p.name || '.', O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
      try { sys.fchown(fd, uid, gid); sys.fchmod(fd, mode); } finally { sys.close(fd); }
    });
  }

  /** Replace `path` with `data` atomically, creating parent directories. */
  write(path: string, data: string | Uint8Array, opts: WriteOptions = {}): void {
    const mode = opts.mode ?? 0o644;
    const bytes = typeof data === 'string' ? sys.utf8Encode(data) : data;
    const place = (p: Place) => {
      if (p.name === '' || p.stat?.kind === 'dir') throw new PathError(path, 'EISDIR', 'is a directory');
      const dir = this.sweepOnce(p.dir);
      // Already exactly so (a second boot rewrites what it wrote on the first): two fsyncs saved, nothing changed.
      if (p.stat && alreadyWritten(p.dir, p.name, p.stat, bytes, mode, opts)) return;
      const temp = tempName(p.name);
      const fd = sys.openat(p.dir, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode & 0o600);
      try {
        writeAll(fd, bytes);
        // Owner first: chown clears setuid/setgid bits, so the mode comes after it.
        if (opts.uid !== undefined || opts.gid !== undefined) sys.fchown(fd, opts.uid ?? 0, opts.gid ?? 0);
        sys.fchmod(fd, mode);
        if (!opts.deferSync) sys.fsync(fd);
        sys.close(fd);
        sys.renameat(p.dir, temp, p.dir, p.name);
      } catch (e) {
        try { sys.close(fd); } catch { /* closed already */ }
        try { sys.unlinkat(p.dir, temp, false); } catch { /* renamed or gone */ }
        throw e;
      }
      if (opts.deferSync) this.defer(p.dir, dir.dev);
      else sys.fsync(p.dir);
    };
    this.at(path, { followLast: true, create: opts.parents ?? { mode: 0o755 } }, place, opts.deferSync === true);
  }

  /**
   * Make every deferSync write so far durable: one syncfs(2) per filesystem
   * they went to. Call it before recording anything that counts on them
   * (a semaphore, a stage's status): a power cut before this returns is a
   * boot that did not finish, and the next one writes them again.
   */
  flushDeferred(): void {
    const fds = [...this.deferred.values()];
    for (const fd of this.walkedDirs.values()) try { sys.close(fd); } catch { /* closed already */ }
    this.deferred.clear();
    this.walkedDirs.clear();
    let failure: unknown = null;
    for (const fd of fds) {
      try { sys.syncfs(fd); } catch (e) { failure ??= e; }
      try { sys.close(fd); } catch { /* closed already */ }
    }
    if (failure !== null) throw pathError(this.root, failure);
  }

  private defer(dirFd: number, dev: number): void {
    if (!this.deferred.has(dev)) this.deferred.set(dev, sys.openat(dirFd, '.', O_RDONLY | O_DIRECTORY, 0));
  }

  /**
   * The temp files an earlier run of ec2-init left in this directory (a
   * crash between create and rename) are removed on the first write here;
   * later writes in the same directory need no look: only this process,
   * holding the boot lock, writes such names now, and it renames or removes
   * each one before the write returns. (Listing the directory at every write
   * made saving 10,000 scripts quadratic.) Returns the directory's stat.
   */
  private sweepOnce(dirFd: number): Stat {
    const st = sys.fstat(dirFd);
    const key = `${st.dev}:${st.ino}`;
    if (!this.swept.has(key)) {
      removeOwnLitter(dirFd);
      this.swept.add(key);
    }
    return st;
  }

  /** Append atomically: the old content plus `data`, written as one new file. */
  append(path: string, data: string | Uint8Array, opts: WriteOptions = {}): void {
    const old = this.readIfExists(path) ?? new Uint8Array(0);
    const add = typeof data === 'string' ? sys.utf8Encode(data) : data;
    const both = new Uint8Array(old.length + add.length);
    both.set(old, 0);
    both.set(add, old.length);
    this.write(path, both, opts);
  }

  /** Point `path` at `target` (a symlink), replacing what was there atomically. */
  symlink(path: string, target: string): void {
    this.at(path, { followLast: false, create: { mode: 0o755 } }, (p) => {
      if (p.name === '') throw new PathError(path, 'EISDIR', 'is the root');
      this.sweepOnce(p.dir);
      if (p.stat?.kind === 'link' && sys.readlinkat(p.dir, p.name) === target) return;
      const temp = tempName(p.name);
      sys.symlinkat(target, p.dir, temp);
      try { sys.renameat(p.dir, temp, p.dir, p.name); } catch (e) {
        try { sys.unlinkat(p.dir, temp, false); } catch { /* gone */ }
        throw e;
      }
      sys.fsync(p.dir);
    });
  }

  /** Remove `path` and, for a directory, everything in it (a link is removed itself, never followed). */
  remove(path: string): void {
    this.atIfExists(path, { followLast: false }, undefined, (p) => {
      if (p.stat === null || p.name === '') return;
      if (p.stat.kind === 'dir') removeTree(p.dir, p.name);
      else sys.unlinkat(p.dir, p.name, false);
    });
  }

  /** Remove a file or symlink (not a directory, not a link's target); no error when it is absent. */
  unlink(path: string): void {
    this.atIfExists(path, { followLast: false }, undefined, (p) => {
      if (p.stat === null) return;
      if (p.stat.kind === 'dir') throw new PathError(path, 'EISDIR', 'is a directory');
      sys.unlinkat(p.dir, p.name, false);
    });
  }

  /** Set the mode of an existing file or directory (a root-owned link is followed). */
  chmod(path: string, mode: number): void {
    this.onExisting(path, (fd) => sys.fchmod(fd, mode));
  }

  /** Set the owner of an existing file or directory. */
  chown(path: string, uid: number, gid: number): void {
    this.onExisting(path, (fd) => sys.fchown(fd, uid, gid));
  }

  private onExisting(path: string, fn: (fd: number) => void): void {
    this.at(path, { followLast: true }, (p) => {
      if (p.stat === null) throw new PathError(path, 'ENOENT', 'no such file or directory');
      const fd = sys.openat(p.dir, p.name || '.', O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
      try { fn(fd); } finally { sys.close(fd); }
    });
  }

  /**
   * Open a regular file or block device for reading at offsets (sys.read with
   * a position); the caller closes it. Null when nothing is there.
   */
  openForReading(path: string): { fd: number; stat: Stat } | null {
    return this.atIfExists(path, { followLast: true }, null, (p) => {
      if (p.stat === null) return null;
      if (p.stat.kind !== 'file' && p.stat.kind !== 'block') throw new PathError(path, 'EINVAL', `is not a file or block device (${p.stat.kind})`);
      const fd = sys.openat(p.dir, p.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
      return { fd, stat: sys.fstat(fd) };
    });
  }

  /**
   * The unix socket at `path`, for sys.connectUnix: an O_PATH descriptor of
   * the socket node itself (root-owned links on the way resolved inside the
   * root, the last name opened O_NOFOLLOW) and `/proc/self/fd/N`, the address
   * that reaches exactly that node — never a path the kernel would resolve
   * against this machine's /. The caller closes it. Null when nothing is
   * there; a PathError when it is not a socket.
   */
  openSocket(path: string): { fd: number; address: string; close(): void } | null {
    return this.atIfExists(path, { followLast: true }, null, (p) => {
      if (p.stat === null) return null;
      if (p.stat.kind !== 'socket') throw new PathError(path, 'EINVAL', `is not a socket (${p.stat.kind})`);
      const fd = sys.openat(p.dir, p.name, O_PATH | O_NOFOLLOW, 0);
      if (sys.fstat(fd).kind !== 'socket') { sys.close(fd); throw new PathError(path, 'EUNSAFE', 'changed while being opened'); }
      return { fd, address: `/proc/self/fd/${fd}`, close: () => sys.close(fd) };
    });
  }

  /** A lock file of ours (0600), opened for flock(2); made when missing unless `create` is false. */
  openLockFile(path: string, create = true): number {
    return this.at(path, { followLast: false, ...(create && { create: { mode: 0o755 } }) }, (p) => {
      if (p.stat === null && !create) throw new PathError(path, 'ENOENT', 'no such file or directory');
      if (p.stat !== null && (p.stat.kind !== 'file' || p.stat.nlink !== 1)) {
        throw new PathError(path, 'EUNSAFE', `is not a plain file of ours (${p.stat.kind}, ${p.stat.nlink} links): remove it`);
      }
      const fd = sys.openat(p.dir, p.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | (create ? O_CREAT : 0), 0o600);
      const st = sys.fstat(fd);
      if (st.kind !== 'file') { sys.close(fd); throw new PathError(path, 'EUNSAFE', 'changed while being opened'); }
      return fd;
    });
  }

  /** A log file of ours, appended to on a descriptor and re-checked before each write (see AppendFile). */
  openAppend(path: string, mode: number): AppendFile {
    return new AppendFile(this, path, mode);
  }

  /** For AppendFile: open `path` for appending, safely; replaces whatever is not a plain file of ours there. */
  openAppendFd(path: string, mode: number, replaced: (what: string) => void): { fd: number; stat: Stat } {
    return this.at(path, { followLast: false, create: { mode: 0o755 } }, (p) => {
      if (p.stat !== null && (p.stat.kind !== 'file' || p.stat.nlink !== 1)) {
        // A link, a FIFO, a hard link to some other file: never appended through. Moved aside, not deleted.
        replaced(p.stat.kind === 'file' ? `a file with ${p.stat.nlink} hard links` : `a ${p.stat.kind === 'link' ? 'symbolic link' : p.stat.kind}`);
        sys.renameat(p.dir, p.name, p.dir, `${p.name}.unsafe-${hex(sys.randomBytes(4))}`);
      }
      let fd: number;
      try {
        fd = sys.openat(p.dir, p.name, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, mode);
      } catch (e) { throw pathError(path, e); }
      const st = sys.fstat(fd);
      if (st.kind !== 'file' || st.nlink !== 1) { sys.close(fd); throw new PathError(path, 'EUNSAFE', 'changed while being opened'); }
      if (st.perm !== mode && st.uid === 0) sys.fchmod(fd, mode);
      return { fd, stat: st };
    });
  }
}

/**
 * A file appended to on an open descriptor (never by path). Before each write
 * it checks that the path still names the file it has open; when something
 * else is there (a bootcmd put a link in its place, logrotate moved it) it
 * opens the path anew, the same safe way.
 */
export class AppendFile {
  private readonly files: Files;
  private readonly path: string;
  private readonly mode: number;
  private current: { fd: number; stat: Stat } | null = null;
  /** Told (once per replacement) when something unsafe had to be moved aside. */
  onReplaced: (what: string) => void = () => {};
  constructor(files: Files, path: string, mode: number) {
    this.files = files;
    this.path = path;
    this.mode = mode;
  }

  /** The descriptor, after the check (for handing to a program as its output). */
  fd(): number {
    if (this.current) {
      let now: Stat | null = null;
      try { now = this.files.lstat(this.path); } catch { now = null; }
      if (now && now.kind === 'file' && now.dev === this.current.stat.dev && now.ino === this.current.stat.ino) return this.current.fd;
      sys.close(this.current.fd);
      this.current = null;
    }
    const notes: string[] = [];
    this.current = this.files.openAppendFd(this.path, this.mode, (what) => notes.push(`${this.path} was ${what}: moved aside, a new log started`));
    // Told only now that the new file is in place: the listener may well write to this very file.
    for (const note of notes) this.onReplaced(note);
    return this.current.fd;
  }

  write(data: string | Uint8Array): void {
    writeAll(this.fd(), typeof data === 'string' ? sys.utf8Encode(data) : data);
  }

  close(): void {
    if (this.current) sys.close(this.current.fd);
    this.current = null;
  }
}

function refuseForeignHardLink(path: string, st: Stat, dir: Stat): void {
  // A user may hard-link a file of root's (/etc/shadow) into a directory they
  // own; reading it to merge into a file of theirs would hand it to them.
  if (st.nlink > 1 && dir.uid !== 0 && st.uid !== dir.uid) {
    throw new PathError(path, 'EUNSAFE', `has ${st.nlink} hard links and belongs to uid ${st.uid}, not to the owner of its directory (uid ${dir.uid}): not read`);
  }
}

/**
 * The whole file, in a buffer sized by what fstat said (one byte more, so the
 * end shows in the same read), grown by doubling if the file grew meanwhile.
 * Not a fixed large chunk: a buffer is zeroed when made, and a stage reads
 * dozens of small files (a 1 MiB chunk each was a third of a stage's time).
 */
function readAll(fd: number, path: string, maxBytes: number, size: number): Uint8Array {
  let buf = new Uint8Array(Math.min(maxBytes + 1, Math.max(size + 1, 256)));
  let total = 0;
  for (;;) {
    if (total === buf.length) {
      const bigger = new Uint8Array(Math.min(maxBytes + 1, buf.length * 2));
      bigger.set(buf);
      buf = bigger;
    }
    const n = sys.read(fd, buf, total, buf.length - total, -1);
    if (n === 0) break;
    total += n;
    if (total > maxBytes) throw new PathError(path, 'EFBIG', `is larger than ${maxBytes} bytes: not read`);
  }
  return buf.subarray(0, total);
}

/**
 * Whether the file already is what a write would make it: a regular file of
 * one link (a hard link is always replaced), the mode and owner asked for,
 * the same bytes.
 */
function alreadyWritten(dir: number, name: string, st: Stat, bytes: Uint8Array, mode: number, opts: WriteOptions): boolean {
  if (st.kind !== 'file' || st.nlink !== 1 || st.size !== bytes.length || st.perm !== mode) return false;
  if (st.uid !== (opts.uid ?? 0) || st.gid !== (opts.gid ?? 0)) return false;
  const fd = sys.openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
  try {
    const now = sys.fstat(fd);
    if (now.kind !== 'file' || now.ino !== st.ino || now.size !== bytes.length) return false;
    const old = readAll(fd, name, bytes.length, bytes.length);
    for (let i = 0; i < bytes.length; i++) if (old[i] !== bytes[i]) return false;
    return true;
  } catch {
    return false;
  } finally { sys.close(fd); }
}

export function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += sys.write(fd, bytes, off, bytes.length - off);
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** A fresh name beside `name` that nothing can have planted in advance (it is also created O_EXCL). */
function tempName(name: string): string {
  return `.${name.slice(0, 100)}.${hex(sys.randomBytes(6))}.ec2-init-tmp`;
}

/**
 * The temp files of earlier writes in this directory that a crash cut short
 * (`.NAME.<12 hex>.ec2-init-tmp`): removed (unlinked, never followed or
 * opened), so crashes leave no litter behind the writes that finally land.
 * Only ec2-init holding the boot lock writes here.
 */
function removeOwnLitter(dir: number): void {
  let names: string[];
  try {
    const fd = sys.openat(dir, '.', O_RDONLY | O_DIRECTORY, 0);
    try { names = sys.readdir(fd); } finally { sys.close(fd); }
  } catch { return; }
  for (const n of names) {
    if (n.startsWith('.') && /\.[0-9a-f]{12}\.ec2-init-tmp$/.test(n)) {
      try { sys.unlinkat(dir, n, false); } catch { /* gone already */ }
    }
  }
}

/** Remove the directory `name` in `dir` and everything in it, never following a link. */
function removeTree(dir: number, name: string): void {
  const fd = sys.openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
  try {
    for (const entry of sys.readdir(fd)) {
      const st = sys.fstatat(fd, entry, true);
      if (st.kind === 'dir') removeTree(fd, entry);
      else sys.unlinkat(fd, entry, false);
    }
  } finally { sys.close(fd); }
  sys.unlinkat(dir, name, true);
}
