// Which modules a stage runs, in which order and how often: ec2-init's own
// order (registry.ts, index.ts), unless the user-data (or vendor-data) gives the stage's
// list — cloud_init_modules, cloud_config_modules, cloud_final_modules — as
// cloud-init reads it (its Modules._read_modules and _fixup_modules):
//   - a list replaces the stage's whole list: a module left out does not run
//     in that stage (a known cloud-init gotcha, kept: it is what the list says);
//   - an entry is a name ('scripts-user', 'cc_scripts_user', 'x.py'), a list
//     [name, frequency, args…] or a mapping {name, frequency, args};
//   - frequency is always | once-per-instance | once; another word is
//     warned about and the module's own frequency used, as in cloud-init;
//   - a module may be listed in another stage than its usual one: it runs there.
// The image's own lists (cloud.cfg) are not read: they name cloud-init's
// modules, not ec2-init's (its lvm), and ec2-init keeps its order there.
// `[scripts-user, always]` — the AWS recipe for user-data on every boot —
// makes the user's scripts run on every boot.
import type { Context } from '../context.ts';
import { CLOUD_INIT_MODULES } from '../schema/cloud-init-keys.ts';
import type { Frequency, Stage } from '../types.ts';
import type { Config } from '../config/merge.ts';
import { MODULE_INFO, type ModuleInfo } from './registry.ts';

export const LIST_KEYS: Partial<Record<Stage, string>> = {
  init: 'cloud_init_modules',
  config: 'cloud_config_modules',
  final: 'cloud_final_modules',
};

/** cloud-init's frequency words (settings.FREQUENCIES) → ec2-init's. */
const FREQUENCIES: Record<string, Frequency> = { always: 'per-boot', 'once-per-instance': 'per-instance', once: 'once' };

export interface Planned { module: ModuleInfo; frequency: Frequency }

/** The module lists the user-data and vendor-data give (the user's wins), and nothing else. */
export function userModuleLists(user: Config, vendor: Config): Config {
  const out: Config = {};
  for (const key of Object.values(LIST_KEYS)) {
    const v = user[key] ?? vendor[key];
    if (v !== undefined && v !== null) out[key] = v;
  }
  return out;
}

/** cloud-init's form_module_name, without its cc_ prefix: 'cc_scripts-user.py' → 'scripts_user'. */
export function moduleName(raw: string): string {
  return raw.trim().replace(/-/g, '_').replace(/\.py$/i, '').trim().replace(/^cc_/, '');
}

type Note = (level: 'warning' | 'info', message: string) => void;

/** One list entry → its name and frequency word, or null when cloud-init skips it. */
function readEntry(item: unknown, i: number, note: Note): { name: string; freq?: string } | null {
  if (item === null || item === undefined || item === '' || item === false || (Array.isArray(item) && item.length === 0)) return null;
  if (typeof item === 'string') return { name: item };
  if (Array.isArray(item)) return { name: String(item[0]), ...(item.length >= 2 ? { freq: String(item[1]).trim() } : {}) };
  if (typeof item === 'object' && !(item instanceof Uint8Array)) {
    const m = item as Record<string, unknown>;
    if (m['name'] === undefined) return null;
    return { name: String(m['name']), ...(m['frequency'] !== undefined ? { freq: String(m['frequency']).trim() } : {}) };
  }
  note('warning', `entry ${i + 1} (${JSON.stringify(item)}) is neither a name, a [name, frequency] list nor a mapping: ignored`);
  return null;
}

/**
 * The modules `stage` runs, in order, with the frequency each runs under.
 * `lists` holds the user's lists (userModuleLists); problems go to `ctx`.
 */
export function stageModules(ctx: Context | null, stage: Stage, lists: Config): Planned[] {
  const key = LIST_KEYS[stage];
  const own = MODULE_INFO.filter((m) => m.stage === stage).map((m) => ({ module: m, frequency: m.frequency }));
  const given = key === undefined ? undefined : lists[key];
  if (key === undefined || given === undefined || given === null) return own;
  const where = `user-data ${key}`;
  const note: Note = (level, message) => {
    if (!ctx) return;
    if (level === 'warning') ctx.report('warning', where, message);
    else ctx.log.info(`${where}: ${message}`);
  };
  if (!Array.isArray(given)) {
    note('warning', `expected a list of modules, found ${typeof given}: ec2-init's own list used`);
    return own;
  }
  const out: Planned[] = [];
  const notHere: string[] = [];
  given.forEach((item, i) => {
    const entry = readEntry(item, i, note);
    if (!entry) return;
    const name = moduleName(entry.name);
    if (name === '') return;
    let frequency: Frequency | undefined;
    if (entry.freq) {
      frequency = FREQUENCIES[entry.freq];
      if (!frequency) note('warning', `module ${entry.name} has an unknown frequency '${entry.freq}' (always, once-per-instance or once): its own frequency is used`);
    }
    const module = MODULE_INFO.find((m) => m.name === name);
    if (module) { out.push({ module, frequency: frequency ?? module.frequency }); return; }
    if (CLOUD_INIT_MODULES.has(name)) notHere.push(entry.name);
    else note('warning', `could not find module named ${entry.name}: ignored`);
  });
  if (notHere.length) note('info', `not applicable on this image (cloud-init modules ec2-init does not have): ${notHere.join(', ')}`);
  // Modules that only write to the log are not the list's business: they stay.
  for (const o of own) if (o.module.housekeeping && !out.some((p) => p.module === o.module)) out.push(o);
  const left = own.filter((o) => !out.some((p) => p.module === o.module)).map((o) => o.module.name);
  if (left.length) note('info', `the list leaves out ${left.join(', ')}: not run in stage ${stage}, as in cloud-init`);
  return out;
}
