// ssh: host keys and authorized keys, before sshd starts (cloud-init's
// cc_ssh). Host keys: the image's are deleted (ssh_deletekeys), then either
// the ones given in ssh_keys are written (a missing public half derived with
// ssh-keygen -y, certificates announced with HostCertificate) or new ones
// are made with the root's own ssh-keygen, chrooted (ssh_genkeytypes).
// Authorized keys: the datasource's public keys and ssh_authorized_keys go to
// the default user, and to root behind disable_root's command, which tells
// whoever logs in as root which user to use instead.
import { fileContent } from '../bytes.ts';
import type { Context } from '../context.ts';
import type { Module, ModuleRun, Schema } from './module.ts';
import type { EarlyKey } from './host-keys-early.ts';
import { sshdConfigAppend, sshdConfigTarget, DISABLE_USER_OPTS, SSHD_CONFIG, setupUserKeys, uniqueKeys } from './ssh-keys.ts';
import { userExists } from '../host/accounts.ts';
import { describeExit } from '../host/run.ts';
import { optionBool } from './helpers.ts';
import { show } from '../validate/check.ts';
import { usersAndGroups } from './users-config.ts';
import { adoptEarlyHostKey, collectEarlyHostKeys, DEFAULT_TYPES, discardEarlyHostKeys, genKeyTypes, imageHostKeys, keyComment } from './host-keys-early.ts';

const GENERATE_KEY_NAMES = DEFAULT_TYPES;
const keyFile = (type: string) => `/etc/ssh/ssh_host_${type}_key`;

/** ssh_keys entry → file and mode (private 0600, public and certificate 0644). */
const CONFIG_KEY_TO_FILE: Record<string, [string, number]> = {};
for (const t of GENERATE_KEY_NAMES) {
  CONFIG_KEY_TO_FILE[`${t}_private`] = [keyFile(t), 0o600];
  CONFIG_KEY_TO_FILE[`${t}_public`] = [`${keyFile(t)}.pub`, 0o644];
  CONFIG_KEY_TO_FILE[`${t}_certificate`] = [`${keyFile(t)}-cert.pub`, 0o644];
}

const KEY_LIST: Schema = { type: 'array', items: { type: 'string' } };

const SCHEMA: Record<string, Schema> = {
  ssh_authorized_keys: KEY_LIST,
  ssh_deletekeys: { type: 'boolean' },
  ssh_genkeytypes: { type: 'array', items: { enum: ['rsa', 'ecdsa', 'ed25519', 'dsa', 'ecdsa-sk', 'ed25519-sk'] } },
  ssh_keys: {
    type: 'object',
    additionalProperties: false,
    patternProperties: { '^(rsa|ecdsa|ed25519|dsa|ecdsa-sk|ed25519-sk)_(public|private|certificate)$': { type: 'string' } },
  },
  ssh_quiet_keygen: { type: 'boolean' },
  ssh_publish_hostkeys: {
    type: 'object',
    additionalProperties: false,
    properties: { enabled: { type: 'boolean' }, blacklist: { type: 'array', items: { type: 'string' } } },
  },
  disable_root: { type: 'boolean' },
  disable_root_opts: { type: 'string' },
  allow_public_ssh_keys: { type: 'boolean' },
  // ssh, ssh_fp_console_blacklist, ssh_key_console_blacklist: keys_to_console.ts's.
  // no_ssh_fingerprints and authkey_hash are read by ssh_authkey_fingerprints (stage final).
  no_ssh_fingerprints: { type: 'boolean' },
  authkey_hash: { type: 'string' },
};

/** Host keys are only the business of a root with an ssh server, unless the config asks for them. */
function hostKeysWanted(ctx: Context, config: ModuleRun['config']): boolean {
  return ctx.files.exists(SSHD_CONFIG) || config['ssh_keys'] !== undefined || config['ssh_genkeytypes'] !== undefined;
}

async function hostKeys(run: ModuleRun): Promise<void> {
  const { ctx, config, where } = run;
  // The keys init-local started (host-keys-early.ts): what the config asks to generate is adopted, the rest deleted.
  let wanted: string[] = [];
  try { if (config['ssh_keys'] === undefined || config['ssh_keys'] === null) wanted = genKeyTypes(config); } catch { /* reported below */ }
  const early = await collectEarlyHostKeys(ctx, where, wanted);
  try { await placeHostKeys(run, early ?? new Map()); } finally {
    if (early) discardEarlyHostKeys(ctx);
  }
}

