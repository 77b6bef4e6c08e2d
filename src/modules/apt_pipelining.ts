// apt_pipelining (cloud-init's cc_apt_pipelining), once per instance in stage
// config, before apt_configure: how many HTTP requests apt keeps in flight.
// `false` writes a depth of 0 (for mirrors and proxies that corrupt pipelined
// answers), 0 to 5 write that depth, `os` (the default), `none` and
// `unchanged` leave apt's own setting; anything else (true among them, as in
// cloud-init) is warned about and changes nothing.
import type { Module, Schema } from './module.ts';

export const PIPELINING_FILE = '/etc/apt/apt.conf.d/90cloud-init-pipelining';

/** The depth to write ('0'…'5'), null to leave apt alone, or 'invalid'; from the value as cloud-init reads str(value). */
export function pipelineDepth(value: unknown): string | null | 'invalid' {
  const s = (value === undefined || value === null ? 'os' : typeof value === 'boolean' ? (value ? 'true' : 'false') : String(value)).toLowerCase().trim();
  if (s === 'false') return '0';
  if (['none', 'unchanged', 'os'].includes(s)) return null;
  if (/^[0-5]$/.test(s)) return s;
  return 'invalid';
}

const SCHEMA: Schema = {
  oneOf: [{ type: 'integer', minimum: 0, maximum: 5 }, { type: 'boolean' }, { enum: ['os', 'none', 'unchanged'] }],
  description: "apt's Acquire::http::Pipeline-Depth: false (0), 0-5, or os/none/unchanged (leave apt's default)",
};

export const aptPipelining: Module = {
  name: 'apt_pipelining',
  stage: 'config',
  frequency: 'per-instance',
  keys: ['apt_pipelining'],
  schema: { apt_pipelining: SCHEMA },
  describe: ({ config }) => {
    const d = pipelineDepth(config['apt_pipelining']);
    if (d === null) return ["leave apt's pipelining as it is"];
    if (d === 'invalid') return [`not written: invalid apt_pipelining ${JSON.stringify(config['apt_pipelining'])}`];
    return [`write ${PIPELINING_FILE} (Pipeline-Depth ${d})`];
  },
  async run({ ctx, config, where }) {
    const d = pipelineDepth(config['apt_pipelining']);
    if (d === null) { ctx.log.info(`${where}: apt's pipelining left as it is`); return; }
    if (d === 'invalid') {
      ctx.report('warning', where, `invalid apt_pipelining ${JSON.stringify(config['apt_pipelining'])} (false, 0 to 5, os, none or unchanged): nothing written`);
      return;
    }
    ctx.files.write(PIPELINING_FILE, `//Written by cloud-init per 'apt_pipelining'\nAcquire::http::Pipeline-Depth "${d}";\n`, { mode: 0o644 });
    ctx.log.info(`${where}: wrote ${PIPELINING_FILE} with Pipeline-Depth ${d}`);
  },
};
