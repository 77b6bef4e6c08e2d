// The configuration-management bootstraps (puppet, chef, salt_minion,
// ansible) and wireguard on a copy of a real Debian bookworm root: the built
// executable boots it with a local apt repository of small stand-in packages
// (helpers/apt/stand-ins.ts, built here with dpkg-deb: chef and salt are not in Debian 12, and the real
// puppet pulls in Ruby), installed by the root's own apt-get and dpkg. Checked
// as a user would: the packages dpkg has, the files cloud-init writes with
// their modes, owners and bytes, the units systemctl enabled, the secrets
// 0600 and absent from the log, the values that would inject a line refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cannotBootWithRepo, flatRepo, makeKey, stopAgent, type Package, type SigningKey } from '../helpers/apt/repo.ts';
import { PUPPET_CONF, STAND_INS } from '../helpers/apt/stand-ins.ts';
import { baseRoot } from '../helpers/package/root.ts';
import { mode, read, writeIn } from '../helpers/files.ts';
import { AGENT } from '../helpers/agent.ts';

const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

const skip = cannotBootWithRepo();
if (skip) console.log(`# modules-config-mgmt: skipped: ${skip}`);

const PACKAGES: Package[] = Object.values(STAND_INS);

const CA = '-----BEGIN CERTIFICATE-----\nMIICCTCCAXKgAwIBAgIBATANBgkqhkiG9w0BAQUFADANMQswCQYDVQQDDAJjYTAe\n-----END CERTIFICATE-----\n';
const SALT_PEM = '-----BEGIN PRIVATE KEY-----\nc2FsdC1taW5pb24tcHJpdmF0ZS1rZXktZm9yLXRlc3Rz\n-----END PRIVATE KEY-----\n';
const CHEF_PEM = '-----BEGIN RSA PRIVATE KEY-----\nY2hlZi12YWxpZGF0aW9uLWtleS1mb3ItdGVzdHM=\n-----END RSA PRIVATE KEY-----\n';
const WG_CONF = '[Interface]\nPrivateKey = d2lyZWd1YXJkLXByaXZhdGUta2V5LWZvci10ZXN0cw==\nAddress = 10.8.0.2/24\n';

const USER_DATA = `#cloud-config
puppet:
  csr_attributes:
    custom_attributes:
      1.2.840.113549.1.9.7: 342thbjkt82094y0uthhor289jnqthpc2290
    extension_requests:
      pp_uuid: ED803750-E3C7-44F5-BB08-41A04433FE2E
      pp_image_name: my_ami_image
  conf:
    agent:
      server: puppetserver.example.org
      certname: "%i.%f"
      "bad\\nkey": x
    main:
      runinterval: 1800
      usecacheonfailure: false
      evil: "x\\n[master]\\nserver = attacker"
    ca_cert: |
${CA.trimEnd().split('\n').map((l) => `      ${l}`).join('\n')}
chef:
  server_url: https://chef.example.org:4000
  validation_name: example-validator
  validation_cert: |
${CHEF_PEM.trimEnd().split('\n').map((l) => `    ${l}`).join('\n')}
  environment: 'prod" ; system("id") ; "'
  run_list: ['recipe[apache2]', 'role[db]']
  initial_attributes:
    apache:
      keepalive: false
      prefork: {maxclients: 100}
salt_minion:
  conf:
    master: salt.example.org
    fileserver_backend: [gitfs]
  grains:
    role: [web]
  public_key: |
    -----BEGIN PUBLIC KEY-----
    c2FsdC1wdWJsaWM=
    -----END PUBLIC KEY-----
  private_key: |
${SALT_PEM.trimEnd().split('\n').map((l) => `    ${l}`).join('\n')}
wireguard:
  interfaces:
    - name: wg0
      config_path: /etc/wireguard/wg0.conf
      content: |
${WG_CONF.trimEnd().split('\n').map((l) => `        ${l}`).join('\n')}
ansible:
  install_method: distro
  package_name: ansible
  pull:
    url: https://git.example.org/site.git
    playbook_name: site.yml
`;

let key: SigningKey;
let fixtures: string;
let root = '';
let dir = '';
let log = '';
let result: { errors: string[]; warnings: string[] } = { errors: [], warnings: [] };

function removeDir(d: string): void {
  const r = resolve(d);
  if (!r.startsWith(tmpdir() + '/ec2-init-')) throw new Error(`not a throw-away dir: ${d}`);
  rmSync(r, { recursive: true, force: true });
}

