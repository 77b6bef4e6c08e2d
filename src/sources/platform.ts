// What the machine says it is, from local files only (under the root): DMI,
// the Xen hypervisor uuid, the kernel command line, PID 1's environment, and
// whether a given file exists. Read once per search; every source's detect()
// looks here and nowhere else, so a cloud this machine is not on costs no
// request (cloud-init's ds-identify works the same way).
import type { Files } from '../host/files.ts';
import { kernelCmdline } from '../host/root-facts.ts';

/** The DMI fields clouds are told apart by (/sys/class/dmi/id/<field>). */
export const DMI_FIELDS = [
  'sys_vendor', 'product_name', 'product_serial', 'product_uuid', 'product_version',
  'chassis_asset_tag', 'chassis_vendor', 'board_vendor', 'board_name', 'board_serial', 'bios_vendor', 'bios_version',
] as const;
export type DmiField = typeof DMI_FIELDS[number];

export interface Platform {
  /** Each DMI field, trimmed; '' when the file is absent (no DMI: containers, some arm machines). */
  dmi: Record<DmiField, string>;
  /** /sys/hypervisor/uuid (Xen), lower case; '' when absent. */
  hypervisorUuid: string;
  /** The kernel command line of the system being booted ('' under a root without /proc/cmdline). */
  cmdline: string;
  /** PID 1's environment (container managers put their name there), read on first use. */
  pid1Environ(): string[];
  /** A path exists under the root (a socket, a device, a tool the platform installs). */
  exists(path: string): boolean;
}

export function readPlatform(files: Files): Platform {
  // Read once per root per process: stage init searches twice (a late seed, then the network), boot four stages.
  let platform = PLATFORMS.get(files);
  if (!platform) PLATFORMS.set(files, platform = readFresh(files));
  return platform;
}

/** DMI and the hypervisor uuid do not change while ec2-init runs; exists() and pid 1's environment are read when asked. */
const PLATFORMS = new WeakMap<Files, Platform>();

function readFresh(files: Files): Platform {
  const read = (path: string): string => {
    try { return files.readTextIfExists(path, 4096)?.trim() ?? ''; } catch { return ''; }
  };
  const dmi = Object.fromEntries(DMI_FIELDS.map((f) => [f, read(`/sys/class/dmi/id/${f}`)])) as Record<DmiField, string>;
  let environ: string[] | null = null;
  return {
    dmi,
    hypervisorUuid: read('/sys/hypervisor/uuid').toLowerCase(),
    cmdline: kernelCmdline(files),
    pid1Environ() {
      if (environ === null) {
        try { environ = (files.readTextIfExists('/proc/1/environ', 65536) ?? '').split('\0').filter(Boolean); } catch { environ = []; }
      }
      return environ;
    },
    exists(path) {
      try { return files.lstat(path) !== null; } catch { return false; }
    },
  };
}
