// /run/ec2-init/instance-data.json (world-readable, secrets redacted) and
// instance-data-sensitive.json (0600): what `query` and templates read,
// shaped like cloud-init's (v1.* standard keys, ds.meta_data.* raw).
import { base64 } from '../bytes.ts';
import type { Context } from '../context.ts';
import type { SourceData } from '../types.ts';
import { layout } from './layout.ts';

export const REDACTED = 'redacted for non-root user';

// Keys whose values are secret wherever they appear (cloud-init redacts the same kinds).
// Broad on purpose: a key redacted by mistake costs a `sudo`, a secret shown costs the secret.
const SECRET_KEY = /pass(word|wd)?|pwd|secret|token|credential|private|auth|api[-_]?key|user[-_]?data|vendor[-_]?data/i;

export function instanceData(found: SourceData): Record<string, unknown> {
  return {
    v1: {
      cloud_name: found.cloudName ?? 'unknown',
      platform: found.platform ?? 'unknown',
      instance_id: found.instanceId,
      local_hostname: found.localHostname ?? null,
      region: found.region ?? null,
      availability_zone: found.availabilityZone ?? null,
      instance_type: found.instanceType ?? null,
      launch_index: found.launchIndex ?? null,
      public_ssh_keys: found.publicKeys ?? [],
      datasource: found.name,
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
  const data = instanceData(found);
  ctx.files.mkdir(layout.runDir);
  ctx.files.write(`${layout.runDir}/instance-data-sensitive.json`, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
  ctx.files.write(`${layout.runDir}/instance-data.json`, JSON.stringify(redact(data), null, 2) + '\n', { mode: 0o644 });
}

/** The value at a dotted path ('v1.instance_id', 'ds.meta_data.placement.region'), or undefined. */
export function lookupKey(data: unknown, key: string): unknown {
  let cur: unknown = data;
  for (const part of key.split('.')) {
    if (typeof cur !== 'object' || cur === null || !(part in cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
