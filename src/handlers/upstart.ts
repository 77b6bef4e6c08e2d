// #upstart-job (and the specification's text/x-upstart): written to
// /etc/init/<name>.conf (0644, CRLF made LF), once per instance, as
// cloud-init does. Upstart is told to reload its configuration only when it
// can matter and is safe: the root is this machine's / and upstart is the
// running init (/sbin/initctl exists and `initctl version` says upstart);
// otherwise a line in the log says why it was not asked.
import { fromLatin1, latin1 } from '../bytes.ts';
import type { Context } from '../context.ts';
import { describeExit } from '../host/run.ts';
import { alreadyDone, markDone } from '../state/semaphore.ts';
import type { Part } from '../types.ts';

export const INITCTL = '/sbin/initctl';

/** The job file for a part: its (already safe) file name, with .conf added unless it ends so (any case). */
export function upstartJobPath(filename: string): string {
  return `/etc/init/${/\.conf$/i.test(filename) ? filename : `${filename}.conf`}`;
}

/** What handling the part does, for `plan`. */
export function describeUpstartJob(part: Part): string {
  return `write ${upstartJobPath(part.filename)} (per-instance); initctl reload-configuration when upstart is the running init`;
}

/** Write the job; true when it was written now (not already done for this instance). */
export function writeUpstartJob(ctx: Context, instanceId: string, part: Part): boolean {
  const path = upstartJobPath(part.filename);
  const sem = `upstart-${path.slice('/etc/init/'.length).replace(/\.conf$/i, '')}`;
  if (alreadyDone(ctx, instanceId, sem, 'per-instance')) return false;
  ctx.files.write(path, fromLatin1(latin1(part.body).replace(/\r\n/g, '\n')), { mode: 0o644 });
  markDone(ctx, instanceId, sem, 'per-instance');
  ctx.log.info(`upstart job written: ${path}`);
  return true;
}

/**
 * Why upstart is not asked to reload, or null when it should be:
 * `initctlVersion` is the output of `initctl version` (null when /sbin/initctl is absent).
 */
export function reloadSkipReason(root: string, initctlVersion: string | null): string | null {
  if (root !== '/') return `the root is ${root}, not the running system`;
  if (initctlVersion === null) return `${INITCTL} does not exist: upstart is not the init system`;
  if (!/\bupstart \d/i.test(initctlVersion)) return `\`initctl version\` does not say upstart (${JSON.stringify(initctlVersion.trim().slice(0, 80))})`;
  return null;
}

/** After new jobs were written: `initctl reload-configuration` when upstart runs this system. */
export async function reloadUpstart(ctx: Context, where: string): Promise<void> {
  let version: string | null = null;
  if (ctx.root === '/' && ctx.files.exists(INITCTL)) {
    const r = await ctx.capture([INITCTL, 'version'], { timeoutMs: 10_000 });
    version = r.code === 0 ? r.stdout : `${describeExit(r, 10_000)}: ${r.stderr.trim()}`;
  }
  const skip = reloadSkipReason(ctx.root, version);
  if (skip !== null) {
    ctx.log.info(`${where}: upstart not asked to reload its configuration: ${skip}`);
    return;
  }
  if (await ctx.runChecked(where, [INITCTL, 'reload-configuration'], { timeoutMs: 30_000 })) {
    ctx.log.info(`${where}: initctl reload-configuration done`);
  }
}
