// Issue 11, tried as an attacker would: the built executable on throw-away
// roots, with real links planted where an image, a bootcmd or a user could
// plant them, real concurrent boots, real kills, a real TLS server on
// 127.0.0.1. Each numbered case fails on the code before the hardening.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chownSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { read, tempDir, writeIn } from '../helpers/files.ts';
import { AGENT, agent, agentAsync, cannotRun, newRoot, seed, WITH_ROOT } from '../helpers/agent.ts';

const skip = cannotRun();
const log = (root: string) => read(root, 'var/log/ec2-init.log');
const META = 'instance-id: iid-hard\nlocal-hostname: hard.example.org\n';

/** A file beside the roots, where no write of the agent may ever land. */
function victim(): { path: string; untouched(): void } {
  const dir = tempDir('ec2-init-outside-');
  const path = join(dir, 'victim');
  writeFileSync(path, 'untouched\n', { mode: 0o644 });
  return {
    path,
    untouched() {
      assert.equal(readFileSync(path, 'utf8'), 'untouched\n', `${path} was written`);
      const st = statSync(path);
      assert.equal(st.mode & 0o7777, 0o644, `${path} changed mode`);
      assert.deepEqual([st.uid, st.gid], [0, 0], `${path} changed owner`);
    },
  };
}

