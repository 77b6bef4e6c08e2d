// UpCloud's metadata service for tests: GET /metadata/v1.json (the whole
// server description, as UpCloud's API documentation and cloud-init's
// test_upcloud.py show it) on 127.0.0.1, every request recorded. Only GET
// is answered; any other path is 404.
//
//   const sim = await startUpCloudSimulator({ userData: '#cloud-config\n…' });
//   … datasource: {UpCloud: {metadata_url: sim.metadataUrl}} …
import { json, notFound, serveMetadata, type Faults, type SimRequest } from './metadata-server.ts';

export interface UpCloudOptions extends Faults {
  /** Where to listen (default 127.0.0.1, any free port). */
  listen?: { host?: string; port?: number };
  /** Fields over EXAMPLE (null removes one). */
  metadata?: Record<string, unknown>;
  userData?: string;
  vendorData?: string;
}

export interface UpCloudSimulator {
  url: string;
  metadataUrl: string;
  requests: SimRequest[];
  options: UpCloudOptions;
  close(): Promise<void>;
}

export const UPCLOUD_UUID = '00322b68-0096-4042-9406-faad61922128';

/** A server with a public NIC (DHCP plus a floating address), a utility NIC, a public IPv6 NIC and a private NIC. */
export const UPCLOUD_EXAMPLE = {
  cloud_name: 'upcloud',
  instance_id: UPCLOUD_UUID,
  hostname: 'web1.example.com',
  platform: 'servers',
  subplatform: 'metadata (http://169.254.169.254)',
  public_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFdQpD0m5L8zZt0jPpJp2wqYb5FzX0u0hK5uW2mQ3vYc upcloud@test'],
  region: 'fi-hel2',
  network: {
    interfaces: [
      {
        index: 1,
        ip_addresses: [
          { address: '94.237.105.53', dhcp: true, dns: ['94.237.127.9', '94.237.40.9'], family: 'IPv4', floating: false, gateway: '94.237.104.1', network: '94.237.104.0/22' },
          { address: '94.237.105.50', dhcp: false, dns: null, family: 'IPv4', floating: true, gateway: '', network: '94.237.105.50/32' },
        ],
        mac: '3a:d6:ba:4a:36:e7', network_id: '031457f4-0f8c-483c-96f2-eccede02909c', type: 'public',
      },
      {
        index: 2,
        ip_addresses: [{ address: '10.6.3.27', dhcp: true, dns: null, family: 'IPv4', floating: false, gateway: '10.6.0.1', network: '10.6.0.0/22' }],
        mac: '3a:d6:ba:4a:84:cc', network_id: '03d82553-5bea-4132-b29a-e1cf67ec2dd1', type: 'utility',
      },
      {
        index: 3,
        ip_addresses: [{ address: '2a04:3545:1000:720:38d6:baff:fe4a:63e7', dhcp: true, dns: ['2a04:3540:53::1', '2a04:3544:53::1'], family: 'IPv6', floating: false, gateway: '2a04:3545:1000:720::1', network: '2a04:3545:1000:720::/64' }],
        mac: '3a:d6:ba:4a:63:e7', network_id: '03000000-0000-4000-8046-000000000000', type: 'public',
      },
      {
        index: 4,
        ip_addresses: [{ address: '172.30.1.10', dhcp: false, dns: ['172.30.0.2'], family: 'IPv4', floating: false, gateway: '172.30.1.1', network: '172.30.1.0/24' }],
        mac: '3a:d6:ba:4a:8a:e1', network_id: '035a0a4a-7704-4de5-820d-189fc8132714', type: 'private',
      },
    ],
    dns: ['94.237.127.9', '94.237.40.9'],
  },
  storage: { disks: [{ id: '014efb65-223b-4d44-8f0a-c29535b88dcf', serial: '014efb65223b4d448f0a', size: 10240, type: 'disk', tier: 'maxiops' }] },
  tags: [],
  user_data: '',
  vendor_data: '',
};

/** The NICs of UPCLOUD_EXAMPLE, as a test plants them: [name, mac]. */
export const UPCLOUD_NICS: [string, string][] = [['eth0', '3a:d6:ba:4a:36:e7'], ['eth1', '3a:d6:ba:4a:84:cc'], ['eth2', '3a:d6:ba:4a:63:e7'], ['eth3', '3a:d6:ba:4a:8a:e1']];

export async function startUpCloudSimulator(options: UpCloudOptions = {}): Promise<UpCloudSimulator> {
  const server = await serveMetadata((req) => {
    if (req.method !== 'GET') return { status: 405, body: 'Method Not Allowed' };
    if (req.path !== '/metadata/v1.json') return notFound;
    const md: Record<string, unknown> = { ...UPCLOUD_EXAMPLE, user_data: options.userData ?? '', vendor_data: options.vendorData ?? '' };
    for (const [k, v] of Object.entries(options.metadata ?? {})) { if (v === null) delete md[k]; else md[k] = v; }
    return json(md);
  }, options, options.listen);
  return { url: server.url, metadataUrl: `${server.url}/metadata/v1.json`, requests: server.requests, options, close: server.close };
}
