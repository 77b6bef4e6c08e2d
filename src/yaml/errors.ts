// Errors and positions. Every stage of the parser knows where it is as a
// UTF-16 offset into the text; this file turns an offset into the 1-based
// line and column PyYAML prints for the same spot (its problem_mark + 1), so
// a user reading either program's message finds the same character.

/** A document ec2-init will not read: where, and why. */
export class YamlError extends Error {
  /** 1-based, counted as PyYAML counts (\r\n, \r, \n, NEL, LS and PS end a line). */
  readonly line: number;
  /** 1-based, in code points (a character outside the BMP is one column). */
  readonly column: number;
  /** What is wrong, without the position: "mapping values are not allowed here". */
  readonly reason: string;
  constructor(line: number, column: number, reason: string) {
    super(`invalid YAML at line ${line}, column ${column}: ${reason}`);
    this.name = 'YamlError';
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}

/** 0-based line and column, as in PyYAML's Mark. */
export interface Mark { line: number; column: number }

/** True for the characters PyYAML's scanner treats as line breaks. */
export function isBreak(c: number): boolean {
  return c === 10 || c === 13 || c === 0x85 || c === 0x2028 || c === 0x2029;
}

/**
 * The text being parsed, with lazy offset → line/column conversion: the line
 * table is built only when an error or a position is asked for, so a
 * document that parses costs nothing here.
 */
export class Source {
  readonly text: string;
  private lineStarts: number[] | null = null;

  constructor(text: string) {
    this.text = text;
  }

  mark(offset: number): Mark {
    const starts = this.lineStarts ??= this.buildLineStarts();
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid; else hi = mid - 1;
    }
    let column = 0;
    for (let p = starts[lo]!; p < offset && p < this.text.length; p++) {
      const c = this.text.charCodeAt(p);
      // The second half of a surrogate pair is the same character; PyYAML's
      // reader does not advance the column over a byte order mark.
      if ((c < 0xdc00 || c > 0xdfff) && c !== 0xfeff) column++;
    }
    return { line: lo, column };
  }

  /** A YamlError at `offset`; `context` says what was being read, and from where. */
  error(offset: number, problem: string, context?: string, contextOffset?: number): YamlError {
    const at = this.mark(offset);
    let reason = problem;
    if (context !== undefined) {
      const from = contextOffset === undefined ? null : this.mark(contextOffset);
      reason += from && (from.line !== at.line || from.column !== at.column)
        ? ` (${context} at line ${from.line + 1}, column ${from.column + 1})`
        : ` (${context})`;
    }
    return new YamlError(at.line + 1, at.column + 1, reason);
  }

  private buildLineStarts(): number[] {
    const t = this.text;
    const starts = [0];
    for (let p = 0; p < t.length; p++) {
      const c = t.charCodeAt(p);
      if (c === 13 && t.charCodeAt(p + 1) === 10) continue; // \r\n: the line ends at the \n
      if (isBreak(c)) starts.push(p + 1);
    }
    return starts;
  }
}

/** A character the way Python's repr() shows it in PyYAML's messages: 'x', '\t', '\x00'. */
export function pyRepr(c: number): string {
  if (c === 9) return "'\\t'";
  if (c === 10) return "'\\n'";
  if (c === 13) return "'\\r'";
  if (c === 39) return `"'"`;
  if (c === 92) return "'\\\\'";
  if (c < 0x20 || (c >= 0x7f && c <= 0xa0)) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  if (c >= 0xd800 && c <= 0xdfff) return `'\\u${c.toString(16)}'`;
  return `'${String.fromCharCode(c)}'`;
}

/**
 * Anything but the common characters (tab, \n, printable ASCII, the BMP
 * outside surrogates and the BOM), found in one pass: what PyYAML's reader
 * refuses, and what makes columns or line breaks need care.
 */
// eslint-disable-next-line no-control-regex
const SPECIAL = /[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]/g;

/** What the text holds besides the common characters. */
export interface Characters {
  /** No surrogate pair and no BOM: a column is an offset in its line. */
  plainColumns: boolean;
  /** Lines end with \n only (no \r, NEL, LS or PS). */
  lfOnly: boolean;
}

/**
 * PyYAML's reader refuses a document with a character outside the printable
 * set (controls other than tab and line breaks, lone surrogates, U+FFFE and
 * U+FFFF), anywhere, before reading anything: so does this.
 */
export function checkCharacters(src: Source): Characters {
  const t = src.text;
  let plainColumns = true;
  let lfOnly = t.indexOf('\r') < 0;
  SPECIAL.lastIndex = 0;
  for (let m = SPECIAL.exec(t); m !== null; m = SPECIAL.exec(t)) {
    const at = m.index;
    const c = t.charCodeAt(at);
    if (c >= 0xd800 && c <= 0xdbff && t.charCodeAt(at + 1) >= 0xdc00 && t.charCodeAt(at + 1) <= 0xdfff) {
      plainColumns = false; // a pair: one character outside the BMP
      SPECIAL.lastIndex = at + 2;
    } else if (c === 0xfeff) {
      plainColumns = false;
    } else if (c === 0x85 || c === 0x2028 || c === 0x2029) {
      lfOnly = false;
    } else {
      SPECIAL.lastIndex = 0;
      throw src.error(at, `unacceptable character #x${c.toString(16).padStart(4, '0')}: special characters are not allowed`);
    }
  }
  return { plainColumns, lfOnly };
}
