// The system modules (hostname, /etc/hosts, timezone, locale,
// ntp, ca_certs, final_message, power_state, phone_home) through the built
// executable on throw-away roots — and, with --root, nothing on this machine.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waiterScript } from '../../src/modules/power_state.ts';
import { CONFORMANCE, TOP } from '../helpers/paths.ts';
import { mode, read, writeIn } from '../helpers/files.ts';
import { AGENT, agent, agentAsync, cannotRun, moduleProblems, newRoot, seed, WITH_ROOT } from '../helpers/agent.ts';
import { needFile } from '../helpers/needs.ts';

const skip = cannotRun();

const META = 'instance-id: iid-sys-1\nlocal-hostname: web1.example.org\n';
const EXAMPLES = join(CONFORMANCE, 'cloud-init', 'module-examples');

interface Status { status: string; errors: string[]; recoverable_errors: string[] }
/** The boot's outcome (status) and every problem of every stage (result.json, written at the end of final). */
function status(root: string): Status {
  const r = agent(root, ['status', '--format', 'json']);
  const json = JSON.parse(r.stdout) as { status: string };
  const result = JSON.parse(read(root, 'var/lib/cloud/data/result.json')) as { v1: { errors: string[]; recoverable_errors: string[] } };
  return { status: json.status, errors: result.v1.errors, recoverable_errors: result.v1.recoverable_errors };
}
/** The problems a module reported (errors and warnings). */
const problemsOf = moduleProblems;
const log = (root: string) => read(root, 'var/log/ec2-init.log');
// The test roots get this machine's /usr: a test that needs a program of a package
// skips, naming it, when it is missing (a failure under CI: test/helpers/needs.ts).

function boot(userData: string, opts: { meta?: string; prep?: (root: string) => void } = {}): { root: string; code: number | null; stderr: string } {
  const root = newRoot();
  opts.prep?.(root);
  seed(root, opts.meta ?? META, userData);
  const r = agent(root, ['boot']);
  return { root, code: r.status, stderr: r.stderr };
}

