// Google Compute Engine's metadata server for tests (metadata-server.ts:
// real HTTP on 127.0.0.1, every request recorded, failure modes), answering
// as Google documents it and cloud-init's tests show:
// - /computeMetadata/v1/… only with `Metadata-Flavor: Google` (403 "Missing
//   Metadata-Flavor:Google header." otherwise), and never a request carrying
//   X-Forwarded-For (403): the server's rules;
// - a directory without ?recursive=true is a listing ("name" or "name/" a
//   line); with it, JSON of the subtree (dashed keys camelCased, except the
//   user's own attribute names); a leaf is its text;
// - every answer carries `Metadata-Flavor: Google` (unless `flavor: false`).
//
//   const sim = await startGceSimulator({ instanceAttributes: { 'user-data': '#cloud-config\n…' } });
//   … datasource: {GCE: {metadata_url: `${sim.url}/computeMetadata/v1/`}} …
import { serveMetadata, type Faults, type MetadataServer, type SimRequest } from './metadata-server.ts';

export const GCE_SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGceGceGceGceGceGceGceGceGceGceGceGceGceGceGce gce-user@workstation';
export const GCE_PROJECT_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPrjPrjPrjPrjPrjPrjPrjPrjPrjPrjPrjPrjPrjPrjPrj project@workstation';

/** An instance as the server describes it (values made up, shapes Google's). */
export const GCE_INSTANCE: Record<string, unknown> = {
  id: '4567890123456789012',
  name: 'vm-1',
  hostname: 'vm-1.us-central1-a.c.my-project.internal',
  zone: 'projects/123456789012/zones/us-central1-a',
  'machine-type': 'projects/123456789012/machineTypes/e2-medium',
  image: 'projects/debian-cloud/global/images/debian-12-bookworm-v20260101',
  'cpu-platform': 'Intel Broadwell',
  'network-interfaces': {
    0: { mac: '42:01:0a:80:00:02', ip: '10.128.0.2', network: 'projects/123456789012/networks/default', gateway: '10.128.0.1', mtu: 1460, 'access-configs': { 0: { 'external-ip': '203.0.113.7', type: 'ONE_TO_ONE_NAT' } } },
  },
  'service-accounts': { default: { email: '123456789012-compute@developer.gserviceaccount.com', scopes: 'https://www.googleapis.com/auth/cloud-platform\n' } },
  tags: '["http-server"]',
};

export const GCE_PROJECT: Record<string, unknown> = {
  'project-id': 'my-project',
  'numeric-project-id': 123456789012,
};

export interface GceSimulatorOptions extends Faults {
  /** instance/attributes (user-data, user-data-encoding, ssh-keys, block-project-ssh-keys, …). */
  instanceAttributes?: Record<string, string>;
  /** project/attributes (ssh-keys, sshKeys, …). */
  projectAttributes?: Record<string, string>;
  /** Replaced instance keys (null removes one). */
  instance?: Record<string, unknown>;
  /** false: answers without the Metadata-Flavor header (not Google's server). */
  flavor?: boolean;
  listen?: { host?: string; port?: number };
}

export interface GceSimulator extends MetadataServer {
  /** The metadata_url for the datasource config: http://127.0.0.1:PORT/computeMetadata/v1/ */
  base: string;
  options: GceSimulatorOptions;
}

const camel = (k: string) => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function toJson(value: unknown, userKeys: boolean): unknown {
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [userKeys ? k : camel(k), toJson(v, k === 'attributes')]));
}

export async function startGceSimulator(options: GceSimulatorOptions = {}): Promise<GceSimulator> {
  const tree = (): Record<string, unknown> => {
    const instance: Record<string, unknown> = { ...GCE_INSTANCE, attributes: options.instanceAttributes ?? {} };
    for (const [k, v] of Object.entries(options.instance ?? {})) { if (v === null) delete instance[k]; else instance[k] = v; }
    return { instance, project: { ...GCE_PROJECT, attributes: options.projectAttributes ?? {} } };
  };
  const handler = (req: SimRequest) => {
    const headers: Record<string, string> = { server: 'Metadata Server for VM', 'x-xss-protection': '0', 'x-frame-options': 'SAMEORIGIN' };
    if (options.flavor !== false) headers['metadata-flavor'] = 'Google';
    const [path, query = ''] = req.path.split('?') as [string, string?];
    if (req.headers['x-forwarded-for'] !== undefined) return { status: 403, headers, body: 'Request denied: X-Forwarded-For header present.\n' };
    if (req.method !== 'GET') return { status: 405, headers, body: 'Method not allowed\n' };
    if (path === '/' || path === '') return { status: 200, headers: { ...headers, 'content-type': 'application/text' }, body: 'computeMetadata/\n' };
    if (!path.startsWith('/computeMetadata/v1/') && path !== '/computeMetadata/v1') return { status: 404, headers: { ...headers, 'content-type': 'text/html; charset=UTF-8' }, body: '<!DOCTYPE html>\n<title>Error 404 (Not Found)</title>\n' };
    if (req.headers['metadata-flavor'] !== 'Google') {
      return { status: 403, headers: { ...headers, 'content-type': 'text/html; charset=UTF-8' }, body: 'Your client does not have permission to get URL from this server. Missing Metadata-Flavor:Google header.\n' };
    }
    const params = new URLSearchParams(query);
    const recursive = (params.get('recursive') ?? '').toLowerCase() === 'true';
    const parts = path.slice('/computeMetadata/v1'.length).split('/').filter(Boolean);
    let node: unknown = tree();
    let inAttributes = false;
    for (const p of parts) {
      if (node === null || typeof node !== 'object' || !(p in (node as object))) {
        return { status: 404, headers: { ...headers, 'content-type': 'text/html; charset=UTF-8' }, body: '<!DOCTYPE html>\n<title>Error 404 (Not Found)</title>\n' };
      }
      node = (node as Record<string, unknown>)[p];
      inAttributes = p === 'attributes';
    }
    if (node !== null && typeof node === 'object') {
      if (recursive || params.get('alt') === 'json') return { status: 200, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(toJson(node, inAttributes)) };
      const listing = Object.entries(node as Record<string, unknown>).map(([k, v]) => (v !== null && typeof v === 'object' ? `${k}/` : k));
      return { status: 200, headers: { ...headers, 'content-type': 'application/text' }, body: listing.map((l) => `${l}\n`).join('') };
    }
    return { status: 200, headers: { ...headers, 'content-type': 'application/text' }, body: String(node) };
  };
  const server = await serveMetadata(handler, options, options.listen);
  return { ...server, base: `${server.url}/computeMetadata/v1/`, options };
}
