// cloud-init's two template kinds for the files system modules write:
// "basic" ($name, ${name}) and Jinja (## template: jinja), rendered by
// src/handlers/jinja.ts. Apart from helpers.ts so that what needs a value
// rule (status, clean) does not load the Jinja engine.
import { renderJinja } from '../userdata/jinja.ts';
import { lookupPath } from './helpers.ts';

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
    const v = lookupPath(vars, name);
    return v === undefined ? all : stringify(v);
  });
}

function stringify(v: unknown): string {
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null) return 'None';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
