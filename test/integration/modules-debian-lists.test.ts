// The modules of Debian's cloud.cfg lists added for issue 24, through the
// built executable on throw-away roots with the real tools chrooted
// (ssh-keygen, debconf-set-selections): keys_to_console's console blocks,
// apt_pipelining, keyboard, rsyslog, grub_dpkg, write_files' `source` (a
// real HTTP server on 127.0.0.1, file:// from the root), and ssh_import_id
// against GitHub's and Launchpad's names served over TLS from a network
// namespace of the test's own (its /etc/hosts points them at its loopback):
// nothing leaves this machine.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AGENT, agent, agentAsync, cannotRun, moduleProblems, newRoot, seed, WITH_ROOT } from '../helpers/agent.ts';
import { debianRoot } from '../helpers/debian-root.ts';
import { mode, owner, read, writeIn } from '../helpers/files.ts';
import { needFile } from '../helpers/needs.ts';

const skip = cannotRun();
const META = 'instance-id: iid-lists-1\nlocal-hostname: lists\n';

function boot(userData: string, prep?: (root: string) => void): { root: string; code: number | null; stdout: string; stderr: string } {
  const root = newRoot();
  prep?.(root);
  seed(root, META, userData);
  const r = agent(root, ['boot']);
  return { root, code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const PREFIX = /^<14>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d cloud-init: /;

describe('keys_to_console', { skip: skip ?? needFile('/usr/bin/ssh-keygen', 'openssh-client') ?? false }, () => {
  test("the host keys' fingerprints and keys on the console, in cloud-init's blocks", () => {
    const { root, code, stdout, stderr } = boot('#cloud-config\nssh_genkeytypes: [ed25519, ecdsa]\n');
    assert.equal(code, 0, stderr);
    const pubs = readdirSync(join(root, 'etc/ssh')).filter((n) => n.endsWith('key.pub')).sort();
    assert.deepEqual(pubs, ['ssh_host_ecdsa_key.pub', 'ssh_host_ed25519_key.pub']);
    const lines = stdout.split('\n');
    const fpLines = lines.filter((l) => PREFIX.test(l)).map((l) => l.replace(PREFIX, ''));
    // The fingerprints are ssh-keygen's own, in the glob order of the files.
    const expected = pubs.map((p) => spawnSync('ssh-keygen', ['-l', '-f', join(root, 'etc/ssh', p)], { encoding: 'utf8' }).stdout.trim());
    assert.deepEqual(fpLines, ['#############################################################', '-----BEGIN SSH HOST KEY FINGERPRINTS-----',
      ...expected, '-----END SSH HOST KEY FINGERPRINTS-----', '#############################################################']);
    const begin = stdout.indexOf('-----BEGIN SSH HOST KEY KEYS-----\n');
    assert.ok(begin > 0, stdout);
    assert.equal(stdout.slice(begin), `-----BEGIN SSH HOST KEY KEYS-----\n${pubs.map((p) => read(root, `etc/ssh/${p}`)).join('')}-----END SSH HOST KEY KEYS-----\n`);
    assert.deepEqual(moduleProblems(root, 'keys_to_console'), []);
  });

  test('the blacklists leave a key type out of their block; emit_keys_to_console: false prints nothing', () => {
    const listed = boot('#cloud-config\nssh_genkeytypes: [ed25519, ecdsa]\nssh_fp_console_blacklist: [ssh-ed25519]\nssh_key_console_blacklist: [ecdsa-sha2-nistp256]\n');
    assert.equal(listed.code, 0, listed.stderr);
    const fps = listed.stdout.split('\n').filter((l) => PREFIX.test(l) && /\(/.test(l));
    assert.equal(fps.length, 1);
    assert.match(fps[0]!, /\(ECDSA\)$/);
    const keys = listed.stdout.slice(listed.stdout.indexOf('-----BEGIN SSH HOST KEY KEYS-----'));
    assert.match(keys, /^-----BEGIN SSH HOST KEY KEYS-----\nssh-ed25519 \S+ \S+\n-----END SSH HOST KEY KEYS-----\n$/);
    const quiet = boot('#cloud-config\nssh_genkeytypes: [ed25519]\nssh:\n  emit_keys_to_console: false\n');
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stdout, /SSH HOST KEY/);
    assert.match(read(quiet.root, 'var/log/ec2-init.log'), /module keys_to_console: ssh\.emit_keys_to_console is false/);
  });
});

describe('apt_pipelining, keyboard, rsyslog', { skip: skip ?? false }, () => {
  test("each file as cloud-init writes it; the services' restarts are skipped under --root", () => {
    const { root, code, stderr } = boot([
      '#cloud-config', 'apt_pipelining: false', 'keyboard: {layout: de, variant: nodeadkeys}',
      'rsyslog:', '  configs:', "    - '*.* @@192.0.2.1'", '    - {content: "local0.* /var/log/app.log", filename: 10-app.conf}',
      '  remotes: {central: "@@[fd00::1]:514", bad: "a b c"}', '',
    ].join('\n'));
    assert.equal(code, 2, `a bad remote degrades the boot: ${stderr}`);
    assert.equal(read(root, 'etc/apt/apt.conf.d/90cloud-init-pipelining'), '//Written by cloud-init per \'apt_pipelining\'\nAcquire::http::Pipeline-Depth "0";\n');
    assert.equal(read(root, 'etc/default/keyboard'),
      '# This file was generated by cloud-init\n\nXKBMODEL="pc105"\nXKBLAYOUT="de"\nXKBVARIANT="nodeadkeys"\nXKBOPTIONS=""\n\nBACKSPACE="guess"\n');
    assert.equal(read(root, 'etc/rsyslog.d/20-cloud-config.conf'), '*.* @@192.0.2.1\n# begin remotes\n*.* @@[fd00::1]:514 # central\n# end remotes\n');
    assert.equal(read(root, 'etc/rsyslog.d/10-app.conf'), 'local0.* /var/log/app.log\n');
    assert.equal(mode(root, 'etc/rsyslog.d/10-app.conf'), 0o644);
    const log = read(root, 'var/log/ec2-init.log');
    assert.match(log, /module keyboard: skipped with --root .*console-setup/);
    assert.match(log, /module rsyslog: skipped with --root .*rsyslog/);
    assert.deepEqual(moduleProblems(root, 'rsyslog').map((p) => p.replace(/:.*?: /, ': ')).length, 1);
    assert.deepEqual(moduleProblems(root, 'keyboard'), []);
  });

  test('a keyboard layout that would run code in the shell-sourced file is refused, nothing written', () => {
    const { root, code } = boot('#cloud-config\nkeyboard: {layout: \'us"; touch /tmp/owned; "\'}\n');
    assert.equal(code, 1);
    assert.throws(() => read(root, 'etc/default/keyboard'));
    assert.match(moduleProblems(root, 'keyboard').join('\n'), /keyboard\.layout: .*XKB name/);
  });
});

describe('disable_ec2_metadata, byobu', { skip: skip ?? false }, () => {
  test('disable_ec2_metadata under --root: the route is left to the real boot, this machine\'s routes are untouched', () => {
    const routes = () => spawnSync('ip', ['route', 'show', 'table', 'all'], { encoding: 'utf8' }).stdout;
    const before = routes();
    const { root, code, stderr } = boot('#cloud-config\ndisable_ec2_metadata: true\n');
    assert.equal(code, 0, stderr);
    assert.match(read(root, 'var/log/ec2-init.log'), /module disable_ec2_metadata: skipped with --root .*: run ip .*\(\/usr\/(s?bin)\/ip route add prohibit 169\.254\.169\.254\)/);
    assert.equal(routes(), before);
  });

  test('byobu without byobu in the root: installed from the root\'s apt first; offline that fails, and says so', () => {
    const root = newRoot();
    seed(root, META, '#cloud-config\nbyobu_by_default: enable-system\n');
    const r = spawnSync('unshare', ['--net', 'env', '-i', WITH_ROOT, root, AGENT, '--root', root, 'boot'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(read(root, 'var/log/ec2-init.log'), /module byobu: byobu is not installed: installing it/);
    // Offline the root's apt knows no byobu: apt-cache pkgnames says so before apt-get install is tried.
    assert.match(moduleProblems(root, 'byobu').join('\n'), /apt-get (update|install)|no package byobu in the image's apt sources/);
  });
});

describe('grub_dpkg', { skip: skip ?? needFile('/usr/bin/debconf-set-selections', 'debconf') ?? false }, () => {
  test("enabled: the root's debconf holds grub-pc's answers; not enabled (the default): debconf untouched", () => {
    const prep = (r: string) => mkdirSync(join(r, 'var/cache/debconf'), { recursive: true });
    const on = boot('#cloud-config\ngrub_dpkg:\n  enabled: true\n  grub-pc/install_devices: /dev/vda\n', prep);
    assert.equal(on.code, 0, on.stderr);
    const db = read(on.root, 'var/cache/debconf/config.dat');
    assert.match(db, /Name: grub-pc\/install_devices\nTemplate: grub-pc\/install_devices\nValue: \/dev\/vda\n/);
    assert.match(db, /Name: grub-pc\/install_devices_empty\nTemplate: grub-pc\/install_devices_empty\nValue: false\n/);
    const off = boot('#cloud-config\ngrub_dpkg: {}\n', prep);
    assert.equal(off.code, 0, off.stderr);
    assert.throws(() => read(off.root, 'var/cache/debconf/config.dat'));
    assert.match(read(off.root, 'var/log/ec2-init.log'), /module grub_dpkg: not enabled/);
  });
});

describe('write_files source', { skip: skip ?? false }, () => {
  let server: ReturnType<typeof createServer>;
  let base = '';
  const seen: IncomingMessage['headers'][] = [];
  before(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers);
      if (req.url === '/conf') { res.end(req.headers['authorization'] === 'Bearer t0ken' ? 'from the server\n' : 'no token\n'); return; }
      res.statusCode = 404;
      res.end('not here');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => { server.close(); });

  test("http with headers, file:// of the root, content when the URL fails, nothing when there is no content", async () => {
    const root = newRoot();
    writeIn(root, 'srv/template.txt', 'from a file of the root\n');
    seed(root, META, [
      '#cloud-config', 'write_files:',
      `  - {path: /etc/from-http, source: {uri: "${base}/conf", headers: {Authorization: Bearer t0ken}}, permissions: '0600'}`,
      '  - {path: /etc/from-file, source: {uri: "file:///srv/template.txt"}}',
      `  - {path: /etc/fallback, source: {uri: "${base}/missing"}, content: "the fallback\\n"}`,
      `  - {path: /etc/nothing, source: {uri: "${base}/missing"}}`,
      '  - {path: relative/path, content: x}',
      '  - {path: /etc/../etc/dotdot, content: x}',
      '  - {path: /etc/after, content: "still written\\n"}',
      '  - {path: /etc/good-source, source: {uri: /srv/template.txt}, encoding: gzip, content: "not gzip"}', '',
    ].join('\n'));
    const r = await agentAsync(root, ['boot']);
    // Two entries are refused (errors), two fall short of their URL (warnings).
    assert.equal(r.status, 1, r.stderr);
    assert.equal(read(root, 'etc/from-http'), 'from the server\n');
    assert.equal(mode(root, 'etc/from-http'), 0o600);
    assert.equal(seen[0]!['authorization'], 'Bearer t0ken');
    assert.equal(read(root, 'etc/from-file'), 'from a file of the root\n');
    assert.equal(read(root, 'etc/fallback'), 'the fallback\n');
    assert.throws(() => read(root, 'etc/nothing'));
    assert.equal(read(root, 'etc/after'), 'still written\n');
    // The fallback is decoded only when it is needed: a bad one does not stop a good source.
    assert.equal(read(root, 'etc/good-source'), 'from a file of the root\n');
    const problems = moduleProblems(root, 'write_files').join('\n');
    assert.match(problems, /entry 3 \(\/etc\/fallback\): could not read .*\/missing: HTTP status 404; wrote the entry's content instead/);
    assert.match(problems, /entry 4 \(\/etc\/nothing\): .*no content to fall back to: not written/);
    assert.match(problems, /entry 5 .*'path': 'relative\/path' is not an absolute path/);
    assert.match(problems, /entry 6 .*'path': .*'\.' or '\.\.' component/);
    // A source URL is something stage init needs the network for (cloud-init waits for it too).
    assert.match(read(root, 'var/log/ec2-init.log'), /network: stage init waits for it: a write_files entry reads a URL/);
  });
});

// GitHub's and Launchpad's names resolve to the namespace's loopback, where socat passes
// port 443 to this process's TLS server (a unix socket), whose certificate a test CA in the
// root's bundle signed.
describe('ssh_import_id', { skip: skip ?? needFile('/usr/bin/socat', 'socat') ?? needFile('/usr/bin/openssl', 'openssl') ?? false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ec2-init-import-'));
  const sock = join(dir, 'tls.sock');
  const requests: string[] = [];
  let ca = '';
  let server: ReturnType<typeof createTlsServer>;
  const GH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDtmsSQNlIZJcKPEPSPXsfN3cFGvd0Zvb9OlQ8/VMVoD';
  const LP_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMvXq0f6b8a4n1Qm3XYvQb8z5Kx2p7pYcQm1b2bJt9Zr bob@laptop';
  before(async () => {
    const o = (args: string[]) => { const r = spawnSync('openssl', args, { encoding: 'utf8', cwd: dir }); assert.equal(r.status, 0, r.stderr); };
    o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=ec2-init test CA']);
    o(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=api.github.com']);
    writeFileSync(join(dir, 'ext'), 'subjectAltName=DNS:api.github.com,DNS:launchpad.net\n');
    o(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.crt', '-days', '2', '-extfile', 'ext']);
    ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
    server = createTlsServer({ key: readFileSync(join(dir, 'srv.key')), cert: readFileSync(join(dir, 'srv.crt')) }, (req, res) => {
      requests.push(`${req.headers.host} ${req.url}`);
      if (req.headers.host === 'api.github.com' && req.url === '/users/alice/keys') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify([{ id: 101, key: GH_KEY }, { id: 102, key: 'command="sh" ssh-ed25519 AAAAC3Nza' }]));
      } else if (req.headers.host === 'launchpad.net' && req.url === '/~bob/+sshkeys') {
        res.end(`${LP_KEY}\n<html>not a key</html>\n`);
      } else { res.statusCode = 404; res.end('{"message":"Not Found"}'); }
    });
    await new Promise<void>((resolve) => server.listen(sock, resolve));
  });
  after(() => { server.close(); rmSync(dir, { recursive: true, force: true }); });

  /** The agent in a network and mount namespace of its own: lo up, the two names on 127.0.0.1, port 443 to the server. */
  function bootIsolated(root: string): Promise<{ status: number | null; stderr: string }> {
    const hosts = join(dir, 'hosts');
    writeFileSync(hosts, '127.0.0.1 localhost api.github.com launchpad.net\n');
    const script = 'set -e; ip link set lo up; mount --bind "$1" /etc/hosts; shift; '
      + `socat TCP-LISTEN:443,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:${sock} & `
      + 'for i in $(seq 100); do ss -Hlnt | grep -q "127.0.0.1:443 " && break; sleep 0.05; done; "$@"';
    return new Promise((resolve) => {
      const child = spawn('unshare', ['--net', '--mount', '--pid', '--fork', '--kill-child', '--propagation', 'private', 'sh', '-c', script, 'sh', hosts,
        'env', '-i', WITH_ROOT, root, AGENT, '--root', root, 'boot'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stdout.resume();
      child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (status) => { clearTimeout(timer); resolve({ status, stderr }); });
    });
  }

  test("gh: and lp: keys added to the default user's authorized_keys with ssh-import-id's comment; options and junk refused; an unknown id reported", async () => {
    const root = debianRoot();
    writeIn(root, 'etc/ssl/certs/ca-certificates.crt', ca);
    seed(root, META, '#cloud-config\nssh_import_id: [gh:alice, bob]\nusers:\n  - default\n  - name: carol\n    ssh_import_id: [gh:nobody-here]\n');
    const r = await bootIsolated(root);
    assert.equal(r.status, 1, `${r.stderr}\n${read(root, 'var/log/ec2-init.log').split('\n').filter((l) => /ssh_import_id|WARN|ERROR/.test(l)).join('\n')}`);
    // A 404 is not retried (it would answer the same).
    const importLog = () => read(root, 'var/log/ec2-init.log').split('\n').filter((l) => /ssh_import_id/.test(l)).join('\n');
    assert.deepEqual(requests.sort(), ['api.github.com /users/alice/keys', 'api.github.com /users/nobody-here/keys', 'launchpad.net /~bob/+sshkeys'], importLog());
    const keys = read(root, 'home/debian/.ssh/authorized_keys');
    assert.equal(keys, `${GH_KEY} alice@github/101 # ssh-import-id gh:alice\n${LP_KEY} # ssh-import-id lp:bob\n`);
    const uid = Number(read(root, 'etc/passwd').split('\n').find((l) => l.startsWith('debian:'))!.split(':')[2]);
    assert.equal(mode(root, 'home/debian/.ssh/authorized_keys'), 0o600);
    assert.equal(mode(root, 'home/debian/.ssh'), 0o700);
    assert.equal(owner(root, 'home/debian/.ssh/authorized_keys')[0], uid);
    assert.match(moduleProblems(root, 'ssh_import_id').join('\n'), /module ssh_import_id: user carol: gh:nobody-here: HTTP status 404/);
    // A second boot of the same instance: per instance, nothing fetched again.
    requests.length = 0;
    await bootIsolated(root);
    assert.deepEqual(requests, []);
  });
});
