// status.json (per stage: start, end, errors) and result.json (the boot's
// outcome, written when the final stage ends), shaped like cloud-init's so
// tools that read those keep working.
import { asText } from '../bytes.ts';
import type { Context } from '../context.ts';
import type { Files } from '../host/files.ts';
import { bootId } from '../host/machine.ts';
import { sys } from '../host/sys.ts';
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
  recoverable_errors: string[];
  /** The process running (or that ran) this stage, and the boot it ran in: to tell a dead stage from a running one. */
  pid?: number;
  boot_id?: string | null;
}

export interface Status {
  v1: {
    datasource: string | null;
    instance_id: string | null;
    /** The stage running now; null between stages and when done. */
    stage: string | null;
    [stage: string]: StageStatus | string | null;
  };
}

export function emptyStatus(): Status {
  const blank = (): StageStatus => ({ start: null, finished: null, errors: [], recoverable_errors: [] });
  return { v1: { datasource: null, instance_id: null, stage: null, 'init-local': blank(), init: blank(), 'modules-config': blank(), 'modules-final': blank() } };
}

export function readStatus(ctx: { files: Files }): Status | null {
  const text = ctx.files.readIfExists(layout.status);
  if (text === null) return null;
  try { return JSON.parse(asText(text)) as Status; } catch { return null; }
}

function writeStatus(ctx: Context, status: Status): void {
  ctx.files.write(layout.status, JSON.stringify(status, null, 2) + '\n', { mode: 0o644 });
}

export function stageOf(status: Status, stage: Stage): StageStatus {
  return status.v1[STAGE_KEY[stage]] as StageStatus;
}

/**
 * Record the start of a stage. The first stage of a boot starts a fresh
 * status: init-local always does; a later stage does when it already ran
 * (the previous boot's record).
 */
export function stageStarted(ctx: Context, stage: Stage): Status {
  let status = readStatus(ctx) ?? emptyStatus();
  if (stage === 'init-local' || stageOf(status, stage).start !== null) status = emptyStatus();
  status.v1.stage = STAGE_KEY[stage];
  const s = stageOf(status, stage);
  s.start = Date.now() / 1000;
  s.pid = sys.pid;
  s.boot_id = bootId();
  writeStatus(ctx, status);
  return status;
}

/** Record the end of a stage with the problems it found. */
export function stageFinished(ctx: Context, status: Status, stage: Stage, diags: Diag[], source: { name: string; instanceId: string } | null): void {
  const s = stageOf(status, stage);
  s.finished = Date.now() / 1000;
  s.errors = diags.filter((d) => d.level === 'error').map((d) => `${d.where}: ${d.message}`);
  s.recoverable_errors = diags.filter((d) => d.level === 'warning').map((d) => `${d.where}: ${d.message}`);
  if (source) { status.v1.datasource = source.name; status.v1.instance_id = source.instanceId; }
  status.v1.stage = null;
  writeStatus(ctx, status);
  if (stage === 'final') {
    const all = (['init-local', 'init', 'config', 'final'] as Stage[]).map((st) => stageOf(status, st));
    ctx.files.write(layout.result, JSON.stringify({
      v1: {
        datasource: status.v1.datasource,
        errors: all.flatMap((x) => x.errors),
        recoverable_errors: all.flatMap((x) => x.recoverable_errors),
      },
    }, null, 2) + '\n', { mode: 0o644 });
  }
}

export type Outcome = 'not started' | 'running' | 'done' | 'degraded' | 'error';

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
    dead = !sameBoot || (s?.pid !== undefined && !sys.kill(s.pid, 0));
  }
  if (!dead) return null;
  // It may have finished between our reading status.json and looking at the lock: only a record that still says so counts.
  const again = readStatus({ files });
  if (again?.v1.stage !== running || (again.v1[running] as StageStatus | undefined)?.start !== s?.start) return null;
  return `stage ${running}${s?.pid !== undefined ? ` (pid ${s.pid})` : ''} stopped before it finished: the process was killed or the machine went down; the next boot (or running the stage again) resumes the unfinished work`;
}

/** The one-word summary `status` prints, and its exit code (0 done, 1 error, 2 degraded). A dead stage is an error. */
export function summarize(status: Status | null, dead: string | null = null): { outcome: Outcome; exitCode: number } {
  if (status === null) return { outcome: 'not started', exitCode: 0 };
  if (dead !== null) return { outcome: 'error', exitCode: 1 };
  const stages = (['init-local', 'init', 'config', 'final'] as Stage[]).map((st) => stageOf(status, st));
  if (stages.some((s) => s.errors.length > 0)) return { outcome: 'error', exitCode: 1 };
  const done = stageOf(status, 'final').finished !== null && status.v1.stage === null;
  if (!done) return { outcome: status.v1.stage || stages.some((s) => s.start !== null) ? 'running' : 'not started', exitCode: 0 };
  if (stages.some((s) => s.recoverable_errors.length > 0)) return { outcome: 'degraded', exitCode: 2 };
  return { outcome: 'done', exitCode: 0 };
}
