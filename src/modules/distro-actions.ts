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
import { aptGetAction, haveAptGet, updateSourcesActions } from './apt-get.ts';
import type { Action, RunAction } from '../host/actions.ts';
import type { ActionRun } from './module.ts';

// The name validators are validate/packages.ts's; re-exported for the modules that import them from here.
export { packageSpec, serviceName } from '../validate/packages.ts';

/** cloud-init's manage_service verbs ('reload': systemctl reload-or-restart, `service … restart` without systemd). */
export type ServiceAction = 'enable' | 'disable' | 'start' | 'stop' | 'restart' | 'reload';

/**
 * Install `packages` (specs already checked) from the image's apt: apt-get
 * update once per instance, then — only when `apt-cache pkgnames` knows every
 * name (an unknown one is an error naming it) — apt-get install. Empty when
 * the root has no apt-get (reported). `after`: what must come once the
 * packages are there (it reads what they installed): its actions follow the
 * install's result (or come at once when there is nothing to install).
 */
export function installActions(run: ActionRun, packages: string[], unit?: string, after?: () => Action[]): Action[] {
  if (packages.length === 0) return after?.() ?? [];
  if (!haveAptGet(run, run.report, `${run.where} (installing ${packages.join(' ')})`)) return [];
  return withUnit(unit, [
    ...updateSourcesActions(run),
    knownPackages((names) => {
      const missing = packages.filter((p) => !names.has(p.split('=')[0]!));
      if (missing.length) return [{ kind: 'report', level: 'error', message: `no package ${missing.join(', ')} in the image's apt sources (apt-cache pkgnames); add its repository with apt: sources` }];
      return [installing(run, packages, after)];
    }, () => [installing(run, packages, after)]),
  ]);
}

/**
 * Install the first of `candidates` (specs already checked) that apt knows
 * (cloud-init's puppet tries puppet-agent, then puppet). None known: a
 * warning naming them all (no apt-get too), and `after` still comes (the
 * tool may be there).
 */
export function installFirstActions(run: ActionRun, candidates: string[], unit?: string, after?: () => Action[]): Action[] {
  if (which(run.files, 'apt-get') === null) {
    run.report('warning', `no installable package in any of: ${candidates.join(', ')} (apt-get not found under the root ${run.root})`);
    return after?.() ?? [];
  }
  return withUnit(unit, [
    ...updateSourcesActions(run),
    knownPackages((names) => {
      const first = candidates.find((p) => names.has(p.split('=')[0]!));
      const skipped = candidates.slice(0, first === undefined ? candidates.length : candidates.indexOf(first));
      const said: Action[] = skipped.length ? [{ kind: 'log', text: `${run.where}: ${skipped.join(', ')} not in the image's apt sources (apt-cache pkgnames)` }] : [];
      if (first === undefined) {
        return [...said, { kind: 'report', level: 'warning', message: `no installable package in any of: ${candidates.join(', ')} (apt-cache pkgnames knows none of them)` }, ...(after?.() ?? [])];
      }
      return [...said, installing(run, [first], after)];
    }, () => [installing(run, [candidates[0]!], after)]),
  ]);
}

/** `apt-cache pkgnames`, then what follows from the names it knows (or, when it fails, `unknown()`: apt-get install says). */
function knownPackages(known: (names: Set<string>) => Action[], unknown: () => Action[]): Action {
  return {
    kind: 'run', argv: ['apt-cache', 'pkgnames'], timeoutMs: 120_000, failure: 'ignore', why: 'the packages apt knows',
    then: (r) => (r.code === 0 ? known(new Set(r.stdout.split('\n'))) : unknown()),
  };
}

function installing(run: ActionRun, packages: string[], after?: () => Action[]): Action {
  const install = aptGetAction(run, 'install', packages);
  return after ? { ...install, then: () => after() } : install;
}

const withUnit = (unit: string | undefined, actions: Action[]): Action[] => (unit === undefined ? actions : actions.map((a) => ({ ...a, unit })));

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
  const argv = systemd ? ['systemctl', action === 'reload' ? 'reload-or-restart' : action, service]
    : ['service', service, action === 'enable' ? 'start' : action === 'disable' ? 'stop' : action === 'reload' ? 'restart' : action];
  return [{
    kind: 'run', argv, timeoutMs: 300_000, why: `${action} ${service}`,
    ...(!offline && { runningSystem: 'optional' as const }),
    ...(opts.failure && { failure: opts.failure }), ...(opts.unit !== undefined && { unit: opts.unit }), ...(opts.then && { then: opts.then }),
  }];
}

/**
 * Each of `actions` on `service` in turn (enable, then restart), a failure an
 * error that stops the rest: salt_minion's and wireguard's way.
 */
export function serviceSequence(run: Pick<ActionRun, 'files' | 'root'>, service: string, actions: ServiceAction[], unit?: string): Action[] {
  return actions.flatMap((a) => serviceActions(run, a, service, unit === undefined ? {} : { unit }));
}

/**
 * `action` on the first of `services` that takes it (cloud-init's puppet:
 * puppet-agent.service, then puppet.service); none: a warning naming them.
 * `then` gets the one that did (null: none), for what follows.
 */
export function firstServiceActions(run: Pick<ActionRun, 'files' | 'root'>, action: ServiceAction, services: string[], then: (service: string | null) => Action[] = () => []): Action[] {
  const attempt = (i: number): Action[] => serviceActions(run, action, services[i]!, {
    failure: 'ignore',
    then: (r) => (r.code === 0 ? then(services[i]!)
      : i + 1 < services.length ? attempt(i + 1)
        : [{ kind: 'report', level: 'warning', message: `could not ${action} any of the services ${services.join(', ')}` }, ...then(null)]),
  });
  return attempt(0);
}
