// Integration: the built executable boots throw-away roots from NoCloud seeds.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { TOP } from '../helpers/paths.ts';
import { mode, read, writeIn } from '../helpers/files.ts';
import { agent, cannotRun, newRoot, seed } from '../helpers/agent.ts';

const skip = cannotRun();

const META = 'instance-id: iid-test-1\nlocal-hostname: test-host\n';

function status(root: string): { code: number | null; json: Record<string, unknown> } {
  const r = agent(root, ['status', '--format', 'json']);
  return { code: r.status, json: JSON.parse(r.stdout) as Record<string, unknown> };
}

describe('boot from a NoCloud seed', { skip: skip ?? false }, () => {
  test('the embedded example seed customizes the root', () => {
    const root = newRoot();
    seed(root, read(TOP, 'examples/seed/meta-data'), read(TOP, 'examples/seed/user-data'));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(read(root, 'etc/motd'), 'Customized by ec2-init on first boot.\n(and this line was appended)\n');
    assert.equal(read(root, 'etc/example/secret.conf'), 'password=hunter2\n');
    assert.equal(mode(root, 'etc/example/secret.conf'), 0o600);
    assert.equal(read(root, 'etc/example/app.conf'), 'listen = 8080\n');
    assert.equal(mode(root, 'etc/example/app.conf'), 0o644);
    assert.match(read(root, 'root/runcmd.done'), /^runcmd ran at .*\nargv form works\n$/);
    assert.equal(read(root, 'var/log/example-bootcmd.log'), 'bootcmd ran for instance iid-example-0001\n');
  });

  test('state files follow the layout, user-data files are 0600', () => {
    const root = newRoot();
    const userData = '#cloud-config\nruncmd: [[touch, /ran]]\n';
    seed(root, META, userData);
    assert.equal(agent(root, ['boot']).status, 0);
    const data = 'var/lib/cloud/data';
    assert.equal(read(root, `${data}/user-data.raw`), userData);
    assert.equal(read(root, `${data}/user-data.txt`), userData);
    assert.match(read(root, `${data}/user-config.txt`), /^#cloud-config\n/);
    for (const f of ['user-data.raw', 'user-data.txt', 'user-config.txt']) assert.equal(mode(root, `${data}/${f}`), 0o600, f);
    assert.equal(read(root, `${data}/instance-id`), 'iid-test-1\n');
    assert.equal(readlinkSync(join(root, 'var/lib/cloud/instance')), 'instances/iid-test-1');
    for (const d of ['sem', 'scripts', 'boothooks', 'handlers']) assert.ok(lstatSync(join(root, 'var/lib/cloud/instances/iid-test-1', d)).isDirectory(), d);
    assert.ok(existsSync(join(root, 'var/lib/cloud/instance/boot-finished')));
    const result = JSON.parse(read(root, `${data}/result.json`)) as { v1: { datasource: string; errors: string[] } };
    assert.deepEqual(result.v1, { datasource: 'DataSourceNoCloud', errors: [], recoverable_errors: [] });
    const st = status(root);
    assert.equal(st.code, 0);
    assert.equal(st.json['status'], 'done');
  });

  test('#! scripts run chrooted into the root by their own interpreter; output goes to the output log', () => {
    const root = newRoot();
    // A MIME-less single script; it must see the root as / (the marker lands in the root).
    seed(root, META, '#!/bin/bash\necho "script says hi"\necho "$BASH_VERSION" > /bash-marker\nls / > /root-listing\n');
    assert.equal(agent(root, ['boot']).status, 0);
    assert.ok(read(root, 'bash-marker').trim().length > 0, 'bash ran the script');
    assert.ok(!existsSync('/bash-marker'), 'nothing was written to this machine\'s root');
    assert.match(read(root, 'root-listing'), /var/);
    assert.equal(mode(root, 'var/lib/cloud/instance/scripts/part-001'), 0o700);
    const output = read(root, 'var/log/ec2-init-output.log');
    assert.match(output, /script says hi/);
    assert.equal(mode(root, 'var/log/ec2-init-output.log'), 0o600);
    assert.match(read(root, 'var/log/ec2-init.log'), /scripts\/part-001: exit 0/);
  });

  test('a failing script is reported, and the other work still runs', () => {
    const root = newRoot();
    seed(root, META, '#cloud-config\nruncmd:\n  - echo before > /before\n  - exit 3\nwrite_files:\n  - path: /etc/still-written\n    content: yes\n');
    const r = agent(root, ['boot']);
    assert.equal(r.status, 1);
    assert.equal(read(root, 'before'), 'before\n');
    assert.equal(read(root, 'etc/still-written'), 'true'); // YAML 1.1: an unquoted yes is a boolean, as in cloud-init
    const st = status(root);
    assert.equal(st.code, 1);
    assert.equal(st.json['status'], 'error');
    assert.match(JSON.stringify(st.json), /scripts\/runcmd.*exit 3/);
    const long = agent(root, ['status', '--long']);
    assert.match(long.stdout, /^status: error\nextended_status: error - done\n/);
    assert.match(long.stdout, /\nerrors:\n\t- module scripts_user: .*runcmd: exit 3/);
  });

  test('an unknown user-data format is ignored with a warning that names it: status degraded', () => {
    const root = newRoot();
    seed(root, META, 'just some words, not a script\n');
    const r = agent(root, ['boot']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown user-data format 'text\/plain'/);
    const st = status(root);
    assert.equal(st.code, 2);
    assert.equal(st.json['status'], 'done');
    assert.equal(st.json['extended_status'], 'degraded done');
  });

  test('a cloud-config with a YAML error is reported with its line and column', () => {
    const root = newRoot();
    seed(root, META, '#cloud-config\nruncmd:\n  - echo ok\n  bad: [\n');
    const r = agent(root, ['boot']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /user-data part-001 .*invalid cloud-config at line 4, column \d+: invalid YAML/);
  });

  test('gzipped user-data is undone transparently', () => {
    const root = newRoot();
    seed(root, META, gzipSync('#!/bin/sh\necho gz > /gz-ran\n'));
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'gz-ran'), 'gz\n');
    assert.equal(read(root, 'var/lib/cloud/data/user-data.txt'), '#!/bin/sh\necho gz > /gz-ran\n');
  });

  test('write_files: owner from the root\'s own /etc/passwd, octal permissions, bad entries fail alone', () => {
    const root = newRoot();
    writeIn(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nappuser:x:1234:1234::/home/appuser:/bin/sh\n');
    writeIn(root, 'etc/group', 'root:x:0:\nappuser:x:1234:\nstaff:x:50:\n');
    seed(root, META, [
      '#cloud-config', 'write_files:',
      '  - {path: /srv/a, content: a, owner: "appuser:staff", permissions: "0640"}',
      '  - {path: /srv/b, content: b, owner: appuser, permissions: 0755}',
      '  - {path: /srv/c, content: c, owner: "nosuchuser"}',
      '  - {path: relative/path, content: d}',
      '  - {path: /srv/e, content: e, encoding: rot13}',
      '  - {path: /srv/f, content: f}',
      '',
    ].join('\n'));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 1);
    const a = statSync(join(root, 'srv/a'));
    assert.deepEqual([a.uid, a.gid, a.mode & 0o7777], [1234, 50, 0o640]);
    const b = statSync(join(root, 'srv/b'));
    // No group given: cloud-init chowns the user only, and the new file's group stays root.
    assert.deepEqual([b.uid, b.gid, b.mode & 0o7777], [1234, 0, 0o755]);
    assert.ok(!existsSync(join(root, 'srv/c')));
    assert.ok(!existsSync(join(root, 'srv/e')));
    assert.equal(read(root, 'srv/f'), 'f');
    assert.match(r.stderr, /entry 3 \(\/srv\/c\): unknown user 'nosuchuser'/);
    assert.match(r.stderr, /entry 4 .*'path': 'relative\/path' is not an absolute path/);
    assert.match(r.stderr, /entry 5 \(\/srv\/e\): unknown encoding 'rot13'/);
  });

  test('write_files never leaves the root through an absolute symlink inside it', () => {
    const root = newRoot();
    // An image's /etc/resolv.conf -> /run/…: it must resolve inside the root.
    writeIn(root, 'run/real/.keep', '');
    mkdirSync(join(root, 'etc'), { recursive: true });
    symlinkSync('/run/real', join(root, 'etc/escape'));
    seed(root, META, '#cloud-config\nwrite_files:\n  - {path: /etc/escape/file, content: inside}\n');
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'run/real/file'), 'inside');
    assert.ok(!existsSync('/run/real/file'));
  });

  test('per-instance work runs once per instance-id; per-boot work every boot; a new id is a first boot', () => {
    const root = newRoot();
    const userData = [
      '#cloud-config',
      'bootcmd: ["echo boot >> /bootcmd.count"]',
      'runcmd: ["echo run >> /runcmd.count"]',
      'write_files: [{path: /wf.count, content: "w\\n", append: true}]',
      '',
    ].join('\n');
    seed(root, META, userData);
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'bootcmd.count'), 'boot\nboot\n');
    assert.equal(read(root, 'runcmd.count'), 'run\n');
    assert.equal(read(root, 'wf.count'), 'w\n');
    seed(root, 'instance-id: iid-test-2\n', userData);
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'bootcmd.count'), 'boot\nboot\nboot\n');
    assert.equal(read(root, 'runcmd.count'), 'run\nrun\n');
    assert.equal(read(root, 'wf.count'), 'w\nw\n');
    assert.equal(read(root, 'var/lib/cloud/data/previous-instance-id'), 'iid-test-1\n');
    assert.equal(readlinkSync(join(root, 'var/lib/cloud/instance')), 'instances/iid-test-2');
  });

  test('the image\'s script directories: per-once runs once ever, per-instance per instance, per-boot every boot', () => {
    const root = newRoot();
    for (const freq of ['per-once', 'per-instance', 'per-boot']) {
      writeIn(root, `var/lib/cloud/scripts/${freq}/10-count`, `#!/bin/sh\necho x >> /${freq}.count\n`, 0o755);
    }
    seed(root, META, null);
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(agent(root, ['boot']).status, 0);
    seed(root, 'instance-id: iid-test-2\n', null);
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'per-once.count'), 'x\n');
    assert.equal(read(root, 'per-instance.count'), 'x\nx\n');
    assert.equal(read(root, 'per-boot.count'), 'x\nx\nx\n');
  });

  test('the four stage commands, run one by one, do what boot does', () => {
    const userData = '#cloud-config\nbootcmd: ["echo b > /b"]\nwrite_files: [{path: /w, content: w}]\nruncmd: ["echo r > /r"]\n';
    const staged = newRoot();
    seed(staged, META, userData);
    const stageArgs = [['init', '--local'], ['init'], ['modules', '--mode', 'config'], ['modules', '--mode', 'final']];
    const after: string[][] = [];
    for (const args of stageArgs) {
      assert.equal(agent(staged, args).status, 0, args.join(' '));
      after.push(['b', 'w', 'r'].filter((f) => existsSync(join(staged, f))));
    }
    // bootcmd and write_files in init, runcmd's script runs only in final.
    assert.deepEqual(after, [[], ['b', 'w'], ['b', 'w'], ['b', 'w', 'r']]);
    const st = status(staged);
    assert.equal(st.json['status'], 'done');
    const v1 = st.json as Record<string, { start: number; finished: number }>;
    for (const s of ['init-local', 'init', 'modules-config', 'modules-final']) assert.ok(v1[s]!.finished >= v1[s]!.start, s);

    const whole = newRoot();
    seed(whole, META, userData);
    assert.equal(agent(whole, ['boot']).status, 0);
    for (const f of ['b', 'w', 'r']) assert.equal(read(whole, f), read(staged, f));
  });

  test('after a reboot (an empty /run), the first stage that runs links the status there, whichever stage it is', () => {
    const root = newRoot();
    seed(root, META, '#cloud-config\nruncmd: ["true"]\n');
    assert.equal(agent(root, ['boot']).status, 0);
    for (const stage of [['modules', '--mode', 'config'], ['init']]) {
      rmSync(join(root, 'run'), { recursive: true, force: true });
      mkdirSync(join(root, 'run'));
      assert.equal(agent(root, stage).status, 0, stage.join(' '));
      // `status` reads this boot's record through the link; cloud-init's tools read theirs.
      for (const link of ['run/ec2-init/status.json', 'run/cloud-init/status.json']) assert.ok(lstatSync(join(root, link)).isSymbolicLink(), link);
      const st = status(root).json as Record<string, { start: number | null; finished: number | null }>;
      const key = stage[0] === 'init' ? 'init' : 'modules-config';
      assert.ok(st[key]!.finished !== null && st[key]!.finished >= st[key]!.start!, `${key}: ${JSON.stringify(st[key])}`);
      assert.equal((st as unknown as Record<string, unknown>)['status'], 'running', 'final has not run this boot');
    }
  });

  test('plan prints parts and modules with stage and frequency, and changes nothing', () => {
    const root = newRoot();
    seed(root, META, '#cloud-config\nwrite_files: [{path: /etc/x, content: x}]\nruncmd: ["true"]\n');
    agent(root, ['--version']); // lets with-root.sh lay out the throw-away root first
    const before = listTree(root);
    const r = agent(root, ['plan']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(listTree(root), before);
    assert.match(r.stdout, /datasource +RUN +NoCloud: instance iid-test-1 \(new instance: first boot\)/);
    assert.match(r.stdout, /init +part +RUN +part-001 \(text\/cloud-config\)/);
    assert.match(r.stdout, /init +module +RUN +write_files \[per-instance\]: write \/etc\/x/);
    assert.match(r.stdout, /config +module +RUN +runcmd \[per-instance\]/);
    assert.match(r.stdout, /final +module +RUN +scripts_user \[per-instance\]: run .*\/scripts\/runcmd/);
    assert.match(r.stdout, /bootcmd \[per-boot\]: skip: no 'bootcmd' in the config/);
    // After a boot, the same plan says the per-instance work is done.
    assert.equal(agent(root, ['boot']).status, 0);
    assert.match(agent(root, ['plan']).stdout, /write_files \[per-instance\]: skip: already ran/);
  });

  test('system config: datasource_list without NoCloud finds nothing; the disable file stops everything', () => {
    const root = newRoot();
    seed(root, META, '#!/bin/sh\ntouch /ran\n');
    writeIn(root, 'etc/cloud/cloud.cfg', 'datasource_list: [NoCloud]\n');
    writeIn(root, 'etc/cloud/cloud.cfg.d/90-only-none.cfg', 'datasource_list: [None]\n');
    const r = agent(root, ['boot']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no datasource found \(searched None\)/);
    assert.ok(!existsSync(join(root, 'ran')));

    // --config: the operator's file on this machine, read last.
    const viaFlag = newRoot();
    seed(viaFlag, META, '#!/bin/sh\ntouch /ran\n');
    writeIn(viaFlag, 'outside/extra.cfg', 'datasource_list: [None]\n');
    const r2 = agent(viaFlag, ['--config', join(viaFlag, 'outside/extra.cfg'), 'boot']);
    assert.equal(r2.status, 2);
    assert.match(r2.stderr, /no datasource found \(searched None\)/);

    const off = newRoot();
    seed(off, META, '#!/bin/sh\ntouch /ran\n');
    writeIn(off, 'etc/cloud/ec2-init.disabled', '');
    assert.equal(agent(off, ['boot']).status, 0);
    assert.ok(!existsSync(join(off, 'ran')));
    assert.ok(!existsSync(join(off, 'var/lib/cloud/data')));
  });

  test('analyze shows each stage and module time; clean makes the next boot a first boot', () => {
    const root = newRoot();
    seed(root, META, '#cloud-config\nruncmd: ["echo r >> /r"]\nwrite_files: [{path: /w, content: w}]\n');
    assert.equal(agent(root, ['boot']).status, 0);
    const show = agent(root, ['analyze', 'show']).stdout;
    assert.match(show, /^stage init-local: [\d.]+ ms\n/);
    assert.match(show, /stage init: [\d.]+ ms\n( {2}\w+: [\d.]+ ms\n)* {2}write_files: [\d.]+ ms\n/);
    const blame = agent(root, ['analyze', 'blame']).stdout.trim().split('\n');
    assert.ok(blame.length >= 3);
    const times = blame.map((l) => Number(/^ *([\d.]+) ms/.exec(l)![1]));
    assert.deepEqual(times, [...times].sort((a, b) => b - a), 'slowest first');
    const cleaned = agent(root, ['clean', '--logs']);
    assert.equal(cleaned.status, 0);
    assert.ok(!existsSync(join(root, 'var/lib/cloud/instance')));
    assert.ok(!existsSync(join(root, 'var/log/ec2-init.log')));
    assert.ok(existsSync(join(root, 'var/lib/cloud/seed/nocloud/meta-data')), 'the seed is kept');
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'r'), 'r\nr\n');
  });

  test('devel make-mime builds multipart user-data that boots', () => {
    const root = newRoot();
    writeIn(root, 'in/a.sh', '#!/bin/sh\necho mime > /mime-ran\n');
    writeIn(root, 'in/b.yaml', '#cloud-config\nwrite_files: [{path: /mime-file, content: m}]\n');
    const mime = agent(root, ['devel', 'make-mime', '-a', join(root, 'in/a.sh') + ':x-shellscript', '-a', join(root, 'in/b.yaml') + ':cloud-config']);
    assert.equal(mime.status, 0, mime.stderr);
    assert.match(mime.stdout, /^Content-Type: multipart\/mixed; boundary=/);
    seed(root, META, mime.stdout);
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'mime-ran'), 'mime\n');
    assert.equal(read(root, 'mime-file'), 'm');
    const bad = agent(root, ['devel', 'make-mime', '-a', 'nocolon']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /needs FILE:TYPE/);
  });

  test('--version and usage errors', () => {
    const v = agent(makeRootOnce(), ['--version']);
    assert.equal(v.status, 0);
    assert.match(v.stdout, /^ec2-init \d+\.\d+\.\d+\n$/);
    // NODE_OPTIONS is ignored (execArgvExtension "none"): plain node would fail on this --require.
    const steered = agent(makeRootOnce(), ['--version'], { NODE_OPTIONS: '--require /nonexistent-module' });
    assert.equal(steered.status, 0, steered.stderr);
    const bad = agent(makeRootOnce(), ['modules', '--mode', 'sideways']);
    assert.equal(bad.status, 64);
    assert.match(bad.stderr, /argument --mode: invalid choice: 'sideways' \(choose from 'config', 'final'\)/);
  });
});

let once: string | null = null;
function makeRootOnce(): string { return once ??= newRoot(); }

function listTree(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) => {
    const rel = join(prefix, e.name);
    const st = lstatSync(join(dir, rel));
    const me = `${rel} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs}`;
    return e.isDirectory() ? [me, ...listTree(dir, rel)] : [me];
  });
}
