// cloud-init's truth rules (util.is_true, util.is_false), one home for every
// layer that reads a yes/no from outside: modules' config, network config v1
// (accept-ra), Azure's ovf-env.xml.

const TRUE_STRINGS = ['true', '1', 'on', 'yes'];
const FALSE_STRINGS = ['off', '0', 'no', 'false'];

/** str(value) as cloud-init compares it, for strings and numbers; null for the rest (no list or mapping matches). */
function scalarText(value: unknown): string | null {
  return typeof value === 'string' || typeof value === 'number' ? String(value).toLowerCase().trim() : null;
}

/** cloud-init's util.is_true (and translate_bool): true, or str(value) is 'true', '1', 'on', 'yes' (plus `addons`). */
export function isTrue(value: unknown, addons: string[] = []): boolean {
  if (typeof value === 'boolean') return value;
  const text = scalarText(value);
  return text !== null && [...TRUE_STRINGS, ...addons].includes(text);
}

/** cloud-init's util.is_false: false, or str(value) is 'off', '0', 'no', 'false'. */
export function isFalse(value: unknown): boolean {
  if (typeof value === 'boolean') return !value;
  const text = scalarText(value);
  return text !== null && FALSE_STRINGS.includes(text);
}
