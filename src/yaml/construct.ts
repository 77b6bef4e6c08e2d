// The constructor: nodes → JavaScript values, as PyYAML's SafeConstructor
// builds Python values, mapped to what ec2-init works with:
//   null, bool, int and float     → null, boolean, number (ints past 2^53 round)
//   str                           → string
//   timestamp                     → the string as written, once checked to be a
//                                   real date (see index.ts for why)
//   binary                        → Uint8Array
//   seq; omap and pairs           → arrays; arrays of [key, value] pairs
//   map                           → plain objects (Object.prototype)
//   set                           → Set of the keys
// Mapping keys become strings the way Python's json.dumps writes them (None
// → "null", True → "true", 1.5 → "1.5"), after Python's own dict rules chose
// which keys are the same (1, 1.0 and True are one key, the first one
// written names it, the last value wins). A key "__proto__" is an own
// property, never the prototype.
//
// The order of the work follows PyYAML, which matters only for which error
// is reported first: a collection's scalars are built when its parent is,
// its content later, level by level (PyYAML's deferred generators). That
// order is a queue here, so no nesting ever recurses on the JS stack.
import { type InnerAlias, type MappingNode, type SequenceNode, type YamlNode, UNBUILT } from './composer.ts';
import type { Source } from './errors.ts';
import { constructBinary, constructBool, constructFloat, constructInt, exactInt, ScalarError, TAG, timestampParts } from './scalars.ts';

/** Where the parts of a built array or object came from (offsets into the text). */
export interface Origin {
  /** Array index or object key → where its value starts. */
  values: Map<string | number, number>;
  /** Object key → where the key starts. */
  keys: Map<string, number>;
}

/** Why a document whose value would contain itself is refused. */
export const RECURSIVE = 'an alias refers to a collection that contains it: recursive structures are not supported';

interface Task { node: YamlNode; into: unknown[] | Record<string, unknown> | Set<unknown> }

export class Constructor {
  private readonly src: Source;
  private readonly queue: Task[] = [];
  /** Filled only when positions are asked for. */
  readonly origins: WeakMap<object, Origin> | null;

  constructor(src: Source, withOrigins: boolean) {
    this.src = src;
    this.origins = withOrigins ? new WeakMap() : null;
  }

  build(root: YamlNode): unknown {
    const value = this.object(root);
    for (let i = 0; i < this.queue.length; i++) {
      const task = this.queue[i]!;
      if (Array.isArray(task.into)) this.fillArray(task.node, task.into);
      else if (task.into instanceof Set) this.fillSet(task.node, task.into);
      else this.fillMapping(task.node, task.into);
    }
    return value;
  }

  /** The value of a node: built once (an alias gets the same value); collections are filled later. */
  private object(node: YamlNode): unknown {
    if (node.built !== UNBUILT) return node.built;
    let value: unknown;
    switch (node.tag) {
      case TAG.seq: case TAG.omap: case TAG.pairs: value = this.defer(node, []); break;
      case TAG.map: value = this.defer(node, {}); break;
      case TAG.set: value = this.defer(node, new Set()); break;
      case TAG.str: value = this.scalarText(node); break;
      case TAG.null: this.scalarText(node); value = null; break;
      case TAG.bool: value = this.scalar(node, constructBool); break;
      case TAG.int: value = this.scalar(node, constructInt); break;
      case TAG.float: value = this.scalar(node, constructFloat); break;
      case TAG.binary: value = this.scalar(node, constructBinary); break;
      case TAG.timestamp: value = this.scalar(node, (text) => { timestampParts(text); return text; }); break;
      default:
        // Unknown tags (!foo, !!python/object, and the merge '<<' or value '=' keys used as values).
        throw this.src.error(node.start, `could not determine a constructor for the tag '${node.tag}'`);
    }
    node.built = value;
    return value;
  }

  private defer<V extends Task['into']>(node: YamlNode, into: V): V {
    this.queue.push({ node, into });
    return into;
  }

  /** The text of a scalar node; a mapping with a '=' key stands for its value there (PyYAML's construct_scalar). */
  private scalarText(node: YamlNode): string {
    let n = node;
    while (n.kind === 'mapping') {
      const pair = n.pairs.find(([k]) => k.tag === TAG.value);
      if (pair === undefined) break;
      n = pair[1];
    }
    if (n.kind !== 'scalar') throw this.src.error(n.start, `expected a scalar node, but found ${n.kind}`);
    return n.value;
  }

  private scalar<V>(node: YamlNode, read: (text: string) => V): V {
    const text = this.scalarText(node);
    try {
      return read(text);
    } catch (e) {
      if (e instanceof ScalarError) throw this.src.error(node.start, e.message);
      throw e;
    }
  }

