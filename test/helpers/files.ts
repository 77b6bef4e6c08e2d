// Files in a root (or any directory) made by a test, and temp directories
// removed when the test file's tests are done.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after } from 'node:test';

const made: string[] = [];
after(() => { for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true }); });

/** Remove `dir` (recursively) when this test file's tests are done. */
export function removeLater(dir: string): string {
  made.push(dir);
  return dir;
}

/** A new directory under the system temp dir, removed when this test file's tests are done. */
export function tempDir(prefix: string): string {
  return removeLater(mkdtempSync(join(tmpdir(), prefix)));
}

export const read = (root: string, p: string): string => readFileSync(join(root, p), 'utf8');
export const mode = (root: string, p: string): number => statSync(join(root, p)).mode & 0o7777;
export const owner = (root: string, p: string): number[] => { const s = statSync(join(root, p)); return [s.uid, s.gid]; };

/** Write a file in the root, parents made as needed. */
export function writeIn(root: string, path: string, content: string | Uint8Array, mode = 0o644): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content, { mode });
}

/** A NIC under the root's /sys/class/net: its MAC, carrier and operstate. */
export function plantNic(root: string, name: string, mac: string, carrier = true): void {
  const dir = join(root, 'sys/class/net', name);
  mkdirSync(join(dir, 'device'), { recursive: true });
  writeFileSync(join(dir, 'address'), `${mac}\n`);
  writeFileSync(join(dir, 'carrier'), carrier ? '1\n' : '0\n');
  writeFileSync(join(dir, 'operstate'), carrier ? 'up\n' : 'down\n');
}

/** Programs a renderer's availability check looks for, in the root's own /sbin (this machine's /usr is bound read-only). */
export function plantTools(root: string, names: string[]): void {
  mkdirSync(join(root, 'sbin'), { recursive: true });
  for (const n of names) { writeFileSync(join(root, 'sbin', n), '#!/bin/sh\nexit 0\n'); chmodSync(join(root, 'sbin', n), 0o755); }
}
