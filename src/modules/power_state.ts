// power_state_change (cloud-init's cc_power_state_change), once per
// instance, last in stage final: `power_state: {mode, delay, message,
// timeout, condition}` becomes `shutdown -h -P|-r|-h -H now|+M [message]`, run by a
// detached shell that waits until this process has exited (or `timeout`
// seconds, default 30, have passed), then checks `condition` (true/false, a
// shell line or an argv list: exit 0 = go) and shuts down — as cloud-init
// forks its waiter (a 'detach' action). It needs the running system: with
// --root nothing runs and the log says what was skipped (DESIGN.md §2).
import type { Action } from '../host/actions.ts';
import { actionModule, shellQuote, type Schema } from './module.ts';

const shellQuoteAll = (words: string[]) => words.map(shellQuote).join(' ');

// -h with -P/-H: sysvinit's shutdown rejects -P or -H alone; systemd's accepts both forms.
const MODES: Record<string, string[]> = { halt: ['-h', '-H'], poweroff: ['-h', '-P'], reboot: ['-r'] };
const DEFAULT_TIMEOUT = 30;

export interface Plan { argv: string[]; timeout: number; condition: boolean | string | string[] }

/** cloud-init's load_power_state + shutdown_command; throws on bad settings. */
export function loadPowerState(value: unknown): Plan {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('power_state must be a mapping');
  const ps = value as Record<string, unknown>;
  const mode = ps['mode'];
  if (typeof mode !== 'string' || !(mode in MODES)) {
    throw new Error(`power_state: mode is required, one of ${Object.keys(MODES).join(', ')}; found '${String(mode)}'`);
  }
  let delay = ps['delay'] ?? 'now';
  if (delay !== 'now') {
    const m = /^\+?(\d+)$/.exec(String(delay).trim());
    if (!m) throw new Error(`power_state: delay must be 'now' or a number of minutes ('+5' or 5); found '${String(delay)}'`);
    delay = `+${Number(m[1])}`;
  }
  const argv = ['shutdown', ...MODES[mode]!, String(delay)];
  if (ps['message'] !== undefined && ps['message'] !== null && String(ps['message']) !== '') argv.push(String(ps['message']));
  const timeout = Number(ps['timeout'] ?? DEFAULT_TIMEOUT);
  if (!Number.isFinite(timeout) || timeout < 0) throw new Error(`power_state: timeout must be a number of seconds; found '${String(ps['timeout'])}'`);
  const condition = ps['condition'] ?? true;
  if (!(typeof condition === 'boolean' || typeof condition === 'string' || (Array.isArray(condition) && condition.every((w) => typeof w === 'string')))) {
    throw new Error('power_state: condition must be true/false, a shell command or a list of words');
  }
  return { argv, timeout, condition: condition as Plan['condition'] };
}

/**
 * The waiter, as one sh script: wait for PID to go (at most TIMEOUT s),
 * check the condition (exit 0 = go, 1 = no, other = no with a message), run
 * the shutdown command. Output goes to the console via the log's stderr.
 * PID may be a shell word: '"$EC2_INIT_PID"' (the detach action's).
 */
export function waiterScript(pid: number | string, plan: Plan): string {
  const cond = typeof plan.condition === 'string' ? plan.condition
    : Array.isArray(plan.condition) ? shellQuoteAll(plan.condition) : '';
  const check = typeof plan.condition === 'boolean' ? '' : `
( ${cond} ) </dev/null >/dev/null 2>&1; rc=$?
if [ $rc -eq 1 ]; then echo "ec2-init power_state: condition not met: no $mode" >&2; exit 0; fi
if [ $rc -ne 0 ]; then echo "ec2-init power_state: condition exited $rc: no $mode" >&2; exit 0; fi`;
  return `mode=${plan.argv[1]}
end=$(( $(date +%s) + ${Math.ceil(plan.timeout)} ))
while kill -0 ${pid} 2>/dev/null && [ "$(date +%s)" -lt "$end" ]; do sleep 0.25; done${check}
exec ${shellQuoteAll(plan.argv)}
`;
}

const SCHEMA: Schema = {
  type: 'object',
  required: ['mode'],
  additionalProperties: false,
  properties: {
    mode: { enum: Object.keys(MODES), description: 'poweroff, reboot or halt' },
    delay: { oneOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: '^(now|\\+?[0-9]+)$' }], description: "'now' (default) or minutes" },
    message: { type: 'string', description: 'broadcast to logged-in users' },
    timeout: { type: 'number', minimum: 0, description: `seconds to wait for ec2-init to finish first (default ${DEFAULT_TIMEOUT})` },
    condition: {
      oneOf: [{ type: 'boolean' }, { type: 'string' }, { type: 'array', items: { type: 'string' } }],
      description: 'true (default), false, or a command: exit 0 means go',
    },
  },
};

export const powerState = actionModule<Plan>({
  name: 'power_state_change',
  stage: 'final',
  frequency: 'per-instance',
  keys: ['power_state'],
  schema: { power_state: SCHEMA },
  check(config, report) {
    try {
      return loadPowerState(config['power_state']);
    } catch (e) {
      report('error', (e as Error).message);
      return null;
    }
  },
  actions(plan, { where }): Action[] {
    if (plan.condition === false) return [{ kind: 'log', text: `${where}: condition is false: no ${plan.argv.join(' ')}` }];
    const what = `${plan.argv.join(' ')} (after ec2-init exits, at most ${plan.timeout} s, condition ${JSON.stringify(plan.condition)})`;
    // Detached: this process exits, the waiter goes on; it waits for $EC2_INIT_PID (the applier's).
    return [
      {
        kind: 'detach', argv: ['/bin/sh', '-c', waiterScript('"$EC2_INIT_PID"', plan)],
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
        why: `after ec2-init exits: ${plan.argv.join(' ')}`, runningSystem: 'optional',
      },
      { kind: 'log', text: `${where}: will run ${what}`, runningSystem: 'optional' },
    ];
  },
});
