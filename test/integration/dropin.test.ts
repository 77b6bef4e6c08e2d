// Installed over cloud-init (issue 12): the .deb goes onto a copy of the
// Debian image that has Debian's cloud-init installed, and then the steps an
// image build (Packer, a Terraform provisioner) and the scripts on a launched
// instance take with cloud-init's own names must keep working:
//   dpkg -i replaces cloud-init; its systemd names lead to ec2-init's units;
//   the four stages run as cloud-init's units call them (`cloud-init init
//   --local`, …); `cloud-init status --wait`, `status --format json`,
//   `cloud-init query`, `cloud-id`, /run/cloud-init/instance-data.json and
//   /var/log/cloud-init-output.log answer as cloud-init's do; and
//   `cloud-init clean --logs --seed`, the last step of an image build, makes
//   the next boot a first boot again.
//
// Runs in a private namespace on an overlay copy of the cached reference image
// (test/helpers/compare/: never this machine's root, no network). Needs root, the
// .deb tools and the image; without CI skipped with the reason otherwise
// (test/helpers/needs.ts).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { reference } from '../helpers/compare/image.ts';
import { boot, makeCopy, removeCopy, type BootResult, type Copy, type Placed } from '../helpers/compare/sandbox.ts';
import { ensureDeb } from '../helpers/package/deb.ts';
import { needCommands, unavailable } from '../helpers/needs.ts';

const ref = await reference();
const skip = (typeof ref === 'string' ? unavailable(ref) : null)
  ?? needCommands(['dpkg-buildpackage', 'dh'], 'dpkg-dev debhelper') ?? undefined;

const IID = 'iid-dropin-1';
const NEXT_IID = 'iid-dropin-2';
// Each run of runcmd and of write_files adds a line to a file of its own: how
// often each ran is the number of lines.
const USER_DATA = [
  '#cloud-config',
  'resize_rootfs: false',
  'runcmd:',
  '  - echo ran | tee -a /var/tmp/runcmd-runs',
  'write_files:',
  '  - path: /var/tmp/write-files-runs',
  '    content: "written\\n"',
  '    append: true',
  '',
].join('\n');
const seed = (iid: string): Placed[] => [
  { path: 'var/lib/cloud/seed/nocloud/meta-data', content: `instance-id: ${iid}\nlocal-hostname: dropin-host\n`, mode: 0o644 },
  { path: 'var/lib/cloud/seed/nocloud/user-data', content: USER_DATA, mode: 0o644 },
];
const STAGES = ['init --local', 'init', 'modules --mode config', 'modules --mode final'];

// Each step is a script of its own, placed in the copy and run chrooted; its
// output lands beside it, and its exit code in the boot's codes.
const STEPS: Record<string, string> = {
  // Boot 1, before the switch: the image's own cloud-init boots the instance.
  ...Object.fromEntries(STAGES.map((s, i) => [`cloud-init-${i}`, `cloud-init ${s}`])),
  install: 'dpkg -i /tmp/dropin/ec2-init.deb',
  'cloud-init-state': "dpkg-query -W -f '${db:Status-Status}' cloud-init",
  which: 'readlink -f /usr/bin/cloud-init; readlink -f /usr/bin/cloud-id',
  // cloud-init's unit names, as other units and scripts name them.
  'unit-names': 'for u in cloud-init-local cloud-init cloud-config cloud-final; do printf "%s " $u; readlink -f /etc/systemd/system/$u.service; done',
  // Boot 2, a reboot of the same instance: the same verbs, now ec2-init.
  ...Object.fromEntries(STAGES.map((s, i) => [`reboot-${i}`, `cloud-init ${s}`])),
  counts: 'wc -l < /var/tmp/runcmd-runs; wc -l < /var/tmp/write-files-runs',
  'status-wait': 'cloud-init status --wait',
  'status-json': 'cloud-init status --format json',
  'status-long': 'cloud-init status --long',
  'query-iid': 'cloud-init query v1.instance_id',
  'query-format': "cloud-init query -f '{{ v1.cloud_name }}/{{ ds.meta_data[\"instance-id\"] }}/{{ v1.local_hostname }}'",
  'cloud-id': 'cloud-id',
  'instance-data': 'cat /run/cloud-init/instance-data.json',
  // The last step of an image build.
  clean: 'cloud-init clean --logs --seed',
  'after-clean': 'for f in /var/log/cloud-init.log /var/log/cloud-init-output.log /var/lib/cloud/seed /var/lib/cloud/instance /var/lib/cloud/instances /run/cloud-init/instance-data.json; do if [ -e "$f" ] || [ -L "$f" ]; then echo "left: $f"; fi; done',
  // Boot 3: the image launched again, a new instance.
  ...Object.fromEntries(STAGES.map((s, i) => [`launch-${i}`, `cloud-init ${s}`])),
  'launch-status': 'cloud-init status --wait',
  'launch-counts': 'wc -l < /var/tmp/runcmd-runs; wc -l < /var/tmp/write-files-runs',
  'output-log': 'readlink /var/log/cloud-init-output.log; cat /var/log/cloud-init-output.log',
};
const BOOTS = [
  Object.keys(STEPS).slice(0, Object.keys(STEPS).indexOf('reboot-0')),
  Object.keys(STEPS).slice(Object.keys(STEPS).indexOf('reboot-0'), Object.keys(STEPS).indexOf('launch-0')),
  Object.keys(STEPS).slice(Object.keys(STEPS).indexOf('launch-0')),
];

