// Authorized keys, as cloud-init's ssh_util writes them: lines parsed the way
// sshd reads them (options, key type, base64, comment), a new key replacing
// an old line with the same base64, others appended; ~/.ssh 0700 and the file
// 0600, owned by the user. Also the sshd_config edits (PasswordAuthentication,
// HostCertificate), into sshd_config.d/50-cloud-init.conf when sshd_config
// includes that directory, as cloud-init does.
import type { Context } from '../context.ts';
import type { WriteAction } from '../host/actions.ts';
import type { Files } from '../host/files.ts';
import { groupName, passwdEntry, userGroups, userName, type PasswdEntry } from '../host/accounts.ts';
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

/**
 * cloud-init's check_permissions: sshd would read this path for the user —
 * with StrictModes, owned by the user or root and not writable by group or
 * others; in any case readable (a directory: searchable) by the user.
 */
function keyPathUsable(ctx: Context, pw: PasswdEntry, path: string, isFile: boolean, strict: boolean): boolean {
  const st = ctx.files.lstat(path);
  if (!st) return false;
  const owner = userName(ctx.files, st.uid);
  if (strict && owner !== pw.name && owner !== 'root') return false;
  let needed = isFile ? 0o644 : 0o711;
  if (owner === pw.name) needed &= 0o700;
  else if (userGroups(ctx.files, pw.name).includes(groupName(ctx.files, st.gid) ?? '')) needed &= 0o070;
  else needed &= 0o007;
  if ((st.perm & needed) === 0) return false;
  return !(strict && (st.perm & 0o022));
}

/**
 * cloud-init's check_create_path: each directory of the path checked (a link
 * or a file there rules the path out; the home and its parents are taken as
 * they are), a missing one made (the user's, 0700, under the home; root's,
 * 0755, elsewhere), then the file, made empty (0600, the user's) if missing.
 */
function checkCreatePath(ctx: Context, pw: PasswdEntry, path: string, strict: boolean): boolean {
  const homeParent = pw.home.replace(/\/[^/]*\/?$/, '');
  let dir = '';
  for (const name of path.split('/').slice(1, -1)) {
    dir += `/${name}`;
    if (ctx.files.isSymlink(dir)) return false;
    const st = ctx.files.lstat(dir);
    if (st && st.kind !== 'dir') return false;
    if (homeParent.startsWith(dir) || dir === pw.home) continue;
    if (!st) {
      const mine = dir.startsWith(`${pw.home}/`);
      ctx.files.mkdir(dir, mine ? 0o700 : 0o755, { uid: mine ? pw.uid : 0, gid: mine ? pw.gid : 0 });
    }
    if (!keyPathUsable(ctx, pw, dir, false, strict)) return false;
  }
  const st = ctx.files.lstat(path);
  if (st && st.kind !== 'file') return false;
  if (!st) ctx.files.write(path, '', { mode: 0o600, uid: pw.uid, gid: pw.gid });
  return keyPathUsable(ctx, pw, path, true, strict);
}

/**
 * cloud-init's extract_authorized_keys: the first of the user's
 * AuthorizedKeysFile paths that checkCreatePath accepts (else
 * ~/.ssh/authorized_keys) and its lines, parsed. A link is never read.
 */
export function extractAuthorizedKeys(ctx: Context, pw: PasswdEntry): { path: string; keys: AuthKeyLine[] } {
  const strict = (sshdOption(ctx.files, 'strictmodes') ?? 'yes') === 'yes';
  const path = usersKeyFiles(sshdOption(ctx.files, 'authorizedkeysfile'), pw).find((p) => checkCreatePath(ctx, pw, p, strict))
    ?? joinPath(pw.home, '.ssh/authorized_keys');
  const text = ctx.files.lstat(path)?.kind === 'file' ? ctx.files.readTextIfExists(path) ?? '' : '';
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return { path, keys: lines.map((l) => parseKeyLine(l)) };
}

/**
 * Add `keys` to `username`'s authorized keys (cloud-init's setup_user_keys),
 * in the file extractAuthorizedKeys chooses (one rule for writing the keys and
 * for ssh_authkey_fingerprints' reading them: the one sshd would read).
 * Directories under the home are created 0700 and owned by the user; the
 * file is 0600 (an existing file keeps its mode), owned by the user.
 */
export function setupUserKeys(ctx: Context, keys: string[], username: string, options?: string): string {
  const pw = passwdEntry(ctx.files, username);
  if (!pw) throw new Error(`user '${username}' does not exist (not in /etc/passwd)`);
  if (!pw.home) throw new Error(`user '${username}' has no home directory in /etc/passwd`);
  const { path } = extractAuthorizedKeys(ctx, pw);
  const dirs = path.split('/').slice(1, -1);
  let dir = '';
  for (const name of dirs) {
    dir += `/${name}`;
    // Never follow a link the user (or an image) planted in the key's path, root's or not.
    if (dir.startsWith(`${pw.home}/`) && ctx.files.isSymlink(dir)) {
      throw new Error(`${dir} is a symbolic link; not writing ${path} through it`);
    }
    if (ctx.files.exists(dir)) continue;
    const mine = dir.startsWith(`${pw.home}/`) || dir === pw.home;
    ctx.files.mkdir(dir, mine ? 0o700 : 0o755, { uid: mine ? pw.uid : 0, gid: mine ? pw.gid : 0 });
  }
  if (ctx.files.isSymlink(path)) throw new Error(`${path} is a symbolic link; not writing through it`);
  let mode = 0o600;
  try { mode = ctx.files.lstat(path)?.perm ?? 0o600; } catch { /* new file */ }
  const parsed = keys.map((k) => parseKeyLine(String(k), options));
  const content = mergeAuthorizedKeys(ctx.files.readTextIfExists(path) ?? '', parsed);
  ctx.files.write(path, content, { mode, uid: pw.uid, gid: pw.gid });
  return path;
}

/** Keys in the order given, each once (cloud-init uses a set; the order here is stable). */
export function uniqueKeys(keys: unknown[]): string[] {
  const out: string[] = [];
  for (const k of keys) {
    if (typeof k !== 'string' || k.trim() === '') continue;
    if (!out.includes(k)) out.push(k);
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

/** Make the ownership and mode of an existing directory exactly so. */
export function ensureDirOwned(ctx: Context, path: string, mode: number, uid: number, gid: number): void {
  ctx.files.ensureDir(path, mode, uid, gid);
}
