// set_passwords: passwords (chpasswd: users / list, expire; password for the
// default user) and ssh password logins (ssh_pwauth), as cloud-init's
// cc_set_passwords. Passwords reach chpasswd on its standard input only:
// never in an argv, never in the log, never in a world-readable file. RANDOM
// passwords are told once, on the console (root /) and in the owner-only
// output log, the way cloud-init tells them on the console.
import type { Action } from '../host/actions.ts';
import { describeExit } from '../host/run.ts';
import { randomBytes } from '../host/codecs.ts';
import { layout } from '../state/layout.ts';
import { actionModule, type ActionRun, type ModuleRun, type Report, type Schema } from './module.ts';
import { SSHD_CONFIG, sshdConfigUpdate } from './ssh-keys.ts';
import { isFalse, isMapping, isTrue } from './helpers.ts';
import { usesSystemd } from '../host/root-facts.ts';
import { usersAndGroups } from './users-config.ts';
import { serviceName } from '../validate/packages.ts';
import { serviceActions } from './distro-actions.ts';

/** Letters and digits without the ones people misread (l o L O I 0 1). */
const PW_SET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789';

/** A hash as cloud-init recognizes one in chpasswd.list ($1$ $2a$ $2y$ $5$ $6$), plus yescrypt ($y$, Debian's default). */
const HASHED = /^\$(1|2a|2y|5|6|y)(\$.+){2}/;

const SCHEMA: Record<string, Schema> = {
  ssh_pwauth: { oneOf: [{ type: 'boolean' }, { type: 'string', deprecated: "a string for 'ssh_pwauth' is deprecated (cloud-init 22.2): use true or false" }] },
  password: { type: 'string' },
  chpasswd: {
    type: 'object',
    additionalProperties: false,
    properties: {
      expire: { type: 'boolean' },
      users: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string' },
            type: { enum: ['hash', 'text', 'RANDOM'] },
            password: { type: 'string' },
          },
        },
      },
      list: {
        oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string', pattern: '^.+:.+$' } }],
        deprecated: "chpasswd.list is deprecated (cloud-init 22.3): use chpasswd.users",
      },
    },
  },
};

export function randomPassword(length = 20): string {
  let s = '';
  // Rejection sampling: every character equally likely (a plain modulo would favour the first ones).
  const limit = 256 - (256 % PW_SET.length);
  while (s.length < length) {
    for (const b of randomBytes(length * 2)) if (b < limit && s.length < length) s += PW_SET[b % PW_SET.length];
  }
  return s;
}

interface Plan {
  /** chpasswd (plain text, the RANDOM ones included). */
  text: [string, string][];
  /** chpasswd -e. */
  hashed: [string, string][];
  random: [string, string][];
  /** Where in `text` the RANDOM ones are (actions() makes their passwords at boot). */
  randomAt: number[];
  expire: boolean;
  /** Problems found reading the config: names and positions only, never a password. */
  problems: string[];
}

