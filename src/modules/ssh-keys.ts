// Authorized keys, as cloud-init's ssh_util writes them: lines parsed the way
// sshd reads them (options, key type, base64, comment), a new key replacing
// an old line with the same base64, others appended; ~/.ssh 0700 and the file
// 0600, owned by the user. Also the sshd_config edits (PasswordAuthentication,
// HostCertificate), into sshd_config.d/50-cloud-init.conf when sshd_config
// includes that directory, as cloud-init does.
import type { Action, MkdirAction, WriteAction } from '../host/actions.ts';
import type { Files } from '../host/files.ts';
import { groupName, userGroups, userName, type PasswdEntry } from '../host/accounts.ts';
import { formatKey, parseKeyLine, validKey, type AuthKeyLine } from '../validate/authorized-key.ts';

/** The options put before root's keys (and ssh_redirect_user's): a login prints this and exits 142. */
export const DISABLE_USER_OPTS =
  'no-port-forwarding,no-agent-forwarding,no-X11-forwarding,' +
  `command="echo 'Please login as the user \\"$USER\\" rather than the user \\"$DISABLE_USER\\".';echo;sleep 10;exit 142"`;


/** Old lines with a new key's base64 take the new line; the other new keys are appended. */
export function mergeAuthorizedKeys(oldText: string, keys: AuthKeyLine[]): string {
  const old = oldText === '' ? [] : oldText.split('\n').map((l) => l.replace(/\r$/, ''));
  if (old.length && old[old.length - 1] === '') old.pop();
  const entries = old.map((l) => parseKeyLine(l));
  const toAdd = keys.filter(validKey);
  const out = entries.map((ent) => {
    if (!validKey(ent)) return ent;
    let result = ent;
    for (const k of keys) {
      if (k.base64 === ent.base64) {
        result = k;
        const at = toAdd.indexOf(k);
        if (at >= 0) toAdd.splice(at, 1);
      }
    }
    return result;
  });
  return [...out, ...toAdd].map(formatKey).concat('').join('\n');
}

