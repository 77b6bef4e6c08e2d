// NoCloud: a seed directory on the root's own disk,
// /var/lib/cloud/seed/nocloud (or nocloud-net), holding meta-data (YAML:
// instance-id, local-hostname), user-data and optionally vendor-data.
// (cidata volumes and the ds=nocloud kernel argument: issue 4.)
import { parseYamlMapping } from '../config/yaml.ts';
import type { Files } from '../host/files.ts';
import { layout } from '../state/layout.ts';
import type { SourceData } from '../types.ts';

export function readNoCloud(files: Files): SourceData | null {
  for (const seed of ['nocloud', 'nocloud-net']) {
    const dir = layout.seedDir(seed);
    const metaText = files.readIfExists(`${dir}/meta-data`);
    if (metaText === null) continue;
    const metaData = parseYamlMapping(metaText.toString(), `${dir}/meta-data`);
    const instanceId = metaData['instance-id'] ?? metaData['instance_id'];
    if (typeof instanceId !== 'string' && typeof instanceId !== 'number') {
      throw new Error(`${dir}/meta-data: no instance-id (add a line such as 'instance-id: iid-local01')`);
    }
    const hostname = metaData['local-hostname'] ?? metaData['hostname'];
    const userData = files.readIfExists(`${dir}/user-data`);
    const vendorData = files.readIfExists(`${dir}/vendor-data`);
    return {
      name: 'NoCloud',
      provider: 'nocloud',
      instanceId: String(instanceId),
      localHostname: typeof hostname === 'string' ? hostname : undefined,
      metaData,
      userData,
      vendorData,
      cloudName: 'nocloud',
      platform: 'nocloud',
      cache: { 'meta-data': metaText },
    };
  }
  return null;
}
