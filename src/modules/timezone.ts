// timezone (cloud-init's cc_timezone, Debian flavour): /etc/timezone holds
// the name, /etc/localtime points at /usr/share/zoneinfo/<name>. The zone
// must exist under the root; an unknown one changes nothing and is reported.
import type { Action } from '../host/actions.ts';
import { actionModule, type Report, type Schema } from './module.ts';

const ZONEINFO = '/usr/share/zoneinfo';
const TIMEZONE = '/etc/timezone';
const LOCALTIME = '/etc/localtime';

const SCHEMA: Schema = { type: 'string', description: `a zone under ${ZONEINFO}, such as America/New_York or UTC` };

/** The zone the config names (null: none given, or not a zone name: reported). */
export function checkTimezone(config: Record<string, unknown>, report: Report): string | null {
  const value = config['timezone'];
  if (value === null || value === undefined || String(value).trim() === '') return null;
  const tz = String(value).trim();
  // A zone name, never a way out of the zoneinfo directory.
  if (!/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/.test(tz)) {
    report('error', `timezone: invalid timezone '${tz}': give a zone name such as Europe/Berlin or UTC`);
    return null;
  }
  return tz;
}

export const timezone = actionModule<string>({
  name: 'timezone',
  stage: 'config',
  frequency: 'per-instance',
  keys: ['timezone'],
  schema: { timezone: SCHEMA },
  check: checkTimezone,
  actions(tz, { files, report }): Action[] {
    const zoneFile = `${ZONEINFO}/${tz}`;
    let isFile = false;
    try { isFile = files.stat(zoneFile)?.kind === 'file'; } catch { /* missing */ }
    if (!isFile) {
      report('error', `invalid timezone '${tz}': no file ${zoneFile} under the root (is tzdata installed?)`);
      return [];
    }
    // As cloud-init: a symlink (or nothing) becomes a symlink; a real file is replaced by a copy.
    // The entry itself, not what it points to: the image's link must be replaced, never written through.
    let link = true;
    try { link = (files.lstat(LOCALTIME)?.kind ?? 'link') === 'link'; } catch { /* cannot tell: a link */ }
    return [
      { kind: 'write', path: TIMEZONE, content: `${tz}\n`, mode: 0o644, why: `zone ${tz}` },
      link
        ? { kind: 'symlink', path: LOCALTIME, target: zoneFile }
        : { kind: 'write', path: LOCALTIME, content: files.read(zoneFile), mode: 0o644, why: `a copy of ${zoneFile}` },
    ];
  },
});
