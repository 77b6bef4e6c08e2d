// status.json (per stage: start, end, errors) and result.json (the boot's
// outcome, written when the final stage ends), shaped like cloud-init's so
// tools that read those keep working.
import { asText } from '../bytes.ts';
import type { Context } from '../context.ts';
import type { Files } from '../host/files.ts';
import { bootId } from '../host/machine.ts';
import { processId, signalProcess } from '../host/process.ts';
import type { Diag, Stage } from '../types.ts';
import { layout } from './layout.ts';
import { bootLockHeld } from './lock.ts';

/** cloud-init's names for the stages in status.json. */
export const STAGE_KEY: Record<Stage, string> = {
  'init-local': 'init-local', init: 'init', config: 'modules-config', final: 'modules-final',
};

export interface StageStatus {
  start: number | null;
  finished: number | null;
  errors: string[];
  /** Warnings by level, as cloud-init 23.4+ keeps them: {"WARNING": […]}. */
  recoverable_errors: Record<string, string[]>;
  /** The process running (or that ran) this stage, and the boot it ran in: to tell a dead stage from a running one. */
  pid?: number;
  boot_id?: string | null;
}

export interface Status {
  v1: {
    /** "DataSourceNoCloud", as cloud-init names it; null until one is found. */
    datasource: string | null;
    instance_id: string | null;
    /** The stage running now; null between stages and when done. */
    stage: string | null;
    [stage: string]: StageStatus | string | null;
  };
}

export const STAGE_LIST: readonly Stage[] = ['init-local', 'init', 'config', 'final'];

export function emptyStatus(): Status {
  const blank = (): StageStatus => ({ start: null, finished: null, errors: [], recoverable_errors: {} });
  return { v1: { datasource: null, instance_id: null, stage: null, 'init-local': blank(), init: blank(), 'modules-config': blank(), 'modules-final': blank() } };
}

/**
 * This boot's status: status.json through its link in /run, which the first
 * stage of every boot makes (and /run is new each boot): before that, the
 * previous boot's record is not this boot's status.
 */
export function readStatus(ctx: { files: Files }): Status | null {
  return readStatusAt(ctx.files, layout.statusLink);
}

function readStatusAt(files: Files, path: string): Status | null {
  let text: Uint8Array | null;
  try { text = files.readIfExists(path); } catch { return null; }
  if (text === null) return null;
  try { return JSON.parse(asText(text)) as Status; } catch { return null; }
}

function writeStatus(ctx: Context, status: Status): void {
  ctx.files.write(layout.status, JSON.stringify(status, null, 2) + '\n', { mode: 0o644 });
}

export function stageOf(status: Status, stage: Stage): StageStatus {
  return status.v1[STAGE_KEY[stage]] as StageStatus;
}

/** Every warning of a stage, whatever its level. */
export function warningsOf(s: StageStatus): string[] {
  // Records written before 23.4's format kept a plain list.
  return Array.isArray(s.recoverable_errors) ? s.recoverable_errors as string[] : Object.values(s.recoverable_errors ?? {}).flat();
}

/** What a stage starts from: its status record, and whether this boot already found the source. */
export interface Started {
  status: Status;
  /** An earlier stage of this boot (its record is this boot's: linked in /run) found the datasource. */
  foundThisBoot: boolean;
}

/**
 * Record the start of a stage (its running record: `status` and
 * `status --wait` read it, and its pid and boot id tell a dead stage from a
 * running one). The first stage of a boot starts a fresh status: init-local
 * always does (and forgets the last boot's result); a later stage does when
 * it already ran (the previous boot's record). The record is read once, and
 * the /run links are made only when this boot has none yet (a later stage
 * finds its first stage's).
 */
export function stageStarted(ctx: Context, stage: Stage): Started {
  const previous = readStatusAt(ctx.files, layout.status);
  const linked = runFilesLinked(ctx);
  // Through its link in /run only this boot's record counts (readStatus).
  const foundThisBoot = stage !== 'init-local' && linked && previous?.v1.datasource != null;
  let status = previous ?? emptyStatus();
  if (stage === 'init-local' || stageOf(status, stage)?.start != null) {
    status = emptyStatus();
    ctx.files.unlink(layout.result);
  }
  status.v1.stage = STAGE_KEY[stage];
  const s = stageOf(status, stage);
  s.start = Date.now() / 1000;
  s.pid = processId();
  s.boot_id = bootId();
  writeStatus(ctx, status);
  if (!linked) linkRunFiles(ctx);
  return { status, foundThisBoot };
}

