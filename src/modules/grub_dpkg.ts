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
import type { Action } from '../host/actions.ts';
import { debconfValue } from '../validate/modules.ts';
import { which } from '../host/root-facts.ts';
import type { Checked } from '../validate/check.ts';
import { isFalse, isMapping, isTrue } from './helpers.ts';
import { actionModule, type ActionRun, type ModuleRun, type Schema } from './module.ts';

type GrubConfig = Record<string, unknown>;

function grubConfig(config: ModuleRun['config']): GrubConfig {
  const v = config['grub_dpkg'] ?? config['grub-dpkg'];
  return isMapping(v) ? v : {};
}

/** cloud-init's rule: `enabled` absent is false (since 24.4); present, anything but a false word enables. */
export function grubEnabled(cfg: GrubConfig): boolean {
  return 'enabled' in cfg && !isFalse(cfg['enabled']);
}

/** A configured device, checked to be one debconf line (null: not given, to be probed). */
function given(cfg: GrubConfig, key: string): Checked<string> | null {
  const v = cfg[key];
  if (v === undefined || v === null) return null;
  const c = debconfValue(typeof v === 'boolean' ? (v ? 'True' : 'False') : v);
  return c.ok ? c : { ok: false, why: `grub_dpkg.${key}: ${c.why}` };
}

/** The debconf lines for `devices` (the configured or probed device, '' when none). */
export function debconfSelections(cfg: GrubConfig, efi: boolean, devices: string): string {
  if (efi) return `grub-pc grub-efi/install_devices string ${devices}\n`;
  const given = cfg['grub-pc/install_devices_empty'];
  const empty = given === undefined || given === null ? devices === '' : typeof given === 'boolean' ? given : isTrue(given);
  return `grub-pc grub-pc/install_devices string ${devices}\ngrub-pc grub-pc/install_devices_empty boolean ${empty}\n`;
}

/**
 * cloud-init's fetch_idevs: the disk (or EFI partition) /boot is on, by its
 * by-id link when it has one. Two read-only programs of the running system:
 * nothing is probed under --root, and plan does not know the answer.
 */
async function probeDevice({ files, root, log, query, report, where }: ActionRun, efi: boolean): Promise<string> {
  if (root !== '/') { log.info(`${where}: skipped with --root ${root} (needs the running system): grub-probe of ${efi ? '/boot/efi' : '/boot'}`); return ''; }
  if (which(files, 'grub-probe') === null) { log.info(`${where}: grub-probe not found (grub not installed): no device`); return ''; }
  const r = await query(['grub-probe', '-t', efi ? 'device' : 'disk', efi ? '/boot/efi' : '/boot'], { timeoutMs: 60_000 });
  if (r === null) return '';
  if (r.code !== 0) {
    if (!/failed to get canonical path/.test(r.stderr)) report('warning', `grub-probe failed (exit ${r.code}): ${r.stderr.trim()}`);
    return '';
  }
  const disk = r.stdout.trim();
  if (!disk || !files.exists(disk)) return '';
  const u = await query(['udevadm', 'info', '--root', '--query=symlink', disk], { timeoutMs: 30_000 });
  const byId = (u?.code === 0 ? u.stdout.trim().split(/\s+/) : []).filter((d) => d.includes('disk/by-id')).sort();
  const c = debconfValue(byId[0] ?? disk);
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

interface GrubValue { enabled: boolean; cfg: GrubConfig; pc: Checked<string> | null; efi: Checked<string> | null }

export const grubDpkg = actionModule<GrubValue>({
  name: 'grub_dpkg',
  stage: 'config',
  frequency: 'per-instance',
  keys: ['grub_dpkg', 'grub-dpkg'],
  schema: { grub_dpkg: GRUB_SCHEMA, 'grub-dpkg': { ...GRUB_SCHEMA, deprecated: 'grub-dpkg is deprecated since cloud-init 22.2: use grub_dpkg' } },
  check(config) {
    const cfg = grubConfig(config);
    // Off unless enabled: debconf is left alone (said in the log by actions()).
    if (!grubEnabled(cfg)) return { enabled: false, cfg, pc: null, efi: null };
    // Each device is checked here; which one counts depends on the boot mode (a fact of the machine).
    return { enabled: true, cfg, pc: given(cfg, 'grub-pc/install_devices'), efi: given(cfg, 'grub-efi/install_devices') };
  },
  async actions({ enabled, cfg, pc, efi: efiDevice }, run): Promise<Action[]> {
    const { files, report, log, where } = run;
    if (!enabled) { log.info(`${where}: not enabled (grub_dpkg.enabled): debconf left alone`); return []; }
    const efi = files.exists('/sys/firmware/efi');
    const device = efi ? efiDevice : pc;
    if (device && !device.ok) { report('error', device.why); return []; }
    const devices = device?.value ?? await probeDevice(run, efi);
    if (which(files, 'debconf-set-selections') === null) {
      report('error', 'debconf-set-selections not found under the root (package debconf): nothing set');
      return [];
    }
    return [{
      kind: 'run', argv: ['debconf-set-selections'], input: debconfSelections(cfg, efi, devices), timeoutMs: 60_000,
      why: `${efi ? 'grub-efi' : 'grub-pc'}/install_devices '${devices}'`,
    }];
  },
});