function chroot(argv: string[]): string {
  return spawnSync('unshare', ['--net', '--', 'chroot', root, ...argv], { encoding: 'utf8', env: { PATH, LC_ALL: 'C.UTF-8' }, timeout: 60_000 }).stdout;
}
const installed = (name: string) => /^install ok installed/.test(chroot(['dpkg-query', '-W', '-f', '${Status}', name]));

describe('configuration management and wireguard on a Debian root, from its own apt', { skip: skip || false }, () => {
  before(() => {
    key = makeKey();
    fixtures = mkdtempSync(join(tmpdir(), 'ec2-init-cm-fixtures-'));
    flatRepo(join(fixtures, 'repo'), key, PACKAGES);
    dir = mkdtempSync(join(tmpdir(), 'ec2-init-cmtest-'));
    root = join(dir, 'root');
    const cp = spawnSync('cp', ['-a', baseRoot(), root], { encoding: 'utf8', timeout: 300_000 });
    if (cp.status !== 0) throw new Error(`cp: ${cp.stderr}`);
    spawnSync('chmod', ['755', root]);
    cpSync(join(fixtures, 'repo'), join(root, 'srv/repo'), { recursive: true });
    // The image's apt has the repository (wireguard runs before apt_configure, as in cloud-init).
    writeIn(root, 'etc/apt/sources.list', 'deb [trusted=yes] file:/srv/repo ./\n');
    writeIn(root, 'var/lib/cloud/seed/nocloud/meta-data', 'instance-id: iid-cm-1\nlocal-hostname: cm-host.example.org\n');
    writeIn(root, 'var/lib/cloud/seed/nocloud/user-data', USER_DATA);
    const r = spawnSync('unshare', ['--mount', '--net', '--pid', '--fork', '--kill-child', '--', '/bin/sh', '-c',
      'set -e; mount -t proc proc "$1/proc"; exec env -i "$2" --root "$1" boot', 'boot', root, AGENT], { encoding: 'utf8', env: { PATH }, timeout: 600_000 });
    log = read(root, 'var/log/ec2-init.log');
    const json = JSON.parse(read(root, 'var/lib/cloud/data/result.json')) as { v1: { errors: string[]; recoverable_errors: string[] } };
    result = { errors: json.v1.errors, warnings: json.v1.recoverable_errors };
    if (r.status === null) throw new Error(`boot did not end: ${r.stderr}`);
  });
  after(() => {
    if (process.env["KEEP"]) return;
    if (key) stopAgent(key);
    for (const d of [key?.home, fixtures, dir]) if (d) removeDir(d);
  });

  test('every package was installed by the root\'s apt (puppet-agent is not there: puppet was)', () => {
    for (const p of ['puppet', 'chef', 'salt-minion', 'wireguard-tools', 'ansible']) assert.ok(installed(p), `${p} is not installed`);
    assert.match(log, /puppet-agent/);
  });

  test('puppet.conf: the sections merged in (sorted, as cloud-init reads them back) as ConfigParser writes them, the original kept as .old, bad entries refused', () => {
    assert.equal(read(root, 'etc/puppet/puppet.conf'), '[main]\nssldir = /var/lib/puppet/ssl\nruninterval = 1800\nusecacheonfailure = False\n\n'
      + '[master]\nvardir = /var/lib/puppet\ncadir = /var/lib/puppet/ssl/ca\ndns_alt_names = puppet\n\n'
      + '[agent]\ncertname = iid-cm-1.cm-host.example.org\nserver = puppetserver.example.org\n\n');
    assert.equal(read(root, 'etc/puppet/puppet.conf.old'), PUPPET_CONF);
    const errs = result.errors.join('\n');
    assert.match(errs, /puppet\.conf\.main\.'evil': .*one line/);
    assert.match(errs, /puppet\.conf\.agent\.'bad\\nkey'/);
  });

  test('puppet: ca.pem in the ssl dir owned by puppet, csr_attributes.yaml as PyYAML dumps it, 0600; the service enabled', () => {
    const uid = Number(/^puppet:x:(\d+):/m.exec(read(root, 'etc/passwd'))![1]);
    const ssl = lstatSync(join(root, 'var/lib/puppet/ssl'));
    assert.equal(ssl.mode & 0o7777, 0o771);
    assert.equal(ssl.uid, uid);
    assert.equal(read(root, 'var/lib/puppet/ssl/certs/ca.pem'), CA);
    assert.equal(lstatSync(join(root, 'var/lib/puppet/ssl/certs/ca.pem')).uid, uid);
    assert.equal(read(root, 'etc/puppet/csr_attributes.yaml'), 'custom_attributes:\n  1.2.840.113549.1.9.7: 342thbjkt82094y0uthhor289jnqthpc2290\n'
      + 'extension_requests:\n  pp_image_name: my_ami_image\n  pp_uuid: ED803750-E3C7-44F5-BB08-41A04433FE2E\n');
    assert.equal(mode(root, 'etc/puppet/csr_attributes.yaml'), 0o600);
    assert.equal(readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/puppet.service')), '/lib/systemd/system/puppet.service');
    assert.match(log, /skipped with --root .*: run systemctl .*\(start puppet\.service\)/);
  });

  test('chef: client.rb as the template renders it, the Ruby-breaking value left out; firstboot.json as json.dumps; the key 0600', () => {
    const rb = read(root, 'etc/chef/client.rb').split('\n');
    // cloud-init's make_header: the time of writing.
    assert.match(rb[0]!, /^# Created by ec2-init v\. \S+ on \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000$/);
    assert.deepEqual(rb.slice(1), [
      'log_level              :info', 'ssl_verify_mode        :verify_none', 'log_location           "/var/log/chef/client.log"',
      'validation_client_name "example-validator"', 'validation_key         "/etc/chef/validation.pem"', 'client_key             "/etc/chef/client.pem"',
      'chef_server_url        "https://chef.example.org:4000"', 'node_name              "iid-cm-1"', 'json_attribs           "/etc/chef/firstboot.json"',
      'file_cache_path        "/var/chef/cache"', 'file_backup_path       "/var/chef/backup"', 'pid_file               "/var/run/chef/client.pid"',
      'Chef::Log::Formatter.show_time = true', '', '',
    ]);
    assert.match(result.errors.join('\n'), /chef\.environment: .*without "/);
    assert.equal(read(root, 'etc/chef/firstboot.json'), '{"run_list": ["recipe[apache2]", "role[db]"], "apache": {"keepalive": false, "prefork": {"maxclients": 100}}}');
    assert.equal(read(root, 'etc/chef/validation.pem'), CHEF_PEM);
    assert.equal(mode(root, 'etc/chef/validation.pem'), 0o600);
    for (const d of ['var/log/chef', 'var/lib/chef', 'var/chef/cache', 'var/chef/backup']) assert.ok(lstatSync(join(root, d)).isDirectory(), d);
  });

  test('salt_minion: minion and grains as safeyaml.dumps writes them, the key pair with its modes, the minion enabled', () => {
    assert.equal(read(root, 'etc/salt/minion'), '---\nfileserver_backend:\n- gitfs\nmaster: salt.example.org\n...\n');
    assert.equal(read(root, 'etc/salt/grains'), '---\nrole:\n- web\n...\n');
    assert.equal(mode(root, 'etc/salt/pki'), 0o700);
    assert.equal(mode(root, 'etc/salt/pki/minion.pem'), 0o600);
    assert.equal(mode(root, 'etc/salt/pki/minion.pub'), 0o644);
    assert.equal(read(root, 'etc/salt/pki/minion.pem'), SALT_PEM);
    assert.ok(lstatSync(join(root, 'etc/systemd/system/multi-user.target.wants/salt-minion.service')).isSymbolicLink());
  });

  test('wireguard: the interface 0600 and wg-quick@wg0 enabled; bringing it up left to the running system', () => {
    assert.equal(read(root, 'etc/wireguard/wg0.conf'), WG_CONF);
    assert.equal(mode(root, 'etc/wireguard/wg0.conf'), 0o600);
    assert.ok(lstatSync(join(root, 'etc/systemd/system/multi-user.target.wants/wg-quick@wg0.service')).isSymbolicLink());
    assert.match(log, /skipped with --root .*: run modprobe .*\(load the wireguard kernel module\)/);
  });

  test('ansible: installed, its pull left for the running system; no secret in the log', () => {
    assert.match(log, /skipped with --root .*: run ansible-pull .*\(the ansible version, for pull 1\)/);
    for (const secret of ['c2FsdC1taW5pb24tcHJpdmF0ZS1rZXktZm9yLXRlc3Rz', 'Y2hlZi12YWxpZGF0aW9uLWtleS1mb3ItdGVzdHM', 'd2lyZWd1YXJkLXByaXZhdGUta2V5', '342thbjkt82094y0uthhor289jnqthpc2290']) {
      assert.ok(!log.includes(secret), `the log holds ${secret}`);
      assert.ok(!readFileSync(join(root, 'var/log/ec2-init-output.log'), 'utf8').includes(secret), `the output log holds ${secret}`);
    }
  });
});
