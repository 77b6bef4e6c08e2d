// OpenStack config drive (Rackspace uses it too): a volume labelled config-2
// or CONFIG-2 (iso9660 or vfat, read in userspace, never mounted), or the
// seed directory /var/lib/cloud/seed/config_drive. Reads
// openstack/latest/ (or the newest dated version) meta_data.json,
// user_data, vendor_data.json, network_data.json, and the ec2/ tree.
import { asText } from '../bytes.ts';
import type { Files } from '../host/files.ts';
import type { SourceData } from '../types.ts';
import { ReadBudget } from './budget.ts';
import { openStackSourceData } from './openstack-data.ts';
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

export function fromTree(tree: Tree, where: string, warn: (message: string) => void = () => {}): SourceData | null {
  const v = version(tree);
  if (v === null) return null;
  const base = `/openstack/${v}`;
  const meta = tree.read(`${base}/meta_data.json`);
  if (meta === null) return null;
  return openStackSourceData({
    dir: `${where}${base}`,
    meta,
    userData: tree.read(`${base}/user_data`),
    vendor: tree.read(`${base}/vendor_data.json`),
    network: tree.read(`${base}/network_data.json`),
    ec2Meta: json(tree, '/ec2/latest/meta-data.json'),
  }, {
    name: 'ConfigDrive', provider: 'configdrive',
    // cloud-init's words: config-disk for a volume (its device), seed-dir for a directory.
    subplatform: where.startsWith('volume ') ? `config-disk (${where.slice(7)})` : `seed-dir (${where})`,
  }, warn);
}

/** The labels of a config drive (matched exactly, as cloud-init does). */
export const CONFIG_DRIVE_LABELS = ['config-2', 'CONFIG-2'] as const;

export function readConfigDrive(files: Files, budget = new ReadBudget(), report: (message: string) => void = () => {}, warn: (message: string) => void = () => {}): SourceData | null {
  const seed = '/var/lib/cloud/seed/config_drive';
  if (files.isDirectory(seed)) {
    const tree = { list: (d: string) => files.list(`${seed}${d}`), read: (p: string, max?: number) => files.readIfExists(`${seed}${p}`, max) };
    const found = fromTree(budgeted(tree, seed, budget, report), seed, warn);
    if (found) return found;
  }
  const device = findVolumeByLabel(files, [...CONFIG_DRIVE_LABELS]);
  const volume = device ? openVolume(files, device) : null;
  return volume ? fromTree(budgeted(volume, `volume ${device}`, budget, report), `volume ${device}`, warn) : null;
}

export const configDrive: Source = {
  name: 'ConfigDrive',
  reach: 'files',
  detect: () => true,
  read: async ({ ctx, budget }) => readConfigDrive(ctx.files, budget, (m) => ctx.report('error', 'datasource ConfigDrive', m), (m) => ctx.report('warning', 'datasource ConfigDrive', m)),
};
