// package_update / package_upgrade / packages (cloud-init's
// cc_package_update_upgrade_install, stage final, per instance), with apt:
// apt-get update when asked, or when upgrading or installing; dist-upgrade;
// install of `packages` given as names, [name, version], name=version, or
// {apt: [...]}. Each step is tried even when an earlier one failed (as
// cloud-init), each failure is reported. package_reboot_if_required reboots
// only on the running system; under --root it is reported and skipped.
import type { Context } from '../context.ts';
import { aptGet, requireAptGet, updateSources } from './apt-get.ts';
import { isMapping, isTrue, onRunningSystem } from './helpers.ts';
import type { Module, ModuleRun, Schema } from './module.ts';

const REBOOT_MARKER = '/var/run/reboot-required';

const PACKAGE: Schema = {
  oneOf: [
    { type: 'string' },
    { type: 'array', items: { type: 'string' }, minItems: 1 },
  ],
};

const PACKAGES: Schema = {
  type: 'array',
  minItems: 1,
  items: {
    anyOf: [
      PACKAGE,
      {
        type: 'object',
        additionalProperties: false,
        properties: {
          apt: { type: 'array', items: PACKAGE },
          snap: { type: 'array', items: PACKAGE, description: 'snap packages: not supported by ec2-init (needs snapd and the network)' },
        },
      },
    ],
  },
};


/** One apt package spec: 'name', 'name=version', or [name, version] → 'name=version'. */
function aptSpec(item: unknown, label: string): string {
  if (typeof item === 'string' && item.trim()) return item.trim();
  if (Array.isArray(item) && item.length >= 1 && item.length <= 2 && item.every((w) => typeof w === 'string' || typeof w === 'number')) {
    return item.length === 2 ? `${item[0]}=${item[1]}` : String(item[0]);
  }
  throw new Error(`${label}: expected a package name, 'name=version' or [name, version], found ${JSON.stringify(item)}`);
}

/**
 * The apt packages of `packages`, and the problems of entries ec2-init cannot
 * install (snap, other package managers, malformed entries).
 */
export function aptPackages(list: unknown): { packages: string[]; problems: string[] } {
  const packages: string[] = [];
  const problems: string[] = [];
  if (list === undefined || list === null) return { packages, problems };
  if (!Array.isArray(list)) return { packages, problems: [`'packages' must be a list, found ${typeof list}`] };
  list.forEach((item, i) => {
    const label = `packages entry ${i + 1}`;
    try {
      if (isMapping(item)) {
        for (const [manager, items] of Object.entries(item)) {
          if (manager !== 'apt') {
            problems.push(`${label}: ${manager} packages (${JSON.stringify(items)}) are not supported: ec2-init installs apt packages only${manager === 'snap' ? ' (snap needs snapd and the network)' : ''}`);
            continue;
          }
          if (!Array.isArray(items)) { problems.push(`${label}: 'apt' must be a list of packages`); continue; }
          items.forEach((p, j) => packages.push(aptSpec(p, `${label} apt[${j}]`)));
        }
      } else {
        packages.push(aptSpec(item, label));
      }
    } catch (e) { problems.push((e as Error).message); }
  });
  return { packages, problems };
}

/** The value of a key or its deprecated apt_* alias (warning about the alias). */
function option(ctx: Context, config: Record<string, unknown>, where: string, key: string, alias: string): boolean {
  if (config[alias] !== undefined) {
    ctx.report('warning', where, `'${alias}' is deprecated: use '${key}'`);
  }
  const v = config[key] ?? config[alias];
  return v !== undefined && v !== null && isTrue(v);
}

async function run({ ctx, config, where, instanceId }: ModuleRun): Promise<void> {
  const update = option(ctx, config, where, 'package_update', 'apt_update');
  const upgrade = option(ctx, config, where, 'package_upgrade', 'apt_upgrade');
  const rebootIfRequired = option(ctx, config, where, 'package_reboot_if_required', 'apt_reboot_if_required');
  const { packages, problems } = aptPackages(config['packages']);
  for (const p of problems) ctx.report('error', where, p);
  if (!update && !upgrade && packages.length === 0) return;
  requireAptGet(ctx, 'package_update/package_upgrade/packages (the package_update_upgrade_install module)');

  const step = async (what: string, work: () => Promise<unknown>): Promise<boolean> => {
    try { await work(); return true; } catch (e) {
      ctx.report('error', `${where} ${what}`, (e as Error).message);
      return false;
    }
  };
  await step('update', () => updateSources(ctx, config, instanceId, where));
  if (upgrade) await step('upgrade', () => aptGet(ctx, config, 'upgrade'));
  if (packages.length) {
    if (await step('install', () => aptGet(ctx, config, 'install', packages))) {
      ctx.log.info(`${where}: installed ${packages.join(' ')}`);
    }
  }

  if (rebootIfRequired && (upgrade || packages.length) && ctx.files.exists(REBOOT_MARKER)) {
    if (onRunningSystem(ctx, where, `reboot (${REBOOT_MARKER} exists after the package changes)`)) {
      ctx.log.warn(`${where}: ${REBOOT_MARKER} exists: rebooting`);
      await ctx.runChecked(`${where} reboot`, ['/sbin/reboot'], { timeoutMs: 60_000 });
    }
  } else if (rebootIfRequired) {
    ctx.log.info(`${where}: no reboot required`);
  }
}

export const packageUpdateUpgradeInstall: Module = {
  name: 'package_update_upgrade_install',
  stage: 'final',
  frequency: 'per-instance',
  keys: ['packages', 'package_update', 'package_upgrade', 'package_reboot_if_required', 'apt_update', 'apt_upgrade', 'apt_reboot_if_required'],
  schema: {
    packages: PACKAGES,
    package_update: { type: 'boolean', description: 'apt-get update (implied by package_upgrade and packages)' },
    package_upgrade: { type: 'boolean', description: 'apt-get dist-upgrade' },
    package_reboot_if_required: { type: 'boolean', description: 'reboot when an upgrade or install left /var/run/reboot-required (never under --root)' },
    apt_update: { type: 'boolean', deprecated: "use 'package_update'" },
    apt_upgrade: { type: 'boolean', deprecated: "use 'package_upgrade'" },
    apt_reboot_if_required: { type: 'boolean', deprecated: "use 'package_reboot_if_required'" },
  },
  describe({ config }) {
    const { packages } = aptPackages(config['packages']);
    const upgrade = isTrue(config['package_upgrade'] ?? config['apt_upgrade']);
    const update = upgrade || packages.length > 0 || isTrue(config['package_update'] ?? config['apt_update']);
    return [
      ...(update ? ['apt-get update (once per instance)'] : []),
      ...(upgrade ? ['apt-get dist-upgrade'] : []),
      ...(packages.length ? [`apt-get install ${packages.join(' ')}`] : []),
    ];
  },
  run,
};
