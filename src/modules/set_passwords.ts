// set_passwords: passwords (chpasswd: users / list, expire; password for the
// default user) and ssh password logins (ssh_pwauth), as cloud-init's
// cc_set_passwords. Passwords reach chpasswd on its standard input only:
// never in an argv, never in the log, never in a world-readable file. RANDOM
// passwords are told once, on the console (root /) and in the owner-only
// output log, the way cloud-init tells them on the console.
import { describeExit } from '../host/run.ts';
import { writeConsole } from '../host/machine.ts';
import { randomBytes } from '../host/codecs.ts';
import type { Context } from '../context.ts';
import { layout } from '../state/layout.ts';
import type { Module, ModuleRun, Schema } from './module.ts';
import { SSHD_CONFIG, updateSshdConfig } from './ssh-keys.ts';
import { isFalse, isMapping, isTrue } from './helpers.ts';
import { usesSystemd } from '../host/root-facts.ts';
import { usersAndGroups } from './users-config.ts';

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
  expire: boolean;
  /** Problems found reading the config: names and positions only, never a password. */
  problems: string[];
}

/** What to set, read from the config the way cloud-init reads it. */
export function passwordPlan(config: ModuleRun['config'], random: () => string = randomPassword): Plan {
  const plan: Plan = { text: [], hashed: [], random: [], expire: true, problems: [] };
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
    else if (type === 'RANDOM') { const p = random(); plan.text.push([u['name'], p]); plan.random.push([u['name'], p]); }
    else plan.problems.push(`chpasswd.users entry ${i + 1} (${u['name']}): unknown type '${type}' (use hash, text or RANDOM)`);
  });
  list.forEach((line, i) => {
    const at = line.indexOf(':');
    if (at <= 0) { plan.problems.push(`chpasswd.list entry ${i + 1}: expected user:password`); return; }
    const user = line.slice(0, at);
    let pw = line.slice(at + 1);
    if (HASHED.test(pw) && !pw.includes(':')) { plan.hashed.push([user, pw]); return; }
    if (pw === 'R' || pw === 'RANDOM') { pw = random(); plan.random.push([user, pw]); }
    plan.text.push([user, pw]);
  });
  return plan;
}

async function chpasswd(ctx: Context, where: string, pairs: [string, string][], hashed: boolean): Promise<void> {
  const names = pairs.map(([u]) => u).join(', ');
  const r = await ctx.capture(hashed ? ['chpasswd', '-e'] : ['chpasswd'], { input: pairs.map(([u, p]) => `${u}:${p}\n`).join('') });
  if (r.code === 0) ctx.log.info(`${where}: ${hashed ? 'hashed ' : ''}password set for ${names}`);
  else ctx.report('error', where, `chpasswd${hashed ? ' -e' : ''} failed for ${names} (${describeExit(r)}): ${r.stderr.trim()}`);
}

/** Tell the RANDOM passwords once: on the console (root / only) and in the owner-only output log. */
async function tellRandom(ctx: Context, where: string, random: [string, string][]): Promise<void> {
  const blurb = `Set the following 'random' passwords\n${random.map(([u, p]) => `${u}:${p}`).join('\n')}\n`;
  if (ctx.root === '/') {
    writeConsole(blurb);
  }
  // Through the output log's own descriptor (0600), never through the main log.
  await ctx.run(['cat'], { input: blurb });
  ctx.log.info(`${where}: random password(s) for ${random.map(([u]) => u).join(', ')} written to the console and ${layout.outputLog} (owner-only)`);
}

async function sshPwauth(run: ModuleRun): Promise<void> {
  const { ctx, config, where } = run;
  const v = config['ssh_pwauth'];
  let value: string;
  if (isTrue(v)) value = 'yes';
  else if (isFalse(v)) value = 'no';
  else {
    if (v === undefined || v === null || String(v).toLowerCase() === 'unchanged') ctx.log.debug(`${where}: ssh PasswordAuthentication left unchanged`);
    else ctx.report('warning', where, `ssh_pwauth: unrecognized value ${JSON.stringify(v)}; PasswordAuthentication left unchanged (use true or false)`);
    return;
  }
  if (!ctx.files.exists(SSHD_CONFIG)) {
    ctx.log.info(`${where}: ssh_pwauth: no ${SSHD_CONFIG} in the root (no ssh server); nothing to change`);
    return;
  }
  const changed = updateSshdConfig(ctx, { PasswordAuthentication: value });
  if (!changed) { ctx.log.info(`${where}: PasswordAuthentication already ${value}`); return; }
  ctx.log.info(`${where}: PasswordAuthentication ${value} in ${changed}`);
  // Stage init runs before sshd: a restart is only needed when it already runs (never under another root).
  if (ctx.root !== '/' || !usesSystemd(ctx.files)) return;
  const systemInfo = isMapping(config['system_info']) ? config['system_info'] : {};
  const service = typeof systemInfo['ssh_svcname'] === 'string' ? systemInfo['ssh_svcname'] : 'ssh';
  const state = await ctx.capture(['systemctl', 'show', '--property', 'ActiveState', '--value', service]);
  if (['active', 'activating', 'reloading'].includes(state.stdout.trim().toLowerCase())) {
    const r = await ctx.capture(['systemctl', 'restart', service]);
    if (r.code !== 0) ctx.report('warning', where, `ssh_pwauth may not apply yet: restarting ${service} failed: ${r.stderr.trim()}`);
  }
}

async function run(run: ModuleRun): Promise<void> {
  const { ctx, config, where } = run;
  const plan = passwordPlan(config);
  for (const p of plan.problems) ctx.report(p.startsWith("'password' given") ? 'warning' : 'error', where, p);
  if (plan.text.length) await chpasswd(ctx, where, plan.text, false);
  if (plan.hashed.length) await chpasswd(ctx, where, plan.hashed, true);
  if (plan.random.length) await tellRandom(ctx, where, plan.random);
  if (plan.expire) {
    const expired: string[] = [];
    for (const u of [...new Set([...plan.text, ...plan.hashed].map(([name]) => name))]) {
      if (await ctx.runChecked(`${where} expire ${u}`, ['passwd', '--expire', u])) expired.push(u);
    }
    if (expired.length) ctx.log.info(`${where}: passwords expired (to change at first login) for ${expired.join(', ')}`);
  }
  await sshPwauth(run);
}

function describe({ config }: ModuleRun): string[] {
  const lines: string[] = [];
  try {
    const plan = passwordPlan(config, () => 'RANDOM');
    const names = (l: [string, string][]) => l.map(([u]) => u).join(', ');
    if (plan.text.length) lines.push(`set password(s) for ${names(plan.text)}${plan.random.length ? ` (random for ${names(plan.random)})` : ''}`);
    if (plan.hashed.length) lines.push(`set hashed password(s) for ${names(plan.hashed)}`);
    if (plan.expire && (plan.text.length || plan.hashed.length)) lines.push('expire them (to change at first login)');
    lines.push(...plan.problems);
  } catch (e) {
    lines.push((e as Error).message);
  }
  const v = config['ssh_pwauth'];
  if (isTrue(v) || isFalse(v)) lines.push(`PasswordAuthentication ${isTrue(v) ? 'yes' : 'no'} for sshd`);
  return lines;
}

export const setPasswords: Module = {
  name: 'set_passwords',
  stage: 'init',
  frequency: 'per-instance',
  keys: ['chpasswd', 'password', 'ssh_pwauth'],
  schema: SCHEMA,
  describe,
  run,
};
