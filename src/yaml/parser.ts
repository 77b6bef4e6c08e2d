// The parser: tokens → events (document start, scalar, sequence start, …),
// following PyYAML's YAML 1.1 grammar. It is a state machine with an explicit
// stack of states instead of recursive descent, so nesting depth costs heap,
// never JS stack; the composer bounds it. It also applies %TAG directives:
// an event's tag is the full tag ('tag:yaml.org,2002:int', '!foo').
import { type Scanner, T, TOKEN_NAMES, PLAIN, type Token } from './scanner.ts';
import type { Source } from './errors.ts';

export const E = {
  StreamStart: 0, StreamEnd: 1, DocumentStart: 2, DocumentEnd: 3,
  Alias: 4, Scalar: 5, SequenceStart: 6, SequenceEnd: 7, MappingStart: 8, MappingEnd: 9,
} as const;
export type EventKind = (typeof E)[keyof typeof E];

export interface YamlEvent {
  kind: EventKind;
  start: number;
  end: number;
  /** Anchor defined here, or the alias's name. */
  anchor: string | null;
  /** Full tag, or null when none was written ('!' stays '!'). */
  tag: string | null;
  /** Scalars: the implicit tags (null, int, bool, …) apply — plain and untagged, or tagged '!'. */
  implicit: boolean;
  value: string;
  style: number;
}

function event(kind: EventKind, start: number, end: number): YamlEvent {
  return { kind, start, end, anchor: null, tag: null, implicit: false, value: '', style: PLAIN };
}

const DEFAULT_TAG_HANDLES: ReadonlyMap<string, string> = new Map([['!', '!'], ['!!', 'tag:yaml.org,2002:']]);

// Parser states: what the next event may be.
const S = {
  StreamStart: 0, ImplicitDocumentStart: 1, DocumentStart: 2, DocumentEnd: 3, DocumentContent: 4,
  BlockNode: 5, BlockSequenceFirstEntry: 6, BlockSequenceEntry: 7, IndentlessSequenceEntry: 8,
  BlockMappingFirstKey: 9, BlockMappingKey: 10, BlockMappingValue: 11,
  FlowSequenceFirstEntry: 12, FlowSequenceEntry: 13, FlowSequenceEntryMappingKey: 14,
  FlowSequenceEntryMappingValue: 15, FlowSequenceEntryMappingEnd: 16,
  FlowMappingFirstKey: 17, FlowMappingKey: 18, FlowMappingValue: 19, FlowMappingEmptyValue: 20,
  End: 21,
} as const;
type State = (typeof S)[keyof typeof S];

export class Parser {
  private readonly src: Source;
  private readonly scanner: Scanner;
  private state: State = S.StreamStart;
  private readonly states: State[] = [];
  /** Start offsets of the collections being parsed, for "while parsing a block mapping" context. */
  private readonly marks: number[] = [];
  private tagHandles: ReadonlyMap<string, string> = DEFAULT_TAG_HANDLES;
  private current: YamlEvent | null = null;

  constructor(src: Source, scanner: Scanner) {
    this.src = src;
    this.scanner = scanner;
  }

  peek(): YamlEvent {
    return this.current ??= this.step();
  }

  next(): YamlEvent {
    const e = this.peek();
    this.current = null;
    return e;
  }

  private is(kind: number): boolean {
    return this.scanner.peek().kind === kind;
  }

  private isAny(a: number, b: number, c = -1, d = -1): boolean {
    const k = this.scanner.peek().kind;
    return k === a || k === b || k === c || k === d;
  }


