// Azure datasource, the pure parts: the XML reader, ovf-env.xml as cloud-init
// reads it, the password hash, identity (vm id, instance-id), the IMDS
// network config (cloud-init's expected outputs), the report line, the KVP
// record, the goal state and the health report. Boots: test/integration/sources-azure.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseXml, XmlError } from '../../src/sources/azure-xml.ts';
import { parseOvfEnv, redactPassword, ProvisioningError, NotAzureOvf } from '../../src/sources/azure-ovf.ts';
import { hashPassword, sha512Crypt } from '../../src/sources/azure-password.ts';
import { byteSwapUuid, instanceIdOf, vmIdOf, wireserverFromLease } from '../../src/sources/azure.ts';
import { imdsNetworkConfig, imdsPublicKeys, normalizeMac } from '../../src/sources/azure-imds.ts';
import { encodeReport, errorReport, kvpRecord } from '../../src/sources/azure-kvp.ts';
import { healthReportXml, parseGoalState } from '../../src/sources/azure-wireserver.ts';
import { outcome } from '../../src/sources/azure-report.ts';
import { EXAMPLE_KEY, goalStateXml, ovfEnvXml } from '../helpers/azure-simulator.ts';
import type { Nic } from '../../src/network/sysfs.ts';

test('the XML reader: namespaces by URI, entities and CDATA, and what it refuses', () => {
  const root = parseXml('<?xml version="1.0"?>\n<!-- c --><a:r xmlns:a="urn:a" xmlns="urn:d"><a:x k="1 &amp; 2">t&lt;&#65;&#x42;<![CDATA[<raw>]]></a:x><y/></a:r>');
  assert.equal(root.name, 'r');
  assert.equal(root.ns, 'urn:a');
  assert.deepEqual(root.children.map((c) => [c.name, c.ns]), [['x', 'urn:a'], ['y', 'urn:d']]);
  assert.equal(root.children[0]!.text, 't<AB<raw>');
  assert.equal(root.children[0]!.attrs['k'], '1 & 2');
  for (const [bad, why] of [
    ['<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>', /DOCTYPE/],
    ['<r>&e;</r>', /unknown entity &e;/],
    ['<r><a></b></r>', /<\/b> closes <a> at line 1, column/],
    ['<p:r/>', /undeclared namespace prefix 'p'/],
    ['<r/><s/>', /content after the root element/],
    ['<r a="1" a="2"/>', /attribute a given twice/],
    [`${'<a>'.repeat(70)}${'</a>'.repeat(70)}`, /nested deeper than 64/],
  ] as const) assert.throws(() => parseXml(bad), (e: Error) => e instanceof XmlError && why.test(e.message), bad);
  // An error never quotes the text (ovf-env.xml carries a password).
  assert.throws(() => parseXml('<r>\n<UserPassword>s3cret-pw</UserPassword\n'), (e: Error) => !e.message.includes('s3cret'));
});

test('ovf-env.xml: what cloud-init reads from it', () => {
  const ovf = parseOvfEnv(ovfEnvXml({
    hostname: 'myhost', username: 'myuser', password: 'pw&<1', customData: '#!/bin/sh\necho hi\n', disableSshPasswordAuth: true,
    publicKeys: [{ fingerprint: 'FP1', path: '/home/myuser/.ssh/authorized_keys', value: EXAMPLE_KEY }, { fingerprint: 'FP2' }],
  }));
  assert.equal(ovf.hostname, 'myhost');
  assert.equal(ovf.username, 'myuser');
  assert.equal(ovf.password, 'pw&<1');
  assert.equal(Buffer.from(ovf.customData!).toString(), '#!/bin/sh\necho hi\n');
  assert.equal(ovf.disableSshPasswordAuth, true);
  assert.deepEqual(ovf.publicKeys, [
    { fingerprint: 'FP1', path: '/home/myuser/.ssh/authorized_keys', value: EXAMPLE_KEY },
    { fingerprint: 'FP2', path: null, value: '' },
  ]);
  assert.equal(ovf.preprovisionedVm, false);
  assert.equal(ovf.preprovisionedVmType, null, 'xsi:nil is no value');
  const plain = parseOvfEnv(ovfEnvXml({ username: null, preprovisionedVmType: 'Savable' }));
  assert.equal(plain.username, null);
  assert.equal(plain.disableSshPasswordAuth, null);
  assert.equal(plain.preprovisionedVmType, 'Savable');
  // Broken, in cloud-init's reasons; another platform's OVF is not Azure's.
  assert.throws(() => parseOvfEnv(ovfEnvXml({ hostname: null })), (e: Error) => e instanceof ProvisioningError && e.message === "unexpected metadata parsing ovf-env.xml: missing configuration for 'HostName'");
  assert.throws(() => parseOvfEnv(ovfEnvXml({ password: 'x'.repeat(73) })), (e: Error) => e instanceof ProvisioningError && e.message === 'unsupported password length=73 max=72');
  assert.throws(() => parseOvfEnv(ovfEnvXml().replace('<ns1:HostName>', '<ns1:HostName>a</ns1:HostName><ns1:HostName>')), /multiple configuration matches for 'HostName' \(2\)/);
  assert.throws(() => parseOvfEnv('<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"><PropertySection/></Environment>'), NotAzureOvf);
  assert.throws(() => parseOvfEnv('<Environment'), (e: Error) => e instanceof ProvisioningError && /^error parsing ovf-env.xml: /.test(e.message));
});

