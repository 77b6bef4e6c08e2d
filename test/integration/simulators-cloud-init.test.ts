// The cloud simulators against cloud-init itself: Debian's cloud-init (the
// compare image, test/helpers/compare/image.ts) boots on a copy of its image
// in a network namespace where the simulator (test/helpers/compare/cloud-sim.ts,
// as compare-clouds.test.ts runs it) serves on 169.254.169.254:80 on the
// namespace's loopback, and must get from it what ec2-init's boot
// tests (sources-<cloud>.test.ts) get from the same simulator: the user-data
// run, the hostname, the default user's key, the cloud-id, the password of a
// password server — so the simulators are services cloud-init reads as the
// clouds' own, not shapes only ec2-init understands.
//
// Debian 12's cloud-init 22.4 checks UpCloud, CloudStack and Exoscale (as
// cloud-init 25/26 reads them: paths, headers, the password server); Debian
// 13's 25.1 (bench/chroot.ts's trixie root) checks AliYun (its own token
// headers came in 24.x) and Akamai (none in 22.4). Scaleway is not checked:
// cloud-init reads it only in init-local, over its own DHCP. DMI comes from
// a dmidecode in the copy (this machine has no /sys/class/dmi, so cloud-init
// asks dmidecode), and a systemd-detect-virt that says KVM (25.1 in a
// container reads no DMI). Stage init-local is not run (its ephemeral DHCP
// would wait for a server that is not there); init reads the sources.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hashOf } from '../helpers/cloud-root.ts';
import { CLOUDSTACK_META_DATA, dhclientLease } from '../helpers/cloudstack-simulator.ts';
import { ensureImage } from '../../bench/chroot.ts';
import { AKAMAI_INSTANCE, AKAMAI_KEYS } from '../helpers/akamai-simulator.ts';
import { ALIYUN_META_DATA } from '../helpers/aliyun-simulator.ts';
import { reference } from '../helpers/compare/image.ts';
import { boot, makeCopy, removeCopy, type Placed } from '../helpers/compare/sandbox.ts';
import { EXOSCALE_META_DATA } from '../helpers/exoscale-simulator.ts';
import { unavailable } from '../helpers/needs.ts';
import { TOP } from '../helpers/paths.ts';
import { UPCLOUD_NICS, UPCLOUD_UUID } from '../helpers/upcloud-simulator.ts';

const ref = await reference();
const skip = typeof ref === 'string' ? unavailable(ref) : undefined;
// Debian 13's root (cloud-init 25.1), built once where it is not cached yet.
const trixie = typeof ref === 'string' ? null : ensureImage('trixie', (m) => console.error(`simulators-cloud-init: ${m}`));

/** dmidecode as cloud-init calls it (`dmidecode --string KEYWORD`), answering the cloud's DMI. */
function dmidecode(fields: Record<string, string>): string {
  const cases = Object.entries(fields).map(([k, v]) => `  ${k}) echo '${v}';;`).join('\n');
  return `#!/bin/sh\n# a test's stand-in: the DMI of a machine on the simulated cloud\ncase "$2" in\n${cases}\n  *) echo '';;\nesac\n`;
}

interface Run {
  upper: string;
  out: string;
  requests: { method: string; path: string; headers: Record<string, string>; status: number }[];
  output: string;
  /** Remove the copy (kept with EC2_INIT_COMPARE_KEEP=1). */
  remove(): void;
}

