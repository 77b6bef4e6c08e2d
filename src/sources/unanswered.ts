// A source's service that did not answer in init-local, within the source's
// own max_wait, is not asked again by stage init of the same boot: init
// would wait as long again for the same silence (issue 22: a silent EC2
// service cost two full waits). The record is per source and per boot
// (/run is emptied at boot; the boot id guards a /run that is not);
// `timeout` or `max_wait` in the source's config makes init ask again.
import type { Files } from '../host/files.ts';
import { bootId } from '../host/machine.ts';
import type { Config } from '../config/merge.ts';

/** Where init-local keeps a source's record: "<boot id> <why>". */
export const unansweredFile = (source: string): string => `/run/ec2-init/${source.toLowerCase()}-unanswered`;

/** Why init-local gave up on `source` in this boot (its record, when it is this boot's), or null. */
export function unansweredThisBoot(files: Files, source: string, cfg: Config): string | null {
  if (cfg['timeout'] !== undefined || cfg['max_wait'] !== undefined) return null;
  const m = /^(\S+) (.*)$/.exec(files.readTextIfExists(unansweredFile(source))?.trim() ?? '');
  return m && m[1] === (bootId() ?? '-') ? m[2]! : null;
}

export function forgetUnanswered(files: Files, source: string): void {
  files.unlink(unansweredFile(source));
}

export function recordUnanswered(files: Files, source: string, why: string): void {
  files.write(unansweredFile(source), `${bootId() ?? '-'} ${why}\n`, { mode: 0o644 });
}
