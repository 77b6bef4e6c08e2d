// What a boot left on the root: every entry of the overlay's upper layer
// (created, changed, or deleted — a whiteout), with its type, mode, owner and
// content, outside the places that are each agent's own business (its state,
// logs, /run, /tmp, caches). Read on the host after the namespace is gone.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Copy } from './sandbox.ts';

export interface Entry {
  type: 'file' | 'dir' | 'link' | 'deleted' | 'other';
  mode: number;        // permission bits (with setuid/setgid/sticky)
  uid: number;
  gid: number;
  content?: Buffer;    // regular files
  target?: string;     // symlinks
}

export type Snapshot = Map<string, Entry>;

// Not compared: each agent's own state and logs, volatile and cache places.
// Python's bytecode caches are cloud-init's own too.
export const IGNORED: RegExp[] = [
  /^\/var\/lib\/cloud(\/|$)/,
  /^\/var\/log(\/|$)/,
  /^\/run(\/|$)/,
  /^\/tmp(\/|$)/,
  /^\/var\/cache(\/|$)/,
  /^\/var\/tmp\/(cloud-init|ec2-init)/,
  /\/__pycache__(\/|$)/,
];

export function ignored(path: string): boolean {
  return IGNORED.some((r) => r.test(path));
}

function entry(p: string): Entry {
  const st = lstatSync(p);
  const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  if (st.isFile()) return { type: 'file', ...base, content: readFileSync(p) };
  if (st.isDirectory()) return { type: 'dir', ...base };
  if (st.isSymbolicLink()) return { type: 'link', ...base, target: readlinkSync(p) };
  // overlayfs marks a deleted lower entry with a 0:0 character device.
  if (st.isCharacterDevice() && st.rdev === 0) return { type: 'deleted', mode: 0, uid: 0, gid: 0 };
  return { type: 'other', ...base };
}

/**
 * Every effective change in the copy's upper layer, by absolute path inside
 * the root: an entry copied up but left as the image has it (a directory a
 * file was written in, a file rewritten with the same bytes) is no change.
 */
export function snapshot(copy: Copy): Snapshot {
  const out: Snapshot = new Map();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(copy.upper, rel)).sort()) {
      const path = `${rel}/${name}`;
      if (ignored(path)) continue;
      const e = entry(join(copy.upper, path));
      const low = join(copy.lower, path);
      const unchanged = e.type !== 'deleted' && (existsSync(low) || isLink(low)) && sameEntry(entry(low), e);
      if (!unchanged) out.set(path, e);
      if (e.type === 'dir') walk(path);
    }
  };
  walk('');
  return out;
}

/** A file as the booted root shows it: the upper layer's copy, else the image's. */
export function readMerged(copy: Copy, path: string): Buffer | null {
  const up = join(copy.upper, path);
  if (existsSync(up) || isWhiteout(up)) return isWhiteout(up) ? null : readFileSync(up);
  const low = join(copy.lower, path);
  return existsSync(low) ? readFileSync(low) : null;
}

function isLink(p: string): boolean {
  try { return lstatSync(p).isSymbolicLink(); } catch { return false; }
}

function isWhiteout(p: string): boolean {
  try { const st = lstatSync(p); return st.isCharacterDevice() && st.rdev === 0; } catch { return false; }
}

/** What changed from one snapshot to the next (a second boot's own work). */
export function delta(before: Snapshot, after: Snapshot): Snapshot {
  const out: Snapshot = new Map();
  for (const [path, e] of after) {
    const b = before.get(path);
    if (!b || !sameEntry(b, e)) out.set(path, e);
  }
  for (const path of before.keys()) if (!after.has(path)) out.set(path, { type: 'deleted', mode: 0, uid: 0, gid: 0 });
  return out;
}

function sameEntry(a: Entry, b: Entry): boolean {
  return a.type === b.type && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.target === b.target
    && (a.content === undefined ? b.content === undefined : b.content !== undefined && a.content.equals(b.content));
}
