// NoCloud: meta-data (YAML: instance-id, local-hostname), user-data,
// vendor-data, network-config from, in order:
//  1. the kernel command line: ds=nocloud;s=URL/ (file:// or http://),
//     with h=HOSTNAME and i=INSTANCE-ID overrides;
//  2. a seed directory /var/lib/cloud/seed/nocloud or nocloud-net;
//  3. a volume labelled cidata or CIDATA (iso9660 or vfat, read in
//     userspace, never mounted).
// A `seedfrom` key in meta-data points at the rest of the seed.
import { asText } from '../bytes.ts';
import { parseYamlMapping } from '../config/yaml.ts';
import type { Files } from '../host/files.ts';
import { layout } from '../state/layout.ts';
import type { SourceData } from '../types.ts';
import { remaining } from '../net/cancel.ts';
import { request, rootCaBundle } from '../net/http.ts';
import { ReadBudget } from './budget.ts';
import { kernelCmdline } from '../host/root-facts.ts';
import { isFileUrl, readFileUrl } from '../net/file-url.ts';
import { pubkeys } from './pubkeys.ts';
import type { Source } from './source.ts';
import { findVolumeByLabel, openVolume } from './volume/index.ts';

/** The labels of a NoCloud seed volume (matched exactly, as cloud-init does). */
export const NOCLOUD_LABELS = ['cidata', 'CIDATA'] as const;

/** A seed file by name, at most maxBytes (larger: an error of the reader's, see budget.ts). */
type Reader = (name: string, maxBytes: number) => Promise<Uint8Array | null>;

/** The `ds=nocloud…` argument of a kernel command line, parsed; null when absent. */
export function parseNoCloudCmdline(cmdline: string): { seedfrom?: string; hostname?: string; instanceId?: string } | null {
  const arg = cmdline.split(/\s+/).find((w) => /^ds=nocloud(-net)?(;|$)/.test(w));
  if (!arg) return null;
  const out: { seedfrom?: string; hostname?: string; instanceId?: string } = {};
  for (const kv of arg.split(';').slice(1)) {
    const [k, v = ''] = kv.split(/=(.*)/s, 2) as [string, string | undefined];
    if (k === 's' || k === 'seedfrom') out.seedfrom = v;
    else if (k === 'h' || k === 'local-hostname') out.hostname = v;
    else if (k === 'i' || k === 'instance-id') out.instanceId = v;
  }
  return out;
}

/** A reader of seed files under a URL: file:// (inside the root) or http(s)://. */
function urlReader(files: Files, base: string, deadline: number): Reader {
  const prefix = base.endsWith('/') ? base : `${base}/`;
  if (isFileUrl(prefix)) return async (name, max) => readFileUrl(files, `${prefix}${name}`, max);
  if (/^https?:\/\//.test(prefix)) {
    // https is verified against the root's own CA bundle; a redirect is an error, not followed.
    const ca = rootCaBundle((p) => files.readIfExists(p));
    return async (name, max) => {
      const r = await request(`${prefix}${name}`, { timeoutMs: Math.min(5000, remaining(deadline)), deadline, ca, maxBytes: max });
      if (r.status === 404) return null;
      if (r.status !== 200) throw new Error(`${prefix}${name}: HTTP ${r.status}`);
      return r.body;
    };
  }
  throw new Error(`seedfrom ${base}: unsupported URL (use file://, http:// or https://)`);
}

/** What a read is given besides its reader: the budget of all it reads (budget.ts), and where to say what it left out. */
export interface SeedRead { files: Files; deadline: number; budget: ReadBudget; report: (where: string, message: string) => void }

