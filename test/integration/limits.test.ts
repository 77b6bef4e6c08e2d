// Integration (issue 19, items 5 and 6): one budget for all a source gives,
// and part handling that stays fast at thousands of parts and MiB of text,
// through the executable on throw-away roots. Sizes and times are measured
// in bench/limits.ts; the bounds here only tell a working boot from the
// broken one (stage init stopped, or a minute of CPU spent on 10,000 parts),
// on the stage's own CPU time (its log's last line), which a busy machine
// does not stretch as it stretches the wall time.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SOURCE_BUDGET } from '../../src/sources/budget.ts';
import { makeMime } from '../../src/userdata/make-mime.ts';
import { read, writeIn } from '../helpers/files.ts';
import { agent, agentAsync, cannotRun, newRoot, seed, statusProblems } from '../helpers/agent.ts';

const MiB = 1024 * 1024;

/** `n` bytes: `head`, then `line` again and again (cut to fit). */
function filled(n: number, head: string, line: string): Buffer {
  const b = Buffer.alloc(n, line);
  b.write(head, 0);
  return b;
}

function stage(root: string, args: string[]): void {
  const r = agent(root, args);
  assert.equal(r.error, undefined, `${args.join(' ')}: ${r.error?.message}`);
}

/** Run a stage (its log streamed: a line a part is more than a pipe buffer holds); the CPU milliseconds it says it used. */
async function cpuOf(root: string, args: string[]): Promise<number> {
  const r = await agentAsync(root, args);
  const m = /own CPU ([\d.]+) ms/.exec(r.stderr);
  assert.ok(m, `${args.join(' ')}: exit ${r.status}, no CPU line: ${r.stderr.slice(-500)}`);
  return Number(m[1]);
}

