// `clean`: forget this instance, so the next boot is a first boot. The seed
// is kept unless --seed; logs are kept unless --logs.
import type { Files } from './host/files.ts';
import { CLOUD, layout } from './state/layout.ts';

export function clean(files: Files, opts: { logs: boolean; seed: boolean }): string[] {
  const removed: string[] = [];
  for (const name of files.list(CLOUD)) {
    if (name === 'seed' && !opts.seed) continue;
    files.remove(`${CLOUD}/${name}`);
    removed.push(`${CLOUD}/${name}`);
  }
  files.remove(layout.runDir);
  removed.push(layout.runDir);
  if (opts.logs) {
    for (const log of [layout.log, layout.outputLog]) { files.unlink(log); removed.push(log); }
  }
  return removed;
}
