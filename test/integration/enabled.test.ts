// Whether ec2-init runs this boot, and what `status` says about it, are one
// rule (state/enabled.ts): for each combination of a disable file and the
// kernel command line, the boot runs exactly when `status` reports an
// enabled boot_status_code, and the code is the one cloud-init's documented
// precedence gives (doc/rtd/howto/status.rst; its boot decides in
// tools/ds-identify is_disabled(): the marker file, then any
// `cloud-init=disabled` on the command line; `cloud-init=enabled` only names
// why an otherwise enabled boot is). Between the two, the environment
// variable KERNEL_CMDLINE (containers: systemd's DefaultEnvironment) equal to
// `cloud-init=disabled` turns the boot off (ds-identify's is_disabled, the
// units' ConditionEnvironment=!KERNEL_CMDLINE=cloud-init=disabled).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { agent, AGENT, cannotRun, newRoot, seed, WITH_ROOT } from '../helpers/agent.ts';
import { tempDir } from '../helpers/files.ts';

interface Case {
  file: string | null; cmdline: string; systemd: boolean; code: string; env?: string;
  /** A container: how it is told (systemd's mark, or PID 1's environment) and PID 1's command line (NUL-separated). */
  container?: { by: 'run/systemd/container' | 'proc/1/environ'; pid1: string };
}

const CASES: Case[] = [
  { file: null, cmdline: '', systemd: true, code: 'enabled-by-generator' },
  { file: null, cmdline: '', systemd: false, code: 'enabled-by-sysvinit' },
  { file: null, cmdline: 'ro ec2-init=enabled', systemd: true, code: 'enabled-by-kernel-command-line' },
  { file: null, cmdline: 'cloud-init=enabled quiet', systemd: true, code: 'enabled-by-kernel-command-line' },
  { file: null, cmdline: 'ro ec2-init=disabled', systemd: true, code: 'disabled-by-kernel-command-line' },
  { file: null, cmdline: 'cloud-init=disabled', systemd: false, code: 'disabled-by-kernel-command-line' },
  // ds-identify: a `disabled` anywhere on the line turns the boot off.
  { file: null, cmdline: 'ec2-init=enabled cloud-init=disabled', systemd: true, code: 'disabled-by-kernel-command-line' },
  { file: '/etc/cloud/ec2-init.disabled', cmdline: '', systemd: true, code: 'disabled-by-marker-file' },
  { file: '/etc/cloud/cloud-init.disabled', cmdline: '', systemd: false, code: 'disabled-by-marker-file' },
  // The marker file "prevents cloud-init from ever running": the command line does not override it.
  { file: '/etc/cloud/ec2-init.disabled', cmdline: 'ec2-init=enabled', systemd: true, code: 'disabled-by-marker-file' },
  { file: '/etc/cloud/cloud-init.disabled', cmdline: 'cloud-init=enabled', systemd: true, code: 'disabled-by-marker-file' },
  { file: '/etc/cloud/ec2-init.disabled', cmdline: 'ec2-init=disabled', systemd: true, code: 'disabled-by-marker-file' },
  // Only the whole word counts.
  { file: null, cmdline: 'xec2-init=disabled ec2-init=disabledx', systemd: true, code: 'enabled-by-generator' },
  // KERNEL_CMDLINE in the environment: after the marker file, before the command line (ds-identify's order).
  { file: null, cmdline: '', systemd: true, env: 'cloud-init=disabled', code: 'disabled-by-environment-variable' },
  { file: null, cmdline: '', systemd: false, env: 'ec2-init=disabled', code: 'disabled-by-environment-variable' },
  { file: null, cmdline: 'cloud-init=enabled', systemd: true, env: 'cloud-init=disabled', code: 'disabled-by-environment-variable' },
  { file: '/etc/cloud/cloud-init.disabled', cmdline: '', systemd: true, env: 'cloud-init=disabled', code: 'disabled-by-marker-file' },
  // Its whole value, as ds-identify and the units' ConditionEnvironment compare it.
  { file: null, cmdline: '', systemd: true, env: 'quiet cloud-init=disabled', code: 'enabled-by-generator' },
  // In a container /proc/cmdline is the host's: the command line is PID 1's (cloud-init's get_cmdline, ds-identify).
  { file: null, cmdline: 'cloud-init=disabled', systemd: true, container: { by: 'run/systemd/container', pid1: '/sbin/init\0' }, code: 'enabled-by-generator' },
  { file: null, cmdline: '', systemd: true, container: { by: 'run/systemd/container', pid1: '/sbin/init\0cloud-init=disabled\0' }, code: 'disabled-by-kernel-command-line' },
  { file: null, cmdline: 'ec2-init=disabled', systemd: true, container: { by: 'proc/1/environ', pid1: '/lib/systemd/systemd\0ec2-init=enabled\0' }, code: 'enabled-by-kernel-command-line' },
];