  private step(): YamlEvent {
    const sc = this.scanner;
    switch (this.state) {
      case S.StreamStart: {
        const t = sc.next();
        this.state = S.ImplicitDocumentStart;
        return event(E.StreamStart, t.start, t.end);
      }
      case S.ImplicitDocumentStart:
        if (!this.isAny(T.Directive, T.DocumentStart, T.StreamEnd)) {
          this.tagHandles = DEFAULT_TAG_HANDLES;
          const at = sc.peek().start;
          this.states.push(S.DocumentEnd);
          this.state = S.BlockNode;
          return event(E.DocumentStart, at, at);
        }
        return this.documentStart();
      case S.DocumentStart: return this.documentStart();
      case S.DocumentEnd: {
        let t = sc.peek();
        const start = t.start;
        let end = start;
        if (t.kind === T.DocumentEnd) {
          t = sc.next();
          end = t.end;
        }
        this.state = S.DocumentStart;
        return event(E.DocumentEnd, start, end);
      }
      case S.DocumentContent:
        if (this.isAny(T.Directive, T.DocumentStart, T.DocumentEnd, T.StreamEnd)) {
          this.state = this.states.pop()!;
          return this.emptyScalar(sc.peek().start);
        }
        return this.node(true, false);
      case S.BlockNode: return this.node(true, false);

      case S.BlockSequenceFirstEntry:
        this.marks.push(sc.next().start);
        return this.blockSequenceEntry();
      case S.BlockSequenceEntry: return this.blockSequenceEntry();
      case S.IndentlessSequenceEntry: {
        if (this.is(T.BlockEntry)) {
          const t = sc.next();
          if (!this.isAny(T.BlockEntry, T.Key, T.Value, T.BlockEnd)) {
            this.states.push(S.IndentlessSequenceEntry);
            return this.node(true, false);
          }
          this.state = S.IndentlessSequenceEntry;
          return this.emptyScalar(t.end);
        }
        const at = sc.peek().start;
        this.state = this.states.pop()!;
        return event(E.SequenceEnd, at, at);
      }

      case S.BlockMappingFirstKey:
        this.marks.push(sc.next().start);
        return this.blockMappingKey();
      case S.BlockMappingKey: return this.blockMappingKey();
      case S.BlockMappingValue: {
        if (this.is(T.Value)) {
          const t = sc.next();
          if (!this.isAny(T.Key, T.Value, T.BlockEnd)) {
            this.states.push(S.BlockMappingKey);
            return this.node(true, true);
          }
          this.state = S.BlockMappingKey;
          return this.emptyScalar(t.end);
        }
        this.state = S.BlockMappingKey;
        return this.emptyScalar(sc.peek().start);
      }

      case S.FlowSequenceFirstEntry:
        this.marks.push(sc.next().start);
        return this.flowSequenceEntry(true);
      case S.FlowSequenceEntry: return this.flowSequenceEntry(false);
      case S.FlowSequenceEntryMappingKey: {
        const t = sc.next();
        if (!this.isAny(T.Value, T.FlowEntry, T.FlowSequenceEnd)) {
          this.states.push(S.FlowSequenceEntryMappingValue);
          return this.node(false, false);
        }
        this.state = S.FlowSequenceEntryMappingValue;
        return this.emptyScalar(t.end);
      }
      case S.FlowSequenceEntryMappingValue: {
        if (this.is(T.Value)) {
          const t = sc.next();
          if (!this.isAny(T.FlowEntry, T.FlowSequenceEnd)) {
            this.states.push(S.FlowSequenceEntryMappingEnd);
            return this.node(false, false);
          }
          this.state = S.FlowSequenceEntryMappingEnd;
          return this.emptyScalar(t.end);
        }
        this.state = S.FlowSequenceEntryMappingEnd;
        return this.emptyScalar(sc.peek().start);
      }
      case S.FlowSequenceEntryMappingEnd: {
        this.state = S.FlowSequenceEntry;
        const at = sc.peek().start;
        return event(E.MappingEnd, at, at);
      }

      case S.FlowMappingFirstKey:
        this.marks.push(sc.next().start);
        return this.flowMappingKey(true);
      case S.FlowMappingKey: return this.flowMappingKey(false);
      case S.FlowMappingValue: {
        if (this.is(T.Value)) {
          const t = sc.next();
          if (!this.isAny(T.FlowEntry, T.FlowMappingEnd)) {
            this.states.push(S.FlowMappingKey);
            return this.node(false, false);
          }
          this.state = S.FlowMappingKey;
          return this.emptyScalar(t.end);
        }
        this.state = S.FlowMappingKey;
        return this.emptyScalar(sc.peek().start);
      }
      case S.FlowMappingEmptyValue:
        this.state = S.FlowMappingKey;
        return this.emptyScalar(sc.peek().start);
      case S.End:
        throw new Error('YAML parser: read past the end of the stream');
    }
  }

  private fail(t: Token, problem: string, context?: string, contextOffset?: number): Error {
    return this.src.error(t.start, problem, context, contextOffset);
  }

