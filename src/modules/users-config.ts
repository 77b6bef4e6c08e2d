// Who the users, groups and the default user are, read from the merged config
// the way cloud-init's ug_util does it (users_groups, ssh and set_passwords
// all ask the same question). The root's own account database is read by
// src/host/accounts.ts.
import type { Config } from '../config/merge.ts';
import { commaList, isMapping, isTrue } from './helpers.ts';

export type UserConfig = Record<string, unknown>;

export interface UsersAndGroups {
  /** User name → its config (keys with '-' spelled '_'), in the order given. */
  users: Map<string, UserConfig>;
  /** Group name → members, in the order given. */
  groups: Map<string, string[]>;
  /** The default user's real name, when `users` (or `user`) asks for it and one is configured. */
  defaultUser: string | null;
  /** Things cloud-init would log as warnings or deprecations (never values of secrets). */
  notes: string[];
}

/** A string "a, b" or a list, flattened, without empty names or duplicates (first kept). */
function uniqMerge(...lists: unknown[]): string[] {
  const out: string[] = [];
  for (const list of lists) {
    const items = typeof list === 'string' ? commaList(list) : Array.isArray(list) ? list : [];
    for (const item of items) {
      const s = String(item);
      if (!out.includes(s)) out.push(s);
    }
  }
  return out;
}
const uniqMergeSorted = (...lists: unknown[]): string[] => uniqMerge(...lists).sort();

/**
 * cloud-init's mergemanydict with its default dict() merger: the first
 * source that has a key keeps it; mappings found under the same key merge
 * the same way, recursively.
 */
export function firstWins(...sources: (Record<string, unknown> | null | undefined)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const src of sources) {
    if (!src) continue;
    for (const [k, v] of Object.entries(src)) {
      if (!(k in out)) out[k] = v;
      else if (isMapping(out[k]) && isMapping(v)) out[k] = firstWins(out[k] as Record<string, unknown>, v);
    }
  }
  return out;
}

function normalizeGroups(raw: unknown): Map<string, string[]> {
  let cfg: unknown = raw;
  if (typeof cfg === 'string') cfg = cfg.trim().split(',');
  const groups = new Map<string, string[]>();
  const add = (name: string, members: string[]) => {
    const list = groups.get(name) ?? [];
    groups.set(name, list);
    for (const m of members) if (!list.includes(m)) list.push(m);
  };
  if (Array.isArray(cfg)) {
    for (const item of cfg) {
      if (isMapping(item)) {
        for (const [name, members] of Object.entries(item)) {
          if (typeof members === 'string') add(name, [members]);
          else if (Array.isArray(members)) add(name, members.map(String));
          else if (members === null) add(name, []);
          else throw new Error(`groups: bad member list for group '${name}' (expected a list or a string)`);
        }
      } else if (typeof item === 'string') {
        add(item.trim(), []);
      } else {
        throw new Error(`groups: unknown group name type ${typeof item} (expected a string or a mapping)`);
      }
    }
  } else if (isMapping(cfg)) {
    for (const [name, members] of Object.entries(cfg)) add(name, uniqMergeSorted(members ?? []));
  } else {
    throw new Error(`groups: must be a list, a mapping or a string, found ${cfg === null ? 'null' : typeof cfg}`);
  }
  for (const [name, members] of groups) groups.set(name, [...new Set(members)].sort());
  return groups;
}

