// Instance tracking: the instance-id decides whether this boot is a first
// boot. A new id gets a fresh instances/<id>/ tree (so every per-instance
// semaphore is new); the same id reuses it, so finished work is not redone.
import { EMPTY, asText } from '../bytes.ts';
import type { Context } from '../context.ts';
import type { SourceData } from '../types.ts';
import { failpoint } from './failpoint.ts';
import { jsonWithin } from './instance-data.ts';
import { layout, safeInstanceId } from './layout.ts';

/** What later stages (separate processes) need to know about the source. */
export type SavedSource = Omit<SourceData, 'userData' | 'vendorData' | 'cache'>;

export interface Instance {
  id: string;
  /** True when this instance-id differs from the last boot's (a first boot). */
  isNew: boolean;
  source: SavedSource;
}

/** Record a found source: its cache, the raw user-data, the instance tree. */
export function adoptInstance(ctx: Context, found: SourceData): Instance {
  const { files } = ctx;
  const id = safeInstanceId(found.instanceId);
  const previous = files.readTextIfExists(layout.instanceIdFile)?.trim() ?? null;
  const isNew = previous !== id;
  for (const dir of ['sem', 'scripts', 'boothooks']) files.mkdir(`${layout.instance(id)}/${dir}`);
  files.mkdir(`${layout.instance(id)}/handlers`, 0o700); // part-handlers are user-data code
  const { userData, vendorData, cache, ...saved } = found;
  // The datasource's data can hold secrets (passwords in meta-data): owner-only. Later stages read it back whole.
  const json = jsonWithin(saved, (s) => ({ ...s, metaData: {} }), (m) => ctx.report('error', layout.datasource(id), m));
  files.write(layout.datasource(id), json, { mode: 0o600 });
  for (const [name, content] of Object.entries(cache ?? {})) {
    files.write(`${layout.providerCache(found.provider)}/${name}`, content, { mode: 0o600 });
  }
  files.write(layout.userDataRaw, userData ?? EMPTY, { mode: 0o600 });
  if (vendorData) files.write(`${layout.providerCache(found.provider)}/vendor-data.raw`, vendorData, { mode: 0o600 });
  failpoint('after-user-data-raw');
  files.symlink(layout.instanceLink, `instances/${id}`);
  if (isNew && previous !== null) files.write(layout.previousInstanceIdFile, `${previous}\n`, { mode: 0o644 });
  // Written last: until this line lands, the next run still sees a new instance.
  files.write(layout.instanceIdFile, `${id}\n`, { mode: 0o644 });
  ctx.log.info(`instance ${id}: ${isNew ? `new instance${previous ? ` (previous ${previous})` : ''}, first boot` : 'same instance as last boot'}`);
  return { id, isNew, source: saved };
}

/** The instance recorded by an earlier stage, or null when there is none. */
export function loadInstance(ctx: Context): Instance | null {
  const id = ctx.files.readTextIfExists(layout.instanceIdFile)?.trim();
  if (!id) return null;
  const saved = ctx.files.readIfExists(layout.datasource(id));
  if (saved === null) return null;
  return { id, isNew: false, source: JSON.parse(asText(saved)) as SavedSource };
}
