// Frequencies on disk. A semaphore is written only after its work finished,
// so a boot cut short does that work again, and finished work never repeats.
import type { Context } from '../context.ts';
import type { Frequency } from '../types.ts';
import { failpoint } from './failpoint.ts';
import { layout } from './layout.ts';

export function semPath(instanceId: string, name: string, freq: Frequency): string | null {
  if (freq === 'per-boot') return null;
  return freq === 'once' ? layout.onceSem(name) : layout.sem(instanceId, name);
}

/**
 * A module's semaphore name, as cloud-init names it (`config_write_files`),
 * so an instance that booted with cloud-init and then got ec2-init does not
 * run its per-instance and once modules a second time at the next reboot.
 */
export function moduleSem(module: string): string {
  return `config_${module.replace(/-/g, '_')}`;
}

/** True when work `name` with this frequency has already been done. */
export function alreadyDone(ctx: Context, instanceId: string, name: string, freq: Frequency): boolean {
  const path = semPath(instanceId, name, freq);
  return path !== null && ctx.files.exists(path);
}

/** Mark work `name` done (after it finished). */
export function markDone(ctx: Context, instanceId: string, name: string, freq: Frequency): void {
  failpoint(`before-sem:${name}`);
  const path = semPath(instanceId, name, freq);
  if (path !== null) ctx.files.write(path, `${new Date().toISOString()}\n`, { mode: 0o644 });
  failpoint(`after-sem:${name}`);
}
