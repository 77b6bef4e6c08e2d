// users_groups: groups, then users (cloud-init's cc_users_groups and its
// distro's create_user), with the root's own useradd, groupadd, usermod,
// chpasswd and passwd, chrooted. `default` in `users` is the image's default
// user (system_info.default_user). A user that exists is not re-created, but
// its passwords, lock, sudo rules and keys are still applied, as cloud-init
// does. Passwords go to chpasswd on its standard input: never in an argv,
// never in the log. Each group and user fails alone.
import type { Context } from '../context.ts';
import { VERSION } from '../version.ts';
import type { Module, ModuleRun, Schema } from './module.ts';
import { DISABLE_USER_OPTS, ensureDirOwned, setupUserKeys, uniqueKeys } from './ssh-keys.ts';
import { groupExists, shadowPassword, userExists } from '../host/accounts.ts';
import { describeExit } from '../host/run.ts';
import { isTrue } from './helpers.ts';
import { userGroups, usersAndGroups, type UserConfig } from './users-config.ts';


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

/** cloud-init's make_header: "# Created by … on <RFC 2822 date>". */
function header(base = 'Created'): string {
  const d = new Date();
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p = (n: number) => String(n).padStart(2, '0');
  return `# ${base} by ec2-init v. ${VERSION} on ${day}, ${p(d.getUTCDate())} ${mon} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

async function createGroup(ctx: Context, where: string, name: string, members: string[]): Promise<void> {
  const at = `${where} group ${name}`;
  if (groupExists(ctx.files, name)) ctx.log.info(`${at}: exists already; not created`);
  else if (await ctx.runChecked(at, ['groupadd', name])) ctx.log.info(`${at}: created`);
  for (const member of members) {
    if (!userExists(ctx.files, member)) {
      ctx.report('warning', at, `cannot add '${member}': no such user`);
      continue;
    }
    if (await ctx.runChecked(at, ['usermod', '-a', '-G', name, member])) ctx.log.info(`${at}: added '${member}'`);
  }
}

const USERADD_OPTS: Record<string, string> = {
  gecos: '--comment', homedir: '--home', primary_group: '--gid', uid: '--uid', groups: '--groups',
  shell: '--shell', expiredate: '--expiredate', inactive: '--inactive', selinux_user: '--selinux-user',
};
const USERADD_FLAGS: Record<string, string> = { no_user_group: '--no-user-group', system: '--system', no_log_init: '--no-log-init' };

/** useradd, unless the user exists (then, as in cloud-init, nothing about the account itself changes). */
async function addUser(ctx: Context, at: string, name: string, cfg: UserConfig, groups: string[]): Promise<boolean> {
  if (userExists(ctx.files, name)) {
    ctx.log.info(`${at}: exists already; not re-created (its passwords, lock, sudo and keys are still applied)`);
    if (cfg['passwd']) ctx.log.info(`${at}: 'passwd' only applies to a new user; use hashed_passwd for an existing one`);
    return false;
  }
  if (cfg['create_groups'] !== false) {
    const wanted = [...groups];
    if (typeof cfg['primary_group'] === 'string' && cfg['primary_group']) wanted.push(cfg['primary_group']);
    for (const g of wanted) {
      if (groupExists(ctx.files, g)) continue;
      if (!(await ctx.runChecked(`${at} group ${g}`, ['groupadd', g]))) throw new Error(`could not create its group '${g}'`);
      ctx.log.info(`${at}: created group '${g}'`);
    }
  }
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
  const r = await ctx.capture(argv);
  if (r.code !== 0) throw new Error(`useradd failed (${describeExit(r)}): ${r.stderr.trim()}`);
  ctx.log.info(`${at}: created (${argv.slice(2).join(' ')})`);
  // A hash given as `passwd` goes through chpasswd's stdin: an argv is readable by every local user.
  if (typeof cfg['passwd'] === 'string' && cfg['passwd'] !== '') await setPassword(ctx, at, name, cfg['passwd'], true);
  return true;
}

async function setPassword(ctx: Context, at: string, name: string, password: string, hashed: boolean): Promise<void> {
  const r = await ctx.capture(hashed ? ['chpasswd', '-e'] : ['chpasswd'], { input: `${name}:${password}\n` });
  if (r.code !== 0) throw new Error(`chpasswd${hashed ? ' -e' : ''} failed (${describeExit(r)}): ${r.stderr.trim()}`);
  ctx.log.info(`${at}: ${hashed ? 'hashed' : 'plain-text'} password set`);
}

/** Lines for /etc/sudoers.d/90-cloud-init-users, and the include in /etc/sudoers, as cloud-init writes them. */
function writeSudoRules(ctx: Context, name: string, rules: unknown): void {
  let list: string[];
  if (Array.isArray(rules)) list = rules.map(String);
  else if (typeof rules === 'string') list = [rules];
  else throw new Error(`sudo: cannot make a sudoers rule from a ${typeof rules} (use a string or a list of strings)`);
  const content = ['', `# User rules for ${name}`, ...list.map((r) => `${name} ${r}`)].join('\n') + '\n';
  ensureSudoDir(ctx, '/etc/sudoers.d');
  const old = ctx.files.readTextIfExists(SUDOERS_FILE);
  if (old === null) ctx.files.write(SUDOERS_FILE, `${header()}\n${content}`, { mode: 0o440 });
  else if (!old.includes(content)) ctx.files.write(SUDOERS_FILE, old + content, { mode: 0o440 });
}

