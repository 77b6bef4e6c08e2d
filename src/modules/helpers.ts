// What several system modules share: cloud-init's truthy strings, finding a
// program inside the root, effects that need the running system (skipped
// under --root), and cloud-init's two template kinds: "basic" ($name,
// ${name}) and Jinja (## template: jinja), rendered by src/handlers/jinja.ts.
import type { Context } from '../context.ts';
import { renderJinja } from '../handlers/jinja.ts';

/** cloud-init's translate_bool: true, 'true', 'yes', 'on', '1', 'y' (plus `extra`). */
export function isTrue(value: unknown, extra: string[] = []): boolean {
  if (value === true) return true;
  if (typeof value === 'number') return value === 1;
  return typeof value === 'string' && ['true', 'yes', 'on', '1', 'y', ...extra].includes(value.trim().toLowerCase());
}

/** cloud-init's is_false: false, 'false', 'no', 'off', '0', 'n'. */
export function isFalse(value: unknown): boolean {
  if (value === false) return true;
  if (typeof value === 'number') return value === 0;
  return typeof value === 'string' && ['false', 'no', 'off', '0', 'n'].includes(value.trim().toLowerCase());
}

/** A boolean option (get_cfg_option_bool): undefined when absent. */
export function optionBool(value: unknown): boolean | undefined {
  return value === undefined || value === null ? undefined : isTrue(value);
}

const PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The program's path inside the root (absolute names as given, others on PATH), or null. */
export function which(ctx: Context, program: string): string | null {
  const candidates = program.includes('/') ? [program] : PATH.map((dir) => `${dir}/${program}`);
  for (const path of candidates) {
    try {
      const st = ctx.files.stat(path);
      if (st?.kind === 'file' && (st.perm & 0o111) !== 0) return path;
    } catch { /* not there */ }
  }
  return null;
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
  if (opts.essential) ctx.leftForRunningSystem = true;
  return false;
}

/** The current time as cloud-init's time_rfc2822: 'Wed, 25 Nov 2026 01:54:30 +0000'. */
export function rfc2822(date = new Date()): string {
  return date.toUTCString().replace(/GMT$/, '+0000').replace(/^(\w+), (\d) /, '$1, 0$2 ');
}

// ---------------------------------------------------------------------------
// Templates

export type TemplateVars = Record<string, unknown>;

const JINJA_HEADER = /^##\s*template:\s*jinja[ \t]*\r?\n/i;

/**
 * Render a cloud-init template: Jinja when it starts with '## template: jinja',
 * otherwise cloud-init's basic renderer ($name and ${name}; unknown names stay).
 */
export function renderTemplate(text: string, vars: TemplateVars): string {
  // The same Jinja subset as user-data templates (src/handlers/jinja.ts), which
  // expects the header line and drops it itself.
  if (JINJA_HEADER.test(text)) return renderJinja(text, vars as Parameters<typeof renderJinja>[1]).text;
  return text.replace(/\$\{?([A-Za-z0-9_.]+)\}?/g, (all, name: string) => {
    const v = lookup(vars, name);
    return v === undefined ? all : stringify(v);
  });
}

function lookup(vars: TemplateVars, path: string): unknown {
  let v: unknown = vars;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function stringify(v: unknown): string {
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null) return 'None';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
