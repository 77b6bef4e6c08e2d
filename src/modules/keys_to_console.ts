// keys_to_console (cloud-init's cc_keys_to_console with its helper
// tools/write-ssh-key-fingerprints), once per instance in stage final, after
// ssh_authkey_fingerprints: the host keys' fingerprints and the keys
// themselves on the console, in the two blocks tools scrape from a cloud's
// console output (EC2's get-console-output), byte for byte as cloud-init
// prints them on a booted system:
//
//   <14>Dec  7 14:21:53 cloud-init: #############################################################
//   <14>Dec  7 14:21:53 cloud-init: -----BEGIN SSH HOST KEY FINGERPRINTS-----
//   <14>Dec  7 14:21:53 cloud-init: 256 SHA256:… root@host (ED25519)
//   <14>Dec  7 14:21:53 cloud-init: -----END SSH HOST KEY FINGERPRINTS-----
//   <14>Dec  7 14:21:53 cloud-init: #############################################################
//   -----BEGIN SSH HOST KEY KEYS-----
//   ssh-ed25519 AAAA… root@host
//   -----END SSH HOST KEY KEYS-----
//
// The fingerprint lines are what `logger -s -p user.info -t cloud-init`
// echoes (util-linux's RFC 3164 header, local time); ec2-init formats them
// itself and, on the running system, hands the same lines to the root's
// `logger` for syslog in one call. Fingerprints are ssh-keygen -l's lines
// ('256 SHA256:… comment (ED25519)'), worked out here for the host key
// types (ed25519, ecdsa, rsa, dsa: the SHA-256 of the key blob and its
// size in bits) instead of one ssh-keygen per key (~50 ms each at first
// boot); anything else goes to the root's own `ssh-keygen -l -f`. Keys are
// taken in the shell's glob order of /etc/ssh/ssh_host_*key.pub. A key whose type (the file's first word) is in
// ssh_fp_console_blacklist or ssh_key_console_blacklist is left out of that
// block; `ssh: {emit_keys_to_console: false}` prints nothing. The blocks go
// to /dev/console, or to standard output where there is none (and always
// under --root), as cloud-init's multi_log does.
import { asText, base64, fromBase64 } from '../bytes.ts';
import { digest } from '../hash.ts';
import type { Action } from '../host/actions.ts';
import { which } from '../host/root-facts.ts';
import { isFalse, isMapping } from './helpers.ts';
import { actionModule, type ReadFiles, type Schema } from './module.ts';

const SSH_DIR = '/etc/ssh';
const RULE = '#############################################################';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** util-linux logger's RFC 3164 header for user.info with tag cloud-init: '<14>Dec  7 14:21:53 cloud-init: '. */
export function syslogPrefix(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const day = String(date.getDate()).padStart(2, ' ');
  return `<14>${MONTHS[date.getMonth()]} ${day} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())} cloud-init: `;
}

/** cloud-init's get_cfg_option_list: absent → [], null → [], a list as it is, anything else as one entry. */
export function optionList(config: Record<string, unknown>, key: string): string[] {
  const v = config[key];
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v.map(String) : [String(v)];
}

/** Whether `ktype` is in the helper's ",a,b," list (it gets the entries joined with ','). */
export function listed(list: string[], ktype: string): boolean {
  return `,${list.join(',')},`.includes(`,${ktype},`);
}

export interface HostKey { path: string; ktype: string; text: string }

/** The root's /etc/ssh/ssh_host_*key.pub files in glob order (bytes), each with its type word. */
export function hostPublicKeys(files: ReadFiles): HostKey[] {
  let names: string[];
  try { names = files.list(SSH_DIR); } catch { return []; }
  return names.filter((n) => /^ssh_host_.*key\.pub$/.test(n)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).flatMap((n) => {
    const path = `${SSH_DIR}/${n}`;
    if (files.stat(path)?.kind !== 'file') return [];
    const text = files.readTextIfExists(path, 64 * 1024) ?? '';
    return [{ path, ktype: text.split('\n')[0]!.trim().split(/[ \t]+/)[0] ?? '', text }];
  });
}

