// Azure's two provisioning services for tests, as real HTTP servers on
// 127.0.0.1 (port 0 each):
//   - IMDS: GET /metadata/instance?api-version=…[&extended=true], refused
//     (400, as Azure answers) without the `Metadata: true` header or with an
//     api-version it does not know; serves the instance document.
//   - the wireserver: GET /machine/?comp=goalstate and POST
//     /machine?comp=health, both refused (400) without x-ms-agent-name and
//     x-ms-version; serves a goal state and records every health report with
//     its body parsed (state, substatus, description, the three ids). A
//     report whose ids are not the goal state's is answered 400 (and
//     recorded as such).
// Every request is recorded, with its headers.
//
//   const sim = await startAzureSimulator({ imds: exampleImds(uuid) });
//   … datasource: {Azure: {metadata_url: sim.imdsUrl, wireserver_endpoint: sim.wireserver}} …
//   sim.reports  // [{ state: 'Ready', containerId, instanceId, … }]
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface AzureRequest { method: string; path: string; headers: http.IncomingHttpHeaders; at: number; status?: number; body?: string }

export interface HealthReport {
  state: string;
  substatus: string | null;
  description: string | null;
  containerId: string;
  instanceId: string;
  incarnation: string;
  /** The status the simulator answered (200, or 400 for ids that are not the goal state's). */
  answered: number;
  body: string;
}

export interface GoalStateIds { containerId: string; instanceId: string; incarnation: string }

export interface AzureSimulatorOptions {
  /** The instance document (default: exampleImds of a fixed uuid). */
  imds?: Record<string, unknown>;
  /** Answer the 2021-08-01 api-version with 400 (an old Azure Stack): the agent must fall back to 2019-06-01. */
  oldApiOnly?: boolean;
  /** Answer the first n IMDS requests with this status (e.g. 404 "not yet", 500). */
  imdsFailFirst?: { n: number; status: number };
  goalState?: GoalStateIds;
  /** Answer the first n wireserver requests with 503. */
  wireserverFailFirst?: number;
}

export interface AzureSimulator {
  imdsUrl: string;
  imdsPort: number;
  /** host:port of the wireserver (datasource Azure wireserver_endpoint). */
  wireserver: string;
  wireserverPort: number;
  imdsRequests: AzureRequest[];
  wireserverRequests: AzureRequest[];
  reports: HealthReport[];
  options: AzureSimulatorOptions;
  close(): Promise<void>;
}

export const AZURE_ASSET_TAG = '7783-7084-3265-9085-8269-3286-77';
export const EXAMPLE_UUID = '527c2691-029f-fe4c-b1f4-a4da7ebac2cf';
export const EXAMPLE_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAzureTestKeyNotARealKeyAzureTestKeyNotReal01 azure@test';
export const DEFAULT_GOAL_STATE: GoalStateIds = { containerId: '1d8a2b1f-2f4e-4c1e-9a3d-6b7c8d9e0f10', instanceId: '9f8e7d6c5b4a.vm-1', incarnation: '1' };

/** The uuid's first three fields byte-swapped: the vm id Azure shows for a gen1 VM with that DMI uuid. */
export function swapUuid(uuid: string): string {
  const [a, b, c, ...rest] = uuid.split('-');
  const s = (x: string) => x.match(/../g)!.reverse().join('');
  return [s(a!), s(b!), s(c!), ...rest].join('-');
}

/** An instance document shaped like IMDS's 2021-08-01 extended one (values made up), for a gen1 VM with DMI uuid `uuid`. */
export function exampleImds(uuid = EXAMPLE_UUID, over: { compute?: Record<string, unknown>; network?: unknown; extended?: unknown } = {}): Record<string, unknown> {
  return {
    compute: {
      azEnvironment: 'AzurePublicCloud',
      location: 'westeurope',
      name: 'vm-1',
      offer: 'debian-12',
      osProfile: { adminUsername: 'azureuser', computerName: 'vm-1', disablePasswordAuthentication: 'false' },
      osType: 'Linux',
      platformFaultDomain: '0',
      platformUpdateDomain: '0',
      publicKeys: [{ keyData: EXAMPLE_KEY, path: '/home/azureuser/.ssh/authorized_keys' }],
      publisher: 'Debian',
      resourceGroupName: 'rg-test',
      resourceId: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-test/providers/Microsoft.Compute/virtualMachines/vm-1',
      sku: '12',
      subscriptionId: '00000000-0000-0000-0000-000000000000',
      tags: '',
      userData: '',
      version: '0.20240101.1',
      vmId: swapUuid(uuid),
      vmSize: 'Standard_B1s',
      zone: '',
      ...over.compute,
    },
    network: over.network ?? {
      interface: [{
        ipv4: { ipAddress: [{ privateIpAddress: '10.0.0.4', publicIpAddress: '' }], subnet: [{ address: '10.0.0.0', prefix: '24' }] },
        ipv6: { ipAddress: [] },
        macAddress: '000D3A123456',
      }],
    },
    extended: over.extended ?? { compute: { hasCustomData: false, ppsType: 'None' } },
  };
}

