// ssh_import_id (cloud-init's cc_ssh_import_id), once per instance in stage
// config: public keys from GitHub (gh:USER, https://api.github.com/users/USER/keys)
// or Launchpad (lp:USER or USER, https://launchpad.net/~USER/+sshkeys) added
// to a user's authorized_keys — the default user's from the top-level
// `ssh_import_id`, any other's from its own `ssh_import_id` in `users`.
// cloud-init runs the ssh-import-id program as the user (sudo -Hu USER);
// ec2-init does what that program does itself, through its one HTTP client
// (the image needs neither ssh-import-id nor sudo, nor Python): each key
// line checked (a key type, base64, a comment; never options), a key
// already there left alone, the others appended with ssh-import-id's
// comment ('… # ssh-import-id gh:USER'), ~/.ssh 0700 and the file 0600, the
// user's. GitHub's lines are '<key> USER@github/<id>', as ssh-import-id
// writes them. Launchpad's address can be changed as ssh-import-id's own
// configuration does it: /etc/ssh/ssh_import_id, {"URL": "…%s…"}. An id
// whose fetch failed in a way that may pass (a timeout, a 5xx) is retried
// once (cloud-init retries the program once), then reported, as is an id
// that does not exist (404, not retried); the other ids and users still run.
import type { Context } from '../context.ts';
import { passwdEntry } from '../host/accounts.ts';
import { asText } from '../bytes.ts';
import { fetchUrl } from '../userdata/include.ts';
import { importedKey, importId } from '../validate/modules.ts';
import { isMapping } from './helpers.ts';
import type { Module, ModuleRun, Schema } from './module.ts';
import { extractAuthorizedKeys, setupUserKeys } from './ssh-keys.ts';
import { isKnownKeyType } from '../validate/authorized-key.ts';
import { usersAndGroups } from './users-config.ts';

const MAX_ANSWER = 1024 * 1024;
const CONFIG_FILE = '/etc/ssh/ssh_import_id';

/** cloud-init's is_key_in_nested_dict: the key anywhere in the config, in mappings and in mappings of lists. */
export function hasKeyNested(config: Record<string, unknown>, key: string): boolean {
  for (const [k, v] of Object.entries(config)) {
    if (k === key) return true;
    if (isMapping(v) && hasKeyNested(v, key)) return true;
    if (Array.isArray(v) && v.some((item) => isMapping(item) && hasKeyNested(item, key))) return true;
  }
  return false;
}

/** A list or a comma string → the ids, each once (cloud-init's uniq_merge). */
function idList(v: unknown): string[] {
  const items = typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v : [];
  const out: string[] = [];
  for (const item of items) {
    const s = String(item).trim();
    if (s && !out.includes(s)) out.push(s);
  }
  return out;
}

/** Each user with the ids to import for it, as cloud-init pairs them. */
export function importsByUser(config: ModuleRun['config']): [string, string[]][] {
  const { users, defaultUser } = usersAndGroups(config);
  const out: [string, string[]][] = [];
  for (const [name, cfg] of users) {
    const ids = idList(name === defaultUser ? config['ssh_import_id'] : cfg['ssh_import_id']);
    if (ids.length) out.push([name, ids]);
  }
  return out;
}

/** Launchpad's URL for `user`: /etc/ssh/ssh_import_id's URL when the root has one, else launchpad.net's. */
function launchpadUrl(ctx: Context, user: string): string {
  const text = ctx.files.readTextIfExists(CONFIG_FILE, 64 * 1024);
  if (text !== null) {
    try {
      const url = (JSON.parse(text) as { URL?: unknown }).URL;
      if (typeof url === 'string' && url.includes('%s')) return url.replace('%s', encodeURIComponent(user));
    } catch { /* not JSON: ssh-import-id ignores it too */ }
  }
  return `https://launchpad.net/~${encodeURIComponent(user)}/+sshkeys`;
}

