// Walk datasource_list in order and take the first source that answers.
// Local sources are tried in `init --local`; network ones in `init`.
import type { Context } from '../context.ts';
import type { SourceData } from '../types.ts';
import { readNoCloud } from './nocloud.ts';

interface Source {
  /** Needs the network (asked in `init`, not in `init --local`). */
  network: boolean;
  read(ctx: Context): Promise<SourceData | null>;
}

const SOURCES: Record<string, Source> = {
  NoCloud: { network: false, read: async (ctx) => readNoCloud(ctx.files) },
};

/** The first source of `list` (of the given kind) that has data; null when none does. */
export async function searchSources(ctx: Context, list: string[], network: boolean): Promise<SourceData | null> {
  for (const name of list) {
    if (name === 'None') continue;
    const source = SOURCES[name];
    if (!source) {
      if (!network) ctx.log.debug(`datasource ${name}: not supported yet, skipped`);
      continue;
    }
    if (source.network !== network) continue;
    const started = performance.now();
    try {
      const found = await source.read(ctx);
      ctx.log.info(`datasource ${name}: ${found ? `found instance ${found.instanceId}` : 'not found'} (${(performance.now() - started).toFixed(1)} ms)`);
      if (found) return found;
    } catch (e) {
      ctx.report('error', `datasource ${name}`, (e as Error).message);
    }
  }
  return null;
}
