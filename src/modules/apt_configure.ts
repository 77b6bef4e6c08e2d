// apt (cloud-init's cc_apt_configure, stage config, per instance), offline:
// - debconf_selections → the root's debconf-set-selections;
// - unless preserve_sources_list: the primary/security mirrors (per
//   architecture) rendered into /etc/apt/sources.list or, in deb822 form,
//   /etc/apt/sources.list.d/debian.sources, from `sources_list` ($MIRROR,
//   $PRIMARY, $SECURITY, $RELEASE) or the built-in Debian template;
//   disable_suites; mirror keys;
// - proxy/http_proxy/https_proxy/ftp_proxy → apt.conf.d/90cloud-init-aptproxy,
//   conf → apt.conf.d/94cloud-init-config (removed when not configured);
// - sources: NAME → sources.list.d/NAME.list (or .sources for deb822), inline
//   keys dearmored here (no gpg needed) into trusted.gpg.d/NAME.gpg, or into
//   cloud-init.gpg.d/NAME.gpg when the source says [signed-by=$KEY_FILE];
//   then apt-get update (once per instance, shared with packages).
// `keyid` (a keyserver) and ppa: (add-apt-repository) need the network: each
// such entry is refused with a message saying so, the others still apply.
// Mirror `search`/`search_dns` candidates are taken when their name resolves
// (a query: `getent ahosts` in the root, so plan says it depends on the
// machine). The architecture is what dpkg --print-architecture says (a query).
import { fileContent } from '../bytes.ts';
import type { Action } from '../host/actions.ts';
import { osRelease } from '../host/os-release.ts';
import { parseUrl } from '../net/url.ts';
import { describeExit } from '../host/run.ts';
import { haveAptGet, updateSourcesActions } from './apt-get.ts';
import {
  archMirrorConfig, dearmor, debianSources, debianSourcesList, disableSuites, distroMirrors,
  isDeb822, type Mirrors,
} from './apt-sources.ts';
import { isFalse, isMapping } from './helpers.ts';
import { renderTemplate } from './template.ts';
import { which } from '../host/root-facts.ts';
import { matching } from '../validate/check.ts';
import { fileIn } from '../validate/files.ts';
import { actionModule, type ActionRun, type Report, type Schema } from './module.ts';
import { aptSettings, LEGACY_APT_KEYS } from './apt-legacy.ts';

const SOURCES_LIST = '/etc/apt/sources.list';
const SOURCES_DIR = '/etc/apt/sources.list.d';
const TRUSTED_DIR = '/etc/apt/trusted.gpg.d';
const HARDENED_DIR = '/etc/apt/cloud-init.gpg.d';
const PROXY_FILE = '/etc/apt/apt.conf.d/90cloud-init-aptproxy';
const CONF_FILE = '/etc/apt/apt.conf.d/94cloud-init-config';
const DEFAULT_KEYSERVER = 'keyserver.ubuntu.com';
/** cloud-init's ADD_APT_REPO_MATCH: 'ppa:…', 'cloud-archive:…' go to add-apt-repository. */
const ADD_APT_REPO_MATCH = '^[\\w-]+:\\w';


const MIRROR: Schema = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['arches'],
    properties: {
      arches: { type: 'array', items: { type: 'string' }, minItems: 1 },
      uri: { type: 'string' },
      search: { type: 'array', items: { type: 'string' }, minItems: 1 },
      search_dns: { type: 'boolean' },
      keyid: { type: 'string' },
      key: { type: 'string' },
      keyserver: { type: 'string' },
    },
  },
};

const SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    preserve_sources_list: { type: 'boolean', description: 'leave sources.list as it is (mirrors and sources_list are then ignored)' },
    disable_suites: { type: 'array', items: { type: 'string' }, description: 'suites to comment out of the rendered sources list' },
    primary: MIRROR,
    security: MIRROR,
    add_apt_repo_match: { type: 'string' },
    debconf_selections: { type: 'object', patternProperties: { '^.+$': { type: 'string' } }, additionalProperties: false },
    sources_list: { type: 'string', description: 'template of the sources list: $MIRROR, $PRIMARY, $SECURITY, $RELEASE' },
    conf: { type: 'string' },
    proxy: { type: 'string' },
    http_proxy: { type: 'string' },
    ftp_proxy: { type: 'string' },
    https_proxy: { type: 'string' },
    sources: {
      type: 'object',
      patternProperties: {
        '^.+$': {
          type: 'object',
          additionalProperties: false,
          properties: {
            source: { type: 'string' },
            keyid: { type: 'string' },
            key: { type: 'string' },
            keyserver: { type: 'string' },
            filename: { type: 'string' },
            append: { type: 'boolean' },
          },
        },
      },
    },
  },
};

/** The `apt` mapping, the old top-level apt_* keys converted into it as cloud-init converts them (apt-legacy.ts). */
function settings(config: Record<string, unknown>): Record<string, unknown> {
  const apt = config['apt'];
  if (apt !== null && apt !== undefined && !isMapping(apt)) throw new Error(`expected a mapping for 'apt', found ${Array.isArray(apt) ? 'a list' : typeof apt}`);
  return aptSettings(config).apt ?? {};
}

const DEPRECATED = (key: string) => `'${key}' is deprecated (cloud-init 22.1): use the 'apt' mapping; converted as cloud-init converts it`;
const LEGACY_SCHEMA: Record<string, Schema> = Object.fromEntries(LEGACY_APT_KEYS.map((k) => [k, { deprecated: DEPRECATED(k) }]));

/** The apt settings, checked: what needs no facts of the machine is decided here. */
export interface AptValue {
  cfg: Record<string, unknown>;
  /** Old top-level keys converted into `apt`. */
  converted: string[];
  /** debconf-set-selections' input and how many sets it has. */
  debconf: { text: string; sets: number } | null;
  /** The lines of 90cloud-init-aptproxy (none: the file goes). */
  proxies: string[];
  /** 94cloud-init-config's content (null: the file goes). */
  conf: string | Uint8Array | null;
  /** The `sources` mapping (null: none given, or not a mapping: reported). */
  sources: Record<string, unknown> | null;
}

