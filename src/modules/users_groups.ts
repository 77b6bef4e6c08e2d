// users_groups: groups, then users (cloud-init's cc_users_groups and its
// distro's create_user), with the root's own useradd, groupadd, usermod,
// chpasswd and passwd, chrooted. `default` in `users` is the image's default
// user (system_info.default_user). A user that exists is not re-created, but
// its passwords, lock, sudo rules and keys are still applied, as cloud-init
// does. Passwords go to chpasswd on its standard input: never in an argv,
// never in the log. Each group and user fails alone.
import type { Action } from '../host/actions.ts';
import { actionModule, type ActionRun, type Report, type Schema } from './module.ts';
import { DISABLE_USER_OPTS, uniqueKeys, userKeysActions } from './ssh-keys.ts';
import { groupExists, passwdEntry, shadowPassword, userExists, type PasswdEntry } from '../host/accounts.ts';
import { describeExit } from '../host/run.ts';
import { userGroups, usersAndGroups, type UserConfig } from './users-config.ts';
import { controlIn } from '../validate/check.ts';
import { accountName } from '../validate/files.ts';
import { makeHeader } from './helpers.ts';


export const SUDOERS_FILE = '/etc/sudoers.d/90-cloud-init-users';
const DOAS_FILE = '/etc/doas.conf';

const STRINGS: Schema = { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };

const USER: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string' },
    gecos: { type: 'string' },
    groups: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }, { type: 'object', deprecated: 'a mapping of groups is deprecated (cloud-init 22.3): use a list or "g1,g2"' }] },
    homedir: { type: 'string' },
    primary_group: { type: 'string' },
    uid: { type: ['integer', 'string'] },
    system: { type: 'boolean' },
    no_create_home: { type: 'boolean' },
    no_user_group: { type: 'boolean' },
    no_log_init: { type: 'boolean' },
    create_groups: { type: 'boolean' },
    shell: { type: 'string' },
    expiredate: { type: 'string' },
    inactive: { type: ['string', 'integer'] },
    selinux_user: { type: 'string' },
    lock_passwd: { type: 'boolean' },
    'lock-passwd': { type: 'boolean', deprecated: "'lock-passwd' is deprecated (cloud-init 22.3): use 'lock_passwd'" },
    passwd: { type: 'string', description: 'a password hash (as in /etc/shadow)' },
    hashed_passwd: { type: 'string' },
    plain_text_passwd: { type: 'string' },
    sudo: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }, { type: 'null' }, { type: 'boolean', deprecated: "sudo: false is deprecated (cloud-init 22.3): use null" }] },
    doas: { type: 'array', items: { type: 'string' } },
    ssh_authorized_keys: STRINGS,
    'ssh-authorized-keys': { ...STRINGS, deprecated: "'ssh-authorized-keys' is deprecated (cloud-init 18.3): use 'ssh_authorized_keys'" },
    ssh_redirect_user: { type: 'boolean' },
    // null: what a template that renders an empty list gives; nothing to import, as cloud-init reads it.
    ssh_import_id: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }, { type: 'null' }], description: 'ids whose keys the user gets (gh:USER, lp:USER): imported by ssh_import_id in stage config' },
    snapuser: { type: 'string', description: 'not supported by ec2-init' },
  },
};

const SCHEMA: Record<string, Schema> = {
  users: { oneOf: [{ type: 'string' }, { type: 'array', items: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }, USER] } }, { type: 'object', deprecated: "'users' as a mapping is deprecated (cloud-init 22.2): use a list" }] },
  user: { oneOf: [{ type: 'string' }, USER] },
  groups: { oneOf: [{ type: 'string' }, { type: 'array', items: { oneOf: [{ type: 'string' }, { type: 'object' }] } }, { type: 'object' }] },
};

const USERADD_OPTS: Record<string, string> = {
  gecos: '--comment', homedir: '--home', primary_group: '--gid', uid: '--uid', groups: '--groups',
  shell: '--shell', expiredate: '--expiredate', inactive: '--inactive', selinux_user: '--selinux-user',
};
const USERADD_FLAGS: Record<string, string> = { no_user_group: '--no-user-group', system: '--system', no_log_init: '--no-log-init' };

