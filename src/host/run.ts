// Running programs of the target system. With a root other than /, every
// program runs chrooted into it: user scripts, useradd, ssh-keygen, apt-get.
// Each runs in a process group of its own (a timeout kills what it started
// too), with a fixed small environment, and its output goes to the output
// log through a pipe that ec2-init drains — so a script's own `| tee` or
// `exec > >(logger)` has written its last line before the next step starts.
import { sys } from './sys.ts';
import type { Stopper } from './sys-api.ts';

export interface RunOptions {
  /** Extra environment on top of the fixed base environment. */
  env?: Record<string, string>;
  /** Bytes written to the program's standard input. */
  input?: string | Uint8Array;
  /** Kill the program (SIGKILL, its whole process group) after this long; no limit when unset. */
  timeoutMs?: number;
  /** Kill the program (SIGKILL, its whole process group) when this fires: a wait that something else ended. */
  stop?: Stopper;
  /** Where stdout and stderr go: an open file descriptor, or 'capture'. */
  output: number | 'capture';
}

export interface RunResult {
  /** Exit code; null when killed by a signal. */
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

// A known, small environment: a boot agent must not leak its own
// environment (or whatever the caller had) into user scripts.
const BASE_ENV: Record<string, string> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  LANG: 'C.UTF-8',
  TERM: 'dumb',
};

export async function runProgram(root: string, argv: string[], opts: RunOptions): Promise<RunResult> {
  const r = await sys.spawn({
    argv,
    env: { ...BASE_ENV, ...opts.env },
    ...(root !== '/' && { chroot: root }),
    ...(opts.input !== undefined && { stdin: typeof opts.input === 'string' ? sys.utf8Encode(opts.input) : opts.input }),
    output: opts.output,
    ...(opts.timeoutMs !== undefined && { timeoutMs: opts.timeoutMs }),
    ...(opts.stop && { stop: opts.stop }),
  });
  return {
    code: r.code,
    signal: r.signal,
    timedOut: r.timedOut,
    stdout: sys.utf8Decode(r.stdout),
    stderr: r.spawnError ?? sys.utf8Decode(r.stderr),
  };
}

/** "exit 3", "killed by SIGTERM", "timed out after 10 s": for logs and status. */
export function describeExit(r: RunResult, timeoutMs?: number): string {
  if (r.timedOut) return `timed out after ${(timeoutMs ?? 0) / 1000} s`;
  if (r.signal) return `killed by ${r.signal}`;
  return `exit ${r.code}`;
}

/**
 * Start a program that outlives ec2-init (its own session, not waited for:
 * power_state's shutdown waiter, the early host-key maker); its pid. argv[0]
 * is looked up in `env`'s PATH.
 */
export function spawnDetached(argv: string[], env: Record<string, string>): number {
  return sys.spawnDetached(argv, env);
}