describe('system modules on a throw-away root', { skip: skip ?? false }, () => {
  let hostBefore = '';
  before(() => { hostBefore = hostname(); });
  after(() => {
    // Nothing here may touch the running system: its hostname is what it was.
    assert.equal(hostname(), hostBefore);
    assert.equal(spawnSync('hostname', { encoding: 'utf8' }).stdout.trim(), hostBefore);
  });

  describe('set_hostname / update_hostname', () => {
    test('local-hostname from the datasource: /etc/hostname, never the running system', () => {
      const { root, code } = boot('#cloud-config\n{}\n');
      assert.equal(code, 0);
      assert.equal(read(root, 'etc/hostname'), 'web1\n');
      assert.equal(mode(root, 'etc/hostname'), 0o644);
      assert.deepEqual(JSON.parse(read(root, 'var/lib/cloud/data/set-hostname')), { hostname: 'web1', fqdn: 'web1.example.org' });
      assert.equal(read(root, 'var/lib/cloud/data/previous-hostname'), 'web1\n');
      assert.match(log(root), /module set_hostname: skipped with --root .*: run hostname .*\(hostname web1\)/);
      assert.equal(hostname(), hostBefore);
      assert.deepEqual(problemsOf(root, 'set_hostname'), []);
    });

    test('hostname and fqdn from user-data; prefer_fqdn_over_hostname writes the fqdn', () => {
      const short = boot('#cloud-config\nhostname: myhost\nfqdn: myhost.example.com\n');
      assert.equal(read(short.root, 'etc/hostname'), 'myhost\n');
      const long = boot('#cloud-config\nhostname: myhost\nfqdn: myhost.example.com\nprefer_fqdn_over_hostname: true\n');
      assert.equal(read(long.root, 'etc/hostname'), 'myhost.example.com\n');
      assert.equal(long.code, 0, long.stderr);
      const dotted = boot('#cloud-config\nhostname: db2.internal.example\n');
      assert.equal(read(dotted.root, 'etc/hostname'), 'db2\n');
      assert.deepEqual(JSON.parse(read(dotted.root, 'var/lib/cloud/data/set-hostname')), { hostname: 'db2', fqdn: 'db2.internal.example' });
    });

    test('an IPv4 local-hostname becomes ip-a-b-c-d; comments in /etc/hostname are kept', () => {
      const { root } = boot('#cloud-config\n{}\n', {
        meta: 'instance-id: iid-ip\nlocal-hostname: 10.1.2.3\n',
        prep: (r) => writeIn(r, 'etc/hostname', '# the image name\nimage-builder\n'),
      });
      assert.equal(read(root, 'etc/hostname'), '# the image name\nip-10-1-2-3\n');
    });

    test('preserve_hostname leaves /etc/hostname alone; create_hostname_file: false does not create it', () => {
      const kept = boot('#cloud-config\npreserve_hostname: true\nhostname: other\n', { prep: (r) => writeIn(r, 'etc/hostname', 'keepme\n') });
      assert.equal(read(kept.root, 'etc/hostname'), 'keepme\n');
      assert.ok(!existsSync(join(kept.root, 'var/lib/cloud/data/set-hostname')));
      const none = boot('#cloud-config\ncreate_hostname_file: false\nhostname: nofile\n');
      assert.ok(!existsSync(join(none.root, 'etc/hostname')));
      assert.equal(none.code, 0);
      assert.deepEqual(status(none.root), { status: 'done', errors: [], recoverable_errors: [] });
    });

    test('no name anywhere: localhost is left to the system', () => {
      const { root, code } = boot('#cloud-config\n{}\n', { meta: 'instance-id: iid-noname\n' });
      assert.equal(code, 0);
      assert.ok(!existsSync(join(root, 'etc/hostname')));
    });

    test('with root /, the running system gets the name too (the agent chrooted, in a private UTS namespace)', () => {
      const root = newRoot();
      seed(root, 'instance-id: iid-slash\nlocal-hostname: slashhost.example.org\n', '#cloud-config\n{}\n');
      writeFileSync(join(root, 'ec2-init'), '');
      // Inside its own UTS namespace, the agent runs with --root / in a chroot: its
      // `hostname` call can only rename that namespace, never this machine.
      const r = spawnSync('env', ['-i', WITH_ROOT, root, 'unshare', '--uts', '/bin/sh', '-c',
        'mount --bind "$2" "$1/ec2-init" && hostname before-boot && chroot "$1" /ec2-init boot >/dev/null 2>&1; echo "exit $?"; hostname',
        'sh', root, AGENT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
      assert.equal(r.stdout, 'exit 0\nslashhost\n', r.stderr);
      assert.equal(read(root, 'etc/hostname'), 'slashhost\n');
      assert.doesNotMatch(log(root), /skipped with --root/);
      assert.equal(hostname(), hostBefore);
    });

    test('update_hostname, every boot: follows a new name, but a hostname the user changed wins', () => {
      const { root } = boot('#cloud-config\n{}\n');
      assert.equal(read(root, 'etc/hostname'), 'web1\n');
      // Same instance, the datasource now says web2: update_hostname follows (set_hostname ran already).
      seed(root, 'instance-id: iid-sys-1\nlocal-hostname: web2.example.org\n', '#cloud-config\n{}\n');
      assert.equal(agent(root, ['boot']).status, 0);
      assert.equal(read(root, 'etc/hostname'), 'web2\n');
      assert.equal(read(root, 'var/lib/cloud/data/previous-hostname'), 'web2\n');
      // The user renames the machine: the next boot keeps their name.
      writeFileSync(join(root, 'etc/hostname'), 'mine\n');
      seed(root, 'instance-id: iid-sys-1\nlocal-hostname: web3.example.org\n', '#cloud-config\n{}\n');
      assert.equal(agent(root, ['boot']).status, 0);
      assert.equal(read(root, 'etc/hostname'), 'mine\n');
      assert.match(log(root), /assuming a user-maintained hostname/);
    });
  });

  describe('update_etc_hosts', () => {
    test('manage_etc_hosts: true renders the Debian template with fqdn and hostname', () => {
      const { root } = boot('#cloud-config\nmanage_etc_hosts: true\nfqdn: app.example.net\n', { prep: (r) => writeIn(r, 'etc/hosts', '10.0.0.9 old\n') });
      const hosts = read(root, 'etc/hosts');
      assert.match(hosts, /^127\.0\.1\.1 app\.example\.net app$/m);
      assert.match(hosts, /^127\.0\.0\.1 localhost$/m);
      assert.match(hosts, /^::1 localhost ip6-localhost ip6-loopback$/m);
      assert.doesNotMatch(hosts, /old/);
      assert.equal(mode(root, 'etc/hosts'), 0o644);
    });

    test("the root's /etc/cloud/templates/hosts.debian.tmpl wins over the built-in one", () => {
      const { root } = boot('#cloud-config\nmanage_etc_hosts: true\n', {
        prep: (r) => writeIn(r, 'etc/cloud/templates/hosts.debian.tmpl', '## template:jinja\n{# mine #}\n192.0.2.1 {{fqdn}} {{hostname}} # custom\n'),
      });
      assert.equal(read(root, 'etc/hosts'), '192.0.2.1 web1.example.org web1 # custom\n');
    });

    test("manage_etc_hosts: localhost keeps the other lines and adds 127.0.1.1 once", () => {
      const before = '# my hosts\n127.0.0.1 localhost\n127.0.1.1 stale.example stale\n10.0.0.5   db   # the database\n';
      const { root } = boot('#cloud-config\nmanage_etc_hosts: localhost\n', { prep: (r) => writeIn(r, 'etc/hosts', before) });
      // cloud-init keeps the old 127.0.1.1 names (moved last, before the new line) and writes the
      // file followed by one more newline: it ends in a blank line.
      assert.equal(read(root, 'etc/hosts'), '# my hosts\n127.0.0.1\tlocalhost\n10.0.0.5\tdb# the database\n127.0.1.1\tstale.example\tstale\n127.0.1.1\tweb1.example.org\tweb1\n\n');
      // Every boot; already right: unchanged.
      const first = read(root, 'etc/hosts');
      assert.equal(agent(root, ['boot']).status, 0);
      assert.equal(read(root, 'etc/hosts'), first);
    });

    test('manage_etc_hosts: localhost on a root without /etc/hosts creates it with a header', () => {
      const { root } = boot('#cloud-config\nmanage_etc_hosts: localhost\n');
      assert.match(read(root, 'etc/hosts'), /^# Added by ec2-init v\. \S+ on \w{3}, \d\d \w{3} \d{4} [\d:]{8} \+0000\n127\.0\.1\.1\tweb1\.example\.org\tweb1\n\n$/);
    });

    test('manage_etc_hosts: localhost, then a script appends a line: the file is the one cloud-init leaves', () => {
      const script = '#!/bin/sh\necho "10.1.1.1 appended" >> /etc/hosts\n';
      const mime = ['Content-Type: multipart/mixed; boundary="B"', 'MIME-Version: 1.0', '', '--B',
        'Content-Type: text/cloud-config', '', '#cloud-config', 'manage_etc_hosts: localhost', '',
        '--B', 'Content-Type: text/x-shellscript', '', script, '--B--', ''].join('\n');
      const { root } = boot(mime, { prep: (r) => writeIn(r, 'etc/hosts', '127.0.0.1 localhost\n') });
      assert.equal(read(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\tweb1.example.org\tweb1\n\n10.1.1.1 appended\n');
    });

    test('manage_etc_hosts: false leaves /etc/hosts alone', () => {
      const { root } = boot('#cloud-config\nmanage_etc_hosts: false\n', { prep: (r) => writeIn(r, 'etc/hosts', '1.2.3.4 x\n') });
      assert.equal(read(root, 'etc/hosts'), '1.2.3.4 x\n');
    });
  });

  describe('timezone', { skip: needFile('/usr/share/zoneinfo/Europe/Paris', 'tzdata') ?? false }, () => {
    test('/etc/timezone and the /etc/localtime link into the zoneinfo of the root', () => {
      const { root, code } = boot('#cloud-config\ntimezone: Europe/Paris\n');
      assert.equal(code, 0);
      assert.equal(read(root, 'etc/timezone'), 'Europe/Paris\n');
      assert.equal(readlinkSync(join(root, 'etc/localtime')), '/usr/share/zoneinfo/Europe/Paris');
    });

    test('a regular /etc/localtime is replaced by a copy of the zone', () => {
      const { root } = boot('#cloud-config\ntimezone: Asia/Tokyo\n', { prep: (r) => writeIn(r, 'etc/localtime', 'not a zone') });
      assert.ok(!lstatSync(join(root, 'etc/localtime')).isSymbolicLink());
      assert.deepEqual(readFileSync(join(root, 'etc/localtime')), readFileSync('/usr/share/zoneinfo/Asia/Tokyo'));
    });

    test('an unknown zone (or a path out of zoneinfo) is an error and changes nothing', () => {
      for (const tz of ['Mars/Olympus_Mons', '../../../etc/passwd']) {
        const { root, code } = boot(`#cloud-config\ntimezone: "${tz}"\n`);
        assert.equal(code, 1);
        assert.ok(!existsSync(join(root, 'etc/timezone')));
        assert.ok(!existsSync(join(root, 'etc/localtime')));
        assert.match(problemsOf(root, 'timezone').join('\n'), /invalid timezone/);
      }
    });
  });

  describe('locale', () => {
    test('LANG in /etc/default/locale, other variables kept; locale_configfile; false does nothing', () => {
      const a = boot('#cloud-config\nlocale: de_DE.UTF-8\n', { prep: (r) => writeIn(r, 'etc/default/locale', 'LANG=C.UTF-8\nLC_TIME=en_GB.UTF-8\n') });
      assert.equal(a.code, 0, a.stderr);
      assert.equal(read(a.root, 'etc/default/locale'), 'LANG=de_DE.UTF-8\nLC_TIME=en_GB.UTF-8\n');
      const b = boot('#cloud-config\nlocale: fr_CA\nlocale_configfile: /etc/alternate_path/locale\n');
      assert.equal(read(b.root, 'etc/alternate_path/locale'), 'LANG=fr_CA\n');
      assert.ok(!existsSync(join(b.root, 'etc/default/locale')));
      const c = boot('#cloud-config\nlocale: false\n');
      assert.ok(!existsSync(join(c.root, 'etc/default/locale')));
    });

    test("the locale's commented entry in /etc/locale.gen is enabled and the root's locale-gen runs", { skip: needFile('/usr/sbin/locale-gen', 'locales') ?? false }, () => {
      const gen = '# This file lists locales\n# de_DE.UTF-8 UTF-8\n# fr_FR.UTF-8 UTF-8\n';
      const { root } = boot('#cloud-config\nlocale: fr_FR.UTF-8\n', { prep: (r) => writeIn(r, 'etc/locale.gen', gen) });
      assert.equal(read(root, 'etc/locale.gen'), '# This file lists locales\n# de_DE.UTF-8 UTF-8\nfr_FR.UTF-8 UTF-8\n');
      assert.match(read(root, 'var/log/ec2-init-output.log'), /Generating locales/);
      assert.equal(read(root, 'etc/default/locale'), 'LANG=fr_FR.UTF-8\n');
    });
  });

  describe('ntp', () => {
    test('auto: systemd-timesyncd (installed in the root) gets servers and pools; no service restart with --root', { skip: needFile('/usr/lib/systemd/systemd-timesyncd', 'systemd-timesyncd') ?? false }, () => {
      const { root, code } = boot('#cloud-config\nntp:\n  servers: [ntp1.example.org, 192.0.2.7]\n  pools: [pool.example.org]\n');
      assert.equal(code, 0);
      const conf = read(root, 'etc/systemd/timesyncd.conf.d/cloud-init.conf');
      assert.match(conf, /^\[Time\]\nNTP=ntp1\.example\.org 192\.0\.2\.7 pool\.example\.org $/m);
      assert.match(log(root), /module ntp: skipped with --root .*systemd-timesyncd/);
    });

    test('chrony: /etc/chrony/chrony.conf from the template, the old file kept as .dist, default Debian pools', () => {
      const { root, code } = boot('#cloud-config\nntp:\n  ntp_client: chrony\n  allow: [10.0.0.0/8]\n', {
        prep: (r) => {
          // An image with chrony installed: its chronyd (a stand-in) and its config.
          writeIn(r, 'sbin/chronyd', '#!/bin/sh\n', 0o755);
          writeIn(r, 'etc/chrony/chrony.conf', 'pool 2.debian.pool.ntp.org iburst\n');
        },
      });
      assert.equal(code, 0);
      const conf = read(root, 'etc/chrony/chrony.conf');
      for (let i = 0; i < 4; i++) assert.match(conf, new RegExp(`^pool ${i}\\.debian\\.pool\\.ntp\\.org iburst$`, 'm'));
      assert.match(conf, /^allow 10\.0\.0\.0\/8$/m);
      assert.match(conf, /^driftfile \/var\/lib\/chrony\/chrony\.drift$/m);
      assert.doesNotMatch(conf, /server /);
      assert.equal(read(root, 'etc/chrony/chrony.conf.dist'), 'pool 2.debian.pool.ntp.org iburst\n');
    });

    test('enabled: false does nothing; a client without a template is a clear error', () => {
      const off = boot('#cloud-config\nntp: {enabled: false, servers: [x]}\n');
      assert.equal(off.code, 0);
      assert.ok(!existsSync(join(off.root, 'etc/systemd/timesyncd.conf.d/cloud-init.conf')));
      const bad = boot('#cloud-config\nntp: {ntp_client: mine, config: {confpath: /etc/mine.conf}}\n');
      assert.equal(bad.code, 1);
      assert.match(problemsOf(bad.root, 'ntp').join('\n'), /missing required ntp:config keys: check_exe, packages, service_name/);
    });
  });

  describe('ca_certs', { skip: needFile('/usr/sbin/update-ca-certificates', 'ca-certificates') ?? needFile('/usr/bin/openssl', 'openssl') ?? false }, () => {
    let cert = '';
    before(() => {
      const dir = mkdtempSync(join(tmpdir(), 'ec2-init-cert-'));
      const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k'),
        '-out', join(dir, 'c'), '-days', '2', '-subj', '/CN=ec2-init test CA'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      cert = readFileSync(join(dir, 'c'), 'utf8');
      rmSync(dir, { recursive: true, force: true });
    });

    /**
     * The root gets this machine's /usr read-only, so /usr/local/share/ca-certificates
     * is bind-mounted from a directory of the root itself (in the agent's private
     * namespace): the module writes there, and the test reads it afterwards.
     */
    function bootCa(userData: string, withDefaults: boolean): { root: string; code: number | null; stderr: string } {
      const root = newRoot();
      mkdirSync(join(root, 'ca-local'), { recursive: true });
      mkdirSync(join(root, 'etc/ssl/certs'), { recursive: true });
      mkdirSync(join(root, 'var/cache/debconf'), { recursive: true });
      if (withDefaults) copyFileSync('/etc/ca-certificates.conf', join(root, 'etc/ca-certificates.conf'));
      seed(root, META, userData);
      const r = spawnSync('env', ['-i', WITH_ROOT, root, '/bin/sh', '-c',
        'mount --bind "$1/ca-local" "$1/usr/local/share/ca-certificates" && exec "$2" --root "$1" boot', 'sh', root, AGENT],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
      return { root, code: r.status, stderr: r.stderr };
    }
    const bundleCount = (root: string) => (read(root, 'etc/ssl/certs/ca-certificates.crt').match(/BEGIN CERTIFICATE/g) ?? []).length;

    test('trusted certificates are added to the defaults by the root\'s update-ca-certificates', () => {
      const indented = cert.trimEnd().split('\n').map((l) => `      ${l}`).join('\n');
      const { root, code, stderr } = bootCa(`#cloud-config\nca_certs:\n  trusted:\n    - |\n${indented}\n`, true);
      assert.equal(code, 0, stderr);
      assert.equal(read(root, 'ca-local/cloud-init-ca-cert-1.crt'), cert);
      assert.equal(mode(root, 'ca-local/cloud-init-ca-cert-1.crt'), 0o644);
      assert.equal(readlinkSync(join(root, 'etc/ssl/certs/cloud-init-ca-cert-1.pem')), '/usr/local/share/ca-certificates/cloud-init-ca-cert-1.crt');
      assert.ok(read(root, 'etc/ssl/certs/ca-certificates.crt').includes(cert.trim().split('\n')[1]!));
      assert.ok(bundleCount(root) > 50, 'the distribution certificates are still trusted');
    });

    test('remove_defaults deselects every distribution certificate: only ours is trusted', () => {
      const indented = cert.trimEnd().split('\n').map((l) => `      ${l}`).join('\n');
      const { root, code, stderr } = bootCa(`#cloud-config\nca_certs:\n  remove_defaults: true\n  trusted:\n    - |\n${indented}\n`, true);
      assert.equal(code, 0, stderr);
      const conf = read(root, 'etc/ca-certificates.conf').split('\n').filter((l) => l && !l.startsWith('#'));
      assert.ok(conf.length > 50 && conf.every((l) => l.startsWith('!')), 'every entry deselected');
      assert.match(read(root, 'etc/ca-certificates.conf'), /^# Modified by ec2-init to deselect certs due to user-data$/m);
      assert.equal(bundleCount(root), 1);
      assert.match(read(root, 'var/cache/debconf/config.dat'), /Name: ca-certificates\/trust_new_crts\n[\s\S]*?Value: no/);
    });

    test('without update-ca-certificates in the root: a clear error and no change', () => {
      // A bare root (no /usr at all): nothing in it is ever run, so no chroot is needed.
      const root = newRoot();
      seed(root, META, '#cloud-config\nca_certs:\n  trusted: [x]\n');
      const r = spawnSync(AGENT, ['--root', root, 'boot'], { encoding: 'utf8', env: {}, stdio: ['ignore', 'pipe', 'pipe'] });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /module ca_certs: update-ca-certificates not found under the root \(install the ca-certificates package\)/);
      assert.ok(!existsSync(join(root, 'usr/local/share/ca-certificates')));
    });
  });

  describe('final_message', () => {
    test('the default message names version, datasource and uptime', () => {
      const { root, stderr } = boot('#cloud-config\n{}\n');
      const line = /ec2-init v\. (\S+) finished at (\w{3}, \d\d \w{3} \d{4} [\d:]{8} \+0000)\. Datasource DataSourceNoCloud\. {2}Up ([\d.]+) seconds/.exec(log(root));
      assert.ok(line, log(root));
      assert.equal(line[1], JSON.parse(read(TOP, 'package.json')).version);
      assert.ok(Number(line[3]) > 0);
      assert.match(stderr, /Datasource DataSourceNoCloud/, 'on the console too');
    });

    test('a final_message of the user: basic ($version) and jinja ({{datasource}}) templates', () => {
      const basic = boot('#cloud-config\nfinal_message: |\n  all done\n  version: $version ds: ${datasource} up: $UPTIME\n');
      assert.match(log(basic.root), /INFO: all done\n.*INFO: version: \d+\.\d+\.\d+ ds: DataSourceNoCloud up: [\d.]+\n/);
      const jinja = boot('#cloud-config\nfinal_message: "## template: jinja\\nfrom {{datasource}}{% if version %} v{{version}}{% endif %}"\n');
      assert.match(log(jinja.root), /INFO: from DataSourceNoCloud v\d+\.\d+\.\d+\n/);
    });
  });

  describe('power_state', () => {
    test('with --root: planned and reported as skipped, never executed', () => {
      const userData = '#cloud-config\npower_state:\n  mode: poweroff\n  delay: 5\n  message: Bye now\n  timeout: 1\n';
      const root = newRoot();
      seed(root, META, userData);
      const plan = agent(root, ['plan']);
      assert.match(plan.stdout, /power_state_change.*\(after ec2-init exits: shutdown -h -P \+5 Bye now\) \[running system only\]/);
      assert.equal(agent(root, ['boot']).status, 0);
      assert.match(log(root), /module power_state_change: skipped with --root .*: shutdown -h -P \+5 Bye now/);
      assert.deepEqual(problemsOf(root, 'power_state_change'), []);
    });

    test('with root /, a detached waiter checks the condition after the agent has exited (the condition says no)', () => {
      const root = newRoot();
      // The condition records what it saw and answers "no" (exit 1): nothing is ever shut down.
      const condition = 'if [ -e /var/lib/cloud/instance/boot-finished ]; then echo after > /waiter-ran; else echo during > /waiter-ran; fi; exit 1';
      seed(root, META, `#cloud-config\npower_state:\n  mode: poweroff\n  timeout: 20\n  condition: ${JSON.stringify(condition)}\n`);
      writeFileSync(join(root, 'ec2-init'), '');
      const r = spawnSync('env', ['-i', WITH_ROOT, root, 'unshare', '--uts', '/bin/sh', '-c',
        'mount --bind "$2" "$1/ec2-init" && chroot "$1" /ec2-init boot >/dev/null 2>&1; echo "exit $?"; ' +
        'for i in $(seq 40); do [ -e "$1/waiter-ran" ] && break; sleep 0.25; done',
        'sh', root, AGENT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
      assert.equal(r.stdout, 'exit 0\n', r.stderr);
      assert.equal(read(root, 'waiter-ran'), 'after\n', 'the condition ran once the agent was done');
      assert.match(log(root), /module power_state_change: will run shutdown -h -P now \(after ec2-init exits, at most 20 s/);
    });

    test('a bad mode or delay is an error naming the setting', () => {
      const { root, code } = boot('#cloud-config\npower_state: {mode: sleep}\n');
      assert.equal(code, 1);
      assert.match(problemsOf(root, 'power_state_change').join('\n'), /mode is required, one of halt, poweroff, reboot; found 'sleep'/);
      const delay = boot('#cloud-config\npower_state: {mode: reboot, delay: soon}\n');
      assert.match(problemsOf(delay.root, 'power_state_change').join('\n'), /delay must be 'now' or a number of minutes/);
    });

    test('the waiter waits for the agent to exit, checks the condition, then runs the command', async () => {
      // The waiter script itself, with a stand-in for shutdown (nothing real is shut down).
      const dir = mkdtempSync(join(tmpdir(), 'ec2-init-waiter-'));
      const fake = join(dir, 'fake-shutdown');
      writeFileSync(fake, `#!/bin/sh\necho "$@" > ${dir}/ran\n`, { mode: 0o755 });
      const runWaiter = async (condition: boolean | string | string[], agentSeconds: number) => {
        rmSync(join(dir, 'ran'), { force: true });
        const fakeAgent = spawn('sleep', [String(agentSeconds)]);
        const started = Date.now();
        const script = waiterScript(fakeAgent.pid!, { argv: [fake, '-r', 'now', 'a message'], timeout: 10, condition });
        const waiter = spawn('/bin/sh', ['-c', script], { stdio: 'ignore' });
        await new Promise((r) => waiter.on('close', r));
        return { ran: existsSync(join(dir, 'ran')) ? readFileSync(join(dir, 'ran'), 'utf8') : null, waited: Date.now() - started };
      };
      const go = await runWaiter(true, 1);
      assert.equal(go.ran, '-r now a message\n');
      assert.ok(go.waited >= 900, `waited ${go.waited} ms for the agent to exit`);
      assert.equal((await runWaiter(`test -e ${dir}/nothing-here`, 0)).ran, null);
      assert.equal((await runWaiter(['test', '-d', dir], 0)).ran, '-r now a message\n');
      rmSync(dir, { recursive: true, force: true });
    });
  });

  describe('phone_home', () => {
    test('POSTs instance id, names and host keys to a real HTTP server, retrying on failure', async () => {
      const bodies: Array<{ url: string; body: URLSearchParams; type: string }> = [];
      let failures = 1;
      const server = createServer((req: IncomingMessage, res) => {
        let data = '';
        req.on('data', (c: Buffer) => { data += c.toString(); });
        req.on('end', () => {
          if (failures-- > 0) { res.writeHead(503).end(); return; }
          bodies.push({ url: req.url ?? '', body: new URLSearchParams(data), type: String(req.headers['content-type']) });
          res.writeHead(200).end('ok');
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      try {
        const root = newRoot();
        writeIn(root, 'etc/ssh/ssh_host_rsa_key.pub', 'ssh-rsa AAAArsa root@image\n');
        writeIn(root, 'etc/ssh/ssh_host_ed25519_key.pub', 'ssh-ed25519 AAAAed root@image\n');
        seed(root, META, `#cloud-config\nphone_home:\n  url: http://127.0.0.1:${port}/hello/$INSTANCE_ID/\n  post: [pub_key_rsa, pub_key_ecdsa, pub_key_ed25519, instance_id, hostname, fqdn]\n  tries: 3\n`);
        const r = await agentAsync(root, ['boot']);
        assert.equal(bodies.length, 1, r.stderr);
        const { url, body, type } = bodies[0]!;
        assert.equal(url, '/hello/iid-sys-1/');
        assert.equal(type, 'application/x-www-form-urlencoded');
        assert.deepEqual(Object.fromEntries(body), {
          pub_key_rsa: 'ssh-rsa AAAArsa root@image\n',
          pub_key_ecdsa: 'N/A',
          pub_key_ed25519: 'ssh-ed25519 AAAAed root@image\n',
          instance_id: 'iid-sys-1',
          hostname: 'web1',
          fqdn: 'web1.example.org',
        });
        // The first try got a 503: the one body the server took is the second try's.
        assert.match(log(root), /module phone_home: posted 6 key\(s\) to http:\/\/127\.0\.0\.1:\d+\/hello\/iid-sys-1\/\n/);
        // The missing ecdsa key is said (a warning), the boot goes on.
        assert.match(problemsOf(root, 'phone_home').join('\n'), /ssh_host_ecdsa_key\.pub: missing/);
      } finally {
        server.close();
      }
    });

    test('a server that never answers well: a warning after the tries, the boot finishes', async () => {
      const server = createServer((_req, res) => { res.writeHead(500).end(); });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      try {
        const root = newRoot();
        seed(root, META, `#cloud-config\nphone_home: {url: 'http://127.0.0.1:${port}/', post: [instance_id], tries: 1}\n`);
        const r = await agentAsync(root, ['boot']);
        assert.equal(r.status, 2, r.stderr);
        assert.match(problemsOf(root, 'phone_home').join('\n'), /failed to post to http:\/\/127\.0\.0\.1:\d+\/ in 1 tries: HTTP 500/);
        assert.ok(existsSync(join(root, 'var/lib/cloud/instance/boot-finished')));
      } finally {
        server.close();
      }
    });
  });
});

describe("cloud-init's module examples apply on a test root", { skip: skip ?? false }, () => {
  const MODULES = ['cc_set_hostname', 'cc_update_hostname', 'cc_update_etc_hosts', 'cc_timezone', 'cc_locale', 'cc_ntp', 'cc_ca_certs',
    'cc_final_message', 'cc_power_state_change', 'cc_phone_home'];
  const ours: Record<string, string> = {
    cc_set_hostname: 'set_hostname', cc_update_hostname: 'update_hostname', cc_update_etc_hosts: 'update_etc_hosts', cc_timezone: 'timezone',
    cc_locale: 'locale', cc_ntp: 'ntp', cc_ca_certs: 'ca_certs', cc_final_message: 'final_message', cc_power_state_change: 'power_state_change',
    cc_phone_home: 'phone_home',
  };
  let port = 0;
  const posts: string[] = [];
  const server = createServer((req, res) => { posts.push(req.url ?? ''); req.resume(); req.on('end', () => res.writeHead(200).end()); });
  before(async () => { await new Promise<void>((r) => server.listen(0, '127.0.0.1', r)); port = (server.address() as { port: number }).port; });
  after(() => server.close());

  for (const dir of MODULES) {
    const files = existsSync(join(EXAMPLES, dir)) ? readdirSync(join(EXAMPLES, dir)).filter((f) => f.endsWith('.yaml')).sort() : [];
    for (const file of files) {
      test(`${dir}/${file}`, async () => {
        let text = readFileSync(join(EXAMPLES, dir, file), 'utf8');
        if (dir === 'cc_phone_home') {
          // The examples post to example.com, with the instance id put in by a
          // Jinja user-data template; here: the local server, with phone_home's own $INSTANCE_ID.
          text = text.replace(/^## template: jinja\n/, '').replace(/http:\/\/example\.com\/\{\{ v1\.instance_id \}\}\//, `http://127.0.0.1:${port}/$INSTANCE_ID/`);
        }
        const root = newRoot();
        writeIn(root, 'etc/ssh/ssh_host_ed25519_key.pub', 'ssh-ed25519 AAAA host\n');
        // ntp example 1 names chrony: a stand-in chronyd, so nothing needs installing (offline).
        if (dir === 'cc_ntp') writeIn(root, 'sbin/chronyd', '#!/bin/sh\n', 0o755);
        // ntp example 2 names a client of its own: its check_exe, likewise.
        if (dir === 'cc_ntp') writeIn(root, 'sbin/myntpclientd', '#!/bin/sh\n', 0o755);
        if (dir === 'cc_ca_certs') { mkdirSync(join(root, 'etc/ssl/certs'), { recursive: true }); mkdirSync(join(root, 'var/cache/debconf'), { recursive: true }); }
        seed(root, 'instance-id: iid-example\nlocal-hostname: ex1.example.org\n', text);
        const r = dir === 'cc_ca_certs'
          ? spawnSync('env', ['-i', WITH_ROOT, root, '/bin/sh', '-c',
            'mkdir -p "$1/ca-local" && mount --bind "$1/ca-local" "$1/usr/local/share/ca-certificates" && exec "$2" --root "$1" boot', 'sh', root, AGENT],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 })
          : await agentAsync(root, ['boot']);
        const mine = problemsOf(root, ours[dir]!).filter((p) => !/ssh_host_(rsa|ecdsa)_key\.pub: missing/.test(p));
        assert.deepEqual(mine, [], r.stderr);
        assert.deepEqual(status(root).errors, [], r.stderr);
        switch (`${dir}/${file}`) {
          case 'cc_set_hostname/example1.yaml': case 'cc_update_hostname/example2.yaml': case 'cc_update_hostname/example3.yaml':
            assert.ok(!existsSync(join(root, 'etc/hostname'))); break;
          case 'cc_set_hostname/example2.yaml': case 'cc_update_hostname/example4.yaml':
            assert.equal(read(root, 'etc/hostname'), file === 'example2.yaml' && dir === 'cc_set_hostname' ? 'myhost.example.com\n' : 'external.fqdn.me\n'); break;
          case 'cc_set_hostname/example3.yaml': case 'cc_update_hostname/example6.yaml':
            assert.ok(!existsSync(join(root, 'etc/hostname'))); break;
          case 'cc_update_hostname/example1.yaml': case 'cc_update_hostname/example5.yaml':
            assert.equal(read(root, 'etc/hostname'), 'ex1\n'); break;
          case 'cc_update_etc_hosts/example1.yaml': assert.ok(!existsSync(join(root, 'etc/hosts'))); break;
          case 'cc_update_etc_hosts/example2.yaml': assert.match(read(root, 'etc/hosts'), /^127\.0\.1\.1 ex1\.example\.org ex1$/m); break;
          case 'cc_update_etc_hosts/example3.yaml': assert.match(read(root, 'etc/hosts'), /^127\.0\.1\.1\tex1\.example\.org\tex1$/m); break;
          case 'cc_timezone/example1.yaml': assert.equal(readlinkSync(join(root, 'etc/localtime')), '/usr/share/zoneinfo/America/New_York'); break;
          case 'cc_locale/example1.yaml': assert.equal(read(root, 'etc/default/locale'), 'LANG=ar_AE\n'); break;
          case 'cc_locale/example2.yaml': assert.equal(read(root, 'etc/alternate_path/locale'), 'LANG=fr_CA\n'); break;
          case 'cc_locale/example3.yaml': assert.ok(!existsSync(join(root, 'etc/default/locale'))); break;
          case 'cc_ntp/example1.yaml': assert.match(read(root, 'etc/chrony/chrony.conf'), /^pool 0\.debian\.pool\.ntp\.org iburst$/m); break;
          case 'cc_ntp/example2.yaml':
            assert.equal(read(root, 'etc/myntpclient/myntpclient.conf'), '# My NTP Client config\n# poolspool 0.int.pool.ntp.org iburst\npool 1.int.pool.ntp.org iburst\n' +
              'pool ntp.myorg.org iburst\n# servers\nserver ntp.server.local iburst\nserver ntp.ubuntu.com iburst\nserver 192.168.23.2 iburst\n' +
              '# peerspeer km001\npeer km002\n# allowallow 192.168.23.0/32\n\n');
            break;
          case 'cc_ca_certs/example1.yaml':
            assert.equal(read(root, 'ca-local/cloud-init-ca-cert-1.crt'), 'single_line_cert');
            assert.match(read(root, 'ca-local/cloud-init-ca-cert-2.crt'), /YOUR-ORGS-TRUSTED-CA-CERT-HERE/);
            break;
          case 'cc_final_message/example1.yaml':
            assert.match(log(root), /INFO: cloud-init has finished\n.*INFO: version: \S+\n.*INFO: timestamp: \w{3}, .*\n.*INFO: datasource: DataSourceNoCloud\n.*INFO: uptime: [\d.]+\n/);
            break;
          case 'cc_power_state_change/example1.yaml': case 'cc_power_state_change/example2.yaml':
            assert.match(log(root), /module power_state_change: skipped with --root/); break;
          case 'cc_phone_home/example1.yaml': case 'cc_phone_home/example2.yaml':
            assert.ok(posts.includes('/iid-example/')); posts.length = 0; break;
          default: assert.fail(`no check for ${dir}/${file}`);
        }
      });
    }
  }
});
