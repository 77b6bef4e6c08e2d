// Keys of cloud-init's schema that real user-data carries and ec2-init must
// know: implemented ones (output, random_seed, the old apt_* keys, the
// keys_to_console keys, merge_how, ssh_import_id: null) and the ones a
// Debian image cannot act on (snap, ubuntu_pro, …): one line in the log,
// never a warning, so the boot is not degraded.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { aptSettings } from '../src/modules/apt-legacy.ts';
import { MODULES } from '../src/modules/index.ts';
import { outputPlan } from '../src/modules/output.ts';
import { checkCloudConfigText } from '../src/schema/validate.ts';
import { agent, cannotRun, makeRoot, removeRoot, seed, statusProblems, writeIn } from './helpers/agent.ts';

const skip = cannotRun();
const roots: string[] = [];
after(() => roots.forEach(removeRoot));
function newRoot(): string { const r = makeRoot(); roots.push(r); return r; }
const read = (root: string, p: string) => readFileSync(join(root, p), 'utf8');
const check = (text: string) => checkCloudConfigText(text, MODULES).problems;

describe('the old apt keys, converted as cloud-init converts them', () => {
  test('apt_mirror, apt_proxy, apt_sources (V1 list) become the apt mapping', () => {
    const { apt, converted } = aptSettings({
      apt_mirror: 'http://mirror.example/debian',
      apt_proxy: 'http://proxy:3128',
      apt_preserve_sources_list: true,
      apt_sources: [{ source: 'deb http://a.example stable main' }, { source: 'deb http://b.example x y', filename: 'b.list' }],
      apt_mirror_search_dns: null,
    });
    assert.deepEqual(converted, ['apt_sources', 'apt_mirror', 'apt_proxy', 'apt_preserve_sources_list']);
    assert.deepEqual(apt, {
      sources: {
        '1_cloud_config_sources.list': { source: 'deb http://a.example stable main', filename: 'cloud_config_sources.list' },
        'b.list': { source: 'deb http://b.example x y', filename: 'b.list' },
      },
      proxy: 'http://proxy:3128',
      preserve_sources_list: true,
      primary: [{ arches: ['default'], uri: 'http://mirror.example/debian' }],
    });
  });

  test("apt_ftp_proxy and apt_https_proxy land where cloud-init's mapping puts them (swapped)", () => {
    assert.deepEqual(aptSettings({ apt_ftp_proxy: 'ftp://p', apt_https_proxy: 'https://p' }).apt, { https_proxy: 'ftp://p', ftp_proxy: 'https://p' });
  });

  test('with an apt mapping the old keys are dropped; a conflicting one is an error', () => {
    assert.deepEqual(aptSettings({ apt: { proxy: 'http://p' }, apt_proxy: 'http://p' }).apt, { proxy: 'http://p' });
    assert.throws(() => aptSettings({ apt: { proxy: 'http://p' }, apt_proxy: 'http://q' }), /unequal values/);
  });

  test('the schema knows them (deprecated, not unknown)', () => {
    const problems = check('#cloud-config\napt_mirror: http://m.example/debian\napt_proxy: http://p:3128\n');
    assert.deepEqual(problems.map((p) => p.level), ['warning', 'warning']);
    for (const p of problems) assert.match(p.message, /deprecated \(cloud-init 22\.1\): use the 'apt' mapping; converted/);
  });
});

describe('output', () => {
  test("cloud-init's default (tee -a cloud-init-output.log) is ec2-init's output log; a file target is used; a pipe is noted", () => {
    assert.deepEqual(outputPlan({ output: { all: '| tee -a /var/log/cloud-init-output.log' } }, 'final'), { path: '/var/log/ec2-init-output.log', note: null });
    assert.deepEqual(outputPlan({ output: { all: '>> /var/log/all.log', final: ['>> /var/log/final.log', '&1'] } }, 'final')?.path, '/var/log/final.log');
    assert.deepEqual(outputPlan({ output: { all: '>> /var/log/all.log' } }, 'config')?.path, '/var/log/all.log');
    assert.match(outputPlan({ output: { all: '| logger -t cloud-init' } }, 'init')?.note ?? '', /pipe into a command ec2-init does not run/);
    assert.equal(outputPlan({}, 'init'), null);
  });

  test('the schema knows it', () => {
    assert.deepEqual(check("#cloud-config\noutput: {all: '| tee -a /var/log/cloud-init-output.log'}\n"), []);
    assert.equal(check('#cloud-config\noutput: {al: x}\n')[0]?.level, 'error');
  });
});