describe('installed over cloud-init: image-build tooling keeps working', { skip }, () => {
  if (typeof ref === 'string') return;
  let copy: Copy;
  let codes: BootResult['codes'] = [];
  const work = mkdtempSync(join(tmpdir(), 'ec2-init-dropin-'));
  const out = (step: string): string => readFileSync(join(copy.upper, 'tmp', 'dropin', `${step}.out`), 'utf8');
  const code = (step: string): number | undefined => codes.find((c) => c.command.includes(`/tmp/dropin/${step}.sh`))?.code;

  before(async () => {
    const { deb } = ensureDeb(work);
    copy = makeCopy(ref.root, [
      { path: 'tmp/dropin/ec2-init.deb', content: readFileSync(deb), mode: 0o644 },
      // Only the seed: nothing is looked for on the network (there is none).
      { path: 'etc/cloud/cloud.cfg.d/99-dropin-test.cfg', content: 'datasource_list: [NoCloud]\n', mode: 0o644 },
      ...seed(IID),
      ...Object.entries(STEPS).map(([name, script]) => ({ path: `tmp/dropin/${name}.sh`, content: `${script}\n`, mode: 0o644 })),
    ]);
    const run = (steps: string[]) => boot(copy, steps.map((name) =>
      `chroot ${copy.root} /bin/sh /tmp/dropin/${name}.sh > ${copy.root}/tmp/dropin/${name}.out 2>&1`));
    const [first, reboot] = [await run(BOOTS[0]!), await run(BOOTS[1]!)];
    // Launched again: the cloud gives the new instance its own seed (put in
    // the copy between boots; clean left no whiteout where the seed was, as
    // the seed was never in the image).
    for (const f of seed(NEXT_IID)) {
      mkdirSync(dirname(join(copy.upper, f.path)), { recursive: true });
      writeFileSync(join(copy.upper, f.path), f.content, { mode: f.mode });
    }
    const launch = await run(BOOTS[2]!);
    codes = [...first.codes, ...reboot.codes, ...launch.codes];
  });
  after(() => {
    if (copy && !process.env['EC2_INIT_COMPARE_KEEP']) removeCopy(copy);
    rmSync(work, { recursive: true, force: true });
  });

  test('dpkg -i replaces cloud-init; cloud-init and cloud-id are ec2-init', () => {
    assert.equal(code('install'), 0, out('install'));
    assert.match(out('install'), /[Rr]emoving cloud-init/);
    // Removed in favour of ec2-init; its conffiles stay, as on any removal.
    assert.equal(out('cloud-init-state'), 'config-files');
    assert.deepEqual(out('which').trim().split('\n'), ['/usr/bin/ec2-init', '/usr/bin/ec2-init']);
  });

  test("cloud-init's unit names lead to ec2-init's units", () => {
    const names = Object.fromEntries(out('unit-names').trim().split('\n').map((l) => l.split(' ') as [string, string]));
    assert.deepEqual(names, {
      'cloud-init-local': '/usr/lib/systemd/system/ec2-init-local.service',
      'cloud-init': '/usr/lib/systemd/system/ec2-init.service',
      'cloud-config': '/usr/lib/systemd/system/ec2-init-config.service',
      'cloud-final': '/usr/lib/systemd/system/ec2-init-final.service',
    });
  });

  test("a reboot after the switch: cloud-init's verbs run ec2-init, and what cloud-init did is not done again", () => {
    for (let i = 0; i < STAGES.length; i++) assert.equal(code(`reboot-${i}`), 0, `cloud-init ${STAGES[i]}:\n${out(`reboot-${i}`)}`);
    // cloud-init's own first boot ran them once; the reboot honours its semaphores.
    assert.deepEqual(out('counts').trim().split(/\s+/), ['1', '1'], 'runcmd and write_files lines after the reboot');
  });

  test('cloud-init status --wait, --format json and --long', () => {
    assert.equal(code('status-wait'), 0, out('status-wait'));
    assert.match(out('status-wait'), /^status: done$/m);
    const json = JSON.parse(out('status-json')) as Record<string, unknown>;
    assert.equal(json['status'], 'done');
    assert.equal(json['extended_status'], 'done');
    assert.deepEqual(json['errors'], []);
    assert.match(String(json['datasource']), /^nocloud/);
    assert.match(out('status-long'), /^detail:/m);
  });

  test('cloud-init query, cloud-id and instance-data.json', () => {
    assert.equal(out('query-iid'), `${IID}\n`);
    assert.equal(out('query-format').trim(), `nocloud/${IID}/dropin-host`);
    assert.equal(out('cloud-id'), 'nocloud\n');
    const data = JSON.parse(out('instance-data')) as { v1: Record<string, unknown> };
    assert.equal(data.v1['instance_id'], IID);
    assert.equal(data.v1['cloud_id'], 'nocloud');
  });

  test('cloud-init clean --logs --seed forgets the instance and its logs; the next launch is a first boot', () => {
    assert.equal(code('clean'), 0, out('clean'));
    assert.equal(out('after-clean'), '');
    for (let i = 0; i < STAGES.length; i++) assert.equal(code(`launch-${i}`), 0, `cloud-init ${STAGES[i]}:\n${out(`launch-${i}`)}`);
    assert.equal(code('launch-status'), 0, out('launch-status'));
    assert.deepEqual(out('launch-counts').trim().split(/\s+/), ['2', '2'], 'runcmd and write_files ran again for the new instance');
    // cloud-init's name for the output log leads to ec2-init's, which has the new boot's runcmd.
    const [link, ...log] = out('output-log').split('\n');
    assert.equal(link, 'ec2-init-output.log');
    assert.match(log.join('\n'), /^ran$/m);
  });
});
