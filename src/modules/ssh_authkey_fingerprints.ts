// ssh_authkey_fingerprints (cloud-init's cc_ssh_authkey_fingerprints), once
// per instance in stage final, after the user's scripts: for each user of the
// `users` list (the default user included; not a system user, not one with
// no_create_home) a table of the keys in its authorized_keys — type,
// fingerprint, options, comment — to the log and the console, as cloud-init
// prints it ("ci-info: " lines). Reading the keys goes through cloud-init's
// extract_authorized_keys, which makes a missing ~/.ssh (0700) and an empty
// authorized_keys (0600), both the user's: scripts that append to a user's
// authorized_keys, and sshd's StrictModes, expect them on every listed user.
// `no_ssh_fingerprints: true` skips all of it; `authkey_hash` names the digest
// (sha256; md5, sha1, sha512 too; any other prints '?', as cloud-init prints
// it for a name hashlib does not know).
import { passwdEntry } from '../host/accounts.ts';
import { digest } from '../hash.ts';
import { base64Decode } from '../host/codecs.ts';
import { isTrue } from './helpers.ts';
import type { Action } from '../host/actions.ts';
import { actionModule } from './module.ts';
import { authorizedKeysOf } from './ssh-keys.ts';
import { isKnownKeyType, type AuthKeyLine } from '../validate/authorized-key.ts';
import { usersAndGroups } from './users-config.ts';

const PREFIX = 'ci-info: ';

/** Python's len(): code points, not UTF-16 units. */
const width = (s: string) => [...s].length;

/** Python's str.center (an odd margin puts the extra space on the left when the width is odd). */
function strCenter(s: string, size: number): string {
  const margin = size - width(s);
  if (margin <= 0) return s;
  const left = Math.floor(margin / 2) + (margin & size & 1);
  return ' '.repeat(left) + s + ' '.repeat(margin - left);
}

/** Python's format(s, 'FILL^size') (the extra fill on the right). */
function formatCenter(s: string, fill: string, size: number): string {
  const margin = size - width(s);
  if (margin <= 0) return s;
  const left = Math.floor(margin / 2);
  return fill.repeat(left) + s + fill.repeat(margin - left);
}

/** cloud-init's SimpleTable: header and rows between +---+ dividers, cells centred. */
export function simpleTable(fields: string[], rows: string[][]): string[] {
  const widths = fields.map((f, i) => Math.max(width(f), ...rows.map((r) => width(r[i] ?? ''))));
  const divider = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const row = (cells: string[]) => `|${cells.map((c, i) => strCenter(c, widths[i]! + 2)).join('|')}|`;
  return [divider, row(fields), divider, ...rows.map(row), divider];
}

/** Python's base64.b64decode (not validating): other characters skipped, padding required; null where it raises. */
function pythonB64decode(text: string): Uint8Array | null {
  const clean = text.replace(/[^A-Za-z0-9+/=]/g, '');
  const eq = clean.indexOf('=');
  const data = eq < 0 ? clean : clean.slice(0, eq);
  const padding = eq < 0 ? 0 : clean.length - eq;
  if (data.length % 4 === 1) return null;
  const needed = (4 - (data.length % 4)) % 4;
  if (padding < needed) return null;
  return base64Decode(data + '='.repeat(needed));
}

/** cloud-init's _gen_fingerprint: the digest in hex pairs joined by ':', '?' where it cannot be made. */
export function fingerprint(b64: string | undefined, hashName: string): string {
  if (!b64) return '';
  const raw = pythonB64decode(b64);
  const sum = raw && digest(hashName, raw);
  if (!sum) return '?';
  return Array.from(sum, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The lines cloud-init prints for one user's keys (its _pprint_key_entries). */
export function fingerprintLines(user: string, path: string, entries: AuthKeyLine[], hashName: string): string[] {
  if (entries.length === 0) return [`${PREFIX}no authorized SSH keys fingerprints found for user ${user}.`];
  const rows = entries
    .filter((e) => (e.keytype || e.base64 || e.comment || e.options) && e.keytype && isKnownKeyType(e.keytype.trim().toLowerCase()))
    .map((e) => [e.keytype || '-', fingerprint(e.base64, hashName) || '-', e.options || '-', e.comment || '-']);
  const table = simpleTable(['Keytype', `Fingerprint (${hashName})`, 'Options', 'Comment'], rows);
  const longest = Math.max(...table.map(width));
  return [formatCenter(`Authorized keys from ${path} for user ${user}`, '+', longest), ...table].map((l) => PREFIX + l);
}

interface Fingerprints {
  /** no_ssh_fingerprints: nothing printed. */
  off: boolean;
  hashName: string;
  /** The listed users that get a table (not system users, not those without a home made). */
  users: string[];
}

export const sshAuthkeyFingerprints = actionModule<Fingerprints>({
  name: 'ssh_authkey_fingerprints',
  stage: 'final',
  frequency: 'per-instance',
  keys: [],
  // The keys are in the ssh module's schema (no_ssh_fingerprints, authkey_hash): one owner per key.
  check(config) {
    const given = config['authkey_hash'];
    return {
      off: isTrue(config['no_ssh_fingerprints']),
      hashName: given === undefined || given === null ? 'sha256' : String(given),
      users: [...usersAndGroups(config).users].filter(([, c]) => !isTrue(c['no_create_home']) && !isTrue(c['system'])).map(([name]) => name),
    };
  },
  actions({ off, hashName, users }, { files, bootFact, log, where }): Action[] {
    if (off) {
      log.info(`${where}: no_ssh_fingerprints is set: not printing the fingerprints of authorized keys`);
      return [];
    }
    // The accounts and their keys are what the earlier stages of this boot made: only the boot knows
    // them (plan shows what the root has now, and says so).
    const read = () => users.map((name) => {
      const pw = passwdEntry(files, name);
      return { name, found: pw && authorizedKeysOf(files, pw) };
    });
    const found = bootFact?.(read) ?? read();
    return found.flatMap(({ name, found: keys }): Action[] => {
      if (!keys) {
        // users_groups has reported why the account is missing; nothing to add as a problem.
        log.info(`${where}: user '${name}' does not exist (not in /etc/passwd): no fingerprints printed for it`);
        return [];
      }
      return [...keys.create, { kind: 'log', text: fingerprintLines(name, keys.path, keys.keys, hashName).join('\n'), why: `fingerprints of ${name}'s keys` }];
    });
  },
});
