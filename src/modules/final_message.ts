// final_message (cloud-init's cc_final_message), every boot, last but one in
// stage final: a message to the log and the console (stderr) with the
// version, time, datasource and uptime. `final_message` replaces the default
// text; it is a template: '## template: jinja' ({{version}}) or basic
// ($version), with the variables also in upper case, as cloud-init.
import { uptime as machineUptime } from '../host/machine.ts';
import { VERSION } from '../version.ts';
import { rfc2822 } from './helpers.ts';
import { renderTemplate } from './template.ts';
import type { Module } from './module.ts';


const DEFAULT_MESSAGE = '## template: jinja\nec2-init v. {{version}} finished at {{timestamp}}. Datasource {{datasource}}.  Up {{uptime}} seconds';

/** Seconds since the kernel booted, as /proc/uptime says (the running kernel's, whatever the root). */
function uptime(): string {
  return machineUptime() ?? 'unknown';
}

export const finalMessage: Module = {
  name: 'final_message',
  stage: 'final',
  frequency: 'per-boot',
  keys: [],
  schema: { final_message: { type: 'string', description: 'the message; variables version, timestamp, datasource, uptime' } },
  describe: ({ config }) => [typeof config['final_message'] === 'string' ? 'print the configured final message' : 'print the default final message'],
  async run({ ctx, config, source, where }) {
    const given = config['final_message'] === undefined || config['final_message'] === null ? '' : String(config['final_message']).trim();
    const vars: Record<string, string> = {
      uptime: uptime(),
      timestamp: rfc2822(),
      version: VERSION,
      datasource: `DataSource${source.name}`,
    };
    for (const [k, v] of Object.entries(vars)) vars[k.toUpperCase()] = v;
    let message: string;
    try {
      message = renderTemplate(given || DEFAULT_MESSAGE, vars);
    } catch (e) {
      ctx.report('warning', where, `final_message is not a valid template (${(e as Error).message}): printed as it is`);
      message = given;
    }
    for (const line of message.replace(/\n+$/, '').split('\n')) ctx.log.info(line);
  },
};