function stackTraces(text: string): string[] {
  return text.split('\n').filter((l) => /^\s+at .+[(:]\d+/.test(l) || /\.cjs:\d+/.test(l));
}

/** make-mime of the built executable: real multipart user-data. */
function mime(parts: Array<[string, string]>): Buffer {
  const dir = tempDir('ec2-init-mime-');
  const args: string[] = [];
  parts.forEach(([content, type], i) => {
    const f = join(dir, `part${i}`);
    writeFileSync(f, content);
    args.push('-a', `${f}:${type}`);
  });
  return execFileSync(AGENT, ['devel', 'make-mime', ...args], { maxBuffer: 64 << 20 });
}

describe('1. writes never escape the root through planted links', { skip: skip ?? false }, () => {
  test('a link at every temp name a write could use, and a user-owned link, lead nowhere', () => {
    const root = newRoot();
    const v = victim();
    // The old fixed temp names, planted (as an image or a bootcmd could) beside every file the boot writes.
    for (const p of ['etc/.hostname.ec2-init.tmp', 'etc/.hosts.ec2-init.tmp', 'etc/.timezone.ec2-init.tmp',
      'srv/.app.conf.ec2-init.tmp', 'var/lib/cloud/data/.status.json.ec2-init.tmp', 'var/lib/cloud/data/.user-data.raw.ec2-init.tmp',
      'run/ec2-init/.instance-data-sensitive.json.ec2-init.tmp', 'root/.ssh/.authorized_keys.ec2-init.tmp']) {
      mkdirSync(join(root, p, '..'), { recursive: true });
      symlinkSync(v.path, join(root, p));
    }
    // A user's own ~/.ssh/authorized_keys, a link to root's /etc/shadow (inside the root, relative).
    writeIn(root, 'etc/shadow', 'root:*:19000:0:99999:7:::\n', 0o640);
    writeIn(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n');
    writeIn(root, 'etc/group', 'root:x:0:\nalice:x:1000:\n');
    mkdirSync(join(root, 'home/alice/.ssh'), { recursive: true });
    chownSync(join(root, 'home/alice'), 1000, 1000);
    chownSync(join(root, 'home/alice/.ssh'), 1000, 1000);
    symlinkSync('../../../etc/shadow', join(root, 'home/alice/.ssh/authorized_keys'));
    lchownSync(join(root, 'home/alice/.ssh/authorized_keys'), 1000, 1000);
    seed(root, META, [
      '#cloud-config',
      'manage_etc_hosts: true',
      'timezone: Europe/Paris',
      'write_files: [{path: /srv/app.conf, content: "setting=1\\n", owner: "alice:alice", permissions: "0640"}]',
      'ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHardeningTestKeyxxxxxxxxxxxxxxxxxxxxxxx test@x"]',
      'disable_root: false',
      'users: [{name: alice, ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAliceKeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx alice@x"]}]',
      '',
    ].join('\n'));
    const r = agent(root, ['boot']);
    v.untouched();
    // The writes themselves landed, inside the root.
    assert.equal(read(root, 'etc/hostname'), 'hard\n');
    assert.match(read(root, 'etc/hosts'), /hard\.example\.org/);
    assert.equal(read(root, 'etc/timezone'), 'Europe/Paris\n');
    assert.equal(read(root, 'srv/app.conf'), 'setting=1\n');
    assert.equal(statSync(join(root, 'srv/app.conf')).uid, 1000);
    assert.match(read(root, 'root/.ssh/authorized_keys'), /HardeningTestKey/);
    assert.ok(existsSync(join(root, 'run/ec2-init/instance-data-sensitive.json')));
    // The user's link was refused, and root's shadow is as it was.
    assert.equal(read(root, 'etc/shadow'), 'root:*:19000:0:99999:7:::\n');
    assert.equal(statSync(join(root, 'etc/shadow')).uid, 0);
    assert.equal(r.status, 1, 'the refused authorized_keys is an error');
    assert.match(log(root), /home\/alice\/\.ssh\/authorized_keys is a symbolic link/);
    assert.deepEqual(stackTraces(r.stderr), []);
  });
});

describe('2. the logs never escape either', { skip: skip ?? false }, () => {
  test('a bootcmd that puts links in place of both logs: the links are moved aside, the logs go on', () => {
    const root = newRoot();
    const v = victim();
    seed(root, META, [
      '#cloud-config',
      'bootcmd:',
      `  - "rm -f /var/log/ec2-init.log /var/log/ec2-init-output.log; ln -s ${v.path} /var/log/ec2-init.log; ln -s ${v.path} /var/log/ec2-init-output.log"`,
      'runcmd: ["echo from-runcmd"]',
      '',
    ].join('\n'));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    v.untouched();
    assert.ok(lstatSync(join(root, 'var/log/ec2-init.log')).isFile());
    assert.match(log(root), /stage final: done/);
    assert.match(log(root), /was a symbolic link: moved aside, a new log started/);
    assert.match(read(root, 'var/log/ec2-init-output.log'), /from-runcmd/);
    assert.equal(statSync(join(root, 'var/log/ec2-init-output.log')).mode & 0o777, 0o600);
    const aside = readdirSync(join(root, 'var/log')).filter((n) => n.includes('.unsafe-'));
    assert.equal(aside.length, 2, aside.join(' '));
  });
});

describe('3. a bad cloud-config part stops only itself', { skip: skip ?? false }, () => {
  test('undefined alias, alias bomb, 100k nested [, 4 MiB of tiny nodes: each reported with its part; the rest applies', (t) => {
    const root = newRoot();
    const laughs = ['#cloud-config', 'a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) laughs.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const parts: Array<[string, string]> = [
      ['#!/bin/sh\necho ran > /ran-script\n', 'x-shellscript'],
      ['#cloud-config\nruncmd: [*nowhere]\n', 'cloud-config'],
      [laughs.join('\n') + '\n', 'cloud-config'],
      [`#cloud-config\nx: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, 'cloud-config'],
      [`#cloud-config\nx:\n${'- a\n'.repeat(1_000_000)}`, 'cloud-config'],
      ['#cloud-config\nwrite_files: [{path: /applied, content: "yes\\n"}]\n', 'cloud-config'],
    ];
    seed(root, META, mime(parts));
    const started = Date.now();
    const r = agent(root, ['boot']);
    t.diagnostic(`boot with the four bad parts: ${Date.now() - started} ms`);
    assert.equal(r.status, 1);
    assert.equal(read(root, 'ran-script'), 'ran\n');
    assert.equal(read(root, 'applied'), 'yes\n');
    const st = agent(root, ['status', '--long']);
    assert.equal(st.status, 1);
    const errors = st.stdout.split('\n').filter((l) => l.startsWith('\t- '));
    assert.equal(errors.filter((l) => /part[1-4] .*this part was skipped/.test(l)).length, 4, st.stdout);
    assert.match(st.stdout, /part1 .*nowhere/);
    assert.match(st.stdout, /part2 .*alias/);
    assert.match(st.stdout, /part3 .*nested/);
    assert.match(st.stdout, /part4 .*more than \d+ nodes/);
    assert.deepEqual(stackTraces(st.stdout + r.stderr), []);
  });
});

describe('4. the metadata walk is bounded in total', () => {
  test('80 leaves of 300 KiB: the read stops at the 16 MiB total, with a clear warning, holding no more', async (t) => {
    const leaf = Buffer.alloc(300 * 1024, 'x');
    const server = createHttpServer((req, res) => {
      if (req.method === 'PUT') { res.end('token'); return; }
      if (req.url === '/latest/meta-data/') { res.end(['instance-id', ...Array.from({ length: 80 }, (_, i) => `big${i}`)].join('\n')); return; }
      if (req.url === '/latest/meta-data/instance-id') { res.end('i-big'); return; }
      if (req.url?.startsWith('/latest/meta-data/big')) { res.end(leaf); return; }
      res.statusCode = 404; res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) };
    try {
      const { readEc2, MAX_TOTAL_BYTES } = await import('../../src/sources/ec2.ts');
      const before = process.memoryUsage().rss;
      const found = await readEc2({ metadataUrls: [`http://127.0.0.1:${(server.address() as AddressInfo).port}`], timeoutMs: 5000, maxWaitMs: 20_000, v1Fallback: 'never' }, logger);
      t.diagnostic(`rss grew by ${((process.memoryUsage().rss - before) / 1048576).toFixed(0)} MiB reading 24 MiB offered`);
      assert.equal(found, null);
      // Either the next request is refused (nothing left) or an answer in flight does not fit: the same budget, named.
      assert.match(warnings.join('\n'), new RegExp(`answers together are larger than ${MAX_TOTAL_BYTES} bytes|does not fit in the ${MAX_TOTAL_BYTES}-byte budget`));
    } finally { server.close(); }
  });
});

describe('5. a dead boot is never "running"', { skip: skip ?? false }, () => {
  test('a boot killed in stage init: status says error naming the stage; --wait returns at once', () => {
    const root = newRoot();
    seed(root, META, '#cloud-config\nwrite_files: [{path: /x, content: x}]\n');
    const killed = agent(root, ['boot'], { EC2_INIT_FAILPOINT: 'before-sem:config_write_files' });
    assert.ok(killed.signal === 'SIGKILL' || killed.status === 137, `killed: ${killed.signal} ${killed.status}`);
    const st = agent(root, ['status', '--long']);
    assert.equal(st.status, 1, st.stdout);
    assert.match(st.stdout, /^status: error\n/);
    assert.match(st.stdout, /\ndetail: stage init \(pid \d+\) stopped before it finished/);
    assert.match(st.stdout, /\nerrors:\n\t- stage init \(pid \d+\) stopped before it finished/);
    const started = Date.now();
    const waited = spawnSync('env', ['-i', WITH_ROOT, root, AGENT, '--root', root, 'status', '--wait'],
      { encoding: 'utf8', timeout: 20_000 });
    assert.equal(waited.status, 1, 'status --wait returned (not killed by the timeout) and says error');
    assert.ok(Date.now() - started < 15_000);
    // Run again, it resumes and finishes.
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(agent(root, ['status']).stdout, 'status: done\n');
  });
});

describe('6. one boot at a time per root', { skip: skip ?? false }, () => {
  test('two boots at once, 6 trials: bootcmd and the per-instance script run once, the second boot says why it stopped', async () => {
    for (let trial = 0; trial < 6; trial++) {
      const root = newRoot();
      writeIn(root, 'count/.keep', '');
      writeIn(root, 'var/lib/cloud/scripts/per-instance/once', '#!/bin/sh\necho x >> /count/script\n', 0o755);
      seed(root, META, '#cloud-config\nbootcmd: ["echo x >> /count/bootcmd; sleep 2"]\n');
      agent(root, ['status']); // the throw-away root made once, before the race (with-root.sh is not the subject)
      const [a, b] = await Promise.all([agentAsync(root, ['boot']), agentAsync(root, ['boot'])]);
      const lines = (n: string) => (existsSync(join(root, 'count', n)) ? read(root, `count/${n}`).split('\n').filter(Boolean).length : 0);
      assert.equal(lines('bootcmd'), 1, `trial ${trial}`);
      assert.equal(lines('script'), 1, `trial ${trial}`);
      assert.deepEqual([a.status, b.status].sort(), [0, 1], `trial ${trial}: ${a.stderr.slice(-300)} ${b.stderr.slice(-300)}`);
      const loser = a.status === 1 ? a : b;
      assert.match(loser.stderr, /another ec2-init is running on this root \(stage (init-local|init)(, pid \d+)?\): not starting a second one/);
      assert.deepEqual(stackTraces(a.stderr + b.stderr), []);
    }
  });
});

describe('7 and 8. https, redirects, stale account locks, redaction, log lines', { skip: skip ?? false }, () => {
  let pki: string;
  before(() => {
    // A CA and a server certificate for 127.0.0.1, made with the openssl CLI.
    pki = tempDir('ec2-init-pki-');
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: pki, stdio: 'pipe' });
    for (const ca of ['ca', 'other-ca']) {
      ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`,
        '-days', '2', '-subj', `/CN=ec2-init test ${ca}`);
    }
    writeFileSync(join(pki, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.cnf');
  });

  async function listen(server: Server): Promise<number> {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  }

  test('7. an https seedfrom is fetched over TLS, verified against the root\'s CA bundle', async () => {
    const served: string[] = [];
    const server = createHttpsServer({ key: readFileSync(join(pki, 'server.key')), cert: readFileSync(join(pki, 'server.pem')) }, (req, res) => {
      served.push(req.url!);
      if (req.url === '/seed/meta-data') res.end('instance-id: iid-tls\n');
      else if (req.url === '/seed/user-data') res.end('#!/bin/sh\necho tls > /ran\n');
      else { res.statusCode = 404; res.end(); }
    });
    const port = await listen(server);
    try {
      const make = (ca: string | null) => {
        const root = newRoot();
        writeIn(root, 'proc/cmdline', `ds=nocloud;s=https://127.0.0.1:${port}/seed/\n`);
        if (ca) writeIn(root, 'etc/ssl/certs/ca-certificates.crt', readFileSync(join(pki, ca), 'utf8'));
        return root;
      };
      const good = make('ca.pem');
      const r = await agentAsync(good, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(read(good, 'ran'), 'tls\n');
      assert.deepEqual(served.slice(0, 2), ['/seed/meta-data', '/seed/user-data']);
      // Another CA: refused, said why; nothing from that server runs.
      const wrong = make('other-ca.pem');
      await agentAsync(wrong, ['boot']);
      assert.ok(!existsSync(join(wrong, 'ran')));
      assert.match(log(wrong), /datasource NoCloud: .*(certificate|TLS)/i);
      const none = make(null);
      await agentAsync(none, ['boot']);
      assert.match(log(none), /https needs the root's CA bundle \(\/etc\/ssl\/certs\/ca-certificates\.crt/);
    } finally { server.close(); }
  });

  test('8. #include: a redirect is followed and said so; https never redirects down to http', async () => {
    const plain = createHttpServer((req, res) => {
      if (req.url === '/moved') { res.statusCode = 302; res.setHeader('location', '/real'); res.end(); return; }
      if (req.url === '/real') { res.end('#!/bin/sh\necho included > /included\n'); return; }
      if (req.url === '/down') { res.end('#!/bin/sh\necho downgraded > /downgraded\n'); return; }
      res.statusCode = 404; res.end();
    });
    const plainPort = await listen(plain);
    const tls = createHttpsServer({ key: readFileSync(join(pki, 'server.key')), cert: readFileSync(join(pki, 'server.pem')) }, (_req, res) => {
      res.statusCode = 301; res.setHeader('location', `http://127.0.0.1:${plainPort}/down`); res.end();
    });
    const tlsPort = await listen(tls as unknown as Server);
    try {
      const root = newRoot();
      writeIn(root, 'etc/ssl/certs/ca-certificates.crt', readFileSync(join(pki, 'ca.pem'), 'utf8'));
      seed(root, META, `#include\nhttp://127.0.0.1:${plainPort}/moved\nhttps://127.0.0.1:${tlsPort}/up\n`);
      const r = await agentAsync(root, ['boot']);
      assert.equal(read(root, 'included'), 'included\n', r.stderr);
      assert.ok(!existsSync(join(root, 'downgraded')));
      assert.match(log(root), new RegExp(`#include http://127.0.0.1:${plainPort}/moved redirected to http://127.0.0.1:${plainPort}/real`));
      assert.match(log(root), /redirect from https down to http refused/);
    } finally { plain.close(); tls.close(); }
  });

  test('8. a lock file a killed useradd left (its pid reused since) no longer stops the user', () => {
    const root = newRoot();
    // A live process that is not ec2-init's: the pid a stale lock names after a reboot.
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      writeIn(root, 'etc/passwd.lock', String(sleeper.pid));
      const yesterday = new Date(Date.now() - 86_400_000);
      utimesSync(join(root, 'etc/passwd.lock'), yesterday, yesterday);
      seed(root, META, '#cloud-config\nusers: [{name: bob}]\n');
      const r = agent(root, ['boot']);
      assert.equal(r.status, 0, log(root).slice(-2000));
      assert.match(read(root, 'etc/passwd'), /^bob:/m);
      assert.match(log(root), new RegExp(`removed a stale lock /etc/passwd.lock \\(pid ${sleeper.pid}, from an earlier boot\\)`));
      // A lock taken during this boot by a live process is left alone: useradd fails, and that is an error.
      const busy = newRoot();
      writeIn(busy, 'etc/passwd.lock', String(sleeper.pid));
      seed(busy, META, '#cloud-config\nusers: [{name: carol}]\n');
      assert.equal(agent(busy, ['boot']).status, 1);
      const st = agent(busy, ['status', '--long']);
      assert.match(st.stdout, /\t- module users_groups.*carol.*useradd failed \(exit \d+\).*lock/);
    } finally { sleeper.kill(); }
  });

  test('8. meta-data keys named like secrets are redacted in the world-readable instance data', () => {
    const root = newRoot();
    seed(root, `${META}pwd: hunter2\napikey: k-123\napi_key: k-456\nauth_token: t-789\nAuthorization: Basic eA==\nplain: visible\n`, '#cloud-config\n{}\n');
    assert.equal(agent(root, ['boot']).status, 0);
    const open = read(root, 'run/ec2-init/instance-data.json');
    for (const secret of ['hunter2', 'k-123', 'k-456', 't-789', 'Basic eA==']) assert.ok(!open.includes(secret), secret);
    assert.match(open, /"plain": "visible"/);
    assert.match(read(root, 'run/ec2-init/instance-data-sensitive.json'), /hunter2/);
    assert.equal(statSync(join(root, 'run/ec2-init/instance-data.json')).mode & 0o777, 0o644);
  });

  test('8. what user-data says never forges a line of the log', () => {
    const root = newRoot();
    const forged = '2026-12-02T00:00:00.000Z ERROR: forged by user-data';
    // An unknown key is named in a warning: here the key holds a newline, a forged line and a terminal escape.
    seed(root, META, `#cloud-config\n"first\\n${forged}\\n\\e[2J": 1\n`);
    agent(root, ['boot']);
    const lines = log(root).split('\n');
    assert.ok(!lines.some((l) => l.startsWith(forged)), 'a forged line');
    assert.ok(lines.some((l) => l.includes(`first\\n${forged}\\n\\x1b[2J`)), 'shown escaped');
    assert.ok(!log(root).includes('\x1b'));
  });
});

describe('1. random links planted before a boot (fuzz)', { skip: skip ?? false }, () => {
  // Places a boot writes or walks through; links planted there point out of the
  // root in every way a link can. Never the directories test/helpers/with-root.sh
  // itself writes into (etc, tmp, usr, dev): the harness is not the subject.
  const PLACES = [
    'etc/hostname', 'etc/hosts', 'etc/timezone', 'etc/.hostname.ec2-init.tmp', 'srv', 'srv/app.conf',
    'var/lib/cloud', 'var/lib/cloud/data', 'var/lib/cloud/data/status.json', 'var/lib/cloud/data/user-data.raw',
    'var/lib/cloud/instance', 'var/lib/cloud/instances', 'var/lib/cloud/instances/iid-fuzz/sem', 'var/lib/cloud/scripts',
    'var/log/ec2-init.log', 'var/log/ec2-init-output.log', 'run/ec2-init', 'run/ec2-init/instance-data.json',
    'run/ec2-init.lock', 'root/.ssh', 'root/.ssh/authorized_keys',
  ];
  const KINDS = ['absolute file', 'absolute dir', 'climbing', 'user-owned', 'dangling'] as const;
  const TRIALS = 40;

  test(`${TRIALS} boots with up to 5 random links each: nothing outside the root changes, no stack trace`, async () => {
    const fc = (await import('fast-check')).default;
    const outside = tempDir('ec2-init-outside-');
    const target = join(outside, 'victim');
    writeFileSync(target, 'untouched\n', { mode: 0o644 });
    const snapshot = () => JSON.stringify(readdirSync(outside).sort().map((n) => [n, readFileSync(join(outside, n), 'utf8'), statSync(join(outside, n)).mode]));
    const before = snapshot();
    let refused = 0;
    await fc.assert(fc.asyncProperty(
      fc.uniqueArray(fc.record({ place: fc.constantFrom(...PLACES), kind: fc.constantFrom(...KINDS) }), { minLength: 1, maxLength: 5, selector: (x) => x.place }),
      async (plants) => {
        const root = newRoot();
        seed(root, 'instance-id: iid-fuzz\nlocal-hostname: fuzz\n', [
          '#cloud-config', 'manage_etc_hosts: true', 'timezone: UTC',
          'write_files: [{path: /srv/app.conf, content: "x\\n"}]', 'ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFuzzKey fuzz@x"]',
          'disable_root: false', '',
        ].join('\n'));
        // A plant under another plant's link would be the test itself writing through it: left out.
        const own = plants.filter((a) => !plants.some((b) => a.place.startsWith(`${b.place}/`)));
        for (const { place, kind } of own) {
          const at = join(root, place);
          mkdirSync(join(at, '..'), { recursive: true });
          rmSync(at, { recursive: true, force: true });
          const depth = place.split('/').length;
          const to = kind === 'absolute file' ? target : kind === 'absolute dir' ? outside
            : kind === 'climbing' ? `${'../'.repeat(depth + 3)}${outside.slice(1)}` : kind === 'dangling' ? `${outside}/nothing/here` : target;
          symlinkSync(to, at);
          if (kind === 'user-owned') lchownSync(at, 1000, 1000);
        }
        const r = await agentAsync(root, ['boot']);
        if (r.status !== 0) refused++;
        assert.equal(snapshot(), before, `outside the root changed after planting ${JSON.stringify(plants)}`);
        assert.deepEqual(stackTraces(r.stderr), [], r.stderr.slice(-2000));
        assert.notEqual(r.status, null, 'the agent was killed or hung');
      }), { numRuns: TRIALS, seed: 11 });
    assert.ok(refused < TRIALS, 'some boots succeed');
  });
});