function ensureSudoDir(ctx: Context, dir: string): void {
  const base = ctx.files.readTextIfExists('/etc/sudoers') ?? null;
  const text = base ?? ctx.files.readTextIfExists('/usr/etc/sudoers') ?? '';
  const included = text.split('\n').some((l) => {
    const m = /^[#@]includedir\s+(.*)$/.exec(l.trim());
    return m !== null && m[1]!.trim().replace(/\/+$/, '') === dir;
  });
  if (!included) {
    const lines = ['', header('Added'), `#includedir ${dir}`, ''];
    if (base === null) {
      ctx.files.write('/etc/sudoers', text + ['# See sudoers(5) for more information on "#include" directives:', ...lines].join('\n'), { mode: 0o440 });
    } else {
      ctx.files.append('/etc/sudoers', lines.join('\n'), { mode: 0o440 });
    }
  }
  // cloud-init's ensure_dir(path, 0o750): made so even when it exists (Debian ships it 0755).
  ensureDirOwned(ctx, dir, 0o750, 0, 0);
}

const DOAS_RULE = /^(?:permit|deny)(?:\s+(?:nolog|nopass|persist|keepenv|setenv \{[^}]+\})+)*\s+([a-zA-Z0-9_]+)+(?:\s+as\s+[a-zA-Z0-9_]+)*(?:\s+cmd\s+[^\s]+(?:\s+args\s+[^\s]+(?:\s*[^\s]+)*)*)*\s*$/;

function writeDoasRules(ctx: Context, name: string, rules: unknown): void {
  if (!Array.isArray(rules)) throw new Error('doas: expected a list of rules');
  for (const rule of rules) {
    const m = DOAS_RULE.exec(String(rule));
    if (!m || m[1] !== name) throw new Error(`doas: invalid rule ${JSON.stringify(rule)} for user '${name}' (it must permit or deny '${name}'); no doas rules written for this user`);
  }
  const content = ['', `# cloud-init User rules for ${name}`, ...rules.map(String)].join('\n') + '\n';
  const old = ctx.files.readTextIfExists(DOAS_FILE);
  if (old === null) ctx.files.write(DOAS_FILE, `${header()}\n${content}`, { mode: 0o440 });
  else if (!old.includes(content)) ctx.files.write(DOAS_FILE, old + content, { mode: 0o440 });
}

function keyList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return uniqueKeys(value);
  if (value && typeof value === 'object') return uniqueKeys(Object.values(value));
  return [];
}

const NO_HOME = ['no_create_home', 'system'];
const NEED_HOME = ['ssh_authorized_keys', 'ssh_import_id', 'ssh_redirect_user'];

