// ssh: host keys and authorized keys, before sshd starts (cloud-init's
// cc_ssh). Host keys: the image's are deleted (ssh_deletekeys), then either
// the ones given in ssh_keys are written (a missing public half derived with
// ssh-keygen -y, certificates announced with HostCertificate) or new ones
// are made with the root's own ssh-keygen, chrooted (ssh_genkeytypes).
// Authorized keys: the datasource's public keys and ssh_authorized_keys go to
// the default user, and to root behind disable_root's command, which tells
// whoever logs in as root which user to use instead.
import { fileContent } from '../bytes.ts';
import type { Action } from '../host/actions.ts';
import { actionModule, type ActionRun, type Report, type Schema } from './module.ts';
import { sshdConfigAppend, DISABLE_USER_OPTS, SSHD_CONFIG, uniqueKeys, userKeysActions } from './ssh-keys.ts';
import { passwdEntry } from '../host/accounts.ts';
import { describeExit } from '../host/run.ts';
import { isMapping, optionBool } from './helpers.ts';
import { show } from '../validate/check.ts';
import { keyFingerprint } from './keys_to_console.ts';
import { usersAndGroups } from './users-config.ts';
import { adoptEarlyHostKey, collectEarlyHostKeys, DEFAULT_TYPES, discardEarlyHostKeys, genKeyTypes, imageHostKeys, keyComment, STAGING } from './host-keys-early.ts';

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

interface Ssh {
  /** Host keys are only the business of a root with an ssh server, unless the config asks for them. */
  hostKeysAsked: boolean;
  deleteKeys: boolean;
  /** ssh_keys: file → content and mode, certificates among them (null: generate instead). */
  given: Array<{ key: string; file: string; mode: number; content: Uint8Array }> | null;
  /** Types whose public half is derived from the private one given (ssh-keygen -y). */
  derive: string[];
  /** ssh_genkeytypes (null: it is not a list of types: reported). */
  genTypes: string[] | null;
  quiet: boolean;
  publish: boolean;
  /** The keys to authorize: the datasource's (unless allow_public_ssh_keys is false), then the config's. */
  allowDatasourceKeys: boolean;
  configKeys: unknown[];
  rootOptions: string;
  defaultUser: string | null;
}

/** The ssh keys of the config, read once: an entry of ssh_keys it does not know is reported and left out. */
export function checkSsh(config: Record<string, unknown>, report: Report): Ssh {
  let given: Ssh['given'] = null;
  const derive: string[] = [];
  const raw = config['ssh_keys'];
  if (raw !== undefined && raw !== null) {
    if (!isMapping(raw)) report('error', 'ssh_keys: expected a mapping such as {rsa_private: …, rsa_public: …}');
    else {
      given = [];
      for (const [key, val] of Object.entries(raw)) {
        const target = CONFIG_KEY_TO_FILE[key];
        if (!target) { report('warning', `ssh_keys: skipped ${/^(ecdsa-sk|ed25519-sk)_/.test(key) ? 'unsupported' : 'unrecognized'} entry '${key}'`); continue; }
        given.push({ key, file: target[0], mode: target[1], content: fileContent(val ?? '') });
      }
      for (const t of GENERATE_KEY_NAMES) if (raw[`${t}_public`] === undefined && raw[`${t}_private`] !== undefined) derive.push(t);
    }
  }
  let genTypes: string[] | null = null;
  try { genTypes = genKeyTypes(config); } catch (e) { if (given === null) report('error', (e as Error).message); }
  let defaultUser: string | null = null;
  try { defaultUser = usersAndGroups(config).defaultUser; } catch { /* users_groups reports it */ }
  const cfgKeys = config['ssh_authorized_keys'];
  const disableOpts = config['disable_root_opts'] === undefined || config['disable_root_opts'] === null ? DISABLE_USER_OPTS : String(config['disable_root_opts']);
  return {
    hostKeysAsked: config['ssh_keys'] !== undefined || config['ssh_genkeytypes'] !== undefined,
    deleteKeys: optionBool(config, 'ssh_deletekeys', true),
    given, derive, genTypes,
    quiet: optionBool(config, 'ssh_quiet_keygen', false),
    publish: config['ssh_publish_hostkeys'] !== undefined,
    allowDatasourceKeys: optionBool(config, 'allow_public_ssh_keys', true),
    configKeys: typeof cfgKeys === 'string' ? [cfgKeys] : Array.isArray(cfgKeys) ? cfgKeys : [],
    rootOptions: optionBool(config, 'disable_root', true) ? disableOpts.replaceAll('$USER', defaultUser ?? 'NONE').replaceAll('$DISABLE_USER', 'root') : '',
    defaultUser,
  };
}

