// The parsed system config, kept between boots: YAML is the costliest thing
// a stage does under QuickJS (cloud.cfg alone is milliseconds, and a boot is
// four processes), and cloud.cfg and cloud.cfg.d rarely change. The cache is
// keyed by each file's identity (path, device, inode, size, mtime): a file
// added, removed, replaced or edited is a miss, and the files are read again.
// Only a reading without problems is kept (a broken file is reported every
// time, as without the cache). Owner-only: a system config can hold secrets.
import type { Files } from '../host/files.ts';
import { DATA } from '../state/layout.ts';
import type { Config } from './merge.ts';
import { readSavedJson, toYaml } from './yaml.ts';

export const SYSTEM_CONFIG_CACHE = `${DATA}/system-config.cache.json`;

/** What the files are now: one entry per path, null where there is none. */
export function identityOf(files: Files, paths: string[]): string {
  return JSON.stringify(paths.map((p) => {
    const st = files.stat(p);
    return st === null ? [p, null] : [p, st.kind, st.dev, st.ino, st.size, st.mtimeMs];
  }));
}

/** The cached merged config when the files are still those it was read from, else null. */
export function cachedConfig(files: Files, identity: string): Config | null {
  let text: string | null;
  try { text = files.readTextIfExists(SYSTEM_CONFIG_CACHE); } catch { return null; }
  const saved = text === null ? null : readSavedJson(text);
  if (!saved || saved['identity'] !== identity) return null;
  const config = saved['config'];
  return config !== null && typeof config === 'object' && !Array.isArray(config) ? config as Config : null;
}

export function saveConfig(files: Files, identity: string, config: Config): void {
  files.write(SYSTEM_CONFIG_CACHE, toYaml({ identity, config }), { mode: 0o600 });
}
