// The shape of a cloud-config module: its name, stage and default frequency
// beside its code, as in cloud-init. A module owns the keys it names and runs
// only when the merged config has one of them (or when it has no keys).
import type { Context } from '../context.ts';
import type { SavedSource } from '../state/instance.ts';
import type { Config } from '../config/merge.ts';
import type { Frequency, Stage } from '../types.ts';
import type { Action } from '../host/actions.ts';
import type { Files } from '../host/files.ts';
import type { RunOptions, RunResult } from '../host/run.ts';
import type { Logger } from '../log.ts';

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
   * time it runs (scripts saved from parts, runcmd's script), which an
   * actions() that lists a directory counts as there.
   */
  plannedFiles?: string[];
}

/** What a module may read of the root to decide its actions: nothing that changes it. */
export type ReadFiles = Pick<Files, 'root' | 'stat' | 'lstat' | 'exists' | 'isDirectory' | 'isSymlink' | 'readlink' | 'realpath'
  | 'read' | 'readText' | 'readIfExists' | 'readTextIfExists' | 'list' | 'statfs' | 'openForReading'>;

/** A problem with the module's config: the message names the key path and the fix. */
export type Report = (level: 'error' | 'warning', message: string) => void;

/** What actions() is given besides the module's checked value: the facts, read-only. */
export interface ActionRun {
  instanceId: string;
  source: SavedSource;
  /** The whole merged config (for the few keys a module reads that another owns). */
  config: Config;
  where: string;
  frequency: Frequency;
  files: ReadFiles;
  /** The root the boot works on ('/' on the running system). */
  root: string;
  /** True for `plan`: query() answers null, as plan runs nothing. */
  planning: boolean;
  /** plan only: files earlier steps will have written (see ModuleRun). */
  plannedFiles?: string[];
  /**
   * A program that only reads (dpkg --print-architecture, blkid, lsmod): its
   * result at boot; null under `plan`, whose step then says its actions
   * depend on what the machine answers at boot.
   */
  query(argv: string[], opts?: Omit<RunOptions, 'output'>): Promise<RunResult | null>;
  /**
   * A fact only the boot itself knows (the time, the kernel's uptime): read
   * at boot; null under `plan`, whose step then says so, as for query().
   * (Optional only for hand-made ActionRuns in tests: there it is absent and
   * the fact unknown.)
   */
  bootFact?<T>(read: () => T): T | null;
  /** A problem found in the facts (the zone the config names is not installed): reported by plan and boot alike. */
  report: Report;
  log: Logger;
}

interface ModuleBase {
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
  /** Files it writes that its actions do not name (one a fetch's result decides: write_files' source), for plannedFiles. */
  writes?(run: ModuleRun): string[];
}

/**
 * A module as a function from its checked config to actions: check() turns
 * the merged config into its typed value once (each bad entry reported with
 * its key path and left out; null: nothing to do), actions() returns what to
 * do as values (host/actions.ts), changing nothing. `plan` prints them, boot
 * applies exactly them (host/apply-actions.ts).
 */
export interface ActionModule<V> extends ModuleBase {
  check(config: Config, report: Report): V | null;
  actions(value: V, run: ActionRun): Action[] | Promise<Action[]>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each module's value type is its own
export type Module = ActionModule<any>;

/** A module of actions, its value type checked here and erased for the module list. */
export function actionModule<V>(m: ActionModule<V>): Module {
  return m;
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

/** A command list key (bootcmd, runcmd) as its script; null, reported, when it is not one. */
export function checkCommands(key: string, config: Config, report: Report): string | null {
  try {
    return commandsToScript(key, config[key]);
  } catch (e) {
    report('error', (e as Error).message);
    return null;
  }
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
