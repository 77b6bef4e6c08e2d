// Running programs of the target system. With a root other than /, every
// program runs chrooted into it: user scripts, useradd, ssh-keygen, apt-get.
// Output goes to the output log (a file descriptor the caller owns), or is
// captured when the caller needs it.
import { spawn } from 'node:child_process';

export interface RunOptions {
  /** Extra environment on top of the fixed base environment. */
  env?: Record<string, string>;
  /** Bytes written to the program's standard input. */
  input?: string | Buffer;
  /** Kill the program (SIGKILL) after this long; no limit when unset. */
  timeoutMs?: number;
  /** Where stdout and stderr go: an open file descriptor, or 'capture'. */
  output: number | 'capture';
}

export interface RunResult {
  /** Exit code; null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
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

export function runProgram(root: string, argv: string[], opts: RunOptions): Promise<RunResult> {
  const [file, args] = root === '/' ? [argv[0]!, argv.slice(1)] : ['/usr/sbin/chroot', [root, ...argv]];
  return new Promise((resolve) => {
    const capture = opts.output === 'capture';
    const out: 'pipe' | number = capture ? 'pipe' : (opts.output as number);
    const child = spawn(file, args, {
      env: { ...BASE_ENV, ...opts.env },
      cwd: '/',
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', out, out],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => stdout.push(b));
    child.stderr?.on('data', (b: Buffer) => stderr.push(b));
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => { /* the program may exit without reading */ });
      child.stdin!.end(opts.input);
    }
    let timedOut = false;
    const timer = opts.timeoutMs === undefined ? null
      : setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, opts.timeoutMs);
    let finished = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      if (finished) return; // 'error' and 'close' can both fire for one failed spawn
      finished = true;
      if (timer) clearTimeout(timer);
      resolve({
        code: spawnError ? 127 : code,
        signal,
        timedOut,
        stdout: Buffer.concat(stdout).toString(),
        stderr: spawnError ? `${file}: ${spawnError.message}` : Buffer.concat(stderr).toString(),
      });
    };
    child.on('error', (e) => finish(null, null, e));
    child.on('close', (code, signal) => finish(code, signal));
  });
}

/** "exit 3", "killed by SIGTERM", "timed out after 10 s": for logs and status. */
export function describeExit(r: RunResult, timeoutMs?: number): string {
  if (r.timedOut) return `timed out after ${(timeoutMs ?? 0) / 1000} s`;
  if (r.signal) return `killed by ${r.signal}`;
  return `exit ${r.code}`;
}
