// YAML read the way cloud-init's PyYAML reads it (src/yaml: YAML 1.1, so
// yes/no/on/off are booleans). Errors carry line and column so a user can
// find them, with PyYAML's own wording.
import { parseYaml as readYaml, YamlError as ReadError } from '../yaml/index.ts';

export class YamlError extends Error {
  readonly line: number;
  readonly column: number;
  constructor(where: string, line: number, column: number, reason: string) {
    super(`${where}: invalid YAML at line ${line}, column ${column}: ${reason}`);
    this.line = line;
    this.column = column;
  }
}

/** Parse one YAML document; `where` names the input in error messages. */
export function parseYaml(text: string, where: string): unknown {
  try {
    return readYaml(text);
  } catch (e) {
    if (e instanceof ReadError) throw new YamlError(where, e.line, e.column, e.reason);
    throw e;
  }
}

/** Parse YAML that must be a mapping (or empty); anything else is an error naming `where`. */
export function parseYamlMapping(text: string, where: string): Record<string, unknown> {
  const value = parseYaml(text, where);
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${where}: expected a mapping of keys to values, found ${Array.isArray(value) ? 'a list' : typeof value}`);
  }
  return value as Record<string, unknown>;
}

/**
 * A config ec2-init saved itself (user-config.txt): JSON under a
 * '#cloud-config' line, so later stages read it without the YAML parser.
 * Edited by hand into other YAML, it is still read, as YAML.
 */
export function readSavedConfig(text: string, where: string): Record<string, unknown> {
  // Not ours, or edited: read it as YAML.
  return readSavedJson(text) ?? parseYamlMapping(text, where);
}

/** A mapping toYaml wrote (after an optional '#cloud-config' line), or null when the text is not one. */
export function readSavedJson(text: string): Record<string, unknown> | null {
  try {
    // Bytes (YAML !!binary) were saved as {type: 'Buffer', data}: revived as bytes.
    const value = JSON.parse(text.replace(/^#cloud-config\n/, ''), (_k, v: unknown) =>
      (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)
        ? new Uint8Array((v as { data: number[] }).data) : v)) as unknown;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch { /* not JSON */ }
  return null;
}

export function toYaml(value: unknown): string {
  // JSON is valid YAML and needs no library on the write path. Indented for a
  // reader, unless aliases made it very deep: indentation would then grow with
  // the square of the depth (a 9 000-deep value: gigabytes), so it is compact.
  return JSON.stringify(value, (_k, v: unknown) =>
    (v instanceof Uint8Array ? { type: 'Buffer', data: Array.from(v) } : v), nestedDeeperThan(value, 100) ? undefined : 2) + '\n';
}

/** True when `value` has arrays or objects nested more than `limit` deep (walked without recursion). */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  const deepest = new Map<object, number>(); // a shared value (an alias) is walked again only from deeper
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null || v instanceof Uint8Array || (deepest.get(v) ?? -1) >= depth) continue;
    if (depth >= limit) return true;
    deepest.set(v, depth);
    for (const c of Array.isArray(v) ? v : Object.values(v)) stack.push([c, depth + 1]);
  }
  return false;
}
