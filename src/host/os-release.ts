// The root's os-release (/etc/os-release, else /usr/lib/os-release, as
// os-release(5) says): what distribution and release the image is. Read
// through the root's files, never this machine's.
import type { Files } from './files.ts';

/** Its KEY=value lines (quotes dropped); empty when the root has neither file. */
export function osRelease(files: Pick<Files, 'readTextIfExists'>): Record<string, string> {
  const text = files.readTextIfExists('/etc/os-release') ?? files.readTextIfExists('/usr/lib/os-release') ?? '';
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^([A-Z0-9_]+)=["']?([^"'\n]*)/gm)) out[m[1]!] = m[2]!;
  return out;
}
