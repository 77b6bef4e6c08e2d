// What the modules that bootstrap a tool (puppet, chef, salt_minion,
// ansible, lxd, wireguard) share in checking their config: their key's
// mapping, and a program's arguments given as a list or a string.
import { show } from '../validate/check.ts';
import { isMapping } from './helpers.ts';
import type { Config } from '../config/merge.ts';
import type { Report } from './module.ts';

/**
 * The mapping under `key` (null: not a mapping, reported). An empty key
 * (`puppet:` with nothing) is an empty mapping unless `required` names what
 * it must hold.
 */
export function sectionOf(config: Config, key: string, report: Report, required?: string): Record<string, unknown> | null {
  const c = config[key];
  if ((c === null || c === undefined) && required === undefined) return {};
  if (isMapping(c)) return c;
  report('error', `'${key}' must be a mapping${required ? ` with ${required}` : ''}, found ${show(c)}`);
  return null;
}

/**
 * A program's arguments at `key` of `cfg` (`at`: its key path): a list as it
 * is, a string split at blanks (`split`, puppet's exec_args) or as one
 * argument (chef's exec_arguments), `dflt` when not given; anything else is
 * a warning and `dflt`.
 */
export function argList(cfg: Record<string, unknown>, key: string, at: string, dflt: string[], split: boolean, report: Report): string[] {
  const given = cfg[key];
  if (given === undefined) return dflt;
  if (Array.isArray(given)) return given.map(String);
  if (typeof given === 'string') return split ? given.split(/\s+/).filter(Boolean) : [given];
  report('warning', `${at}: expected a list or a string, found ${show(given)}; ${dflt.join(' ')} used`);
  return dflt;
}
