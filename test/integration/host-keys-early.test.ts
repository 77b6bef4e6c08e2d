// Host keys made early (src/modules/host-keys-early.ts): init-local starts
// the real ssh-keygen, chrooted into throw-away roots, for the default types;
// stage init adopts them when the user's config asks for those types and
// discards them otherwise; a boot cut short leaves no half key in place; a
// second boot makes none.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { mode, read, tempDir, writeIn } from '../helpers/files.ts';
import { agent, cannotRun, newRoot, seed, statusProblems, WITH_ROOT } from '../helpers/agent.ts';
import { needCommands } from '../helpers/needs.ts';

const skip = cannotRun() ?? needCommands(['ssh-keygen'], 'openssh-client');
const TYPES = ['rsa', 'ecdsa', 'ed25519'];
const STAGING = 'run/ec2-init/hostkeys';

function sshRoot(cloudCfg = 'users: []\n'): string {
  const root = newRoot();
  writeIn(root, 'etc/cloud/cloud.cfg', cloudCfg);
  writeIn(root, 'etc/ssh/sshd_config', 'Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n');
  writeIn(root, 'etc/hostname', 'img-host\n');
  return root;
}

/** Wait until init-local's keys are all made (or `ms` passed); the staged public halves by type. */
async function stagedKeys(root: string, types: string[], ms = 60_000): Promise<Map<string, string>> {
  const until = Date.now() + ms;
  while (!types.every((t) => existsSync(join(root, STAGING, `${t}.status`))) && Date.now() < until) await delay(20);
  return new Map(types.map((t) => [t, read(root, `${STAGING}/ssh_host_${t}_key.pub`).split(' ')[1]!]));
}

/** The base64 of a key file's public half, checked against its private key: "the key is whole". */
function wholeKey(root: string, type: string): string {
  const key = join(root, `etc/ssh/ssh_host_${type}_key`);
  const pub = readFileSync(`${key}.pub`, 'utf8').split(' ');
  const derived = spawnSync('ssh-keygen', ['-y', '-f', key], { encoding: 'utf8' });
  assert.equal(derived.status, 0, `${key}: ${derived.stderr}`);
  assert.equal(derived.stdout.split(' ')[1]!.trim(), pub[1], `${key} and its .pub are one key`);
  assert.equal(mode(root, `etc/ssh/ssh_host_${type}_key`), 0o600);
  assert.equal(mode(root, `etc/ssh/ssh_host_${type}_key.pub`), 0o644);
  return pub[1]!;
}

const hostKeyFiles = (root: string) => readdirSync(join(root, 'etc/ssh')).filter((n) => n.startsWith('ssh_host_')).sort();

