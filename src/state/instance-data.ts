// /run/ec2-init/instance-data.json (world-readable, secrets redacted) and
// instance-data-sensitive.json (0600): what `query` and templates read,
// shaped like cloud-init's (v1.* standard keys, ds.meta_data.* raw).
import { base64 } from '../bytes.ts';
import type { Context } from '../context.ts';
import type { Files } from '../host/files.ts';
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
      user_data: (found.userData == null ? undefined : base64(found.userData)) ?? null,
      vendor_data: (found.vendorData == null ? undefined : base64(found.vendorData)) ?? null,
    },
  };
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
  files.write(`${layout.runDir}/instance-data-sensitive.json`, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
  files.write(`${layout.runDir}/instance-data.json`, JSON.stringify(redact(data), null, 2) + '\n', { mode: 0o644 });
  // cloud-init's runtime paths, for the tools that read them: links to ours, and its cloud-id file.
  const ci = layout.cloudInitRunDir;
  files.mkdir(ci);
  for (const name of ['instance-data.json', 'instance-data-sensitive.json']) files.symlink(`${ci}/${name}`, `../ec2-init/${name}`);
  const cloudId = (data['v1'] as { cloud_id: string }).cloud_id;
  const idFile = `cloud-id-${cloudId.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  files.write(`${ci}/${idFile}`, `${cloudId}\n`, { mode: 0o644 });
  files.symlink(`${ci}/cloud-id`, idFile);
}

