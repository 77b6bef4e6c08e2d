// final_message (cloud-init's cc_final_message), every boot, last but one in
// stage final: a message to the log and the console (stderr) with the
// version, time, datasource and uptime. `final_message` replaces the default
// text; it is a template: '## template: jinja' ({{version}}) or basic
// ($version), with the variables also in upper case, as cloud-init. The time
// and the uptime are the boot's own: `plan` shows '?' for them and says its
// line depends on the boot.
import { uptime } from '../host/machine.ts';
import { VERSION } from '../version.ts';
import { rfc2822 } from './helpers.ts';
import { renderTemplate } from './template.ts';
import { actionModule } from './module.ts';

const DEFAULT_MESSAGE = '## template: jinja\nec2-init v. {{version}} finished at {{timestamp}}. Datasource {{datasource}}.  Up {{uptime}} seconds';

export const finalMessage = actionModule<string>({
  name: 'final_message',
  stage: 'final',
  frequency: 'per-boot',
  keys: [],
  schema: { final_message: { type: 'string', description: 'the message; variables version, timestamp, datasource, uptime' } },
  check: (config) => (config['final_message'] === undefined || config['final_message'] === null ? '' : String(config['final_message']).trim()),
  actions(given, { source, bootFact, report }) {
    // Seconds since the kernel booted, as /proc/uptime says (the running kernel's, whatever the root).
    const now = bootFact?.(() => ({ uptime: uptime() ?? 'unknown', timestamp: rfc2822() }));
    const vars: Record<string, string> = {
      uptime: now?.uptime ?? '?',
      timestamp: now?.timestamp ?? '?',
      version: VERSION,
      datasource: `DataSource${source.name}`,
    };
    for (const [k, v] of Object.entries(vars)) vars[k.toUpperCase()] = v;
    let message: string;
    try {
      message = renderTemplate(given || DEFAULT_MESSAGE, vars);
    } catch (e) {
      report('warning', `final_message is not a valid template (${(e as Error).message}): printed as it is`);
      message = given;
    }
    return [{ kind: 'log', text: message }];
  },
});