/** The two blocks from the fingerprint lines (already prefixed) and the keys' files, as the helper prints them. */
export function consoleBlocks(fingerprints: string[], prefix: string, keys: string[]): string {
  const out: string[] = [];
  if (fingerprints.length) {
    out.push(...[RULE, '-----BEGIN SSH HOST KEY FINGERPRINTS-----', ...fingerprints, '-----END SSH HOST KEY FINGERPRINTS-----', RULE].map((l) => prefix + l));
  }
  let text = out.length ? `${out.join('\n')}\n` : '';
  if (keys.length) text += `-----BEGIN SSH HOST KEY KEYS-----\n${keys.join('')}-----END SSH HOST KEY KEYS-----\n`;
  // multi_log prints the helper's output stripped, plus one newline.
  return `${text.trim()}\n`;
}

/** The SSH wire format's strings of a key blob, in order; null when it is not one. */
function wireStrings(blob: Uint8Array): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < blob.length) {
    if (at + 4 > blob.length) return null;
    const len = ((blob[at]! << 24) | (blob[at + 1]! << 16) | (blob[at + 2]! << 8) | blob[at + 3]!) >>> 0;
    at += 4;
    if (at + len > blob.length) return null;
    out.push(blob.subarray(at, at + len));
    at += len;
  }
  return out;
}

/** The bits of an mpint (its leading zero bytes and bits not counted). */
function mpintBits(n: Uint8Array | undefined): number {
  if (!n) return 0;
  let i = 0;
  while (i < n.length && n[i] === 0) i++;
  if (i === n.length) return 0;
  return (n.length - i - 1) * 8 + (32 - Math.clz32(n[i]!));
}

const CURVE_BITS: Record<string, number> = { nistp256: 256, nistp384: 384, nistp521: 521 };

/**
 * What ssh-keygen -l tells of a one-key public key file, worked out here:
 * the key's size in bits, 'SHA256:<base64, no padding>' of its blob, its
 * comment ('no comment' when it has none) and its type's label (ED25519);
 * null for what ssh-keygen itself must read (another type, a file of
 * several lines, a blob that does not parse). The one reader of host key
 * fingerprints (ssh's log lines use it too).
 */
export function keyFingerprint(text: string): { bits: number; sha256: string; comment: string; label: string } | null {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length !== 1) return null;
  const m = /^\s*(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s+(.*?))?\s*$/.exec(lines[0]!);
  if (!m) return null;
  const [, type, b64, comment] = m as unknown as [string, string, string, string | undefined];
  let blob: Uint8Array;
  try { blob = fromBase64(b64); } catch { return null; }
  const parts = wireStrings(blob);
  if (!parts || parts.length === 0 || asText(parts[0]!) !== type) return null;
  let bits: number;
  let label: string;
  if (type === 'ssh-ed25519' && parts.length === 2 && parts[1]!.length === 32) { bits = 256; label = 'ED25519'; }
  else if (/^ecdsa-sha2-nistp(256|384|521)$/.test(type) && parts.length === 3 && asText(parts[1]!) === type.slice(11)) { bits = CURVE_BITS[type.slice(11)]!; label = 'ECDSA'; }
  else if (type === 'ssh-rsa' && parts.length === 3) { bits = mpintBits(parts[2]); label = 'RSA'; }
  else if (type === 'ssh-dss' && parts.length === 5) { bits = mpintBits(parts[1]); label = 'DSA'; }
  else return null;
  const sum = digest('sha256', blob);
  if (!sum) return null;
  return { bits, sha256: `SHA256:${base64(sum).replace(/=+$/, '')}`, comment: comment || 'no comment', label };
}

/** ssh-keygen -l's line for a one-key public key file ('256 SHA256:… comment (ED25519)'), or null (see keyFingerprint). */
export function keygenLine(text: string): string | null {
  const f = keyFingerprint(text);
  return f && `${f.bits} ${f.sha256} ${f.comment} (${f.label})`;
}

