// The Debian package's sources (debian/), read statically: upstart jobs,
// systemd units, shell scripts. The .deb built and installed:
// test/integration/package.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseJob, events, type Job } from '../helpers/package/upstart.ts';
import { debian, JOBS, readDebian, UNITS } from '../helpers/package/deb.ts';
import { CLOUD_INIT_VERSION } from '../../src/cli/cloud-init.ts';

const read = readDebian;

describe('debian/ (read, not built)', () => {
  test('upstart jobs: every event they wait for is raised, none waits for eth0', () => {
    const jobs = new Map<string, Job>(JOBS.map((j) => [j, parseJob(j, read(`upstart/${j}.conf`))]));
    assert.deepEqual(readdirSync(join(debian, 'upstart')).sort(), JOBS.map((j) => `${j}.conf`).sort());
    // Raised by upstart itself, mountall, ifupdown and the rc job.
    const system = new Set(['startup', 'mounted', 'filesystem', 'net-device-up', 'runlevel']);
    const emitted = new Set([...jobs.values()].flatMap((j) => j.emits));
    for (const job of jobs.values()) {
      assert.ok(job.startOn, `${job.name}: no "start on"`);
      assert.ok(job.task, `${job.name}: a stage is a task (runs to completion)`);
      const script = job.scripts.get('script') ?? '';
      // The disable switches, in every job.
      assert.match(script, /\/etc\/cloud\/ec2-init\.disabled/, job.name);
      assert.match(script, /ec2-init=disabled/, job.name);
      for (const e of events(job.startOn)) {
        if (['started', 'stopped', 'starting', 'stopping'].includes(e.name)) {
          assert.ok(jobs.has(e.args[0]) || e.args[0] === 'rc', `${job.name}: waits for unknown job ${e.args[0]}`);
        } else {
          assert.ok(system.has(e.name) || emitted.has(e.name), `${job.name}: nothing raises ${e.name}`);
        }
        assert.ok(!e.args.some((a) => /^IFACE=/.test(a) && a !== 'IFACE=lo'), `${job.name}: depends on an interface's name: ${e.args}`);
      }
      // A job that says it emits an event must really emit it.
      for (const ev of job.emits) assert.match(script, new RegExp(`initctl emit (--no-wait )?${ev}\\b`), `${job.name} never emits ${ev}`);
    }
    // The chain of the specification: / mounted → local stage; / mounted and a
    // network interface up → network stage, which emits ec2-boot-hook → config
    // stage → final stage once the runlevel's rc scripts are done.
    const names = (j: string): string[] => events(jobs.get(j)?.startOn).map((e) => [e.name, ...e.args].join(' '));
    assert.deepEqual(names('ec2-init-local'), ['mounted MOUNTPOINT=/']);
    assert.deepEqual(names('ec2-init'), ['mounted MOUNTPOINT=/', 'net-device-up IFACE!=lo']);
    assert.deepEqual(jobs.get('ec2-init')?.emits, ['ec2-boot-hook']);
    assert.ok(names('ec2-init-config').includes('ec2-boot-hook'));
    assert.deepEqual(names('ec2-init-final'), ['stopped rc RUNLEVEL=[2345]', 'stopped ec2-init-config']);
    // The stage each job runs.
    const stage = (j: string): string => /\/usr\/bin\/ec2-init ([^\n]+)/.exec(jobs.get(j)?.scripts.get('script') ?? '')?.[1] ?? '';
    assert.deepEqual(JOBS.map(stage), ['init --local', 'init', 'modules --mode config', 'modules --mode final']);
  });

  test('systemd units: the stage each runs, the disable switches', () => {
    assert.deepEqual(readdirSync(join(debian, 'systemd')).sort(), [...UNITS].sort());
    const stages: Record<string, string> = {
      'ec2-init-local.service': 'init --local', 'ec2-init.service': 'init',
      'ec2-init-config.service': 'modules --mode config', 'ec2-init-final.service': 'modules --mode final',
      'ec2-init-hostkeys.service': 'early-host-keys',
    };
    for (const [unit, args] of Object.entries(stages)) {
      const text = read(`systemd/${unit}`);
      assert.match(text, new RegExp(`^ExecStart=/usr/bin/ec2-init ${args}$`, 'm'), unit);
      assert.match(text, /^ConditionPathExists=!\/etc\/cloud\/ec2-init\.disabled$/m, unit);
      assert.match(text, /^ConditionKernelCommandLine=!ec2-init=disabled$/m, unit);
      assert.match(text, /^ConditionPathExists=!\/etc\/cloud\/cloud-init\.disabled$/m, unit);
      assert.match(text, /^ConditionKernelCommandLine=!cloud-init=disabled$/m, unit);
      assert.match(text, /^ConditionEnvironment=!KERNEL_CMDLINE=cloud-init=disabled$/m, unit);
      assert.match(text, /^ConditionEnvironment=!KERNEL_CMDLINE=ec2-init=disabled$/m, unit);
      assert.match(text, /^Type=oneshot$/m, unit);
    }
    assert.match(read('systemd/ec2-init-local.service'), /^Before=network-pre\.target$/m);
    assert.match(read('systemd/ec2-init.service'), /^Before=ssh\.service$/m);
    assert.match(read('systemd/ec2-init-final.service'), /^After=multi-user\.target$/m);
    // Before stage 1, which then leaves the keys it started be.
    assert.match(read('systemd/ec2-init-hostkeys.service'), /^Before=ec2-init-local\.service$/m);
  });

  test('shell scripts parse', () => {
    for (const f of ['postinst', 'postrm', 'rc.local-hook', 'ec2-init.init']) {
      const r = spawnSync('sh', ['-n', join(debian, f)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${f}: ${r.stderr}`);
      assert.ok(statSync(join(debian, f)).mode & 0o100, `${f} is not executable`);
    }
    for (const j of JOBS) {
      const r = spawnSync('sh', ['-n'], { input: parseJob(j, read(`upstart/${j}.conf`)).scripts.get('script'), encoding: 'utf8' });
      assert.equal(r.status, 0, `${j}.conf script: ${r.stderr}`);
    }
  });

  test("Provides: cloud-init with the version whose command line ec2-init answers (cloud-init --version): 25.1 satisfies cloud-init (>= 23)", () => {
    const provides = /^Provides: (.*)$/m.exec(read('control'))?.[1];
    assert.equal(provides, `cloud-init (= ${CLOUD_INIT_VERSION})`);
    const r = spawnSync('dpkg', ['--compare-versions', CLOUD_INIT_VERSION, 'ge', '23'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${CLOUD_INIT_VERSION} < 23`);
  });
});