/** What to set, read from the config the way cloud-init reads it. */
export function passwordPlan(config: ModuleRun['config'], random: () => string = randomPassword): Plan {
  const plan: Plan = { text: [], hashed: [], random: [], randomAt: [], expire: true, problems: [] };
  const password = config['password'] === undefined || config['password'] === null ? null : String(config['password']);
  const ch = config['chpasswd'];
  let users: unknown[] = [];
  let list: string[] = [];
  if (ch !== undefined && ch !== null) {
    if (!isMapping(ch)) {
      plan.problems.push('chpasswd: expected a mapping with users, list or expire');
    } else {
      if (Array.isArray(ch['users'])) users = ch['users'];
      else if (ch['users'] !== undefined && ch['users'] !== null) plan.problems.push('chpasswd.users: expected a list');
      const l = ch['list'];
      if (Array.isArray(l)) list = l.map(String);
      else if (typeof l === 'string' && l !== '') list = l.split(/\r?\n/).filter((s) => s !== '');
      if (ch['expire'] !== undefined && ch['expire'] !== null) plan.expire = isTrue(ch['expire']);
    }
  }
  if (users.length === 0 && list.length === 0 && password !== null && password !== '') {
    const { defaultUser } = usersAndGroups(config);
    if (defaultUser) list = [`${defaultUser}:${password}`];
    else plan.problems.push("'password' given, but there is no default user to set it for (add 'default' to users)");
  }
  users.forEach((u, i) => {
    if (!isMapping(u) || typeof u['name'] !== 'string') { plan.problems.push(`chpasswd.users entry ${i + 1}: expected a mapping with a name`); return; }
    const type = u['type'] === undefined ? 'hash' : String(u['type']);
    const pw = u['password'] === undefined || u['password'] === null ? 'RANDOM' : String(u['password']);
    if (type === 'text') plan.text.push([u['name'], pw]);
    else if (type === 'hash') plan.hashed.push([u['name'], pw]);
    else if (type === 'RANDOM') { const p = random(); plan.randomAt.push(plan.text.length); plan.text.push([u['name'], p]); plan.random.push([u['name'], p]); }
    else plan.problems.push(`chpasswd.users entry ${i + 1} (${u['name']}): unknown type '${type}' (use hash, text or RANDOM)`);
  });
  list.forEach((line, i) => {
    const at = line.indexOf(':');
    if (at <= 0) { plan.problems.push(`chpasswd.list entry ${i + 1}: expected user:password`); return; }
    const user = line.slice(0, at);
    let pw = line.slice(at + 1);
    if (HASHED.test(pw) && !pw.includes(':')) { plan.hashed.push([user, pw]); return; }
    if (pw === 'R' || pw === 'RANDOM') { pw = random(); plan.random.push([user, pw]); plan.randomAt.push(plan.text.length); }
    plan.text.push([user, pw]);
  });
  return plan;
}

interface Passwords {
  /** The chpasswd plan; RANDOM passwords are made by actions(), at boot. */
  plan: Plan;
  /** sshd's PasswordAuthentication, or null: left as it is. */
  pwauth: 'yes' | 'no' | null;
  /** The ssh service, restarted when it already runs and the setting changed (null: refused, not restarted). */
  service: string | null;
}

/** chpasswd, password and ssh_pwauth, read once: problems name the entry, never a password. */
export function checkPasswords(config: Record<string, unknown>, report: Report): Passwords {
  const plan = passwordPlan(config, () => '');
  for (const p of plan.problems) report(p.startsWith("'password' given") ? 'warning' : 'error', p);
  const v = config['ssh_pwauth'];
  let pwauth: Passwords['pwauth'] = null;
  if (isTrue(v)) pwauth = 'yes';
  else if (isFalse(v)) pwauth = 'no';
  else if (v !== undefined && v !== null && String(v).toLowerCase() !== 'unchanged') {
    report('warning', `ssh_pwauth: unrecognized value ${JSON.stringify(v)}; PasswordAuthentication left unchanged (use true or false)`);
  }
  const systemInfo = isMapping(config['system_info']) ? config['system_info'] : {};
  // A word of systemctl's argv: a service name (never an option), else no restart.
  let service: string | null = 'ssh';
  if (systemInfo['ssh_svcname'] !== undefined && systemInfo['ssh_svcname'] !== null) {
    const s = serviceName(systemInfo['ssh_svcname']);
    service = s.ok ? s.value : null;
    if (!s.ok) report('error', `system_info.ssh_svcname: ${s.why}; the ssh service is not restarted (give its unit name, such as ssh or sshd)`);
  }
  return { plan, pwauth, service };
}

