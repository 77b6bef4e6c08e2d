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
import { aptGet, requireAptGet, updateSources } from './apt-get.ts';
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
