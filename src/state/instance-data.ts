// /run/ec2-init/instance-data.json (world-readable, secrets redacted) and
// instance-data-sensitive.json (0600): what `query` and templates read,
// shaped like cloud-init's (v1.* standard keys, ds.meta_data.* raw). As in
// cloud-init, the user-data and vendor-data are not in them: `query` adds
// them from user-data.txt and vendor-data.txt beside them.
import type { Context } from '../context.ts';
import { MAX_READ, type Files } from '../host/files.ts';
import { utf8Encode } from '../host/codecs.ts';
import { kernelRelease, readMachineFile } from '../host/machine.ts';
import { osRelease } from '../host/os-release.ts';
import type { SourceData } from '../types.ts';
import { layout } from './layout.ts';

export const REDACTED = 'redacted for non-root user';

// Keys whose values are secret wherever they appear (cloud-init redacts the same kinds).
// Broad on purpose: a key redacted by mistake costs a `sudo`, a secret shown costs the secret.
const SECRET_KEY = /pass(word|wd)?|pwd|secret|token|credential|private|auth|api[-_]?key|user[-_]?data|vendor[-_]?data/i;

/** cloud-init's canonical_cloud_id: the cloud, told apart by region where one cloud has several (aws-china, aws-gov). */
export function canonicalCloudId(cloudName: string | undefined, region: string | undefined, platform: string | undefined): string {
  const name = cloudName || 'unknown';
  const where = region || 'unknown';
  if (where !== 'unknown') {
    if (where.startsWith('cn-') && name === 'aws') return 'aws-china';
    if (where.startsWith('us-gov-') && name === 'aws') return 'aws-gov';
    if (where.startsWith('china') && name === 'azure') return 'azure-china';
  }
  return name !== 'unknown' ? name : platform || 'unknown';
}

/** The distribution of the root, from its /etc/os-release: [ID, VERSION_ID, VERSION_CODENAME] (cloud-init's dist). */
function distro(files: Files): [string, string, string] {
  const os = osRelease(files);
  return [os['ID'] ?? '', os['VERSION_ID'] ?? '', os['VERSION_CODENAME'] ?? ''];
}

export function instanceData(found: SourceData, files: Files): Record<string, unknown> {
  const [dist, version, release] = distro(files);
  const cloudName = found.cloudName ?? 'unknown';
  const platform = found.platform ?? 'unknown';
  return {
    v1: {
      // Both spellings, as cloud-init writes them (templates use either).
      'availability-zone': found.availabilityZone ?? null,
      availability_zone: found.availabilityZone ?? null,
      cloud_id: canonicalCloudId(found.cloudName, found.region, found.platform),
      'cloud-name': cloudName,
      cloud_name: cloudName,
      datasource: found.name,
      distro: dist,
      distro_release: release,
      distro_version: version,
      'instance-id': found.instanceId,
      instance_id: found.instanceId,
      instance_type: found.instanceType ?? null,
      kernel_release: kernelRelease() ?? '',
      launch_index: found.launchIndex ?? null,
      'local-hostname': found.localHostname ?? null,
      local_hostname: found.localHostname ?? null,
      machine: readMachineFile('/proc/sys/kernel/arch')?.trim() ?? '',
      platform,
      public_ssh_keys: found.publicKeys ?? [],
      region: found.region ?? null,
      subplatform: found.subplatform ?? 'unknown',
      variant: dist,
    },
    ds: {
      meta_data: found.metaData,
    },
  };
}

/**
 * `value` as the JSON of a file its readers take whole (at most MAX_READ
 * bytes, Files.read's cap): meta-data within the source budget can still
 * grow past it as JSON (an escape is six bytes for one), and a file no stage
 * can read back would stop every later one. Too large: `leaveOut` makes the
 * smaller value written instead, and `report` says so.
 */
export function jsonWithin<T>(value: T, leaveOut: (v: T) => T, report: (message: string) => void): Uint8Array {
  const bytes = utf8Encode(JSON.stringify(value, null, 2) + '\n');
  if (bytes.length <= MAX_READ) return bytes;
  report(`its JSON would be ${bytes.length} bytes, more than the ${MAX_READ} its readers take: written without the meta-data`);
  return utf8Encode(JSON.stringify(leaveOut(value), null, 2) + '\n');
}

/** A copy with every secret-named key's value replaced by REDACTED. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? REDACTED : redact(v)]));
}

export function writeInstanceData(ctx: Context, found: SourceData): void {
  const data = instanceData(found, ctx.files);
  const { files } = ctx;
  files.mkdir(layout.runDir);
  const withoutMeta = (d: Record<string, unknown>) => ({ ...d, ds: { meta_data: {} } });
  const report = (name: string) => (m: string) => ctx.report('error', `${layout.runDir}/${name}`, m);
  files.write(`${layout.runDir}/instance-data-sensitive.json`, jsonWithin(data, withoutMeta, report('instance-data-sensitive.json')), { mode: 0o600 });
  files.write(`${layout.runDir}/instance-data.json`, jsonWithin(redact(data) as Record<string, unknown>, withoutMeta, report('instance-data.json')), { mode: 0o644 });
  // cloud-init's runtime paths, for the tools that read them: links to ours, and its cloud-id file.
  const ci = layout.cloudInitRunDir;
  files.mkdir(ci);
  for (const name of ['instance-data.json', 'instance-data-sensitive.json']) files.symlink(`${ci}/${name}`, `../ec2-init/${name}`);
  const cloudId = (data['v1'] as { cloud_id: string }).cloud_id;
  const idFile = `cloud-id-${cloudId.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  files.write(`${ci}/${idFile}`, `${cloudId}\n`, { mode: 0o644 });
  files.symlink(`${ci}/cloud-id`, idFile);
}

