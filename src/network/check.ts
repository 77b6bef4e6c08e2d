// Checking a parsed network config: each problem names where it is — the
// key path, and the line and column when the config was YAML — and whether
// the entry it is in must be left out (an error) or not (a warning).
import { isMapping } from '../yaml/index.ts';
import type { Problem } from './model.ts';
import { isIP, isIPv4, isIPv6 } from './model.ts';

export type Path = ReadonlyArray<string | number>;
export type Locate = (path: Path, onKey: boolean) => { line: number; column: number } | null;

export function showPath(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function label(path: Path): string { return path.length ? `${showPath(path)}: ` : ''; }

export class Checker {
  readonly problems: Problem[] = [];
  /** Errors in the entry being read; reset by entry(). */
  private entryErrors = 0;
  readonly where: string;
  private readonly locate: Locate;
  constructor(where: string, locate: Locate) { this.where = where; this.locate = locate; }

  private at(path: Path, onKey: boolean): string {
    const pos = this.locate(path, onKey);
    return pos ? `${this.where} line ${pos.line}, column ${pos.column}` : this.where;
  }

  error(path: Path, message: string, onKey = false): void {
    this.entryErrors++;
    this.problems.push({ level: 'error', message: `${this.at(path, onKey)}: ${label(path)}${message}` });
  }

  warn(path: Path, message: string, onKey = false): void {
    this.problems.push({ level: 'warning', message: `${this.at(path, onKey)}: ${label(path)}${message}` });
  }

  /** Run `fn` for one entry; false when it found an error (the entry is then left out, with a message saying so). */
  entry(path: Path, label: string, fn: () => void): boolean {
    const before = this.entryErrors;
    fn();
    if (this.entryErrors === before) return true;
    this.problems.push({ level: 'error', message: `${this.at(path, true)}: ${label} not rendered (see the errors above); the rest of the network config is` });
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
    const ok = family === 4 ? isIPv4(v) : family === 6 ? isIPv6(v) : isIP(v);
    if (ok) return v;
    this.error([...path, key], `'${v}' is not an IPv${family ?? '4 or IPv6'} address`);
    return undefined;
  }

  ips(obj: Record<string, unknown>, key: string, path: Path, split = false): string[] {
    const all = this.strings(obj, key, path, split);
    const bad = all.filter((a) => !isIP(a));
    if (bad.length) this.error([...path, key], `not IP addresses: ${bad.join(', ')}`);
    return all.filter((a) => isIP(a));
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