/** cloud-init's boot (init, config, final) against `cloud`'s simulator, both in one namespace. */
async function bootCloudInit(cloud: string, options: unknown, files: Placed[], nics: [string, string][], image = typeof ref === 'string' ? '' : ref.root): Promise<Run> {
  const copy = makeCopy(image, [...files, VM_STUB]);
  writeFileSync(join(copy.dir, 'options.json'), JSON.stringify(options));
  const d = copy.dir;
  const r = copy.root;
  try {
    const result = await boot(copy, [
      ['ip link set lo up && ip addr add 169.254.169.254/32 dev lo && ip route add 169.254.169.254/32 dev lo', ...nics.map(([name, mac], i) => `ip link add ${name} type veth peer name peer${i} && ip link set ${name} address ${mac} && ip link set peer${i} up && ip link set ${name} up`)].join(' && '),
      `${process.execPath} ${join(TOP, 'test/helpers/compare/cloud-sim.ts')} ${cloud} ${d}/options.json ${d}/requests.jsonl ${d}/ready >${d}/sim.log 2>&1 & for i in $(seq 100); do [ -e ${d}/ready ] && exit 0; sleep 0.1; done; cat ${d}/sim.log; exit 1`,
      `chroot ${r} cloud-init init`,
      `chroot ${r} cloud-init modules --mode config`,
      `chroot ${r} cloud-init modules --mode final`,
      // /run is the namespace's: keep what cloud-init wrote there.
      `mkdir ${d}/out && chroot ${r} cat /run/cloud-init/cloud-id >${d}/out/cloud-id && cp ${r}/run/cloud-init/instance-data.json ${d}/out/`,
    ], 300_000);
    for (const c of result.codes) assert.equal(c.code, 0, `${c.command} exited ${c.code}\n${result.output.slice(-4000)}`);
    const requests = readFileSync(join(d, 'requests.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Run['requests'][number]);
    const remove = () => { if (!process.env['EC2_INIT_COMPARE_KEEP']) removeCopy(copy); };
    return { upper: copy.upper, out: join(d, 'out'), requests, output: result.output, remove };
  } catch (e) {
    if (!process.env['EC2_INIT_COMPARE_KEEP']) removeCopy(copy);
    throw e;
  }
}

const inUpper = (run: Run, path: string): string => readFileSync(join(run.upper, path), 'utf8');
const cloudId = (run: Run): string => readFileSync(join(run.out, 'cloud-id'), 'utf8');
const v1 = (run: Run): Record<string, unknown> => (JSON.parse(readFileSync(join(run.out, 'instance-data.json'), 'utf8')) as { v1: Record<string, unknown> }).v1;
function shadowHash(run: Run, user: string): string {
  return inUpper(run, 'etc/shadow').split('\n').find((l) => l.startsWith(`${user}:`))!.split(':')[1]!;
}
/**
 * wget as cloud-init 22.4's CloudStack password client runs it (`wget --quiet
 * --tries 3 --timeout 20 --output-document - --header H URL`): the compare
 * image has no wget, so a stand-in in its python3 sends the one GET with the
 * header and prints the body (cloud-init 23+ asks with its own HTTP client).
 */
const WGET: Placed = {
  path: '/usr/local/bin/wget',
  mode: 0o755,
  content: `#!/usr/bin/python3
# a test's stand-in for wget (the image has none): one GET with the --header given, the body to stdout
import sys, urllib.request
args, headers, url = sys.argv[1:], {}, None
i = 0
while i < len(args):
    a = args[i]
    if a == '--header':
        k, v = args[i + 1].split(':', 1); headers[k.strip()] = v.strip(); i += 2
    elif a in ('--tries', '--timeout', '--output-document'):
        i += 2
    elif a.startswith('-'):
        i += 1
    else:
        url = a; i += 1
url = url if '://' in url else 'http://' + url
sys.stdout.write(urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=20).read().decode())
`,
};

/** The machine is a KVM guest, as on the cloud (25.1 reads no DMI where systemd-detect-virt says container). */
const VM_STUB: Placed = {
  path: '/usr/local/bin/systemd-detect-virt',
  content: '#!/bin/sh\n# a test\'s stand-in: a KVM guest, never a container\nfor a in "$@"; do case $a in -c|--container) echo none; exit 1;; esac; done\necho kvm\n',
  mode: 0o755,
};

const cfgFile = (text: string): Placed => ({ path: '/etc/cloud/cloud.cfg.d/99-simulator.cfg', content: text, mode: 0o644 });
const dmiFile = (fields: Record<string, string>): Placed => ({ path: '/usr/local/sbin/dmidecode', content: dmidecode(fields), mode: 0o755 });

describe(`cloud-init ${typeof ref === 'string' ? '' : `${ref.cloudInitVersion} and ${trixie!.cloudInitVersion}`} reads the cloud simulators as ec2-init does`, { skip }, () => {
  test('UpCloud: metadata/v1.json gives user-data, vendor-data, hostname, key, cloud-id and region', async (t) => {
    const run = await bootCloudInit('upcloud', {
      userData: '#cloud-config\nruncmd: [[sh, -c, "echo from-upcloud > /ran"]]\n',
      vendorData: '#cloud-config\nwrite_files: [{path: /etc/from-vendor, content: v}]\n',
    }, [
      cfgFile('datasource_list: [UpCloud, None]\ndatasource:\n  UpCloud:\n    metadata_url: http://169.254.169.254/metadata/v1.json\n    retries: 2\n    timeout: 2\n    wait_retry: 1\n'),
      dmiFile({ 'system-manufacturer': 'UpCloud', 'system-uuid': UPCLOUD_UUID, 'system-product-name': 'Cloud Server' }),
    ], UPCLOUD_NICS);
    t.after(run.remove);
    // The same facts sources-upcloud.test.ts checks of ec2-init.
    assert.equal(inUpper(run, 'ran'), 'from-upcloud\n');
    assert.equal(inUpper(run, 'etc/from-vendor'), 'v');
    assert.equal(inUpper(run, 'etc/hostname'), 'web1\n');
    assert.match(inUpper(run, 'home/debian/.ssh/authorized_keys'), /upcloud@test/);
    assert.equal(cloudId(run), 'upcloud\n');
    // As sources-upcloud.test.ts: the region is the availability zone; v1.region none.
    assert.equal(v1(run)['availability_zone'], 'fi-hel2');
    assert.equal(v1(run)['region'], null);
    assert.deepEqual(run.requests.map((q) => `${q.method} ${q.path}`), ['GET /metadata/v1.json']);
  });

  test('CloudStack: the virtual router from the dhclient lease; meta-data, user-data; the password set and acknowledged', async (t) => {
    const run = await bootCloudInit('cloudstack', { userData: '#!/bin/sh\necho from-cloudstack > /ran\n', password: 'cs-Pa55word' }, [
      cfgFile('datasource_list: [CloudStack, None]\ndatasource:\n  CloudStack:\n    max_wait: 10\n    timeout: 2\n'),
      dmiFile({ 'system-product-name': 'CloudStack KVM Hypervisor', 'system-manufacturer': 'Apache Software Foundation' }),
      { path: '/var/lib/dhcp/dhclient.eth0.leases', content: dhclientLease('169.254.169.254'), mode: 0o644 },
      WGET,
    ], [['eth0', '1e:00:7a:00:00:39']]);
    t.after(run.remove);
    assert.equal(inUpper(run, 'ran'), 'from-cloudstack\n');
    assert.equal(inUpper(run, 'etc/hostname'), `${CLOUDSTACK_META_DATA['local-hostname'] as string}\n`);
    assert.match(inUpper(run, 'home/debian/.ssh/authorized_keys'), /cloudstack@test/);
    assert.equal(inUpper(run, 'var/lib/cloud/data/instance-id'), `${CLOUDSTACK_META_DATA['instance-id'] as string}\n`);
    assert.equal(cloudId(run), 'cloudstack\n');
    assert.equal(v1(run)['availability_zone'], 'zone1');
    assert.ok(hashOf(shadowHash(run, 'debian'), 'cs-Pa55word'), 'the password server\'s password is the default user\'s');
    assert.deepEqual(run.requests.filter((q) => q.headers['domu_request']).map((q) => q.headers['domu_request']), ['send_my_password', 'saved_password']);
  });

  test('Exoscale: meta-data and user-data of API 1.0; the password server at the metadata host, port 8080', async (t) => {
    const run = await bootCloudInit('exoscale', { userData: '#cloud-config\nruncmd: [[sh, -c, "echo from-exoscale > /ran"]]\n', password: 'exo-Pa55word' }, [
      cfgFile('datasource_list: [Exoscale, None]\ndatasource:\n  Exoscale:\n    metadata_url: http://169.254.169.254\n    timeout: 2\n    retries: 2\n'),
      dmiFile({ 'system-product-name': 'Exoscale Compute Platform', 'system-manufacturer': 'Exoscale' }),
    ], [['eth0', '06:6a:2c:00:00:01']]);
    t.after(run.remove);
    assert.equal(inUpper(run, 'ran'), 'from-exoscale\n');
    assert.equal(inUpper(run, 'etc/hostname'), `${EXOSCALE_META_DATA['local-hostname'] as string}\n`);
    assert.match(inUpper(run, 'home/debian/.ssh/authorized_keys'), /exoscale@test/);
    assert.equal(cloudId(run), 'exoscale\n');
    assert.equal(v1(run)['availability_zone'], 'ch-gva-2');
    assert.ok(hashOf(shadowHash(run, 'debian'), 'exo-Pa55word'), 'the password server\'s password is the default user\'s');
    assert.deepEqual(run.requests.filter((q) => q.headers['domu_request']).map((q) => `${q.path} ${q.headers['domu_request']}`),
      ['/1.0/ send_my_password', '/1.0/ saved_password']);
    assert.ok(existsSync(join(run.upper, 'var/lib/cloud/data/instance-id')));
  });

  test('AliYun (25.1): the token PUT, then user-data and meta-data with the token header; hostname, key, cloud-id', async (t) => {
    const run = await bootCloudInit('aliyun', { userData: '#cloud-config\nruncmd: [[sh, -c, "echo from-aliyun > /ran"]]\n' }, [
      cfgFile('datasource_list: [AliYun, None]\ndatasource:\n  AliYun:\n    metadata_urls: [\'http://169.254.169.254\']\n    timeout: 5\n    max_wait: 20\n'),
      dmiFile({ 'system-product-name': 'Alibaba Cloud ECS', 'system-manufacturer': 'Alibaba Cloud' }),
    ], [['eth0', '00:16:3e:14:59:58'], ['eth1', '00:16:3e:14:59:59']], trixie!.root);
    t.after(run.remove);
    assert.equal(inUpper(run, 'ran'), 'from-aliyun\n');
    assert.equal(inUpper(run, 'etc/hostname'), `${ALIYUN_META_DATA['hostname'] as string}\n`);
    assert.match(inUpper(run, 'home/debian/.ssh/authorized_keys'), /aliyun@test/);
    assert.equal(cloudId(run), 'aliyun\n');
    assert.equal(v1(run)['instance_id'], ALIYUN_META_DATA['instance-id']);
    const [first, ...rest] = run.requests;
    assert.equal(`${first!.method} ${first!.path}`, 'PUT /latest/api/token');
    assert.ok(first!.headers['x-aliyun-ecs-metadata-token-ttl-seconds']);
    assert.ok(rest.length > 0 && rest.every((q) => q.method === 'GET' && q.headers['x-aliyun-ecs-metadata-token']), 'every GET carries the token');
  });

  test('Akamai (25.1): the token PUT over IPv6 first, /v1/instance and base64 /v1/user-data; cloud-id, region; no keys from the service', async (t) => {
    const run = await bootCloudInit('akamai', { userData: '#cloud-config\nhostname: li-web\nruncmd: [[sh, -c, "echo from-akamai > /ran"]]\n' }, [
      cfgFile('datasource_list: [Akamai, None]\ndatasource:\n  Akamai:\n    base_urls: {ipv4: \'http://169.254.169.254\', ipv6: \'http://[::1]\'}\n'),
      dmiFile({ 'system-manufacturer': 'Linode', 'system-product-name': 'Standard PC (Q35 + ICH9, 2009)', 'system-serial-number': String(AKAMAI_INSTANCE.id) }),
    ], [['eth0', 'f2:3c:94:00:00:01']], trixie!.root);
    t.after(run.remove);
    assert.equal(inUpper(run, 'ran'), 'from-akamai\n');
    assert.equal(inUpper(run, 'etc/hostname'), 'li-web\n');
    assert.equal(cloudId(run), 'akamai\n');
    assert.equal(v1(run)['instance_id'], String(AKAMAI_INSTANCE.id));
    assert.equal(v1(run)['region'], AKAMAI_INSTANCE.region);
    assert.deepEqual(run.requests.map((q) => `${q.headers['host']} ${q.method} ${q.path}`), ['[::1] PUT /v1/token', '[::1] GET /v1/instance', '[::1] GET /v1/user-data']);
    // cloud-init reads no keys from the service (ec2-init reads /v1/ssh-keys: README's differences).
    assert.ok(!existsSync(join(run.upper, 'home/debian/.ssh/authorized_keys')) || !inUpper(run, 'home/debian/.ssh/authorized_keys').includes(AKAMAI_KEYS.root[0]!));
  });
});
