// One cloud's metadata simulator as a process of its own, for the comparisons
// with cloud-init on a cloud's datasource (clouds.ts, and
// test/integration/simulators-cloud-init.test.ts): started inside the
// sandbox's network namespace, it listens on 169.254.169.254:80 — the
// cloud's own address, put on that namespace's loopback, so both agents ask
// it exactly as on the cloud (a CloudStack router's password server on its
// port 8080, Akamai's IPv6 endpoint on [::1]:80) — appends every answered request to a file
// (JSON lines) and writes a file once it listens. It ends with the namespace.
//
//   node cloud-sim.ts CLOUD OPTIONS.json REQUESTS.jsonl READY
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { startAkamaiSimulator } from '../akamai-simulator.ts';
import { startAliyunSimulator } from '../aliyun-simulator.ts';
import { startVirtualRouter, type VirtualRouterOptions } from '../cloudstack-simulator.ts';
import { startDigitalOceanSimulator } from '../digitalocean-simulator.ts';
import { EXOSCALE_META_DATA } from '../exoscale-simulator.ts';
import { startGceSimulator } from '../gce-simulator.ts';
import { startHetznerSimulator } from '../hetzner-simulator.ts';
import type { SimRequest } from '../metadata-server.ts';
import { startOracleSimulator } from '../oracle-simulator.ts';
import { startUpCloudSimulator } from '../upcloud-simulator.ts';
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
// A CloudStack virtual router (and Exoscale's) answers on the same address: metadata on 80, its password server on 8080.
const router = (version: string, extra: VirtualRouterOptions) => (o: VirtualRouterOptions & { listen: { host: string } }) =>
  startVirtualRouter({ ...extra, ...o }, { host: o.listen.host, metadataPort: 80, passwordPort: 8080, version });
const start = {
  gce: startGceSimulator, hetzner: startHetznerSimulator, oracle: startOracleSimulator, digitalocean: startDigitalOceanSimulator, vultr: startVultrSimulator,
  upcloud: startUpCloudSimulator, aliyun: startAliyunSimulator, akamai: startAkamaiSimulator,
  cloudstack: router('latest', {}), exoscale: router('1.0', { metaData: EXOSCALE_META_DATA }),
}[cloud];
if (!start) { process.stderr.write(`cloud-sim: no simulator for ${cloud}\n`); process.exit(64); }
await start(options as never);
writeFileSync(readyFile, 'listening\n');