describe('limits through the executable', { skip: cannotRun() ?? false }, () => {

  test('user-data past the budget (a 50 MiB seed file): said so, left out, and every stage still runs on the meta-data', () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-huge\nlocal-hostname: huge-host\n', filled(50 * MiB, '#!/bin/sh\ntouch /ran\n', '#\n'));
    stage(root, ['init', '--local']);
    stage(root, ['init']);
    stage(root, ['modules', '--mode', 'config']);
    const problems = statusProblems(root);
    assert.ok(problems.some((p) => /user-data.*budget/.test(p)), `the boot says the user-data was left out: ${problems.join(' | ')}`);
    assert.ok(!problems.some((p) => /internal error|larger than 67108864/.test(p)), problems.join(' | '));
    // Stage init read the instance back and ran its modules: the hostname from the meta-data is set.
    assert.equal(read(root, 'etc/hostname'), 'huge-host\n');
    assert.equal(statSync(join(root, 'var/lib/cloud/data/user-data.raw')).size, 0, 'nothing of it kept');
    const r = agent(root, ['query', 'v1.local_hostname']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'huge-host');
  });

  test('user-data and vendor-data share one budget: what fits is applied, the vendor-data that does not is left out and named', () => {
    const root = newRoot();
    const half = SOURCE_BUDGET / 2 + MiB;
    seed(root, 'instance-id: iid-share\n', filled(half, '#!/bin/sh\necho user > /user-ran\n', '#\n'));
    writeIn(root, 'var/lib/cloud/seed/nocloud/vendor-data', filled(half, '#!/bin/sh\necho vendor > /vendor-ran\n', '#\n'));
    stage(root, ['boot']);
    assert.equal(read(root, 'user-ran'), 'user\n');
    assert.throws(() => read(root, 'vendor-ran'), /ENOENT/);
    const problems = statusProblems(root);
    assert.ok(problems.some((p) => /vendor-data.*budget/.test(p)), problems.join(' | '));
  });

  test('instance data holds no user-data or vendor-data (as cloud-init); query still gives both to root from the files beside it', () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-query\n', '#cloud-config\nruncmd: ["true"]\n');
    writeIn(root, 'var/lib/cloud/seed/nocloud/vendor-data', '#cloud-config\nbootcmd: ["true"]\n');
    stage(root, ['init', '--local']);
    stage(root, ['init']);
    for (const name of ['instance-data.json', 'instance-data-sensitive.json']) {
      const data = JSON.parse(readFileSync(join(root, 'run/ec2-init', name), 'utf8')) as { ds: Record<string, unknown> };
      assert.deepEqual(Object.keys(data.ds), ['meta_data'], name);
    }
    const user = agent(root, ['query', 'userdata']);
    assert.equal(user.status, 0, user.stderr);
    assert.equal(user.stdout.trim(), '#cloud-config\nruncmd: ["true"]');
    const vendor = agent(root, ['query', 'vendordata']);
    assert.equal(vendor.stdout.trim(), '#cloud-config\nbootcmd: ["true"]');
  });

  test('aliases repeating a long string are refused by name: the saved config stays readable and the other parts apply', () => {
    const root = newRoot();
    // 200 aliases of 1 MiB: written out again as user-config.txt, 200 MiB (main: stage config cannot read it back).
    const bomb = `#cloud-config\nbig: &a "${'A'.repeat(MiB)}"\nmore: [${Array(200).fill('*a').join(', ')}]\n`;
    seed(root, 'instance-id: iid-alias\n', makeMime([
      { content: Buffer.from(bomb), type: 'text/cloud-config', filename: 'bomb.yaml' },
      { content: Buffer.from('#cloud-config\nwrite_files: [{path: /ok, content: applied}]\n'), type: 'text/cloud-config', filename: 'ok.yaml' },
    ]));
    stage(root, ['init', '--local']);
    stage(root, ['init']);
    stage(root, ['modules', '--mode', 'config']);
    const problems = statusProblems(root);
    assert.ok(problems.some((p) => /bomb\.yaml.*aliases repeat more than 4194304 characters/.test(p)), problems.join(' | '));
    assert.ok(!problems.some((p) => /internal error|larger than 67108864/.test(p)), problems.join(' | '));
    assert.equal(read(root, 'ok'), 'applied');
    assert.ok(statSync(join(root, 'var/lib/cloud/data/user-config.txt')).size < MiB);
  });

  test('a #cloud-config-archive of 10,000 script parts: stage init saves them all in seconds, not minutes', async () => {
    const root = newRoot();
    const archive = '#cloud-config-archive\n' + Array.from({ length: 10_000 }, (_, i) =>
      `- type: text/x-shellscript\n  filename: s${i}.sh\n  content: "#!/bin/sh\\necho ${i}\\n"\n`).join('');
    seed(root, 'instance-id: iid-parts\n', archive);
    stage(root, ['init', '--local']);
    const ms = await cpuOf(root, ['init']);
    const dir = join(root, 'var/lib/cloud/instances/iid-parts/scripts');
    const saved = readdirSync(dir).filter((n) => /^s\d+\.sh$/.test(n));
    assert.equal(saved.length, 10_000);
    assert.equal(readFileSync(join(dir, 's9999.sh'), 'utf8'), '#!/bin/sh\necho 9999\n');
    assert.equal(statSync(join(dir, 's0.sh')).mode & 0o777, 0o700);
    assert.ok(readdirSync(dir).every((n) => !n.endsWith('.ec2-init-tmp')), 'no temp file left');
    assert.ok(ms < 20_000, `stage init used ${ms.toFixed(0)} ms of CPU for 10,000 parts (here ~5 s; main: over a minute)`);
  });

  test('MiB of plain text: 15 MiB of newlines and 8 MiB of carriage returns are read in a second or two', async () => {
    for (const [name, body] of [['newlines', Buffer.alloc(15 * MiB, '\n')], ['cr', Buffer.alloc(8 * MiB, '\r')],
      ['cloud-config', filled(15 * MiB, '#cloud-config\n', '\n')]] as const) {
      const root = newRoot();
      seed(root, `instance-id: iid-${name}\n`, body);
      stage(root, ['init', '--local']);
      const ms = await cpuOf(root, ['init']);
      assert.equal(statSync(join(root, 'var/lib/cloud/data/user-data.txt')).size, body.length, name);
      assert.ok(!statusProblems(root).some((p) => /internal error/.test(p)), name);
      assert.ok(ms < 1_500, `${name}: stage init used ${ms.toFixed(0)} ms of CPU (here under 1 s; main: 3-15 s)`);
    }
  });
});
