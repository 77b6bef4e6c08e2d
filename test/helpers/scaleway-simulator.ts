// Scaleway's instance metadata API for tests, as Scaleway's documentation
// ("instance metadata", scaleway-ecosystem's scw-metadata) and cloud-init's
// test_scaleway.py show it, on 127.0.0.1:
//
//   GET /                          200: the API is there
//   GET /conf?format=json          the server's description; /conf alone: KEY=VALUE lines
//   GET /user_data/cloud-init      ONLY from a privileged source port (< 1024, i.e. root): else 403; 404: none
//   GET /vendor_data/cloud-init    likewise
//
// Every request is recorded with its source port.
import { json, notFound, serveMetadata, type Answer, type Faults, type SimRequest } from './metadata-server.ts';

export interface ScalewayOptions extends Faults {
  conf?: Record<string, unknown>;
  userData?: string | null;
  vendorData?: string | null;
}

export interface ScalewaySimulator {
  url: string;
  requests: SimRequest[];
  options: ScalewayOptions;
  close(): Promise<void>;
}

export const SCALEWAY_CONF: Record<string, unknown> = {
  id: '6b2e9a1c-3d4f-4e5a-9b8c-7d6e5f4a3b2c',
  name: 'scw-web-1',
  commercial_type: 'DEV1-S',
  hostname: 'scw-web-1',
  organization: '0f2c8e3a-1b4d-4c6e-8a9b-2c3d4e5f6a7b',
  project: '0f2c8e3a-1b4d-4c6e-8a9b-2c3d4e5f6a7b',
  tags: ['web', 'AUTHORIZED_KEY=ssh-ed25519_AAAAC3NzaC1lZDI1NTE5AAAAIBtag0key1tag0key2tag0key3tag0key4tag0key5tag_tag@scaleway'],
  state_detail: 'booted',
  public_ip: { id: 'a1b2c3d4-0000-4000-8000-000000000001', address: '51.15.10.20', dynamic: false, family: 'inet', provisioning_mode: 'dhcp' },
  public_ips: [
    { id: 'a1b2c3d4-0000-4000-8000-000000000001', address: '51.15.10.20', dynamic: false, gateway: '62.210.0.1', netmask: '32', family: 'inet', provisioning_mode: 'dhcp', state: 'attached' },
    { id: 'a1b2c3d4-0000-4000-8000-000000000002', address: '51.15.10.21', dynamic: false, gateway: '62.210.0.1', netmask: '32', family: 'inet', provisioning_mode: 'manual', state: 'attached' },
    { id: 'a1b2c3d4-0000-4000-8000-000000000003', address: '2001:bc8:1210:42::1', dynamic: false, gateway: 'fe80::a3f:f4ff:fe1c:7d00', netmask: '64', family: 'inet6', provisioning_mode: 'slaac', state: 'attached' },
  ],
  private_ip: null,
  ssh_public_keys: [{ key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFscw0key1scw0key2scw0key3scw0key4scw0key5scw scaleway@test', fingerprint: '256 SHA256:abc scaleway@test (ssh-ed25519)' }],
  location: { zone_id: 'par1', platform_id: '14', cluster_id: '42', hypervisor_id: '801', node_id: '7' },
  zone: 'fr-par-1',
  ipv6: null,
  extra_networks: [],
  timezone: 'UTC',
};

function keyValues(v: Record<string, unknown>): string {
  return Object.entries(v).map(([k, x]) => `${k.toUpperCase()}=${typeof x === 'object' ? JSON.stringify(x) : String(x)}`).join('\n') + '\n';
}

export async function startScalewaySimulator(options: ScalewayOptions = {}): Promise<ScalewaySimulator> {
  const handle = (req: SimRequest): Answer => {
    if (req.method !== 'GET') return { status: 405, body: 'Method Not Allowed' };
    const [path, query = ''] = req.path.split('?') as [string, string?];
    if (path === '/') return { status: 200, body: 'Scaleway metadata API\n' };
    const conf = options.conf ?? SCALEWAY_CONF;
    if (path === '/conf') return new URLSearchParams(query).get('format') === 'json' ? json(conf) : { status: 200, body: keyValues(conf) };
    if (path === '/user_data/cloud-init' || path === '/vendor_data/cloud-init') {
      if (req.remotePort >= 1024) return { status: 403, body: 'Forbidden: the source port must be a privileged one (< 1024)' };
      const v = path.startsWith('/user') ? options.userData : options.vendorData;
      return v === undefined || v === null ? notFound : { status: 200, body: v };
    }
    return notFound;
  };
  const server = await serveMetadata(handle, options);
  return { url: server.url, requests: server.requests, options, close: server.close };
}
