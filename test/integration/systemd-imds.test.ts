// Living beside systemd-imds (systemd ≥ 261; src/sources/systemd-imds.ts),
// with the built executable on throw-away roots:
//   - its varlink socket in the root: EC2 is read through it in stage init,
//     and the metadata service sees systemd-imds's client only (a stand-in
//     for systemd-imdsd, test/helpers/fake-imdsd.ts: no Debian here ships
//     systemd 261); a socket nobody answers on: the service is asked itself;
//   - its "locked" early network (a prohibit route to 169.254.169.254, the
//     route in table 0x7FFF0815 for sockets marked 0x7FFF0815), built with
//     ip in a network namespace of the test's own: ec2-init's requests carry
//     the mark where systemd-imds's network file is, and are refused without,
//     EC2's and another cloud's (DigitalOcean) alike;
//   - root's authorized_keys, which systemd writes from the key systemd-imds
//     imported only when the file is missing: ec2-init owns it (its line
//     replaces systemd's, behind disable_root's command);
//   - a JSON user-data carrying systemd.credentials (systemd-imds's format):
//     read as cloud-config, no unknown key, no unhandled part.
// Nothing reaches this machine's network: the agent runs in network
// namespaces of its own, the simulator is on 127.0.0.1 (bridged into a
// namespace where a test needs 169.254.169.254).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { AGENT, WITH_ROOT, agentAsync, cannotRun, newRoot, statusProblems } from '../helpers/agent.ts';
import { cloudRoot } from '../helpers/cloud-root.ts';
import { startDigitalOceanSimulator } from '../helpers/digitalocean-simulator.ts';
import { FAKE_IMDSD_AGENT, startFakeImdsd } from '../helpers/fake-imdsd.ts';
import { read, writeIn } from '../helpers/files.ts';
import { SKIP_REASON } from '../helpers/imds-simulator.ts';
import { simulator } from '../helpers/imds-per-test.ts';
import { needCommands } from '../helpers/needs.ts';
import { agentIn, bridge, makePair, type Pair } from '../helpers/netns.ts';

const skip = cannotRun() ?? SKIP_REASON ?? needCommands(['ip', 'socat', 'ss', 'unshare', 'python3'], 'iproute2 socat util-linux python3') ?? false;

const pairs: Pair[] = [];
after(async () => { for (const p of pairs.splice(0)) await p.close(); });

const SOCKET = 'run/systemd/io.systemd.InstanceMetadata';
const EARLY_NETWORK = 'run/systemd/network/85-imds-early.network';

/** The agent on `root` in a network namespace with nothing in it: 169.254.169.254 is unreachable, nothing leaves. */
function isolated(root: string, args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('unshare', ['--net', 'env', '-i', WITH_ROOT, root, AGENT, '--root', root, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const timer = setTimeout(() => { if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL'); }, 60_000);
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, stderr }); });
  });
}

/** GET a path of the simulator with a token, as any client would. */
function fromSimulator(port: number, path: string): Promise<string> {
  const req = (method: string, p: string, headers: Record<string, string>): Promise<string> => new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, method, path: p, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve(body));
    });
    r.on('error', reject);
    r.end();
  });
  return req('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '60' })
    .then((token) => req('GET', path, { 'X-aws-ec2-metadata-token': token }));
}

