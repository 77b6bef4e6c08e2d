// An action is one effect a module has on the machine, as a value: write
// this file, run this program, fetch this URL. A module turns its checked
// config into a list of them (modules/module.ts); `plan` prints the list
// with each action's content digest, and boot applies exactly that list
// (apply-actions.ts) and logs each action as it takes it, in the same line,
// so the two can be compared. A line never shows content or arguments
// (they may carry what user-data gave): a digest stands for them.
import type { RunResult } from './run.ts';
import { sha256, utf8Encode } from './codecs.ts';

interface ActionBase {
  /**
   * Actions with the same unit are one piece of work (a user, a key type):
   * once one fails the rest of its unit is skipped, the other units still
   * run. Without a unit, a failure skips everything after it.
   */
  unit?: string;
  /** A few words for the operator ('create user alice'); never a secret. */
  why?: string;
  /**
   * Only on the running system (root /): under --root it is logged and
   * skipped. 'essential': it is the module's point (partitions, volumes),
   * so the module stays to do on the real boot (no semaphore is written).
   */
  runningSystem?: 'essential' | 'optional';
}

export interface Ownership { uid?: number; gid?: number }

export interface WriteAction extends ActionBase, Ownership {
  kind: 'write';
  path: string;
  content: string | Uint8Array;
  mode: number;
  /**
   * The time of writing (cloud-init's rfc2822, as its make_header gives it)
   * goes in at this character of a string content when applied: a header
   * "… on <date>". The digest is of the content without it, so plan and
   * boot agree.
   */
  stampAt?: number;
  /** Missing parent directories are made so (Files.write's parents). */
  parents?: { mode: number; uid?: number; gid?: number };
  deferSync?: boolean;
}
/** stampAt: as WriteAction's, in the text appended. */
export interface AppendAction extends ActionBase, Ownership {
  kind: 'append'; path: string; content: string | Uint8Array; mode: number; stampAt?: number;
  /** Missing parent directories are made so (as WriteAction's). */
  parents?: { mode: number; uid?: number; gid?: number };
}
export interface SymlinkAction extends ActionBase { kind: 'symlink'; path: string; target: string }
export interface MkdirAction extends ActionBase, Ownership { kind: 'mkdir'; path: string; mode: number }
/** tree: a directory with everything in it; otherwise a file or link (never a directory). */
export interface RemoveAction extends ActionBase { kind: 'remove'; path: string; tree?: boolean }
/** A semaphore (state/semaphore.ts's path): the time it is written, so its line has no digest. */
export interface MarkAction extends ActionBase { kind: 'mark'; path: string }
export interface ChmodAction extends ActionBase { kind: 'chmod'; path: string; mode: number }
export interface ChownAction extends ActionBase { kind: 'chown'; path: string; uid: number; gid: number }

export interface RunAction extends ActionBase {
  kind: 'run';
  argv: string[];
  input?: string | Uint8Array;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** What a failure (exit not 0, a signal, the timeout) is: an error (default), a warning, or nothing. */
  failure?: 'error' | 'warning' | 'ignore';
  /** With `then`: the output still goes to the output log, and `then` sees what it wrote there (its last 16 KiB) as stdout. */
  logOutput?: boolean;
  /**
   * What follows from the result (its output is captured for it unless logOutput): more
   * actions, applied right after and logged as following this one. `plan`
   * cannot know them and says so.
   */
  then?: (result: RunResult) => Action[];
  /**
   * Runs at the same time as the run actions right next to it that say so
   * too (ssh-keygen for each host key type): each is logged before they
   * start, and their results (failures, `then`) are taken in list order once
   * all have ended. The same line and digest as without it.
   */
  together?: boolean;
}

/** An HTTP(S) or file:// request through the one client (net/fetch.ts's policy); `then` gets the body or why there is none. */
export interface FetchAction extends ActionBase {
  kind: 'fetch';
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  maxBytes: number;
  /** Attempts after the first, pauseMs apart; a POST tries again on any failure or non-2xx answer. */
  retries: number;
  pauseMs: number;
  timeoutMs: number;
  failure?: 'error' | 'warning' | 'ignore';
  then?: (result: { body: Uint8Array } | { error: string }) => Action[];
}

/**
 * A program started on its own that outlives ec2-init (power_state's
 * shutdown waiter): not waited for, no result. It finds ec2-init's process
 * id in $EC2_INIT_PID (added by the applier, so not part of the digest).
 */
export interface DetachAction extends ActionBase { kind: 'detach'; argv: string[]; env: Record<string, string> }

/** Text for /dev/console on the running system, standard output elsewhere (cloud-init's multi_log fallback). */
export interface ConsoleAction extends ActionBase { kind: 'console'; text: string }
/**
 * A problem a result showed (apt-get update could not fetch a source): from
 * a `then`, since only the result tells. An error fails the unit as a failed
 * action does.
 */
export interface ReportAction extends ActionBase { kind: 'report'; level: 'error' | 'warning'; message: string }
/** Lines for the log (final_message's message): the log is where cloud-init's goes too. */
export interface LogAction extends ActionBase { kind: 'log'; text: string }

