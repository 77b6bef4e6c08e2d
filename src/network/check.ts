// Checking a parsed network config: each problem names where it is — the
// key path, and the line and column when the config was YAML — and whether
// the entry it is in must be left out (an error) or not (a warning).
import { isMapping } from '../yaml/index.ts';
import type { Problem } from './model.ts';
import { hasControl, show, type Checked } from '../validate/check.ts';
import { ip as anyIp, ipv4, ipv6 } from '../validate/net.ts';

export type Path = ReadonlyArray<string | number>;
export type Locate = (path: Path, onKey: boolean) => { line: number; column: number } | null;

export function showPath(path: Path): string {
  // A key is shown with its control characters escaped (show()), so a message stays one line.
  const key = (k: string) => (hasControl(k) ? show(k).slice(1, -1) : k);
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? key(p) : `.${key(p)}`)).join('');
}

function label(path: Path): string { return path.length ? `${showPath(path)}: ` : ''; }

/** A message with the control characters of the values in it escaped: one message, one line. */
export function oneLine(message: string): string { return hasControl(message) ? show(message).slice(1, -1).replace(/\\(['\\])/g, '$1') : message; }

export class Checker {
  readonly problems: Problem[] = [];
  /** Errors in the entry being read; reset by entry(). */
  private entryErrors = 0;
  private readonly errorPaths = new Set<string>();
  readonly where: string;
  private readonly locate: Locate;
  constructor(where: string, locate: Locate) { this.where = where; this.locate = locate; }

  private at(path: Path, onKey: boolean): string {
    const pos = this.locate(path, onKey);
    return pos ? `${this.where} line ${pos.line}, column ${pos.column}` : this.where;
  }

  error(path: Path, message: string, onKey = false): void {
    this.entryErrors++;
    // One message per key path (a value two rules refuse is reported by the first).
    const key = showPath(path);
    if (this.errorPaths.has(key)) return;
    this.errorPaths.add(key);
    this.problems.push({ level: 'error', message: oneLine(`${this.at(path, onKey)}: ${label(path)}${message}`) });
  }

  warn(path: Path, message: string, onKey = false): void {
    this.problems.push({ level: 'warning', message: oneLine(`${this.at(path, onKey)}: ${label(path)}${message}`) });
  }

  /** Run `fn` for one entry; false when it found an error (the entry is then left out, with a message saying so). */
  entry(path: Path, label: string, fn: () => void): boolean {
    const before = this.entryErrors;
    fn();
    if (this.entryErrors === before) return true;
    this.problems.push({ level: 'error', message: oneLine(`${this.at(path, true)}: ${label} not rendered (see the errors above); the rest of the network config is`) });
    return false;
  }

  // Typed reads: undefined when absent; an error (and undefined) when of the wrong type.
  bool(obj: Record<string, unknown>, key: string, path: Path): boolean | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'boolean') return v;
    this.error([...path, key], `expected true or false, found ${describe(v)}`);
    return undefined;
  }

  str(obj: Record<string, unknown>, key: string, path: Path): string | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number') return String(v);
    this.error([...path, key], `expected a string, found ${describe(v)}`);
    return undefined;
  }

  int(obj: Record<string, unknown>, key: string, path: Path, min: number, max: number): number | undefined {
    const raw = obj[key];
    if (raw === undefined || raw === null) return undefined;
    const v = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    this.error([...path, key], `expected a whole number from ${min} to ${max}, found ${describe(raw)}`);
    return undefined;
  }

  map(obj: Record<string, unknown>, key: string, path: Path): Record<string, unknown> | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (isMapping(v)) return v;
    this.error([...path, key], `expected a mapping, found ${describe(v)}`);
    return undefined;
  }

  list(obj: Record<string, unknown>, key: string, path: Path): unknown[] | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v)) return v;
    this.error([...path, key], `expected a list, found ${describe(v)}`);
    return undefined;
  }

  /** A list of strings, or one string (v1 allows "a b" or [a, b] in places: `split` says so). */
  strings(obj: Record<string, unknown>, key: string, path: Path, split = false): string[] {
    const v = obj[key];
    if (v === undefined || v === null) return [];
    if (split && typeof v === 'string') return v.split(/[\s,]+/).filter(Boolean);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.map(String);
    this.error([...path, key], `expected a list of strings, found ${describe(v)}`);
    return [];
  }

  ip(obj: Record<string, unknown>, key: string, path: Path, family?: 4 | 6): string | undefined {
    const v = this.str(obj, key, path);
    if (v === undefined) return undefined;
    return this.valid([...path, key], family === 4 ? ipv4(v) : family === 6 ? ipv6(v) : anyIp(v));
  }

  ips(obj: Record<string, unknown>, key: string, path: Path, split = false): string[] {
    return this.each(this.strings(obj, key, path, split), [...path, key], anyIp);
  }

  /** The value of a validator (src/validate/), or undefined with an error at `path` saying which rule it broke. */
  valid<T>(path: Path, r: Checked<T>): T | undefined {
    if (r.ok) return r.value;
    this.error(path, r.why);
    return undefined;
  }

  /** The items of `list` that `rule` takes; an error at `path[i]` for each it refuses. */
  each<T>(list: unknown[], path: Path, rule: (v: unknown) => Checked<T>): T[] {
    const out: T[] = [];
    for (const [i, v] of list.entries()) {
      const r = this.valid([...path, i], rule(v));
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  /** Keys of `obj` not in `known`, reported as warnings (ignored). */
  unknownKeys(obj: Record<string, unknown>, known: ReadonlySet<string>, path: Path, what: string): string[] {
    const extra = Object.keys(obj).filter((k) => !known.has(k));
    for (const k of extra) this.warn([...path, k], `not a key ec2-init renders for ${what}; ignored`, true);
    return extra;
  }
}


export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (isMapping(v)) return 'a mapping';
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  return String(v);
}
