// Runs one cloud's simulator as a process of its own, for a test that needs
// it inside a network namespace it made (simulators-cloud-init.test.ts runs
// cloud-init there, where 127.0.0.1 is the namespace's own loopback):
//
//   node sim-cli.ts CLOUD OUT_DIR
//
// CLOUD: upcloud or aliyun (127.0.0.1:80), akamai (127.0.0.1:80 and
// [::1]:80), cloudstack or exoscale (127.0.0.1:80 and :8080, the router's
// fixed ports); its options (JSON) are read from
// OUT_DIR/options.json. It writes OUT_DIR/ready once listening,
// then one JSON line per request to OUT_DIR/requests.jsonl as it arrives
// (the namespace ends by killing every process in it: nothing is left to
// write at exit). Lines name the server: 'metadata' or 'password'.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAkamaiSimulator, type AkamaiOptions } from './akamai-simulator.ts';
import { startAliyunSimulator, type AliyunOptions } from './aliyun-simulator.ts';
import { startVirtualRouter, type VirtualRouterOptions } from './cloudstack-simulator.ts';
import { EXOSCALE_META_DATA } from './exoscale-simulator.ts';
import type { SimRequest } from './metadata-server.ts';
import { startUpCloudSimulator, type UpCloudOptions } from './upcloud-simulator.ts';

const [cloud, out] = process.argv.slice(2);
if (!cloud || !out) throw new Error('usage: sim-cli.ts CLOUD OUT_DIR');
const options = JSON.parse(readFileSync(join(out, 'options.json'), 'utf8')) as Record<string, unknown>;
const log = join(out, 'requests.jsonl');
writeFileSync(log, '');

/** Each request as it arrives: a push onto the simulator's list is written out too. */
function record(list: SimRequest[], server: string): void {
  const push = list.push.bind(list);
  list.push = (...items: SimRequest[]) => {
    for (const r of items) appendFileSync(log, JSON.stringify({ server, method: r.method, path: r.path, headers: r.headers, remotePort: r.remotePort }) + '\n');
    return push(...items);
  };
}

switch (cloud) {
  case 'upcloud': {
    const sim = await startUpCloudSimulator(options as UpCloudOptions, { host: '127.0.0.1', port: 80 });
    record(sim.requests, 'metadata');
    break;
  }
  case 'aliyun': {
    const sim = await startAliyunSimulator(options as AliyunOptions, { host: '127.0.0.1', port: 80 });
    record(sim.requests, 'metadata');
    break;
  }
  case 'akamai': {
    const sim = await startAkamaiSimulator(options as AkamaiOptions, 80);
    record(sim.requests, 'ipv4');
    record(sim.requests6, 'ipv6');
    break;
  }
  case 'cloudstack':
  case 'exoscale': {
    const o = options as VirtualRouterOptions;
    const sim = await startVirtualRouter(cloud === 'exoscale' ? { metaData: EXOSCALE_META_DATA, ...o } : o,
      { host: '127.0.0.1', metadataPort: 80, passwordPort: 8080, version: cloud === 'exoscale' ? '1.0' : 'latest' });
    record(sim.requests, 'metadata');
    record(sim.passwordRequests, 'password');
    break;
  }
  default: throw new Error(`sim-cli.ts: no simulator named ${cloud}`);
}
writeFileSync(join(out, 'ready'), '');