/** useradd's argv for a new user (as cloud-init's create_user builds it). */
function useraddArgv(name: string, cfg: UserConfig, groups: string[]): string[] {
  const argv = ['useradd', name];
  const opts: Record<string, unknown> = { ...cfg, groups: groups.join(',') };
  if (opts['uid'] !== undefined && opts['uid'] !== null) opts['uid'] = String(opts['uid']);
  if (typeof opts['inactive'] === 'number') opts['inactive'] = String(opts['inactive']);
  for (const key of Object.keys(opts).sort()) {
    const val = opts[key];
    if (USERADD_OPTS[key] && typeof val === 'string' && val !== '') argv.push(USERADD_OPTS[key]!, val);
    else if (USERADD_FLAGS[key] && val) argv.push(USERADD_FLAGS[key]!);
  }
  argv.push(cfg['no_create_home'] || cfg['system'] ? '-M' : '-m');
  return argv;
}

const DOAS_RULE = /^(?:permit|deny)(?:\s+(?:nolog|nopass|persist|keepenv|setenv \{[^}]+\})+)*\s+([a-zA-Z0-9_]+)+(?:\s+as\s+[a-zA-Z0-9_]+)*(?:\s+cmd\s+[^\s]+(?:\s+args\s+[^\s]+(?:\s*[^\s]+)*)*)*\s*$/;

function keyList(value: unknown): string[] {
  if (typeof value === 'string') return uniqueKeys([value]);
  if (Array.isArray(value)) return uniqueKeys(value);
  if (value && typeof value === 'object') return uniqueKeys(Object.values(value));
  return [];
}

const NO_HOME = ['no_create_home', 'system'];
const NEED_HOME = ['ssh_authorized_keys', 'ssh_import_id', 'ssh_redirect_user'];

/** One user, checked: what its steps need, its problems found in the config already reported. */
interface User {
  name: string;
  cfg: UserConfig;
  groups: string[];
  redirect: boolean;
  /** The sudoers block for it, or null (no rules). */
  sudo: string | null;
  /** The doas block for it, or null. */
  doas: string | null;
}

interface UsersGroups {
  groups: Map<string, string[]>;
  users: User[];
  defaultUser: string | null;
  notes: string[];
}

