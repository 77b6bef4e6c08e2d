// locale (cloud-init's cc_locale, Debian flavour): LANG=<locale> in
// /etc/default/locale (or `locale_configfile`), and the locale generated with
// the root's own locale-gen when it has one. Debian's locale-gen builds what
// /etc/locale.gen lists, so a commented-out entry for the locale is enabled
// first. `locale: false` leaves everything alone.
import type { Context } from '../context.ts';
import { isFalse } from './helpers.ts';
import { which } from '../host/root-facts.ts';
import type { Module, Schema } from './module.ts';

const LOCALE_FILE = '/etc/default/locale';
const LOCALE_GEN = '/etc/locale.gen';
/** Locales that exist without generation. */
const BUILT_IN = ['c', 'c.utf-8', 'c.utf8', 'posix'];

/** The value of `key` in a shell-style variables file (LANG=… or LANG="…"). */
function readVar(text: string, key: string): string {
  for (const line of text.split('\n')) {
    const m = new RegExp(`^\\s*(?:export\\s+)?${key}=(.*)$`).exec(line);
    if (m) return m[1]!.trim().replace(/^(["'])(.*)\1$/, '$2');
  }
  return '';
}

/** Set `key=value` in a variables file, keeping its other lines (update-locale's result). */
function setVar(text: string, key: string, value: string): string {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const at = lines.findIndex((l) => new RegExp(`^\\s*(?:export\\s+)?${key}=`).test(l));
  if (at === -1) lines.push(`${key}=${value}`); else lines[at] = `${key}=${value}`;
  return lines.join('\n') + '\n';
}

const norm = (l: string) => l.toLowerCase().replace(/utf-?8/, 'utf8');

/** Uncomment the /etc/locale.gen entry for `locale` (true when it is, or now is, enabled). */
function enableInLocaleGen(ctx: Context, locale: string): boolean {
  const text = ctx.files.readTextIfExists(LOCALE_GEN);
  if (text === null) return false;
  const lines = text.split('\n');
  const name = (l: string) => l.replace(/^#\s*/, '').trim().split(/\s+/)[0] ?? '';
  if (lines.some((l) => !l.trim().startsWith('#') && l.trim() && norm(name(l)) === norm(locale))) return true;
  const at = lines.findIndex((l) => /^#\s*\S+\s+\S+\s*$/.test(l) && norm(name(l)) === norm(locale));
  if (at === -1) return false;
  lines[at] = lines[at]!.replace(/^#\s*/, '');
  ctx.files.write(LOCALE_GEN, lines.join('\n'), { mode: 0o644 });
  return true;
}

const SCHEMA: Record<string, Schema> = {
  locale: { oneOf: [{ type: 'boolean' }, { type: 'string' }], description: 'the locale (LANG), e.g. en_US.UTF-8; false: leave the locale alone' },
  locale_configfile: { type: 'string', description: `the file to write LANG= into (default ${LOCALE_FILE})` },
};

export const locale: Module = {
  name: 'locale',
  stage: 'config',
  frequency: 'per-instance',
  keys: ['locale', 'locale_configfile'],
  schema: SCHEMA,
  describe: ({ config }) => isFalse(config['locale']) ? ['locale: false: leave the locale alone']
    : [`LANG=${String(config['locale'])} in ${typeof config['locale_configfile'] === 'string' ? config['locale_configfile'] : LOCALE_FILE}`],
  async run({ ctx, config, where }) {
    const value = config['locale'];
    if (value === undefined || value === null) { ctx.log.info(`${where}: no locale given: left alone`); return; }
    if (isFalse(value)) { ctx.log.info(`${where}: locale is false: left alone`); return; }
    if (typeof value !== 'string' || !/^[A-Za-z0-9_.@-]+$/.test(value)) throw new Error(`invalid locale ${JSON.stringify(value)}`);
    const outFile = typeof config['locale_configfile'] === 'string' && config['locale_configfile'] ? config['locale_configfile'] : LOCALE_FILE;
    const system = readVar(ctx.files.readTextIfExists(LOCALE_FILE) ?? '', 'LANG');
    const old = ctx.files.readTextIfExists(outFile);
    // cloud-init's rule: nothing to do when the system already uses this locale.
    if (old !== null && system && value.toLowerCase() === system.toLowerCase()) {
      ctx.log.info(`${where}: LANG=${system} already set: nothing to do`);
      return;
    }
    if (!BUILT_IN.includes(value.toLowerCase())) {
      const localeGen = which(ctx.files, 'locale-gen');
      if (localeGen === null) {
        ctx.report('warning', where, `locale-gen not found under the root (package locales): ${value} is set but not generated`);
      } else {
        if (!enableInLocaleGen(ctx, value) && ctx.files.exists(LOCALE_GEN)) {
          ctx.report('warning', where, `${value} is not listed in ${LOCALE_GEN}: locale-gen will not build it`);
        }
        await ctx.runChecked(where, [localeGen], { timeoutMs: 600_000 });
      }
    }
    ctx.files.write(outFile, setVar(old ?? '', 'LANG', value), { mode: 0o644 });
    ctx.log.info(`${where}: LANG=${value} in ${outFile}`);
  },
};