describe('enabled or disabled: the boot and status agree', { skip: cannotRun() ?? false }, () => {
  for (const c of CASES) {
    const where = c.container ? `, a container (${c.container.by}) whose PID 1 is "${c.container.pid1.replace(/\0/g, ' ').trim()}"` : '';
    test(`${c.file ?? 'no disable file'}, cmdline "${c.cmdline}"${c.env === undefined ? '' : `, KERNEL_CMDLINE="${c.env}"`}${where}, ${c.systemd ? 'systemd' : 'sysvinit'}: ${c.code}`, () => {
      const root = newRoot();
      seed(root, 'instance-id: iid-enabled\n', '#!/bin/sh\ntouch /ran\n');
      if (c.file) { mkdirSync(join(root, 'etc/cloud'), { recursive: true }); writeFileSync(join(root, c.file), ''); }
      mkdirSync(join(root, 'proc'), { recursive: true });
      writeFileSync(join(root, 'proc/cmdline'), `${c.cmdline}\n`);
      if (c.systemd) mkdirSync(join(root, 'run/systemd/system'), { recursive: true });
      if (c.container) {
        mkdirSync(join(root, 'proc/1'), { recursive: true });
        writeFileSync(join(root, 'proc/1/cmdline'), c.container.pid1);
        if (c.container.by === 'run/systemd/container') writeFileSync(join(root, 'run/systemd/container'), 'lxc\n');
        else writeFileSync(join(root, 'proc/1/environ'), 'container=lxc\0PATH=/usr/bin\0');
      }

      const env: Record<string, string> = c.env === undefined ? {} : { KERNEL_CMDLINE: c.env };
      const boot = agent(root, ['boot'], env);
      assert.equal(boot.status, 0, boot.stderr);
      const status = agent(root, ['status', '--format', 'json'], env);
      const details = JSON.parse(status.stdout) as { boot_status_code: string; status: string };
      assert.equal(details.boot_status_code, c.code);
      const enabled = c.code.startsWith('enabled');
      assert.equal(existsSync(join(root, 'ran')), enabled, enabled ? 'an enabled boot runs the user script' : 'a disabled boot runs nothing');
      assert.equal(details.status, enabled ? 'done' : 'disabled');
    });
  }
});

// `status` from a login shell has no KERNEL_CMDLINE; the units had it from systemd's manager
// environment (DefaultEnvironment=). status asks the manager, as cloud-init's does
// (`systemctl show-environment`). No systemd manager runs here: a stand-in systemctl answers
// show-environment as one would, bind-mounted over the root's /usr/bin/systemctl.
describe('status from a shell: KERNEL_CMDLINE in systemd\'s manager environment', { skip: cannotRun() ?? false }, () => {
  const statusWith = (root: string, managerEnv: string) => {
    const fake = join(tempDir('ec2-init-systemctl-'), 'systemctl');
    writeFileSync(fake, `#!/bin/sh\n[ "$1" = show-environment ] || exit 1\nprintf '%s' '${managerEnv}'\n`, { mode: 0o755 });
    const r = spawnSync('env', ['-i', WITH_ROOT, root, '/bin/bash', '-c', 'mount --bind "$1" "$2/usr/bin/systemctl" && exec "$3" --root "$2" status --format json',
      'status', fake, root, AGENT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    assert.equal(r.stderr, '');
    return JSON.parse(r.stdout) as { boot_status_code: string; status: string; detail: string };
  };

  test('the manager has KERNEL_CMDLINE=cloud-init=disabled: disabled-by-environment-variable, as the boot (its units) saw it', () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-manager-env\n', '#!/bin/sh\ntouch /ran\n');
    mkdirSync(join(root, 'run/systemd/system'), { recursive: true });
    // systemd's own socket (status asks the manager only where there is one to reach it by).
    writeFileSync(join(root, 'run/systemd/private'), '');
    const boot = agent(root, ['boot'], { KERNEL_CMDLINE: 'cloud-init=disabled' });
    assert.equal(boot.status, 0, boot.stderr);
    assert.equal(existsSync(join(root, 'ran')), false);
    const s = statusWith(root, 'LANG=C.UTF-8\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\nKERNEL_CMDLINE=cloud-init=disabled\n');
    assert.equal(s.boot_status_code, 'disabled-by-environment-variable');
    assert.equal(s.status, 'disabled');
    assert.match(s.detail, /KERNEL_CMDLINE=cloud-init=disabled \(systemd's manager environment\)/);
    // Its whole value counts, as the units' ConditionEnvironment compares it.
    assert.equal(statusWith(root, 'KERNEL_CMDLINE=quiet cloud-init=disabled\n').boot_status_code, 'enabled-by-generator');
    assert.equal(statusWith(root, 'LANG=C.UTF-8\n').boot_status_code, 'enabled-by-generator');
  });
});