async function fromReader(run: SeedRead, read: Reader, where: string, overrides: { hostname?: string; instanceId?: string } = {}): Promise<SourceData | null> {
  const { files, deadline, budget } = run;
  // Each file read within what is left of the budget: meta-data must fit (no instance without it);
  // the others are left out, and said so, when they do not.
  const must = (r: Reader, base: string, name: string) => budget.read(`${base}/${name}`, (max) => r(name, max));
  const may = (r: Reader, base: string, name: string) =>
    budget.optional(`${base}/${name}`, (m) => run.report(`datasource NoCloud`, m), (max) => r(name, max));
  const metaText = await must(read, where, 'meta-data');
  if (metaText === null) return null;
  let metaData = parseYamlMapping(asText(metaText), `${where}/meta-data`);
  let userData = await may(read, where, 'user-data');
  let vendorData = await may(read, where, 'vendor-data');
  const networkConfig = await may(read, where, 'network-config');
  const seedfrom = metaData['seedfrom'];
  if (typeof seedfrom === 'string' && seedfrom !== '') {
    // The seed names where the rest lives; what it has there wins.
    const more = urlReader(files, seedfrom, deadline);
    const base = seedfrom.replace(/\/+$/, '');
    const moreMeta = await must(more, base, 'meta-data');
    if (moreMeta) metaData = { ...metaData, ...parseYamlMapping(asText(moreMeta), `${seedfrom}meta-data`) };
    userData = (await may(more, base, 'user-data')) ?? userData;
    vendorData = (await may(more, base, 'vendor-data')) ?? vendorData;
  }
  if (overrides.instanceId) metaData['instance-id'] = overrides.instanceId;
  if (overrides.hostname) metaData['local-hostname'] = overrides.hostname;
  const instanceId = metaData['instance-id'] ?? metaData['instance_id'];
  if (typeof instanceId !== 'string' && typeof instanceId !== 'number') {
    throw new Error(`${where}/meta-data: no instance-id (add a line such as 'instance-id: iid-local01')`);
  }
  const hostname = metaData['local-hostname'] ?? metaData['hostname'];
  const launchIndex = Number(metaData['ami-launch-index'] ?? metaData['launch-index']);
  const cache: Record<string, Uint8Array> = { 'meta-data': metaText };
  if (networkConfig) cache['network-config'] = networkConfig;
  return {
    name: 'NoCloud',
    provider: 'nocloud',
    instanceId: String(instanceId),
    localHostname: typeof hostname === 'string' ? hostname : undefined,
    metaData,
    userData,
    vendorData,
    publicKeys: pubkeys(metaData['public-keys']),
    launchIndex: Number.isInteger(launchIndex) ? launchIndex : undefined,
    cloudName: 'nocloud',
    // cloud-init's words: seed-dir for a directory, config-disk for a volume, seedfrom for a URL.
    subplatform: where.startsWith('volume ') ? `config-disk (${where.slice(7)})` : /^[a-z]+:\/\//.test(where) ? `seedfrom (${where})` : `seed-dir (${where})`,
    platform: 'nocloud',
    cache,
  };
}


export async function readNoCloud(run: SeedRead): Promise<SourceData | null> {
  const { files, deadline } = run;
  const cmd = parseNoCloudCmdline(kernelCmdline(files));
  if (cmd?.seedfrom) {
    const found = await fromReader(run, urlReader(files, cmd.seedfrom, deadline), cmd.seedfrom, cmd);
    if (found) return found;
  }
  for (const seed of ['nocloud', 'nocloud-net']) {
    const dir = layout.seedDir(seed);
    const found = await fromReader(run, async (name, max) => files.readIfExists(`${dir}/${name}`, max), dir, cmd ?? {});
    if (found) return found;
  }
  const device = findVolumeByLabel(files, [...NOCLOUD_LABELS]);
  if (device) {
    const volume = openVolume(files, device);
    // Named by its device, as cloud-init's seed (subplatform 'config-disk (/dev/sr0)'; the next boot's device wait reads it).
    if (volume) return fromReader(run, async (name, max) => volume.read(`/${name}`, max), `volume ${device}`, cmd ?? {});
  }
  return null;
}

export const noCloud: Source = {
  name: 'NoCloud',
  reach: 'files',
  detect: () => true,
  read: ({ ctx, deadline, budget }) => readNoCloud({ files: ctx.files, deadline, budget, report: (where, m) => ctx.report('error', where, m) }),
};