  private documentStart(): YamlEvent {
    const sc = this.scanner;
    while (this.is(T.DocumentEnd)) sc.next();
    if (this.is(T.StreamEnd)) {
      const t = sc.next();
      this.state = S.End;
      return event(E.StreamEnd, t.start, t.end);
    }
    const start = sc.peek().start;
    this.processDirectives();
    if (!this.is(T.DocumentStart)) {
      const t = sc.peek();
      throw this.fail(t, `expected '<document start>', but found '${TOKEN_NAMES[t.kind]}'`);
    }
    const t = sc.next();
    this.states.push(S.DocumentEnd);
    this.state = S.DocumentContent;
    return event(E.DocumentStart, start, t.end);
  }

  private processDirectives(): void {
    const sc = this.scanner;
    let version: string | null = null;
    const handles = new Map<string, string>();
    while (this.is(T.Directive)) {
      const t = sc.next();
      if (t.value === 'YAML') {
        if (version !== null) throw this.fail(t, 'found duplicate YAML directive');
        if (t.prefix.split('.')[0] !== '1') throw this.fail(t, 'found incompatible YAML document (version 1.* is required)');
        version = t.prefix;
      } else if (t.value === 'TAG') {
        if (handles.has(t.handle!)) throw this.fail(t, `duplicate tag handle '${t.handle}'`);
        handles.set(t.handle!, t.prefix);
      }
    }
    for (const [h, p] of DEFAULT_TAG_HANDLES) if (!handles.has(h)) handles.set(h, p);
    this.tagHandles = handles;
  }

  private emptyScalar(at: number): YamlEvent {
    const e = event(E.Scalar, at, at);
    e.implicit = true;
    return e;
  }

  /** A node: an alias, or properties (anchor, tag) and content. */
  private node(block: boolean, indentlessSequence: boolean): YamlEvent {
    const sc = this.scanner;
    const first = sc.peek();
    if (first.kind === T.Alias) {
      sc.next();
      const e = event(E.Alias, first.start, first.end);
      e.anchor = first.value;
      this.state = this.states.pop()!;
      return e;
    }
    let anchor: string | null = null;
    let tagToken: Token | null = null;
    let start = -1;
    let end = -1;
    if (first.kind === T.Anchor || first.kind === T.Tag) {
      // Properties: an anchor and a tag, in either order.
      sc.next();
      start = first.start;
      end = first.end;
      if (first.kind === T.Anchor) anchor = first.value; else tagToken = first;
      const second = sc.peek();
      if (second.kind === (first.kind === T.Anchor ? T.Tag : T.Anchor)) {
        sc.next();
        end = second.end;
        if (second.kind === T.Anchor) anchor = second.value; else tagToken = second;
      }
    }
    let tag: string | null = null;
    if (tagToken !== null) {
      if (tagToken.handle === null) {
        tag = tagToken.value;
      } else {
        const prefix = this.tagHandles.get(tagToken.handle);
        if (prefix === undefined) throw this.fail(tagToken, `found undefined tag handle '${tagToken.handle}'`, 'while parsing a node', start);
        tag = prefix + tagToken.value;
      }
    }
    // (Read only now, as PyYAML does: an unknown tag handle is reported before what follows.)
    const t = start < 0 ? first : sc.peek();
    if (start < 0) start = end = t.start;
    const nonSpecific = tag === null || tag === '!';
    let e: YamlEvent;
    if (indentlessSequence && t.kind === T.BlockEntry) {
      e = event(E.SequenceStart, start, t.end);
      this.state = S.IndentlessSequenceEntry;
    } else if (t.kind === T.Scalar) {
      sc.next();
      e = event(E.Scalar, start, t.end);
      e.implicit = (t.style === PLAIN && tag === null) || tag === '!';
      e.value = t.value;
      e.style = t.style;
      this.state = this.states.pop()!;
    } else if (t.kind === T.FlowSequenceStart) {
      e = event(E.SequenceStart, start, t.end);
      this.state = S.FlowSequenceFirstEntry;
    } else if (t.kind === T.FlowMappingStart) {
      e = event(E.MappingStart, start, t.end);
      this.state = S.FlowMappingFirstKey;
    } else if (block && t.kind === T.BlockSequenceStart) {
      e = event(E.SequenceStart, start, t.start);
      this.state = S.BlockSequenceFirstEntry;
    } else if (block && t.kind === T.BlockMappingStart) {
      e = event(E.MappingStart, start, t.start);
      this.state = S.BlockMappingFirstKey;
    } else if (anchor !== null || tag !== null) {
      // Properties with no content: an empty scalar.
      e = event(E.Scalar, start, end);
      e.implicit = nonSpecific;
      this.state = this.states.pop()!;
    } else {
      throw this.fail(t, `expected the node content, but found '${TOKEN_NAMES[t.kind]}'`, `while parsing a ${block ? 'block' : 'flow'} node`, start);
    }
    e.anchor = anchor;
    e.tag = tag;
    return e;
  }