/** Python's os.path.join(dir, name) for a relative name. */
const joinPath = (dir: string, name: string) => (dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`);

/**
 * AuthorizedKeysFile's paths for a user (cloud-init's
 * render_authorizedkeysfile_paths): %h, %u and %% replaced in that order,
 * relative paths taken from the home; none given is ~/.ssh/authorized_keys.
 */
export function authorizedKeysFiles(value: string | null, home: string, user: string): string[] {
  const given = value === null || value === '' ? '%h/.ssh/authorized_keys' : value;
  return given.split(/\s+/).filter((p) => p).map((raw) => {
    const path = raw.split('%h').join(home).split('%u').join(user).split('%%').join('%');
    return path.startsWith('/') ? path : joinPath(home, path);
  });
}

/**
 * The AuthorizedKeysFile paths that can be the user's own (written with %h
 * or %u, or under the home), each with the path as written; a path written
 * as an empty value is none (cloud-init pairs the written ones with the paths).
 */
function usersKeyFiles(value: string | null, pw: PasswdEntry): string[] {
  const raws = (value ?? '%h/.ssh/authorized_keys').split(/\s+/).filter((p) => p);
  const paths = authorizedKeysFiles(value, pw.home, pw.name);
  return raws.map((raw, i) => [raw, paths[i]!] as const)
    .filter(([raw, path]) => raw.includes('%u') || raw.includes('%h') || path.startsWith(`${pw.home}/`))
    .map(([, path]) => path);
}

/** What the key-file rules read of an entry: its owner and permissions. */
interface Perm { uid: number; gid: number; perm: number }

/**
 * cloud-init's check_permissions: sshd would read this entry for the user —
 * with StrictModes, owned by the user or root and not writable by group or
 * others; in any case readable (a directory: searchable) by the user.
 */
function keyPathUsable(files: KeyFiles, pw: PasswdEntry, st: Perm, isFile: boolean, strict: boolean): boolean {
  const owner = userName(files, st.uid);
  if (strict && owner !== pw.name && owner !== 'root') return false;
  let needed = isFile ? 0o644 : 0o711;
  if (owner === pw.name) needed &= 0o700;
  else if (userGroups(files, pw.name).includes(groupName(files, st.gid) ?? '')) needed &= 0o070;
  else needed &= 0o007;
  if ((st.perm & needed) === 0) return false;
  return !(strict && (st.perm & 0o022));
}

/** What the authorized-keys rules read: the root's files, read only. */
export type KeyFiles = Pick<Files, 'readTextIfExists' | 'lstat' | 'isSymlink' | 'exists'>;

/** The root as it will be once `made` (mkdir and write actions, in order) are applied: what those rules see. */
class Planned {
  readonly made: Array<MkdirAction | WriteAction> = [];
  readonly files: KeyFiles;
  constructor(files: KeyFiles) { this.files = files; }
  private find(path: string) { return this.made.find((a) => a.path === path); }
  stat(path: string): (Perm & { kind: string }) | null {
    const a = this.find(path);
    if (a) return { kind: a.kind === 'mkdir' ? 'dir' : 'file', uid: a.uid ?? 0, gid: a.gid ?? 0, perm: a.mode };
    const st = this.files.lstat(path);
    return st && { kind: st.kind, uid: st.uid, gid: st.gid, perm: st.perm };
  }
  isSymlink(path: string): boolean { return !this.find(path) && this.files.isSymlink(path); }
  text(path: string): string {
    const a = this.find(path);
    if (a) return a.kind === 'write' && typeof a.content === 'string' ? a.content : '';
    return this.files.lstat(path)?.kind === 'file' ? this.files.readTextIfExists(path) ?? '' : '';
  }
  mkdir(path: string, mode: number, uid: number, gid: number): void { this.made.push({ kind: 'mkdir', path, mode, uid, gid }); }
  write(path: string, content: string, mode: number, uid: number, gid: number): void { this.made.push({ kind: 'write', path, content, mode, uid, gid }); }
}

/**
 * cloud-init's check_create_path: each directory of the path checked (a link
 * or a file there rules the path out; the home and its parents are taken as
 * they are), a missing one made (the user's, 0700, under the home; root's,
 * 0755, elsewhere), then the file, made empty (0600, the user's) if missing.
 */
function checkCreatePath(root: Planned, pw: PasswdEntry, path: string, strict: boolean): boolean {
  const homeParent = pw.home.replace(/\/[^/]*\/?$/, '');
  let dir = '';
  for (const name of path.split('/').slice(1, -1)) {
    dir += `/${name}`;
    if (root.isSymlink(dir)) return false;
    let st = root.stat(dir);
    if (st && st.kind !== 'dir') return false;
    if (homeParent.startsWith(dir) || dir === pw.home) continue;
    if (!st) {
      const mine = dir.startsWith(`${pw.home}/`);
      root.mkdir(dir, mine ? 0o700 : 0o755, mine ? pw.uid : 0, mine ? pw.gid : 0);
      st = root.stat(dir)!;
    }
    if (!keyPathUsable(root.files, pw, st, false, strict)) return false;
  }
  let st = root.stat(path);
  if (st && st.kind !== 'file') return false;
  if (!st) { root.write(path, '', 0o600, pw.uid, pw.gid); st = root.stat(path)!; }
  return keyPathUsable(root.files, pw, st, true, strict);
}

function keysIn(root: Planned, pw: PasswdEntry): { path: string; keys: AuthKeyLine[] } {
  const strict = (sshdOption(root.files, 'strictmodes') ?? 'yes') === 'yes';
  const path = usersKeyFiles(sshdOption(root.files, 'authorizedkeysfile'), pw).find((p) => checkCreatePath(root, pw, p, strict))
    ?? joinPath(pw.home, '.ssh/authorized_keys');
  const lines = root.text(path).split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return { path, keys: lines.map((l) => parseKeyLine(l)) };
}

/**
 * cloud-init's extract_authorized_keys: the first of the user's
 * AuthorizedKeysFile paths that check_create_path accepts (else
 * ~/.ssh/authorized_keys) and its lines, parsed, with what cloud-init makes
 * on the way (missing directories, an empty file) as actions. A link is never read.
 */
export function authorizedKeysOf(files: KeyFiles, pw: PasswdEntry): { path: string; keys: AuthKeyLine[]; create: Action[] } {
  const root = new Planned(files);
  return { ...keysIn(root, pw), create: root.made };
}

/**
 * Add `keys` to the user's authorized keys (cloud-init's setup_user_keys),
 * in the file authorizedKeysOf chooses (one rule for writing the keys and for
 * ssh_authkey_fingerprints' reading them: the one sshd would read), as
 * actions. Directories under the home are made 0700 and the user's; the file
 * is 0600 (an existing file keeps its mode), the user's. Throws when a link
 * is in the way.
 */
export function userKeysActions(files: KeyFiles, pw: PasswdEntry, keys: string[], options?: string): { path: string; actions: Action[] } {
  if (!pw.home) throw new Error(`user '${pw.name}' has no home directory in /etc/passwd`);
  const root = new Planned(files);
  const { path } = keysIn(root, pw);
  let dir = '';
  for (const name of path.split('/').slice(1, -1)) {
    dir += `/${name}`;
    // Never follow a link the user (or an image) planted in the key's path, root's or not.
    if (dir.startsWith(`${pw.home}/`) && root.isSymlink(dir)) throw new Error(`${dir} is a symbolic link; not writing ${path} through it`);
    if (root.stat(dir) || files.exists(dir)) continue;
    const mine = dir.startsWith(`${pw.home}/`) || dir === pw.home;
    root.mkdir(dir, mine ? 0o700 : 0o755, mine ? pw.uid : 0, mine ? pw.gid : 0);
  }
  if (root.isSymlink(path)) throw new Error(`${path} is a symbolic link; not writing through it`);
  const mode = root.stat(path)?.perm ?? 0o600;
  const content = mergeAuthorizedKeys(root.text(path), keys.map((k) => parseKeyLine(String(k), options)));
  const made = root.made.filter((a) => a.path !== path);
  return { path, actions: [...made, { kind: 'write', path, content, mode, uid: pw.uid, gid: pw.gid, why: `authorized keys of ${pw.name}` }] };
}

/** Keys in the order given, each once (cloud-init uses a set; the order here is stable). */
export function uniqueKeys(keys: unknown[]): string[] {
  const out: string[] = [];
  for (const k of keys) {
    if (typeof k !== 'string') continue;
    // One key per line, as cloud-init's normalize_pubkey_data splits a string: a newline inside a
    // value never makes a second line that escapes the options (disable_root's command=) of the first.
    for (const line of k.split(/\r?\n|\r/)) {
      if (line.trim() !== '' && !out.includes(line)) out.push(line);
    }
  }
  return out;
}

// ---- sshd_config -------------------------------------------------------------

export const SSHD_CONFIG = '/etc/ssh/sshd_config';

/** What the sshd_config readers look at: the root's files, read only. */
type SshdFiles = Pick<Files, 'readTextIfExists' | 'lstat'>;

/** An option's value as the last line of sshd_config sets it (lower-case key), or null. */
export function sshdOption(files: SshdFiles, key: string): string | null {
  let value: string | null = null;
  for (const line of (files.readTextIfExists(SSHD_CONFIG) ?? '').split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const m = /^(\S+?)(?:\s+|=)(.*)$/.exec(t);
    if (m && m[1]!.toLowerCase() === key) value = m[2]!;
  }
  return value;
}

/** Where cloud-init writes its sshd settings: 50-cloud-init.conf when sshd_config includes sshd_config.d. */
export function sshdConfigTarget(files: SshdFiles): string {
  const text = files.readTextIfExists(SSHD_CONFIG) ?? '';
  const includesDir = text.split('\n').some((l) => l.startsWith(`Include ${SSHD_CONFIG}.d/*.conf`));
  return includesDir ? `${SSHD_CONFIG}.d/50-cloud-init.conf` : SSHD_CONFIG;
}

/** The new text of `target`: an edited file keeps its mode, a new 50-cloud-init.conf is root-only, as cloud-init makes it. */
function sshdWrite(files: SshdFiles, target: string, content: string, why: string): WriteAction {
  let mode = target === SSHD_CONFIG ? 0o644 : 0o600;
  try { mode = files.lstat(target)?.perm ?? mode; } catch { /* new file */ }
  return { kind: 'write', path: target, content, mode, why };
}

/**
 * Set options (cloud-init's update_ssh_config): a line with the same keyword
 * (any case) gets the new value, a missing keyword is appended. The write
 * that does it, or null when everything is already so.
 */
export function sshdConfigUpdate(files: SshdFiles, updates: Record<string, string>): WriteAction | null {
  const target = sshdConfigTarget(files);
  const lines = (files.readTextIfExists(target) ?? '').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const found = new Set<string>();
  let changed = false;
  const out = lines.map((line) => {
    const t = line.trim();
    if (!t || t.startsWith('#')) return t;
    const m = /^(\S+?)(?:\s+|=)(.*)$/.exec(t);
    if (!m) return t;
    const key = Object.keys(updates).find((k) => k.toLowerCase() === m[1]!.toLowerCase());
    if (key === undefined) return t;
    found.add(key);
    if (m[2] === updates[key]) return t;
    changed = true;
    return `${m[1]} ${updates[key]}`;
  });
  for (const [k, v] of Object.entries(updates)) {
    if (!found.has(k)) { out.push(`${k} ${v}`); changed = true; }
  }
  if (!changed) return null;
  return sshdWrite(files, target, `${out.join('\n')}\n`, Object.entries(updates).map(([k, v]) => `${k} ${v}`).join(', '));
}

/** Append lines such as "HostCertificate /etc/ssh/…-cert.pub" (cloud-init's append_ssh_config): the write, or null when all are there. */
export function sshdConfigAppend(files: SshdFiles, lines: [string, string][]): WriteAction | null {
  const target = sshdConfigTarget(files);
  const old = files.readTextIfExists(target) ?? '';
  const add = lines.map(([k, v]) => `${k} ${v}`).filter((l) => !old.split('\n').includes(l));
  if (!add.length) return null;
  const sep = old === '' || old.endsWith('\n') ? '' : '\n';
  return sshdWrite(files, target, `${old}${sep}${add.join('\n')}\n`, lines.map(([k]) => k).filter((k, i, all) => all.indexOf(k) === i).join(', '));
}
