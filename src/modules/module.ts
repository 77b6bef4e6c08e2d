// The shape of a cloud-config module: its name, stage and default frequency
// beside its code, as in cloud-init. A module owns the keys it names and runs
// only when the merged config has one of them (or when it has no keys).
import type { Context } from '../context.ts';
import type { SavedSource } from '../state/instance.ts';
import type { Config } from '../config/merge.ts';
import type { Frequency, Stage } from '../types.ts';

/**
 * The JSON Schema subset module schemas use (cloud-init's keys and types).
 * `deprecated` says why and what to use instead.
 */
export interface Schema {
  type?: SchemaType | SchemaType[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  patternProperties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  required?: string[];
  minItems?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  deprecated?: string;
  description?: string;
}
export type SchemaType = 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object' | 'null';

export interface ModuleRun {
  ctx: Context;
  instanceId: string;
  /** What the datasource found (hostname, public keys, meta-data). */
  source: SavedSource;
  /** System config merged with the user's cloud-config (the user's wins). */
  config: Config;
  /** 'module write_files': the prefix of every problem this module reports. */
  where: string;
  /**
   * The frequency it runs under: its own, unless a module list in user-data
   * says otherwise ([scripts-user, always]). Modules that keep their own
   * semaphores (scripts) use it for them.
   */
  frequency?: Frequency;
  /**
   * plan only: the files the steps before this one will have written by the
   * time it runs (scripts saved from parts, runcmd's script), which a
   * describe() that lists a directory counts as there.
   */
  plannedFiles?: string[];
}

export interface Module {
  name: string;
  stage: Stage;
  frequency: Frequency;
  /** Top-level keys the module owns; empty = it always runs (e.g. scripts_user). */
  keys: string[];
  /** The schema of each key it owns (used by `schema` and at boot to report bad config). */
  schema?: Record<string, Schema>;
  /**
   * The module also keeps a semaphore per item (scripts), so a boot cut short
   * halfway does not run a finished item again. The runner keeps the module's
   * own as for any module (cloud-init's name, written when the module ends).
   */
  ownSemaphores?: boolean;
  /** It only writes to the log: it runs whatever a module list in user-data says (module-lists.ts). */
  housekeeping?: boolean;
  /** The files its run writes that a later module runs (runcmd's script): for plannedFiles. */
  writes?(run: ModuleRun): string[];
  /** One line per action it would take, for `plan`; must change nothing. */
  describe(run: ModuleRun): string[];
  run(run: ModuleRun): Promise<void>;
}

/** Shell-quote one word for /bin/sh. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * cloud-init's command lists (bootcmd, runcmd): a string is a shell line as
 * it is; a list is an argv, each word quoted. Anything else is an error
 * naming the entry.
 */
export function commandsToScript(where: string, value: unknown): string {
  if (!Array.isArray(value)) throw new Error(`${where}: expected a list of commands, found ${typeof value}`);
  const lines = value.map((cmd, i) => {
    if (typeof cmd === 'string') return cmd;
    if (Array.isArray(cmd)) return cmd.map((w) => shellQuote(String(w))).join(' ');
    throw new Error(`${where}: entry ${i + 1} is neither a string nor a list of words`);
  });
  return `#!/bin/sh\n${lines.join('\n')}\n`;
}

/** How many entries a list-valued key has, for `plan` lines ('?' when it is not a list). */
export function count(value: unknown): string {
  return Array.isArray(value) ? String(value.length) : '?';
}

/** cloud-init's command list: each entry a shell line or an argv list. */
export const COMMAND_LIST: Schema = {
  type: 'array',
  items: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
};