describe('host keys made early in init-local (real ssh-keygen, chrooted)', { skip: skip ?? false }, () => {
  test('the defaults asked for: init-local\'s keys adopted, same files, modes, comment and log lines; a second boot makes none', async () => {
    const root = sshRoot();
    seed(root, 'instance-id: iid-early-1\n', '#cloud-config\n{}\n');
    const local = agent(root, ['init', '--local']);
    assert.equal(local.status, 0, local.stderr);
    assert.match(read(root, 'var/log/ec2-init.log'), /host keys: making rsa, ecdsa, ed25519 early, in the background/);
    const staged = await stagedKeys(root, TYPES);
    assert.deepEqual(hostKeyFiles(root), [], 'nothing in place before stage init');
    const init = agent(root, ['init']);
    assert.equal(init.status, 0, init.stderr);
    assert.deepEqual(statusProblems(root), []);
    const log = read(root, 'var/log/ec2-init.log');
    for (const t of TYPES) {
      assert.equal(wholeKey(root, t), staged.get(t), `${t}: the key made in init-local`);
      assert.match(read(root, `etc/ssh/ssh_host_${t}_key.pub`), / root@img-host\n$/);
      assert.match(log, new RegExp(`module ssh: generated ${t} host key /etc/ssh/ssh_host_${t}_key SHA256:\\S+ root@img-host\\n`));
    }
    assert.ok(!existsSync(join(root, STAGING)), 'the staging directory is gone');
    assert.ok(!existsSync(join(root, 'run/ec2-init/hostkeys-early.json')));

    // A second boot (/run is empty again): the keys stay, none is made.
    const before = TYPES.map((t) => read(root, `etc/ssh/ssh_host_${t}_key`));
    rmSync(join(root, 'run'), { recursive: true, force: true });
    assert.equal(agent(root, ['init', '--local']).status, 0);
    assert.ok(!existsSync(join(root, STAGING)), 'no key made early on a second boot');
    assert.equal(agent(root, ['init']).status, 0);
    assert.deepEqual(TYPES.map((t) => read(root, `etc/ssh/ssh_host_${t}_key`)), before);
    assert.equal(read(root, 'var/log/ec2-init.log').match(/making .* early/g)?.length, 1);
  });

  test('started by their own unit (`early-host-keys`) before init-local: init-local leaves them be, stage init adopts them', async () => {
    const root = sshRoot();
    seed(root, 'instance-id: iid-early-unit\n', '#cloud-config\n{}\n');
    const early = agent(root, ['early-host-keys']);
    assert.equal(early.status, 0, early.stderr);
    assert.match(read(root, 'var/log/ec2-init.log'), /host keys: making rsa, ecdsa, ed25519 early, in the background/);
    const local = agent(root, ['init', '--local']);
    assert.equal(local.status, 0, local.stderr);
    const staged = await stagedKeys(root, TYPES);
    assert.equal(read(root, 'var/log/ec2-init.log').match(/making .* early/g)?.length, 1, 'init-local did not start them again');
    const init = agent(root, ['init']);
    assert.equal(init.status, 0, init.stderr);
    assert.deepEqual(statusProblems(root), []);
    for (const t of TYPES) assert.equal(wholeKey(root, t), staged.get(t), `${t}: the key the unit started`);
    assert.ok(!existsSync(join(root, STAGING)));
  });

  test('`early-host-keys` before the root is writable (its unit runs before systemd-remount-fs): it writes only under /run, its log lines go to the journal', async (t) => {
    const root = sshRoot();
    seed(root, 'instance-id: iid-early-ro\n', '#cloud-config\n{}\n');
    const files = (): string[] => {
      const out: string[] = [];
      const walk = (dir: string): void => {
        for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
          const rel = dir ? `${dir}/${e.name}` : e.name;
          if (rel === 'usr' || rel === 'proc' || rel === 'dev') continue;
          if (e.isDirectory()) walk(rel); else out.push(rel);
        }
      };
      walk('');
      return out;
    };
    // The log cannot be made (as on a read-only root): /var/log immutable, where the filesystem allows it.
    const logDir = join(root, 'var/log');
    mkdirSync(logDir, { recursive: true });
    const immutable = spawnSync('chattr', ['+i', logDir]).status === 0;
    if (immutable) t.after(() => { spawnSync('chattr', ['-i', logDir]); });
    spawnSync(WITH_ROOT, [root, 'true']); // what with-root.sh itself puts in a root, before the count
    const before = new Set(files());
    const early = agent(root, ['early-host-keys']);
    assert.equal(early.status, 0, early.stderr);
    assert.match(early.stderr, /host keys: making rsa, ecdsa, ed25519 early, in the background/);
    if (immutable) assert.match(early.stderr, /\/var\/log\/ec2-init\.log not writable yet .*: this command logs to the journal only/);
    else t.diagnostic('chattr +i is not supported here: the unwritable log is not tried');
    await stagedKeys(root, TYPES);
    const written = files().filter((f) => !before.has(f));
    assert.deepEqual(written.filter((f) => !f.startsWith('run/') && f !== 'var/log/ec2-init.log'), [], 'nothing written outside /run');
    assert.ok(written.includes(`${STAGING}/ssh_host_rsa_key`), written.join(' '));
  });

  test('a new hostname by stage init: the adopted keys carry it, as keys made then would', async () => {
    const root = sshRoot('users: []\npreserve_hostname: false\n');
    seed(root, 'instance-id: iid-early-h\nlocal-hostname: new-name\n', '#cloud-config\n{}\n');
    assert.equal(agent(root, ['init', '--local']).status, 0);
    const staged = await stagedKeys(root, TYPES);
    assert.equal(agent(root, ['init']).status, 0);
    assert.deepEqual(statusProblems(root), []);
    for (const t of TYPES) {
      assert.equal(wholeKey(root, t), staged.get(t));
      assert.match(read(root, `etc/ssh/ssh_host_${t}_key.pub`), new RegExp(` root@${read(root, 'etc/hostname').trim()}\\n$`));
    }
  });

  test('user-data asks for other types: the one asked for adopted, the others deleted', async () => {
    const root = sshRoot();
    seed(root, 'instance-id: iid-early-2\n', '#cloud-config\nssh_genkeytypes: [ed25519]\nssh_quiet_keygen: true\n');
    assert.equal(agent(root, ['init', '--local']).status, 0);
    const staged = await stagedKeys(root, TYPES);
    assert.equal(agent(root, ['init']).status, 0);
    assert.deepEqual(statusProblems(root), []);
    assert.deepEqual(hostKeyFiles(root), ['ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub']);
    assert.equal(wholeKey(root, 'ed25519'), staged.get('ed25519'));
    assert.match(read(root, 'var/log/ec2-init.log'), /module ssh: generated ed25519 host key \/etc\/ssh\/ssh_host_ed25519_key\n/, 'quiet: no fingerprint');
    assert.ok(!existsSync(join(root, STAGING)));
  });

  test('user-data gives ssh_keys: every early key discarded, the given ones written', async () => {
    const root = sshRoot();
    const dir = tempDir('ec2-init-keys-');
    assert.equal(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'given', '-f', join(dir, 'k')]).status, 0);
    const priv = readFileSync(join(dir, 'k'), 'utf8');
    const pub = readFileSync(join(dir, 'k.pub'), 'utf8').trim();
    const indent = priv.trimEnd().split('\n').map((l) => `    ${l}`).join('\n');
    seed(root, 'instance-id: iid-early-3\n', `#cloud-config\nssh_keys:\n  ed25519_private: |\n${indent}\n  ed25519_public: ${pub}\n`);
    assert.equal(agent(root, ['init', '--local']).status, 0);
    assert.equal(agent(root, ['init']).status, 0);
    assert.deepEqual(statusProblems(root), []);
    assert.deepEqual(hostKeyFiles(root), ['ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub']);
    assert.equal(read(root, 'etc/ssh/ssh_host_ed25519_key'), priv);
    assert.ok(!existsSync(join(root, STAGING)), 'the early keys are deleted');
  });

  test('ssh_deletekeys: false with no image keys: the early keys are what it would make, and are adopted', async () => {
    const root = sshRoot();
    seed(root, 'instance-id: iid-early-4\n', '#cloud-config\nssh_deletekeys: false\n');
    assert.equal(agent(root, ['init', '--local']).status, 0);
    const staged = await stagedKeys(root, TYPES);
    assert.equal(agent(root, ['init']).status, 0);
    for (const t of TYPES) assert.equal(wholeKey(root, t), staged.get(t));
  });

  test('the system config gives ssh_keys, or the image has keys: none made early', () => {
    for (const [cfg, planted] of [['users: []\nssh_keys: {ed25519_private: x, ed25519_public: y}\n', false], ['users: []\n', true]] as const) {
      const root = sshRoot(cfg);
      if (planted) writeIn(root, 'etc/ssh/ssh_host_ed25519_key', 'image key\n', 0o600);
      seed(root, 'instance-id: iid-early-5\n', '#cloud-config\n{}\n');
      assert.equal(agent(root, ['init', '--local']).status, 0);
      assert.ok(!existsSync(join(root, STAGING)), cfg);
      assert.doesNotMatch(read(root, 'var/log/ec2-init.log'), /early, in the background/);
    }
  });

  test('a boot cut short while the keys are made: nothing half-made in place, the next boot makes whole keys', async () => {
    const root = sshRoot();
    seed(root, 'instance-id: iid-early-6\n', '#cloud-config\n{}\n');
    assert.equal(agent(root, ['init', '--local']).status, 0);
    // The power goes: every process of the worker killed at once (its session: the starter's pid).
    const pidFile = join(root, 'run/ec2-init/hostkeys-early.pid');
    const until = Date.now() + 10_000;
    while (!existsSync(pidFile) && Date.now() < until) await delay(5);
    const pid = Number(readFileSync(pidFile, 'utf8').split(' ')[0]);
    // (An RSA key takes a second or more here: the worker is still at it.)
    const sid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[3]);
    process.kill(-sid, 'SIGKILL');
    assert.ok(!TYPES.every((t) => existsSync(join(root, STAGING, `${t}.status`))), 'cut while keys were being made');
    await delay(100);
    assert.deepEqual(hostKeyFiles(root), [], 'no key in place');
    rmSync(join(root, 'run'), { recursive: true, force: true });
    // The next boot, as one process: init-local starts over, stage init adopts.
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(statusProblems(root), []);
    for (const t of TYPES) wholeKey(root, t);
    assert.ok(!existsSync(join(root, STAGING)));
  });

  test('stage init without this boot\'s marker: a staging directory left by a cut-short boot is never adopted', () => {
    const root = sshRoot();
    seed(root, 'instance-id: iid-early-7\n', '#cloud-config\n{}\n');
    writeIn(root, `${STAGING}/ssh_host_ed25519_key`, 'half\n', 0o600);
    writeIn(root, `${STAGING}/ssh_host_ed25519_key.pub`, 'ssh-ed25519 AAAAhalf root@x\n');
    writeIn(root, `${STAGING}/ed25519.status`, '0\n');
    const r = agent(root, ['init']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(statusProblems(root), []);
    for (const t of TYPES) assert.notEqual(wholeKey(root, t), 'AAAAhalf');
    assert.ok(!existsSync(join(root, STAGING)));
  });
});
