// The provisioning report as Azure reads it besides the health report: one
// line of `key=value` fields joined by '|' (cloud-init's encode_report: CSV
// with '|' between fields and ' around a field that holds one), written to
// the Hyper-V KVP pool the host reads (/var/lib/hyperv/.kvp_pool_1) under
// the key PROVISIONING_REPORT, in the pool's record format: the key
// NUL-padded to 512 bytes, the value (at most 1023 characters, Azure's
// limit) NUL-padded to 2048 (cloud-init's HyperVKvpReportingHandler).
//
// The pool is written only where the Hyper-V KVP daemon keeps one
// (/var/lib/hyperv exists); a pool last written before this boot is emptied
// first, once per process, as cloud-init does (the host reads this boot's).
// Records are appended on an O_APPEND descriptor, one write each.
import { utf8 } from '../bytes.ts';
import type { Files } from '../host/files.ts';
import { uptime } from '../host/machine.ts';
import type { Logger } from '../log.ts';
import { VERSION } from '../version.ts';

export const KVP_POOL = '/var/lib/hyperv/.kvp_pool_1';
export const KVP_KEY_SIZE = 512;
export const KVP_VALUE_SIZE = 2048;
const AZURE_MAX_VALUE = 1024;
export const AGENT = `ec2-init/${VERSION}`;
export const DOCUMENTATION_URL = 'https://aka.ms/linuxprovisioningerror';

/** Fields joined by '|', a field holding '|', "'", CR or LF quoted with ' (inner ' doubled), as Python's csv writes them. */
export function encodeReport(fields: string[]): string {
  return fields.map((f) => (/[|'\r\n]/.test(f) ? `'${f.replace(/'/g, "''")}'` : f)).join('|');
}

/** The success line (cloud-init's report_success_to_host). */
export function successReport(vmId: string, now = new Date()): string {
  return encodeReport(['result=success', `agent=${AGENT}`, `timestamp=${now.toISOString()}`, `vm_id=${vmId}`]);
}

/** An error line (cloud-init's ReportableError.as_encoded_report): the reason, its data, the vm id. */
export function errorReport(reason: string, data: Record<string, string | number>, vmId: string, now = new Date()): string {
  return encodeReport([
    'result=error', `reason=${reason}`, `agent=${AGENT}`,
    ...Object.entries(data).map(([k, v]) => `${k}=${v}`),
    `vm_id=${vmId}`, `timestamp=${now.toISOString()}`, `documentation_url=${DOCUMENTATION_URL}`,
  ]);
}

/** One pool record: key and value, each NUL-padded (or cut) to its size. */
export function kvpRecord(key: string, value: string): Uint8Array {
  const v = value.length >= AZURE_MAX_VALUE ? value.slice(0, AZURE_MAX_VALUE - 1) : value;
  const record = new Uint8Array(KVP_KEY_SIZE + KVP_VALUE_SIZE);
  record.set(utf8(key).subarray(0, KVP_KEY_SIZE), 0);
  record.set(utf8(v).subarray(0, KVP_VALUE_SIZE), KVP_KEY_SIZE);
  return record;
}

let emptiedThisProcess = false;

/** Append `key`=`value` to the pool; false (and a log line) when there is no pool or it cannot be written. */
export function writeKvp(files: Files, log: Logger, key: string, value: string): boolean {
  if (!files.isDirectory('/var/lib/hyperv')) {
    log.debug(`datasource Azure: no /var/lib/hyperv (no Hyper-V KVP daemon): ${key} not written to KVP`);
    return false;
  }
  try {
    if (!emptiedThisProcess) {
      emptiedThisProcess = true;
      const st = files.stat(KVP_POOL);
      const up = Number(uptime());
      if (st && st.kind === 'file' && Number.isFinite(up) && st.mtimeMs < Date.now() - up * 1000) files.write(KVP_POOL, '', { mode: 0o644 });
    }
    const pool = files.openAppend(KVP_POOL, 0o644);
    try { pool.write(kvpRecord(key, value)); } finally { pool.close(); }
    return true;
  } catch (e) {
    log.warn(`datasource Azure: writing ${key} to ${KVP_POOL}: ${(e as Error).message}`);
    return false;
  }
}