  private fillArray(node: YamlNode, into: unknown[]): void {
    if (node.tag === TAG.seq) {
      if (node.kind !== 'sequence') throw this.src.error(node.start, `expected a sequence node, but found ${node.kind}`);
      for (const item of node.items) into.push(this.object(item));
      this.origins?.set(into, { values: new Map(node.items.map((n, i) => [i, n.start])), keys: new Map() });
      return;
    }
    // !!omap and !!pairs: a sequence of one-pair mappings, read as [key, value] pairs.
    const context = node.tag === TAG.omap ? 'while constructing an ordered map' : 'while constructing pairs';
    if (node.kind !== 'sequence') throw this.src.error(node.start, `expected a sequence, but found ${node.kind}`, context);
    for (const item of node.items) {
      if (item.kind !== 'mapping') throw this.src.error(item.start, `expected a mapping of length 1, but found ${item.kind}`, context, node.start);
      if (item.pairs.length !== 1) {
        throw this.src.error(item.start, `expected a single mapping item, but found ${item.pairs.length} items`, context, node.start);
      }
      const [k, v] = item.pairs[0]!;
      const key = this.object(k);
      into.push([key, this.object(v)]);
    }
    this.origins?.set(into, { values: new Map(node.items.map((n, i) => [i, n.start])), keys: new Map() });
  }

  private fillMapping(node: YamlNode, into: Record<string, unknown>): void {
    if (node.kind !== 'mapping') throw this.src.error(node.start, `expected a mapping node, but found ${node.kind}`);
    this.flatten(node);
    const origin: Origin | null = this.origins ? { values: new Map(), keys: new Map() } : null;
    const put = (name: string, value: unknown, keyAt: number, valueAt: number) => {
      if (name === '__proto__') Object.defineProperty(into, name, { value, writable: true, enumerable: true, configurable: true });
      else into[name] = value;
      if (origin) {
        origin.keys.set(name, keyAt);
        origin.values.set(name, valueAt);
      }
    };
    if (allStringKeys(node.pairs)) {
      // The usual case: string keys, where a JS object and a Python dict agree (the last value wins, at the first place).
      for (const [k, v] of node.pairs) {
        const key = this.key(node, k) as string;
        put(key, this.object(v), k.start, v.start);
      }
    } else {
      // Other keys: first Python's dict (1, 1.0 and True are one key, kept as first written,
      // its value the last one), then its entries named as json.dumps writes them, in order.
      const dict = new Map<string, { name: string; value: unknown; keyAt: number; valueAt: number }>();
      for (const [k, v] of node.pairs) {
        const key = this.key(node, k);
        const value = this.object(v);
        const same = typeof key !== 'string' ? pyKeyClass(key) : k.tag === TAG.timestamp ? `t:${key}` : `s:${key}`;
        const entry = dict.get(same);
        if (entry) {
          entry.value = value;
          entry.valueAt = v.start;
        } else {
          dict.set(same, { name: this.keyName(key, k), value, keyAt: k.start, valueAt: v.start });
        }
      }
      for (const e of dict.values()) put(e.name, e.value, e.keyAt, e.valueAt);
    }
    if (origin) this.origins!.set(into, origin);
  }

  /** A key as json.dumps names it: strings as they are; a big int by its exact digits. */
  private keyName(key: unknown, k: YamlNode): string {
    if (typeof key === 'string') return key;
    if (typeof key === 'number' && k.tag === TAG.int && !Number.isSafeInteger(key)) return String(this.scalar(k, exactInt));
    return jsonKey(key, k);
  }

  private fillSet(node: YamlNode, into: Set<unknown>): void {
    if (node.kind !== 'mapping') throw this.src.error(node.start, `expected a mapping node, but found ${node.kind}`);
    this.flatten(node);
    // Python's set: one element per distinct key (1 and true are the same), in the order first seen.
    const elements = new Map<string, unknown>();
    for (const [k, v] of node.pairs) {
      const key = this.key(node, k);
      this.object(v);
      const same = typeof key !== 'string' ? pyKeyClass(key) : k.tag === TAG.timestamp ? `t:${key}` : `s:${key}`;
      if (!elements.has(same)) elements.set(same, key);
    }
    for (const e of elements.values()) into.add(e);
  }

  /** A mapping key's value: only what Python can hash (no list, dict or set). */
  private key(node: MappingNode, k: YamlNode): unknown {
    const key = this.object(k);
    if (typeof key === 'object' && key !== null && !(key instanceof Uint8Array)) {
      throw this.src.error(k.start, 'found unhashable key', 'while constructing a mapping', node.start);
    }
    return key;
  }

