// Hetzner Cloud's metadata service for tests (metadata-server.ts: real HTTP
// on 127.0.0.1, every request recorded, failure modes), answering as
// Hetzner documents it and cloud-init's tests show:
//   /hetzner/v1/metadata                   the whole metadata, YAML
//   /hetzner/v1/metadata/<key>             one key (scalars as text, the rest YAML),
//                                          private-networks among them
//   /hetzner/v1/userdata                   the user-data as given; 204 when there is none
// No header or token is required (the service has none).
//
//   const sim = await startHetznerSimulator({ userData: '#cloud-config\n…' });
//   … datasource: {Hetzner: {metadata_url: `${sim.url}/hetzner/v1/metadata`, userdata_url: …}} …
import { stringify } from 'yaml';
import { serveMetadata, type Faults, type MetadataServer, type SimRequest } from './metadata-server.ts';

export const HETZNER_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHetznerHetznerHetznerHetznerHetznerHetzn test-key@workstation';
export const HETZNER_MAC = '96:00:00:08:19:da';
export const HETZNER_PRIVATE_MAC = '86:00:00:aa:5d:f8';

/** A server's metadata, as the service gives it (values made up, shapes Hetzner's). */
export function hetznerMetadata(): Record<string, unknown> {
  return {
    hostname: 'my-server',
    'instance-id': 42424242,
    'local-ipv4': '',
    'public-ipv4': '203.0.113.10',
    'availability-zone': 'fsn1-dc14',
    region: 'eu-central',
    'public-keys': [HETZNER_KEY],
    vendor_data: '#cloud-config\nbootcmd: ["echo vendor > /etc/from-hetzner-vendor"]\n',
    'network-config': {
      config: [{
        mac_address: HETZNER_MAC,
        name: 'eth0',
        subnets: [
          { dns_nameservers: ['185.12.64.1', '185.12.64.2'], ipv4: true, type: 'dhcp' },
          { address: '2a01:4f8:c2c:1234::1/64', dns_nameservers: ['2a01:4ff:ff00::add:2', '2a01:4ff:ff00::add:1'], gateway: 'fe80::1', ipv6: true, type: 'static' },
        ],
        type: 'physical',
      }],
      version: 1,
    },
  };
}

export const HETZNER_PRIVATE_NETWORKS = [
  { ip: '10.1.0.2', alias_ips: [], interface_num: 2, mac_address: HETZNER_PRIVATE_MAC, network_id: 11352901, network_name: 'network-2', network: '10.1.0.0/16', subnet: '10.1.0.0/24', gateway: '10.1.0.1' },
];

export interface HetznerSimulatorOptions extends Faults {
  /** The metadata (default hetznerMetadata()). */
  metadata?: Record<string, unknown>;
  privateNetworks?: unknown[];
  /** null: none (204). */
  userData?: string | Buffer | null;
  listen?: { host?: string; port?: number };
}

export interface HetznerSimulator extends MetadataServer {
  /** http://127.0.0.1:PORT/hetzner/v1/ */
  base: string;
  options: HetznerSimulatorOptions;
}

export async function startHetznerSimulator(options: HetznerSimulatorOptions = {}): Promise<HetznerSimulator> {
  const text = (v: unknown) => (v !== null && typeof v === 'object' ? stringify(v) : `${String(v)}`);
  const handler = (req: SimRequest) => {
    if (req.method !== 'GET') return { status: 405, body: 'Method Not Allowed\n' };
    const path = req.path.split('?')[0]!.replace(/\/+$/, '');
    const md = { ...(options.metadata ?? hetznerMetadata()), 'private-networks': options.privateNetworks ?? HETZNER_PRIVATE_NETWORKS };
    if (path === '/hetzner/v1/metadata') {
      const { 'private-networks': _p, ...rest } = md;
      return { status: 200, body: stringify(rest) };
    }
    if (path.startsWith('/hetzner/v1/metadata/')) {
      const key = path.slice('/hetzner/v1/metadata/'.length);
      return key in md ? { status: 200, body: text(md[key as keyof typeof md]) } : { status: 404, body: 'Not Found\n' };
    }
    if (path === '/hetzner/v1/userdata') {
      const ud = options.userData === undefined ? null : options.userData;
      return ud === null || ud.length === 0 ? { status: 204 } : { status: 200, body: ud };
    }
    return { status: 404, body: 'Not Found\n' };
  };
  const server = await serveMetadata(handler, options, options.listen);
  return { ...server, base: `${server.url}/hetzner/v1/`, options };
}
