// cloud-init's conversion of the apt keys from before the `apt` mapping
// (convert_to_v3_apt_format in cc_apt_configure): apt_mirror, apt_proxy,
// apt_sources (V1 list or V2 mapping), … become keys under `apt`, so old
// user-data (Packer and Terraform templates still carry them) still gets
// its mirror, proxy and sources. As in cloud-init:
//   - a key with null or '' is dropped;
//   - with an `apt` mapping present the old keys are dropped, and one that
//     says something else than `apt` does is an error (LP #1616831);
//   - apt_mirror / apt_mirror_search / apt_mirror_search_dns become the
//     primary mirror {arches: [default], uri, search, search_dns};
//   - apt_ftp_proxy goes to https_proxy and apt_https_proxy to ftp_proxy:
//     cloud-init's own mapping swaps the two, and the same user-data must
//     configure apt the same way.
import type { Config } from '../config/merge.ts';
import { isMapping } from './helpers.ts';

const RENAMES: Record<string, string | null> = {
  apt_sources: 'sources',
  apt_mirror: null,
  apt_mirror_search: null,
  apt_mirror_search_dns: null,
  apt_proxy: 'proxy',
  apt_http_proxy: 'http_proxy',
  apt_ftp_proxy: 'https_proxy',
  apt_https_proxy: 'ftp_proxy',
  apt_preserve_sources_list: 'preserve_sources_list',
  apt_custom_sources_list: 'sources_list',
  add_apt_repo_match: 'add_apt_repo_match',
};
export const LEGACY_APT_KEYS = Object.keys(RENAMES);

const MIRROR_KEYS: [string, string][] = [['apt_mirror', 'uri'], ['apt_mirror_search', 'search'], ['apt_mirror_search_dns', 'search_dns']];


/** V1 apt_sources (a list) → V2 (a mapping): entries without a filename all go to cloud_config_sources.list. */
function sourcesToMapping(list: unknown): Record<string, unknown> {
  if (isMapping(list)) return list;
  if (!Array.isArray(list)) throw new Error('apt_sources: unknown format (expected a list or a mapping)');
  const out: Record<string, unknown> = {};
  list.forEach((ent, i) => {
    const e = isMapping(ent) ? { ...ent } : {};
    if (typeof e['filename'] !== 'string') {
      e['filename'] = 'cloud_config_sources.list';
      out[`${i + 1}_cloud_config_sources.list`] = e;
    } else out[e['filename']] = e;
  });
  return out;
}

/** The `apt` settings the config means, old keys converted; `converted` names the old keys used. */
export function aptSettings(config: Config): { apt: Record<string, unknown> | undefined; converted: string[] } {
  const given = LEGACY_APT_KEYS.filter((k) => config[k] !== undefined && config[k] !== null && config[k] !== '');
  const apt = config['apt'];
  if (given.length === 0) return { apt: isMapping(apt) ? apt : undefined, converted: [] };
  if (apt !== undefined && apt !== null) {
    if (!isMapping(apt)) return { apt: undefined, converted: given };
    for (const k of given) {
      const newKey = RENAMES[k];
      if (!newKey || apt[newKey] === undefined || apt[newKey] === null) continue;
      const old = k === 'apt_sources' ? sourcesToMapping(config[k]) : config[k];
      if (JSON.stringify(old) !== JSON.stringify(apt[newKey])) {
        throw new Error(`old and new apt format defined with unequal values ${JSON.stringify(old)} vs ${JSON.stringify(apt[newKey])} @ ${k}`);
      }
    }
    return { apt, converted: given };
  }
  const out: Record<string, unknown> = {};
  for (const k of given) {
    const newKey = RENAMES[k];
    if (newKey) out[newKey] = k === 'apt_sources' ? sourcesToMapping(config[k]) : config[k];
  }
  const mirror: Record<string, unknown> = { arches: ['default'] };
  let anyMirror = false;
  for (const [oldKey, newKey] of MIRROR_KEYS) {
    if (given.includes(oldKey)) { mirror[newKey] = config[oldKey]; anyMirror = true; }
  }
  if (anyMirror) out['primary'] = [mirror];
  return { apt: out, converted: given };
}
