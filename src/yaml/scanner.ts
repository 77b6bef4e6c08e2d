// The scanner: YAML text → tokens, cut the way PyYAML's scanner cuts them
// (YAML 1.1), because that decides which documents cloud-init accepts and
// where it says they are wrong. The notable rules it keeps:
//  - a "simple key" (`key: value` without '?') must fit on one line and in
//    1024 characters; the KEY token is inserted before it once its ':' is
//    seen, which is why tokens wait in a queue while a key may be pending;
//  - indentation opens and closes block collections (BLOCK-MAPPING-START,
//    BLOCK-SEQUENCE-START, BLOCK-END) and is ignored inside [ ] and { };
//  - a tab never counts as indentation and cannot start a token: "a:\tb" is
//    an error in PyYAML, so it is one here;
//  - plain scalars fold lines into spaces and stop at ': ', ' #', and in flow
//    context at , [ ] { } ?.
// Positions are UTF-16 offsets; columns are counted in code points like
// Python's, and only where the rules need them.
import { type Characters, isBreak, pyRepr, type Source, YamlError } from './errors.ts';

export const T = {
  StreamStart: 0, StreamEnd: 1, Directive: 2, DocumentStart: 3, DocumentEnd: 4,
  BlockSequenceStart: 5, BlockMappingStart: 6, BlockEnd: 7,
  FlowSequenceStart: 8, FlowSequenceEnd: 9, FlowMappingStart: 10, FlowMappingEnd: 11,
  BlockEntry: 12, FlowEntry: 13, Key: 14, Value: 15,
  Alias: 16, Anchor: 17, Tag: 18, Scalar: 19,
} as const;
export type TokenKind = (typeof T)[keyof typeof T];

/** PyYAML's names for tokens, as its messages print them. */
export const TOKEN_NAMES: readonly string[] = [
  '<stream start>', '<stream end>', '<directive>', '<document start>', '<document end>',
  '<block sequence start>', '<block mapping start>', '<block end>',
  '[', ']', '{', '}', '-', ',', '?', ':', '<alias>', '<anchor>', '<tag>', '<scalar>',
];

/** Scalar styles: plain, or the character that introduced the scalar. */
export const PLAIN = 0;

export interface Token {
  kind: TokenKind;
  start: number;
  end: number;
  /** Scalar text; anchor or alias name; tag suffix; directive name. */
  value: string;
  /** Scalars: PLAIN or the char code of ' " | >. */
  style: number;
  /** Tags: the handle ('!', '!!', '!x!') or null for a verbatim tag. TAG directives: the handle. */
  handle: string | null;
  /** TAG directives: the prefix. YAML directives: "major.minor". */
  prefix: string;
}

function token(kind: TokenKind, start: number, end: number, value = '', style = PLAIN): Token {
  return { kind, start, end, value, style, handle: null, prefix: '' };
}

interface SimpleKey {
  level: number;
  tokenNumber: number;
  /** In block context at the current indentation a key must follow: a missing ':' is an error. */
  required: boolean;
  pos: number;
  line: number;
  /** Code points from the line start, for the 1024-character rule. */
  index: number;
  column: number;
}

// Character classes, by char code. 0 stands for the end of the text.
const isBlankOrEnd = (c: number) => c === 0 || c === 32 || c === 9 || isBreak(c);
const isBreakOrEnd = (c: number) => c === 0 || isBreak(c);
const isWordChar = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95;
const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
// The characters of a tag URI besides letters and digits (and %, for escapes).
const URI_CHARS = new Set(Array.from("-;/?:@&=+$,_.!~*'()[]%", (ch) => ch.charCodeAt(0)));
const isUriChar = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || URI_CHARS.has(c);
// What cannot start a plain scalar (unless '-', '?' or ':' followed by a non-space).
const NOT_PLAIN_START = new Set(Array.from('-?:,[]{}#&*!|>\'"%@`', (ch) => ch.charCodeAt(0)));
// What may follow an anchor or alias name.
const AFTER_ANCHOR = new Set(Array.from('?:,]}%@`', (ch) => ch.charCodeAt(0)));

/** Double-quoted escapes that stand for one character. */
const ESCAPES: Readonly<Record<string, string>> = {
  '0': '\0', a: '\x07', b: '\x08', t: '\t', '\t': '\t', n: '\n', v: '\x0b', f: '\x0c', r: '\r', e: '\x1b',
  ' ': ' ', '"': '"', '\\': '\\', '/': '/', N: '\x85', _: '\xa0', L: '\u2028', P: '\u2029',
};
/** Escapes followed by hexadecimal digits: how many. */
const HEX_ESCAPES: Readonly<Record<string, number>> = { x: 2, u: 4, U: 8 };