async function fetchText(ctx: Context, url: string, headers: Record<string, string>): Promise<string> {
  const body = await fetchUrl(url, { maxBytes: MAX_ANSWER, files: ctx.files, headers, retries: 1, backoffMs: 500, timeoutMs: 15_000, fixedPause: true });
  return asText(body);
}

/** The key lines of one id, before they are checked. */
async function fetchKeys(ctx: Context, service: 'gh' | 'lp', user: string): Promise<string[]> {
  if (service === 'gh') {
    const text = await fetchText(ctx, `https://api.github.com/users/${encodeURIComponent(user)}/keys`, { Accept: 'application/json' });
    let data: unknown;
    try { data = JSON.parse(text); } catch { throw new Error('GitHub answered with something that is not JSON'); }
    if (!Array.isArray(data)) throw new Error('GitHub answered with something that is not a list of keys');
    return data.filter(isMapping).map((k) => `${String(k['key'] ?? '').trim()} ${user}@github/${String(k['id'] ?? '')}`);
  }
  return (await fetchText(ctx, launchpadUrl(ctx, user), {})).split('\n');
}

/** Import `ids` for `user`; the number of keys added. Throws naming the id that failed, after trying the others. */
async function importFor(ctx: Context, where: string, user: string, ids: string[]): Promise<number> {
  const pw = passwdEntry(ctx.files, user);
  if (!pw) throw new Error(`user '${user}' does not exist (not in /etc/passwd): its ids ${ids.join(', ')} not imported`);
  const have = new Set(extractAuthorizedKeys(ctx, pw).keys.map((k) => k.base64).filter(Boolean));
  const failures: string[] = [];
  const lines: string[] = [];
  for (const raw of ids) {
    const id = importId(raw);
    if (!id.ok) { failures.push(`ssh_import_id: ${id.why}`); continue; }
    const { service, user: remote } = id.value;
    let fetched: string[];
    try { fetched = await fetchKeys(ctx, service, remote); } catch (e) { failures.push(`${service}:${remote}: ${(e as Error).message}`); continue; }
    let added = 0;
    for (const line of fetched) {
      if (line.trim() === '') continue;
      const k = importedKey(line, isKnownKeyType);
      if (!k.ok) { ctx.log.info(`${where}: ${service}:${remote}: skipped a line: ${k.why}`); continue; }
      const b64 = k.value.split(/\s+/)[1]!;
      if (have.has(b64)) continue;
      have.add(b64);
      lines.push(`${k.value} # ssh-import-id ${service}:${remote}`);
      added++;
    }
    ctx.log.info(`${where}: ${service}:${remote}: ${added} new key(s) for ${user}`);
  }
  if (lines.length) setupUserKeys(ctx, lines, user);
  if (failures.length) throw new Error(failures.join('; '));
  return lines.length;
}

const SCHEMA: Schema = { type: 'array', items: { type: 'string' }, description: 'ids whose keys the default user gets: gh:USER, lp:USER or USER (Launchpad)' };

export const sshImportId: Module = {
  name: 'ssh_import_id',
  stage: 'config',
  frequency: 'per-instance',
  keys: [],
  schema: { ssh_import_id: SCHEMA },
  describe: ({ config }) => {
    if (!hasKeyNested(config, 'ssh_import_id')) return [];
    const imports = importsByUser(config);
    if (!imports.length) return ['no user to import keys for (no default user, or no ids for it)'];
    return imports.map(([user, ids]) => `import the keys of ${ids.join(', ')} for ${user} (GitHub / Launchpad)`);
  },
  async run({ ctx, config, where }) {
    if (!hasKeyNested(config, 'ssh_import_id')) { ctx.log.info(`${where}: no ssh_import_id anywhere in the config: nothing to do`); return; }
    const imports = importsByUser(config);
    if (!imports.length) ctx.log.info(`${where}: no user to import keys for (no default user, or no ids for it)`);
    for (const [user, ids] of imports) {
      try {
        const n = await importFor(ctx, where, user, ids);
        ctx.log.info(`${where}: ${n} key(s) added for ${user}`);
      } catch (e) {
        ctx.report('error', `${where} (${user})`, (e as Error).message);
      }
    }
  },
};
