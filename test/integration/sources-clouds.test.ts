// Integration: with cloud-init's default datasource list, every metadata
// service ec2-init knows is pointed at one simulator on 127.0.0.1, so any
// request any source sends lands there (CloudStack's virtual router, found
// from leases and routes, is none: the root has neither). On a machine whose DMI names no
// cloud, none is sent; on one whose DMI says Hetzner, only Hetzner's; and a
// source that checks its platform even when forced (Source.detectWhenForced)
// sends none as the only source listed on another cloud's machine.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startHetznerSimulator, HETZNER_MAC } from '../helpers/hetzner-simulator.ts';
import { cloudRoot } from '../helpers/cloud-root.ts';
import { read } from '../helpers/files.ts';
import { agentAsync, cannotRun } from '../helpers/agent.ts';

const skip = cannotRun() ?? false;

function everySourceAt(url: string, base: string): string {
  return `datasource:
  Ec2: {metadata_urls: ['${url}'], timeout: 1, max_wait: 2}
  Azure: {metadata_url: '${url}/metadata/instance', wireserver_endpoint: '${new URL(url).host}', timeout: 1, max_wait: 2}
  OpenStack: {metadata_urls: ['${url}'], timeout: 1, max_wait: 0, retries: 0}
  GCE: {metadata_url: '${url}/computeMetadata/v1/', retries: 0}
  Oracle: {metadata_urls: ['${url}'], timeout: 1, max_wait: 1}
  DigitalOcean: {metadata_url: '${url}/metadata/v1.json', retries: 0}
  Vultr: {url: '${url}', retries: 0}
  Hetzner: {metadata_url: '${base}metadata', userdata_url: '${base}userdata', retries: 0}
  AliYun: {metadata_urls: ['${url}'], timeout: 1, max_wait: 1}
  Scaleway: {metadata_urls: ['${url}'], retries: 1, timeout: 1, max_wait: 1}
  Exoscale: {metadata_url: '${url}', password_server_port: ${new URL(url).port}, timeout: 1, retries: 0}
  UpCloud: {metadata_url: '${url}/metadata/v1.json', retries: 0, timeout: 1}
  Akamai: {base_urls: {ipv4: '${url}', ipv6: '${url}'}}
`;
}

describe('the default datasource list asks only the cloud DMI names', { skip }, () => {
  test('a plain QEMU machine: no request to any metadata service', async () => {
    const sim = await startHetznerSimulator({});
    try {
      const root = cloudRoot({ dmi: { sys_vendor: 'QEMU', product_name: 'Standard PC (Q35 + ICH9, 2009)' }, config: everySourceAt(sim.url, sim.base), nics: [['ens3', HETZNER_MAC]] });
      const started = performance.now();
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 2, r.stderr); // degraded: no datasource
      assert.equal(sim.requests.length, 0);
      assert.ok(performance.now() - started < 10_000);
      const log = read(root, 'var/log/ec2-init.log');
      for (const name of ['DigitalOcean', 'GCE', 'OpenStack', 'AliYun', 'Vultr', 'Ec2', 'CloudStack', 'Scaleway', 'Hetzner', 'Oracle', 'Exoscale', 'UpCloud', 'Akamai']) assert.match(log, new RegExp(`datasource ${name}: .*not asked`));
    } finally { await sim.close(); }
  });

  test('DMI says Hetzner: Hetzner\'s three requests, nothing else', async () => {
    const sim = await startHetznerSimulator({ userData: '#cloud-config\n{}\n' });
    try {
      const root = cloudRoot({ dmi: { sys_vendor: 'Hetzner', product_serial: '42424242' }, config: everySourceAt(sim.url, sim.base), nics: [['ens3', HETZNER_MAC]] });
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(sim.requests.map((q) => q.path), ['/hetzner/v1/metadata', '/hetzner/v1/metadata/private-networks', '/hetzner/v1/userdata']);
      assert.equal(read(root, 'run/cloud-init/cloud-id'), 'hetzner\n');
    } finally { await sim.close(); }
  });

  // Every source that checks its platform even as the only one listed (cloud-init's own _get_data checks
  // for the first six; for Vultr, Scaleway, Oracle, CloudStack, Exoscale and Azure see README's differences).
  for (const name of ['DigitalOcean', 'GCE', 'AliYun', 'Vultr', 'CloudStack', 'Scaleway', 'Hetzner', 'Oracle', 'Exoscale', 'UpCloud', 'Akamai', 'Azure']) {
    test(`${name} as the only source listed, on another cloud's machine: no request`, async () => {
      const sim = await startHetznerSimulator({});
      try {
        const dmi: Record<string, string> = name === 'Hetzner' ? { sys_vendor: 'DigitalOcean', product_name: 'Droplet', product_serial: '42424242' } : { sys_vendor: 'Hetzner', product_serial: '42424242' };
        const root = cloudRoot({ dmi, config: `datasource_list: [${name}]\n${everySourceAt(sim.url, sim.base)}`, nics: [['ens3', HETZNER_MAC]] });
        const r = await agentAsync(root, ['boot']);
        assert.equal(r.status, 2, r.stderr); // degraded: no datasource
        assert.deepEqual(sim.requests.map((q) => q.path), []);
        assert.match(read(root, 'var/log/ec2-init.log'), new RegExp(`datasource ${name}: .*not asked \\(checked even when it is the only source listed\\)`));
      } finally { await sim.close(); }
    });
  }
});