export function goalStateXml(ids: GoalStateIds): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<GoalState xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="goalstate10.xsd">
  <Version>2012-11-30</Version>
  <Incarnation>${ids.incarnation}</Incarnation>
  <Machine>
    <ExpectedState>Started</ExpectedState>
    <StopRolesDeadlineHint>300000</StopRolesDeadlineHint>
    <LBProbePorts><Port>16001</Port></LBProbePorts>
    <ExpectHealthReport>FALSE</ExpectHealthReport>
  </Machine>
  <Container>
    <ContainerId>${ids.containerId}</ContainerId>
    <RoleInstanceList>
      <RoleInstance>
        <InstanceId>${ids.instanceId}</InstanceId>
        <State>Started</State>
        <Configuration>
          <HostingEnvironmentConfig>http://168.63.129.16:80/machine/x?comp=config&amp;type=hostingEnvironmentConfig</HostingEnvironmentConfig>
          <SharedConfig>http://168.63.129.16:80/machine/x?comp=config&amp;type=sharedConfig</SharedConfig>
          <ExtensionsConfig>http://168.63.129.16:80/machine/x?comp=config&amp;type=extensionsConfig</ExtensionsConfig>
          <FullConfig>http://168.63.129.16:80/machine/x?comp=config&amp;type=fullConfig</FullConfig>
          <ConfigName>x.0.x.0._vm-1.1.xml</ConfigName>
        </Configuration>
      </RoleInstance>
    </RoleInstanceList>
  </Container>
</GoalState>
`;
}

const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
/** The text of the one element `name` in `xml` (null when absent; throws when it is there twice). */
function element(xml: string, name: string): string | null {
  const all = [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))];
  if (all.length > 1) throw new Error(`${name} twice`);
  return all[0] ? unescape(all[0][1]!) : null;
}

async function serve(handler: (req: AzureRequest) => { status: number; body: string; type?: string }): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => {
      const r: AzureRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, at: Date.now(), body };
      const a = handler(r);
      r.status = a.status;
      res.writeHead(a.status, { 'content-type': a.type ?? 'text/plain; charset=utf-8' });
      res.end(a.body);
    });
  });
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

export async function startAzureSimulator(options: AzureSimulatorOptions = {}): Promise<AzureSimulator> {
  const imdsRequests: AzureRequest[] = [];
  const wireserverRequests: AzureRequest[] = [];
  const reports: HealthReport[] = [];
  const o = options;

  const imds = await serve((r) => {
    imdsRequests.push(r);
    const url = new URL(r.path, 'http://x');
    if (r.headers['metadata'] !== 'true') return { status: 400, body: '{"error":"Bad request. Required metadata header not specified"}', type: 'application/json' };
    if (o.imdsFailFirst && imdsRequests.length <= o.imdsFailFirst.n) return { status: o.imdsFailFirst.status, body: '' };
    if (r.method !== 'GET') return { status: 405, body: '' };
    if (url.pathname !== '/metadata/instance') return { status: 404, body: '{"error":"Not found"}', type: 'application/json' };
    const api = url.searchParams.get('api-version');
    const known = o.oldApiOnly ? ['2019-06-01'] : ['2019-06-01', '2021-08-01'];
    if (!api || !known.includes(api)) return { status: 400, body: '{"error":"Bad request. api-version is invalid or was not specified in the request."}', type: 'application/json' };
    const doc = { ...(o.imds ?? exampleImds()) };
    if (url.searchParams.get('extended') !== 'true') delete doc['extended'];
    return { status: 200, body: JSON.stringify(doc), type: 'application/json; charset=utf-8' };
  });

  const wire = await serve((r) => {
    wireserverRequests.push(r);
    if (typeof r.headers['x-ms-agent-name'] !== 'string' || r.headers['x-ms-version'] !== '2012-11-30') return { status: 400, body: 'missing x-ms-agent-name or x-ms-version' };
    if (o.wireserverFailFirst && wireserverRequests.length <= o.wireserverFailFirst) return { status: 503, body: '' };
    const gs = o.goalState ?? DEFAULT_GOAL_STATE;
    if (r.method === 'GET' && r.path === '/machine/?comp=goalstate') return { status: 200, body: goalStateXml(gs), type: 'text/xml; charset=utf-8' };
    if (r.method === 'POST' && r.path === '/machine?comp=health') {
      if (!String(r.headers['content-type']).startsWith('text/xml')) return { status: 400, body: 'not XML' };
      const body = r.body ?? '';
      let report: HealthReport;
      try {
        report = {
          state: element(body, 'State') ?? '', substatus: element(body, 'SubStatus'), description: element(body, 'Description'),
          containerId: element(body, 'ContainerId') ?? '', instanceId: element(body, 'InstanceId') ?? '',
          incarnation: element(body, 'GoalStateIncarnation') ?? '', answered: 200, body,
        };
      } catch (e) { return { status: 400, body: (e as Error).message }; }
      if (report.containerId !== gs.containerId || report.instanceId !== gs.instanceId || report.incarnation !== gs.incarnation) report.answered = 400;
      reports.push(report);
      return { status: report.answered, body: '' };
    }
    return { status: 404, body: '' };
  });

  return {
    imdsUrl: `http://127.0.0.1:${imds.port}/metadata`,
    imdsPort: imds.port,
    wireserver: `127.0.0.1:${wire.port}`,
    wireserverPort: wire.port,
    imdsRequests,
    wireserverRequests,
    reports,
    options,
    close: async () => { await imds.close(); await wire.close(); },
  };
}