/** users, groups and user, read once: a user whose config cannot be made is reported and left out; a bad sudo or doas rule leaves only that out. */
export function checkUsersGroups(config: Record<string, unknown>, report: Report): UsersGroups | null {
  let read: ReturnType<typeof usersAndGroups>;
  try { read = usersAndGroups(config); } catch (e) { report('error', (e as Error).message); return null; }
  const users: User[] = [];
  for (const [name, config] of read.users) {
    const at = `user ${name}`;
    // A name goes on useradd's argv and into sudoers lines: never an option, never two lines.
    const named = accountName(name);
    if (!named.ok) { report('error', `${at}: not created: ${named.why}`); continue; }
    const cfg = { ...config };
    let groups: string[];
    try { groups = userGroups(name, cfg['groups']); } catch (e) { report('error', `${at}: ${(e as Error).message}`); continue; }
    const badGroup = groups.map(accountName).find((g) => !g.ok);
    if (badGroup && !badGroup.ok) { report('error', `${at}: not created: groups: ${badGroup.why}`); continue; }
    delete cfg['groups'];
    const noHome = NO_HOME.filter((k) => cfg[k]);
    const needHome = NEED_HOME.filter((k) => cfg[k]);
    if (noHome.length && needHome.length) { report('error', `${at}: not created: ${needHome.join(', ')} cannot be given with ${noHome.join(', ')}`); continue; }
    const redirect = cfg['ssh_redirect_user'];
    delete cfg['ssh_redirect_user'];
    if (redirect) {
      if ('ssh_authorized_keys' in cfg || 'ssh_import_id' in cfg) { report('error', `${at}: not created: ssh_redirect_user cannot be given with ssh_import_id or ssh_authorized_keys`); continue; }
      if (redirect !== true && redirect !== 'default') { report('error', `${at}: not created: invalid ssh_redirect_user ${JSON.stringify(redirect)} (expected true, default or false)`); continue; }
    }
    let sudo: string | null = null;
    const rules = cfg['sudo'];
    if (rules) {
      const list = Array.isArray(rules) ? rules.map(String) : typeof rules === 'string' ? [rules] : null;
      // Each rule is one sudoers line: a newline in one would write a rule of its own.
      const multiLine = list?.find((r) => controlIn(r) !== null);
      if (multiLine !== undefined) report('error', `${at}: sudo: the rule ${JSON.stringify(multiLine)} has ${controlIn(multiLine)}; no sudo rules written for this user`);
      else if (list) sudo = ['', `# User rules for ${name}`, ...list.map((r) => `${name} ${r}`)].join('\n') + '\n';
      else report('error', `${at}: sudo: cannot make a sudoers rule from a ${typeof rules} (use a string or a list of strings)`);
    }
    let doas: string | null = null;
    if (cfg['doas']) {
      const list = cfg['doas'];
      const badRule = Array.isArray(list) ? list.find((r) => { const m = DOAS_RULE.exec(String(r)); return !m || m[1] !== name; }) : undefined;
      if (!Array.isArray(list)) report('error', `${at}: doas: expected a list of rules`);
      else if (badRule !== undefined) report('error', `${at}: doas: invalid rule ${JSON.stringify(badRule)} for user '${name}' (it must permit or deny '${name}'); no doas rules written for this user`);
      else doas = ['', `# cloud-init User rules for ${name}`, ...list.map(String)].join('\n') + '\n';
    }
    users.push({ name, cfg, groups, redirect: Boolean(redirect), sudo, doas });
  }
  // A group's name and members go on groupadd's and usermod's argv.
  const groups = new Map<string, string[]>();
  for (const [group, members] of read.groups) {
    const bad = [group, ...members].map(accountName).find((c) => !c.ok);
    if (bad && !bad.ok) report('error', `group ${group}: not created: ${bad.why}`);
    else groups.set(group, members);
  }
  return { groups, users, defaultUser: read.defaultUser, notes: read.notes };
}

/**
 * A program whose failure is reported as '<what><program> failed (exit N): <its stderr>'
 * (never its input: a password); `next`: what follows when it succeeded.
 */
function failedRun(argv: string[], what: string, unit: string, input?: string, next: () => Action[] = () => []): Action {
  const program = argv[0] === 'useradd' ? 'useradd' : argv.slice(0, 2).join(' ');
  return {
    kind: 'run', argv, unit, failure: 'ignore', ...(input !== undefined && { input }),
    then: (r) => (r.code === 0 ? next() : [{ kind: 'report', level: 'error', message: `${what}${program} failed (${describeExit(r)}): ${r.stderr.trim()}` }]),
  };
}

/** A step that may fail while it is planned (a link in the key path): its problem, as an action, instead. */
function attempt(at: string, what: string, fn: () => Action[]): Action[] {
  try { return fn(); } catch (e) { return [{ kind: 'report', level: 'error', message: `${at}: ${what}: ${(e as Error).message}` }]; }
}