export type Action =
  | WriteAction | AppendAction | SymlinkAction | MkdirAction | RemoveAction | ChmodAction | ChownAction | MarkAction
  | RunAction | FetchAction | DetachAction | ConsoleAction | LogAction | ReportAction;

/** An action as `plan --format json` prints it: what and where, a digest for the content, no content. */
export interface ActionValue {
  kind: Action['kind'];
  /** The file, the program's name, the URL without its query. */
  target: string;
  mode?: string;
  owner?: string;
  /** sha256 of the content (write, append, console), of argv + input + env (run, detach), of the request (fetch). */
  sha256?: string;
  bytes?: number;
  why?: string;
  runningSystem?: 'essential' | 'optional';
  /** run/fetch with `then`: more actions follow from its result. */
  followed?: boolean;
  /** The line boot logs for it. */
  line: string;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const bytesOf = (c: string | Uint8Array) => (typeof c === 'string' ? utf8Encode(c) : c);
const octal = (mode: number) => mode.toString(8).padStart(4, '0');

/** sha256 of parts, each length-prefixed (so ['ab','c'] and ['a','bc'] differ). */
function digestOf(parts: Array<string | Uint8Array>): string {
  const chunks = parts.map(bytesOf);
  const total = chunks.reduce((n, c) => n + c.length + 9, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(utf8Encode(`${c.length.toString(16).padStart(8, '0')}:`), at);
    all.set(c, at + 9);
    at += c.length + 9;
  }
  return hex(sha256(all));
}

/** A program's name for a line: its file name, never its arguments. */
const programName = (argv: string[]) => (argv[0] ?? '').split('/').pop() ?? '';

/** A URL without what may be a secret (user, password, query, fragment). */
function urlTarget(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^@/]*@)?([^?#]*)/i.exec(url);
  return m ? `${m[1]}${m[2]}` : url.split(/[?#]/)[0]!;
}

export function actionValue(a: Action): ActionValue {
  const v: Omit<ActionValue, 'line'> = (() => {
    switch (a.kind) {
      case 'write': case 'append': {
        const c = bytesOf(a.content);
        return { kind: a.kind, target: a.path, mode: octal(a.mode), ...owner(a), sha256: hex(sha256(c)), bytes: c.length };
      }
      case 'symlink': return { kind: a.kind, target: `${a.path} -> ${a.target}` };
      case 'mkdir': return { kind: a.kind, target: a.path, mode: octal(a.mode), ...owner(a) };
      case 'remove': case 'mark': return { kind: a.kind, target: a.path };
      case 'chmod': return { kind: a.kind, target: a.path, mode: octal(a.mode) };
      case 'chown': return { kind: a.kind, target: a.path, owner: `${a.uid}:${a.gid}` };
      case 'run': {
        const env = Object.entries(a.env ?? {}).sort().map(([k, x]) => `${k}=${x}`);
        return { kind: a.kind, target: programName(a.argv), sha256: digestOf([...a.argv, '\0input', a.input ?? '', '\0env', ...env]), ...(a.then && { followed: true }) };
      }
      case 'detach': {
        const env = Object.entries(a.env).sort().map(([k, x]) => `${k}=${x}`);
        return { kind: a.kind, target: programName(a.argv), sha256: digestOf([...a.argv, '\0env', ...env]) };
      }
      case 'fetch': {
        const headers = Object.entries(a.headers ?? {}).sort().map(([k, x]) => `${k}: ${x}`);
        return { kind: a.kind, target: urlTarget(a.url), sha256: digestOf([a.method ?? 'GET', a.url, ...headers, '\0body', a.body ?? '']), ...(a.then && { followed: true }) };
      }
      case 'report': { const c = bytesOf(a.message); return { kind: a.kind, target: a.level, sha256: hex(sha256(c)), bytes: c.length }; }
      case 'console': case 'log': { const c = bytesOf(a.text); return { kind: a.kind, target: a.kind, sha256: hex(sha256(c)), bytes: c.length }; }
    }
  })();
  const full: Omit<ActionValue, 'line'> = { ...v, ...(a.why && { why: a.why }), ...(a.runningSystem && { runningSystem: a.runningSystem }) };
  return { ...full, line: lineOf(full) };
}

function owner(a: Ownership): { owner?: string } {
  return a.uid === undefined && a.gid === undefined ? {} : { owner: `${a.uid ?? 0}:${a.gid ?? 0}` };
}

/** 'write /etc/timezone 0644 4 B sha256:0f2a…': the same from plan and from boot's log. */
function lineOf(v: Omit<ActionValue, 'line'>): string {
  return [
    v.kind, v.target, v.mode, v.owner && `owner ${v.owner}`, v.bytes !== undefined && `${v.bytes} B`,
    v.sha256 && `sha256:${v.sha256.slice(0, 16)}`, v.why && `(${v.why})`,
    v.runningSystem && `[running system only${v.runningSystem === 'essential' ? ', essential' : ''}]`,
    v.followed && '[more follows from its result]',
  ].filter(Boolean).join(' ');
}
