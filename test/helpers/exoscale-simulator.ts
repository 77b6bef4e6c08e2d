// Exoscale's metadata service and password server for tests, as Exoscale's
// documentation and cloud-init's test_exoscale.py show them: CloudStack's
// virtual router (cloudstack-simulator.ts) with the API version 1.0
// (/1.0/meta-data/…, /1.0/user-data, the password server at /1.0/), both on
// 127.0.0.1 with ports of their own (the datasource's metadata_url and
// password_server_port point at them).
import { startVirtualRouter, type VirtualRouter, type VirtualRouterOptions } from './cloudstack-simulator.ts';

export const EXOSCALE_META_DATA: Record<string, unknown> = {
  'availability-zone': 'ch-gva-2',
  'cloud-identifier': 'CloudStack-{b1e2f3a4-5c6d-4e7f-8091-a2b3c4d5e6f7}',
  'instance-id': '8f1c2d3e-4b5a-4c6d-9e8f-7a6b5c4d3e2f',
  'local-hostname': 'exo-web-1',
  'local-ipv4': '185.19.28.10',
  'public-hostname': '185.19.28.10',
  'public-ipv4': '185.19.28.10',
  'public-keys': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ9k8l7m6n5o4p3q2r1s0t9u8v7w6x5y4z3a2b1c0d9e exoscale@test',
  'service-offering': 'Small',
  'vm-id': '8f1c2d3e-4b5a-4c6d-9e8f-7a6b5c4d3e2f',
};

export function startExoscaleSimulator(options: VirtualRouterOptions = {}): Promise<VirtualRouter> {
  return startVirtualRouter({ metaData: EXOSCALE_META_DATA, ...options }, { host: '127.0.0.1', metadataPort: 0, passwordPort: 0, version: '1.0' });
}

/** The system config that points the Exoscale datasource at a simulator. */
export function exoscaleConfig(sim: VirtualRouter): string {
  return `datasource:\n  Exoscale:\n    metadata_url: ${sim.url}\n    password_server_port: ${Number(new URL(sim.passwordUrl).port)}\n    timeout: 2\n    retries: 2\n`;
}