export function checkApt(config: Record<string, unknown>, report: Report): AptValue | null {
  let cfg: Record<string, unknown>;
  try { cfg = settings(config); } catch (e) { report('error', (e as Error).message); return null; }
  const { converted } = aptSettings(config);
  let debconf: AptValue['debconf'] = null;
  const sets = cfg['debconf_selections'];
  if (sets && !isMapping(sets)) report('error', "apt.debconf_selections: must be a mapping of set names to selections; left out");
  else if (sets && isMapping(sets)) {
    let text = Object.keys(sets).sort().map((k) => String(sets[k])).join('\n');
    if (!text.endsWith('\n')) text += '\n';
    debconf = { text, sets: Object.keys(sets).length };
  }
  const proxies = ([
    ['proxy', 'http'], ['http_proxy', 'http'], ['ftp_proxy', 'ftp'], ['https_proxy', 'https'],
  ] as const).filter(([k]) => cfg[k]).flatMap(([k, scheme]) => {
    // The value sits between quotes in an apt.conf line: a quote, ';', '{' or a control would add options.
    const v = matching(cfg[k], /^[^"{};\s\\]+$/, 'a proxy URL without quotes, braces, semicolons, backslashes or spaces');
    if (!v.ok) { report('error', `apt: ${k}: ${v.why}; left out`); return []; }
    return [`Acquire::${scheme}::Proxy "${v.value}";`];
  });
  // Python's truth: empty bytes (!!binary "") are no conf either.
  const c = cfg['conf'];
  const conf = c && !(c instanceof Uint8Array && c.length === 0) ? fileContent(c) : null;
  let sources: Record<string, unknown> | null = null;
  if (cfg['sources'] !== undefined && cfg['sources'] !== null) {
    if (isMapping(cfg['sources'])) sources = cfg['sources'];
    else report('error', "apt.sources: must be a mapping of names to sources; left out");
  }
  return { cfg, converted, debconf, proxies, conf, sources };
}

function distro(config: Record<string, unknown>): string {
  const info = config['system_info'];
  const d = isMapping(info) ? info['distro'] : undefined;
  return typeof d === 'string' && d ? d : 'debian';
}

/** The root's release codename (cloud-init's lsb_release codename), from its os-release. */
function releaseOf(run: ActionRun): string | null {
  const codename = osRelease(run.files)['VERSION_CODENAME'];
  if (codename) return codename;
  run.report('error', 'cannot tell the release codename: no VERSION_CODENAME in /etc/os-release under the root');
  return null;
}

/**
 * dpkg's architecture, as `dpkg --print-architecture` says (a query: dpkg's
 * database is dpkg's own, lintian's uses-dpkg-database-directly). Null: plan
 * cannot tell, or dpkg failed (reported).
 */
async function archOf(run: ActionRun): Promise<string | null> {
  const r = await run.query(['dpkg', '--print-architecture'], { timeoutMs: 30_000 });
  if (r === null) return null;
  const arch = r.stdout.trim();
  if (r.code !== 0 || !arch) {
    run.report('error', `dpkg --print-architecture failed under the root (${describeExit(r, 30_000)}): ${r.stderr.trim()}`);
    return null;
  }
  return arch;
}

/**
 * A URL whose host resolves (cloud-init's is_resolvable_url): a query, as it
 * asks the root's resolver (getent ahosts, 2 s per name). plan cannot know:
 * not resolvable there, and its step says it depends on the machine.
 */
async function resolvable(run: ActionRun, url: string): Promise<boolean> {
  let host: string;
  try { host = parseUrl(url).hostname; } catch { return false; }
  if (!host) return false;
  const r = await run.query(['getent', 'ahosts', '--', host], { timeoutMs: 2000 });
  return r !== null && r.code === 0 && r.stdout.trim() !== '';
}

/** cloud-init's get_mirror: `uri`, else the first resolvable `search` entry, else `search_dns`. */
async function mirrorFor(run: ActionRun, cfg: Record<string, unknown>, kind: 'primary' | 'security', arch: string, fqdn: string, notes: string[]): Promise<string | null> {
  const m = archMirrorConfig(cfg[kind], arch);
  if (!m) return null;
  if (typeof m['uri'] === 'string') return m['uri'];
  if (Array.isArray(m['search'])) {
    for (const url of m['search']) if (typeof url === 'string' && await resolvable(run, url)) return url;
    notes.push(`no ${kind} mirror of 'search' resolves`);
  }
  if (m['search_dns'] === true) {
    const name = kind === 'primary' ? 'mirror' : 'security-mirror';
    const domain = fqdn.split('.').slice(1).join('.');
    const doms = [...(domain ? [`.${domain}`] : []), '.localdomain', ''];
    for (const d of doms) {
      const url = `http://debian-${name}${d}/debian`;
      if (await resolvable(run, url)) return url;
    }
    notes.push(`search_dns found no ${kind} mirror`);
  }
  return null;
}

/** cloud-init's find_apt_mirror_info: security defaults to primary; both default to the distro's. */
async function findMirrors(run: ActionRun, cfg: Record<string, unknown>, arch: string, fqdn: string, notes: string[]): Promise<Mirrors> {
  const primary = await mirrorFor(run, cfg, 'primary', arch, fqdn, notes);
  const security = await mirrorFor(run, cfg, 'security', arch, fqdn, notes);
  if (primary !== null) return { PRIMARY: primary, SECURITY: security ?? primary, MIRROR: primary };
  const d = distroMirrors(run.config, arch);
  return { PRIMARY: d.primary, SECURITY: security ?? d.security, MIRROR: d.primary };
}

/**
 * An entry's inline key as a keyring to write (or its keyid refused: a
 * keyserver is the network). Null without a key; throws on a bad one.
 */
function keyOf(ent: Record<string, unknown>, fileName: string, hardened: boolean): { path: string; content: Uint8Array } | null {
  if (typeof ent['key'] !== 'string') {
    if (ent['keyid'] !== undefined) {
      const server = typeof ent['keyserver'] === 'string' ? ent['keyserver'] : DEFAULT_KEYSERVER;
      throw new Error(`keyid '${String(ent['keyid'])}' must be fetched from keyserver ${server}, which ec2-init does not do (it runs offline): put the ASCII-armored key in 'key' instead`);
    }
    return null;
  }
  const stem = fileName.split('/').pop()!.replace(/\.[^.]*$/, '');
  return { path: `${hardened ? HARDENED_DIR : TRUSTED_DIR}/${stem}.gpg`, content: dearmor(ent['key']) };
}

const writeKey = (key: { path: string; content: Uint8Array }, unit?: string): Action =>
  ({ kind: 'write', path: key.path, content: key.content, mode: 0o644, why: 'an apt key', ...(unit !== undefined && { unit }) });

/** sources_list, or the built-in Debian template; its path by its format (deb822 or one-line). */
function renderSourcesList(run: ActionRun, cfg: Record<string, unknown>, release: string, mirrors: Mirrors,
  keys: { primary?: string; security?: string }): { path: string; text: string } | null {
  const name = distro(run.config);
  const deb822File = `${SOURCES_DIR}/${name}.sources`;
  const params: Record<string, unknown> = { RELEASE: release, codename: release };
  for (const [k, v] of Object.entries(mirrors)) { params[k] = v; params[k.toLowerCase()] = v; }
  let text: string;
  if (typeof cfg['sources_list'] === 'string') {
    text = renderTemplate(cfg['sources_list'], params);
  } else {
    if (name !== 'debian') {
      run.report('warning', `no built-in sources template for distro '${name}' (only debian): ${SOURCES_LIST} not rendered; give 'sources_list'`);
      return null;
    }
    // The image's own convention: deb822 where it already keeps its sources
    // that way (trixie and later), one-line sources.list otherwise (bookworm).
    const deb822 = run.files.exists(deb822File) || !(run.files.readTextIfExists(SOURCES_LIST)?.trim());
    const vars = { mirror: mirrors.PRIMARY, security: mirrors.SECURITY, codename: release, primaryKey: keys.primary, securityKey: keys.security };
    text = deb822 ? debianSources(vars) : debianSourcesList(vars);
  }
  return { path: isDeb822(text) ? deb822File : SOURCES_LIST, text: disableSuites(cfg['disable_suites'], text, release) };
}

/** The distribution's sources list and the mirrors' keys (unless preserve_sources_list). */
function sourcesListActions(run: ActionRun, cfg: Record<string, unknown>, release: string, mirrors: Mirrors): Action[] {
  const actions: Action[] = [];
  const keys: { primary?: string; security?: string } = {};
  for (const kind of ['primary', 'security'] as const) {
    const list = Array.isArray(cfg[kind]) ? cfg[kind] : [];
    for (const m of list) {
      if (!isMapping(m)) continue;
      try {
        const key = keyOf(m, kind, false);
        if (key) { keys[kind] = key.path; actions.push(writeKey(key, `${kind} key`)); }
      } catch (e) { run.report('error', `apt.${kind} mirror key: ${(e as Error).message}`); }
    }
  }
  const out = renderSourcesList(run, cfg, release, mirrors, keys);
  if (!out) return actions;
  actions.push({ kind: 'write', path: out.path, content: out.text, mode: 0o644, unit: 'sources list', why: 'the distribution\'s sources' });
  // One list of the distribution's sources: the other format's file goes.
  const other = out.path === SOURCES_LIST ? `${SOURCES_DIR}/${distro(run.config)}.sources` : SOURCES_LIST;
  if (run.files.exists(other)) actions.push({ kind: 'remove', path: other, unit: 'sources list', why: `in favour of ${out.path}` });
  return actions;
}

/** cloud-init's apply_apt_config: the proxy and conf files, removed when not configured. */
function aptConfigActions(run: ActionRun, value: AptValue): Action[] {
  const unit = 'proxy/conf';
  const present = (path: string) => { try { return run.files.lstat(path) !== null; } catch { return true; } };
  return [
    ...(value.proxies.length ? [{ kind: 'write', path: PROXY_FILE, content: value.proxies.join('\n') + '\n', mode: 0o644, unit } as const]
      : present(PROXY_FILE) ? [{ kind: 'remove', path: PROXY_FILE, unit } as const] : []),
    ...(value.conf !== null ? [{ kind: 'write', path: CONF_FILE, content: value.conf, mode: 0o644, unit } as const]
      : present(CONF_FILE) ? [{ kind: 'remove', path: CONF_FILE, unit } as const] : []),
  ];
}

/** debconf_selections → debconf-set-selections (sorted by set name, as cloud-init). */
function debconfActions(run: ActionRun, debconf: NonNullable<AptValue['debconf']>): Action[] {
  const prog = which(run.files, 'debconf-set-selections');
  if (!prog) { run.report('error', 'apt.debconf_selections: debconf-set-selections not found under the root (install debconf)'); return []; }
  return [{ kind: 'run', argv: [prog], input: debconf.text, timeoutMs: 60_000, unit: 'debconf', why: `${debconf.sets} debconf selection set(s)` }];
}

/** The file of one `sources` entry (`file`: its checked path in sources.list.d), with cloud-init's suffix rule. */
function sourceTarget(file: string, source: string): string {
  const ext = isDeb822(source) ? '.sources' : '.list';
  return file.endsWith(ext) ? file : file + ext;
}

/** Each `sources` entry: its key and its file, one unit each; a refused entry writes nothing. */
function sourcesActions(run: ActionRun, cfg: Record<string, unknown>, sources: Record<string, unknown>, params: Record<string, unknown>): Action[] {
  const matchSpec = cfg['add_apt_repo_match'] === undefined ? ADD_APT_REPO_MATCH : cfg['add_apt_repo_match'];
  const matcher = typeof matchSpec === 'string' && matchSpec ? new RegExp(matchSpec) : null;
  return Object.entries(sources).flatMap(([name, raw]): Action[] => {
    const unit = `source ${name}`;
    try {
      const ent = isMapping(raw) ? raw : raw === null ? {} : (() => { throw new Error('expected a mapping (source, key, keyid, filename)'); })();
      // The file (and its key's name) is the entry's filename, else its name:
      // a file directly in sources.list.d, never a path elsewhere under the root.
      const given = ent['filename'] !== undefined && ent['filename'] !== '' && ent['filename'] !== null;
      const checked = fileIn(SOURCES_DIR, given ? ent['filename'] : name);
      if (!checked.ok) {
        run.report('error', `apt.sources.${name}${given ? '.filename' : ''}: ${checked.why}; give a file name such as 'my-repo.list' (apt reads ${SOURCES_DIR}); source left out`);
        return [];
      }
      const fileName = checked.value;
      const source = typeof ent['source'] === 'string' ? ent['source'] : null;
      const hardened = source !== null && source.includes('$KEY_FILE');
      const key = keyOf(ent, fileName, hardened);
      if (source === null) return key ? [writeKey(key, unit)] : [];
      const rendered = renderTemplate(source, { ...params, ...(key ? { KEY_FILE: key.path } : {}) });
      if ((matcher && matcher.test(rendered)) || /^ppa:/.test(rendered)) {
        throw new Error(`'${rendered}' is for add-apt-repository (a Launchpad PPA or cloud archive: Ubuntu and the network), which ec2-init does not run: give a 'deb …' line and its 'key' instead`);
      }
      // A line apt cannot read would stop every later apt-get update: refuse it here.
      const bad = isDeb822(rendered) ? undefined
        : rendered.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#') && !/^deb(-src)?\s+\S/.test(l));
      if (bad !== undefined) throw new Error(`'${bad}' is not a sources.list entry ('deb URI SUITE [COMPONENT…]', or a deb822 stanza)`);
      const path = sourceTarget(fileName, rendered);
      const entry = rendered.endsWith('\n') ? rendered : `${rendered}\n`;
      // append (the default) adds to what the file has, once: a boot cut
      // short and run again does not list the source twice.
      const old = ent['append'] === false ? '' : run.files.readTextIfExists(path) ?? '';
      const oldLines = old.split('\n');
      const already = old !== '' && (isDeb822(entry) ? old.includes(entry.trim())
        : entry.split('\n').filter((l) => l.trim()).every((l) => oldLines.includes(l)));
      return [
        ...(key ? [writeKey(key, unit)] : []),
        ...(already ? [] : [{ kind: 'write', path, content: old && !old.endsWith('\n') ? `${old}\n${entry}` : old + entry, mode: 0o644, unit, why: `source ${name}` } as const]),
      ];
    } catch (e) {
      run.report('error', `source '${name}': ${(e as Error).message}`);
      return [];
    }
  });
}

async function aptActions(value: AptValue, run: ActionRun): Promise<Action[]> {
  const { cfg } = value;
  if (!haveAptGet(run, run.report, "apt (the 'apt' module, cloud-init's apt_configure)")) return [];
  const actions: Action[] = [];
  if (value.converted.length) actions.push({ kind: 'log', text: `${run.where}: old apt keys converted into 'apt', as cloud-init does: ${value.converted.join(', ')}` });
  if (value.debconf) actions.push(...debconfActions(run, value.debconf));
  const release = releaseOf(run);
  // plan without dpkg's answer goes on with no arch (only 'default' mirrors match), so the
  // steps after this one still see its apt-get update; its step says it depends on the machine.
  const arch = release === null ? null : await archOf(run) ?? (run.planning ? '(dpkg answers at boot)' : null);
  if (release === null || arch === null) return actions;
  const fqdn = (typeof run.config['fqdn'] === 'string' ? run.config['fqdn'] : '') || run.source.localHostname || '';
  const notes: string[] = [];
  const mirrors = await findMirrors(run, cfg, arch, fqdn, notes);
  actions.push({ kind: 'log', text: [...notes, `release ${release}, arch ${arch}, primary ${mirrors.PRIMARY}, security ${mirrors.SECURITY}`].map((n) => `${run.where}: ${n}`).join('\n') });
  // cloud-init's is_false(preserve_sources_list, default False).
  if (isFalse(cfg['preserve_sources_list'] ?? false)) actions.push(...sourcesListActions(run, cfg, release, mirrors));
  actions.push(...aptConfigActions(run, value));
  if (value.sources !== null) {
    actions.push(...sourcesActions(run, cfg, value.sources, { ...mirrors, RELEASE: release }));
    // cloud-init updates the package lists once the sources are in place.
    actions.push(...updateSourcesActions(run));
  }
  return actions;
}

export const aptConfigure = actionModule<AptValue>({
  name: 'apt_configure',
  stage: 'config',
  frequency: 'per-instance',
  keys: ['apt', ...LEGACY_APT_KEYS],
  schema: { apt: SCHEMA, ...LEGACY_SCHEMA },
  check: checkApt,
  actions: aptActions,
});
