// The composer: events → a tree of nodes (scalar, sequence, mapping), each
// with its full tag; anchors are resolved here, so an alias is the very node
// it names (shared, not copied). This is also where every limit is enforced,
// before any value is built:
//  - nodes: counted with aliases expanded — an alias costs the size of what
//    it names — so a "billion laughs" document stops after maxNodes, not
//    after a billion;
//  - depth: open collections, as written (PyYAML's own limit; an alias adds
//    no depth here: the depth it brings costs its nodes, so the node limit
//    bounds it — about 10 000 levels at most);
//  - aliases: how many are used.
// Like PyYAML, a duplicate anchor and an undefined alias are errors, and only
// one document is allowed. An alias inside the collection it names is noted
// here: whether the value really contains itself (a recursive structure,
// which ec2-init refuses: it would loop on it later) is known only once it
// is built — a duplicate key may drop the alias, and a mapping merging
// itself (`&x {a: 1, <<: *x}`) folds into a plain mapping, as in PyYAML.
import { E, Parser, type YamlEvent } from './parser.ts';
import { Scanner } from './scanner.ts';
import type { Characters, Source } from './errors.ts';
import { resolveImplicit, TAG } from './scalars.ts';

export interface YamlLimits {
  /** Most nodes (scalars and collections), counted with aliases expanded. */
  maxNodes: number;
  /** Deepest nesting of collections, as written. */
  maxDepth: number;
  /** Most aliases (*name) in the document. */
  maxAliases: number;
  /**
   * Most characters of scalars that aliases repeat, in all: a few aliases of
   * one long string make a value that, written out again (user-config.txt),
   * is many times the document (200 aliases of 4 MiB: 840 MB and 2.4 GiB
   * of memory).
   */
  maxAliasedChars: number;
}

interface NodeBase {
  /** Full tag: 'tag:yaml.org,2002:str', '!foo'. Constructing a mapping may rewrite a key's tag, as PyYAML does. */
  tag: string;
  start: number;
  end: number;
  /** Nodes in this subtree, aliases expanded. */
  weight: number;
  /** Characters of the scalars in this subtree, aliases expanded. */
  chars: number;
  /** The value built from this node (UNBUILT until then): an alias gets the same value, as in PyYAML. */
  built: unknown;
}

/** The `built` of a node whose value is not built yet. */
export const UNBUILT: unique symbol = Symbol('unbuilt');
export interface ScalarNode extends NodeBase { kind: 'scalar'; value: string; style: number }
export interface SequenceNode extends NodeBase { kind: 'sequence'; items: YamlNode[]; open: boolean }
export interface MappingNode extends NodeBase {
  kind: 'mapping';
  pairs: Array<[YamlNode, YamlNode]>;
  open: boolean;
  /** Merge keys already folded in (PyYAML's flatten_mapping), done once per node. */
  flat: boolean;
}
export type YamlNode = ScalarNode | SequenceNode | MappingNode;

interface Frame { node: SequenceNode | MappingNode; key: YamlNode | null }

/** An alias used inside the collection it names: where it is, that collection, and the collection it is written in. */
export interface InnerAlias { at: number; node: YamlNode; parent: SequenceNode | MappingNode }

export interface Composed {
  root: YamlNode;
  /**
   * The aliases to an enclosing collection, in the order written. The value
   * built may contain itself through them (PyYAML builds that; ec2-init
   * refuses it once the whole document is read and built, so that any error
   * PyYAML would report first is reported first here too), or not.
   */
  innerAliases: InnerAlias[];
}

/** The one document in `src` as a node tree, or null for an empty stream. */
export function composeDocument(src: Source, chars: Characters, limits: YamlLimits): Composed | null {
  const parser = new Parser(src, new Scanner(src, limits.maxDepth, chars));
  parser.next(); // stream start
  if (parser.peek().kind === E.StreamEnd) return null;
  parser.next(); // document start
  const composer = new Composer(src, parser, limits);
  const root = composer.node();
  parser.next(); // document end
  if (parser.peek().kind !== E.StreamEnd) {
    throw src.error(parser.next().start, 'expected a single document in the stream, but found another document');
  }
  return { root, innerAliases: composer.innerAliases };
}

class Composer {
  private readonly src: Source;
  private readonly parser: Parser;
  private readonly limits: YamlLimits;
  private readonly anchors = new Map<string, YamlNode>();
  private nodes = 0;
  private expanded = 0;
  private aliases = 0;
  private aliasedChars = 0;
  readonly innerAliases: InnerAlias[] = [];

  constructor(src: Source, parser: Parser, limits: YamlLimits) {
    this.src = src;
    this.parser = parser;
    this.limits = limits;
  }