async function createUser(run: ModuleRun, name: string, config: UserConfig, defaultUser: string | null): Promise<void> {
  const { ctx, where, source } = run;
  const at = `${where} user ${name}`;
  const cfg = { ...config };
  const groups = userGroups(name, cfg['groups']);
  delete cfg['groups'];
  const noHome = NO_HOME.filter((k) => cfg[k]);
  const needHome = NEED_HOME.filter((k) => cfg[k]);
  if (noHome.length && needHome.length) throw new Error(`not created: ${needHome.join(', ')} cannot be given with ${noHome.join(', ')}`);
  const redirect = cfg['ssh_redirect_user'];
  delete cfg['ssh_redirect_user'];
  if (redirect) {
    if ('ssh_authorized_keys' in cfg || 'ssh_import_id' in cfg) throw new Error('not created: ssh_redirect_user cannot be given with ssh_import_id or ssh_authorized_keys');
    if (redirect !== true && redirect !== 'default') throw new Error(`not created: invalid ssh_redirect_user ${JSON.stringify(redirect)} (expected true, default or false)`);
  }

  await addUser(ctx, at, name, cfg, groups);

  const problems: string[] = [];
  const step = async (what: string, fn: () => Promise<void> | void) => {
    try { await fn(); } catch (e) { problems.push(`${what}: ${(e as Error).message}`); }
  };
  if (typeof cfg['plain_text_passwd'] === 'string' && cfg['plain_text_passwd']) {
    const pw = cfg['plain_text_passwd'];
    await step('plain_text_passwd', () => setPassword(ctx, at, name, pw, false));
  }
  if (typeof cfg['hashed_passwd'] === 'string' && cfg['hashed_passwd']) {
    const pw = cfg['hashed_passwd'];
    await step('hashed_passwd', () => setPassword(ctx, at, name, pw, true));
  }
  if (cfg['lock_passwd'] ?? true) {
    await step('lock_passwd', async () => {
      const r = await ctx.capture(['passwd', '-l', name]);
      if (r.code !== 0) throw new Error(`passwd -l failed (${describeExit(r)}): ${r.stderr.trim()}`);
      ctx.log.info(`${at}: password locked`);
    });
  } else {
    // lock_passwd: false unlocks a locked password that is a real one (never an empty one).
    const field = shadowPassword(ctx.files, name);
    if (field !== null && field.startsWith('!') && !['', '*', '!'].includes(field.replace(/^!+/, ''))) {
      await step('lock_passwd', async () => {
        const r = await ctx.capture(['usermod', '--unlock', name]);
        if (r.code !== 0) throw new Error(`usermod --unlock failed (${describeExit(r)}): ${r.stderr.trim()}`);
        ctx.log.info(`${at}: password unlocked`);
      });
    }
  }
  if (cfg['doas']) await step('doas', () => writeDoasRules(ctx, name, cfg['doas']));
  if ('sudo' in cfg) {
    if (cfg['sudo']) await step('sudo', () => { writeSudoRules(ctx, name, cfg['sudo']); ctx.log.info(`${at}: sudo rules in ${SUDOERS_FILE}`); });
    else if (cfg['sudo'] === false) ctx.log.info(`${at}: sudo: false is deprecated (cloud-init 22.3); use null`);
  }
  if ('ssh_authorized_keys' in cfg) {
    const keys = keyList(cfg['ssh_authorized_keys']);
    await step('ssh_authorized_keys', () => {
      const path = setupUserKeys(ctx, keys, name);
      ctx.log.info(`${at}: ${keys.length} authorized key(s) in ${path}`);
    });
  }
  if (redirect) {
    const cloudKeys = uniqueKeys(source.publicKeys ?? []);
    if (defaultUser === null) {
      ctx.report('warning', at, `ssh_redirect_user ignored: no default user (add 'default' to users)`);
    } else if (cloudKeys.length === 0) {
      ctx.report('warning', at, 'ssh_redirect_user: no public keys from the datasource; nothing to redirect');
    } else {
      const options = DISABLE_USER_OPTS.replaceAll('$USER', defaultUser).replaceAll('$DISABLE_USER', name);
      await step('ssh_redirect_user', () => { setupUserKeys(ctx, cloudKeys, name, options); ctx.log.info(`${at}: ssh logins redirected to '${defaultUser}'`); });
    }
  }
  if (cfg['snapuser']) {
    problems.push('snapuser is not supported (snap create-user asks the snap store over the internet); made a regular account instead');
  }
  for (const p of problems) ctx.report('error', at, p);
}

function describe({ ctx, config }: ModuleRun): string[] {
  try {
    const { users, groups, defaultUser } = usersAndGroups(config);
    const lines = [...groups.keys()].map((g) => `${groupExists(ctx.files, g) ? 'keep existing' : 'create'} group ${g}`);
    for (const [name, cfg] of users) {
      const extras = [
        name === defaultUser ? 'default user' : '',
        cfg['sudo'] ? 'sudo' : '',
        cfg['ssh_authorized_keys'] ? 'authorized keys' : '',
        isTrue(cfg['lock_passwd'] ?? true) ? 'password locked' : '',
      ].filter((s) => s);
      lines.push(`${userExists(ctx.files, name) ? 'update existing' : 'create'} user ${name}${extras.length ? ` (${extras.join(', ')})` : ''}`);
    }
    return lines;
  } catch (e) {
    return [`invalid users/groups: ${(e as Error).message}`];
  }
}

export const usersGroups: Module = {
  name: 'users_groups',
  stage: 'init',
  frequency: 'per-instance',
  keys: ['users', 'groups', 'user'],
  schema: SCHEMA,
  describe,
  async run(run) {
    const { ctx, config, where } = run;
    const { users, groups, defaultUser, notes } = usersAndGroups(config);
    for (const n of notes) ctx.log.warn(`${where}: ${n}`);
    for (const [name, members] of groups) {
      try { await createGroup(ctx, where, name, members); } catch (e) { ctx.report('error', `${where} group ${name}`, (e as Error).message); }
    }
    for (const [name, cfg] of users) {
      try { await createUser(run, name, cfg, defaultUser); } catch (e) { ctx.report('error', `${where} user ${name}`, (e as Error).message); }
    }
  },
};
