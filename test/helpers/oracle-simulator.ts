// Oracle Cloud Infrastructure's instance metadata service (IMDS) for tests
// (metadata-server.ts: real HTTP on 127.0.0.1, every request recorded,
// failure modes), answering as Oracle documents it and cloud-init's tests
// show:
//   /opc/v2/instance/[key/…]   the instance (JSON; a key's value below it),
//                              only with `Authorization: Bearer Oracle` (401 without)
//   /opc/v2/vnics/             the VNICs (JSON list), same rule
//   /opc/v1/instance/, /opc/v1/vnics/   the same without the header
// Requests carrying Forwarded, X-Forwarded-For or X-Forwarded-Host are
// refused (403). `versions` says which versions the service has: both (the
// default), only v2 (IMDSv1 disabled: /opc/v1 answers 404), only v1 (an
// older service: /opc/v2 answers 404).
//
//   const sim = await startOracleSimulator({ userData: '#cloud-config\n…' });
//   … datasource: {Oracle: {metadata_urls: [sim.url]}} …
import { serveMetadata, type Faults, type MetadataServer, type SimRequest } from './metadata-server.ts';

export const ORACLE_KEY = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQOracleOracleOracleOracleOracleOracleOracleOrac opc@workstation';
export const ORACLE_PRIMARY_MAC = '02:00:17:05:d1:db';
export const ORACLE_SECOND_MAC = '00:00:17:02:2b:b1';

/** An instance as IMDS describes it (values made up, shapes Oracle's). */
export function oracleInstance(userData: string | null): Record<string, unknown> {
  return {
    availabilityDomain: 'qIZq:PHX-AD-1',
    faultDomain: 'FAULT-DOMAIN-2',
    compartmentId: 'ocid1.tenancy.oc1..aaaaaaaaexampleexampleexample',
    displayName: 'instance-20260101-1400',
    hostname: 'instance-20260101-1400',
    id: 'ocid1.instance.oc1.phx.anyhqljtexampleexampleexample',
    image: 'ocid1.image.oc1.phx.aaaaaaaaexampleexampleexample',
    metadata: { ssh_authorized_keys: ORACLE_KEY, ...(userData === null ? {} : { user_data: Buffer.from(userData).toString('base64') }) },
    region: 'phx',
    canonicalRegionName: 'us-phoenix-1',
    ociAdName: 'phx-ad-1',
    shape: 'VM.Standard2.1',
    state: 'Running',
    timeCreated: 1767276000000,
    agentConfig: { monitoringDisabled: true, managementDisabled: true },
  };
}

/** A VM's VNICs: the primary, and a secondary. */
export const ORACLE_VNICS = [
  { vnicId: 'ocid1.vnic.oc1.phx.primary', privateIp: '10.0.0.230', vlanTag: 1039, macAddr: '02:00:17:05:D1:DB', virtualRouterIp: '10.0.0.1', subnetCidrBlock: '10.0.0.0/24' },
  { vnicId: 'ocid1.vnic.oc1.phx.secondary', privateIp: '10.0.0.231', vlanTag: 1041, macAddr: '00:00:17:02:2B:B1', virtualRouterIp: '10.0.0.1', subnetCidrBlock: '10.0.0.0/24' },
];

export interface OracleSimulatorOptions extends Faults {
  userData?: string | null;
  instance?: Record<string, unknown>;
  vnics?: unknown[];
  versions?: 'both' | 'v2' | 'v1';
  listen?: { host?: string; port?: number };
}

export interface OracleSimulator extends MetadataServer { options: OracleSimulatorOptions }

export async function startOracleSimulator(options: OracleSimulatorOptions = {}): Promise<OracleSimulator> {
  const json = (v: unknown) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(v, null, 2) });
  const notFound = { status: 404, headers: { 'content-type': 'application/json' }, body: '{"code":"NotFound","message":"Not Found"}' };
  const handler = (req: SimRequest) => {
    if (['forwarded', 'x-forwarded-for', 'x-forwarded-host'].some((h) => req.headers[h] !== undefined)) return { status: 403, body: '{"code":"Forbidden","message":"Forwarded requests are not allowed"}' };
    if (req.method !== 'GET') return { status: 405, body: '{"code":"MethodNotAllowed"}' };
    const m = /^\/opc\/v([12])\/(instance|vnics)\/?(.*)$/.exec(req.path.split('?')[0]!);
    if (!m) return notFound;
    const version = m[1]!;
    const versions = options.versions ?? 'both';
    if ((version === '1' && versions === 'v2') || (version === '2' && versions === 'v1')) return notFound;
    if (version === '2' && req.headers['authorization'] !== 'Bearer Oracle') {
      return { status: 401, headers: { 'content-type': 'application/json' }, body: '{"code":"NotAuthenticated","message":"The required information to complete authentication was not provided."}' };
    }
    let node: unknown = m[2] === 'vnics' ? options.vnics ?? ORACLE_VNICS : options.instance ?? oracleInstance(options.userData === undefined ? null : options.userData);
    for (const part of m[3]!.split('/').filter(Boolean)) {
      if (node === null || typeof node !== 'object' || !(part in (node as object))) return notFound;
      node = (node as Record<string, unknown>)[part];
    }
    return typeof node === 'object' && node !== null ? json(node) : { status: 200, body: String(node) };
  };
  const server = await serveMetadata(handler, options, options.listen);
  return { ...server, options };
}
