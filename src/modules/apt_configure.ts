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
// Mirror `search`/`search_dns` candidates are taken when their name resolves.
import { fileContent } from '../bytes.ts';
import { osRelease } from '../host/os-release.ts';
import { resolveName } from '../host/sockets.ts';
import { parseUrl } from '../net/url.ts';
import type { Context } from '../context.ts';
import { describeExit } from '../host/run.ts';
import { requireAptGet, updateSources } from './apt-get.ts';
import {
  archMirrorConfig, dearmor, debianSources, debianSourcesList, disableSuites, distroMirrors,
  isDeb822, type Mirrors,
} from './apt-sources.ts';
import { isFalse, isMapping } from './helpers.ts';
import { renderTemplate } from './template.ts';
import { which } from '../host/root-facts.ts';
import { matching } from '../validate/check.ts';
import type { Module, ModuleRun, Schema } from './module.ts';
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

function distro(config: Record<string, unknown>): string {
  const info = config['system_info'];
  const d = isMapping(info) ? info['distro'] : undefined;
  return typeof d === 'string' && d ? d : 'debian';
}

/** The root's release codename (cloud-init's lsb_release codename), from its os-release. */
function releaseOf(ctx: Context): string {
  const codename = osRelease(ctx.files)['VERSION_CODENAME'];
  if (codename) return codename;
  throw new Error('cannot tell the release codename: no VERSION_CODENAME in /etc/os-release under the root');
}

async function archOf(ctx: Context): Promise<string> {
  const r = await ctx.capture(['dpkg', '--print-architecture'], { timeoutMs: 30_000 });
  const arch = r.stdout.trim();
  if (r.code !== 0 || !arch) throw new Error(`dpkg --print-architecture failed under the root (${describeExit(r, 30_000)}): ${r.stderr.trim()}`);
  return arch;
}

/** A URL whose host resolves (cloud-init's is_resolvable_url), with a 2 s limit per name. */
async function resolvable(url: string): Promise<boolean> {
  let host: string;
  try { host = parseUrl(url).hostname; } catch { return false; }
  if (!host) return false;
  return resolveName(host, 2000).then((addresses) => addresses.length > 0, () => false);
}

/** cloud-init's get_mirror: `uri`, else the first resolvable `search` entry, else `search_dns`. */
async function mirrorFor(ctx: Context, cfg: Record<string, unknown>, kind: 'primary' | 'security', arch: string, where: string, fqdn: string): Promise<string | null> {
  const m = archMirrorConfig(cfg[kind], arch);
  if (!m) return null;
  if (typeof m['uri'] === 'string') return m['uri'];
  if (Array.isArray(m['search'])) {
    for (const url of m['search']) if (typeof url === 'string' && await resolvable(url)) return url;
    ctx.log.info(`${where}: no ${kind} mirror of 'search' resolves`);
  }
  if (m['search_dns'] === true) {
    const name = kind === 'primary' ? 'mirror' : 'security-mirror';
    const domain = fqdn.split('.').slice(1).join('.');
    const doms = [...(domain ? [`.${domain}`] : []), '.localdomain', ''];
    for (const d of doms) {
      const url = `http://debian-${name}${d}/debian`;
      if (await resolvable(url)) return url;
    }
    ctx.log.info(`${where}: search_dns found no ${kind} mirror`);
  }
  return null;
}

/** cloud-init's find_apt_mirror_info: security defaults to primary; both default to the distro's. */
async function findMirrors(ctx: Context, cfg: Record<string, unknown>, config: Record<string, unknown>, arch: string, where: string, fqdn: string): Promise<Mirrors> {
  const primary = await mirrorFor(ctx, cfg, 'primary', arch, where, fqdn);
  const security = await mirrorFor(ctx, cfg, 'security', arch, where, fqdn);
  if (primary !== null) return { PRIMARY: primary, SECURITY: security ?? primary, MIRROR: primary };
  const d = distroMirrors(config, arch);
  return { PRIMARY: d.primary, SECURITY: security ?? d.security, MIRROR: d.primary };
}

