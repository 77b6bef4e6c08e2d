// What every stage, handler and module is given: the root's files, the log,
// a way to run programs (output to the output log), and the problems found.
// A stage and each module it runs get their own scope (scoped()): the same
// files, log and output log, but their own list of problems, so what a
// module found is its result (stages.ts reads it), not a change to state
// the others share.
import { ACCOUNT_PROGRAMS, clearStaleAccountLocks } from './host/accounts.ts';
import { Files, type AppendFile } from './host/files.ts';
import { describeExit, runProgram, type RunOptions, type RunResult } from './host/run.ts';
import type { SystemConfig } from './config/system.ts';
import type { Logger } from './log.ts';
import { now } from './host/clock.ts';
import { layout } from './state/layout.ts';
import type { Diag } from './types.ts';

/** What every scope of one process shares. */
interface Shared {
  output: AppendFile | null;
  /** Where programs' output goes: the output log, unless user-data's `output` names another file (modules/output.ts). */
  outputPath: string;
  /** The system config, read once per process (`boot` runs four stages on it). */
  systemConfig: SystemConfig | null;
}

const baseName = (s: string | undefined) => (s ?? '').split('/').pop() ?? '';

/** A program's name for the log: its file name, a shell's script by its file name; never its arguments. */
function programName(argv: string[]): string {
  const shell = /^(sh|bash|dash)$/.test(baseName(argv[0])) && argv[1] !== undefined && !argv[1].startsWith('-');
  return shell ? `${baseName(argv[0])} ${baseName(argv[1])}` : baseName(argv[0]);
}

export class Context {
  readonly files: Files;
  readonly log: Logger;
  /** The problems found in this scope (a stage's, a module's). */
  readonly diags: Diag[] = [];
  /** --config FILE: a system config file on this machine, read after cloud.cfg.d. */
  readonly configFile: string | null;
  /**
   * Set in a module's scope when its essential work needs the running system
   * and was skipped under --root (what was skipped): the runner then leaves
   * its semaphore unwritten, so the real first boot of the image still does it.
   */
  neededRunningSystem: string | null = null;
  /** Set by `plan`: sources read but change nothing on the platform (VMware's guestinfo is not cleared). */
  planning = false;
  private readonly shared: Shared;

  constructor(root: string | Files, log: Logger, configFile: string | null = null, shared?: Shared) {
    this.files = typeof root === 'string' ? new Files(root) : root;
    this.log = log;
    this.configFile = configFile;
    this.shared = shared ?? { output: null, outputPath: layout.outputLog, systemConfig: null };
  }

  /** A scope of its own problems over the same root, log and output log. */
  scoped(): Context {
    return new Context(this.files, this.log, this.configFile, this.shared);
  }

  get root(): string { return this.files.root; }

  /** Where programs' output goes now (the output log, or what user-data's `output` named). */
  get outputPath(): string { return this.shared.outputPath; }

  get systemConfig(): SystemConfig | null { return this.shared.systemConfig; }
  set systemConfig(config: SystemConfig | null) { this.shared.systemConfig = config; }

  /** Record a problem: it is logged now and reported by `status`. */
  report(level: Diag['level'], where: string, message: string): void {
    this.diags.push({ level, where, message });
    (level === 'error' ? this.log.error : this.log.warn).call(this.log, `${where}: ${message}`);
  }

  /** Run a program of the target system; its output is appended to the output log. */
  run(argv: string[], opts: Omit<RunOptions, 'output'> = {}): Promise<RunResult> {
    this.beforeProgram(argv);
    const started = now();
    return this.timed(argv, opts, started, runProgram(this.root, argv, { ...opts, output: this.outputLog() }));
  }

  /** Run a program and keep its output (for commands whose answer we need). */
  capture(argv: string[], opts: Omit<RunOptions, 'output'> = {}): Promise<RunResult> {
    this.beforeProgram(argv);
    const started = now();
    return this.timed(argv, opts, started, runProgram(this.root, argv, { ...opts, output: 'capture' }));
  }

  /**
   * "program useradd: exit 0 in 12.3 ms", logged as each program ends: the
   * record `analyze plot` draws programs from. The program's name only (a
   * shell's script by its file name), never its arguments: they may carry
   * what user-data gave.
   */
  private async timed(argv: string[], opts: Omit<RunOptions, 'output'>, started: number, running: Promise<RunResult>): Promise<RunResult> {
    const r = await running;
    this.log.info(`program ${programName(argv)}: ${describeExit(r, opts.timeoutMs)} in ${(now() - started).toFixed(1)} ms`);
    return r;
  }

  /** An account program cannot run past a lock file a killed one left: those go first. */
  private beforeProgram(argv: string[]): void {
    if (!ACCOUNT_PROGRAMS.has(argv[0]?.split('/').pop() ?? '')) return;
    for (const lock of clearStaleAccountLocks(this.files)) this.log.warn(`removed a stale lock ${lock}, left by a program that was killed`);
  }

  /** Run and report a failure under `where`; true when the program succeeded. */
  async runChecked(where: string, argv: string[], opts: Omit<RunOptions, 'output'> = {}): Promise<boolean> {
    const r = await this.run(argv, opts);
    if (r.code === 0) return true;
    this.report('error', where, `${describeExit(r, opts.timeoutMs)}${r.stderr ? `: ${r.stderr.trim()}` : ''} (output in ${layout.outputLog})`);
    return false;
  }

  /** The output log's descriptor, re-checked before each program (a script may have put a link in its place). */
  private outputLog(): number {
    const shared = this.shared;
    if (shared.output === null) {
      // Script output may carry secrets from user-data: owner-only.
      shared.output = this.files.openAppend(shared.outputPath, 0o600);
      shared.output.onReplaced = (what) => this.log.warn(what);
    }
    return shared.output.fd();
  }

  /** Send the output of the programs run from now on to `path` (a file of the root, 0600 when new). */
  setOutputLog(path: string): void {
    if (path === this.shared.outputPath) return;
    this.close();
    this.shared.outputPath = path;
  }

  close(): void {
    this.shared.output?.close();
    this.shared.output = null;
  }
}
