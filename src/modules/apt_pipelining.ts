// apt_pipelining (cloud-init's cc_apt_pipelining), once per instance in stage
// config, before apt_configure: how many HTTP requests apt keeps in flight.
// `false` writes a depth of 0 (for mirrors and proxies that corrupt pipelined
// answers), 0 to 5 write that depth, `os` (the default), `none` and
// `unchanged` leave apt's own setting; anything else (true among them, as in
// cloud-init) is warned about and changes nothing.
import { actionModule, type Schema } from './module.ts';

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

/** The depth to write, or 'leave' (apt's own setting); an invalid value is reported and changes nothing. */
export const aptPipelining = actionModule<string>({
  name: 'apt_pipelining',
  stage: 'config',
  frequency: 'per-instance',
  keys: ['apt_pipelining'],
  schema: { apt_pipelining: SCHEMA },
  check(config, report) {
    const d = pipelineDepth(config['apt_pipelining']);
    if (d === 'invalid') {
      report('warning', `invalid apt_pipelining ${JSON.stringify(config['apt_pipelining'])} (false, 0 to 5, os, none or unchanged): nothing written`);
      return null;
    }
    return d ?? 'leave';
  },
  actions: (d, { where }) => (d === 'leave'
    ? [{ kind: 'log', text: `${where}: apt's pipelining left as it is` }]
    : [{ kind: 'write', path: PIPELINING_FILE, content: `//Written by cloud-init per 'apt_pipelining'\nAcquire::http::Pipeline-Depth "${d}";\n`, mode: 0o644, why: `Pipeline-Depth ${d}` }]),
});
