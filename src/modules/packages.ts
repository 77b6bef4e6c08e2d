// package_update / package_upgrade / packages (cloud-init's
// cc_package_update_upgrade_install, stage final, per instance), with apt:
// apt-get update when asked, or when upgrading or installing; dist-upgrade;
// install of `packages` given as names, [name, version], name=version, or
// {apt: [...]}. Each step is tried even when an earlier one failed (as
// cloud-init), each failure is reported. package_reboot_if_required reboots
// only on the running system; under --root it is reported and skipped.
import type { Action } from '../host/actions.ts';
import { aptGetAction, haveAptGet, updateSourcesActions } from './apt-get.ts';
import { packageSpec } from '../validate/packages.ts';
import { isMapping, isTrue } from './helpers.ts';
import { actionModule, type Report, type Schema } from './module.ts';

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

/** A spec goes into apt-get's argv: a Debian package name (=version), never an option or two words. */
function checkedSpec(spec: string, label: string): string {
  const c = packageSpec(spec);
  if (!c.ok) throw new Error(`${label}: '${spec}': ${c.why}; left out`);
  return c.value;
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
          items.forEach((p, j) => {
            try { packages.push(checkedSpec(aptSpec(p, `${label} apt[${j}]`), `${label} apt[${j}]`)); } catch (e) { problems.push((e as Error).message); }
          });
        }
      } else {
        packages.push(checkedSpec(aptSpec(item, label), label));
      }
    } catch (e) { problems.push((e as Error).message); }
  });
  return { packages, problems };
}

/** The value of a key or its deprecated apt_* alias (warning about the alias). */
function option(report: Report, config: Record<string, unknown>, key: string, alias: string): boolean {
  if (config[alias] !== undefined) report('warning', `'${alias}' is deprecated: use '${key}'`);
  const v = config[key] ?? config[alias];
  return v !== undefined && v !== null && isTrue(v);
}

/** What the config asks for, checked. */
export interface PackagesValue { upgrade: boolean; rebootIfRequired: boolean; packages: string[] }

/**
 * Whether the package changes left /var/run/reboot-required: a fact only the
 * changes make, so a program asked after them (`test -e`, in the root), and
 * the reboot follows from its answer, on the running system only.
 */
function rebootIfRequired(where: string): Action {
  return {
    kind: 'run', argv: ['test', '-e', REBOOT_MARKER], failure: 'ignore', unit: 'reboot', why: `is there ${REBOOT_MARKER}`,
    then: (r): Action[] => (r.code !== 0 ? [{ kind: 'log', text: `${where}: no reboot required` }] : [
      { kind: 'log', text: `${where}: ${REBOOT_MARKER} exists: rebooting` },
      { kind: 'run', argv: ['/sbin/reboot'], timeoutMs: 60_000, runningSystem: 'optional', why: `reboot: ${REBOOT_MARKER} exists after the package changes` },
    ]),
  };
}

export const packageUpdateUpgradeInstall = actionModule<PackagesValue>({
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
  check(config, report) {
    const update = option(report, config, 'package_update', 'apt_update');
    const upgrade = option(report, config, 'package_upgrade', 'apt_upgrade');
    const reboot = option(report, config, 'package_reboot_if_required', 'apt_reboot_if_required');
    const { packages, problems } = aptPackages(config['packages']);
    for (const p of problems) report('error', p);
    if (!update && !upgrade && packages.length === 0) return null;
    return { upgrade, rebootIfRequired: reboot, packages };
  },
  actions(value, run) {
    if (!haveAptGet(run, run.report, 'package_update/package_upgrade/packages (the package_update_upgrade_install module)')) return [];
    // Each step is tried even when one before it failed (as cloud-init): each its own unit.
    const actions: Action[] = [
      ...updateSourcesActions(run).map((a) => ({ ...a, unit: 'update' })),
      ...(value.upgrade ? [{ ...aptGetAction(run, 'upgrade'), unit: 'upgrade' }] : []),
      ...(value.packages.length ? [{ ...aptGetAction(run, 'install', value.packages), unit: 'install' }] : []),
    ];
    if (value.rebootIfRequired && (value.upgrade || value.packages.length)) actions.push(rebootIfRequired(run.where));
    else if (value.rebootIfRequired) actions.push({ kind: 'log', text: `${run.where}: no reboot required` });
    return actions;
  },
});
