// Users and groups of the target system, read from its own /etc/passwd,
// /etc/group and /etc/shadow (never this machine's: the root may be an image
// being customized): the one reader of the account database.
import { asText } from '../bytes.ts';
import type { Files } from './files.ts';

/** What reading the account database needs: the root's files, read only. */
export type AccountFiles = Pick<Files, 'readTextIfExists'>;
import { uptime } from './machine.ts';
import { sys } from './sys.ts';

/** The rows of an account file of the root (passwd, group, shadow: colon-separated), comments and blank lines left out. */
function table(files: AccountFiles, path: string): string[][] {
  return (files.readTextIfExists(path) ?? '').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
}

/** The id (third field) of `name` in /etc/passwd or /etc/group, or null. */
function lookup(files: AccountFiles, path: string, name: string): number | null {
  const f = table(files, path).find((r) => r[0] === name && r[2] !== undefined);
  return f ? Number(f[2]) : null;
}

export interface PasswdEntry { name: string; uid: number; gid: number; home: string; shell: string }

export function passwdEntry(files: AccountFiles, name: string): PasswdEntry | null {
  const f = table(files, '/etc/passwd').find((r) => r[0] === name);
  if (!f) return null;
  return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '', shell: f[6] ?? '' };
}

export function userExists(files: AccountFiles, name: string): boolean { return passwdEntry(files, name) !== null; }

/** The name of the user with this uid (the first in /etc/passwd), or null. */
export function userName(files: AccountFiles, uid: number): string | null {
  return table(files, '/etc/passwd').find((r) => r[2] !== undefined && Number(r[2]) === uid)?.[0] ?? null;
}

/** The name of the group with this gid (the first in /etc/group), or null. */
export function groupName(files: AccountFiles, gid: number): string | null {
  return table(files, '/etc/group').find((r) => r[2] !== undefined && Number(r[2]) === gid)?.[0] ?? null;
}

/** The groups that list `name` as a member, then its primary group (cloud-init's get_user_groups). */
export function userGroups(files: AccountFiles, name: string): string[] {
  const groups = table(files, '/etc/group').filter((r) => (r[3] ?? '').split(',').includes(name)).map((r) => r[0]!);
  const pw = passwdEntry(files, name);
  const primary = pw ? groupName(files, pw.gid) : null;
  if (primary !== null) groups.push(primary);
  return groups;
}

export function groupExists(files: AccountFiles, name: string): boolean {
  return table(files, '/etc/group').some((r) => r[0] === name);
}

/** The password field of /etc/shadow (null when the user or the file is missing). Never logged. */
export function shadowPassword(files: AccountFiles, name: string): string | null {
  const f = table(files, '/etc/shadow').find((r) => r[0] === name);
  return f ? f[1] ?? '' : null;
}

export interface Owner { uid: number; gid: number }

/**
 * "user", "user:group" or numeric ids → uid/gid under the root. With the group
 * left out the group stays root's (gid 0), as cloud-init's chownbyname(user,
 * None) leaves the group of the file it just created. Throws with a clear
 * message when a name is unknown.
 */
export function resolveOwner(files: Pick<Files, 'readTextIfExists'>, spec: string): Owner {
  const [user = 'root', group] = spec.split(':');
  const uid = /^\d+$/.test(user) ? Number(user) : lookup(files, '/etc/passwd', user);
  if (uid === null) throw new Error(`unknown user '${user}' (not in /etc/passwd)`);
  let gid: number | null;
  if (group === undefined || group === '') gid = 0;
  else {
    gid = /^\d+$/.test(group) ? Number(group) : lookup(files, '/etc/group', group);
    if (gid === null) throw new Error(`unknown group '${group}' (not in /etc/group)`);
  }
  return { uid, gid };
}

/** The programs of shadow-utils that lock the account files (commonio's NAME.lock). */
export const ACCOUNT_PROGRAMS = new Set(['useradd', 'usermod', 'userdel', 'groupadd', 'groupmod', 'groupdel', 'gpasswd', 'chpasswd', 'passwd', 'chage', 'chfn', 'chsh']);
const ACCOUNT_LOCKS = ['/etc/passwd.lock', '/etc/shadow.lock', '/etc/group.lock', '/etc/gshadow.lock', '/etc/subuid.lock', '/etc/subgid.lock'];

/**
 * Remove the lock files a killed useradd (or chpasswd…) left behind. shadow-utils
 * clears a lock only when its pid is gone; after a reboot that pid is soon some
 * other process's, and every later boot would fail to create the user. A lock
 * is stale when it predates this boot of the machine, names no live pid, or
 * names none at all. Only called while ec2-init holds its boot lock, so no
 * program of ours is using them. Returns what was removed, for the log.
 */
export function clearStaleAccountLocks(files: Files): string[] {
  const removed: string[] = [];
  const up = Number(uptime());
  const bootedAt = Number.isFinite(up) ? Date.now() - up * 1000 : 0;
  for (const path of ACCOUNT_LOCKS) {
    let st;
    try { st = files.lstat(path); } catch { continue; }
    if (st === null || st.kind !== 'file') continue;
    let pid = NaN;
    try { pid = Number.parseInt(asText(files.read(path, 64)).trim(), 10); } catch { /* unreadable: no pid */ }
    const live = Number.isInteger(pid) && pid > 0 && st.mtimeMs >= bootedAt && sys.kill(pid, 0);
    if (live) continue;
    try {
      files.unlink(path);
      removed.push(`${path} (${Number.isInteger(pid) && pid > 0 ? `pid ${pid}, ${st.mtimeMs < bootedAt ? 'from an earlier boot' : 'no longer running'}` : 'no pid in it'})`);
    } catch { /* leave it: the program will say what is wrong */ }
  }
  return removed;
}
