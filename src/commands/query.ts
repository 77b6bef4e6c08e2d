// `query`: the instance data, as cloud-init 25's `cloud-init query` gives it.
// Root reads the sensitive file (with user-data and vendor-data added, as
// `userdata` and `vendordata`); anyone else the redacted one. A KEY is a
// dotted path (v1.instance_id; cloud-init's aliases such as v1.local_hostname
// for local-hostname work too), --list-keys names the keys under it,
// --format renders a Jinja template ('{{ v1.region }}'), --all dumps it all.
import { asText } from '../bytes.ts';
import type { Files } from '../host/files.ts';
import { readHostFile } from '../host/machine.ts';
import { effectiveUid } from '../host/process.ts';
import { renderJinja, templateVariables } from '../userdata/jinja.ts';
import { REDACTED } from '../state/instance-data.ts';
import { layout } from '../state/layout.ts';

export interface QueryOptions {
  key?: string;
  all: boolean;
  listKeys: boolean;
  /** A Jinja template to render with the data. */
  format?: string;
  /** Another instance-data file (on this machine). */
  instanceData?: string;
}

/** A failure cloud-init reports as an error line and exit 1. */
export class QueryError extends Error {}

function instanceData(files: Files, opts: QueryOptions): Record<string, unknown> {
  const root = effectiveUid() === 0;
  let text: string;
  if (opts.instanceData) text = asText(readHostFile(opts.instanceData));
  else {
    const path = `${layout.runDir}/instance-data${root ? '-sensitive' : ''}.json`;
    const found = files.readTextIfExists(path);
    if (found === null) throw new QueryError(`Missing instance-data file: ${path} (no datasource has been found on this boot yet)`);
    text = found;
  }
  let data: unknown;
  try { data = JSON.parse(text); } catch (e) { throw new QueryError(`instance data is not valid JSON: ${(e as Error).message}`); }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new QueryError('instance data is not a JSON object');
  const out = data as Record<string, unknown>;
  const userData = `${layout.instanceLink}/user-data.txt`;
  const vendorData = `${layout.instanceLink}/vendor-data.txt`;
  if (root) {
    out['userdata'] = files.readTextIfExists(layout.userDataTxt) ?? '';
    out['vendordata'] = files.readTextIfExists(vendorData) ?? '';
  } else {
    out['userdata'] = `<${REDACTED}> file:${userData}`;
    out['vendordata'] = `<${REDACTED}> file:${vendorData}`;
  }
  return out;
}

/**
 * The value at a dotted path, walked through cloud-init's key aliases
 * (v1.local_hostname for local-hostname) but given without them; throws
 * naming the part that is missing.
 */
function lookup(data: Record<string, unknown>, key: string): unknown {
  let withAliases: unknown = templateVariables(data);
  let plain: unknown = templateVariables(data, false);
  let walked = '';
  for (const part of key.split('.')) {
    if (typeof withAliases !== 'object' || withAliases === null || Array.isArray(withAliases) || !(part in withAliases)) {
      throw new QueryError(walked ? `instance-data '${walked}' has no '${part}'` : `Undefined instance-data key '${key}'`);
    }
    withAliases = (withAliases as Record<string, unknown>)[part];
    const p = plain as Record<string, unknown>;
    plain = part in p ? p[part] : p[Object.keys(p).find((k) => k.replace(/[-+/*%~[\](){}=<>.:|,;]/g, '_') === part)!];
    walked = walked ? `${walked}.${part}` : part;
  }
  return plain;
}

/** cloud-init's atomic_helper.json_dumps: indent 1, sorted keys. */
function jsonDumps(value: unknown): string {
  const sorted = (v: unknown): unknown => Array.isArray(v) ? v.map(sorted)
    : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(sorted(value), null, 1);
}

/** What `query` prints (without the final newline). */
export function query(files: Files, opts: QueryOptions): string {
  if (!opts.all && !opts.listKeys && opts.key === undefined && opts.format === undefined) {
    throw new QueryError('Expected one of the options: --all, --format, --list-keys or varname');
  }
  const data = instanceData(files, opts);
  if (opts.format !== undefined) {
    let rendered: string;
    try { rendered = renderJinja(`## template: jinja\n${opts.format}`, templateVariables(data)).text; } catch (e) {
      throw new QueryError(`Failed to render templated data. ${(e as Error).message}`);
    }
    if (!rendered) throw new QueryError('the template rendered to nothing');
    return rendered;
  }
  const value: unknown = opts.key === undefined ? templateVariables(data, false) : lookup(data, opts.key);
  if (opts.listKeys) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new QueryError(`--list-keys provided but '${opts.key}' is not a dict`);
    return Object.keys(value).sort().join('\n');
  }
  return typeof value === 'string' ? value : jsonDumps(value);
}