describe('beside systemd-imds (systemd ≥ 261)', { skip }, () => {

  test('its varlink socket in the root: EC2 is read through it in init, and the metadata service sees no second client', async () => {
    const sim = await simulator({ mode: 'required', userData: '#cloud-config\nwrite_files: [{path: /etc/via-imds, content: ok}]\n' });
    const root = newRoot();
    // The default endpoints (systemd-imds answers for those only); only Ec2: asked whatever DMI says.
    writeIn(root, 'etc/cloud/cloud.cfg', 'datasource_list: [Ec2]\ndatasource:\n  Ec2:\n    timeout: 1\n    max_wait: 3\n');
    const imdsd = await startFakeImdsd(join(root, SOCKET), sim.port);
    try {
      const r = await isolated(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      // init-local cannot use it (no network yet, none set up under --root): the endpoints, unreachable here.
      assert.match(r.stderr, /ec2: no metadata service answered/);
      assert.match(r.stderr, /ec2: reading through systemd-imds \(\/run\/systemd\/io\.systemd\.InstanceMetadata\)/);
      assert.match(r.stderr, /step: init datasource Ec2 RUN/);
      assert.equal(read(root, 'etc/via-imds'), 'ok');
      assert.ok(imdsd.calls.includes('/user-data') && imdsd.calls.includes('/meta-data/instance-id') && imdsd.calls.includes('/meta-data/'), imdsd.calls.join(' '));
      assert.ok(sim.requests.length > 10);
      const agents = new Set(sim.requests.map((q) => q.headers['user-agent']));
      assert.deepEqual([...agents], [FAKE_IMDSD_AGENT], 'every request at the service came from systemd-imds');
      const data = JSON.parse(read(root, 'run/cloud-init/instance-data.json')) as { v1: { subplatform: string } };
      assert.equal(data.v1.subplatform, 'metadata (systemd-imds /run/systemd/io.systemd.InstanceMetadata)');
    } finally { await imdsd.close(); }
  });

  test('a socket nobody answers on: init asks the metadata service itself', async () => {
    const pair = makePair();
    pairs.push(pair);
    const sim = await simulator({ mode: 'required', userData: '#cloud-config\n{}\n' });
    await bridge(pair, pair.serviceNs, '169.254.169.254', 80, sim.port);
    pair.exec(pair.agentNs, ['ip', 'addr', 'add', '10.9.0.2/24', 'dev', 'eth0']);
    pair.exec(pair.agentNs, ['ip', 'link', 'set', 'eth0', 'up']);
    pair.exec(pair.agentNs, ['ip', 'route', 'add', 'default', 'via', '10.9.0.1']);
    const root = newRoot();
    writeIn(root, 'etc/cloud/cloud.cfg', 'datasource_list: [Ec2]\n');
    // A socket file left behind: bound, never listened on (connections are refused).
    writeIn(root, 'run/systemd/.keep', '');
    assert.equal(spawnSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', join(root, SOCKET)]).status, 0);
    const r = await agentIn(pair, root, ['init']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /ec2: systemd-imds \(\/run\/systemd\/io\.systemd\.InstanceMetadata\) did not answer \(.*\); asking the metadata service itself/);
    assert.match(r.stderr, /ec2: read http:\/\/169\.254\.169\.254 \(IMDSv2\)/);
    assert.match(r.stderr, /step: init datasource Ec2 RUN/);
  });

  /** A namespace pair whose 169.254.169.254:80 is `port`, behind what networkd makes of 85-imds-early.network (locked). */
  async function lockedPair(port: number): Promise<Pair> {
    const pair = makePair();
    pairs.push(pair);
    await bridge(pair, pair.serviceNs, '169.254.169.254', 80, port);
    // Everyone is refused the metadata address; sockets marked 0x7FFF0815 look it up in table 0x7FFF0815, where it is on the link.
    for (const cmd of [
      ['addr', 'add', '10.9.0.2/24', 'dev', 'eth0'], ['link', 'set', 'eth0', 'up'], ['route', 'add', 'default', 'via', '10.9.0.1'],
      ['route', 'add', 'prohibit', '169.254.169.254'],
      ['route', 'add', '169.254.169.254', 'dev', 'eth0', 'scope', 'link', 'table', String(0x7fff0815)],
      ['rule', 'add', 'fwmark', String(0x7fff0815), 'table', String(0x7fff0815)],
    ]) assert.equal(pair.exec(pair.agentNs, ['ip', ...cmd]).status, 0, cmd.join(' '));
    return pair;
  }
  const EARLY_NETWORK_FILE = '[Match]\nType=ether\nKind=!*\n\n[Network]\nDHCP=yes\n\n[Route]\nDestination=169.254.169.254\nType=prohibit\n';

  test('its locked early network: ec2-init\'s requests carry the mark 0x7FFF0815, and without it the service is refused', async () => {
    const sim = await simulator({ mode: 'required', userData: '#cloud-config\n{}\n' });
    const pair = await lockedPair(sim.port);
    const cfg = 'datasource_list: [Ec2]\ndatasource:\n  Ec2:\n    timeout: 1\n    max_wait: 2\n';

    const without = newRoot();
    writeIn(without, 'etc/cloud/cloud.cfg', cfg);
    const refused = await agentIn(pair, without, ['init', '--local']);
    assert.equal(refused.status, 0, refused.stderr);
    assert.match(refused.stderr, /ec2: no metadata service answered .*http:\/\/169\.254\.169\.254: .*(EACCES|permission denied)/i);
    assert.equal(sim.requests.length, 0, 'the prohibit route refused it: nothing reached the service');

    const marked = newRoot();
    writeIn(marked, 'etc/cloud/cloud.cfg', cfg);
    writeIn(marked, EARLY_NETWORK, EARLY_NETWORK_FILE);
    const r = await agentIn(pair, marked, ['init', '--local']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /step: init-local datasource Ec2 RUN/);
    assert.ok(sim.requests.length > 10, 'read through table 0x7FFF0815');
  });

  test('its locked early network: another cloud\'s requests (DigitalOcean) carry the mark too', async () => {
    const sim = await startDigitalOceanSimulator({ userData: '#cloud-config\n{}\n' });
    try {
      const pair = await lockedPair(sim.port);
      const cfg = 'datasource_list: [DigitalOcean]\ndatasource:\n  DigitalOcean:\n    retries: 0\n    timeout: 1\n';
      const dmi = { sys_vendor: 'DigitalOcean', product_serial: '22532410' };
      const without = cloudRoot({ dmi, config: cfg });
      const refused = await agentIn(pair, without, ['init', '--local'], {}, { ownDmi: true });
      assert.equal(refused.status, 0, refused.stderr);
      assert.match(refused.stderr, /datasource DigitalOcean: http:\/\/169\.254\.169\.254\/metadata\/v1\.json: .*(EACCES|permission denied)/i);
      assert.equal(sim.requests.length, 0, 'the prohibit route refused it: nothing reached the service');
      const marked = cloudRoot({ dmi, config: cfg });
      writeIn(marked, EARLY_NETWORK, EARLY_NETWORK_FILE);
      const r = await agentIn(pair, marked, ['init', '--local'], {}, { ownDmi: true });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /step: init-local datasource DigitalOcean RUN/);
      assert.deepEqual(sim.requests.map((q) => q.path), ['/metadata/v1.json'], 'read through table 0x7FFF0815');
    } finally { await sim.close(); }
  });

  test('root\'s authorized_keys has one owner: ec2-init\'s line replaces the one systemd wrote from systemd-imds\'s credential', async () => {
    const sim = await simulator({ mode: 'required', userData: null });
    const key = (await fromSimulator(sim.port, '/latest/meta-data/public-keys/0/openssh-key')).trim();
    assert.match(key, /^ssh-rsa AAAA/);
    const base64 = key.split(/\s+/)[1]!;
    for (const disableRoot of [true, false]) {
      const root = newRoot();
      writeIn(root, 'etc/cloud/cloud.cfg', `datasource_list: [Ec2]\ndatasource:\n  Ec2:\n    metadata_urls: ['${sim.url}']\n    timeout: 1\n    max_wait: 5\n` +
        `disable_root: ${disableRoot}\n`);
      // What systemd-imds --import and tmpfiles' `f^ /root/.ssh/authorized_keys … ssh.authorized_keys.root` leave before ec2-init runs.
      writeIn(root, 'run/credstore/ssh.authorized_keys.root', `${key}\n`, 0o400);
      writeIn(root, 'root/.ssh/authorized_keys', `${key}\n`, 0o600);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      const lines = read(root, 'root/.ssh/authorized_keys').split('\n').filter((l) => l.includes(base64));
      assert.equal(lines.length, 1, `one line for the key, not two owners' copies:\n${lines.join('\n')}`);
      if (disableRoot) assert.match(lines[0]!, /^no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command="echo 'Please login as the user/);
      else assert.equal(lines[0], key);
      // A later boot (a reboot: the file exists, so systemd's f^ leaves it) does not change it.
      const once = read(root, 'root/.ssh/authorized_keys');
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      assert.equal(read(root, 'root/.ssh/authorized_keys'), once);
    }
  });

  test('a JSON user-data with systemd.credentials (systemd-imds\'s format) is read as cloud-config, with no unknown key', async () => {
    const credentials = [{ name: 'ec2-init.test', text: 'for systemd' }];
    for (const [name, userData] of [
      ['bare JSON', JSON.stringify({ 'systemd.credentials': credentials, write_files: [{ path: '/etc/from-json', content: 'applied by ec2-init' }] })],
      ['after #systemd-userdata', `#systemd-userdata\n${JSON.stringify({ 'systemd.credentials': credentials, write_files: [{ path: '/etc/from-json', content: 'applied by ec2-init' }] }, null, 2)}\n`],
    ] as const) {
      const sim = await simulator({ mode: 'required', userData });
      const root = newRoot();
      writeIn(root, 'etc/cloud/cloud.cfg', `datasource_list: [Ec2]\ndatasource:\n  Ec2:\n    metadata_urls: ['${sim.url}']\n    timeout: 1\n    max_wait: 5\n`);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
      assert.equal(read(root, 'etc/from-json'), 'applied by ec2-init', name);
      assert.deepEqual(statusProblems(root), [], name);
      await sim.close();
    }
    // The schema command knows the key and checks its entries as systemd-imds does (a name each).
    const dir = newRoot();
    writeFileSync(join(dir, 'good.json'), JSON.stringify({ 'systemd.credentials': credentials }));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ 'systemd.credentials': [{ text: 'no name' }] }));
    const good = spawnSync(AGENT, ['schema', '--config-file', join(dir, 'good.json')], { encoding: 'utf8' });
    assert.equal(good.status, 0, good.stdout + good.stderr);
    const bad = spawnSync(AGENT, ['schema', '--config-file', join(dir, 'bad.json')], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stdout + bad.stderr, /systemd\.credentials\.0: .*name/);
    // Without systemd.credentials a JSON object is what it is for cloud-init: not cloud-config.
    const sim = await simulator({ mode: 'required', userData: JSON.stringify({ write_files: [{ path: '/etc/from-json', content: 'x' }] }) });
    const plain = newRoot();
    writeIn(plain, 'etc/cloud/cloud.cfg', `datasource_list: [Ec2]\ndatasource:\n  Ec2:\n    metadata_urls: ['${sim.url}']\n`);
    await agentAsync(plain, ['boot']);
    assert.ok(statusProblems(plain).some((p) => /text\/x-not-multipart|not handled|unhandled/i.test(p)), statusProblems(plain).join('\n'));
  });
});
