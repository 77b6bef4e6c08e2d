// #cloud-boothook (and the specification's application/x-sh): run at once,
// in stage init, on every boot, with INSTANCE_ID in the environment. Saved
// under instances/<id>/boothooks/ first, so what ran can be inspected.
import type { Context } from '../context.ts';
import { layout } from '../state/layout.ts';
import type { Part } from '../types.ts';

export async function runBoothook(ctx: Context, instanceId: string, part: Part, where: string): Promise<void> {
  // cloud-init drops the '#cloud-boothook' line; what follows may have its own #!.
  const text = part.body.toString().replace(/^#cloud-boothook[^\n]*\n/, '');
  const path = `${layout.boothooks(instanceId)}/${part.filename}`;
  ctx.files.write(path, text, { mode: 0o700 });
  const argv = text.startsWith('#!') ? [path] : ['/bin/sh', path];
  if (await ctx.runChecked(where, argv, { env: { INSTANCE_ID: instanceId } })) {
    ctx.log.info(`${where}: boothook ran (exit 0)`);
  }
}
