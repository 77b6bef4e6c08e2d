// `output` (cloud-init's output redirection, util.fixup_output): where the
// output of the stage's programs goes. cloud-init redirects its own stdout
// and stderr per stage (`init`, `config`, `final`, else `all`) to a target:
// '>> FILE' (append), '> FILE' (truncate), or '| COMMAND' (a pipe); a
// [stdout, stderr] list or {output, error} mapping splits the two ('&1':
// stderr with stdout). Its default (cloud.cfg.d/05_logging.cfg) is
// `{all: '| tee -a /var/log/cloud-init-output.log'}` — the value user-data
// copies most. ec2-init always gives programs one log (stdout and stderr
// together, never truncated): a file target, or a `tee`/`tee -a` to a file,
// becomes that log; /var/log/cloud-init-output.log is ec2-init's own output
// log. A pipe into another command (logger, …) is not run: the output stays
// in the log, and the log says so. Its schema is schema/validate.ts's (a key
// of no module).
import type { Context } from '../context.ts';
import { layout } from '../state/layout.ts';
import type { Stage } from '../types.ts';
import type { Config } from '../config/merge.ts';

/** Where cloud-init's cloud-init-output.log is: ec2-init's output log answers there. */
const CLOUD_INIT_OUTPUT_LOG = '/var/log/cloud-init-output.log';

/** The stdout target a stage's `output` entry names, or null. */
function stdoutTarget(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : null;
  if (value && typeof value === 'object') {
    const o = (value as Record<string, unknown>)['output'];
    return typeof o === 'string' ? o : null;
  }
  return null;
}

export interface OutputPlan {
  /** The log file programs of this stage write to (a path of the root). */
  path: string;
  /** What could not be honoured, for the log; null when all was. */
  note: string | null;
}

/** What `output` in the config means for `stage`; null when it says nothing for it. */
export function outputPlan(config: Config, stage: Stage): OutputPlan | null {
  const out = config['output'];
  if (!out || typeof out !== 'object' || Array.isArray(out)) return null;
  const key = stage === 'init-local' ? 'init' : stage;
  const entry = (out as Record<string, unknown>)[key] ?? (out as Record<string, unknown>)['all'];
  const target = stdoutTarget(entry)?.trim();
  if (!target) return null;
  const file = /^>>?\s*(\/\S+)$/.exec(target)?.[1]
    ?? /^\|\s*tee(?:\s+(?:-a|--append))?\s+(\/\S+)\s*$/.exec(target)?.[1];
  if (!file) {
    return { path: layout.outputLog, note: `'${target}' is a pipe into a command ec2-init does not run: program output stays in ${layout.outputLog}` };
  }
  const path = file === CLOUD_INIT_OUTPUT_LOG ? layout.outputLog : file;
  return { path, note: target.startsWith('> ') || /^>[^>]/.test(target) ? `${file} is appended to, not truncated` : null };
}

/** Point the stage's program output where `output` says (stages.ts calls this before the stage's modules). */
export function applyOutputConfig(ctx: Context, config: Config, stage: Stage): void {
  const plan = outputPlan(config, stage);
  if (!plan) return;
  if (plan.note) ctx.log.info(`output: ${plan.note}`);
  if (plan.path !== layout.outputLog) ctx.log.info(`output: program output of stage ${stage} goes to ${plan.path}`);
  ctx.setOutputLog(plan.path);
}
