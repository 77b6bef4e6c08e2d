// `collect-logs`: the logs and state a bug report needs, in one tar.gz in the
// current directory (cloud-init's default name when started as cloud-init):
// ec2-init's logs (and cloud-init's, when it left some), status and result,
// the instance data, the expanded user-data, the version. User-data and the
// sensitive instance data are left out with --redact-sensitive. The archive
// is 0600: without --redact-sensitive it holds user-data.
import { utf8 } from '../bytes.ts';
import type { Files } from '../host/files.ts';
import { writeHostFile } from '../host/machine.ts';
import { gzip } from '../host/codecs.ts';
import { layout } from '../state/layout.ts';

const ALWAYS = [
  layout.log, layout.outputLog, '/var/log/cloud-init.log', '/var/log/cloud-init-output.log',
  layout.status, layout.result, layout.instanceIdFile, layout.previousInstanceIdFile,
  `${layout.runDir}/instance-data.json`, `${layout.cloudInitRunDir}/cloud-id`,
];
const SENSITIVE = [`${layout.runDir}/instance-data-sensitive.json`, layout.userDataRaw, layout.userDataTxt, layout.userConfig, layout.vendorConfig];

/** One ustar entry: a 512-byte header, the content, padding to 512. */
function tarEntry(name: string, content: Uint8Array, mtime: number): Uint8Array[] {
  const header = new Uint8Array(512);
  const put = (text: string, at: number, len: number) => header.set(utf8(text).subarray(0, len), at);
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, '0');
  put(name.length > 100 ? name.slice(-100) : name, 0, 100);
  put(octal(0o600, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(content.length, 12), 124, 12);
  put(octal(Math.floor(mtime), 12), 136, 12);
  header.fill(0x20, 148, 156); // the checksum counts itself as spaces
  header[156] = 0x30; // '0': a regular file
  put('ustar', 257, 6);
  put('00', 263, 2);
  put('root', 265, 32);
  put('root', 297, 32);
  let sum = 0;
  for (const b of header) sum += b;
  put(`${octal(sum, 7)}\0`, 148, 8);
  const pad = new Uint8Array((512 - (content.length % 512)) % 512);
  return [header, content, pad];
}

export function collectLogs(files: Files, version: string, tarfile: string, redact: boolean): string[] {
  const now = Date.now() / 1000;
  const day = new Date().toISOString().slice(0, 10);
  const top = `cloud-init-logs-${day}`;
  const parts: Uint8Array[] = [];
  const taken: string[] = [];
  parts.push(...tarEntry(`${top}/version`, utf8(`ec2-init ${version}\n`), now));
  for (const path of [...ALWAYS, ...(redact ? [] : SENSITIVE)]) {
    let content: Uint8Array | null;
    try { content = files.readIfExists(path); } catch { content = null; }
    if (content === null) continue;
    parts.push(...tarEntry(`${top}${path}`, content, now));
    taken.push(path);
  }
  parts.push(new Uint8Array(1024)); // two empty blocks end the archive
  const total = parts.reduce((n, p) => n + p.length, 0);
  const tar = new Uint8Array(total);
  let off = 0;
  for (const p of parts) { tar.set(p, off); off += p.length; }
  writeHostFile(tarfile, gzip(tar), 0o600);
  return taken;
}
