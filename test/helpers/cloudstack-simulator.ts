// A CloudStack virtual router for tests: its metadata service (EC2's format:
// /latest/meta-data/ listings, /latest/user-data) on port 80 and its password
// server on port 8080, as CloudStack's "user-data and meta-data" and
// "password management" documentation and cloud-init's tests show them. It
// listens on a loopback address of its own (127.x.y.z, so ports 80 and 8080
// are free there) that a test names as the DHCP server in a lease file.
// exoscale-simulator.ts runs the same pair with Exoscale's API version.
//
// The password server answers the DomU_Request header:
//   send_my_password → the password while it is not saved, then saved_password ('' when none was set)
//   saved_password   → marks it saved (the "got it"); answers saved_password
//   anything else    → bad_request
import { notFound, serveMetadata, type Answer, type Faults, type SimRequest } from './metadata-server.ts';

export interface VirtualRouterOptions extends Faults {
  metaData?: Record<string, unknown>;
  userData?: string | null;
  /** The password set for the machine (null: none). resetPassword() sets a new one. */
  password?: string | null;
}

export interface VirtualRouter {
  /** Where it listens: the address (and the metadata URL, http://ADDRESS:PORT). */
  address: string;
  url: string;
  passwordUrl: string;
  requests: SimRequest[];
  passwordRequests: SimRequest[];
  /** saved_password requests (acknowledgements) received. */
  acks(): number;
  /** A new password from the console (unsaved until acknowledged). */
  resetPassword(password: string): void;
  options: VirtualRouterOptions;
  close(): Promise<void>;
}

export const CLOUDSTACK_META_DATA: Record<string, unknown> = {
  'availability-zone': 'zone1',
  'cloud-identifier': 'CloudStack-{3c5b7e3e-6f0e-4a8f-9a53-27d4e2f1b0aa}',
  'instance-id': '5a7b3c1e-9d2f-4e6a-8b0c-1d2e3f4a5b6c',
  'local-hostname': 'vm-web-1',
  'local-ipv4': '10.1.1.57',
  'public-hostname': '198.51.100.57',
  'public-ipv4': '198.51.100.57',
  'public-keys': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC1o2p3q4r5s6t7u8v9w0x1y2z3A4B5C6D7E8F9G0H1I cloudstack@test',
  'service-offering': 'Small Instance',
  'vm-id': '5a7b3c1e-9d2f-4e6a-8b0c-1d2e3f4a5b6c',
};

/** A loopback address of the test's own (127.a.b.c), so the fixed ports 80 and 8080 are free on it. */
export function loopbackAddress(): string {
  const r = () => 1 + Math.floor(Math.random() * 250);
  return `127.${r()}.${r()}.${r()}`;
}

/** Start the router's two servers; `version` is the metadata path's first part ('latest'; Exoscale's '1.0'). */
export async function startVirtualRouter(options: VirtualRouterOptions, listen: { host: string; metadataPort: number; passwordPort: number; version: string }): Promise<VirtualRouter> {
  let password = options.password ?? null;
  let saved = false;
  let acks = 0;
  const metadata = (req: SimRequest): Answer => {
    if (req.method !== 'GET') return { status: 405, body: 'Method Not Allowed' };
    const m = new RegExp(`^/${listen.version.replace(/\./g, '\\.')}/(.*)$`).exec(req.path.split('?')[0]!);
    if (!m) return notFound;
    const rest = m[1]!;
    if (rest === 'user-data') return options.userData === undefined || options.userData === null ? notFound : { status: 200, body: options.userData };
    const md = options.metaData ?? CLOUDSTACK_META_DATA;
    if (rest === 'meta-data/' || rest === 'meta-data') return { status: 200, body: Object.keys(md).join('\n') };
    const key = rest.startsWith('meta-data/') ? rest.slice('meta-data/'.length) : null;
    if (key !== null && key in md) return { status: 200, body: String(md[key]) };
    return notFound;
  };
  const passwordServer = (req: SimRequest): Answer => {
    switch (req.headers['domu_request']) {
      case 'send_my_password': return { status: 200, body: password === null ? '' : saved ? 'saved_password' : password };
      case 'saved_password': acks++; saved = true; return { status: 200, body: 'saved_password' };
      default: return { status: 200, body: 'bad_request' };
    }
  };
  const md = await serveMetadata(metadata, options, { host: listen.host, port: listen.metadataPort });
  const pw = await serveMetadata(passwordServer, { ...(options.onAnswered && { onAnswered: options.onAnswered }) }, { host: listen.host, port: listen.passwordPort });
  return {
    address: listen.host,
    url: md.url,
    passwordUrl: pw.url,
    requests: md.requests,
    passwordRequests: pw.requests,
    acks: () => acks,
    resetPassword: (p) => { password = p; saved = false; },
    options,
    close: async () => { await md.close(); await pw.close(); },
  };
}

/** The virtual router of a CloudStack zone: a loopback address of its own, ports 80 and 8080, API version latest. */
export function startCloudStackSimulator(options: VirtualRouterOptions = {}): Promise<VirtualRouter> {
  return startVirtualRouter(options, { host: loopbackAddress(), metadataPort: 80, passwordPort: 8080, version: 'latest' });
}

/** A dhclient lease file naming `server` as the DHCP server (dhcp-server-identifier), as Debian's dhclient writes it. */
export function dhclientLease(server: string, address = '10.1.1.57', iface = 'eth0'): string {
  return `lease {\n  interface "${iface}";\n  fixed-address ${address};\n  option subnet-mask 255.255.255.0;\n  option routers 10.1.1.1;\n` +
    `  option dhcp-lease-time 86400;\n  option dhcp-message-type 5;\n  option dhcp-server-identifier ${server};\n  option domain-name "cs1cloud.internal";\n` +
    '  renew 2 2026/12/08 10:00:00;\n  rebind 2 2026/12/08 20:00:00;\n  expire 2 2026/12/08 23:00:00;\n}\n';
}
