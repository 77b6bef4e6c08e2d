// `cloud-id`: the canonical id of the cloud this instance runs on (aws,
// aws-china, nocloud, openstack…), as cloud-init's cloud-id prints it, with
// its exit codes: 0 found, 1 error, 2 disabled, 3 not run yet.
import { readHostFile } from '../host/machine.ts';
import { asText } from '../bytes.ts';
import type { Files } from '../host/files.ts';
import { canonicalCloudId } from '../state/instance-data.ts';
import { layout } from '../state/layout.ts';

export function cloudId(files: Files, opts: { json: boolean; long: boolean; instanceData: string | null }, running: string): { out: string; err: string; code: number } {
  if (running === 'disabled') return { out: 'disabled\n', err: '', code: 2 };
  if (running === 'not started') return { out: 'not started\n', err: '', code: 3 };
  const path = opts.instanceData ?? `${layout.runDir}/instance-data.json`;
  let text: string | null;
  try { text = opts.instanceData ? asText(readHostFile(opts.instanceData)) : files.readTextIfExists(path); } catch { text = null; }
  if (text === null) return { out: '', err: `File not found '${path}'. Provide a path to instance data json file using --instance-data\n`, code: 1 };
  let v1: Record<string, unknown>;
  try { v1 = ((JSON.parse(text) as { v1?: Record<string, unknown> }).v1) ?? {}; } catch (e) {
    return { out: '', err: `File '${path}' is not valid json. ${(e as Error).message}\n`, code: 1 };
  }
  const str = (k: string) => (typeof v1[k] === 'string' ? v1[k] as string : undefined);
  const id = canonicalCloudId(str('cloud_name'), str('region'), str('platform'));
  if (opts.json) {
    const sorted = Object.fromEntries(Object.keys({ ...v1, cloud_id: id }).sort().map((k) => [k, k === 'cloud_id' ? id : v1[k]]));
    return { out: `${JSON.stringify(sorted, null, 1)}\n`, err: 'DEPRECATED: Use: cloud-init query v1\n', code: 0 };
  }
  if (opts.long) return { out: `${id}\t${str('region') ?? 'unknown'}\n`, err: '', code: 0 };
  return { out: `${id}\n`, err: '', code: 0 };
}