// Runs of characters are skipped with sticky regular expressions rather than
// character by character: in an interpreter (QuickJS) a native scan is many
// times faster than a JavaScript loop. test() leaves the end in lastIndex.
/** The rest of a line. */
const TO_BREAK = /[^\r\n\x85\u2028\u2029]*/y;
/** Blank lines: spaces and line breaks (never tabs, which cannot indent). */
const BLANK_RUN = /[ \r\n\x85\u2028\u2029]*/y;
/** A run of spaces. */
const SPACES = / +/y;
/** Where the spaces from `p` end: a short run in JavaScript, a long one by a native scan (15 MiB of spaces). */
function spacesEnd(t: string, p: number): number {
  if (t.charCodeAt(p) !== 32) return p;
  if (t.charCodeAt(p + 1) !== 32) return p + 1;
  SPACES.lastIndex = p;
  SPACES.test(t);
  return SPACES.lastIndex;
}
/** Line breaks one after another (empty lines), but LS and PS, which a scalar keeps as themselves. */
const BREAK_RUN = /[\r\n\x85]+/y;
/** Text inside quotes up to a quote, a backslash or a line break (spaces included). */
const QUOTED_RUN = /[^'"\\\r\n\x85\u2028\u2029]+/y;
// The rest of a plain scalar's words on one line, from inside a word (see
// scanWords for the rules).
const PLAIN_BLOCK_REST = /(?:[^ \t\r\n\x85\u2028\u2029:]+|:(?![ \t\r\n\x85\u2028\u2029]|$))*(?: +(?:[^ \t\r\n\x85\u2028\u2029:#]|:(?![ \t\r\n\x85\u2028\u2029]|$))(?:[^ \t\r\n\x85\u2028\u2029:]+|:(?![ \t\r\n\x85\u2028\u2029]|$))*)*/y;
const PLAIN_FLOW_REST = /(?:[^ \t\r\n\x85\u2028\u2029:,?[\]{}]+|:(?![ \t\r\n\x85\u2028\u2029,[\]{}]|$))*(?: +(?:[^ \t\r\n\x85\u2028\u2029:#,?[\]{}]|:(?![ \t\r\n\x85\u2028\u2029,[\]{}]|$))(?:[^ \t\r\n\x85\u2028\u2029:,?[\]{}]+|:(?![ \t\r\n\x85\u2028\u2029,[\]{}]|$))*)*/y;

export class Scanner {
  private readonly src: Source;
  private readonly text: string;
  private readonly maxDepth: number;
  private pos = 0;
  private line = 0;
  private lineStart = 0;
  /** No surrogate pair and no BOM in the text: a column is an offset in its line. */
  private readonly plainColumns: boolean;
  // Otherwise columns are counted, from the last position asked on this line.
  private cLine = -1;
  private cPos = 0;
  private cColumn = 0;
  private cIndex = 0;

  private done = false;
  private flowLevel = 0;
  private readonly queue: Token[] = [];
  private head = 0;
  private tokensTaken = 0;
  private indent = -1;
  private readonly indents: number[] = [];
  private allowSimpleKey = true;
  /** The possible simple keys pending, at most one per flow level (a short list: looked through, not indexed). */
  private readonly keys: SimpleKey[] = [];
  /** Records of keys no longer pending, reused: a key is possible before almost every scalar. */
  private readonly spareKeys: SimpleKey[] = [];
  private readonly lfOnly: boolean;

  constructor(src: Source, maxDepth: number, chars: Characters) {
    this.src = src;
    this.text = src.text;
    this.plainColumns = chars.plainColumns;
    this.lfOnly = chars.lfOnly;
    this.maxDepth = maxDepth;
    this.queue.push(token(T.StreamStart, 0, 0));
  }

  /** The next token, left in place. */
  peek(): Token {
    // The usual case first: a token is ready and no simple key may still claim it.
    if (this.head < this.queue.length && (this.done || this.keys.length === 0)) return this.queue[this.head]!;
    while (this.needMoreTokens()) this.fetchMoreTokens();
    return this.queue[this.head]!;
  }

  /** The next token, taken. */
  next(): Token {
    const t = this.peek();
    this.head++;
    this.tokensTaken++;
    if (this.head > 256 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return t;
  }

  check(kind: TokenKind): boolean {
    return this.peek().kind === kind;
  }

  private at(p: number): number {
    return p < this.text.length ? this.text.charCodeAt(p) : 0;
  }


  private fail(problem: string, context?: string, contextOffset?: number, at = this.pos): YamlError {
    return this.src.error(at, problem, context, contextOffset);
  }

  // Columns and indices in code points of the current position, counted
  // incrementally so that a long line costs linear time overall.
  private column(): number {
    if (this.plainColumns) return this.pos - this.lineStart;
    this.countTo();
    return this.cColumn;
  }

  private index(): number {
    if (this.plainColumns) return this.pos - this.lineStart;
    this.countTo();
    return this.cIndex;
  }

  private countTo(): void {
    if (this.cLine !== this.line || this.cPos > this.pos) {
      this.cLine = this.line;
      this.cPos = this.lineStart;
      this.cColumn = 0;
      this.cIndex = 0;
    }
    const t = this.text;
    for (let p = this.cPos; p < this.pos; p++) {
      const c = t.charCodeAt(p);
      if (c >= 0xdc00 && c <= 0xdfff) continue; // second half of a surrogate pair
      this.cIndex++;
      if (c !== 0xfeff) this.cColumn++; // PyYAML's reader does not count a BOM as a column
    }
    this.cPos = this.pos;
  }

  /** Consume one line break if there is one: '\n' for \r\n, \r, \n and NEL; LS and PS as themselves; '' if none. */
  private lineBreak(): string {
    const c = this.at(this.pos);
    let out: string;
    if (c === 13) {
      this.pos += this.at(this.pos + 1) === 10 ? 2 : 1;
      out = '\n';
    } else if (c === 10 || c === 0x85) {
      this.pos++;
      out = '\n';
    } else if (c === 0x2028 || c === 0x2029) {
      this.pos++;
      out = String.fromCharCode(c);
    } else {
      return '';
    }
    this.line++;
    this.lineStart = this.pos;
    return out;
  }

  /**
   * Line breaks with nothing between them (empty lines), from the position,
   * consumed in one native scan: each reads as '\n', as lineBreak() reads
   * it; '' when the position is not at a break. In a scalar every empty line
   * is one break of its value, so 15 MiB of them, taken a line at a time,
   * were ten seconds and an array of fifteen million strings.
   */
  private breakRun(): string {
    BREAK_RUN.lastIndex = this.pos;
    if (!BREAK_RUN.test(this.text)) return '';
    const run = this.text.slice(this.pos, BREAK_RUN.lastIndex);
    this.pos = BREAK_RUN.lastIndex;
    this.line++;
    this.lineStart = this.pos;
    return this.lfOnly ? run : run.replaceAll('\r\n', '\n').replaceAll('\r', '\n').replaceAll('\x85', '\n');
  }

  // --- the token queue and simple keys ---

  private needMoreTokens(): boolean {
    if (this.done) return false;
    if (this.head === this.queue.length) return true;
    if (this.keys.length === 0) return false;
    // The next token may be a simple key whose ':' is still to come.
    this.staleSimpleKeys();
    return this.nextSimpleKey() === this.tokensTaken;
  }

  private nextSimpleKey(): number {
    let min = -1;
    for (const key of this.keys) if (min < 0 || key.tokenNumber < min) min = key.tokenNumber;
    return min;
  }

  /** Forget keys that can no longer be simple keys: on an earlier line, or more than 1024 characters back. */
  private staleSimpleKeys(): void {
    for (let i = this.keys.length - 1; i >= 0; i--) {
      const key = this.keys[i]!;
      if (key.line !== this.line || this.index() - key.index > 1024) {
        if (key.required) throw this.fail("could not find expected ':'", 'while scanning a simple key', key.pos);
        this.dropKey(i);
      }
    }
  }

  private keyIndex(level: number): number {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i]!.level === level) return i;
    return -1;
  }

  private dropKey(i: number): void {
    const last = this.keys.pop()!;
    if (i < this.keys.length) {
      this.spareKeys.push(this.keys[i]!);
      this.keys[i] = last;
    } else {
      this.spareKeys.push(last);
    }
  }

  private saveSimpleKey(): void {
    if (!this.allowSimpleKey) return;
    const column = this.column();
    const required = this.flowLevel === 0 && this.indent === column;
    this.removeSimpleKey();
    const key = this.spareKeys.pop() ?? { level: 0, tokenNumber: 0, required: false, pos: 0, line: 0, index: 0, column: 0 };
    key.level = this.flowLevel;
    key.tokenNumber = this.tokensTaken + this.queue.length - this.head;
    key.required = required;
    key.pos = this.pos;
    key.line = this.line;
    key.index = this.plainColumns ? column : this.index();
    key.column = column;
    this.keys.push(key);
  }

  private removeSimpleKey(): void {
    if (this.keys.length === 0) return;
    const i = this.keyIndex(this.flowLevel);
    if (i < 0) return;
    const key = this.keys[i]!;
    if (key.required) throw this.fail("could not find expected ':'", 'while scanning a simple key', key.pos);
    this.dropKey(i);
  }

  // --- indentation ---

  private unwindIndent(column: number): void {
    if (this.flowLevel !== 0) return; // indentation means nothing inside [ ] and { }
    while (this.indent > column) {
      this.queue.push(token(T.BlockEnd, this.pos, this.pos));
      this.indent = this.indents.pop()!;
    }
  }

  private addIndent(column: number): boolean {
    if (this.indent >= column) return false;
    if (this.indents.length >= this.maxDepth) throw this.fail(`nested more than ${this.maxDepth} levels deep: flatten the document`);
    this.indents.push(this.indent);
    this.indent = column;
    return true;
  }

  // --- fetching ---

  private fetchMoreTokens(): void {
    this.skipToToken();
    if (this.keys.length !== 0) this.staleSimpleKeys();
    const column = this.column();
    if (this.indent > column) this.unwindIndent(column);
    const c = this.at(this.pos);
    // Letters and digits can only start a plain scalar: the common case first.
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90)) return this.fetchPlain();
    const next = this.at(this.pos + 1);
    switch (c) {
      case 0: return this.fetchStreamEnd();
      case 37: /* % */ if (this.column() === 0) return this.fetchDirective(); break;
      case 45: /* - */
        if (this.column() === 0 && this.isDocumentMarker(45)) return this.fetchDocumentIndicator(T.DocumentStart);
        if (isBlankOrEnd(next)) return this.fetchBlockEntry();
        break;
      case 46: /* . */ if (this.column() === 0 && this.isDocumentMarker(46)) return this.fetchDocumentIndicator(T.DocumentEnd); break;
      case 91: return this.fetchFlowCollectionStart(T.FlowSequenceStart);
      case 123: return this.fetchFlowCollectionStart(T.FlowMappingStart);
      case 93: return this.fetchFlowCollectionEnd(T.FlowSequenceEnd);
      case 125: return this.fetchFlowCollectionEnd(T.FlowMappingEnd);
      case 44: return this.fetchFlowEntry();
      case 63: /* ? */ if (this.flowLevel !== 0 || isBlankOrEnd(next)) return this.fetchKey(); break;
      case 58: /* : */ if (this.flowLevel !== 0 || isBlankOrEnd(next)) return this.fetchValue(); break;
      case 42: return this.fetchAnchor(T.Alias);
      case 38: return this.fetchAnchor(T.Anchor);
      case 33: return this.fetchTag();
      case 124: case 62: /* | > */ if (this.flowLevel === 0) return this.fetchBlockScalar(c); break;
      case 39: case 34: return this.fetchFlowScalar(c);
    }
    if (this.isPlainStart(c, next)) return this.fetchPlain();
    throw this.fail(`found character ${pyRepr(c)} that cannot start any token`, 'while scanning for the next token');
  }

  /** '---' or '...' at the current position, followed by a blank or the end. */
  private isDocumentMarker(c: number): boolean {
    return this.at(this.pos + 1) === c && this.at(this.pos + 2) === c && isBlankOrEnd(this.at(this.pos + 3));
  }

  private isPlainStart(c: number, next: number): boolean {
    if (!isBlankOrEnd(c) && !NOT_PLAIN_START.has(c)) return true;
    return !isBlankOrEnd(next) && (c === 45 || (this.flowLevel === 0 && (c === 63 || c === 58)));
  }

  private fetchStreamEnd(): void {
    this.unwindIndent(-1);
    this.removeSimpleKey();
    this.allowSimpleKey = false;
    this.keys.length = 0;
    this.queue.push(token(T.StreamEnd, this.pos, this.pos));
    this.done = true;
  }

  private fetchDirective(): void {
    this.unwindIndent(-1);
    this.removeSimpleKey();
    this.allowSimpleKey = false;
    this.queue.push(this.scanDirective());
  }

  private fetchDocumentIndicator(kind: TokenKind): void {
    this.unwindIndent(-1);
    this.removeSimpleKey(); // no block collection can follow '---' on its line
    this.allowSimpleKey = false;
    const start = this.pos;
    this.pos += 3;
    this.queue.push(token(kind, start, this.pos));
  }

  private fetchFlowCollectionStart(kind: TokenKind): void {
    this.saveSimpleKey(); // '[' and '{' may start a simple key
    this.flowLevel++;
    if (this.flowLevel > this.maxDepth) throw this.fail(`nested more than ${this.maxDepth} levels deep: flatten the document`);
    this.allowSimpleKey = true;
    this.queue.push(token(kind, this.pos, ++this.pos));
  }

  private fetchFlowCollectionEnd(kind: TokenKind): void {
    this.removeSimpleKey();
    // Like PyYAML, an unmatched ']' makes the level negative; the parser reports it.
    this.flowLevel--;
    this.allowSimpleKey = false;
    this.queue.push(token(kind, this.pos, ++this.pos));
  }

  private fetchFlowEntry(): void {
    this.allowSimpleKey = true;
    this.removeSimpleKey();
    this.queue.push(token(T.FlowEntry, this.pos, ++this.pos));
  }

  private fetchBlockEntry(): void {
    if (this.flowLevel === 0) {
      if (!this.allowSimpleKey) throw this.fail('sequence entries are not allowed here');
      if (this.addIndent(this.column())) this.queue.push(token(T.BlockSequenceStart, this.pos, this.pos));
    } // in flow context '- ' is an error the parser reports
    this.allowSimpleKey = true;
    this.removeSimpleKey();
    this.queue.push(token(T.BlockEntry, this.pos, ++this.pos));
  }

  private fetchKey(): void {
    if (this.flowLevel === 0) {
      if (!this.allowSimpleKey) throw this.fail('mapping keys are not allowed here');
      if (this.addIndent(this.column())) this.queue.push(token(T.BlockMappingStart, this.pos, this.pos));
    }
    this.allowSimpleKey = this.flowLevel === 0;
    this.removeSimpleKey();
    this.queue.push(token(T.Key, this.pos, ++this.pos));
  }

  private fetchValue(): void {
    const i = this.keys.length === 0 ? -1 : this.keyIndex(this.flowLevel);
    if (i >= 0) {
      // The pending simple key is a key after all: put KEY (and maybe BLOCK-MAPPING-START) before it.
      const key = this.keys[i]!;
      this.dropKey(i);
      const at = this.head + key.tokenNumber - this.tokensTaken;
      this.insertToken(at, token(T.Key, key.pos, key.pos));
      if (this.flowLevel === 0 && this.addIndent(key.column)) {
        this.insertToken(at, token(T.BlockMappingStart, key.pos, key.pos));
      }
      this.allowSimpleKey = false; // no two simple keys in a row
    } else {
      if (this.flowLevel === 0) {
        if (!this.allowSimpleKey) throw this.fail('mapping values are not allowed here');
        if (this.addIndent(this.column())) this.queue.push(token(T.BlockMappingStart, this.pos, this.pos));
      }
      this.allowSimpleKey = this.flowLevel === 0;
      this.removeSimpleKey();
    }
    this.queue.push(token(T.Value, this.pos, ++this.pos));
  }

  /** Put `t` at queue index `at` (usually just before the last token). */
  private insertToken(at: number, t: Token): void {
    const q = this.queue;
    q.push(t);
    for (let i = q.length - 1; i > at; i--) q[i] = q[i - 1]!;
    q[at] = t;
  }

  private fetchAnchor(kind: TokenKind): void {
    this.saveSimpleKey();
    this.allowSimpleKey = false;
    this.queue.push(this.scanAnchor(kind));
  }

  private fetchTag(): void {
    this.saveSimpleKey();
    this.allowSimpleKey = false;
    this.queue.push(this.scanTag());
  }

  private fetchBlockScalar(style: number): void {
    this.allowSimpleKey = true; // a simple key may follow a block scalar
    this.removeSimpleKey();
    this.queue.push(this.scanBlockScalar(style));
  }

  private fetchFlowScalar(style: number): void {
    this.saveSimpleKey();
    this.allowSimpleKey = false;
    this.queue.push(this.scanFlowScalar(style));
  }

  private fetchPlain(): void {
    this.saveSimpleKey();
    this.allowSimpleKey = false; // scanPlain sets it again when it ends at a line start
    this.queue.push(this.scanPlain());
  }

  // --- scanning ---

  /** Skip spaces, comments and line breaks (a break in block context allows a simple key). Never tabs. */
  private skipToToken(): void {
    const t = this.text;
    if (this.pos === 0 && t.charCodeAt(0) === 0xfeff) this.pos++; // a BOM only at the very start
    for (;;) {
      const p = this.pos = spacesEnd(t, this.pos);
      const c = t.charCodeAt(p);
      if (c === 35) this.skipComment();
      else if (c !== 10 && c !== 13 && c !== 0x85 && c !== 0x2028 && c !== 0x2029) return;
      else if (isBreak(t.charCodeAt(p + 1)) || t.charCodeAt(p + 1) === 32) {
        this.skipBlankLines();
        continue;
      }
      if (this.lineBreak() === '') return;
      if (this.flowLevel === 0) this.allowSimpleKey = true;
    }
  }

  /**
   * From a line break: the blank lines after it (spaces and breaks only) in
   * one native scan, then one step of `line` (which only tells lines apart:
   * positions in messages come from Source.mark). 15 MiB of empty lines took
   * five seconds a line at a time.
   */
  private skipBlankLines(): void {
    const t = this.text;
    BLANK_RUN.lastIndex = this.pos;
    BLANK_RUN.test(t);
    const end = BLANK_RUN.lastIndex;
    // The last line starts after the last break of the run (its spaces are indentation).
    let start = end;
    while (start > this.pos && t.charCodeAt(start - 1) === 32) start--;
    this.pos = end;
    this.line++;
    this.lineStart = start;
    if (this.flowLevel === 0) this.allowSimpleKey = true;
  }

  /** To the end of the line (not past its break). */
  private skipComment(): void {
    if (this.lfOnly) {
      const end = this.text.indexOf('\n', this.pos);
      this.pos = end < 0 ? this.text.length : end;
    } else {
      TO_BREAK.lastIndex = this.pos;
      TO_BREAK.test(this.text);
      this.pos = TO_BREAK.lastIndex;
    }
  }

  private skipSpaces(): void {
    this.pos = spacesEnd(this.text, this.pos);
  }

  private scanDirective(): Token {
    const start = this.pos;
    const context = 'while scanning a directive';
    this.pos++;
    const name = this.scanDirectiveName(start);
    const t = token(T.Directive, start, start, name);
    if (name === 'YAML') {
      this.skipSpaces();
      const major = this.scanVersionNumber(start);
      if (this.at(this.pos) !== 46) throw this.fail(`expected a digit or '.', but found ${pyRepr(this.at(this.pos))}`, context, start);
      this.pos++;
      const minor = this.scanVersionNumber(start);
      if (!isBreakOrEnd(this.at(this.pos)) && this.at(this.pos) !== 32) {
        throw this.fail(`expected a digit or ' ', but found ${pyRepr(this.at(this.pos))}`, context, start);
      }
      t.prefix = `${major}.${minor}`;
    } else if (name === 'TAG') {
      this.skipSpaces();
      t.handle = this.scanTagHandle('directive', start);
      if (this.at(this.pos) !== 32) throw this.fail(`expected ' ', but found ${pyRepr(this.at(this.pos))}`, context, start);
      this.skipSpaces();
      t.prefix = this.scanTagUri('directive', start);
      if (!isBreakOrEnd(this.at(this.pos)) && this.at(this.pos) !== 32) {
        throw this.fail(`expected ' ', but found ${pyRepr(this.at(this.pos))}`, context, start);
      }
    } else {
      t.end = this.pos;
      this.skipComment(); // other directives are ignored, with the rest of their line
    }
    if (name === 'YAML' || name === 'TAG') t.end = this.pos;
    // The rest of the line: spaces, maybe a comment, then the break.
    this.skipSpaces();
    if (this.at(this.pos) === 35) this.skipComment();
    if (!isBreakOrEnd(this.at(this.pos))) {
      throw this.fail(`expected a comment or a line break, but found ${pyRepr(this.at(this.pos))}`, context, start);
    }
    this.lineBreak();
    return t;
  }

  private scanDirectiveName(start: number): string {
    const from = this.pos;
    while (isWordChar(this.at(this.pos))) this.pos++;
    const c = this.at(this.pos);
    if (this.pos === from || (!isBreakOrEnd(c) && c !== 32)) {
      throw this.fail(`expected alphabetic or numeric character, but found ${pyRepr(c)}`, 'while scanning a directive', start);
    }
    return this.text.slice(from, this.pos);
  }

  private scanVersionNumber(start: number): number {
    const from = this.pos;
    while (this.at(this.pos) >= 48 && this.at(this.pos) <= 57) this.pos++;
    if (this.pos === from) throw this.fail(`expected a digit, but found ${pyRepr(this.at(this.pos))}`, 'while scanning a directive', start);
    return Number(this.text.slice(from, this.pos));
  }

  private scanAnchor(kind: TokenKind): Token {
    const start = this.pos;
    const context = kind === T.Alias ? 'while scanning an alias' : 'while scanning an anchor';
    this.pos++;
    const from = this.pos;
    while (isWordChar(this.at(this.pos))) this.pos++;
    const c = this.at(this.pos);
    if (this.pos === from || !(isBlankOrEnd(c) || AFTER_ANCHOR.has(c))) {
      throw this.fail(`expected alphabetic or numeric character, but found ${pyRepr(c)}`, context, start);
    }
    return token(kind, start, this.pos, this.text.slice(from, this.pos));
  }

  private scanTag(): Token {
    const start = this.pos;
    const next = this.at(this.pos + 1);
    let handle: string | null;
    let suffix: string;
    if (next === 60) { // !<verbatim>
      handle = null;
      this.pos += 2;
      suffix = this.scanTagUri('tag', start);
      if (this.at(this.pos) !== 62) throw this.fail(`expected '>', but found ${pyRepr(this.at(this.pos))}`, 'while parsing a tag', start);
      this.pos++;
    } else if (isBlankOrEnd(next)) { // '!' alone: the non-specific tag
      handle = null;
      suffix = '!';
      this.pos++;
    } else {
      // '!handle!suffix' if another '!' comes before a space (tabs do not stop the search), else '!suffix'.
      let p = this.pos + 1;
      let c = next;
      while (c !== 0 && c !== 32 && !isBreak(c) && c !== 33) c = this.at(++p);
      if (c === 33) {
        handle = this.scanTagHandle('tag', start);
      } else {
        handle = '!';
        this.pos++;
      }
      suffix = this.scanTagUri('tag', start);
    }
    const c = this.at(this.pos);
    if (!isBreakOrEnd(c) && c !== 32) throw this.fail(`expected ' ', but found ${pyRepr(c)}`, 'while scanning a tag', start);
    const t = token(T.Tag, start, this.pos, suffix);
    t.handle = handle;
    return t;
  }

  private scanTagHandle(name: string, start: number): string {
    const context = `while scanning a ${name}`;
    if (this.at(this.pos) !== 33) throw this.fail(`expected '!', but found ${pyRepr(this.at(this.pos))}`, context, start);
    let p = this.pos + 1;
    if (this.at(p) !== 32) {
      while (isWordChar(this.at(p))) p++;
      if (this.at(p) !== 33) {
        this.pos = p;
        throw this.fail(`expected '!', but found ${pyRepr(this.at(p))}`, context, start);
      }
      p++;
    }
    const handle = this.text.slice(this.pos, p);
    this.pos = p;
    return handle;
  }

  private scanTagUri(name: string, start: number): string {
    let out = '';
    let from = this.pos;
    for (let c = this.at(this.pos); isUriChar(c); c = this.at(this.pos)) {
      if (c === 37) {
        out += this.text.slice(from, this.pos) + this.scanUriEscapes(name, start);
        from = this.pos;
      } else {
        this.pos++;
      }
    }
    out += this.text.slice(from, this.pos);
    if (out === '') throw this.fail(`expected URI, but found ${pyRepr(this.at(this.pos))}`, `while parsing a ${name}`, start);
    return out;
  }

  /** %XX escapes in a tag: bytes, read as UTF-8. */
  private scanUriEscapes(name: string, start: number): string {
    const from = this.pos;
    const bytes: number[] = [];
    while (this.at(this.pos) === 37) {
      this.pos++;
      for (let k = 0; k < 2; k++) {
        const c = this.at(this.pos + k);
        if (!isHex(c)) {
          throw this.fail(`expected URI escape sequence of 2 hexadecimal numbers, but found ${pyRepr(c)}`, `while scanning a ${name}`, start);
        }
      }
      bytes.push(parseInt(this.text.slice(this.pos, this.pos + 2), 16));
      this.pos += 2;
    }
    const decoded = decodeUtf8(bytes);
    if (decoded === null) throw this.fail("'utf-8' codec can't decode the escaped bytes", `while scanning a ${name}`, start, from);
    return decoded;
  }

  private scanBlockScalar(style: number): Token {
    const folded = style === 62;
    const start = this.pos;
    const context = 'while scanning a block scalar';
    this.pos++;
    // The header: chomping (+ keep, - strip) and an indentation indicator 1-9, in either order.
    let chomping: boolean | null = null;
    let increment: number | null = null;
    for (let i = 0; i < 2; i++) {
      const c = this.at(this.pos);
      if ((c === 43 || c === 45) && chomping === null) {
        chomping = c === 43;
        this.pos++;
      } else if (c >= 48 && c <= 57 && increment === null) {
        if (c === 48) throw this.fail('expected indentation indicator in the range 1-9, but found 0', context, start);
        increment = c - 48;
        this.pos++;
      } else {
        break;
      }
    }
    let c = this.at(this.pos);
    if (!isBreakOrEnd(c) && c !== 32) throw this.fail(`expected chomping or indentation indicators, but found ${pyRepr(c)}`, context, start);
    this.skipSpaces();
    if (this.at(this.pos) === 35) this.skipComment();
    c = this.at(this.pos);
    if (!isBreakOrEnd(c)) throw this.fail(`expected a comment or a line break, but found ${pyRepr(c)}`, context, start);
    this.lineBreak();

    const minIndent = Math.max(this.indent + 1, 1);
    let indent: number;
    let breaks: string;
    let end: number;
    if (increment === null) {
      // Auto-detect: the indentation of the first non-empty line (at least minIndent).
      breaks = '';
      let maxIndent = 0;
      end = this.pos;
      for (;;) {
        const d = this.at(this.pos);
        if (d === 32) {
          this.pos++;
          // Only spaces since the line start: the column is the offset in the line.
          if (this.pos - this.lineStart > maxIndent) maxIndent = this.pos - this.lineStart;
        } else if (isBreak(d)) {
          breaks += this.breakRun() || this.lineBreak();
          end = this.pos;
        } else {
          break;
        }
      }
      indent = Math.max(minIndent, maxIndent);
    } else {
      indent = minIndent + increment - 1;
      [breaks, end] = this.scanBlockBreaks(indent);
    }

    // Here and in scanBlockBreaks the position is always after spaces at a
    // line start, so its column is its offset in the line.
    const chunks: string[] = [];
    let lineBreak = '';
    while (this.pos - this.lineStart === indent && this.at(this.pos) !== 0) {
      chunks.push(breaks);
      const first = this.at(this.pos);
      const leadingNonSpace = first !== 32 && first !== 9;
      const from = this.pos;
      this.skipComment(); // to the line break
      chunks.push(this.text.slice(from, this.pos));
      lineBreak = this.lineBreak();
      [breaks, end] = this.scanBlockBreaks(indent);
      if (this.pos - this.lineStart !== indent || this.at(this.pos) === 0) break;
      // Folding: a single line break between two lines that start with a
      // non-space becomes a space; more breaks keep all but the first.
      const d = this.at(this.pos);
      if (folded && lineBreak === '\n' && leadingNonSpace && d !== 32 && d !== 9) {
        if (breaks.length === 0) chunks.push(' ');
      } else {
        chunks.push(lineBreak);
      }
    }
    // Chomping: strip drops the final break, clip keeps it, keep keeps the trailing empty lines too.
    if (chomping !== false) chunks.push(lineBreak);
    if (chomping === true) chunks.push(breaks);
    return token(T.Scalar, start, end, chunks.join(''), style);
  }

  /** Empty lines inside a block scalar, and the indentation of the next line (up to `indent`). */
  private scanBlockBreaks(indent: number): [string, number] {
    let breaks = '';
    let end = this.pos;
    while (this.at(this.pos) === 32 && this.pos - this.lineStart < indent) this.pos++;
    while (isBreak(this.at(this.pos))) {
      breaks += this.breakRun() || this.lineBreak();
      end = this.pos;
      while (this.at(this.pos) === 32 && this.pos - this.lineStart < indent) this.pos++;
    }
    return [breaks, end];
  }

  private scanFlowScalar(style: number): Token {
    const double = style === 34;
    const start = this.pos;
    const t = this.text;
    let out = '';
    this.pos++;
    for (;;) {
      const from = this.pos;
      QUOTED_RUN.lastIndex = from;
      if (QUOTED_RUN.test(t)) this.pos = QUOTED_RUN.lastIndex;
      const c = this.at(this.pos);
      if (c === style && !(c === 39 && this.at(this.pos + 1) === 39)) { // the closing quote
        out += t.slice(from, this.pos);
        break;
      }
      if (c === 39 || c === 34 || c === 92) {
        out += t.slice(from, this.pos);
        if (!double && c === 39) { // '' in single quotes
          out += "'";
          this.pos += 2;
        } else if (!double || c === 39) { // the other quote, or a backslash in single quotes
          out += String.fromCharCode(c);
          this.pos++;
        } else {
          out += this.scanEscape(start);
        }
        continue;
      }
      // A line break or the end: the spaces before it are dropped.
      let keep = this.pos;
      while (keep > from && (t.charCodeAt(keep - 1) === 32 || t.charCodeAt(keep - 1) === 9)) keep--;
      out += t.slice(from, keep);
      if (c === 0) throw this.fail('found unexpected end of stream', 'while scanning a quoted scalar', start);
      // One line break folds into a space; more breaks are kept, one less.
      const lineBreak = this.lineBreak();
      const breaks = this.scanQuotedBreaks(start);
      out += lineBreak !== '\n' ? lineBreak + breaks : breaks === '' ? ' ' : breaks;
    }
    this.pos++;
    return token(T.Scalar, start, this.pos, out, style);
  }

  /** A double-quoted escape, the position at its backslash: what it stands for. */
  private scanEscape(start: number): string {
    const t = this.text;
    const context = 'while scanning a double-quoted scalar';
    this.pos++;
    const e = this.at(this.pos);
    const ch = String.fromCharCode(e);
    const simple = e === 0 ? undefined : ESCAPES[ch];
    if (simple !== undefined) {
      this.pos++;
      return simple;
    }
    if (e === 120 || e === 117 || e === 85) {
      const length = HEX_ESCAPES[ch]!;
      this.pos++;
      for (let k = 0; k < length; k++) {
        const d = this.at(this.pos + k);
        if (!isHex(d)) throw this.fail(`expected escape sequence of ${length} hexadecimal numbers, but found ${pyRepr(d)}`, context, start);
      }
      const hex = t.slice(this.pos, this.pos + length);
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) throw this.fail(`escape \\${ch}${hex} is not a Unicode character`, context, start);
      this.pos += length;
      return String.fromCodePoint(code);
    }
    if (isBreak(e)) { // an escaped line break joins the lines without a space
      this.lineBreak();
      return this.scanQuotedBreaks(start);
    }
    throw this.fail(`found unknown escape character ${pyRepr(e)}`, context, start);
  }

  /** Line breaks after the first inside quotes, and the indentation of the next line; a document marker there is an error. */
  private scanQuotedBreaks(start: number): string {
    let breaks = '';
    for (;;) {
      const c = this.at(this.pos);
      if ((c === 45 || c === 46) && this.isDocumentMarker(c)) {
        throw this.fail('found unexpected document separator', 'while scanning a quoted scalar', start);
      }
      while (this.at(this.pos) === 32 || this.at(this.pos) === 9) this.pos++;
      if (!isBreak(this.at(this.pos))) return breaks;
      breaks += this.breakRun() || this.lineBreak();
    }
  }

  private scanPlain(): Token {
    const start = this.pos;
    let end = start;
    const indent = this.indent + 1;
    const flow = this.flowLevel !== 0;
    const t = this.text;
    // The value is `folded` (the text before the last line fold) + the source from `run` to `end`.
    let folded = '';
    let run = start;
    this.fold = null;
    for (;;) {
      // This line's words, and the spaces between them, as they are.
      const wordsEnd = this.scanWords(flow);
      if (wordsEnd === this.pos) break;
      if (this.fold !== null) { // the words before were on an earlier line
        folded += t.slice(run, end) + this.fold;
        run = this.pos;
      }
      this.pos = end = wordsEnd;
      this.allowSimpleKey = false;
      const spaces = this.scanPlainSpaces();
      if (spaces <= 0 || this.fold === null || this.at(this.pos) === 35 || (!flow && this.column() < indent)) break;
    }
    return token(T.Scalar, start, end, folded + t.slice(run, end), PLAIN);
  }

  /**
   * Where the words of a plain scalar on this line end (the position itself
   * if none starts here). A word does not start with '#'; ':' is part of it
   * unless a blank (in flow context also , [ ] { }) follows; in flow context
   * , ? [ ] { } end it. Short words are read here; past 24 characters the
   * rest of the line is left to a regular expression (same rules), faster
   * for long values in an interpreter.
   */
  private scanWords(flow: boolean): number {
    const t = this.text;
    const start = this.pos;
    let p = start;
    let end = start;
    for (;;) {
      // A word: its first character cannot be '#'.
      const wordStart = p;
      let c = t.charCodeAt(p);
      if (c === 35) return end;
      for (;;) {
        if (!(c > 32) || c === 0x85 || c === 0x2028 || c === 0x2029) break; // blank, break, the end
        if (c === 58) {
          const d = this.at(p + 1);
          if (isBlankOrEnd(d) || (flow && (d === 44 || d === 91 || d === 93 || d === 123 || d === 125))) break;
        } else if (flow && (c === 44 || c === 63 || c === 91 || c === 93 || c === 123 || c === 125)) {
          break;
        }
        if (++p - start > 24) {
          const rest = flow ? PLAIN_FLOW_REST : PLAIN_BLOCK_REST;
          rest.lastIndex = p;
          rest.test(t);
          return rest.lastIndex;
        }
        c = t.charCodeAt(p);
      }
      if (p === wordStart) return end; // no word after the spaces: they are not part of the scalar
      end = p;
      p = spacesEnd(t, p);
      if (p === end) return end;
    }
  }

  /** After scanPlainSpaces: what a line fold between two words reads as, or null if they are on one line. */
  private fold: string | null = null;

  /**
   * The spaces after a word of a plain scalar: 1 if the next word may follow
   * (on this line: the spaces are kept; on a later line: `fold` says what
   * they read as — one break is a space, more breaks are kept, one less),
   * 0 if none, -1 if a document marker follows, which ends the scalar.
   */
  private scanPlainSpaces(): number {
    const t = this.text;
    const from = this.pos;
    this.fold = null;
    this.pos = spacesEnd(t, this.pos); // only spaces: a tab ends a plain scalar
    const c = t.charCodeAt(this.pos);
    if (!isBreak(c)) return this.pos > from ? 1 : 0;
    const lineBreak = this.lineBreak();
    this.allowSimpleKey = true;
    if (this.atDocumentMarker()) return -1;
    let breaks = '';
    for (;;) {
      const d = t.charCodeAt(this.pos);
      if (d === 32) {
        this.pos++;
      } else if (isBreak(d)) {
        breaks += this.breakRun() || this.lineBreak();
        if (this.atDocumentMarker()) return -1;
      } else {
        break;
      }
    }
    this.fold = (lineBreak !== '\n' ? lineBreak : breaks === '' ? ' ' : '') + breaks;
    return 1;
  }

  private atDocumentMarker(): boolean {
    const c = this.at(this.pos);
    return (c === 45 || c === 46) && this.isDocumentMarker(c);
  }
}

/** Strict UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF), or null. */
function decodeUtf8(bytes: number[]): string | null {
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!;
    let need: number;
    let cp: number;
    let min: number;
    if (b < 0x80) { out += String.fromCharCode(b); i++; continue; }
    if (b >= 0xc2 && b <= 0xdf) { need = 1; cp = b & 0x1f; min = 0x80; }
    else if (b >= 0xe0 && b <= 0xef) { need = 2; cp = b & 0x0f; min = 0x800; }
    else if (b >= 0xf0 && b <= 0xf4) { need = 3; cp = b & 0x07; min = 0x10000; }
    else return null;
    for (let k = 1; k <= need; k++) {
      const n = bytes[i + k];
      if (n === undefined || (n & 0xc0) !== 0x80) return null;
      cp = (cp << 6) | (n & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}
