// byobu (cloud-init's cc_byobu), once per instance in stage config:
// `byobu_by_default` turns byobu on or off for the default user's logins
// (byobu-launcher-install / -uninstall run as that user) and for everyone
// (debconf's byobu/launch-by-default, then dpkg-reconfigure byobu). byobu is
// installed first from the image's apt when it is missing, as cloud-init
// does. `user`/`system` mean enable-user/enable-system; an enable always sets
// the system default too, a plain `disable` undoes both, as in cloud-init.
// cloud-init runs one shell line and counts the failures; here each step is
// its own program (no user name is ever put into a shell line) and each
// failure is reported.
import type { Action } from '../host/actions.ts';
import { accountName } from '../validate/files.ts';
import { which } from '../host/root-facts.ts';
import { installActions } from './distro-actions.ts';
import { actionModule, type ActionRun } from './module.ts';
import { usersAndGroups } from './users-config.ts';

const VALID = ['enable-user', 'enable-system', 'enable', 'disable-user', 'disable-system', 'disable'];

export interface ByobuPlan { value: string; user: boolean; system: boolean; enable: boolean }

/** What a byobu_by_default value asks for; null when it is absent or empty. */
export function byobuPlan(raw: unknown): ByobuPlan | null {
  if (raw === undefined || raw === null || raw === '' || raw === false) return null;
  let value = String(raw);
  if (value === 'user' || value === 'system') value = `enable-${value}`;
  const enable = value.startsWith('enable');
  let user = value.endsWith('-user');
  let system = value.endsWith('-system');
  if (enable) system = true;
  else if (value === 'disable') { user = true; system = true; }
  return { value, user, system, enable };
}

/** byobu-launcher-install/-uninstall as the default user (checked: a name, never an option). */
function forDefaultUser(run: ActionRun, plan: ByobuPlan): Action[] {
  const user = usersAndGroups(run.config).defaultUser;
  const action = plan.enable ? 'install' : 'uninstall';
  if (!user) { run.report('warning', `no default user configured: byobu-launcher-${action} not run for it`); return []; }
  const name = accountName(user);
  if (!name.ok) { run.report('error', `the default user ${name.why}`); return []; }
  return [{ kind: 'run', argv: ['sudo', '-Hu', name.value, `byobu-launcher-${action}`], timeoutMs: 60_000, unit: 'user', why: `byobu-launcher-${action} for the default user` }];
}

/** debconf's byobu/launch-by-default, then dpkg-reconfigure byobu (only after the answer is in). */
function forSystem(plan: ByobuPlan): Action[] {
  const answer = `byobu byobu/launch-by-default boolean ${plan.enable ? 'true' : 'false'}\n`;
  return [
    { kind: 'run', argv: ['debconf-set-selections'], input: answer, timeoutMs: 60_000, unit: 'system', why: `byobu/launch-by-default ${plan.enable}` },
    { kind: 'run', argv: ['dpkg-reconfigure', 'byobu', '--frontend=noninteractive'], env: { DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: 300_000, unit: 'system', why: 'dpkg-reconfigure byobu' },
  ];
}

export const byobu = actionModule<ByobuPlan>({
  name: 'byobu',
  stage: 'config',
  frequency: 'per-instance',
  keys: [],
  schema: {
    byobu_by_default: { enum: ['enable-system', 'enable-user', 'disable-system', 'disable-user', 'enable', 'disable', 'user', 'system'] },
  },
  check(config, report) {
    const plan = byobuPlan(config['byobu_by_default']);
    if (plan && !VALID.includes(plan.value)) report('warning', `byobu_by_default: unknown value '${plan.value}' (${VALID.join(', ')}, user or system)`);
    return plan;
  },
  actions(plan, run) {
    const actions: Action[] = [];
    // As cloud-init: byobu is installed first when missing; without it nothing else is done.
    if (which(run.files, 'byobu') === null) {
      const install = installActions(run, ['byobu']);
      if (install.length === 0) return [];
      actions.push({ kind: 'log', text: `${run.where}: byobu is not installed: installing it` }, ...install);
    }
    actions.push({ kind: 'log', text: `${run.where}: setting byobu to ${plan.value}` });
    if (plan.user) actions.push(...forDefaultUser(run, plan));
    if (plan.system) actions.push(...forSystem(plan));
    return actions;
  },
});
