// What several system modules share: cloud-init's value rules (truthy
// strings, mapping checks, comma lists, dotted lookup) and effects that need
// the running system (skipped under --root). cloud-init's template kinds are
// in template.ts (they load the Jinja engine, which nothing here needs).
import type { Context } from '../context.ts';

// ---------------------------------------------------------------------------
// cloud-init's value rules

/** A mapping, as cloud-init's isinstance(v, dict): a plain object (not a list, a date or bytes). */
export { isMapping } from '../yaml/index.ts';

export { isFalse, isTrue } from '../validate/bool.ts';
import { isTrue } from '../validate/bool.ts';

/** cloud-init's get_cfg_option_bool: absent (or null) → the default, else is_true. */
export function optionBool(config: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = config[key];
  return v === undefined || v === null ? dflt : isTrue(v);
}

/** "a, b,,c" → ['a', 'b', 'c']: split on commas, trimmed, empty names dropped. */
export function commaList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** The value at a dotted path ('v1.instance_id', 'ds.meta_data.placement.region'), or undefined. */
export function lookupPath(data: unknown, path: string): unknown {
  let v: unknown = data;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/**
 * Effects on the running system (hostname, service restarts, shutdown) happen
 * only when the root is /. Otherwise they are logged as skipped (DESIGN.md §2)
 * and this returns false.
 */
export function onRunningSystem(ctx: Context, where: string, what: string, opts: { essential?: boolean } = {}): boolean {
  if (ctx.root === '/') return true;
  ctx.log.info(`${where}: skipped with --root ${ctx.root} (needs the running system): ${what}`);
  // The module's whole point (partitions, volumes) was skipped: it stays to do on the real boot.
  if (opts.essential) ctx.neededRunningSystem = what;
  return false;
}

export { makeHeader, rfc2822 } from '../host/clock.ts';