  /**
   * Merge keys, exactly as PyYAML's flatten_mapping folds them: every `<<`
   * pair is taken out and the pairs of the mapping(s) it names go before the
   * mapping's own pairs, so the mapping's own keys win; in `<< : [*a, *b]`
   * the pairs of b come first, so a wins over b; several `<<` keys merge in
   * order, the later winning. A '=' key becomes a plain string key.
   *
   * PyYAML does this recursively on the node's own list, deleting each `<<`
   * pair before it follows it. A mapping that merges itself (`&x {a: 1, <<:
   * *x}`), or merges one that merges it back, therefore sees its own list as
   * it is at that moment, and the order of the keys follows from that. This
   * is the same walk with an explicit stack (no recursion on the JS stack):
   * the frames of one node share its place in its list, as PyYAML's calls
   * share node.value. A list that would hold a pair twice keeps its first
   * and last places only (the dict built from it is the same), so merging
   * a mapping into itself again and again cannot double it each time.
   */
  private flatten(root: MappingNode): void {
    if (root.flat) return;
    if (!needsFlattening(root)) {
      root.flat = true; // the usual case: nothing to fold
      return;
    }
    const context = 'while constructing a mapping';
    const states = new Map<MappingNode, FlatState>();
    const stack: FlatFrame[] = [];
    // A mapping with nothing to fold is done at once; otherwise a frame (PyYAML's call) is pushed.
    const enter = (m: MappingNode): boolean => {
      if (m.flat) return false;
      const known = states.get(m);
      if (known === undefined && !needsFlattening(m)) { m.flat = true; return false; }
      if (known !== undefined && known.at === known.original.length) return false; // its walk is over: a no-op
      const st = known ?? { original: m.pairs, at: 0, own: [], value: null, frames: 0 };
      states.set(m, st);
      st.frames++;
      stack.push({ node: m, st, merge: [], waitFor: null, list: null, j: 0, lists: [] });
      return true;
    };
    // What PyYAML's node.value holds now: the last list assigned, or the own pairs kept so far.
    const pairsOf = (m: MappingNode): Pair[] => {
      const st = states.get(m);
      return st === undefined ? m.pairs : st.value ?? st.own;
    };
    enter(root);
    while (stack.length > 0) {
      const f = stack[stack.length - 1]!;
      if (f.waitFor !== null) { // back from flattening a merged mapping
        if (f.list === null) pushAll(f.merge, pairsOf(f.waitFor));
        else { f.lists.push(pairsOf(f.waitFor)); f.j++; }
        f.waitFor = null;
        continue;
      }
      if (f.list !== null) { // inside `<<: [ … ]`
        if (f.j < f.list.items.length) {
          const m = f.list.items[f.j]!;
          if (m.kind !== 'mapping') throw this.src.error(m.start, `expected a mapping for merging, but found ${m.kind}`, context, f.node.start);
          if (enter(m)) { f.waitFor = m; continue; }
          f.lists.push(pairsOf(m));
          f.j++;
          continue;
        }
        for (const pairs of f.lists.reverse()) pushAll(f.merge, pairs);
        f.list = null;
        continue;
      }
      const st = f.st;
      if (st.at < st.original.length) {
        const pair = st.original[st.at++]!; // taken out of the list: PyYAML's `del node.value[index]`
        const [k, v] = pair;
        if (k.tag !== TAG.merge) {
          if (k.tag === TAG.value) k.tag = TAG.str;
          st.own.push(pair);
        } else if (v.kind === 'mapping') {
          if (enter(v)) f.waitFor = v;
          else pushAll(f.merge, pairsOf(v));
        } else if (v.kind === 'sequence') {
          f.list = v;
          f.j = 0;
          f.lists = [];
        } else {
          throw this.src.error(v.start, `expected a mapping or list of mappings for merging, but found ${v.kind}`, context, f.node.start);
        }
        continue;
      }
      if (f.merge.length > 0) st.value = firstAndLast(f.merge.concat(st.value ?? st.own));
      stack.pop();
      if (--st.frames === 0) {
        f.node.pairs = st.value ?? st.own;
        f.node.flat = true;
        states.delete(f.node);
      }
    }
  }
}

type Pair = [YamlNode, YamlNode];

/** Where flattening one mapping stands: its pairs as written, how far it has been read, what it holds now. */
interface FlatState {
  original: Pair[];
  /** The next pair of `original` to read (the ones before it were kept in `own` or taken out). */
  at: number;
  /** The pairs read that are not `<<`, in order. */
  own: Pair[];
  /** The list last assigned by a finished frame (merged pairs, then the rest), or null. */
  value: Pair[] | null;
  /** Frames of this node on the stack. */
  frames: number;
}

/** One of PyYAML's flatten_mapping calls. */
interface FlatFrame {
  node: MappingNode;
  st: FlatState;
  /** The pairs its `<<` keys bring, in order. */
  merge: Pair[];
  /** The mapping being flattened before its pairs are taken. */
  waitFor: MappingNode | null;
  /** The `<<: [ … ]` list being read, where it is, and the pairs of its mappings so far. */
  list: SequenceNode | null;
  j: number;
  lists: Pair[][];
}

