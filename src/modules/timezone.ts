// timezone (cloud-init's cc_timezone, Debian flavour): /etc/timezone holds
// the name, /etc/localtime points at /usr/share/zoneinfo/<name>. The zone
// must exist under the root; an unknown one changes nothing and is reported.
import type { Module, Schema } from './module.ts';

const ZONEINFO = '/usr/share/zoneinfo';
const TIMEZONE = '/etc/timezone';
const LOCALTIME = '/etc/localtime';

const SCHEMA: Schema = { type: 'string', description: `a zone under ${ZONEINFO}, such as America/New_York or UTC` };

export const timezone: Module = {
  name: 'timezone',
  stage: 'config',
  frequency: 'per-instance',
  keys: ['timezone'],
  schema: { timezone: SCHEMA },
  describe: ({ config }) => [`timezone ${String(config['timezone'])}: ${TIMEZONE}, ${LOCALTIME} -> ${ZONEINFO}/${String(config['timezone'])}`],
  async run({ ctx, config, where }) {
    const value = config['timezone'];
    if (value === null || value === undefined || String(value).trim() === '') {
      ctx.log.info(`${where}: no timezone given: nothing to do`);
      return;
    }
    const tz = String(value).trim();
    // A zone name, never a way out of the zoneinfo directory.
    if (!/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/.test(tz)) throw new Error(`invalid timezone '${tz}'`);
    const zoneFile = `${ZONEINFO}/${tz}`;
    let isFile = false;
    try { isFile = ctx.files.stat(zoneFile)?.kind === 'file'; } catch { /* missing */ }
    if (!isFile) throw new Error(`invalid timezone '${tz}': no file ${zoneFile} under the root (is tzdata installed?)`);
    ctx.files.write(TIMEZONE, `${tz}\n`, { mode: 0o644 });
    // As cloud-init: a symlink (or nothing) becomes a symlink; a real file is replaced by a copy.
    // The entry itself, not what it points to: the image's link must be replaced, never written through.
    let link = true;
    try { link = (ctx.files.lstat(LOCALTIME)?.kind ?? 'link') === 'link'; } catch { /* cannot tell: a link */ }
    if (link) ctx.files.symlink(LOCALTIME, zoneFile);
    else ctx.files.write(LOCALTIME, ctx.files.read(zoneFile), { mode: 0o644 });
    ctx.log.info(`${where}: timezone ${tz} (${TIMEZONE}, ${LOCALTIME}${link ? ` -> ${zoneFile}` : ' copied'})`);
  },
};
