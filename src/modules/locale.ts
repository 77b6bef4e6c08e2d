// locale (cloud-init's cc_locale, Debian flavour): LANG=<locale> in
// /etc/default/locale (or `locale_configfile`), and the locale generated with
// the root's own locale-gen when it has one. Debian's locale-gen builds what
// /etc/locale.gen lists, so a commented-out entry for the locale is enabled
// first. `locale: false` leaves everything alone.
import type { Action } from '../host/actions.ts';
import { isFalse } from './helpers.ts';
import { which } from '../host/root-facts.ts';
import { actionModule, type ReadFiles, type Schema } from './module.ts';

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

/**
 * /etc/locale.gen with the entry for `locale` enabled: 'listed' when it is
 * already, the new text when a commented-out entry is uncommented, null when
 * there is no file or no entry for it.
 */
function enableInLocaleGen(files: ReadFiles, locale: string): 'listed' | string | null {
  const text = files.readTextIfExists(LOCALE_GEN);
  if (text === null) return null;
  const lines = text.split('\n');
  const name = (l: string) => l.replace(/^#\s*/, '').trim().split(/\s+/)[0] ?? '';
  if (lines.some((l) => !l.trim().startsWith('#') && l.trim() && norm(name(l)) === norm(locale))) return 'listed';
  const at = lines.findIndex((l) => /^#\s*\S+\s+\S+\s*$/.test(l) && norm(name(l)) === norm(locale));
  if (at === -1) return null;
  lines[at] = lines[at]!.replace(/^#\s*/, '');
  return lines.join('\n');
}

const SCHEMA: Record<string, Schema> = {
  locale: { oneOf: [{ type: 'boolean' }, { type: 'string' }], description: 'the locale (LANG), e.g. en_US.UTF-8; false: leave the locale alone' },
  locale_configfile: { type: 'string', description: `the file to write LANG= into (default ${LOCALE_FILE})` },
};

interface LocaleValue { locale: string; outFile: string }

export const locale = actionModule<LocaleValue>({
  name: 'locale',
  stage: 'config',
  frequency: 'per-instance',
  keys: ['locale', 'locale_configfile'],
  schema: SCHEMA,
  check(config, report) {
    const value = config['locale'];
    // Not given, or false: the locale is left alone.
    if (value === undefined || value === null || isFalse(value)) return null;
    if (typeof value !== 'string' || !/^[A-Za-z0-9_.@-]+$/.test(value)) {
      report('error', `locale: invalid locale ${JSON.stringify(value)}: give a locale name such as en_US.UTF-8`);
      return null;
    }
    const outFile = typeof config['locale_configfile'] === 'string' && config['locale_configfile'] ? config['locale_configfile'] : LOCALE_FILE;
    return { locale: value, outFile };
  },
  actions({ locale: value, outFile }, { files, report, log, where }): Action[] {
    const system = readVar(files.readTextIfExists(LOCALE_FILE) ?? '', 'LANG');
    const old = files.readTextIfExists(outFile);
    // cloud-init's rule: nothing to do when the system already uses this locale.
    if (old !== null && system && value.toLowerCase() === system.toLowerCase()) {
      log.info(`${where}: LANG=${system} already set: nothing to do`);
      return [];
    }
    const actions: Action[] = [];
    if (!BUILT_IN.includes(value.toLowerCase())) {
      const localeGen = which(files, 'locale-gen');
      if (localeGen === null) {
        report('warning', `locale-gen not found under the root (package locales): ${value} is set but not generated`);
      } else {
        const gen = enableInLocaleGen(files, value);
        if (gen === null && files.exists(LOCALE_GEN)) report('warning', `${value} is not listed in ${LOCALE_GEN}: locale-gen will not build it`);
        // One unit: a locale-gen that fails is an error, but LANG is still written (as before).
        if (gen !== null && gen !== 'listed') actions.push({ kind: 'write', path: LOCALE_GEN, content: gen, mode: 0o644, unit: 'locale-gen', why: `enable ${value}` });
        actions.push({ kind: 'run', argv: [localeGen], timeoutMs: 600_000, unit: 'locale-gen', why: `generate ${value}` });
      }
    }
    actions.push({ kind: 'write', path: outFile, content: setVar(old ?? '', 'LANG', value), mode: 0o644, why: `LANG=${value}` });
    return actions;
  },
});
