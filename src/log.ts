// The agent's log: every line goes to stderr (the journal / console at boot)
// and to /var/log/ec2-init.log under the root once the run knows where that is.
// Never log user-data, passwords or tokens: callers pass only what is safe.
import { writeStderr } from './host/process.ts';

export type Level = 'debug' | 'info' | 'warning' | 'error';
const ORDER: Record<Level, number> = { debug: 0, info: 1, warning: 2, error: 3 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A logger that writes lines at or above `threshold` to stderr and to `sink` (when set). */
export class LineLogger implements Logger {
  private readonly buffered: string[] = [];
  private sink: ((line: string) => void) | null = null;
  private readonly threshold: Level;
  constructor(threshold: Level = 'info') { this.threshold = threshold; }

  /** Attach the log file; lines logged before this are written to it first. */
  attach(sink: (line: string) => void): void {
    this.sink = sink;
    for (const line of this.buffered.splice(0)) sink(line);
  }

  debug(message: string): void { this.line('debug', message); }
  info(message: string): void { this.line('info', message); }
  warn(message: string): void { this.line('warning', message); }
  error(message: string): void { this.line('error', message); }

  private line(level: Level, message: string): void {
    if (ORDER[level] < ORDER[this.threshold]) return;
    const line = `${new Date().toISOString()} ${level.toUpperCase()}: ${escapeControls(message)}\n`;
    writeStderr(line);
    if (this.sink) this.sink(line); else this.buffered.push(line);
  }
}

/**
 * One log line per message, whatever the message holds: a newline or a
 * carriage return from user-data (a file name, a program's stderr) would
 * otherwise forge a line of its own, and terminal escapes would reach the
 * console. They are shown escaped (as \n, \x1b); tabs stay.
 */
export function escapeControls(message: string): string {
  return message.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}

/** An unexpected error with where it came from: V8's stack starts with the message, QuickJS's does not. */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const stack = e.stack ?? '';
  return stack.startsWith(`${e.name}: `) || stack.startsWith(e.message) ? stack : `${e.name}: ${e.message}\n${stack}`;
}

/** A logger that drops everything (unit tests, `plan`). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
