// OpenStack's metadata made into a SourceData, however it was read: the
// config drive (configdrive.ts) and the metadata service (openstack.ts) read
// the same files of one version directory and hand them here, so both give
// the same instance-id, keys, hostname and vendor-data (cloud-init's
// helpers/openstack.py serves both of its datasources the same way).
import { asText, utf8 } from '../bytes.ts';
import type { SourceData } from '../types.ts';

export interface OpenStackFiles {
  /** The version directory the files came from, for messages ('/var/lib/…/openstack/latest', 'http://…/openstack/latest'). */
  dir: string;
  meta: Uint8Array;
  userData: Uint8Array | null;
  vendor: Uint8Array | null;
  network: Uint8Array | null;
  /** ec2/latest/meta-data.json of a config drive, kept under the metadata's `ec2` key. */
  ec2Meta?: Record<string, unknown> | null;
}

/** meta_data.json: a JSON object with the instance-id (`uuid`), or an error naming the file. */
export function parseMeta(dir: string, bytes: Uint8Array): { meta: Record<string, unknown>; uuid: string } {
  let meta: unknown;
  try { meta = JSON.parse(asText(bytes)); } catch (e) {
    throw new Error(`${dir}/meta_data.json: not valid JSON: ${(e as Error).message}`);
  }
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) throw new Error(`${dir}/meta_data.json: not a JSON object`);
  const m = meta as Record<string, unknown>;
  const uuid = m['uuid'] ?? m['instance-id'];
  if (typeof uuid !== 'string' || uuid === '') throw new Error(`${dir}/meta_data.json: no uuid (the instance-id)`);
  return { meta: m, uuid };
}

/** vendor_data.json as cloud-init reads it (convert_vendordata): a string, or the "cloud-init" key of an object. */
function vendorData(body: Uint8Array | null, warn: (message: string) => void): Uint8Array | null {
  if (!body) return null;
  try {
    const v = JSON.parse(asText(body)) as unknown;
    if (typeof v === 'string') return utf8(v);
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const ci = (v as Record<string, unknown>)['cloud-init'];
      if (typeof ci === 'string') return utf8(ci);
      if (ci !== undefined && ci !== null) return utf8(JSON.stringify(ci));
    }
    return null;
  } catch (e) {
    warn(`vendor_data.json is not JSON (${(e as Error).message}); ignored`);
    return null;
  }
}

/** The SourceData of one OpenStack version directory; `source` names it (ConfigDrive or OpenStack, where it came from). */
export function openStackSourceData(
  f: OpenStackFiles,
  source: Pick<SourceData, 'name' | 'provider'> & { subplatform?: string },
  warn: (message: string) => void,
): SourceData {
  const { meta, uuid } = parseMeta(f.dir, f.meta);
  const keys = meta['public_keys'];
  const cache: Record<string, Uint8Array> = { 'meta_data.json': f.meta };
  if (f.vendor) cache['vendor_data.json'] = f.vendor;
  if (f.network) cache['network_data.json'] = f.network;
  const hostname = meta['hostname'] ?? meta['name'];
  return {
    ...source,
    instanceId: uuid,
    localHostname: typeof hostname === 'string' ? hostname : undefined,
    metaData: { ...meta, ...(f.ec2Meta ? { ec2: f.ec2Meta } : {}) },
    userData: f.userData,
    vendorData: vendorData(f.vendor, warn),
    publicKeys: keys && typeof keys === 'object' ? Object.values(keys as Record<string, unknown>).map(String) : [],
    launchIndex: typeof meta['launch_index'] === 'number' ? meta['launch_index'] : undefined,
    availabilityZone: typeof meta['availability_zone'] === 'string' ? meta['availability_zone'] : undefined,
    cloudName: 'openstack',
    platform: 'openstack',
    cache,
  };
}