/** What is applied to a user that exists (made now, or already there): passwords, lock, sudo and doas rules, keys. */
function userSteps(u: User, pw: PasswdEntry, value: UsersGroups, run: ActionRun): Action[] {
  const { files, source } = run;
  const { name, cfg } = u;
  const at = `user ${name}`;
  const out: Action[] = [];
  const step = (what: string) => `${at} ${what}`;
  if (typeof cfg['plain_text_passwd'] === 'string' && cfg['plain_text_passwd']) {
    out.push({ ...failedRun(['chpasswd'], `${at}: plain_text_passwd: `, step('password'), `${name}:${cfg['plain_text_passwd']}\n`), why: `plain-text password of ${name}` });
  }
  if (typeof cfg['hashed_passwd'] === 'string' && cfg['hashed_passwd']) {
    out.push({ ...failedRun(['chpasswd', '-e'], `${at}: hashed_passwd: `, step('hashed password'), `${name}:${cfg['hashed_passwd']}\n`), why: `hashed password of ${name}` });
  }
  if (cfg['lock_passwd'] ?? true) {
    out.push({ ...failedRun(['passwd', '-l', name], `${at}: lock_passwd: `, step('lock')), why: `lock the password of ${name}` });
  } else {
    // lock_passwd: false unlocks a locked password that is a real one (never an empty one).
    const field = shadowPassword(files, name);
    if (field !== null && field.startsWith('!') && !['', '*', '!'].includes(field.replace(/^!+/, ''))) {
      out.push({ ...failedRun(['usermod', '--unlock', name], `${at}: lock_passwd: `, step('unlock')), why: `unlock the password of ${name}` });
    }
  }
  if (u.doas && !(files.readTextIfExists(DOAS_FILE) ?? '').includes(u.doas)) out.push({ kind: 'append', path: DOAS_FILE, content: u.doas, mode: 0o440, unit: step('doas'), why: `doas rules of ${name}` });
  if (u.sudo && !(files.readTextIfExists(SUDOERS_FILE) ?? '').includes(u.sudo)) out.push({ kind: 'append', path: SUDOERS_FILE, content: u.sudo, mode: 0o440, unit: step('sudo'), why: `sudo rules of ${name}` });
  if (cfg['sudo'] === false) run.log.info(`${run.where} ${at}: sudo: false is deprecated (cloud-init 22.3); use null`);
  if ('ssh_authorized_keys' in cfg) {
    const keys = keyList(cfg['ssh_authorized_keys']);
    out.push(...attempt(at, 'ssh_authorized_keys', () => userKeysActions(files, pw, keys).actions.map((a) => ({ ...a, unit: step('keys') }))));
  }
  if (u.redirect) {
    const cloudKeys = uniqueKeys(source.publicKeys ?? []);
    if (value.defaultUser === null) out.push({ kind: 'report', level: 'warning', message: `${at}: ssh_redirect_user ignored: no default user (add 'default' to users)` });
    else if (cloudKeys.length === 0) out.push({ kind: 'report', level: 'warning', message: `${at}: ssh_redirect_user: no public keys from the datasource; nothing to redirect` });
    else {
      const options = DISABLE_USER_OPTS.replaceAll('$USER', value.defaultUser).replaceAll('$DISABLE_USER', name);
      out.push(...attempt(at, 'ssh_redirect_user', () => userKeysActions(files, pw, cloudKeys, options).actions.map((a) => ({ ...a, unit: step('redirect'), why: `ssh logins of ${name} redirected to ${value.defaultUser}` }))));
    }
  }
  if (cfg['snapuser']) {
    out.push({ kind: 'report', level: 'error', message: `${at}: snapuser is not supported (snap create-user asks the snap store over the internet); made a regular account instead` });
  }
  return out.map((a) => ({ ...a, unit: a.unit ?? step('other') }));
}

