// OpenStack config drive (Rackspace uses it too): a volume labelled config-2
// or CONFIG-2 (iso9660 or vfat, read in userspace, never mounted), or the
// seed directory /var/lib/cloud/seed/config_drive. Reads
// openstack/latest/ (or the newest dated version) meta_data.json,
// user_data, vendor_data.json, network_data.json, and the ec2/ tree.
import { asText } from '../bytes.ts';
import type { Files } from '../host/files.ts';
import type { SourceData } from '../types.ts';
import { ReadBudget } from './budget.ts';
import type { Source } from './source.ts';
import { findVolumeByLabel, openVolume } from './volume/index.ts';

interface Tree { list(dir: string): string[]; read(path: string, maxBytes?: number): Uint8Array | null }

/**
 * The tree read within the budget (budget.ts), each file once: meta_data.json
 * must fit; any other file that does not is left out, and reported.
 */
function budgeted(tree: Tree, where: string, budget: ReadBudget, report: (message: string) => void): Tree {
  const read = new Map<string, Uint8Array | null>();
  return {
    list: (dir) => tree.list(dir),
    read: (path) => {
      if (!read.has(path)) {
        const what = `${where}${path}`;
        const one = (max: number) => tree.read(path, max);
        read.set(path, path.endsWith('/meta_data.json') ? budget.readSync(what, one) : budget.optionalSync(what, report, one));
      }
      return read.get(path)!;
    },
  };
}

function json(tree: Tree, path: string): Record<string, unknown> | null {
  const text = tree.read(path);
  if (text === null) return null;
  try { return JSON.parse(asText(text)) as Record<string, unknown>; } catch (e) {
    throw new Error(`config drive ${path}: not valid JSON: ${(e as Error).message}`);
  }
}

/** 'latest' when present, else the newest dated version (2012-08-10 …). */
function version(tree: Tree): string | null {
  const names = tree.list('/openstack');
  if (names.includes('latest')) return 'latest';
  return names.filter((n) => /^\d{4}-\d{2}-\d{2}$/.test(n)).sort().pop() ?? null;
}

export function fromTree(tree: Tree, where: string): SourceData | null {
  const v = version(tree);
  if (v === null) return null;
  const base = `/openstack/${v}`;
  const meta = json(tree, `${base}/meta_data.json`);
  if (meta === null) return null;
  const uuid = meta['uuid'] ?? meta['instance-id'];
  if (typeof uuid !== 'string' || uuid === '') throw new Error(`${where}${base}/meta_data.json: no uuid (the instance-id)`);
  const keys = meta['public_keys'];
  const publicKeys = keys && typeof keys === 'object' ? Object.values(keys as Record<string, unknown>).map(String) : [];
  const ec2Meta = json(tree, '/ec2/latest/meta-data.json');
  const cache: Record<string, Uint8Array> = {};
  for (const name of ['meta_data.json', 'vendor_data.json', 'network_data.json']) {
    const b = tree.read(`${base}/${name}`);
    if (b) cache[name] = b;
  }
  const hostname = meta['hostname'] ?? meta['name'];
  return {
    name: 'ConfigDrive',
    provider: 'configdrive',
    instanceId: uuid,
    localHostname: typeof hostname === 'string' ? hostname : undefined,
    metaData: { ...meta, ...(ec2Meta ? { ec2: ec2Meta } : {}) },
    userData: tree.read(`${base}/user_data`),
    vendorData: tree.read(`${base}/vendor_data.json`),
    publicKeys,
    launchIndex: typeof meta['launch_index'] === 'number' ? meta['launch_index'] : undefined,
    availabilityZone: typeof meta['availability_zone'] === 'string' ? meta['availability_zone'] : undefined,
    cloudName: 'openstack',
    platform: 'openstack',
    cache,
  };
}

/** The labels of a config drive (matched exactly, as cloud-init does). */
export const CONFIG_DRIVE_LABELS = ['config-2', 'CONFIG-2'] as const;

export function readConfigDrive(files: Files, budget = new ReadBudget(), report: (message: string) => void = () => {}): SourceData | null {
  const seed = '/var/lib/cloud/seed/config_drive';
  if (files.isDirectory(seed)) {
    const tree = { list: (d: string) => files.list(`${seed}${d}`), read: (p: string, max?: number) => files.readIfExists(`${seed}${p}`, max) };
    const found = fromTree(budgeted(tree, seed, budget, report), seed);
    if (found) return found;
  }
  const device = findVolumeByLabel(files, [...CONFIG_DRIVE_LABELS]);
  const volume = device ? openVolume(files, device) : null;
  return volume ? fromTree(budgeted(volume, `volume ${volume.label}`, budget, report), `volume ${volume.label}`) : null;
}

export const configDrive: Source = {
  name: 'ConfigDrive',
  reach: 'files',
  detect: () => true,
  read: async ({ ctx, budget }) => readConfigDrive(ctx.files, budget, (m) => ctx.report('error', 'datasource ConfigDrive', m)),
};
