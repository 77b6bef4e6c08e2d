// Resolve a path of the target system to a path on this machine, the way a
// chroot into the root would see it. Symlinks inside the root are followed
// against the root, never against this machine's /: an image's absolute link
// (/etc/resolv.conf -> /run/…) must not lead a write out of the root.
import { lstatSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';

const MAX_LINKS = 40;

/** The host path of `path` (absolute, as seen inside the root) under `root`. */
export function resolveInRoot(root: string, path: string): string {
  if (root === '/') return posix.resolve('/', path);
  let links = 0;
  const pending = splitPath(path);
  const done: string[] = [];
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '..') { done.pop(); continue; }
    const candidate = join(root, ...done, name);
    let target: string | null = null;
    try {
      if (lstatSync(candidate).isSymbolicLink()) target = readlinkSync(candidate);
    } catch { /* does not exist (yet): keep the name as it is */ }
    if (target === null) { done.push(name); continue; }
    if (++links > MAX_LINKS) throw new Error(`too many symbolic links resolving ${path} under ${root}`);
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...splitPath(target));
  }
  return join(root, ...done);
}

function splitPath(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}