export interface OvfOptions {
  hostname?: string | null;
  username?: string | null;
  password?: string | null;
  /** Raw user-data: base64-encoded into CustomData. */
  customData?: string | Buffer | null;
  disableSshPasswordAuth?: boolean | null;
  publicKeys?: { fingerprint?: string; path?: string; value?: string }[];
  preprovisionedVmType?: string | null;
}

/** An ovf-env.xml as Azure writes it on the provisioning medium (the shape of cloud-init's test fixture construct_ovf_env). */
export function ovfEnvXml(o: OvfOptions = {}): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<ns0:Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:ns0="http://schemas.dmtf.org/ovf/environment/1" xmlns:ns1="http://schemas.microsoft.com/windowsazure" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
    '<ns1:ProvisioningSection>', '<ns1:Version>1.0</ns1:Version>', '<ns1:LinuxProvisioningConfigurationSet>',
    '<ns1:ConfigurationSetType>LinuxProvisioningConfiguration</ns1:ConfigurationSetType>',
  ];
  const hostname = o.hostname === undefined ? 'vm-1' : o.hostname;
  const username = o.username === undefined ? 'azureuser' : o.username;
  if (hostname !== null) lines.push(`<ns1:HostName>${esc(hostname)}</ns1:HostName>`);
  if (username !== null) lines.push(`<ns1:UserName>${esc(username)}</ns1:UserName>`);
  if (o.password != null) lines.push(`<ns1:UserPassword>${esc(o.password)}</ns1:UserPassword>`);
  if (o.customData != null) lines.push(`<ns1:CustomData>${Buffer.from(o.customData).toString('base64')}</ns1:CustomData>`);
  if (o.disableSshPasswordAuth != null) lines.push(`<ns1:DisableSshPasswordAuthentication>${o.disableSshPasswordAuth}</ns1:DisableSshPasswordAuthentication>`);
  if (o.publicKeys) {
    lines.push('<ns1:SSH>', '<ns1:PublicKeys>');
    for (const k of o.publicKeys) {
      lines.push('<ns1:PublicKey>');
      if (k.fingerprint !== undefined) lines.push(`<ns1:Fingerprint>${k.fingerprint}</ns1:Fingerprint>`);
      if (k.path !== undefined) lines.push(`<ns1:Path>${esc(k.path)}</ns1:Path>`);
      if (k.value !== undefined) lines.push(`<ns1:Value>${esc(k.value)}</ns1:Value>`);
      lines.push('</ns1:PublicKey>');
    }
    lines.push('</ns1:PublicKeys>', '</ns1:SSH>');
  }
  lines.push(
    '</ns1:LinuxProvisioningConfigurationSet>', '</ns1:ProvisioningSection>',
    '<ns1:PlatformSettingsSection>', '<ns1:Version>1.0</ns1:Version>', '<ns1:PlatformSettings>',
    '<ns1:KmsServerHostname>kms.core.windows.net</ns1:KmsServerHostname>',
    '<ns1:ProvisionGuestAgent>false</ns1:ProvisionGuestAgent>',
    '<ns1:GuestAgentPackageName xsi:nil="true" />',
    o.preprovisionedVmType ? `<ns1:PreprovisionedVMType>${o.preprovisionedVmType}</ns1:PreprovisionedVMType>` : '<ns1:PreprovisionedVMType xsi:nil="true" />',
    '</ns1:PlatformSettings>', '</ns1:PlatformSettingsSection>', '</ns0:Environment>',
  );
  return lines.join('\n') + '\n';
}