/** Record the end of a stage with the problems it found. */
export function stageFinished(ctx: Context, status: Status, stage: Stage, diags: Diag[], source: { name: string; instanceId: string } | null): void {
  const s = stageOf(status, stage);
  s.finished = Date.now() / 1000;
  s.errors = diags.filter((d) => d.level === 'error').map((d) => `${d.where}: ${d.message}`);
  const warnings = diags.filter((d) => d.level === 'warning').map((d) => `${d.where}: ${d.message}`);
  s.recoverable_errors = warnings.length ? { WARNING: warnings } : {};
  if (source) { status.v1.datasource = `DataSource${source.name}`; status.v1.instance_id = source.instanceId; }
  status.v1.stage = null;
  writeStatus(ctx, status);
  if (stage === 'final') {
    const all = STAGE_LIST.map((st) => stageOf(status, st));
    ctx.files.write(layout.result, JSON.stringify({
      v1: {
        datasource: status.v1.datasource,
        errors: all.flatMap((x) => x.errors),
        // Not in cloud-init's result.json: ec2-init's own, for tools that want the warnings too.
        recoverable_errors: all.flatMap(warningsOf),
      },
    }, null, 2) + '\n', { mode: 0o644 });
    linkRunFiles(ctx);
  }
}

/** /run/ec2-init/{status,result}.json and cloud-init's /run/cloud-init/ ones: links to the records in data/. */
function linkRunFiles(ctx: Context): void {
  for (const dir of RUN_DIRS) {
    ctx.files.mkdir(dir);
    // Relative (both directories are two levels deep): right from the root and from this machine alike.
    ctx.files.symlink(`${dir}/status.json`, `../..${layout.status}`);
    if (ctx.files.exists(layout.result)) ctx.files.symlink(`${dir}/result.json`, `../..${layout.result}`);
  }
}

const RUN_DIRS = [layout.runDir, layout.cloudInitRunDir];

/** This boot's status links are there (/run is new each boot): the last one linkRunFiles makes is. */
function runFilesLinked(ctx: Context): boolean {
  try { return ctx.files.lstat(`${RUN_DIRS.at(-1)}/status.json`)?.kind === 'link'; } catch { return false; }
}

/**
 * The stage status.json says is running whose process is gone — killed, or
 * the machine went down under it — described for `status`; null when none.
 * The boot lock says it when it can be opened (root); else the pid and the
 * boot id do.
 */
export function deadStage(files: Files, status: Status | null): string | null {
  const running = status?.v1.stage;
  if (!status || !running) return null;
  const s = status.v1[running] as StageStatus | undefined;
  const held = bootLockHeld(files);
  let dead: boolean;
  if (held !== null) dead = !held;
  else {
    const sameBoot = s?.boot_id == null || s.boot_id === bootId();
    dead = !sameBoot || (s?.pid !== undefined && !signalProcess(s.pid, 0));
  }
  if (!dead) return null;
  // It may have finished between our reading status.json and looking at the lock: only a record that still says so counts.
  const again = readStatus({ files });
  if (again?.v1.stage !== running || (again.v1[running] as StageStatus | undefined)?.start !== s?.start) return null;
  return `stage ${running}${s?.pid !== undefined ? ` (pid ${s.pid})` : ''} stopped before it finished: the process was killed or the machine went down; the next boot (or running the stage again) resumes the unfinished work`;
}

/** Where the boot is (cloud-init's running status). */
export type Running = 'not started' | 'running' | 'done' | 'disabled';
/** How it went (cloud-init's condition). */
export type Condition = 'healthy' | 'degraded' | 'error';

export interface Summary {
  running: Running;
  condition: Condition;
  /** cloud-init 25's two words: status ("done") and extended_status ("degraded done", "error - running"). */
  status: string;
  extended: string;
  /** 0 healthy, 1 error, 2 degraded (cloud-init 23.4+). */
  exitCode: number;
  errors: string[];
  warnings: Record<string, string[]>;
}

/** The summary `status` prints. A dead stage is an error; `disabled` names why the boot is off. */
export function summarize(status: Status | null, dead: string | null = null, disabled = false): Summary {
  const stages = status ? STAGE_LIST.map((st) => stageOf(status, st)).filter(Boolean) : [];
  const errors = stages.flatMap((s) => s.errors);
  if (dead) errors.push(dead);
  const warnings: Record<string, string[]> = {};
  for (const s of stages) {
    const r = s.recoverable_errors ?? {};
    for (const [level, list] of Object.entries(Array.isArray(r) ? { WARNING: r as string[] } : r)) (warnings[level] ??= []).push(...list);
  }
  let running: Running;
  if (disabled) running = 'disabled';
  else if (status === null || !stages.some((s) => s.start !== null)) running = 'not started';
  else if (dead) running = 'done';
  else running = stageOf(status, 'final').finished !== null && status.v1.stage === null ? 'done' : 'running';
  const condition: Condition = errors.length ? 'error' : Object.keys(warnings).length ? 'degraded' : 'healthy';
  const [statusWord, extended] = condition === 'error' ? ['error', `error - ${running}`]
    : condition === 'degraded' && (running === 'done' || running === 'running') ? [running, `degraded ${running}`]
      : [running, running];
  return { running, condition, status: statusWord, extended, exitCode: condition === 'error' ? 1 : condition === 'degraded' ? 2 : 0, errors, warnings };
}