function needsFlattening(m: MappingNode): boolean {
  return m.pairs.some(([k]) => k.tag === TAG.merge || k.tag === TAG.value);
}

function pushAll<T>(into: T[], items: readonly T[]): void {
  for (const x of items) into.push(x);
}

/**
 * The list without the repeats of a pair, except its first and last places:
 * a dict built from it (keys in the order first seen, each with its last
 * value) is the same.
 */
function firstAndLast(pairs: Pair[]): Pair[] {
  const last = new Map<Pair, number>();
  pairs.forEach((p, i) => last.set(p, i));
  if (last.size === pairs.length) return pairs;
  const seen = new Set<Pair>();
  return pairs.filter((p, i) => {
    if (!seen.has(p)) { seen.add(p); return true; }
    return last.get(p) === i;
  });
}

function allStringKeys(pairs: Array<[YamlNode, YamlNode]>): boolean {
  for (const [k] of pairs) if (k.tag !== TAG.str) return false;
  return true;
}

/** Which keys a Python dict treats as one: True == 1 == 1.0, False == 0, -0.0 == 0; every .nan is PyYAML's one nan. */
function pyKeyClass(key: unknown): string {
  if (key === null) return 'None';
  if (typeof key === 'boolean') return `n:${key ? 1 : 0}`;
  if (typeof key === 'number') return Number.isNaN(key) ? 'n:nan' : `n:${key === 0 ? 0 : key}`;
  if (key instanceof Uint8Array) return `b:${key.join(',')}`;
  return `?:${String(key)}`;
}

/** A non-string key as Python's json.dumps writes it. */
function jsonKey(key: unknown, node: YamlNode): string {
  if (key === null) return 'null';
  if (typeof key === 'boolean') return key ? 'true' : 'false';
  if (typeof key === 'number') return node.tag === TAG.float ? pyFloatRepr(key) : String(key);
  if (key instanceof Uint8Array) return base64(key);
  return String(key);
}

const B64_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Bytes as canonical base64 (a !!binary key's name). */
function base64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64_CHARS[n >> 18]! + B64_CHARS[(n >> 12) & 63]!;
    out += i + 1 < bytes.length ? B64_CHARS[(n >> 6) & 63]! : '=';
    out += i + 2 < bytes.length ? B64_CHARS[n & 63]! : '=';
  }
  return out;
}

/** Python's repr() of a float: shortest digits, exponent form below 1e-4 and from 1e16, always a '.' or an 'e'. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exp] = x.toExponential().split('e') as [string, string];
  const e = Number(exp);
  const sign = mantissa.startsWith('-') ? '-' : '';
  const digits = mantissa.replace(/^-/, '').replace('.', '');
  if (e < -4 || e >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  const whole = digits.slice(0, e + 1).padEnd(e + 1, '0');
  const frac = digits.slice(e + 1);
  return `${sign}${whole}.${frac === '' ? '0' : frac}`;
}

/**
 * Where the value contains itself, or -1: the first of `inner` (aliases
 * written inside the collection they name) that is still in the value (not
 * dropped by a duplicate key) and whose collection is on a cycle, else the
 * first of them. A walk with an explicit stack; a collection reached twice
 * (an ordinary alias) is walked once.
 */
export function recursiveAt(value: unknown, inner: ReadonlyArray<InnerAlias>): number {
  const children = (v: object): unknown[] => (Array.isArray(v) ? v : v instanceof Set ? [] : Object.values(v));
  const isCollection = (v: unknown): v is object => typeof v === 'object' && v !== null && !(v instanceof Uint8Array);
  const onPath = new Set<object>();
  const done = new Set<object>();
  const onCycle = new Set<object>();
  if (!isCollection(value)) return -1;
  const stack: Array<{ v: object; next: unknown[]; i: number }> = [{ v: value, next: children(value), i: 0 }];
  onPath.add(value);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.i < top.next.length) {
      const c = top.next[top.i++];
      if (!isCollection(c) || done.has(c)) continue;
      if (onPath.has(c)) { onCycle.add(c); continue; }
      onPath.add(c);
      stack.push({ v: c, next: children(c), i: 0 });
      continue;
    }
    onPath.delete(top.v);
    done.add(top.v);
    stack.pop();
  }
  if (onCycle.size === 0) return -1;
  const kept = (a: InnerAlias) => {
    const holder = a.parent.built;
    return typeof holder === 'object' && holder !== null && children(holder).includes(a.node.built);
  };
  const first = inner.find((a) => a.node.built !== UNBUILT && onCycle.has(a.node.built as object) && kept(a));
  return (first ?? inner[0]!).at;
}
