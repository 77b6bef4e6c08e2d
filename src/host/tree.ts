// Walking a path of the target system one component at a time, on open
// directory descriptors, the way a chroot into the root would see it — but
// safer than a chroot:
// - Every step is openat(dir, name, O_NOFOLLOW|O_DIRECTORY) on the directory
//   reached so far, so a directory swapped for a link between two steps is
//   refused, never followed.
// - A symbolic link is followed against the root (an absolute target starts
//   again at the root, '..' never climbs above it) and only when root owns
//   it. A link owned by another user (planted in ~/.ssh, in /tmp, in a
//   directory a user owns) could point at /etc/shadow: it is refused.
// - At most 40 links per path, like the kernel.
import { O_DIRECTORY, O_NOFOLLOW, O_RDONLY, sys, type Stat } from './sys.ts';

const MAX_LINKS = 40;

/** A refusal or failure about a path of the target system, with its errno-like code. */
export class PathError extends Error {
  readonly code: string;
  readonly path: string;
  constructor(path: string, code: string, message: string) {
    super(`${path}: ${message}`);
    this.code = code;
    this.path = path;
  }
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'already exists',
  ELOOP: 'is a symbolic link (not followed)',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only filesystem',
  ENAMETOOLONG: 'name too long',
  ENOTEMPTY: 'directory not empty',
  EXDEV: 'on another filesystem',
};

/** A PathError for a failed system call on `path` (of the target system). */
export function pathError(path: string, e: unknown): PathError {
  if (e instanceof PathError) return e;
  const code = (e as { code?: string }).code ?? 'EIO';
  return new PathError(path, code, REASONS[code] ?? (e as Error).message);
}

function split(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/** Where a walk ended: the open directory holding the last name, and that name ('' for the root itself). */
export interface Place {
  dir: number;
  name: string;
  /** The place as a path of the target system, links resolved: for messages and for links' targets. */
  path: string;
  /** What is there (not following a link), or null when nothing is. */
  stat: Stat | null;
}

export interface WalkOptions {
  /** Follow a link in the last component (a root-owned one) to what it names. */
  followLast: boolean;
  /** Create missing directories on the way (mode 0755, root-owned, unless given). */
  create?: { mode: number; uid?: number; gid?: number };
}

/**
 * A walk from the root. `walk()` returns the Place of a path; the directory
 * descriptors it holds are closed by `done()` (call it in a finally).
 */
export class Walker {
  private readonly rootFd: number;
  private readonly held: number[] = [];
  constructor(rootFd: number) { this.rootFd = rootFd; }

  walk(path: string, opts: WalkOptions): Place {
    const pending = split(path);
    // The directories entered so far, [root, …], and their names.
    const dirs: number[] = [this.rootFd];
    const names: string[] = [];
    let links = 0;
    const at = (name: string) => `/${[...names, name].join('/')}`;
    for (;;) {
      // Out of components on a directory ("/", "a/..", a link to "."): its place is in its parent.
      if (pending.length === 0) return this.placeOf(dirs, names);
      const name = pending.shift()!;
      if (name === '..') {
        if (dirs.length > 1) { dirs.pop(); names.pop(); }
        continue;
      }
      const top = dirs[dirs.length - 1]!;
      const last = pending.length === 0;
      const shown = at(name);
      let st = this.statAt(top, name, shown);
      if (st === null && !last && opts.create) {
        let made = false;
        try { sys.mkdirat(top, name, 0o700); made = true; } catch (e) {
          if ((e as { code?: string }).code !== 'EEXIST') throw pathError(shown, e);
        }
        if (made) {
          // Made 0700, then owner and mode set on the descriptor: never briefly open to others, never the umask's choice.
          const fd = this.openDir(top, name, shown);
          try {
            if (opts.create.uid !== undefined || opts.create.gid !== undefined) sys.fchown(fd, opts.create.uid ?? 0, opts.create.gid ?? 0);
            sys.fchmod(fd, opts.create.mode);
          } finally { sys.close(fd); }
        }
        st = this.statAt(top, name, shown);
      }
      if (st === null) {
        if (last) return { dir: top, name, path: shown, stat: null };
        throw new PathError(shown, 'ENOENT', REASONS['ENOENT']!);
      }
      if (st.kind === 'link' && (!last || opts.followLast)) {
        if (st.uid !== 0) {
          throw new PathError(shown, 'EUNSAFE', `is a symbolic link owned by uid ${st.uid}, not root: not followed (it could point anywhere)`);
        }
        if (++links > MAX_LINKS) throw new PathError(path, 'ELOOP', 'too many levels of symbolic links');
        let target: string;
        try { target = sys.readlinkat(top, name); } catch (e) { throw pathError(shown, e); }
        if (target.startsWith('/')) { dirs.length = 1; names.length = 0; }
        pending.unshift(...split(target));
        continue;
      }
      if (last) return { dir: top, name, path: shown, stat: st };
      if (st.kind !== 'dir') throw new PathError(shown, 'ENOTDIR', 'is not a directory');
      const fd = this.openDir(top, name, shown);
      this.held.push(fd);
      dirs.push(fd);
      names.push(name);
    }
  }

  private placeOf(dirs: number[], names: string[]): Place {
    if (dirs.length === 1) return { dir: this.rootFd, name: '', path: '/', stat: sys.fstat(this.rootFd) };
    const name = names[names.length - 1]!;
    const parent = dirs[dirs.length - 2]!;
    const path = `/${names.join('/')}`;
    return { dir: parent, name, path, stat: this.statAt(parent, name, path) };
  }

  /** Close every directory this walker opened. */
  done(): void {
    for (const fd of this.held.splice(0)) { try { sys.close(fd); } catch { /* already closed */ } }
  }

  private statAt(dir: number, name: string, shown: string): Stat | null {
    try { return sys.fstatat(dir, name, true); } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return null;
      throw pathError(shown, e);
    }
  }

  private openDir(dir: number, name: string, shown: string): number {
    try { return sys.openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0); } catch (e) {
      // ELOOP: it became a link after we looked. Refused, never followed.
      throw pathError(shown, e);
    }
  }
}
