// DigitalOcean's droplet metadata service for tests (metadata-server.ts:
// real HTTP on 127.0.0.1, every request recorded, failure modes), answering
// as DigitalOcean documents it and cloud-init's tests show:
//   /metadata/v1.json          the whole metadata, JSON
//   /metadata/v1/<key>[/…]     one value (text), or a listing of a directory
// No header or token is required (the service has none; it answers on the
// droplet's link, to its link-local address).
//
//   const sim = await startDigitalOceanSimulator({ userData: '#cloud-config\n…' });
//   … datasource: {DigitalOcean: {metadata_url: `${sim.url}/metadata/v1.json`}} …
import { serveMetadata, type Faults, type MetadataServer, type SimRequest } from './metadata-server.ts';

export const DO_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDropletDropletDropletDropletDropletDropletDr me@laptop';
export const DO_PUBLIC_MAC = '04:01:57:d1:9e:01';
export const DO_PRIVATE_MAC = '04:01:57:d1:9e:02';

/** A droplet's metadata (values made up, shapes DigitalOcean's). */
export function dropletMetadata(userData: string | null): Record<string, unknown> {
  return {
    droplet_id: 22532410,
    hostname: 'web-droplet-1',
    ...(userData === null ? {} : { user_data: userData }),
    vendor_data: '#cloud-config\nbootcmd: ["echo vendor > /etc/from-do-vendor"]\n',
    public_keys: [DO_KEY],
    auth_key: '0123456789abcdef0123456789abcdef',
    region: 'nyc3',
    interfaces: {
      private: [{ ipv4: { ip_address: '10.132.6.205', netmask: '255.255.0.0', gateway: '10.132.0.1' }, mac: DO_PRIVATE_MAC, type: 'private' }],
      public: [{
        ipv4: { ip_address: '192.0.2.20', netmask: '255.255.255.0', gateway: '192.0.2.1' },
        ipv6: { ip_address: '2604:A880:0800:0010:0000:0000:0123:4001', cidr: 64, gateway: '2604:A880:0800:0010:0000:0000:0000:0001' },
        anchor_ipv4: { ip_address: '10.17.0.5', netmask: '255.255.0.0', gateway: '10.17.0.1' },
        mac: DO_PUBLIC_MAC, type: 'public',
      }],
    },
    floating_ip: { ipv4: { active: false } },
    dns: { nameservers: ['67.207.67.2', '67.207.67.3'] },
    tags: ['web'],
    features: { dhcp_enabled: false },
  };
}

export interface DigitalOceanSimulatorOptions extends Faults {
  userData?: string | null;
  metadata?: Record<string, unknown>;
  listen?: { host?: string; port?: number };
}

export interface DigitalOceanSimulator extends MetadataServer {
  /** The metadata_url for the datasource config. */
  metadataUrl: string;
  options: DigitalOceanSimulatorOptions;
}

export async function startDigitalOceanSimulator(options: DigitalOceanSimulatorOptions = {}): Promise<DigitalOceanSimulator> {
  const handler = (req: SimRequest) => {
    if (req.method !== 'GET') return { status: 405, body: 'Method Not Allowed\n' };
    const path = req.path.split('?')[0]!;
    const md = options.metadata ?? dropletMetadata(options.userData === undefined ? null : options.userData);
    if (path === '/metadata/v1.json') return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(md) };
    if (!path.startsWith('/metadata/v1/')) return { status: 404, body: 'not found\n' };
    let node: unknown = md;
    for (const part of path.slice('/metadata/v1/'.length).split('/').filter(Boolean)) {
      if (node === null || typeof node !== 'object' || !(part.replace(/-/g, '_') in (node as object))) return { status: 404, body: 'not found\n' };
      node = (node as Record<string, unknown>)[part.replace(/-/g, '_')];
    }
    if (node !== null && typeof node === 'object') {
      const keys = Array.isArray(node) ? node.map((_, i) => String(i)) : Object.keys(node);
      return { status: 200, body: keys.map((k) => `${k.replace(/_/g, '-')}${(node as Record<string, unknown>)[k] !== null && typeof (node as Record<string, unknown>)[k] === 'object' ? '/' : ''}\n`).join('') };
    }
    return { status: 200, body: String(node) };
  };
  const server = await serveMetadata(handler, options, options.listen);
  return { ...server, metadataUrl: `${server.url}/metadata/v1.json`, options };
}