/** The image's keys deleted (ssh_deletekeys), then the given ones written or new ones made. */
async function hostKeys(v: Ssh, run: ActionRun): Promise<Action[]> {
  const { files, log, where, root, planning } = run;
  const out: Action[] = [];
  // The keys init-local started (host-keys-early.ts): what the config asks to generate is adopted, the rest deleted.
  // Whether it started them is this boot's fact: plan cannot know it.
  const early = planning ? (run.bootFact?.(() => null) ?? null) : await collectEarlyHostKeys(files, log, where, v.given === null ? v.genTypes ?? [] : []);
  if (!planning && early === null && files.exists(STAGING)) out.push({ kind: 'remove', path: STAGING, tree: true, why: "a cut-short boot's early keys" });
  const deleted = new Set<string>();
  if (v.deleteKeys) {
    for (const n of imageHostKeys(files)) { out.push({ kind: 'remove', path: `/etc/ssh/${n}`, why: "the image's host key" }); deleted.add(`/etc/ssh/${n}`); }
  }
  if (v.given !== null) {
    const certs: [string, string][] = [];
    for (const g of v.given) {
      out.push({ kind: 'write', path: g.file, content: g.content, mode: g.mode, why: `ssh_keys.${g.key}` });
      if (g.key.endsWith('_certificate')) certs.push(['HostCertificate', g.file]);
    }
    const announce = certs.length ? sshdConfigAppend(files, certs) : null;
    if (announce) out.push(announce);
    for (const t of v.derive) {
      out.push({
        kind: 'run', argv: ['ssh-keygen', '-yf', keyFile(t)], env: { LANG: 'C' }, failure: 'ignore', unit: `derive ${t}`, why: `${keyFile(t)}.pub from the private key`,
        then: (r) => (r.code === 0
          ? [{ kind: 'write', path: `${keyFile(t)}.pub`, content: `${r.stdout.trim()} root@localhost\n`, mode: 0o644 }]
          : [{ kind: 'report', level: 'error', message: `deriving ${keyFile(t)}.pub from ${keyFile(t)} failed (${describeExit(r)}): ${r.stderr.trim()}` }]),
      });
    }
  } else {
    out.push({ kind: 'mkdir', path: '/etc/ssh', mode: 0o755 });
    // ssh-keygen names the key root@<hostname>: under another root that would be this
    // machine's name, so the image's own /etc/hostname is used instead.
    const named = keyComment(files, root);
    const comment = named === null ? [] : ['-C', named];
    const generated: Action[] = [];
    const adopted: Action[] = [];
    for (const type of v.genTypes ?? []) {
      // The type becomes part of a path (/etc/ssh/ssh_host_TYPE_key): a word, nothing else.
      if (!/^[a-z0-9][a-z0-9-]*$/.test(type)) { run.report('warning', `ssh_genkeytypes: ${show(type)} is not a key type name; not generated`); continue; }
      const file = keyFile(type);
      if (files.exists(file) && !deleted.has(file)) { log.info(`${where}: ${file} exists; kept`); continue; }
      const unit = `host key ${type}`;
      // The log line names the key's fingerprint (unless ssh_quiet_keygen), read from its public half as keys_to_console reads it.
      const made = (pub: string): Action[] => {
        const f = keyFingerprint(pub);
        return [{ kind: 'log', text: `${where}: generated ${type} host key ${file}${v.quiet || !f ? '' : ` ${f.sha256} ${f.comment}`}` }];
      };
      const generate = (): Action[] => [{
        kind: 'run', argv: ['ssh-keygen', '-t', type, '-N', '', ...comment, '-f', file], env: { LANG: 'C' }, failure: 'ignore', why: `the ${type} host key`,
        then: (r) => {
          if (r.code === 0) return made(files.readTextIfExists(`${file}.pub`) ?? '');
          if (r.code === 1 && r.stderr.toLowerCase().startsWith('unknown key')) return [{ kind: 'log', text: `${where}: ssh-keygen: unknown key type '${type}'` }];
          return [{ kind: 'report', level: 'error', message: `generating the ${type} host key ${file} failed (${describeExit(r)}): ${r.stderr.trim()}` }];
        },
      }];
      const key = early?.get(type);
      if (key) adopted.push(...adoptEarlyHostKey(files, root, where, key, file, made, generate).map((a) => ({ ...a, unit })));
      else generated.push(...generate().map((a) => ({ ...a, unit, together: true })));
    }
    // The keys still to make are made at once, each in its own ssh-keygen (RSA alone takes seconds on a slow machine).
    out.push(...generated, ...adopted);
  }
  if (early) out.push(...discardEarlyHostKeys(files).map((a) => ({ ...a, unit: 'early keys' })));
  return out;
}

