// An OpenStack (nova) metadata service for tests: an HTTP server on
// 127.0.0.1 (port 0) serving /openstack (the version listing) and, under each
// version, meta_data.json, user_data, vendor_data.json, vendor_data2.json and
// network_data.json, the way nova's metadata API does (404 for what the
// instance does not have). Every request is recorded.
//
//   const sim = await startOpenStackSimulator({ userData: '#cloud-config\n…' });
//   … datasource: {OpenStack: {metadata_urls: [sim.url]}} …
//   sim.requests  // [{ method, path, at, status }]
//   await sim.close();
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface OpenStackRequest { method: string; path: string; at: number; status?: number }

export interface OpenStackSimulatorOptions {
  /** The listing of /openstack (default: dated versions, then latest). */
  versions?: string[];
  /** meta_data.json (default: EXAMPLE_META_DATA). */
  metaData?: Record<string, unknown>;
  /** null = no user-data (404). */
  userData?: string | Buffer | null;
  vendorData?: unknown;
  /** null = none (404); default EXAMPLE_NETWORK_DATA. */
  networkData?: Record<string, unknown> | null;
  /** Answer the first `failFirst` requests with 503. */
  failFirst?: number;
  /** Answer these requests with this status instead (undefined: normal answer). */
  override?: (req: OpenStackRequest) => { status: number; body?: string } | undefined;
}

export interface OpenStackSimulator {
  url: string;
  requests: OpenStackRequest[];
  options: OpenStackSimulatorOptions;
  close(): Promise<void>;
}

export const VERSIONS = ['2012-08-10', '2013-04-04', '2013-10-17', '2015-10-15', '2016-06-30', '2016-10-06', '2017-02-22', '2018-08-27', '2020-10-14', 'latest'];

/** meta_data.json of a nova instance (the fields nova serves; values made up). */
export const EXAMPLE_META_DATA = {
  uuid: 'c5d9a2a0-6c4b-4bd0-9f3e-6f2b1d9e7a11',
  meta: { role: 'webserver' },
  hostname: 'web-1.novalocal',
  name: 'web-1',
  launch_index: 0,
  availability_zone: 'nova',
  project_id: '2f6b0e2c1c9d4a0f8a3a8b6d9c2e4f10',
  public_keys: { mykey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb9QGQ2m1o0L7r0kE6m6b5Y8bKQ1JxZ2p3n4q5r6s7t test@openstack' },
  keys: [{ name: 'mykey', type: 'ssh', data: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb9QGQ2m1o0L7r0kE6m6b5Y8bKQ1JxZ2p3n4q5r6s7t test@openstack' }],
  devices: [],
  dedicated_cpus: [],
};

/**
 * network_data.json in nova's format: two NICs (by MAC) in an LACP bond, a
 * VLAN on the bond with a static IPv4 address and a route, a third NIC by
 * DHCP, a static IPv6 network, and DNS services.
 */
export const EXAMPLE_NETWORK_DATA = {
  links: [
    { id: 'tap1a81968a-79', type: 'phy', ethernet_mac_address: 'fa:16:3e:00:00:01', mtu: 9000, vif_id: '1a81968a-7965-4f3c-a7d1-3d63a3e1c1a1' },
    { id: 'tap2b92a79b-8a', type: 'phy', ethernet_mac_address: 'fa:16:3e:00:00:02', mtu: 9000, vif_id: '2b92a79b-8a76-40de-b8e2-4e74b4f2d2b2' },
    { id: 'bond0', type: 'bond', bond_links: ['tap1a81968a-79', 'tap2b92a79b-8a'], bond_mode: '802.3ad', bond_miimon: 100, bond_xmit_hash_policy: 'layer3+4', ethernet_mac_address: 'fa:16:3e:00:00:01', mtu: 9000 },
    { id: 'vlan0', type: 'vlan', vlan_link: 'bond0', vlan_id: 101, vlan_mac_address: 'fa:16:3e:00:00:01', mtu: 1500 },
    { id: 'tap3c03b8ac-9b', type: 'ovs', ethernet_mac_address: 'fa:16:3e:00:00:03', mtu: 1450 },
  ],
  networks: [
    {
      id: 'private-ipv4', type: 'ipv4', link: 'vlan0', ip_address: '10.20.30.40', netmask: '255.255.255.0', network_id: 'da5bb487-5193-4a65-a3df-4a0055a8c0d7',
      routes: [
        { network: '0.0.0.0', netmask: '0.0.0.0', gateway: '10.20.30.1' },
        { network: '172.16.0.0', netmask: '255.240.0.0', gateway: '10.20.30.254' },
      ],
      services: [{ type: 'dns', address: '10.20.30.2' }],
    },
    {
      id: 'public-ipv6', type: 'ipv6', link: 'tap3c03b8ac-9b', ip_address: '2001:db8:100::10', netmask: 'ffff:ffff:ffff:ffff::', network_id: '7a9b3c1d-0e2f-4a5b-8c6d-9e0f1a2b3c4d',
      routes: [{ network: '::', netmask: '::', gateway: '2001:db8:100::1' }],
    },
    { id: 'public-ipv4', type: 'ipv4_dhcp', link: 'tap3c03b8ac-9b', network_id: '7a9b3c1d-0e2f-4a5b-8c6d-9e0f1a2b3c4d' },
  ],
  services: [{ type: 'dns', address: '8.8.8.8' }, { type: 'dns', address: '2001:4860:4860::8888' }],
};

export async function startOpenStackSimulator(options: OpenStackSimulatorOptions = {}): Promise<OpenStackSimulator> {
  const requests: OpenStackRequest[] = [];
  const sockets = new Set<Socket>();
  const answer = (req: OpenStackRequest): { status: number; body: string | Buffer; type?: string } => {
    const o = options;
    if (o.failFirst && requests.length <= o.failFirst) return { status: 503, body: '' };
    const custom = o.override?.(req);
    if (custom) return { status: custom.status, body: custom.body ?? '' };
    if (req.method !== 'GET') return { status: 405, body: '' };
    const path = req.path.split('?')[0]!.replace(/\/+$/, '');
    const versions = o.versions ?? VERSIONS;
    if (path === '/openstack') return { status: 200, body: versions.join('\n'), type: 'text/plain' };
    const m = /^\/openstack\/([^/]+)\/(.+)$/.exec(path);
    if (!m || !versions.includes(m[1]!)) return { status: 404, body: '404 Not Found' };
    const json = (v: unknown) => ({ status: 200, body: JSON.stringify(v), type: 'application/json' });
    switch (m[2]) {
      case 'meta_data.json': return json(o.metaData ?? EXAMPLE_META_DATA);
      case 'user_data': {
        const ud = o.userData === undefined ? null : o.userData;
        return ud === null ? { status: 404, body: '404 Not Found' } : { status: 200, body: ud, type: 'application/octet-stream' };
      }
      case 'vendor_data.json': return json(o.vendorData ?? {});
      case 'vendor_data2.json': return json({});
      case 'network_data.json': {
        const nd = o.networkData === undefined ? EXAMPLE_NETWORK_DATA : o.networkData;
        return nd === null ? { status: 404, body: '404 Not Found' } : json(nd);
      }
      default: return { status: 404, body: '404 Not Found' };
    }
  };
  const server = http.createServer((req, res) => {
    const r: OpenStackRequest = { method: req.method ?? 'GET', path: req.url ?? '/', at: Date.now() };
    requests.push(r);
    const a = answer(r);
    r.status = a.status;
    res.writeHead(a.status, { 'content-type': a.type ?? 'text/html; charset=UTF-8' });
    res.end(a.body);
  });
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    options,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
