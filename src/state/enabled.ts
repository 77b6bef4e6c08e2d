// Whether ec2-init runs this boot: the one rule the boot obeys and `status`
// reports. cloud-init's precedence (its boot decides in ds-identify's
// is_disabled, its status names the reason in doc/rtd/howto/status.rst): a
// disable file turns it off whatever the kernel command line says; then the
// environment variable KERNEL_CMDLINE when it is `cloud-init=disabled` (or
// `ec2-init=disabled`): cloud-init's documented way to turn a container off
// (systemd's DefaultEnvironment); then any `cloud-init=disabled` /
// `ec2-init=disabled` word on the command line (a container's: PID 1's); an
// `…=enabled` word only names why an enabled boot is on. `status`, run from
// a shell, also asks systemd's manager for the variable (bootCodeAsked).
import type { Files } from '../host/files.ts';
import { envVar } from '../host/process.ts';
import { kernelCmdline, usesSystemd } from '../host/root-facts.ts';
import { runProgram } from '../host/run.ts';
import { layout } from './layout.ts';

/** The files that turn the boot off (DESIGN.md §5), cloud-init's own included: an image that disabled cloud-init meant it. */
export const DISABLED_FILES = [layout.disabledFile, '/etc/cloud/cloud-init.disabled'];

/** Why the boot is on or off, in cloud-init's words (its boot_status_code and detail). */
export interface BootCode { code: string; reason: string; enabled: boolean }

const word = (cmdline: string, value: 'enabled' | 'disabled') => new RegExp(`(^|\\s)(cloud-init|ec2-init)=${value}(\\s|$)`).exec(cmdline);

/** `env`: the process's KERNEL_CMDLINE (its whole value counts, as ds-identify and the units' ConditionEnvironment compare it). */
export function bootCode(files: Files, env: string | undefined = envVar('KERNEL_CMDLINE')): BootCode {
  const file = DISABLED_FILES.find((f) => files.exists(f));
  if (file) return { code: 'disabled-by-marker-file', reason: `disabled by ${file}`, enabled: false };
  const byVariable = offByVariable(env, '');
  if (byVariable) return byVariable;
  const cmdline = kernelCmdline(files);
  const off = word(cmdline, 'disabled');
  if (off) return { code: 'disabled-by-kernel-command-line', reason: `disabled by ${off[2]}=disabled on the kernel command line`, enabled: false };
  if (word(cmdline, 'enabled')) return { code: 'enabled-by-kernel-command-line', reason: 'enabled by the kernel command line', enabled: true };
  if (!usesSystemd(files)) return { code: 'enabled-by-sysvinit', reason: 'enabled on sysvinit', enabled: true };
  return { code: 'enabled-by-generator', reason: 'enabled by the ec2-init systemd units', enabled: true };
}

/** Off by KERNEL_CMDLINE's value (`from`: where the value was read, for the reason), or null. */
function offByVariable(env: string | undefined, from: string): BootCode | null {
  if (env !== 'cloud-init=disabled' && env !== 'ec2-init=disabled') return null;
  return { code: 'disabled-by-environment-variable', reason: `disabled by the environment variable KERNEL_CMDLINE=${env}${from}`, enabled: false };
}

/**
 * KERNEL_CMDLINE in systemd's manager environment (`systemctl show-environment`):
 * what the units are started with (DefaultEnvironment= in system.conf,
 * `systemctl set-environment`, `systemd.setenv=`) and their
 * ConditionEnvironment reads. PID 1's own environment (/proc/1/environ) is
 * not it: the system manager passes none of it to units. undefined when
 * systemctl does not answer (no manager: an image under --root).
 */
async function managerKernelCmdline(root: string): Promise<string | undefined> {
  const r = await runProgram(root, ['systemctl', 'show-environment'], { output: 'capture', timeoutMs: 5000 });
  if (r.code !== 0) return undefined;
  const line = r.stdout.split('\n').find((l) => l.startsWith('KERNEL_CMDLINE='));
  return line?.slice('KERNEL_CMDLINE='.length);
}

const MANAGER_SOCKETS = ['/run/systemd/private', '/run/dbus/system_bus_socket'];

/**
 * bootCode for `status` and `cloud-id`, which a user runs from a shell that
 * does not have the units' environment: where systemd runs, the manager's
 * KERNEL_CMDLINE counts too (cloud-init's status asks `systemctl
 * show-environment` the same way), in the same place of the order.
 */
export async function bootCodeAsked(files: Files): Promise<BootCode> {
  const own = bootCode(files);
  if (own.code === 'disabled-by-marker-file' || own.code === 'disabled-by-environment-variable' || !usesSystemd(files)) return own;
  // No socket to reach the manager by (systemctl's own as root, D-Bus's otherwise): no manager to ask (an image under --root).
  if (!MANAGER_SOCKETS.some((p) => files.exists(p))) return own;
  return offByVariable(await managerKernelCmdline(files.root), " (systemd's manager environment)") ?? own;
}