/**
 * cloud-init's apply_credentials: the default user and root always get their
 * ~/.ssh (0700) and authorized_keys (0600, theirs), even with no key to put
 * there, so a script can append one. With no keys, a user missing from the
 * root's /etc/passwd (a bare root, not an image) is only noted.
 */
function credentials(v: Ssh, run: ActionRun): Action[] {
  const { files, log, where, source } = run;
  const keys = uniqueKeys([...(v.allowDatasourceKeys ? source.publicKeys ?? [] : []), ...v.configKeys]);
  const some = keys.length > 0;
  if (!some) log.info(`${where}: no ssh keys from the datasource or ssh_authorized_keys; authorized_keys made empty where missing`);
  const setup = (user: string, what: string, options?: string): Action[] => {
    // The account is the one users_groups made earlier in this stage: when it is not there yet, only the boot knows it.
    const pw = passwdEntry(files, user) ?? run.bootFact?.(() => passwdEntry(files, user)) ?? null;
    if (!pw) {
      if (!some || run.planning) { if (!run.planning) log.info(`${where}: no user '${user}' in /etc/passwd; no authorized_keys made for it`); return []; }
      return [{ kind: 'report', level: 'error', message: `${what}: user '${user}' does not exist (not in /etc/passwd)` }];
    }
    try {
      return userKeysActions(files, pw, keys, options).actions.map((a) => ({ ...a, unit: `keys of ${user}` }));
    } catch (e) {
      return [{ kind: 'report', level: 'error', message: `${what}: ${(e as Error).message}`, unit: `keys of ${user}` }];
    }
  };
  return [
    ...(v.defaultUser ? setup(v.defaultUser, `authorizing keys for the default user '${v.defaultUser}'`) : []),
    ...setup('root', 'authorizing keys for root', v.rootOptions),
  ];
}

export const ssh = actionModule<Ssh>({
  name: 'ssh',
  stage: 'init',
  frequency: 'per-instance',
  keys: [],
  schema: SCHEMA,
  check: checkSsh,
  async actions(v, run): Promise<Action[]> {
    const { files, log, where } = run;
    const out: Action[] = [];
    if (files.exists(SSHD_CONFIG) || v.hostKeysAsked) out.push(...(await hostKeys(v, run)).map((a) => ({ ...a, unit: a.unit ?? 'host keys' })));
    else log.info(`${where}: no ${SSHD_CONFIG} in the root (no ssh server): host keys left alone`);
    if (v.publish) log.info(`${where}: ssh_publish_hostkeys: no datasource here takes host keys back; nothing published`);
    return [...out, ...credentials(v, run)];
  },
});
