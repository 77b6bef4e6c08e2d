// grub_dpkg (cloud-init's cc_grub_dpkg, as of 25.1), once per instance in
// stage config: tell debconf which disk grub-pc installs to
// (grub-pc/install_devices and install_devices_empty; on an EFI boot
// grub-efi/install_devices), so a later grub upgrade does not stop at a
// question or install to a disk that is gone. Off unless
// `grub_dpkg: {enabled: true}`: cloud-init turned it off by default in 24.4
// (22.4 ran it on every first boot). A device not given is found as
// cloud-init finds it: `grub-probe -t disk /boot` (`-t device /boot/efi` on
// EFI), then its /dev/disk/by-id link from `udevadm info --query=symlink`;
// probing needs the running system, so under --root nothing is probed and
// the device is left empty. The answers go to the root's debconf through its
// own debconf-set-selections, each value checked to be one line first.
import type { Context } from '../context.ts';
import { debconfValue } from '../validate/modules.ts';
import { which } from '../host/root-facts.ts';
import { isFalse, isMapping, isTrue, onRunningSystem } from './helpers.ts';
import type { Module, ModuleRun, Schema } from './module.ts';

type GrubConfig = Record<string, unknown>;

function grubConfig(config: ModuleRun['config']): GrubConfig {
  const v = config['grub_dpkg'] ?? config['grub-dpkg'];
  return isMapping(v) ? v : {};
}

/** cloud-init's rule: `enabled` absent is false (since 24.4); present, anything but a false word enables. */
export function grubEnabled(cfg: GrubConfig): boolean {
  return 'enabled' in cfg && !isFalse(cfg['enabled']);
}

function checked(key: string, v: unknown): string {
  const c = debconfValue(typeof v === 'boolean' ? (v ? 'True' : 'False') : v);
  if (!c.ok) throw new Error(`grub_dpkg.${key}: ${c.why}`);
  return c.value;
}

/** The debconf lines for `devices` (the configured or probed device, '' when none). */
export function debconfSelections(cfg: GrubConfig, efi: boolean, devices: string): string {
  if (efi) return `grub-pc grub-efi/install_devices string ${devices}\n`;
  const given = cfg['grub-pc/install_devices_empty'];
  const empty = given === undefined || given === null ? devices === '' : typeof given === 'boolean' ? given : isTrue(given);
  return `grub-pc grub-pc/install_devices string ${devices}\ngrub-pc grub-pc/install_devices_empty boolean ${empty}\n`;
}

/** The configured device for this boot mode, or null when it is to be probed. */
function givenDevice(cfg: GrubConfig, efi: boolean): string | null {
  const key = efi ? 'grub-efi/install_devices' : 'grub-pc/install_devices';
  return cfg[key] === undefined || cfg[key] === null ? null : checked(key, cfg[key]);
}

/** cloud-init's fetch_idevs: the disk (or EFI partition) /boot is on, by its by-id link when it has one. */
async function probeDevice(ctx: Context, where: string, efi: boolean): Promise<string> {
  if (!onRunningSystem(ctx, where, `grub-probe of ${efi ? '/boot/efi' : '/boot'}`)) return '';
  if (which(ctx.files, 'grub-probe') === null) { ctx.log.info(`${where}: grub-probe not found (grub not installed): no device`); return ''; }
  const r = await ctx.capture(['grub-probe', '-t', efi ? 'device' : 'disk', efi ? '/boot/efi' : '/boot'], { timeoutMs: 60_000 });
  const disk = r.code === 0 ? r.stdout.trim() : '';
  if (r.code !== 0) {
    if (!/failed to get canonical path/.test(r.stderr)) ctx.report('warning', where, `grub-probe failed (exit ${r.code}): ${r.stderr.trim()}`);
    return '';
  }
  if (!disk || !ctx.files.exists(disk)) return '';
  const u = await ctx.capture(['udevadm', 'info', '--root', '--query=symlink', disk], { timeoutMs: 30_000 });
  const byId = (u.code === 0 ? u.stdout.trim().split(/\s+/) : []).filter((d) => d.includes('disk/by-id')).sort();
  const chosen = byId[0] ?? disk;
  const c = debconfValue(chosen);
  return c.ok ? c.value : '';
}

const GRUB_SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean', description: 'set the debconf answers (default false since cloud-init 24.4)' },
    'grub-pc/install_devices': { type: 'string', description: 'the disk grub-pc installs to (default: grub-probe of /boot)' },
    'grub-pc/install_devices_empty': { oneOf: [{ type: 'boolean' }, { type: 'string', deprecated: 'a string here is deprecated since cloud-init 22.3: use a boolean' }] },
    'grub-efi/install_devices': { type: 'string', description: 'the partition grub-efi installs to (default: grub-probe of /boot/efi)' },
  },
};

export const grubDpkg: Module = {
  name: 'grub_dpkg',
  stage: 'config',
  frequency: 'per-instance',
  keys: ['grub_dpkg', 'grub-dpkg'],
  schema: { grub_dpkg: GRUB_SCHEMA, 'grub-dpkg': { ...GRUB_SCHEMA, deprecated: 'grub-dpkg is deprecated since cloud-init 22.2: use grub_dpkg' } },
  describe: ({ ctx, config }) => {
    const cfg = grubConfig(config);
    if (!grubEnabled(cfg)) return ['grub_dpkg not enabled: debconf left alone'];
    const efi = ctx.files.exists('/sys/firmware/efi');
    try {
      const dev = givenDevice(cfg, efi);
      return [`debconf-set-selections: ${efi ? 'grub-efi' : 'grub-pc'}/install_devices ${dev === null ? '(probed on the running system)' : JSON.stringify(dev)}`];
    } catch (e) {
      return [`not set: ${(e as Error).message}`];
    }
  },
  async run({ ctx, config, where }) {
    const cfg = grubConfig(config);
    if (!grubEnabled(cfg)) { ctx.log.info(`${where}: not enabled (grub_dpkg.enabled): debconf left alone`); return; }
    const efi = ctx.files.exists('/sys/firmware/efi');
    const devices = givenDevice(cfg, efi) ?? await probeDevice(ctx, where, efi);
    const selections = debconfSelections(cfg, efi, devices);
    if (which(ctx.files, 'debconf-set-selections') === null) throw new Error('debconf-set-selections not found under the root (package debconf): nothing set');
    if (await ctx.runChecked(where, ['debconf-set-selections'], { input: selections, timeoutMs: 60_000 })) {
      ctx.log.info(`${where}: ${efi ? 'grub-efi' : 'grub-pc'}/install_devices set to '${devices}' in debconf`);
    }
  },
};
