// cloud-init's Distro.install_packages and manage_service, as the modules that
// bootstrap software use them (puppet, chef, salt_minion, ansible, wireguard,
// lxd): packages from the image's own apt (apt-get update once per instance,
// then only the names `apt-cache pkgnames` knows, an unknown one is an error
// naming it, as cloud-init 24+'s PackageInstallerError); services through
// systemctl when the root uses systemd, else `service`. Enabling a unit is a
// change of files that systemctl makes offline too (chrooted under --root);
// starting, stopping and restarting need the running system and are left to
// it under --root (DESIGN.md §2: the enabled unit starts on the real boot).
import { usesSystemd, which } from '../host/root-facts.ts';
import type { Context } from '../context.ts';
import type { Config } from '../config/merge.ts';
import { bad, type Checked, matching, ok } from '../validate/check.ts';
import { aptGet, aptGetAction, haveAptGet, requireAptGet, updateSources, updateSourcesActions } from './apt-get.ts';
import type { Action, RunAction } from '../host/actions.ts';
import type { ActionRun } from './module.ts';
import { onRunningSystem } from './helpers.ts';

/** A Debian package name, optionally =version: never an option (-o…) or two words. */
export function packageSpec(v: unknown): Checked<string> {
  return matching(v, /^[a-z0-9][a-z0-9+.-]*(=[A-Za-z0-9.+~:-]+)?$/, 'expected a Debian package name (lower case letters, digits, + - .), optionally =version');
}

/** A systemd unit or init script name: one word, no path. */
export function serviceName(v: unknown): Checked<string> {
  return matching(v, /^[A-Za-z0-9][A-Za-z0-9_.@:-]*$/, 'expected a service name (letters, digits, _ . @ : -)');
}

/**
 * Install `packages` (specs already checked) from the image's apt. Throws when
 * apt-get is missing, a package is unknown to apt, or apt-get fails.
 */
export async function installPackages(ctx: Context, config: Config, instanceId: string, where: string, packages: string[]): Promise<void> {
  if (packages.length === 0) return;
  requireAptGet(ctx, `${where} (installing ${packages.join(' ')})`);
  await updateSources(ctx, config, instanceId, where);
  const known = await ctx.capture(['apt-cache', 'pkgnames'], { timeoutMs: 120_000 });
  if (known.code === 0) {
    const names = new Set(known.stdout.split('\n'));
    const missing = packages.filter((p) => !names.has(p.split('=')[0]!));
    if (missing.length) throw new Error(`no package ${missing.join(', ')} in the image's apt sources (apt-cache pkgnames); add its repository with apt: sources`);
  }
  await aptGet(ctx, config, 'install', packages);
  ctx.log.info(`${where}: installed ${packages.join(' ')}`);
}

export type ServiceAction = 'enable' | 'disable' | 'start' | 'stop' | 'restart';

/**
 * cloud-init's manage_service. Returns whether it succeeded (or was left to
 * the running system); a failure is the caller's to report, as cloud-init's
 * callers try another unit name first.
 */
export async function manageService(ctx: Context, where: string, action: ServiceAction, service: string): Promise<Checked<'done' | 'left'>> {
  const systemd = usesSystemd(ctx.files, { installed: ctx.root !== '/' });
  const offline = systemd && (action === 'enable' || action === 'disable');
  const argv = systemd ? ['systemctl', action, service]
    : ['service', service, action === 'enable' ? 'start' : action === 'disable' ? 'stop' : action];
  if (!offline && !onRunningSystem(ctx, where, argv.join(' '))) return ok('left');
  if (which(ctx.files, argv[0]!) === null) return bad(`${argv[0]} is not installed`);
  const r = await ctx.capture(argv, { timeoutMs: 300_000 });
  if (r.code === 0) return ok('done');
  return bad(`${argv.join(' ')}: exit ${r.code ?? r.signal}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-2).join('; ')}` : ''}`);
}

// --- The same as actions (host/actions.ts), for modules of actions. ---

/**
 * Install `packages` (specs already checked) from the image's apt: apt-get
 * update once per instance, then — only when `apt-cache pkgnames` knows every
 * name (an unknown one is an error naming it) — apt-get install. Empty when
 * the root has no apt-get (reported).
 */
export function installActions(run: ActionRun, packages: string[], unit?: string): Action[] {
  if (packages.length === 0) return [];
  if (!haveAptGet(run, run.report, `${run.where} (installing ${packages.join(' ')})`)) return [];
  const actions: Action[] = [
    ...updateSourcesActions(run),
    {
      kind: 'run', argv: ['apt-cache', 'pkgnames'], timeoutMs: 120_000, failure: 'ignore', why: 'the packages apt knows',
      then: (known): Action[] => {
        if (known.code === 0) {
          const names = new Set(known.stdout.split('\n'));
          const missing = packages.filter((p) => !names.has(p.split('=')[0]!));
          if (missing.length) return [{ kind: 'report', level: 'error', message: `no package ${missing.join(', ')} in the image's apt sources (apt-cache pkgnames); add its repository with apt: sources` }];
        }
        return [aptGetAction(run, 'install', packages)];
      },
    },
  ];
  return unit === undefined ? actions : actions.map((a) => ({ ...a, unit }));
}

/**
 * cloud-init's manage_service as actions: systemctl when the root uses
 * systemd (enable/disable change files, so they run under --root too; start,
 * stop, restart are for the running system), else `service`. `failure`: what
 * a failure is (callers that try another unit name first pass 'ignore' and
 * look at the result with `then`).
 */
export function serviceActions(run: Pick<ActionRun, 'files' | 'root'>, action: ServiceAction, service: string,
  opts: { failure?: 'error' | 'warning' | 'ignore'; unit?: string; then?: RunAction['then'] } = {}): Action[] {
  const systemd = usesSystemd(run.files, { installed: run.root !== '/' });
  const offline = systemd && (action === 'enable' || action === 'disable');
  const argv = systemd ? ['systemctl', action, service]
    : ['service', service, action === 'enable' ? 'start' : action === 'disable' ? 'stop' : action];
  return [{
    kind: 'run', argv, timeoutMs: 300_000, why: `${action} ${service}`,
    ...(!offline && { runningSystem: 'optional' as const }),
    ...(opts.failure && { failure: opts.failure }), ...(opts.unit !== undefined && { unit: opts.unit }), ...(opts.then && { then: opts.then }),
  }];
}