  /** The next node, whole: events are read in a loop with an explicit stack. */
  node(): YamlNode {
    const stack: Frame[] = [];
    for (;;) {
      const ev = this.parser.next();
      let done: YamlNode;
      switch (ev.kind) {
        case E.Alias:
          done = this.alias(ev, stack[stack.length - 1]?.node);
          break;
        case E.Scalar: {
          this.count(ev);
          const tag = ev.tag === null || ev.tag === '!' ? (ev.implicit ? resolveImplicit(ev.value) : TAG.str) : ev.tag;
          done = { kind: 'scalar', tag, value: ev.value, style: ev.style, start: ev.start, end: ev.end, weight: 1, chars: ev.value.length, built: UNBUILT };
          if (ev.anchor !== null) this.define(ev, done);
          break;
        }
        case E.SequenceStart:
        case E.MappingStart: {
          this.count(ev);
          if (stack.length >= this.limits.maxDepth) throw this.tooDeep(ev);
          const tag = ev.tag === null || ev.tag === '!' ? (ev.kind === E.SequenceStart ? TAG.seq : TAG.map) : ev.tag;
          const node: SequenceNode | MappingNode = ev.kind === E.SequenceStart
            ? { kind: 'sequence', tag, start: ev.start, end: ev.end, weight: 1, chars: 0, built: UNBUILT, items: [], open: true }
            : { kind: 'mapping', tag, start: ev.start, end: ev.end, weight: 1, chars: 0, built: UNBUILT, pairs: [], open: true, flat: false };
          if (ev.anchor !== null) this.define(ev, node); // before its content: an alias inside it is recursive
          stack.push({ node, key: null });
          continue;
        }
        case E.SequenceEnd:
        case E.MappingEnd: {
          const frame = stack.pop()!;
          frame.node.open = false;
          frame.node.end = ev.end;
          done = frame.node;
          break;
        }
        default:
          throw new Error(`YAML composer: unexpected event ${ev.kind}`);
      }
      const top = stack[stack.length - 1];
      if (top === undefined) return done;
      const parent = top.node;
      parent.weight += done.weight;
      parent.chars += done.chars;
      if (parent.kind === 'sequence') {
        parent.items.push(done);
      } else if (top.key === null) {
        top.key = done;
      } else {
        parent.pairs.push([top.key, done]);
        top.key = null;
      }
    }
  }

  private count(ev: YamlEvent): void {
    this.nodes++;
    if (++this.expanded > this.limits.maxNodes) {
      if (this.nodes > this.limits.maxNodes) {
        throw this.src.error(ev.start, `more than ${this.limits.maxNodes} nodes: split the document or shorten its lists`);
      }
      this.checkExpanded(ev);
    }
  }

  private checkExpanded(ev: YamlEvent): void {
    if (this.expanded > this.limits.maxNodes) {
      throw this.src.error(ev.start, `more than ${this.limits.maxNodes} nodes once aliases are expanded (a "billion laughs" document?): use fewer aliases`);
    }
  }

  private tooDeep(ev: YamlEvent): Error {
    return this.src.error(ev.start, `nested more than ${this.limits.maxDepth} levels deep: flatten the document`);
  }

  private alias(ev: YamlEvent, parent: SequenceNode | MappingNode | undefined): YamlNode {
    const name = ev.anchor!;
    const node = this.anchors.get(name);
    if (node === undefined) throw this.src.error(ev.start, `found undefined alias '${name}'`);
    if (++this.aliases > this.limits.maxAliases) {
      throw this.src.error(ev.start, `more than ${this.limits.maxAliases} aliases: use fewer aliases`);
    }
    if (node.kind !== 'scalar' && node.open) {
      // Counted as one node; whether the value contains itself is known once built (see Composed).
      this.innerAliases.push({ at: ev.start, node, parent: parent! }); // open, so inside it: a parent exists
      this.expanded++;
      this.checkExpanded(ev);
      return node;
    }
    this.expanded += node.weight;
    this.checkExpanded(ev);
    this.aliasedChars += node.chars;
    if (this.aliasedChars > this.limits.maxAliasedChars) {
      throw this.src.error(ev.start, `aliases repeat more than ${this.limits.maxAliasedChars} characters of text: use fewer aliases of long values`);
    }
    return node;
  }

  private define(ev: YamlEvent, node: YamlNode): void {
    if (ev.anchor === null) return;
    const first = this.anchors.get(ev.anchor);
    if (first !== undefined) throw this.src.error(ev.start, `found duplicate anchor '${ev.anchor}'`, 'first occurrence', first.start);
    this.anchors.set(ev.anchor, node);
  }
}