/**
 * Write an entry's inline key (or refuse its keyid: a keyserver is the
 * network). Returns the keyring path inside the root, or null without a key.
 */
function addKey(ctx: Context, ent: Record<string, unknown>, fileName: string, hardened: boolean): string | null {
  if (typeof ent['key'] !== 'string') {
    if (ent['keyid'] !== undefined) {
      const server = typeof ent['keyserver'] === 'string' ? ent['keyserver'] : DEFAULT_KEYSERVER;
      throw new Error(`keyid '${String(ent['keyid'])}' must be fetched from keyserver ${server}, which ec2-init does not do (it runs offline): put the ASCII-armored key in 'key' instead`);
    }
    return null;
  }
  const stem = fileName.split('/').pop()!.replace(/\.[^.]*$/, '');
  const path = `${hardened ? HARDENED_DIR : TRUSTED_DIR}/${stem}.gpg`;
  ctx.files.write(path, dearmor(ent['key']), { mode: 0o644 });
  ctx.log.info(`key written to ${path}`);
  return path;
}

/** sources_list, or the built-in Debian template; its path by its format (deb822 or one-line). */
function renderSourcesList(ctx: Context, cfg: Record<string, unknown>, config: Record<string, unknown>, release: string, mirrors: Mirrors,
  keys: { primary?: string; security?: string }, where: string): { path: string; text: string } | null {
  const name = distro(config);
  const deb822File = `${SOURCES_DIR}/${name}.sources`;
  const params: Record<string, unknown> = { RELEASE: release, codename: release };
  for (const [k, v] of Object.entries(mirrors)) { params[k] = v; params[k.toLowerCase()] = v; }
  let text: string;
  if (typeof cfg['sources_list'] === 'string') {
    text = renderTemplate(cfg['sources_list'], params);
  } else {
    if (name !== 'debian') {
      ctx.report('warning', where, `no built-in sources template for distro '${name}' (only debian): ${SOURCES_LIST} not rendered; give 'sources_list'`);
      return null;
    }
    // The image's own convention: deb822 where it already keeps its sources
    // that way (trixie and later), one-line sources.list otherwise (bookworm).
    const deb822 = ctx.files.exists(deb822File) || !(ctx.files.readTextIfExists(SOURCES_LIST)?.trim());
    const vars = { mirror: mirrors.PRIMARY, security: mirrors.SECURITY, codename: release, primaryKey: keys.primary, securityKey: keys.security };
    text = deb822 ? debianSources(vars) : debianSourcesList(vars);
  }
  return { path: isDeb822(text) ? deb822File : SOURCES_LIST, text: disableSuites(cfg['disable_suites'], text, release) };
}

