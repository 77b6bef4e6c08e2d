// System configuration: /etc/cloud/cloud.cfg, then /etc/cloud/cloud.cfg.d/*.cfg
// in name order, merged (later files win), as cloud-init reads them, so an
// image built for cloud-init needs no new configuration.
import type { Files } from '../host/files.ts';
import type { Diag } from '../types.ts';
import { mergeConfig, type Config } from '../userdata/merge.ts';
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

export const DEFAULT_DATASOURCES = ['NoCloud', 'ConfigDrive', 'Ec2'];

export function readSystemConfig(files: Files, diags: Diag[]): SystemConfig {
  const paths = ['/etc/cloud/cloud.cfg', ...files.list('/etc/cloud/cloud.cfg.d')
    .filter((n) => n.endsWith('.cfg')).map((n) => `/etc/cloud/cloud.cfg.d/${n}`)];
  let raw: Config = {};
  for (const path of paths) {
    const text = files.readIfExists(path);
    if (text === null) continue;
    try {
      raw = mergeConfig(raw, parseYamlMapping(text.toString(), path));
    } catch (e) {
      // A broken file is reported and skipped; the others still apply.
      diags.push({ level: 'warning', where: path, message: `${(e as Error).message} (file ignored; fix it and run again)` });
    }
  }
  const list = raw['datasource_list'];
  const datasourceList = Array.isArray(list) && list.every((s) => typeof s === 'string') ? list as string[] : DEFAULT_DATASOURCES;
  const systemInfo = (raw['system_info'] ?? {}) as Config;
  const du = (systemInfo['default_user'] ?? raw['default_user'] ?? null) as DefaultUser | null;
  return { datasourceList, defaultUser: du && typeof du.name === 'string' ? du : null, raw };
}
