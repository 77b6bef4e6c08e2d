// #cloud-boothook (and the specification's application/x-sh): run at once,
// in stage init, on every boot, with INSTANCE_ID in the environment, as
// cloud-init's boothook handler does. Saved under instances/<id>/boothooks/
// (0700) first, so what ran can be inspected: CRLF made LF, the
// '#cloud-boothook' line dropped, leading blank space dropped. What is left
// runs by its own #! line, or by /bin/sh when it has none (cloud-init
// fails to exec such a hook; a boothook is a shell script by the
// specification, so ec2-init runs it).
import { fromLatin1, latin1 } from '../bytes.ts';
import type { Context } from '../context.ts';
import { describeExit } from '../host/run.ts';
import { layout } from '../state/layout.ts';
import type { Part } from '../types.ts';

/** The file a boothook part is saved as, as text (bytes kept: latin1). */
export function boothookScript(body: Uint8Array): string {
  return latin1(body)
    .replace(/\r\n/g, '\n')
    .replace(/^#cloud-boothook[^\n]*(\n|$)/, '')
    .replace(/^\s+/, '');
}

export async function runBoothook(ctx: Context, instanceId: string, part: Part, where: string, path: string): Promise<void> {
  const text = boothookScript(part.body);
  ctx.files.write(path, fromLatin1(text), { mode: 0o700 });
  const argv = text.startsWith('#!') ? [path] : ['/bin/sh', path];
  const r = await ctx.run(argv, { env: { INSTANCE_ID: instanceId } });
  if (r.code === 0) { ctx.log.info(`${where}: boothook ran (exit 0)`); return; }
  // cloud-init logs a failing boothook ("Boothooks script … execution error") as a warning and goes on.
  ctx.report('warning', where, `boothook ${path} failed: ${describeExit(r)}${r.stderr ? `: ${r.stderr.trim()}` : ''} (output in ${layout.outputLog})`);
}