describe('keys a Debian image cannot act on', () => {
  test('are notes (info), never warnings; keys of modules ec2-init lacks that Debian can use stay warnings', () => {
    const problems = check('#cloud-config\nsnap: {commands: [ls]}\nubuntu_pro: {token: x}\nlandscape: {client: {}}\npuppet: {install: true}\n');
    const by = Object.fromEntries(problems.map((p) => [p.path, p]));
    for (const k of ['snap', 'ubuntu_pro', 'landscape']) {
      assert.equal(by[k]?.level, 'info', k);
      assert.match(by[k]!.message, /is not applicable on this image/);
    }
    assert.equal(by['puppet']?.level, 'warning');
  });
});

describe('real-world keys at boot', { skip: skip ?? false }, () => {
  test('snap, ubuntu_pro, merge_how, ssh, keys_to_console keys, ssh_import_id: null: the boot is not degraded', () => {
    const root = newRoot();
    writeIn(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
    writeIn(root, 'etc/group', 'root:x:0:\n');
    seed(root, 'instance-id: iid-keys-1\n', [
      '#cloud-config',
      'merge_how:',
      ' - name: list',
      '   settings: [append]',
      ' - name: dict',
      '   settings: [no_replace, recurse_list]',
      'snap:',
      '  commands: ["snap install core"]',
      'ubuntu_pro: {token: not-a-token}',
      'ssh: {emit_keys_to_console: false}',
      'ssh_fp_console_blacklist: [ssh-dss]',
      'ssh_key_console_blacklist: [ssh-dss]',
      'no_ssh_fingerprints: true',
      "output: {all: '| tee -a /var/log/cloud-init-output.log'}",
      'runcmd: ["true"]',
      '',
    ].join('\n'));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(statusProblems(root), []);
    const log = read(root, 'var/log/ec2-init.log');
    assert.match(log, /'snap' \(cloud-init's cc_snap\) is not applicable on this image: snaps need snapd/);
    assert.match(log, /'ubuntu_pro' \(cloud-init's cc_ubuntu_pro\) is not applicable on this image/);
  });

  test("output: {all: '>> FILE'}: the scripts' output goes to FILE", () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-keys-2\n', "#cloud-config\noutput: {all: '>> /var/log/user-data.log'}\nruncmd: ['echo from-runcmd']\n");
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(read(root, 'var/log/user-data.log'), /from-runcmd/);
    assert.equal(statSync(join(root, 'var/log/user-data.log')).mode & 0o777, 0o600);
  });

  test('random_seed: data appended to a file target inside the root; the command runs with RANDOM_SEED_FILE', () => {
    const root = newRoot();
    writeIn(root, 'var/lib/seed', 'old:');
    seed(root, 'instance-id: iid-keys-3\nrandom_seed: from-meta\n', [
      '#cloud-config', 'random_seed:', '  file: /var/lib/seed', '  data: aGVsbG8=', '  encoding: b64',
      '  command: [sh, -c, "echo $RANDOM_SEED_FILE > /seed-cmd"]', '  command_required: true', '',
    ].join('\n'));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(statusProblems(root), []);
    assert.equal(read(root, 'var/lib/seed'), 'old:hellofrom-meta');
    assert.equal(read(root, 'seed-cmd'), '/var/lib/seed\n');
  });

  test('random_seed: the default /dev/urandom under --root is left alone (an effect on the running system)', () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-keys-4\n', '#cloud-config\nrandom_seed: {data: abc}\n');
    assert.equal(agent(root, ['boot']).status, 0);
    assert.deepEqual(statusProblems(root), []);
    // with-root.sh leaves an empty placeholder there (bound to this machine's device during the boot): untouched.
    assert.equal(statSync(join(root, 'dev/urandom')).size, 0);
    assert.match(read(root, 'var/log/ec2-init.log'), /module seed_random: skipped with --root .*: add 3 byte\(s\) of seed to \/dev\/urandom/);
  });

  test('ssh_import_id: null on a user is nothing to import: no warning', () => {
    const problems = check('#cloud-config\nusers:\n  - name: u\n    ssh_import_id:\n    lock_passwd: false\n');
    assert.deepEqual(problems, []);
  });
});