/** cloud-init's apply_apt_config: the proxy and conf files, removed when not configured. */
function applyAptConfig(ctx: Context, cfg: Record<string, unknown>, where: string): void {
  const proxies = ([
    ['proxy', 'http'], ['http_proxy', 'http'], ['ftp_proxy', 'ftp'], ['https_proxy', 'https'],
  ] as const).filter(([k]) => cfg[k]).flatMap(([k, scheme]) => {
    // The value sits between quotes in an apt.conf line: a quote, ';', '{' or a control would add options.
    const v = matching(cfg[k], /^[^"{};\s\\]+$/, 'a proxy URL without quotes, braces, semicolons, backslashes or spaces');
    if (!v.ok) { ctx.report('error', where, `apt: ${k}: ${v.why}; left out`); return []; }
    return [`Acquire::${scheme}::Proxy "${v.value}";`];
  });
  if (proxies.length) ctx.files.write(PROXY_FILE, proxies.join('\n') + '\n', { mode: 0o644 });
  else ctx.files.unlink(PROXY_FILE);
  // Python's truth: empty bytes (!!binary "") are no conf either.
  if (cfg['conf'] && !(cfg['conf'] instanceof Uint8Array && cfg['conf'].length === 0)) ctx.files.write(CONF_FILE, fileContent(cfg['conf']), { mode: 0o644 });
  else ctx.files.unlink(CONF_FILE);
}

/** debconf_selections → debconf-set-selections (sorted by set name, as cloud-init). */
async function debconfSelections(ctx: Context, cfg: Record<string, unknown>, where: string): Promise<void> {
  const sets = cfg['debconf_selections'];
  if (!sets) return;
  if (!isMapping(sets)) throw new Error("'debconf_selections' must be a mapping of set names to selections");
  let text = Object.keys(sets).sort().map((k) => String(sets[k])).join('\n');
  if (!text.endsWith('\n')) text += '\n';
  const prog = which(ctx.files, 'debconf-set-selections');
  if (!prog) { ctx.report('error', where, 'debconf_selections: debconf-set-selections not found under the root (install debconf)'); return; }
  if (await ctx.runChecked(`${where} debconf_selections`, [prog], { input: text, timeoutMs: 60_000 })) {
    ctx.log.info(`${where}: ${Object.keys(sets).length} debconf selection set(s) applied`);
  }
}

/** The line (or stanza) of one `sources` entry, and the file it goes to. */
function sourceTarget(name: string, ent: Record<string, unknown>, source: string): string {
  let file = typeof ent['filename'] === 'string' && ent['filename'] ? ent['filename'] : name;
  if (!file.startsWith('/')) file = `${SOURCES_DIR}/${file}`;
  const ext = isDeb822(source) ? '.sources' : '.list';
  if (!file.endsWith(ext)) file += ext;
  return file;
}

async function addSources(ctx: Context, cfg: Record<string, unknown>, params: Record<string, unknown>, where: string): Promise<number> {
  const sources = cfg['sources'];
  if (!isMapping(sources)) throw new Error("'sources' must be a mapping of names to sources");
  const matchSpec = cfg['add_apt_repo_match'] === undefined ? ADD_APT_REPO_MATCH : cfg['add_apt_repo_match'];
  const matcher = typeof matchSpec === 'string' && matchSpec ? new RegExp(matchSpec) : null;
  let written = 0;
  for (const [name, raw] of Object.entries(sources)) {
    const label = `${where} source '${name}'`;
    try {
      const ent = isMapping(raw) ? raw : raw === null ? {} : (() => { throw new Error('expected a mapping (source, key, keyid, filename)'); })();
      const fileName = typeof ent['filename'] === 'string' && ent['filename'] ? ent['filename'] : name;
      const source = typeof ent['source'] === 'string' ? ent['source'] : null;
      const hardened = source !== null && source.includes('$KEY_FILE');
      const keyFile = addKey(ctx, ent, fileName, hardened);
      if (source === null) continue;
      const rendered = renderTemplate(source, { ...params, ...(keyFile ? { KEY_FILE: keyFile } : {}) });
      if ((matcher && matcher.test(rendered)) || /^ppa:/.test(rendered)) {
        throw new Error(`'${rendered}' is for add-apt-repository (a Launchpad PPA or cloud archive: Ubuntu and the network), which ec2-init does not run: give a 'deb …' line and its 'key' instead`);
      }
      // A line apt cannot read would stop every later apt-get update: refuse it here.
      const bad = isDeb822(rendered) ? undefined
        : rendered.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#') && !/^deb(-src)?\s+\S/.test(l));
      if (bad !== undefined) throw new Error(`'${bad}' is not a sources.list entry ('deb URI SUITE [COMPONENT…]', or a deb822 stanza)`);
      const path = sourceTarget(name, ent, rendered);
      const entry = rendered.endsWith('\n') ? rendered : `${rendered}\n`;
      // append (the default) adds to what the file has, once: a boot cut
      // short and run again does not list the source twice.
      const old = ent['append'] === false ? '' : ctx.files.readTextIfExists(path) ?? '';
      const oldLines = old.split('\n');
      const already = old !== '' && (isDeb822(entry) ? old.includes(entry.trim())
        : entry.split('\n').filter((l) => l.trim()).every((l) => oldLines.includes(l)));
      if (!already) ctx.files.write(path, old && !old.endsWith('\n') ? `${old}\n${entry}` : old + entry, { mode: 0o644 });
      ctx.log.info(`${label}: ${already ? 'already in' : 'written to'} ${path}${keyFile ? ` (key ${keyFile})` : ''}`);
      written++;
    } catch (e) {
      ctx.report('error', label, (e as Error).message);
    }
  }
  return written;
}

async function run({ ctx, config, where, instanceId, source }: ModuleRun): Promise<void> {
  const cfg = settings(config);
  const { converted } = aptSettings(config);
  if (converted.length) ctx.log.info(`${where}: old apt keys converted into 'apt', as cloud-init does: ${converted.join(', ')}`);
  requireAptGet(ctx, "apt (the 'apt' module, cloud-init's apt_configure)");
  await debconfSelections(ctx, cfg, where);
  const release = releaseOf(ctx);
  const arch = await archOf(ctx);
  const fqdn = (typeof config['fqdn'] === 'string' ? config['fqdn'] : '') || source.localHostname || '';
  const mirrors = await findMirrors(ctx, cfg, config, arch, where, fqdn);
  ctx.log.info(`${where}: release ${release}, arch ${arch}, primary ${mirrors.PRIMARY}, security ${mirrors.SECURITY}`);

  // cloud-init's is_false(preserve_sources_list, default False).
  if (isFalse(cfg['preserve_sources_list'] ?? false)) {
    const keys: { primary?: string; security?: string } = {};
    for (const kind of ['primary', 'security'] as const) {
      const list = Array.isArray(cfg[kind]) ? cfg[kind] : [];
      for (const m of list) {
        if (!isMapping(m)) continue;
        try {
          const path = addKey(ctx, m, kind, false);
          if (path) keys[kind] = path;
        } catch (e) { ctx.report('error', `${where} ${kind} mirror key`, (e as Error).message); }
      }
    }
    const out = renderSourcesList(ctx, cfg, config, release, mirrors, keys, where);
    if (out) {
      ctx.files.write(out.path, out.text, { mode: 0o644 });
      // One list of the distribution's sources: the other format's file goes.
      const other = out.path === SOURCES_LIST ? `${SOURCES_DIR}/${distro(config)}.sources` : SOURCES_LIST;
      if (ctx.files.exists(other)) { ctx.files.unlink(other); ctx.log.info(`${where}: removed ${other} in favour of ${out.path}`); }
      ctx.log.info(`${where}: wrote ${out.path}`);
    }
  }

  try { applyAptConfig(ctx, cfg, `${where} proxy`); } catch (e) { ctx.report('error', `${where} proxy/conf`, (e as Error).message); }

  if (cfg['sources'] !== undefined && cfg['sources'] !== null) {
    const params: Record<string, unknown> = { ...mirrors, RELEASE: release };
    await addSources(ctx, cfg, params, where);
    // cloud-init updates the package lists once the sources are in place.
    await updateSources(ctx, config, instanceId, where);
  }
}

export const aptConfigure: Module = {
  name: 'apt_configure',
  stage: 'config',
  frequency: 'per-instance',
  keys: ['apt', ...LEGACY_APT_KEYS],
  schema: { apt: SCHEMA, ...LEGACY_SCHEMA },
  describe({ config }) {
    let cfg: Record<string, unknown> = {};
    try { cfg = settings(config); } catch (e) { return [(e as Error).message]; }
    const lines: string[] = [];
    if (cfg['debconf_selections']) lines.push('apply debconf_selections');
    if (isFalse(cfg['preserve_sources_list'] ?? false)) lines.push(`render the sources list (${typeof cfg['sources_list'] === 'string' ? 'sources_list' : 'built-in template'}) with the primary/security mirrors`);
    if (cfg['proxy'] || cfg['http_proxy'] || cfg['https_proxy'] || cfg['ftp_proxy']) lines.push(`write ${PROXY_FILE}`);
    if (cfg['conf']) lines.push(`write ${CONF_FILE}`);
    if (isMapping(cfg['sources'])) lines.push(`add ${Object.keys(cfg['sources']).length} source(s) to ${SOURCES_DIR}, then apt-get update`);
    return lines;
  },
  run,
};