async function placeHostKeys({ ctx, config, where }: ModuleRun, early: Map<string, EarlyKey>): Promise<void> {
  if (optionBool(config, 'ssh_deletekeys', true)) {
    const old = imageHostKeys(ctx);
    for (const n of old) ctx.files.unlink(`/etc/ssh/${n}`);
    if (old.length) ctx.log.info(`${where}: deleted the image's host keys: ${old.join(', ')}`);
  }
  const given = config['ssh_keys'];
  if (given !== undefined && given !== null) {
    if (typeof given !== 'object' || Array.isArray(given)) throw new Error('ssh_keys: expected a mapping such as {rsa_private: …, rsa_public: …}');
    const entries = given as Record<string, unknown>;
    const certs: [string, string][] = [];
    for (const [key, val] of Object.entries(entries)) {
      const target = CONFIG_KEY_TO_FILE[key];
      if (!target) {
        ctx.report('warning', where, `ssh_keys: skipped ${/^(ecdsa-sk|ed25519-sk)_/.test(key) ? 'unsupported' : 'unrecognized'} entry '${key}'`);
        continue;
      }
      ctx.files.write(target[0], fileContent(val ?? ''), { mode: target[1] });
      ctx.log.info(`${where}: wrote ${target[0]} (mode ${target[1].toString(8).padStart(4, '0')})`);
      if (key.endsWith('_certificate')) certs.push(['HostCertificate', target[0]]);
    }
    const announce = certs.length ? sshdConfigAppend(ctx.files, certs) : null;
    if (announce) ctx.files.write(announce.path, announce.content, { mode: announce.mode });
    if (certs.length) ctx.log.info(`${where}: HostCertificate set in ${sshdConfigTarget(ctx.files)}`);
    for (const t of GENERATE_KEY_NAMES) {
      if (entries[`${t}_public`] !== undefined || entries[`${t}_private`] === undefined) continue;
      const r = await ctx.capture(['ssh-keygen', '-yf', keyFile(t)], { env: { LANG: 'C' } });
      if (r.code !== 0) {
        ctx.report('error', where, `deriving ${keyFile(t)}.pub from ${keyFile(t)} failed (${describeExit(r)}): ${r.stderr.trim()}`);
        continue;
      }
      ctx.files.write(`${keyFile(t)}.pub`, `${r.stdout.trim()} root@localhost\n`, { mode: 0o644 });
      ctx.log.info(`${where}: derived ${keyFile(t)}.pub from the private key`);
    }
    return;
  }
  const quiet = optionBool(config, 'ssh_quiet_keygen', false);
  ctx.files.mkdir('/etc/ssh');
  // ssh-keygen names the key root@<hostname>: under another root that would be this
  // machine's name, so the image's own /etc/hostname is used instead.
  const named = keyComment(ctx);
  const comment = named === null ? [] : ['-C', named];
  // Independent files: made side by side (an RSA key alone takes a noticeable share of a boot).
  await Promise.all(genKeyTypes(config).map(async (type) => {
    // The type becomes part of a path (/etc/ssh/ssh_host_TYPE_key): a word, nothing else.
    if (!/^[a-z0-9][a-z0-9-]*$/.test(type)) { ctx.report('warning', where, `ssh_genkeytypes: ${show(type)} is not a key type name; not generated`); return; }
    const file = keyFile(type);
    if (ctx.files.exists(file)) { ctx.log.info(`${where}: ${file} exists; kept`); return; }
    const made = early.get(type);
    if (made) {
      const fp = await adoptEarlyHostKey(ctx, where, made, file);
      if (fp !== null) {
        ctx.log.info(`${where}: generated ${type} host key ${file}${quiet ? '' : ` ${fp}`}`);
        ctx.log.debug(`${where}: ${file} was made early, in init-local`);
        return;
      }
    }
    const r = await ctx.capture(['ssh-keygen', '-t', type, '-N', '', ...comment, '-f', file], { env: { LANG: 'C' } });
    if (r.code === 0) {
      const fp = /(SHA256:\S+.*)$/m.exec(r.stdout)?.[1] ?? '';
      ctx.log.info(`${where}: generated ${type} host key ${file}${quiet ? '' : ` ${fp}`}`);
    } else if (r.code === 1 && r.stderr.toLowerCase().startsWith('unknown key')) {
      ctx.log.debug(`${where}: ssh-keygen: unknown key type '${type}'`);
    } else {
      ctx.report('error', where, `generating the ${type} host key ${file} failed (${describeExit(r)}): ${r.stderr.trim()}`);
    }
  }));
}