/** One chpasswd for `pairs`, the passwords on its standard input; a failure is reported with the user names only. */
function chpasswd(pairs: [string, string][], hashed: boolean): Action {
  const names = pairs.map(([u]) => u).join(', ');
  const argv = hashed ? ['chpasswd', '-e'] : ['chpasswd'];
  return {
    kind: 'run', argv, input: pairs.map(([u, p]) => `${u}:${p}\n`).join(''), unit: argv.join(' '),
    why: `${hashed ? 'hashed ' : ''}password(s) of ${names}`, failure: 'ignore',
    then: (r) => (r.code === 0 ? [] : [{ kind: 'report', level: 'error', message: `${argv.join(' ')} failed for ${names} (${describeExit(r)}): ${r.stderr.trim()}` }]),
  };
}

/**
 * The RANDOM passwords, told once: on the console (the running system only),
 * and in the owner-only output log through its own descriptor (cat), never
 * through the main log.
 */
function tellRandom(random: [string, string][]): Action[] {
  const blurb = `Set the following 'random' passwords\n${random.map(([u, p]) => `${u}:${p}`).join('\n')}\n`;
  const names = random.map(([u]) => u).join(', ');
  return [
    { kind: 'console', text: blurb, runningSystem: 'optional', unit: 'tell', why: `random password(s) of ${names}` },
    { kind: 'run', argv: ['cat'], input: blurb, unit: 'tell', why: `random password(s) of ${names}, to ${layout.outputLog}` },
  ];
}

/** PasswordAuthentication in sshd's config; sshd restarted when it already runs (stage init runs before it starts). */
function sshPwauth({ pwauth, service }: Passwords, run: ActionRun): Action[] {
  const { files, log, where } = run;
  if (pwauth === null) { log.debug(`${where}: ssh PasswordAuthentication left unchanged`); return []; }
  if (!files.exists(SSHD_CONFIG)) {
    log.info(`${where}: ssh_pwauth: no ${SSHD_CONFIG} in the root (no ssh server); nothing to change`);
    return [];
  }
  const write = sshdConfigUpdate(files, { PasswordAuthentication: pwauth });
  if (!write) { log.info(`${where}: PasswordAuthentication already ${pwauth}`); return []; }
  const actions: Action[] = [{ ...write, unit: 'sshd' }];
  if (service !== null && usesSystemd(files)) {
    actions.push({
      kind: 'run', argv: ['systemctl', 'show', '--property', 'ActiveState', '--value', service], unit: 'sshd', runningSystem: 'optional',
      why: `restart ${service} if it runs`, failure: 'ignore',
      then: (state) => (['active', 'activating', 'reloading'].includes(state.stdout.trim().toLowerCase())
        ? serviceActions(run, 'restart', service, { failure: 'warning' }).map((a) => ({ ...a, why: `ssh_pwauth may not apply yet: restart ${service}` }))
        : []),
    });
  }
  return actions;
}

export const setPasswords = actionModule<Passwords>({
  name: 'set_passwords',
  stage: 'init',
  frequency: 'per-instance',
  keys: ['chpasswd', 'password', 'ssh_pwauth'],
  schema: SCHEMA,
  check: checkPasswords,
  actions(value, run): Action[] {
    const { plan } = value;
    // A RANDOM password is made at boot: plan cannot know it, and says its actions depend on the boot.
    const text = plan.text.map(([u, p], i): [string, string] => (plan.randomAt.includes(i) ? [u, run.bootFact?.(() => randomPassword()) ?? 'RANDOM'] : [u, p]));
    const random = plan.randomAt.map((i) => text[i]!);
    const actions: Action[] = [];
    if (text.length) actions.push(chpasswd(text, false));
    if (plan.hashed.length) actions.push(chpasswd(plan.hashed, true));
    if (random.length) actions.push(...tellRandom(random));
    if (plan.expire) {
      for (const u of [...new Set([...text, ...plan.hashed].map(([name]) => name))]) {
        actions.push({ kind: 'run', argv: ['passwd', '--expire', u], unit: `expire ${u}`, why: `to change at first login: ${u}` });
      }
    }
    return [...actions, ...sshPwauth(value, run)];
  },
});
