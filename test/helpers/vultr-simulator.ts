// Vultr's metadata service for tests (metadata-server.ts: real HTTP on
// 127.0.0.1, every request recorded, failure modes), answering as Vultr
// documents it (https://www.vultr.com/metadata/) and cloud-init's tests show:
//   /v1.json          the whole metadata, JSON
//   /v1/<key>[/…]     one value (text), or a listing of a directory
// Vultr documents no authentication; cloud-init sends `Metadata-Token:
// cloudinit` and its User-Agent, which the service reads to shape the
// vendor-data: recorded here for the tests to check, not required.
//
//   const sim = await startVultrSimulator({ userData: '#cloud-config\n…' });
//   … datasource: {Vultr: {url: sim.url}} …
import { serveMetadata, type Faults, type MetadataServer, type SimRequest } from './metadata-server.ts';

export const VULTR_KEY = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQVultrVultrVultrVultrVultrVultrVultrVultrVul test3@key';
export const VULTR_PUBLIC_MAC = '56:00:03:1b:4e:ca';
export const VULTR_PRIVATE_MAC = '5a:00:03:1b:4e:ca';

/** An instance's v1.json (values made up, shapes Vultr's and cloud-init's tests'). */
export function vultrMetadata(userData: string | null): Record<string, unknown> {
  return {
    bgp: { ipv4: { 'my-address': '', 'my-asn': '', 'peer-address': '', 'peer-asn': '' }, ipv6: { 'my-address': '', 'my-asn': '', 'peer-address': '', 'peer-asn': '' } },
    hostname: 'vultr-guest-1',
    'instance-v2-id': '29bea708-2e6e-480a-90ad-0e6b5d5ad62f',
    instanceid: '42872224',
    interfaces: [
      {
        ipv4: { additional: [{ address: '45.76.7.172', netmask: '255.255.254.0' }], address: '45.76.7.171', gateway: '45.76.6.1', netmask: '255.255.254.0' },
        ipv6: { additional: [{ network: '2002:19f0:5:28a7::', prefix: '64' }], address: '2001:19f0:5:28a7:5400:03ff:fe1b:4eca', network: '2001:19f0:5:28a7::', prefix: '64' },
        mac: VULTR_PUBLIC_MAC, 'network-type': 'public',
      },
      {
        ipv4: { additional: [], address: '10.1.112.3', gateway: '', netmask: '255.255.240.0' },
        ipv6: { additional: [], network: '', prefix: '' },
        mac: VULTR_PRIVATE_MAC, 'network-type': 'private', 'network-v2-id': 'fbbe2b5b-b986-4396-87f5-7246660ccb64', networkid: 'net5e7155329d730',
      },
    ],
    'public-keys': [VULTR_KEY],
    region: { regioncode: 'EWR', countrycode: 'US' },
    'user-defined': [],
    'startup-script': 'echo secret startup script',
    'user-data': userData ?? '',
    'vendor-data': '#cloud-config\nbootcmd: ["echo vendor > /etc/from-vultr-vendor"]\n',
  };
}

export interface VultrSimulatorOptions extends Faults {
  userData?: string | null;
  metadata?: Record<string, unknown>;
  listen?: { host?: string; port?: number };
}

export interface VultrSimulator extends MetadataServer { options: VultrSimulatorOptions }

export async function startVultrSimulator(options: VultrSimulatorOptions = {}): Promise<VultrSimulator> {
  const handler = (req: SimRequest) => {
    if (req.method !== 'GET') return { status: 405, body: 'Invalid HTTP method\n' };
    const path = req.path.split('?')[0]!;
    const md = options.metadata ?? vultrMetadata(options.userData === undefined ? null : options.userData);
    if (path === '/') return { status: 200, body: 'v1/\nv1.json\n' };
    if (path === '/v1.json') return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(md) };
    if (!path.startsWith('/v1/')) return { status: 404, body: 'Invalid location\n' };
    let node: unknown = md;
    for (const part of path.slice('/v1/'.length).split('/').filter(Boolean)) {
      if (node === null || typeof node !== 'object' || !(part in (node as object))) return { status: 404, body: 'Invalid location\n' };
      node = (node as Record<string, unknown>)[part];
    }
    if (node !== null && typeof node === 'object') {
      const entries = Object.entries(node as Record<string, unknown>);
      return { status: 200, body: entries.map(([k, v]) => `${k}${v !== null && typeof v === 'object' ? '/' : ''}\n`).join('') };
    }
    return { status: 200, body: String(node) };
  };
  const server = await serveMetadata(handler, options, options.listen);
  return { ...server, options };
}
