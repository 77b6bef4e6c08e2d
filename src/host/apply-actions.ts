// The one applier: boot takes a module's actions (actions.ts) in order,
// logging each as it takes it ('action: module X: LINE', the line `plan`
// prints for it), and reports what failed under the module's name. A failed
// action skips the rest of its unit (or, without one, the rest of the list);
// an action only for the running system is skipped under --root.
import { actionValue, type Action } from './actions.ts';
import type { Files } from './files.ts';
import { closeFd, readAt } from './descriptors.ts';
import { utf8Decode } from './codecs.ts';
import { rfc2822 } from './clock.ts';
import { writeConsole } from './machine.ts';
import { failpoint } from './failpoint.ts';
import { processId, writeStdout } from './process.ts';
import { describeExit, spawnDetached, type RunOptions, type RunResult } from './run.ts';
import type { Logger } from '../log.ts';

/** What applying needs: the root's files, programs run with their output logged, the one HTTP client, problems reported. */
export interface ApplyEnv {
  files: Files;
  log: Logger;
  root: string;
  run(argv: string[], opts?: Omit<RunOptions, 'output'>): Promise<RunResult>;
  capture(argv: string[], opts?: Omit<RunOptions, 'output'>): Promise<RunResult>;
  report(level: 'error' | 'warning', where: string, message: string): void;
  fetch(request: { url: string; method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; maxBytes: number; retries: number; pauseMs: number; timeoutMs: number }): Promise<Uint8Array>;
  /** The module's essential work was skipped under --root (what): it is not marked done. */
  leftForRunningSystem(what: string): void;
  /** Where programs' output goes, for the failure message. */
  outputLog: string;
}

/** Apply `actions` for `where` ('module timezone'). Returns whether all that ran succeeded. */
export async function applyActions(env: ApplyEnv, where: string, actions: Action[], follows = false): Promise<boolean> {
  const failedUnits = new Set<string>();
  let stopped = false;
  let ok = true;
  // Results of run actions started together with one before them (RunAction.together), by index.
  const started = new Map<number, Promise<Outcome>>();
  for (let i = 0; i < actions.length; i++) {
    const action = actions[i]!;
    const line = actionValue(action).line;
    if (!started.has(i)) env.log.info(`${follows ? 'action+' : 'action'}: ${where}: ${line}`);
    if (!started.has(i) && !mayStart(env, where, action, line, stopped, failedUnits)) continue;
    if (action.kind === 'run' && action.together && !started.has(i)) {
      // This one and the runs right after it that say `together` and may start: all started now.
      started.set(i, outcome(env, where, action, line));
      for (let j = i + 1; j < actions.length; j++) {
        const other = actions[j]!;
        if (other.kind !== 'run' || !other.together) break;
        const otherLine = actionValue(other).line;
        env.log.info(`${follows ? 'action+' : 'action'}: ${where}: ${otherLine}`);
        started.set(j, mayStart(env, where, other, otherLine, stopped, failedUnits) ? outcome(env, where, other, otherLine) : Promise.resolve(SKIPPED));
      }
    }
    const r = await (started.get(i) ?? outcome(env, where, action, line));
    if (r === SKIPPED) continue;
    const { failed, next } = r;
    if (failed) {
      ok = false;
      if (action.unit === undefined) stopped = true;
      else failedUnits.add(action.unit);
      continue;
    }
    if (next.length && !(await applyActions(env, where, next.map((n) => ({ ...n, unit: n.unit ?? action.unit })), true))) {
      ok = false;
      if (action.unit === undefined) stopped = true;
      else failedUnits.add(action.unit);
    }
  }
  return ok;
}

interface Outcome { failed: boolean; next: Action[] }
const SKIPPED: Outcome = { failed: false, next: [] };

/** Whether `action` may be taken now; if not, why is logged (and an essential one left for the running system). */
function mayStart(env: ApplyEnv, where: string, action: Action, line: string, stopped: boolean, failedUnits: Set<string>): boolean {
  if (stopped || (action.unit !== undefined && failedUnits.has(action.unit))) {
    env.log.info(`${where}: skipped (an action before it in ${action.unit === undefined ? 'this module' : action.unit} failed): ${line}`);
    return false;
  }
  if (action.runningSystem && env.root !== '/') {
    env.log.info(`${where}: skipped with --root ${env.root} (needs the running system): ${line}`);
    if (action.runningSystem === 'essential') env.leftForRunningSystem(action.why ?? line);
    return false;
  }
  return true;
}

/** Take one action: an exception is an error reported for it. */
async function outcome(env: ApplyEnv, where: string, action: Action, line: string): Promise<Outcome> {
  try {
    return await applyOne(env, where, action);
  } catch (e) {
    env.report('error', where, `${line}: ${(e as Error).message}`);
    return { failed: true, next: [] };
  }
}

/** `content` with the time put in at `at` (WriteAction.stampAt). */
function stamped(content: string | Uint8Array, at: number | undefined): string | Uint8Array {
  return at === undefined || typeof content !== 'string' ? content : `${content.slice(0, at)}${rfc2822()}${content.slice(at)}`;
}

