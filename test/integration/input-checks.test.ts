// Values of user-data that become part of a system file or a path are
// checked first (data never becomes code): apt's proxy lines and the host
// key types the ssh module makes files for. Built executable, throw-away roots.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { agent, cannotRun, newRoot, seed, statusProblems } from '../helpers/agent.ts';
import { plantTools, read, writeIn } from '../helpers/files.ts';
import { needCommands } from '../helpers/needs.ts';

const skip = cannotRun() ?? needCommands(['ssh-keygen'], 'openssh-client') ?? false;

describe('user-data values that would become code or paths are refused by name', { skip }, () => {
  test("an apt proxy that closes its quotes is left out (no APT option added); a plain one is written", () => {
    const root = newRoot();
    plantTools(root, ['apt-get']);
    seed(root, 'instance-id: iid-checks-1\n', [
      '#cloud-config',
      'apt:',
      '  preserve_sources_list: true',
      `  http_proxy: 'http://proxy.example:3128/"; APT::Update::Pre-Invoke {"touch /tmp/x";}; x "'`,
      '  https_proxy: http://good.example:3128/',
      '',
    ].join('\n'));
    agent(root, ['boot']);
    assert.equal(read(root, 'etc/apt/apt.conf.d/90cloud-init-aptproxy'), 'Acquire::https::Proxy "http://good.example:3128/";\n');
    assert.ok(statusProblems(root).some((p) => /apt: http_proxy: .*left out/.test(p)), statusProblems(root).join('\n'));
  });

  test('an ssh_genkeytypes entry that is not a key type name is refused by name, never put into a path; the others are made', () => {
    const root = newRoot();
    writeIn(root, 'etc/ssh/sshd_config', 'UsePAM yes\n');
    seed(root, 'instance-id: iid-checks-2\n', '#cloud-config\nssh_genkeytypes: "ed25519,../../../root/planted"\nssh_quiet_keygen: true\n');
    agent(root, ['boot']);
    assert.ok(existsSync(join(root, 'etc/ssh/ssh_host_ed25519_key')));
    assert.doesNotMatch(read(root, 'var/log/ec2-init.log'), /ssh-keygen.*planted|planted_key/, 'never given to ssh-keygen as a file name');
    assert.ok(statusProblems(root).some((p) => /ssh_genkeytypes: .*\.\.\/root\/planted.* is not a key type name/.test(p)), statusProblems(root).join('\n'));
  });
});
