// One cloud's metadata simulator as a process of its own, for the comparison
// with cloud-init on a cloud's datasource (clouds.ts): started inside the
// sandbox's network namespace, it listens on 169.254.169.254:80 — the
// cloud's own address, put on that namespace's loopback, so both agents ask
// it exactly as on the cloud — appends every answered request to a file
// (JSON lines) and writes a file once it listens. It ends with the namespace.
//
//   node cloud-sim.ts CLOUD OPTIONS.json REQUESTS.jsonl READY
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { startDigitalOceanSimulator } from '../digitalocean-simulator.ts';
import { startGceSimulator } from '../gce-simulator.ts';
import { startHetznerSimulator } from '../hetzner-simulator.ts';
import type { SimRequest } from '../metadata-server.ts';
import { startOracleSimulator } from '../oracle-simulator.ts';
import { startVultrSimulator } from '../vultr-simulator.ts';

const [cloud, optionsFile, requestsFile, readyFile] = process.argv.slice(2);
if (!cloud || !optionsFile || !requestsFile || !readyFile) {
  process.stderr.write('usage: cloud-sim.ts CLOUD OPTIONS.json REQUESTS.jsonl READY\n');
  process.exit(64);
}
const options = {
  ...(JSON.parse(readFileSync(optionsFile, 'utf8')) as Record<string, unknown>),
  listen: { host: '169.254.169.254', port: 80 },
  onAnswered: (r: SimRequest) => appendFileSync(requestsFile, `${JSON.stringify({ method: r.method, path: r.path, headers: r.headers, status: r.status })}\n`),
};
const start = { gce: startGceSimulator, hetzner: startHetznerSimulator, oracle: startOracleSimulator, digitalocean: startDigitalOceanSimulator, vultr: startVultrSimulator }[cloud];
if (!start) { process.stderr.write(`cloud-sim: no simulator for ${cloud}\n`); process.exit(64); }
await start(options as never);
writeFileSync(readyFile, 'listening\n');
