// ec2-init's YAML reader: one document, read exactly as cloud-init reads it
// with PyYAML's yaml.safe_load (YAML 1.1, SafeLoader), with the work any
// input can cause bounded — user-data is hostile input read as root.
//
//   scanner.ts    text → tokens (PyYAML's scanner rules: simple keys, tabs, …)
//   parser.ts     tokens → events (the grammar; %TAG directives)
//   composer.ts   events → nodes (anchors, aliases, the limits)
//   scalars.ts    implicit tags (yes/no, 0644, 1:30, ~) and scalar values
//   construct.ts  nodes → JS values (merge keys, keys, sets, pairs)
//
// Timestamps: PyYAML builds datetime.date/datetime objects. They are kept
// here as the string written (once checked to be a real date, as PyYAML
// checks): ec2-init saves configs as JSON between stages, where a Date would
// come back as a different string (converted to UTC, a date-only value
// gaining a time), and what cloud-config keys take a date (users'
// expiredate) want the text.
import { type Composed, composeDocument, type YamlLimits } from './composer.ts';
import { Constructor, RECURSIVE, recursiveAt } from './construct.ts';
import { checkCharacters, Source } from './errors.ts';

export { YamlError } from './errors.ts';
export type { YamlLimits } from './composer.ts';
export { timestampParts, type TimestampParts } from './scalars.ts';

/**
 * Defaults, set from what PyYAML reads (a document cloud-init's PyYAML loads
 * within the node limit loads here too). A real cloud-config has tens to a
 * few thousand nodes and is nested under ten deep; cloud-init's own examples
 * use a handful of aliases.
 *  - 100 000 nodes (aliases expanded): 20× the largest real configs, and
 *    still parsed in tens of milliseconds; a "billion laughs" stops here.
 *  - depth 500: cloud-init reads YAML with PyYAML's pure-Python SafeLoader
 *    (yaml.safe_load), which recurses about twice per level and stops at
 *    Python's recursion limit (1000): called from the top of a script it
 *    reads at most 492 nested collections, from inside cloud-init fewer
 *    (cloud-init 22.4 applies at most 325: writing its cloud-config.txt
 *    takes three frames per level). The C loader (libyaml) has no limit.
 *    An alias adds no depth here (PyYAML composes it as a reference); what
 *    it brings costs its nodes, which bounds it (about 10 000 levels).
 *  - 1000 aliases: what ec2-init allowed with the `yaml` package.
 *  - 4 Mi characters of text repeated by aliases: a few aliases of one long
 *    string would be written out again (user-config.txt) many times over.
 */
export const DEFAULT_LIMITS: Readonly<YamlLimits> = { maxNodes: 100_000, maxDepth: 500, maxAliases: 1000, maxAliasedChars: 4 * 1024 * 1024 };

export interface Located {
  value: unknown;
  /**
   * Line and column (1-based) where the value at `path` starts, or its key
   * when `onKey`; a path that goes nowhere gives its nearest ancestor.
   */
  locate(path: ReadonlyArray<string | number>, onKey: boolean): { line: number; column: number };
}

/** Parse one YAML document; throws YamlError (syntax, a second document, unknown tags, limits). */
export function parseYaml(text: string, limits?: Partial<YamlLimits>): unknown {
  const src = new Source(text);
  return build(src, new Constructor(src, false), compose(src, limits));
}

/** parseYaml, and where each value came from (for the schema validator's messages). */
export function parseYamlWithPositions(text: string, limits?: Partial<YamlLimits>): Located {
  const src = new Source(text);
  const doc = compose(src, limits);
  const ctor = new Constructor(src, true);
  const value = build(src, ctor, doc);
  const origins = ctor.origins!;
  const rootStart = doc?.root.start ?? 0;
  return {
    value,
    locate(path, onKey) {
      let at = rootStart;
      let cur: unknown = value;
      for (const [i, seg] of path.entries()) {
        const origin = typeof cur === 'object' && cur !== null ? origins.get(cur) : undefined;
        if (origin === undefined) break;
        const name = Array.isArray(cur) ? Number(seg) : String(seg);
        const valueAt = origin.values.get(name);
        if (valueAt === undefined) break;
        if (onKey && i === path.length - 1) {
          at = origin.keys.get(name as string) ?? valueAt;
          break;
        }
        at = valueAt;
        cur = (cur as Record<string | number, unknown>)[name];
      }
      const m = src.mark(at);
      return { line: m.line + 1, column: m.column + 1 };
    },
  };
}

function compose(src: Source, limits: Partial<YamlLimits> | undefined): Composed | null {
  const chars = checkCharacters(src);
  return composeDocument(src, chars, { ...DEFAULT_LIMITS, ...limits });
}

function build(src: Source, ctor: Constructor, doc: Composed | null): unknown {
  if (doc === null) return null;
  const value = ctor.build(doc.root);
  // Refused only now, so that errors PyYAML reports first come first.
  if (doc.innerAliases.length > 0) {
    const at = recursiveAt(value, doc.innerAliases);
    if (at >= 0) throw src.error(at, RECURSIVE);
  }
  return value;
}

/** A YAML mapping as parsed: a plain object (not an array, Uint8Array or Set). */
export function isMapping(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}
