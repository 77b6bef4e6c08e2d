// What a command line asks for, whichever name ec2-init was started by
// (ec2-init, cloud-init, cloud-id): the parsers (ec2-init.ts, cloud-init.ts)
// turn argv into one Invocation, and main.ts carries it out.
import type { Level } from '../log.ts';
import type { Stage } from '../types.ts';
import type { StatusFormat } from '../commands/status.ts';
import type { CleanOptions } from '../commands/clean.ts';
import type { QueryOptions } from '../commands/query.ts';

export type Action =
  | { kind: 'stages'; stages: Stage[] }
  | { kind: 'early-host-keys' }
  | { kind: 'plan'; format: 'text' | 'json' }
  | { kind: 'status'; wait: boolean; long: boolean; format: StatusFormat; dots: boolean; timeout: number | null }
  | { kind: 'query'; opts: QueryOptions }
  | { kind: 'schema'; flags: Map<string, string | true> }
  | { kind: 'analyze'; what: 'show' | 'blame' }
  | { kind: 'analyze-plot'; boot: number; output: string | null }
  | { kind: 'clean'; opts: CleanOptions }
  | { kind: 'single'; name: string; frequency: 'always' | 'instance' | 'once' | null }
  | { kind: 'collect-logs'; tarfile: string; redact: boolean }
  | { kind: 'cloud-id'; json: boolean; long: boolean; instanceData: string | null }
  | { kind: 'make-mime'; args: string[] }
  | { kind: 'print'; text: string };

export interface Invocation {
  /** The name it answers to in messages ('ec2-init', 'cloud-init', 'cloud-id'). */
  program: string;
  root: string;
  level: Level;
  /** Extra system config files on this machine (--config, cloud-init's -f). */
  configFile: string | null;
  action: Action;
}

/** A command line that does not parse: said with the usage, exit `code` (64 for ec2-init, 2 as argparse for cloud-init). */
export class UsageError extends Error {
  readonly usage: string;
  readonly code: number;
  constructor(message: string, usage: string, code: number) {
    super(message);
    this.usage = usage;
    this.code = code;
  }
}

/** A failure to report in one line, without a stack trace. */
export class CommandError extends Error {}

export interface FlagSpec {
  /** Takes a value (--mode config, --mode=config, -m config). */
  value?: boolean;
  /** A value that may be given several times, or several values after it (argparse's nargs='+'). */
  many?: boolean;
  short?: string;
  choices?: readonly string[];
}

export interface Parsed {
  flags: Map<string, string | true | string[]>;
  positional: string[];
}

/**
 * argv parsed against `spec` (long names as keys): --name, --name=value,
 * -s, -s value, -abc for short booleans; anything else is positional.
 * `fail` builds the error for the caller's dialect.
 */
export function parseFlags(argv: readonly string[], spec: Record<string, FlagSpec>, fail: (message: string) => Error): Parsed {
  const flags = new Map<string, string | true | string[]>();
  const positional: string[] = [];
  const byShort = new Map(Object.entries(spec).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  const take = (name: string, value: string | undefined, i: number): number => {
    const s = spec[name]!;
    if (!s.value) { flags.set(name, true); return i; }
    let v = value;
    let next = i;
    if (v === undefined) { v = argv[i + 1]; next = i + 1; }
    if (v === undefined) throw fail(`argument ${name}: expected one argument`);
    if (s.choices && !s.choices.includes(v)) throw fail(`argument ${name}: invalid choice: '${v}' (choose from ${s.choices.map((c) => `'${c}'`).join(', ')})`);
    if (s.many) {
      const list = (flags.get(name) as string[] | undefined) ?? [];
      list.push(v);
      // nargs='+': more values up to the next flag.
      while (value === undefined && argv[next + 1] !== undefined && !argv[next + 1]!.startsWith('-') && (!s.choices || s.choices.includes(argv[next + 1]!))) list.push(argv[++next]!);
      flags.set(name, list);
    } else flags.set(name, v);
    return next;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { positional.push(...argv.slice(i + 1)); break; }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a : a.slice(0, eq);
      if (!spec[name]) throw fail(`unrecognized arguments: ${a}`);
      i = take(name, eq < 0 ? undefined : a.slice(eq + 1), i);
    } else if (a.startsWith('-') && a.length > 1) {
      const first = byShort.get(a.slice(0, 2));
      if (!first) throw fail(`unrecognized arguments: ${a}`);
      if (spec[first]!.value) { i = take(first, a.length > 2 ? a.slice(2) : undefined, i); continue; }
      for (const c of a.slice(1)) {
        const name = byShort.get(`-${c}`);
        if (!name || spec[name]!.value) throw fail(`unrecognized arguments: ${a}`);
        flags.set(name, true);
      }
    } else positional.push(a);
  }
  return { flags, positional };
}

/**
 * `status --timeout SECONDS` checked: a number of seconds (fractions allowed),
 * and only with --wait (without it there is nothing to time out).
 */
export function statusTimeout(value: string | undefined, wait: boolean, fail: (message: string) => Error): number | null {
  if (value === undefined) return null;
  if (!wait) throw fail('--timeout needs --wait (status without --wait answers at once)');
  if (!/^\d+(\.\d+)?$/.test(value)) throw fail(`argument --timeout: '${value}' is not a number of seconds`);
  return Number(value);
}

/** STATUS_TIMEOUT: what `status --wait --timeout` exits with when the boot is not done in time (as timeout(1) does). */
export const STATUS_TIMEOUT_EXIT = 124;

/** `analyze plot --boot N`: an integer, journalctl's numbering (0 the last boot, -1 the one before, 1 the first). */
export function plotBoot(value: string | undefined, fail: (message: string) => Error): number {
  if (value === undefined) return 0;
  if (!/^[-+]?\d{1,6}$/.test(value)) throw fail(`argument --boot: '${value}' is not a boot number (0 the last, -1 the one before, 1 the first recorded)`);
  return Number(value);
}