const LIST: Schema = { type: 'array', items: { type: 'string' } };
const SCHEMA: Record<string, Schema> = {
  ssh: {
    type: 'object',
    additionalProperties: false,
    required: ['emit_keys_to_console'],
    properties: { emit_keys_to_console: { type: 'boolean', description: 'false: print no host keys or fingerprints to the console' } },
  },
  ssh_fp_console_blacklist: { ...LIST, description: 'key types (ssh-rsa, ssh-ed25519, …) whose fingerprints are not printed' },
  ssh_key_console_blacklist: { ...LIST, description: 'key types (ssh-rsa, ssh-ed25519, …) whose keys are not printed' },
};

interface ConsoleKeys {
  /** ssh.emit_keys_to_console: false prints nothing. */
  emit: boolean;
  fpBlacklist: string[];
  keyBlacklist: string[];
}

export const keysToConsole = actionModule<ConsoleKeys>({
  name: 'keys_to_console',
  stage: 'final',
  frequency: 'per-instance',
  keys: [],
  schema: SCHEMA,
  check: (config) => {
    const ssh = config['ssh'];
    return {
      emit: !(isMapping(ssh) && isFalse(ssh['emit_keys_to_console'])),
      fpBlacklist: optionList(config, 'ssh_fp_console_blacklist'),
      keyBlacklist: optionList(config, 'ssh_key_console_blacklist'),
    };
  },
  async actions({ emit, fpBlacklist, keyBlacklist }, { files, query, bootFact, log, where }): Promise<Action[]> {
    if (!emit) { log.info(`${where}: ssh.emit_keys_to_console is false: nothing printed`); return []; }
    // The lines carry the time they are printed (and the keys ssh made earlier in this boot): only the boot knows them.
    const prefix = bootFact?.(() => syslogPrefix(new Date())) ?? null;
    const keys = hostPublicKeys(files);
    const fingerprints: string[] = [];
    for (const k of keys.filter((key) => !listed(fpBlacklist, key.ktype))) {
      const own = keygenLine(k.text);
      if (own !== null) { fingerprints.push(own); continue; }
      // Another type: ssh-keygen reads it (it only reads); plan does not run it.
      const r = await query(['ssh-keygen', '-l', '-f', k.path], { env: { LANG: 'C' }, timeoutMs: 30_000 });
      if (r === null) continue;
      const line = r.stdout.replace(/\n+$/, '');
      // cloud-init's helper prints ssh-keygen's complaint and goes on, without a warning: so here, in the log.
      if (r.code !== 0 || line === '') { log.info(`${where}: no fingerprint for ${k.path}: ssh-keygen -l exited ${r.code}: ${r.stderr.trim()}`); continue; }
      fingerprints.push(line);
    }
    const shown = keys.filter((k) => !listed(keyBlacklist, k.ktype)).map((k) => (k.text.endsWith('\n') ? k.text : `${k.text}\n`));
    const actions: Action[] = [{ kind: 'console', text: consoleBlocks(fingerprints, prefix ?? syslogPrefix(new Date(0)), shown), why: 'host keys' }];
    // The helper's logger also puts the fingerprint block in syslog; only a running system has one.
    if (fingerprints.length && which(files, 'logger') !== null) {
      const lines = [RULE, '-----BEGIN SSH HOST KEY FINGERPRINTS-----', ...fingerprints, '-----END SSH HOST KEY FINGERPRINTS-----', RULE];
      actions.push({ kind: 'run', argv: ['logger', '-p', 'user.info', '-t', 'cloud-init'], input: `${lines.join('\n')}\n`, timeoutMs: 30_000,
        failure: 'ignore', runningSystem: 'optional', why: 'the fingerprints to syslog' });
    }
    actions.push({ kind: 'log', text: `${where}: printed ${fingerprints.length} fingerprint(s) and ${shown.length} host key(s) to the console` });
    return actions;
  },
});
