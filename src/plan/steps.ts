// The plan is a value: for each stage, the list of steps it takes, in order —
// the datasource found, the network config rendered, each #include fetched,
// each user-data part and where it goes, each module with its frequency and
// whether it runs (and why not). `plan` builds this list and prints it; a
// boot builds the same list with the same functions (modules.ts, parts.ts,
// userdata.ts) and applies exactly it, logging each step as it takes it
// (stepLine), so the two can be compared line for line.
import type { ActionValue } from '../host/actions.ts';
import type { Logger } from '../log.ts';
import type { ModuleInfo } from '../modules/registry.ts';
import { safeInstanceId } from '../state/layout.ts';
import type { Frequency, Part, SourceData, Stage } from '../types.ts';

interface StepBase {
  stage: Stage;
  /** What the step is about: a datasource, a part ('part-001 (text/x-shellscript)'), a module, a URL. */
  name: string;
  /** False: the step is listed but skipped (detail says why). */
  run: boolean;
  /** What the step does, or why it is skipped. */
  detail: string;
}

export interface DatasourceStep extends StepBase { kind: 'datasource' }
export interface NetworkStep extends StepBase { kind: 'network' }
/** An #include URL: boot fetches it and handles what it yields; plan only lists it. */
export interface IncludeStep extends StepBase { kind: 'include'; once: boolean }

/** Where one user-data part goes: decided once, for plan and boot alike (parts.ts). */
export type PartRoute =
  | { to: 'register-handler' }
  /** fallback: where it goes if that handler is not registered after all (its begin failed). */
  | { to: 'part-handler'; handler: string; fallback: PartRoute }
  | { to: 'save-script'; path: string }
  | { to: 'merge' }
  | { to: 'boothook'; path: string }
  | { to: 'upstart-job' }
  | { to: 'ignore'; reason: string };

export interface PartStep extends StepBase { kind: 'part'; index: number; part: Part; route: PartRoute }

export interface ModuleStep extends StepBase {
  kind: 'module';
  module: ModuleInfo;
  frequency: Frequency;
}

export type Step = DatasourceStep | NetworkStep | IncludeStep | PartStep | ModuleStep;

/** The fields `plan --format json` prints for a step (no bodies, no objects). */
export interface StepValue {
  stage: Stage;
  kind: Step['kind'];
  name: string;
  frequency?: Frequency;
  run: boolean;
  detail: string;
  /** plan only: what a module that runs says it will do. */
  does?: string;
  /** plan only: a converted module's actions (host/actions.ts), each with its digest and the line boot logs for it. */
  actions?: ActionValue[];
  /** plan only: some of its actions depend on what the machine answers at boot (a query plan does not run). */
  actionsDependOnMachine?: boolean;
}

export function stepValue(step: Step, does?: string): StepValue {
  return {
    stage: step.stage, kind: step.kind, name: step.name,
    ...(step.kind === 'module' && { frequency: step.frequency }),
    run: step.run, detail: step.detail,
    ...(does !== undefined && { does }),
  };
}

/** Boot's record of a step as it takes it: the line the plan-agreement test compares with `plan --format json`. */
export function logStep(log: Logger, step: Step): void {
  log.info(`step: ${stepLine(stepValue(step))}`);
}

/** One line per step, the same from plan and from boot's log: 'init module write_files [per-instance] RUN: run'. */
export function stepLine(step: StepValue): string {
  const freq = step.frequency ? ` [${step.frequency}]` : '';
  return `${step.stage} ${step.kind} ${step.name}${freq} ${step.run ? 'RUN' : 'SKIP'}: ${step.detail}`;
}

/** The datasource step: the source found, and whether this instance is new (a first boot). */
export function datasourceStep(stage: Stage, found: SourceData, isNew: boolean): DatasourceStep {
  return {
    kind: 'datasource', stage, name: found.name, run: true,
    detail: `instance ${safeInstanceId(found.instanceId)}${isNew ? ' (new instance: first boot)' : ' (same as last boot: per-instance work already done is skipped)'}`,
  };
}
