// System configuration: /etc/cloud/cloud.cfg, then /etc/cloud/cloud.cfg.d/*.cfg
// in name order, merged (later files win), as cloud-init reads them, so an
// image built for cloud-init needs no new configuration.
import { asText } from '../bytes.ts';
import { readHostFile } from '../host/machine.ts';
import type { Files } from '../host/files.ts';
import type { Diag } from '../types.ts';
import { mergeManyDicts, type Config } from './merge.ts';
import { cachedConfig, identityOf, saveConfig } from './system-cache.ts';
import { parseYamlMapping } from './yaml.ts';

export interface DefaultUser {
  name: string;
  groups?: string[] | string;
  shell?: string;
  sudo?: string[] | string | boolean;
  lock_passwd?: boolean;
  gecos?: string;
}

export interface SystemConfig {
  datasourceList: string[];
  defaultUser: DefaultUser | null;
  /** The whole merged configuration, for modules that read their own keys. */
  raw: Config;
}

export const DEFAULT_DATASOURCES = ['NoCloud', 'ConfigDrive', 'LXD', 'DigitalOcean', 'Azure', 'VMware', 'GCE', 'OpenStack', 'AliYun', 'Vultr', 'Ec2', 'CloudStack', 'Scaleway', 'Hetzner', 'Oracle', 'Exoscale', 'UpCloud', 'Akamai'];

/**
 * `extraFile` (--config) is a path on this machine, not under the root: the
 * operator's own file (never cached). `cache`: 'update' (a stage) uses the
 * parsed config kept from an earlier reading of the same files and keeps a
 * new one; 'read' (plan) uses it but writes nothing; 'none' reads the files.
 */
export function readSystemConfig(files: Files, diags: Diag[], extraFile: string | null = null, cache: 'update' | 'read' | 'none' = 'none'): SystemConfig {
  const paths = ['/etc/cloud/cloud.cfg', ...files.list('/etc/cloud/cloud.cfg.d')
    .filter((n) => n.endsWith('.cfg')).map((n) => `/etc/cloud/cloud.cfg.d/${n}`)];
  const identity = cache === 'none' || extraFile !== null ? null : identityOf(files, paths);
  const kept = identity === null ? null : cachedConfig(files, identity);
  if (kept) return fromMerged(kept);
  const docs: Config[] = [];
  const problems: Diag[] = [];
  const read = (path: string) => (path === extraFile ? readFileIfExists(path) : files.readIfExists(path));
  for (const path of extraFile ? [...paths, extraFile] : paths) {
    const text = read(path);
    if (text === null) {
      if (path === extraFile) problems.push({ level: 'error', where: `--config ${path}`, message: 'no such file' });
      continue;
    }
    try {
      docs.push(parseYamlMapping(asText(text), path));
    } catch (e) {
      // A broken file is reported and skipped; the others still apply.
      problems.push({ level: 'warning', where: path, message: `${(e as Error).message} (file ignored; fix it and run again)` });
    }
  }
  diags.push(...problems);
  // As cloud-init merges them: later files win, nested mappings merge key by key.
  const raw = mergeManyDicts(docs, true);
  if (identity !== null && cache === 'update' && problems.length === 0) {
    // Read again only if a file changed meanwhile; a cache that cannot be written costs the next boot a parse, nothing else.
    try { if (identityOf(files, paths) === identity) saveConfig(files, identity, raw); } catch { /* not kept */ }
  }
  return fromMerged(raw);
}

function fromMerged(raw: Config): SystemConfig {
  const list = raw['datasource_list'];
  const datasourceList = Array.isArray(list) && list.every((s) => typeof s === 'string') ? list as string[] : DEFAULT_DATASOURCES;
  const systemInfo = (raw['system_info'] ?? {}) as Config;
  const du = (systemInfo['default_user'] ?? raw['default_user'] ?? null) as DefaultUser | null;
  return { datasourceList, defaultUser: du && typeof du.name === 'string' ? du : null, raw };
}

function readFileIfExists(path: string): Uint8Array | null {
  try { const b = readHostFile(path); return b; } catch { return null; }
}

/**
 * The config modules see: the user's cloud-config over the vendor's over the
 * datasource's own (SourceData.config) over the system config, merged key by
 * key (cloud-init's mergemanydict, in its ConfigMerger's order).
 */
export function withSystemConfig(system: SystemConfig, user: Config, vendor: Config = {}, source: Config = {}): Config {
  return mergeManyDicts([user, vendor, source, system.raw]);
}
