// Users and groups of the target system, read from its own /etc/passwd and
// /etc/group (never this machine's: the root may be an image being customized).
import type { Files } from './files.ts';

function lookup(files: Files, table: string, name: string): number | null {
  const text = files.readIfExists(table)?.toString() ?? '';
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields[2] !== undefined) return Number(fields[2]);
  }
  return null;
}

export interface Owner { uid: number; gid: number }

/**
 * "user", "user:group" or numeric ids → uid/gid under the root. A user's
 * primary group is used when the group is left out. Throws with a clear
 * message when a name is unknown.
 */
export function resolveOwner(files: Files, spec: string): Owner {
  const [user = 'root', group] = spec.split(':');
  const uid = /^\d+$/.test(user) ? Number(user) : lookup(files, '/etc/passwd', user);
  if (uid === null) throw new Error(`unknown user '${user}' (not in /etc/passwd)`);
  let gid: number | null;
  if (group === undefined || group === '') {
    const line = (files.readIfExists('/etc/passwd')?.toString() ?? '').split('\n').find((l) => l.split(':')[0] === user);
    gid = line ? Number(line.split(':')[3]) : /^\d+$/.test(user) ? uid : 0;
  } else {
    gid = /^\d+$/.test(group) ? Number(group) : lookup(files, '/etc/group', group);
    if (gid === null) throw new Error(`unknown group '${group}' (not in /etc/group)`);
  }
  return { uid, gid };
}
