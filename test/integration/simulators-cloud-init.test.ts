// The cloud simulators against cloud-init itself: Debian's cloud-init (the
// compare image, test/helpers/compare/image.ts) boots on a copy of its image
// in a network namespace where the simulator (test/helpers/sim-cli.ts) serves
// on the namespace's own 127.0.0.1, and must get from it what ec2-init's boot
// tests (sources-<cloud>.test.ts) get from the same simulator: the user-data
// run, the hostname, the default user's key, the cloud-id, the password of a
// password server — so the simulators are services cloud-init reads as the
// clouds' own, not shapes only ec2-init understands.
//
// Debian 12's cloud-init 22.4 has UpCloud, CloudStack and Exoscale as
// cloud-init 25/26 reads them (paths, headers, the password server); its
// AliYun sends EC2's token headers (Aliyun's own came in 24.x), it has no
// Akamai, and Scaleway reads only in init-local over its own DHCP, so those
// three are not checked here. DMI comes from a dmidecode in the copy (this
// machine has no /sys/class/dmi, so cloud-init asks dmidecode). Stage
// init-local is not run (its ephemeral DHCP would wait for a server that
// is not there); init reads the network datasources.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hashOf } from '../helpers/cloud-root.ts';
import { CLOUDSTACK_META_DATA, dhclientLease } from '../helpers/cloudstack-simulator.ts';
import { reference } from '../helpers/compare/image.ts';
import { boot, makeCopy, removeCopy, type Placed } from '../helpers/compare/sandbox.ts';
import { EXOSCALE_META_DATA } from '../helpers/exoscale-simulator.ts';
import { unavailable } from '../helpers/needs.ts';
import { TOP } from '../helpers/paths.ts';
import { UPCLOUD_NICS, UPCLOUD_UUID } from '../helpers/upcloud-simulator.ts';

const ref = await reference();
const skip = typeof ref === 'string' ? unavailable(ref) : undefined;

/** dmidecode as cloud-init calls it (`dmidecode --string KEYWORD`), answering the cloud's DMI. */
function dmidecode(fields: Record<string, string>): string {
  const cases = Object.entries(fields).map(([k, v]) => `  ${k}) echo '${v}';;`).join('\n');
  return `#!/bin/sh\n# a test's stand-in: the DMI of a machine on the simulated cloud\ncase "$2" in\n${cases}\n  *) echo '';;\nesac\n`;
}

interface Run {
  upper: string;
  out: string;
  requests: { server: string; method: string; path: string; headers: Record<string, string> }[];
  output: string;
  /** Remove the copy (kept with EC2_INIT_COMPARE_KEEP=1). */
  remove(): void;
}

/** cloud-init's boot (init, config, final) against `cloud`'s simulator, both in one namespace. */
async function bootCloudInit(cloud: string, options: unknown, files: Placed[], nics: [string, string][]): Promise<Run> {
  if (typeof ref === 'string') throw new Error(ref);
  const copy = makeCopy(ref.root, files);
  writeFileSync(join(copy.dir, 'options.json'), JSON.stringify(options));
  const d = copy.dir;
  const r = copy.root;
  try {
    const result = await boot(copy, [
      ['ip link set lo up', ...nics.map(([name, mac], i) => `ip link add ${name} type veth peer name peer${i} && ip link set ${name} address ${mac} && ip link set peer${i} up && ip link set ${name} up`)].join(' && '),
      `${process.execPath} ${join(TOP, 'test/helpers/sim-cli.ts')} ${cloud} ${d} >${d}/sim.log 2>&1 & for i in $(seq 100); do [ -e ${d}/ready ] && exit 0; sleep 0.1; done; cat ${d}/sim.log; exit 1`,
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

const cfgFile = (text: string): Placed => ({ path: '/etc/cloud/cloud.cfg.d/99-simulator.cfg', content: text, mode: 0o644 });
const dmiFile = (fields: Record<string, string>): Placed => ({ path: '/usr/local/sbin/dmidecode', content: dmidecode(fields), mode: 0o755 });

describe(`cloud-init ${typeof ref === 'string' ? '' : ref.cloudInitVersion} reads the cloud simulators as ec2-init does`, { skip }, () => {
  test('UpCloud: metadata/v1.json gives user-data, vendor-data, hostname, key, cloud-id and region', async (t) => {
    const run = await bootCloudInit('upcloud', {
      userData: '#cloud-config\nruncmd: [[sh, -c, "echo from-upcloud > /ran"]]\n',
      vendorData: '#cloud-config\nwrite_files: [{path: /etc/from-vendor, content: v}]\n',
    }, [
      cfgFile('datasource_list: [UpCloud, None]\ndatasource:\n  UpCloud:\n    metadata_url: http://127.0.0.1/metadata/v1.json\n    retries: 2\n    timeout: 2\n    wait_retry: 1\n'),
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
      { path: '/var/lib/dhcp/dhclient.eth0.leases', content: dhclientLease('127.0.0.1'), mode: 0o644 },
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
    assert.deepEqual(run.requests.filter((q) => q.server === 'password').map((q) => q.headers['domu_request']), ['send_my_password', 'saved_password']);
  });

  test('Exoscale: meta-data and user-data of API 1.0; the password server at the metadata host, port 8080', async (t) => {
    const run = await bootCloudInit('exoscale', { userData: '#cloud-config\nruncmd: [[sh, -c, "echo from-exoscale > /ran"]]\n', password: 'exo-Pa55word' }, [
      cfgFile('datasource_list: [Exoscale, None]\ndatasource:\n  Exoscale:\n    metadata_url: http://127.0.0.1\n    timeout: 2\n    retries: 2\n'),
      dmiFile({ 'system-product-name': 'Exoscale Compute Platform', 'system-manufacturer': 'Exoscale' }),
    ], [['eth0', '06:6a:2c:00:00:01']]);
    t.after(run.remove);
    assert.equal(inUpper(run, 'ran'), 'from-exoscale\n');
    assert.equal(inUpper(run, 'etc/hostname'), `${EXOSCALE_META_DATA['local-hostname'] as string}\n`);
    assert.match(inUpper(run, 'home/debian/.ssh/authorized_keys'), /exoscale@test/);
    assert.equal(cloudId(run), 'exoscale\n');
    assert.equal(v1(run)['availability_zone'], 'ch-gva-2');
    assert.ok(hashOf(shadowHash(run, 'debian'), 'exo-Pa55word'), 'the password server\'s password is the default user\'s');
    assert.deepEqual(run.requests.filter((q) => q.server === 'password').map((q) => `${q.path} ${q.headers['domu_request']}`),
      ['/1.0/ send_my_password', '/1.0/ saved_password']);
    assert.ok(existsSync(join(run.upper, 'var/lib/cloud/data/instance-id')));
  });
});