function normalizeUsers(raw: unknown, defaultUserCfg: Record<string, unknown>, notes: string[]): { users: Map<string, UserConfig>; defaultUser: string | null } {
  let list: unknown[];
  if (isMapping(raw)) {
    list = [];
    for (const [k, v] of Object.entries(raw)) {
      if (['boolean', 'number', 'string'].includes(typeof v)) { if (isTrue(v)) list.push(k); }
      else if (isMapping(v)) list.push({ ...v, name: k });
      else throw new Error(`users: unmappable value for user '${k}' (expected a mapping or a boolean)`);
    }
  } else if (typeof raw === 'string') {
    list = uniqMergeSorted(raw);
  } else if (Array.isArray(raw)) {
    list = raw;
  } else {
    list = [];
  }
  const users = new Map<string, UserConfig>();
  for (const entry of list) {
    if (typeof entry === 'string' || Array.isArray(entry)) {
      for (const u of uniqMerge(entry)) if (u && !users.has(u)) users.set(u, {});
    } else if (isMapping(entry)) {
      const { name, ...rest } = entry;
      const n = name === undefined || name === null ? 'default' : String(name);
      users.set(n, firstWins(users.get(n), rest));
    } else {
      throw new Error(`users: each entry must be a name or a mapping, found ${entry === null ? 'null' : typeof entry}`);
    }
  }
  // Keys as Python-friendly names: 'lock-passwd' is 'lock_passwd'.
  for (const [name, cfg] of users) {
    const fixed: UserConfig = {};
    for (const [k, v] of Object.entries(cfg)) { const key = k.replace(/-/g, '_').trim(); if (key) fixed[key] = v; }
    users.set(name, fixed);
  }
  let defaultUser: string | null = null;
  if (users.has('default')) {
    const defConfig = users.get('default')!;
    users.delete('default');
    if (typeof defaultUserCfg['name'] === 'string' && defaultUserCfg['name'] !== '') {
      const { name, groups: defGroups, ...distroCfg } = defaultUserCfg;
      defaultUser = name as string;
      const parsed = users.get(defaultUser) ?? {};
      users.delete(defaultUser);
      parsed['groups'] = uniqMergeSorted(parsed['groups'] ?? [], defGroups ?? []).join(',');
      users.set(defaultUser, firstWins(distroCfg, defConfig, parsed));
    } else {
      notes.push("users: 'default' is listed but the system config defines no default_user (system_info.default_user); no default user created");
    }
  }
  return { users, defaultUser };
}

/**
 * cloud-init's normalize_users_groups + extract_default: the users and groups
 * to create, and the default user's name. `user:` (the old style) names the
 * default user and adds it to `users`.
 */
export function usersAndGroups(config: Config): UsersAndGroups {
  const notes: string[] = [];
  const systemInfo = isMapping(config['system_info']) ? config['system_info'] : {};
  const distroUser = isMapping(systemInfo['default_user']) ? systemInfo['default_user']
    : isMapping(config['default_user']) ? config['default_user'] : {};
  let oldUser: Record<string, unknown> = {};
  const u = config['user'];
  if (u !== undefined && u !== null && u !== '' && u !== false) {
    if (typeof u === 'string') { oldUser = { name: u }; notes.push("'user' as a string is deprecated (cloud-init 22.2): use the 'users' list"); }
    else if (isMapping(u)) oldUser = u;
    else notes.push(`'user' must be a string or a mapping, not ${Array.isArray(u) ? 'a list' : typeof u}; ignored`);
  }
  const defaultUserCfg = firstWins(oldUser, distroUser);
  let baseUsers: unknown = config['users'] ?? [];
  if (isMapping(baseUsers) || typeof baseUsers === 'string') {
    notes.push("'users' as a mapping or a string is deprecated (cloud-init 22.2): use a list");
  } else if (!Array.isArray(baseUsers)) {
    notes.push(`'users' must be a list, found ${typeof baseUsers}; ignored`);
    baseUsers = [];
  }
  if (Object.keys(oldUser).length > 0) {
    if (Array.isArray(baseUsers)) baseUsers = [...baseUsers, { name: 'default' }];
    else if (isMapping(baseUsers)) baseUsers = { ...baseUsers, default: baseUsers['default'] ?? true };
    else baseUsers = `${String(baseUsers)},default`;
  }
  const groups = config['groups'] !== undefined && config['groups'] !== null ? normalizeGroups(config['groups']) : new Map<string, string[]>();
  const { users, defaultUser } = normalizeUsers(baseUsers, defaultUserCfg, notes);
  return { users, groups, defaultUser, notes };
}

/** A user's groups (cloud-init's _normalize_user_groups): "a, b", a list, or (deprecated) a mapping. */
export function userGroups(user: string, groups: unknown): string[] {
  if (groups === undefined || groups === null || groups === '' || groups === false) return [];
  if (typeof groups === 'string') return commaList(groups);
  if (isMapping(groups)) return Object.keys(groups).map((g) => g.trim()).filter((g) => g);
  if (Array.isArray(groups)) {
    if (!groups.every((g) => typeof g === 'string')) throw new Error(`Not creating user ${user}: 'groups' must contain only strings`);
    return (groups as string[]).map((g) => g.trim()).filter((g) => g);
  }
  throw new Error(`Not creating user ${user}: 'groups' must be a string or a list`);
}
