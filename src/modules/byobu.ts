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
import type { Context } from '../context.ts';
import { accountName } from '../validate/files.ts';
import { which } from '../host/root-facts.ts';
import { aptGet, requireAptGet, updateSources } from './apt-get.ts';
import type { Module, ModuleRun } from './module.ts';
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

async function ensureByobu(run: ModuleRun): Promise<void> {
  const { ctx, config, instanceId, where } = run;
  if (which(ctx.files, 'byobu') !== null) return;
  requireAptGet(ctx, 'installing byobu');
  ctx.log.info(`${where}: byobu is not installed: installing it`);
  await updateSources(ctx, config, instanceId, where);
  await aptGet(ctx, config, 'install', ['byobu']);
}

async function forDefaultUser(ctx: Context, where: string, config: ModuleRun['config'], plan: ByobuPlan): Promise<void> {
  const user = usersAndGroups(config).defaultUser;
  const action = plan.enable ? 'install' : 'uninstall';
  if (!user) { ctx.report('warning', where, `no default user configured: byobu-launcher-${action} not run for it`); return; }
  const name = accountName(user);
  if (!name.ok) { ctx.report('error', where, `the default user ${name.why}`); return; }
  await ctx.runChecked(where, ['sudo', '-Hu', name.value, `byobu-launcher-${action}`], { timeoutMs: 60_000 });
}

async function forSystem(ctx: Context, where: string, plan: ByobuPlan): Promise<void> {
  const answer = `byobu byobu/launch-by-default boolean ${plan.enable ? 'true' : 'false'}\n`;
  if (!await ctx.runChecked(where, ['debconf-set-selections'], { input: answer, timeoutMs: 60_000 })) return;
  await ctx.runChecked(where, ['dpkg-reconfigure', 'byobu', '--frontend=noninteractive'], { env: { DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: 300_000 });
}

export const byobu: Module = {
  name: 'byobu',
  stage: 'config',
  frequency: 'per-instance',
  keys: [],
  schema: {
    byobu_by_default: { enum: ['enable-system', 'enable-user', 'disable-system', 'disable-user', 'enable', 'disable', 'user', 'system'] },
  },
  describe: ({ ctx, config }) => {
    const plan = byobuPlan(config['byobu_by_default']);
    if (!plan) return [];
    return [
      ...(which(ctx.files, 'byobu') === null ? ['apt-get install byobu'] : []),
      ...(plan.user ? [`byobu-launcher-${plan.enable ? 'install' : 'uninstall'} for the default user`] : []),
      ...(plan.system ? [`byobu/launch-by-default ${plan.enable} in debconf, dpkg-reconfigure byobu`] : []),
    ];
  },
  async run(run) {
    const { ctx, config, where } = run;
    const plan = byobuPlan(config['byobu_by_default']);
    if (!plan) { ctx.log.info(`${where}: no byobu_by_default: nothing to do`); return; }
    await ensureByobu(run);
    if (!VALID.includes(plan.value)) ctx.report('warning', where, `unknown byobu_by_default '${plan.value}' (${VALID.join(', ')}, user or system)`);
    ctx.log.info(`${where}: setting byobu to ${plan.value}`);
    if (plan.user) await forDefaultUser(ctx, where, config, plan);
    if (plan.system) await forSystem(ctx, where, plan);
  },
};