  private blockSequenceEntry(): YamlEvent {
    const sc = this.scanner;
    if (this.is(T.BlockEntry)) {
      const t = sc.next();
      if (!this.isAny(T.BlockEntry, T.BlockEnd)) {
        this.states.push(S.BlockSequenceEntry);
        return this.node(true, false);
      }
      this.state = S.BlockSequenceEntry;
      return this.emptyScalar(t.end);
    }
    if (!this.is(T.BlockEnd)) {
      const t = sc.peek();
      throw this.fail(t, `expected <block end>, but found '${TOKEN_NAMES[t.kind]}'`, 'while parsing a block collection', this.marks[this.marks.length - 1]);
    }
    const t = sc.next();
    this.state = this.states.pop()!;
    this.marks.pop();
    return event(E.SequenceEnd, t.start, t.end);
  }

  private blockMappingKey(): YamlEvent {
    const sc = this.scanner;
    if (this.is(T.Key)) {
      const t = sc.next();
      if (!this.isAny(T.Key, T.Value, T.BlockEnd)) {
        this.states.push(S.BlockMappingValue);
        return this.node(true, true);
      }
      this.state = S.BlockMappingValue;
      return this.emptyScalar(t.end);
    }
    if (!this.is(T.BlockEnd)) {
      const t = sc.peek();
      throw this.fail(t, `expected <block end>, but found '${TOKEN_NAMES[t.kind]}'`, 'while parsing a block mapping', this.marks[this.marks.length - 1]);
    }
    const t = sc.next();
    this.state = this.states.pop()!;
    this.marks.pop();
    return event(E.MappingEnd, t.start, t.end);
  }

  private flowSequenceEntry(first: boolean): YamlEvent {
    const sc = this.scanner;
    if (!this.is(T.FlowSequenceEnd)) {
      if (!first) {
        if (this.is(T.FlowEntry)) {
          sc.next();
        } else {
          const t = sc.peek();
          throw this.fail(t, `expected ',' or ']', but got '${TOKEN_NAMES[t.kind]}'`, 'while parsing a flow sequence', this.marks[this.marks.length - 1]);
        }
      }
      if (this.is(T.Key)) {
        // [a: b] — a single-pair mapping inside the sequence.
        const t = sc.peek();
        this.state = S.FlowSequenceEntryMappingKey;
        const e = event(E.MappingStart, t.start, t.end);
        e.implicit = true;
        return e;
      }
      if (!this.is(T.FlowSequenceEnd)) {
        this.states.push(S.FlowSequenceEntry);
        return this.node(false, false);
      }
    }
    const t = sc.next();
    this.state = this.states.pop()!;
    this.marks.pop();
    return event(E.SequenceEnd, t.start, t.end);
  }

  private flowMappingKey(first: boolean): YamlEvent {
    const sc = this.scanner;
    if (!this.is(T.FlowMappingEnd)) {
      if (!first) {
        if (this.is(T.FlowEntry)) {
          sc.next();
        } else {
          const t = sc.peek();
          throw this.fail(t, `expected ',' or '}', but got '${TOKEN_NAMES[t.kind]}'`, 'while parsing a flow mapping', this.marks[this.marks.length - 1]);
        }
      }
      if (this.is(T.Key)) {
        const t = sc.next();
        if (!this.isAny(T.Value, T.FlowEntry, T.FlowMappingEnd)) {
          this.states.push(S.FlowMappingValue);
          return this.node(false, false);
        }
        this.state = S.FlowMappingValue;
        return this.emptyScalar(t.end);
      }
      if (!this.is(T.FlowMappingEnd)) {
        this.states.push(S.FlowMappingEmptyValue);
        return this.node(false, false);
      }
    }
    const t = sc.next();
    this.state = this.states.pop()!;
    this.marks.pop();
    return event(E.MappingEnd, t.start, t.end);
  }
}