async function applyOne(env: ApplyEnv, where: string, a: Action): Promise<{ failed: boolean; next: Action[] }> {
  const done = { failed: false, next: [] as Action[] };
  const own = (o: { uid?: number; gid?: number }) => (o.uid === undefined && o.gid === undefined ? {} : { uid: o.uid ?? 0, gid: o.gid ?? 0 });
  switch (a.kind) {
    case 'write': env.files.write(a.path, stamped(a.content, a.stampAt), { mode: a.mode, ...own(a), ...(a.parents && { parents: a.parents }), ...(a.deferSync && { deferSync: true }) }); return done;
    case 'append': env.files.append(a.path, stamped(a.content, a.stampAt), { mode: a.mode, ...own(a), ...(a.parents && { parents: a.parents }) }); return done;
    case 'symlink': env.files.symlink(a.path, a.target); return done;
    case 'mkdir': {
      const o = own(a);
      if (o.uid !== undefined) env.files.ensureDir(a.path, a.mode, o.uid, o.gid ?? 0);
      else env.files.mkdir(a.path, a.mode);
      return done;
    }
    case 'remove': if (a.tree) env.files.remove(a.path); else env.files.unlink(a.path); return done;
    case 'mark': {
      // The crash tests' points around a semaphore (state/semaphore.ts names them alike).
      const name = (a.path.split('/').pop() ?? '').replace(/\.once$/, '');
      failpoint(`before-sem:${name}`);
      env.files.write(a.path, `${new Date().toISOString()}\n`, { mode: 0o644 });
      failpoint(`after-sem:${name}`);
      return done;
    }
    case 'chmod': env.files.chmod(a.path, a.mode); return done;
    case 'chown': env.files.chown(a.path, a.uid, a.gid); return done;
    case 'detach': spawnDetached(a.argv, { ...a.env, EC2_INIT_PID: String(processId()) }); return done;
    case 'console': if (env.root !== '/' || !writeConsole(a.text)) writeStdout(a.text); return done;
    case 'report': env.report(a.level, where, a.message); return { failed: a.level === 'error', next: [] };
    case 'log': for (const l of a.text.replace(/\n+$/, '').split('\n')) env.log.info(l); return done;
    case 'run': {
      const opts = { ...(a.env && { env: a.env }), ...(a.input !== undefined && { input: a.input }), ...(a.timeoutMs !== undefined && { timeoutMs: a.timeoutMs }) };
      const captured = a.then !== undefined && !a.logOutput;
      const from = captured ? 0 : outputSize(env);
      let r = captured ? await env.capture(a.argv, opts) : await env.run(a.argv, opts);
      if (a.then && a.logOutput) r = { ...r, stdout: outputTail(env, from).join('\n') };
      const failure = a.failure ?? 'error';
      if (r.code !== 0 && failure !== 'ignore') {
        const name = (a.argv[0] ?? '').split('/').pop();
        // Its own last words: captured, or the last lines it wrote to the output log (apt's 'E:' lines).
        const said = captured ? r.stderr.trim().split('\n') : a.logOutput ? r.stdout.split('\n') : outputTail(env, from);
        const stderr = said.filter(Boolean).length ? `: ${said.filter(Boolean).slice(-3).join(' / ')}` : '';
        env.report(failure, where, `${name}${a.why ? ` (${a.why})` : ''}: ${describeExit(r, a.timeoutMs)}${stderr} (output in ${env.outputLog})`);
        if (failure === 'error') return { failed: true, next: [] };
      }
      return { failed: false, next: a.then ? a.then(r) : [] };
    }
    case 'fetch': {
      const { url, method, headers, body, maxBytes, retries, pauseMs, timeoutMs } = a;
      let result: { body: Uint8Array } | { error: string };
      try {
        result = { body: await env.fetch({ url, ...(method && { method }), ...(headers && { headers }), ...(body !== undefined && { body }), maxBytes, retries, pauseMs, timeoutMs }) };
      } catch (e) {
        result = { error: (e as Error).message };
      }
      const failure = a.failure ?? 'error';
      if ('error' in result && failure !== 'ignore' && !a.then) {
        env.report(failure, where, `${a.why ?? 'fetch'}: ${result.error}`);
        if (failure === 'error') return { failed: true, next: [] };
      }
      return { failed: false, next: a.then ? a.then(result) : [] };
    }
  }
}

function outputSize(env: ApplyEnv): number {
  try { return env.files.lstat(env.outputLog)?.size ?? 0; } catch { return 0; }
}

/** The lines a program wrote to the output log from byte `from` on (of its last 16 KiB). */
function outputTail(env: ApplyEnv, from: number): string[] {
  let opened: { fd: number; stat: { size: number } } | null;
  try { opened = env.files.openForReading(env.outputLog); } catch { return []; }
  if (!opened) return [];
  try {
    const start = Math.max(from, opened.stat.size - 16384);
    const buf = new Uint8Array(Math.max(0, opened.stat.size - start));
    let got = 0;
    while (got < buf.length) {
      const n = readAt(opened.fd, buf, got, buf.length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    return utf8Decode(buf.subarray(0, got)).split('\n').map((l) => l.trim());
  } finally { closeFd(opened.fd); }
}