test('the kept ovf-env.xml has REDACTED for the password, and nothing else changed', () => {
  const text = ovfEnvXml({ password: 'Secret-1' });
  const kept = redactPassword(text);
  assert.ok(!kept.includes('Secret-1'));
  assert.equal(kept, text.replace('Secret-1', 'REDACTED'));
  assert.equal(parseOvfEnv(kept).password, 'REDACTED');
  assert.equal(redactPassword(ovfEnvXml()), ovfEnvXml());
});

test('SHA-512 crypt: the specification\'s vectors and hashes made by OpenSSL and Python\'s crypt', () => {
  // From "Unix crypt using SHA-256 and SHA-512" (Drepper), default rounds; a salt over 16 characters is cut.
  assert.equal(sha512Crypt('Hello world!', 'saltstring'), '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1');
  assert.equal(sha512Crypt('This is just a test', 'toolongsaltstring'), '$6$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0');
  // `openssl passwd -6 -salt AbCdEfGh./012345` (OpenSSL 3.0), and Python's crypt.crypt for the empty password.
  const salt = 'AbCdEfGh./012345';
  assert.equal(sha512Crypt('a', salt), '$6$AbCdEfGh./012345$jGto5awvJ/4MQPe.fhJVwmUl4hrUt9Ide2pYy3UX3/wph8IJiNiOeoZeE7zTLCxLU/N2GhOOAQBmbiLgbmBxh/');
  assert.equal(sha512Crypt('pässwörd €', salt), '$6$AbCdEfGh./012345$GPaMfLBz3DXSIbRY8p2u5SaEltw9gwEvxHRomOXGZGzM3/EDRwqrelgFxYp7Gs0/PMf0.QN680vTiFw9iyam71');
  assert.equal(sha512Crypt('x'.repeat(72), salt), '$6$AbCdEfGh./012345$v/FoH8Cd63u/ECyI5UUircBaaG3pqqxpSaeG3.7633giIeUeyO4GZQqEplHvPmx6XyGEdm00ZyCt3W9W.D8ee1');
  assert.equal(sha512Crypt('', salt), '$6$AbCdEfGh./012345$bQ7lna3PZpGf6Xz5KJyXjiOEyWSJMt5XJsFNR1eTKT8zjIrnTJ5ze5tBztze7gAjMX8h08z5sXtWrvd5kTdsl.');
  assert.match(hashPassword('x'), /^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
  assert.notEqual(hashPassword('x'), hashPassword('x'), 'a fresh salt each time');
});

test('identity: vm id byte-swapped on gen1, instance-id the DMI uuid or the previous one when it is the same uuid', () => {
  // cloud-init's test vectors (test_identity.py)
  assert.equal(byteSwapUuid('527c2691-029f-fe4c-b1f4-a4da7ebac2cf'), '91267c52-9f02-4cfe-b1f4-a4da7ebac2cf');
  assert.equal(vmIdOf('527c2691-029f-fe4c-b1f4-a4da7ebac2cf', true), '91267c52-9f02-4cfe-b1f4-a4da7ebac2cf');
  assert.equal(vmIdOf('527c2691-029f-fe4c-b1f4-a4da7ebac2cf', false), '527c2691-029f-fe4c-b1f4-a4da7ebac2cf');
  for (const bad of ['', 'g', '91267c52-9f02-4cfe-b1f4-a4da7ebac2c', '91267c52-9f02-4cfe-b1f4-a4da7ebac2ccc', '-----']) {
    assert.throws(() => vmIdOf(bad, true), /failure to identify Azure VM ID/);
  }
  const uuid = '527c2691-029f-fe4c-b1f4-a4da7ebac2cf';
  assert.equal(instanceIdOf(uuid, null), uuid);
  assert.equal(instanceIdOf(uuid, '91267C52-9F02-4CFE-B1F4-A4DA7EBAC2CF'), '91267C52-9F02-4CFE-B1F4-A4DA7EBAC2CF', 'the swapped id an older agent kept: same instance');
  assert.equal(instanceIdOf(uuid, uuid.toUpperCase()), uuid.toUpperCase());
  assert.equal(instanceIdOf(uuid, 'iid-other'), uuid);
});

test('the wireserver address from DHCP option 245, as dhclient and networkd write it', () => {
  assert.equal(wireserverFromLease({ options: { 'unknown-245': 'a8:3f:81:10' } }), '168.63.129.16');
  assert.equal(wireserverFromLease({ options: { '245': 'A83F8110' } }), '168.63.129.16');
  assert.equal(wireserverFromLease({ options: { '245': '10.1.2.3' } }), '10.1.2.3');
  assert.equal(wireserverFromLease({ options: { '245': 'nonsense' } }), null);
  assert.equal(wireserverFromLease({ options: {} }), null);
  assert.equal(wireserverFromLease(undefined), null);
});

const nic = (name: string, mac: string, driver: string | null): Nic => ({ name, mac, driver, physical: true, bond: false, bridge: false, vlan: false, carrier: true, dormant: false, operstate: 'up' });
const v4 = (...ips: string[]) => ({ ipAddress: ips.map((privateIpAddress) => ({ privateIpAddress })), subnet: [{ prefix: '24', address: '10.0.0.0' }] });

test('network config from IMDS: cloud-init\'s generate_network_config outputs', () => {
  const simple = { interface: [{ macAddress: '000D3A047598', ipv6: { ipAddress: [] }, ipv4: v4('10.0.0.4') }] };
  assert.deepEqual(imdsNetworkConfig(simple, [], { secondaryIps: true, setName: true }), {
    version: 2,
    ethernets: { eth0: { dhcp4: true, 'dhcp4-overrides': { 'route-metric': 100 }, dhcp6: false, match: { macaddress: '00:0d:3a:04:75:98' }, 'set-name': 'eth0' } },
  });
  // hv_netvsc wins over the VF of accelerated networking that shares the MAC
  assert.deepEqual(imdsNetworkConfig(simple, [nic('eth0', '00:0d:3a:04:75:98', 'hv_netvsc'), nic('enP1s1', '00:0d:3a:04:75:98', 'mlx5_core')], { secondaryIps: true, setName: true })['ethernets'],
    { eth0: { dhcp4: true, 'dhcp4-overrides': { 'route-metric': 100 }, dhcp6: false, match: { macaddress: '00:0d:3a:04:75:98', driver: 'hv_netvsc' }, 'set-name': 'eth0' } });
  const multi = { interface: [
    { macAddress: '000D3A047598', ipv4: v4('10.0.0.4', '10.0.0.5', '10.0.0.6'), ipv6: { subnet: [{ prefix: '64', address: 'fd00::' }], ipAddress: [{ privateIpAddress: 'fd00::4' }, { privateIpAddress: 'fd00::5' }] } },
    { macAddress: '220D3A047598', ipv4: v4('10.0.1.5'), ipv6: { ipAddress: [] } },
    { macAddress: '330D3A047598', ipv4: { ipAddress: [], subnet: [] }, ipv6: { ipAddress: [] } },
  ] };
  assert.deepEqual(imdsNetworkConfig(multi, [], { secondaryIps: true, setName: true })['ethernets'], {
    eth0: { dhcp4: true, 'dhcp4-overrides': { 'route-metric': 100 }, dhcp6: true, 'dhcp6-overrides': { 'route-metric': 100 }, addresses: ['10.0.0.5/24', '10.0.0.6/24', 'fd00::5/64'], match: { macaddress: '00:0d:3a:04:75:98' }, 'set-name': 'eth0' },
    eth1: { dhcp4: true, 'dhcp4-overrides': { 'route-metric': 200, 'use-dns': false }, dhcp6: false, match: { macaddress: '22:0d:3a:04:75:98' }, 'set-name': 'eth1' },
  });
  assert.deepEqual(Object.keys(imdsNetworkConfig(multi, [], { secondaryIps: false, setName: false })['ethernets'] as object), ['enx000d3a047598', 'enx220d3a047598']);
  assert.equal((imdsNetworkConfig(multi, [], { secondaryIps: false, setName: true })['ethernets'] as Record<string, Record<string, unknown>>)['eth0']!['addresses'], undefined);
  assert.throws(() => imdsNetworkConfig({}, [], { secondaryIps: true, setName: true }), /no interface list/);
  assert.equal(normalizeMac('00-0D-3A-04-75-98'), '00-0d-3a-04-75-98');
});

test('IMDS keys: CRLFs removed; a key that is not OpenSSH sends cloud-init to the ovf-env.xml keys', () => {
  assert.deepEqual(imdsPublicKeys({ compute: { publicKeys: [{ keyData: `${EXAMPLE_KEY.slice(0, 30)}\r\n${EXAMPLE_KEY.slice(30)}\r\n`, path: 'p' }] } }), [EXAMPLE_KEY]);
  assert.equal(imdsPublicKeys({ compute: { publicKeys: [{ keyData: '---- BEGIN SSH2 PUBLIC KEY ----' }] } }), null);
  assert.equal(imdsPublicKeys({ compute: {} }), null);
  assert.deepEqual(imdsPublicKeys({ compute: { publicKeys: [] } }), []);
});

test('the report line: cloud-init\'s CSV with | between fields and \' around the ones that need it', () => {
  assert.equal(encodeReport(['a', "x'|y", 'two\nlines', '', 'b"c']), "a|'x''|y'|'two\nlines'||b\"c");
  const line = errorReport('error parsing ovf-env.xml: bad', { length: 73 }, 'vm-1', new Date(Date.UTC(2026, 0, 2, 3, 4, 5)));
  assert.equal(line, 'result=error|reason=error parsing ovf-env.xml: bad|agent=ec2-init/dev|length=73|vm_id=vm-1|timestamp=2026-01-02T03:04:05.000Z|documentation_url=https://aka.ms/linuxprovisioningerror');
});

test('a KVP record: the key in 512 bytes, the value (at most 1023 characters) in 2048, NUL-padded', () => {
  const r = kvpRecord('PROVISIONING_REPORT', 'x'.repeat(5000));
  assert.equal(r.length, 2560);
  assert.equal(Buffer.from(r.subarray(0, 512)).toString().replace(/\0+$/, ''), 'PROVISIONING_REPORT');
  assert.equal(Buffer.from(r.subarray(512)).toString().replace(/\0+$/, ''), 'x'.repeat(1023));
  assert.equal(kvpRecord('K', 'é'.repeat(1500)).length, 2560, 'a value longer in bytes than the record is cut to it');
});

test('goal state in, health report out (the ids, Ready or NotReady with a description of at most 512 characters)', () => {
  const gs = parseGoalState(goalStateXml({ containerId: 'c-1', instanceId: 'i.1', incarnation: '7' }));
  assert.deepEqual(gs, { containerId: 'c-1', instanceId: 'i.1', incarnation: '7' });
  assert.throws(() => parseGoalState('<GoalState><Incarnation>1</Incarnation></GoalState>'), /the goal state has no Container\/ContainerId/);
  const ready = parseXml(healthReportXml(gs, { state: 'Ready' }));
  const text = (el: ReturnType<typeof parseXml>, ...path: string[]): string | undefined => {
    let at: ReturnType<typeof parseXml> | undefined = el;
    for (const p of path) at = at?.children.find((c) => c.name === p);
    return at?.text;
  };
  assert.equal(text(ready, 'GoalStateIncarnation'), '7');
  assert.equal(text(ready, 'Container', 'ContainerId'), 'c-1');
  assert.equal(text(ready, 'Container', 'RoleInstanceList', 'Role', 'InstanceId'), 'i.1');
  assert.equal(text(ready, 'Container', 'RoleInstanceList', 'Role', 'Health', 'State'), 'Ready');
  assert.equal(text(ready, 'Container', 'RoleInstanceList', 'Role', 'Health', 'Details'), undefined);
  const failed = parseXml(healthReportXml(gs, { state: 'NotReady', description: `<&>${'d'.repeat(600)}` }));
  const details = ['Container', 'RoleInstanceList', 'Role', 'Health', 'Details'];
  assert.equal(text(failed, ...details, 'SubStatus'), 'ProvisioningFailed');
  assert.equal(text(failed, ...details, 'Description'), `<&>${'d'.repeat(509)}`);
});

test('the outcome: a broken read, then the provisioning modules\' errors, else Ready', () => {
  const rec = { instanceId: 'i', vmId: 'vm', wireserver: 'w', dataDir: '/d', ovfRead: true, skipReport: false, failure: null };
  assert.deepEqual(outcome(rec, [{ level: 'error', where: 'module runcmd', message: 'x' }, { level: 'warning', where: 'module users_groups', message: 'w' }]).health, { state: 'Ready' });
  const o = outcome(rec, [{ level: 'error', where: 'module set_hostname', message: 'hostname refused' }]);
  assert.equal(o.health.state, 'NotReady');
  assert.match(o.kvp, /^result=error\|reason=failure to provision: module set_hostname: hostname refused\|/);
  assert.match(outcome({ ...rec, failure: { reason: 'error parsing ovf-env.xml: x', data: {} } }, []).kvp, /reason=error parsing ovf-env.xml: x/);
});
