// One authorized_keys line as sshd reads it (options, key type, base64,
// comment), parsed as cloud-init's ssh_util.AuthKeyLineParser does: the one
// parser for keys from user-data, a datasource (Azure's IMDS), a key service
// (ssh_import_id's GitHub and Launchpad) or a file.
import { bad, controlIn, ok, show, type Checked } from './check.ts';
/** Key types sshd accepts in authorized_keys (OpenSSH's, without the signature-only ones). */
const VALID_KEY_TYPES = new Set([
  'dsa', 'rsa', 'ecdsa', 'ed25519',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com', 'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com', 'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com', 'ecdsa-sha2-nistp521',
  'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com',
  'sk-ssh-ed25519-cert-v01@openssh.com', 'sk-ssh-ed25519@openssh.com',
  'ssh-dss-cert-v01@openssh.com', 'ssh-dss',
  'ssh-ed25519-cert-v01@openssh.com', 'ssh-ed25519',
  'ssh-rsa-cert-v01@openssh.com', 'ssh-rsa',
  'ssh-xmss-cert-v01@openssh.com', 'ssh-xmss@openssh.com',
]);

export interface AuthKeyLine {
  source: string;
  options?: string;
  keytype?: string;
  base64?: string;
  comment?: string;
}

export function isKnownKeyType(type: string): boolean { return VALID_KEY_TYPES.has(type); }

export function validKey(k: AuthKeyLine): boolean { return Boolean(k.keytype && k.base64); }

export function formatKey(k: AuthKeyLine): string {
  const toks = [k.options, k.keytype, k.base64, k.comment].filter((t): t is string => Boolean(t));
  return toks.length ? toks.join(' ') : k.source;
}

/** Split "opt1,opt2="a b" rest": options end at the first blank outside double quotes. */
function extractOptions(ent: string): [string, string] {
  let quoted = false;
  let i = 0;
  while (i < ent.length && (quoted || (ent[i] !== ' ' && ent[i] !== '\t'))) {
    if (i + 1 >= ent.length) { i++; break; }
    if (ent[i] === '\\' && ent[i + 1] === '"') i++;
    else if (ent[i] === '"') quoted = !quoted;
    i++;
  }
  return [ent.slice(0, i), ent.slice(i).trimStart()];
}

function splitKey(ent: string): [string, string, string] | null {
  const m = /^(\S+)\s+(\S+)(?:\s+(.*))?$/s.exec(ent);
  if (!m || !VALID_KEY_TYPES.has(m[1]!)) return null;
  return [m[1]!, m[2]!, (m[3] ?? '').trim() === '' ? '' : m[3]!];
}

/**
 * One authorized_keys line. `options` given (even '') replaces the line's
 * own options, as cloud-init's parser does for the keys it adds.
 */
export function parseKeyLine(src: string, options?: string): AuthKeyLine {
  const line = src.replace(/[\r\n]+$/, '');
  if (line.startsWith('#') || line.trim() === '') return { source: src };
  const ent = line.trim();
  let parts = splitKey(ent);
  let opts = options;
  if (!parts) {
    const [keyopts, remain] = extractOptions(ent);
    if (opts === undefined) opts = keyopts;
    parts = splitKey(remain);
    if (!parts) return { source: src };
  }
  const [keytype, base64, comment] = parts;
  return { source: src, keytype, base64, comment, ...(opts ? { options: opts } : {}) };
}

/**
 * A line a key service gave (ssh_import_id): one public key — a known type,
 * base64, a comment — never options, never a second line or a control
 * character.
 */
export function publicKeyOnly(line: string): Checked<AuthKeyLine> {
  const c = controlIn(line.replace(/\t/g, ' '));
  if (c) return bad(`a key line has ${c}`);
  const k = parseKeyLine(line.trim());
  if (!validKey(k) || k.options !== undefined || !/^[A-Za-z0-9+/]+={0,3}$/.test(k.base64!)) return bad(`${show(line.trim())} is not a public key (type, base64, comment)`);
  return ok(k);
}
