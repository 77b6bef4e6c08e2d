// In-process cost of decoding user-data (issue 3's speed goal: a 16 KiB
// gzipped multipart with 10 parts in under 5 ms). A measurement, printed,
// never asserted:  node bench/userdata-decode.ts
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { expandUserData } from '../src/userdata/expand.ts';
import { makeMime } from '../src/userdata/make-mime.ts';

const TYPES = ['text/cloud-config', 'text/x-shellscript', 'text/cloud-config', 'text/x-shellscript', 'text/cloud-boothook',
  'text/cloud-config', 'text/x-shellscript-per-boot', 'text/x-shellscript', 'text/cloud-config', 'text/x-shellscript'];

const parts = TYPES.map((type, i) => {
  let body = type === 'text/cloud-config' ? `#cloud-config\nruncmd:\n  - echo part ${i}\nwrite_files:\n  - path: /etc/f${i}\n    content: |\n`
    : type === 'text/cloud-boothook' ? '#cloud-boothook\n#!/bin/sh\n' : '#!/bin/sh\n';
  const pad = type === 'text/cloud-config' ? '      ' : 'echo ';
  while (body.length < 2200) body += pad + randomBytes(48).toString('base64') + '\n';
  return { content: Buffer.from(body), type, filename: `p${i}` };
});
const doc = gzipSync(makeMime(parts), { level: 9 });
let t0 = performance.now();
const first = await expandUserData(doc);
const cold = performance.now() - t0;
if (first.parts.length !== 10) throw new Error(`decoded ${first.parts.length} parts, expected 10`);
const times: number[] = [];
for (let i = 0; i < 200; i++) {
  t0 = performance.now();
  await expandUserData(doc);
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(`${doc.length} bytes gzipped, 10 parts: first decode ${cold.toFixed(2)} ms (loads the MIME reader), ` +
  `then median ${times[100]!.toFixed(3)} ms, p95 ${times[190]!.toFixed(3)} ms over 200 runs`);
