// apt-get as cloud-init's Debian distro runs it, for apt_configure and
// package_update_upgrade_install: the root's own apt-get (chrooted under
// --root), DEBIAN_FRONTEND=noninteractive, keep changed config files
// (--force-confold), `system_info.apt_get_command` / `apt_get_wrapper` /
// `apt_get_upgrade_subcommand` honoured. `apt-get update` runs at most once
// per instance however many modules ask (cloud-init's "update-sources").
import type { Action, RunAction } from '../host/actions.ts';
import type { RunResult } from '../host/run.ts';
import type { Files } from '../host/files.ts';
import { semPath } from '../state/semaphore.ts';
import type { ActionRun, Report } from './module.ts';
import type { Config } from '../config/merge.ts';
import { isMapping } from './helpers.ts';
import { which } from '../host/root-facts.ts';

const APT_GET_COMMAND = ['apt-get', '--option=Dpkg::Options::=--force-confold', '--option=Dpkg::options::=--force-unsafe-io', '--assume-yes', '--quiet'];
/** An hour: a dist-upgrade of a whole image on a slow mirror takes a while. */
const TIMEOUT_MS = 3_600_000;


function systemInfo(config: Config): Record<string, unknown> {
  return isMapping(config['system_info']) ? config['system_info'] : {};
}

/** The argv for one apt-get subcommand ('update', 'upgrade', 'install' + packages). */
export function aptGetArgv(ctx: { files: Pick<Files, 'stat'> }, config: Config, command: string, packages: string[] = []): string[] {
  const info = systemInfo(config);
  const given = info['apt_get_command'];
  const base = Array.isArray(given) && given.length > 0 ? given.map(String) : APT_GET_COMMAND;
  // cloud-init waits up to 5 minutes for another apt/dpkg to let go of its lock.
  const argv = [...base, '--option=DPkg::Lock::Timeout=300'];
  const wrapper = isMapping(info['apt_get_wrapper']) ? info['apt_get_wrapper'] : {};
  const wrapCommand = wrapper['command'] ?? 'eatmydata';
  const enabled = wrapper['enabled'] ?? 'auto';
  const words = Array.isArray(wrapCommand) ? wrapCommand.map(String) : [String(wrapCommand)];
  const useWrapper = enabled === true || enabled === 'true' || (enabled === 'auto' && which(ctx.files, words[0]!) !== null);
  const sub = command === 'upgrade' && typeof info['apt_get_upgrade_subcommand'] === 'string' ? info['apt_get_upgrade_subcommand']
    : command === 'upgrade' ? 'dist-upgrade' : command;
  return [...(useWrapper ? words : []), ...argv, sub, ...packages];
}

/** False (reported as an error naming `what`) when the root has no apt-get: the module then plans nothing. */
export function haveAptGet(run: Pick<ActionRun, 'files' | 'root'>, report: Report, what: string): boolean {
  if (which(run.files, 'apt-get') !== null) return true;
  report('error', `apt-get not found under the root ${run.root}: ${what} needs apt (a Debian-family image); nothing was changed`);
  return false;
}

/** One apt-get subcommand as a run action; a failure's message carries apt's last lines (its 'E:' lines). */
export function aptGetAction(run: Pick<ActionRun, 'files' | 'config'>, command: string, packages: string[] = []): RunAction {
  const argv = aptGetArgv(run, run.config, command, packages);
  // The subcommand apt-get is given (upgrade is dist-upgrade unless system_info says otherwise).
  const sub = argv[argv.length - 1 - packages.length];
  return {
    kind: 'run', argv, env: { DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: TIMEOUT_MS,
    why: `apt-get ${sub}${packages.length ? ` ${packages.join(' ')}` : ''}`,
  };
}

/**
 * apt-get update, once per instance (cloud-init's update_package_sources):
 * nothing when it already ran for this instance; else the update, a warning
 * naming the sources it could not fetch (it exits 0 then), and its semaphore.
 */
export function updateSourcesActions(run: Pick<ActionRun, 'files' | 'config' | 'instanceId' | 'where' | 'plannedFiles'>): Action[] {
  const sem = semPath(run.instanceId, 'update-sources', 'per-instance');
  // plan: a module before this one (apt_configure, byobu) will have run it (plan/index.ts counts its mark as written).
  if (sem !== null && (run.files.exists(sem) || run.plannedFiles?.includes(sem))) return [];
  return [
    {
      ...aptGetAction(run, 'update'), logOutput: true,
      then: (r: RunResult): Action[] => {
        const failed = r.stdout.split('\n').filter((l: string) => /^W: /.test(l) && /Failed to fetch|failed to download/.test(l));
        return failed.length ? [{ kind: 'report', level: 'warning', message: `apt-get update: ${failed.slice(0, 3).join('; ')}` }] : [];
      },
    },
    ...(sem === null ? [] : [{ kind: 'mark', path: sem } as const]),
  ];
}
