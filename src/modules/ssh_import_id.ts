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
import type { Action } from '../host/actions.ts';
import { passwdEntry } from '../host/accounts.ts';
import { asText } from '../bytes.ts';
import { importId } from '../validate/modules.ts';
import { isMapping } from './helpers.ts';
import { actionModule, type ActionRun, type ModuleRun, type ReadFiles, type Report, type Schema } from './module.ts';
import { authorizedKeysOf, userKeysActions } from './ssh-keys.ts';
import { formatKey, publicKeyOnly } from '../validate/authorized-key.ts';
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

interface Id { service: 'gh' | 'lp'; user: string }

/** Each user with its ids, checked: an id ssh-import-id would not take is reported with the user and left out. */
function checkImports(config: ModuleRun['config'], report: Report): Array<[string, Id[]]> | null {
  if (!hasKeyNested(config, 'ssh_import_id')) return null;
  return importsByUser(config).map(([user, ids]): [string, Id[]] => [user, ids.flatMap((raw) => {
    const id = importId(raw);
    if (id.ok) return [id.value];
    report('error', `ssh_import_id for ${user}: ${id.why}; not imported`);
    return [];
  })]).filter(([, ids]) => ids.length);
}

/** Launchpad's URL for `user`: /etc/ssh/ssh_import_id's URL when the root has one, else launchpad.net's. */
function launchpadUrl(files: ReadFiles, user: string): string {
  const text = files.readTextIfExists(CONFIG_FILE, 64 * 1024);
  if (text !== null) {
    try {
      const url = (JSON.parse(text) as { URL?: unknown }).URL;
      if (typeof url === 'string' && url.includes('%s')) return url.replace('%s', encodeURIComponent(user));
    } catch { /* not JSON: ssh-import-id ignores it too */ }
  }
  return `https://launchpad.net/~${encodeURIComponent(user)}/+sshkeys`;
}

/** The key lines of one id's answer, before they are checked. */
function keyLines({ service, user }: Id, body: Uint8Array): string[] {
  const text = asText(body);
  if (service === 'lp') return text.split('\n');
  let data: unknown;
  try { data = JSON.parse(text); } catch { throw new Error('GitHub answered with something that is not JSON'); }
  if (!Array.isArray(data)) throw new Error('GitHub answered with something that is not a list of keys');
  return data.filter(isMapping).map((k) => `${String(k['key'] ?? '').trim()} ${user}@github/${String(k['id'] ?? '')}`);
}

/**
 * One user's imports: a fetch per id (retried once where a retry may help),
 * all in the user's unit. The last one's result adds every id's new keys in
 * one write (a key already there, or given by an earlier id, left alone) and
 * reports the ids that failed, together, as cloud-init's one ssh-import-id
 * run does. The account is looked up then: stage init made it this boot.
 */
function importFor(user: string, ids: Id[], { files, where }: ActionRun): Action[] {
  const answers: Array<{ id: Id; result: { body: Uint8Array } | { error: string } }> = [];
  const finish = (): Action[] => {
    const out: Action[] = [];
    const failures: string[] = [];
    const pw = passwdEntry(files, user);
    if (!pw) return [{ kind: 'report', level: 'error', message: `user ${user}: user '${user}' does not exist (not in /etc/passwd): its ids ${ids.map((i) => `${i.service}:${i.user}`).join(', ')} not imported` }];
    const have = new Set(authorizedKeysOf(files, pw).keys.map((k) => k.base64).filter(Boolean));
    const lines: string[] = [];
    for (const { id, result } of answers) {
      const name = `${id.service}:${id.user}`;
      let got: string[];
      try {
        if ('error' in result) throw new Error(result.error);
        got = keyLines(id, result.body);
      } catch (e) { failures.push(`${name}: ${(e as Error).message}`); continue; }
      const notes: string[] = [];
      let added = 0;
      for (const line of got) {
        if (line.trim() === '') continue;
        const k = publicKeyOnly(line);
        if (!k.ok) { notes.push(`${where}: ${name}: skipped a line: ${k.why}`); continue; }
        if (have.has(k.value.base64!)) continue;
        have.add(k.value.base64!);
        lines.push(`${formatKey(k.value)} # ssh-import-id ${name}`);
        added++;
      }
      out.push({ kind: 'log', text: [...notes, `${where}: ${name}: ${added} new key(s) for ${user}`].join('\n') });
    }
    if (lines.length) {
      try { out.push(...userKeysActions(files, pw, lines).actions); } catch (e) { failures.push((e as Error).message); }
    }
    if (failures.length) out.push({ kind: 'report', level: 'error', message: `user ${user}: ${failures.join('; ')}` });
    return out;
  };
  return ids.map((id, i): Action => ({
    kind: 'fetch',
    url: id.service === 'gh' ? `https://api.github.com/users/${encodeURIComponent(id.user)}/keys` : launchpadUrl(files, id.user),
    ...(id.service === 'gh' && { headers: { Accept: 'application/json' } }),
    maxBytes: MAX_ANSWER, retries: 1, pauseMs: 500, timeoutMs: 15_000,
    unit: `user ${user}`, why: `keys of ${id.service}:${id.user} for ${user}`,
    then: (result) => { answers.push({ id, result }); return i === ids.length - 1 ? finish() : []; },
  }));
}

const SCHEMA: Schema = { type: 'array', items: { type: 'string' }, description: 'ids whose keys the default user gets: gh:USER, lp:USER or USER (Launchpad)' };

export const sshImportId = actionModule<Array<[string, Id[]]>>({
  name: 'ssh_import_id',
  stage: 'config',
  frequency: 'per-instance',
  keys: [],
  schema: { ssh_import_id: SCHEMA },
  check: checkImports,
  actions(imports, run): Action[] {
    if (!imports.length) run.log.info(`${run.where}: no user to import keys for (no default user, or no ids for it)`);
    return imports.flatMap(([user, ids]) => importFor(user, ids, run));
  },
});