/** The keys to authorize: the datasource's (unless allow_public_ssh_keys is false), then the config's. */
function authorizedKeys(run: ModuleRun): string[] {
  const { config, source } = run;
  const keys: unknown[] = optionBool(config, 'allow_public_ssh_keys', true) ? [...(source.publicKeys ?? [])] : [];
  const cfgKeys = config['ssh_authorized_keys'];
  if (typeof cfgKeys === 'string') keys.push(cfgKeys);
  else if (Array.isArray(cfgKeys)) keys.push(...cfgKeys);
  return uniqueKeys(keys);
}

function rootOptions(config: ModuleRun['config'], user: string | null): string {
  if (!optionBool(config, 'disable_root', true)) return '';
  const opts = config['disable_root_opts'] === undefined || config['disable_root_opts'] === null ? DISABLE_USER_OPTS : String(config['disable_root_opts']);
  return opts.replaceAll('$USER', user ?? 'NONE').replaceAll('$DISABLE_USER', 'root');
}

/**
 * cloud-init's apply_credentials: the default user and root always get their
 * ~/.ssh (0700) and authorized_keys (0600, theirs), even with no key to put
 * there, so a script can append one. With no keys, a user missing from the
 * root's /etc/passwd (a bare root, not an image) is only noted.
 */
function applyCredentials(run: ModuleRun): void {
  const { ctx, config, where } = run;
  const keys = authorizedKeys(run);
  const some = keys.length > 0;
  if (!some) ctx.log.info(`${where}: no ssh keys from the datasource or ssh_authorized_keys; authorized_keys made empty where missing`);
  const { defaultUser } = usersAndGroups(config);
  const setup = (user: string, options?: string): string | null => {
    if (!some && !userExists(ctx.files, user)) {
      ctx.log.info(`${where}: no user '${user}' in /etc/passwd; no authorized_keys made for it`);
      return null;
    }
    return setupUserKeys(ctx, keys, user, options);
  };
  if (defaultUser) {
    try {
      const path = setup(defaultUser);
      if (path) ctx.log.info(`${where}: ${keys.length} key(s) authorized for the default user '${defaultUser}' in ${path}`);
    } catch (e) {
      ctx.report('error', where, `authorizing keys for the default user '${defaultUser}': ${(e as Error).message}`);
    }
  }
  const options = rootOptions(config, defaultUser);
  const path = setup('root', options);
  if (path) ctx.log.info(`${where}: ${keys.length} key(s) for root in ${path}${options && some ? ' (root login disabled: they print which user to log in as)' : ''}`);
}

function describe(run: ModuleRun): string[] {
  const { ctx, config } = run;
  const lines: string[] = [];
  if (hostKeysWanted(ctx, config)) {
    if (optionBool(config, 'ssh_deletekeys', true)) lines.push('delete the image\'s host keys /etc/ssh/ssh_host_*key*');
    const given = config['ssh_keys'];
    if (given && typeof given === 'object') lines.push(`write the given host keys: ${Object.keys(given).join(', ')}`);
    else {
      try { lines.push(`generate host keys: ${genKeyTypes(config).join(', ')}`); } catch (e) { lines.push((e as Error).message); }
    }
  } else {
    lines.push(`no ${SSHD_CONFIG} in the root: host keys left alone`);
  }
  const keys = authorizedKeys(run);
  let user: string | null = null;
  try { user = usersAndGroups(config).defaultUser; } catch { /* reported at run */ }
  // With no keys the files are still made (empty), as cloud-init makes them.
  if (user) lines.push(`authorize ${keys.length} key(s) for the default user ${user}`);
  lines.push(`authorize ${keys.length} key(s) for root${keys.length && rootOptions(config, user) ? ', with root login disabled' : ''}`);
  return lines;
}

export const ssh: Module = {
  name: 'ssh',
  stage: 'init',
  frequency: 'per-instance',
  keys: [],
  schema: SCHEMA,
  describe,
  async run(run) {
    const { ctx, config, where } = run;
    if (hostKeysWanted(ctx, config)) {
      try { await hostKeys(run); } catch (e) { ctx.report('error', where, (e as Error).message); }
    } else {
      ctx.log.info(`${where}: no ${SSHD_CONFIG} in the root (no ssh server): host keys left alone`);
    }
    if (config['ssh_publish_hostkeys'] !== undefined) ctx.log.info(`${where}: ssh_publish_hostkeys: no datasource here takes host keys back; nothing published`);
    applyCredentials(run);
  },
};