/** The sudoers include and the rules file's header, once, before the first user's rules: as cloud-init's first write makes them. */
function sudoSetup(value: UsersGroups, { files }: ActionRun): Action[] {
  const out: Action[] = [];
  if (value.users.some((u) => u.sudo)) {
    const dir = '/etc/sudoers.d';
    const base = files.readTextIfExists('/etc/sudoers');
    const text = base ?? files.readTextIfExists('/usr/etc/sudoers') ?? '';
    const included = text.split('\n').some((l) => {
      const m = /^[#@]includedir\s+(.*)$/.exec(l.trim());
      return m !== null && m[1]!.trim().replace(/\/+$/, '') === dir;
    });
    if (!included) {
      // The header's time goes in after `makeHeader('Added')` (stampAt), where the applier writes it.
      const before = base === null ? `${text}# See sudoers(5) for more information on "#include" directives:\n\n` : '\n';
      const content = `${before}${makeHeader('Added')}\n#includedir ${dir}\n`;
      const stampAt = before.length + makeHeader('Added').length;
      out.push(base === null
        ? { kind: 'write', path: '/etc/sudoers', content, stampAt, mode: 0o440, why: `include ${dir}` }
        : { kind: 'append', path: '/etc/sudoers', content, stampAt, mode: 0o440, why: `include ${dir}` });
    }
    // cloud-init's ensure_dir(path, 0o750): made so even when it exists (Debian ships it 0755).
    out.push({ kind: 'mkdir', path: dir, mode: 0o750, uid: 0, gid: 0 });
    if (files.readTextIfExists(SUDOERS_FILE) === null) out.push({ kind: 'write', path: SUDOERS_FILE, content: `${makeHeader('Created')}\n`, stampAt: makeHeader('Created').length, mode: 0o440 });
  }
  if (value.users.some((u) => u.doas) && files.readTextIfExists(DOAS_FILE) === null) out.push({ kind: 'write', path: DOAS_FILE, content: `${makeHeader('Created')}\n`, stampAt: makeHeader('Created').length, mode: 0o440 });
  return out.map((a) => ({ ...a, unit: 'sudo' }));
}

function usersActions(value: UsersGroups, run: ActionRun): Action[] {
  const { files, log, where } = run;
  for (const n of value.notes) log.warn(`${where}: ${n}`);
  const out: Action[] = [];
  // Groups made by an earlier action of this module count as there.
  const made = new Set<string>();
  const hasGroup = (g: string) => made.has(g) || groupExists(files, g);
  for (const [name, members] of value.groups) {
    const unit = `group ${name}`;
    if (hasGroup(name)) log.info(`${where} ${unit}: exists already; not created`);
    else { out.push({ kind: 'run', argv: ['groupadd', name], unit }); made.add(name); }
    for (const member of members) {
      if (!userExists(files, member)) { out.push({ kind: 'report', level: 'warning', message: `${unit}: cannot add '${member}': no such user`, unit: `${unit} ${member}` }); continue; }
      out.push({ kind: 'run', argv: ['usermod', '-a', '-G', name, member], unit });
    }
  }
  out.push(...sudoSetup(value, run));
  for (const u of value.users) {
    const { name, cfg } = u;
    const unit = `user ${name}`;
    const pw = passwdEntry(files, name);
    if (pw) {
      log.info(`${where} ${unit}: exists already; not re-created (its passwords, lock, sudo and keys are still applied)`);
      if (cfg['passwd']) log.info(`${where} ${unit}: 'passwd' only applies to a new user; use hashed_passwd for an existing one`);
      out.push(...userSteps(u, pw, value, run));
      continue;
    }
    if (cfg['create_groups'] !== false) {
      const wanted = [...u.groups];
      if (typeof cfg['primary_group'] === 'string' && cfg['primary_group']) wanted.push(cfg['primary_group']);
      for (const g of wanted) {
        if (hasGroup(g)) continue;
        out.push({ kind: 'run', argv: ['groupadd', g], unit, why: `a group of ${name}` });
        made.add(g);
      }
    }
    // What follows needs the account as useradd made it (its uid, its home): read once it is there.
    const afterwards = (): Action[] => {
      const entry = passwdEntry(files, name);
      return entry ? userSteps(u, entry, value, run) : [{ kind: 'report', level: 'error', message: `${unit}: useradd left no entry in /etc/passwd` }];
    };
    // A hash given as `passwd` goes through chpasswd's stdin: an argv is readable by every local user.
    const hash = typeof cfg['passwd'] === 'string' && cfg['passwd'] !== '' ? cfg['passwd'] : null;
    out.push({
      ...failedRun(useraddArgv(name, cfg, u.groups), `${unit}: `, unit, undefined,
        () => (hash === null ? afterwards() : [{ ...failedRun(['chpasswd', '-e'], `${unit}: passwd: `, unit, `${name}:${hash}\n`, afterwards), why: `hashed password of ${name}` }])),
      why: `create user ${name}`,
    });
  }
  return out;
}

export const usersGroups = actionModule<UsersGroups>({
  name: 'users_groups',
  stage: 'init',
  frequency: 'per-instance',
  keys: ['users', 'groups', 'user'],
  schema: SCHEMA,
  check: checkUsersGroups,
  actions: usersActions,
});
