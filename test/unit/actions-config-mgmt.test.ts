// The configuration-management modules as tables (config in, actions out,
// nothing applied): puppet, chef, salt_minion, ansible, lxd, wireguard.
// What a user checks: which files are written where with which mode, which
// programs run and which wait for the running system, what follows from a
// program's answer (apt's package names, ansible's version, the unit that
// could be enabled), and what is refused with the key path named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { actionValue, type Action, type RunAction } from '../../src/host/actions.ts';
import type { RunResult } from '../../src/host/run.ts';
import { ansible } from '../../src/modules/ansible.ts';
import { chef } from '../../src/modules/chef.ts';
import { lxd } from '../../src/modules/lxd.ts';
import { puppet } from '../../src/modules/puppet.ts';
import { saltMinion } from '../../src/modules/salt_minion.ts';
import { wireguard } from '../../src/modules/wireguard.ts';
import { writeIn } from '../helpers/files.ts';
import { planModule } from '../helpers/module-actions.ts';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** A Debian root with apt-get and systemd (installs are planned, units enabled offline); `more` adds files. */
const debian = (more: Record<string, string> = {}) => (root: string) => {
  writeIn(root, 'usr/bin/apt-get', '#!/bin/sh\n', 0o755);
  writeIn(root, 'usr/lib/systemd/systemd', '', 0o755);
  for (const [path, content] of Object.entries(more)) writeIn(root, path, content, path.includes('bin/') ? 0o755 : 0o644);
};

/** planModule, with the temp root it planned on (a test puts there what an install would). */
async function planOn(module: Parameters<typeof planModule>[0], config: Record<string, unknown>, prep: (root: string) => void, instanceId?: string) {
  let root = '';
  const p = await planModule(module, config, { prep: (r) => { root = r; prep(r); }, ...(instanceId && { instanceId }) });
  return { ...p, root };
}

const answer = (stdout: string, code = 0): RunResult => ({ code, signal: null, timedOut: false, stdout, stderr: '' });
const isRun = (a: Action | undefined): a is RunAction => a?.kind === 'run';
/** The action whose `why` is `why`; its then() applied to `stdout`. */
function follow(actions: Action[], why: string, stdout: string, code = 0): Action[] {
  const a = actions.find((x) => x.why === why);
  assert.ok(isRun(a) && a.then, `no run '${why}' with a result to follow in: ${actions.map((x) => actionValue(x).line).join('; ')}`);
  return a.then(answer(stdout, code));
}
const whys = (actions: Action[]) => actions.map((a) => `${a.kind} ${a.why ?? ''}${a.runningSystem ? ` [${a.runningSystem}]` : ''}`.trim());
const errors = (p: { problems: Array<{ level: string; message: string }> }) => p.problems.filter((d) => d.level === 'error').map((d) => d.message);

test('salt_minion: minion and grains 0644, the key pair once the package is there (minion.pem 0600 in the pki dir it made), enabled then restarted', async () => {
  const config = { salt_minion: { conf: { master: 'salt.example' }, grains: { role: 'web' }, public_key: 'PUB\n', private_key: 'PRIV\n' } };
  const p = await planOn(saltMinion, config, debian());
  assert.deepEqual(whys(p.actions), [
    'run apt-get update', 'mark', 'run the packages apt knows', 'mkdir', 'write', 'write', 'run enable salt-minion', 'run restart salt-minion [optional]',
  ]);
  const minion = p.actions.find((a) => a.kind === 'write' && a.path === '/etc/salt/minion');
  assert.ok(minion?.kind === 'write' && minion.content === '---\nmaster: salt.example\n...\n' && minion.mode === 0o644);
  assert.ok(!p.lines.join('\n').includes('PRIV'), 'no key in a line');
  // apt knows it: the install, then the keys, in the directory the package made when it did.
  const install = follow(p.actions, 'the packages apt knows', 'salt-minion\n');
  mkdirSync(join(p.root, 'etc/salt/pki/minion'), { recursive: true });
  const keys = follow(install, 'apt-get install salt-minion', '');
  assert.deepEqual(keys.map((a) => a.kind === 'write' && [a.path, a.mode.toString(8)]), [['/etc/salt/pki/minion/minion.pub', '644'], ['/etc/salt/pki/minion/minion.pem', '600']]);
  // apt does not know it: an error naming it, nothing installed.
  const unknown = follow(p.actions, 'the packages apt knows', 'vim\n');
  assert.ok(unknown[0]?.kind === 'report' && unknown[0].level === 'error' && /no package salt-minion/.test(unknown[0].message));
});

test('salt_minion: masterless disables and stops the minion and runs salt-call for the running system; a bad name is refused with its key', async () => {
  const p = await planModule(saltMinion, { salt_minion: { conf: { file_client: 'local' } } }, { prep: debian() });
  assert.deepEqual(whys(p.actions).slice(-3), ['run disable salt-minion', 'run stop salt-minion [optional]', 'run salt-call --local state.apply [essential]']);
  const bad = await planModule(saltMinion, { salt_minion: { pkg_name: '-oAPT::Get::AllowUnauthenticated=1' } }, { prep: debian() });
  assert.deepEqual(bad.actions, []);
  assert.match(errors(bad)[0]!, /^salt_minion\.pkg_name: .*Debian package name/);
  const notMapping = await planModule(saltMinion, { salt_minion: 'yes' });
  assert.match(errors(notMapping)[0]!, /'salt_minion' must be a mapping, found 'yes'/);
});

test('wireguard: each interface 0600 and its wg-quick unit enabled; bad entries reported by index and left out; loading and probes for the running system', async () => {
  const config = {
    wireguard: {
      interfaces: [
        { name: 'wg0', config_path: '/etc/wireguard/wg0.conf', content: '[Interface]\nPrivateKey = SECRET\n' },
        { name: '--up', config_path: '/etc/wireguard/x.conf', content: '' },
        { name: 'wg1', config_path: '/etc/wireguard/wg1.conf' },
      ],
      readinessprobe: ['ping -c1 10.0.0.1'],
    },
  };
  const p = await planModule(wireguard, config, { prep: debian({ 'usr/bin/wg': '' }) });
  assert.deepEqual(whys(p.actions), [
    'run load the wireguard kernel module [optional]', 'write interface wg0', 'run enable wg-quick@wg0', 'run restart wg-quick@wg0 [optional]', 'run readinessprobe[0] [essential]',
  ], 'wg is there: nothing installed');
  const conf = p.actions[1]!;
  assert.ok(conf.kind === 'write' && conf.path === '/etc/wireguard/wg0.conf' && conf.mode === 0o600);
  assert.ok(!p.lines.join('\n').includes('SECRET'));
  assert.deepEqual(errors(p).map((m) => m.split(':')[0]), ['wireguard.interfaces[1]', 'wireguard.interfaces[2]']);
  const badProbe = await planModule(wireguard, { wireguard: { interfaces: [], readinessprobe: ['true', 3] } }, { prep: debian({ 'usr/bin/wg': '' }) });
  assert.ok(!whys(badProbe.actions).some((w) => w.includes('readinessprobe')), 'one bad probe: none runs');
  assert.match(errors(badProbe)[0]!, /readinessprobe\[1\] is not a string/);
  const missing = await planModule(wireguard, { wireguard: { interfaces: [] } }, { prep: debian() });
  assert.equal(whys(missing.actions)[2], 'run the packages apt knows', 'wg missing: wireguard-tools installed first');
});

test('chef: the validation key 0600, client.rb as the template renders it with the instance-id as node name, each directory once; a bad path stops before client.rb', async () => {
  const config = { chef: { server_url: 'https://chef.example:4000', validation_name: 'v', validation_cert: 'KEY\n', run_list: ['recipe[a]'] } };
  const p = await planModule(chef, config, { prep: debian({ 'usr/bin/chef-client': '' }), instanceId: 'i-0abc' });
  const writes = p.actions.flatMap((a) => (a.kind === 'write' ? [[a.path, a.mode.toString(8)]] : []));
  assert.deepEqual(writes, [['/etc/chef/validation.pem', '600'], ['/etc/chef/client.rb', '644'], ['/etc/chef/firstboot.json', '644']]);
  const dirs = p.actions.flatMap((a) => (a.kind === 'mkdir' ? [a.path] : []));
  assert.equal(new Set(dirs).size, dirs.length, `each directory once: ${dirs.join(' ')}`);
  const rb = p.actions.find((a) => a.kind === 'write' && a.path === '/etc/chef/client.rb');
  assert.ok(rb?.kind === 'write' && typeof rb.content === 'string');
  assert.match(rb.content, /^node_name {14}"i-0abc"$/m);
  // The time goes in when it is written, at stampAt: plan's digest is the boot's.
  assert.match(rb.content, /^# Created by ec2-init v\. \S+ on \n/);
  assert.equal(rb.stampAt, rb.content.indexOf('\n'));
  assert.ok(!p.actions.some((a) => a.kind === 'run'), 'chef-client is there and exec is not asked: nothing runs');

  const run = await planModule(chef, { chef: { exec: true, exec_arguments: '-o recipe[x]', delete_validation_post_exec: true } }, { prep: debian({ 'usr/bin/chef-client': '' }) });
  const client = run.actions.at(-1)!;
  assert.ok(isRun(client) && client.runningSystem === 'essential');
  assert.deepEqual(client.argv, ['/usr/bin/chef-client', '-o recipe[x]'], 'a string is one argument, as cloud-init appends it');
  assert.ok(client.then, 'the key is removed after a successful run');

  const badPath = await planModule(chef, { chef: { config_path: '../etc/shadow', validation_cert: 'KEY\n' } }, { prep: debian() });
  assert.match(errors(badPath)[0]!, /^chef\.config_path: /);
  assert.ok(!badPath.actions.some((a) => a.kind === 'write' && a.path.endsWith('.rb')) && badPath.actions.some((a) => a.kind === 'write' && a.path === '/etc/chef/validation.pem'));
  const quoted = await planModule(chef, { chef: {} }, { prep: debian({ 'usr/bin/chef-client': '' }), instanceId: 'i-"x' });
  assert.match(errors(quoted)[0]!, /chef\.node_name: the instance-id/);
});

test('lxd: the trust password goes by a preseed on stdin, never on a command line or in a line; every daemon step waits for the running system', async () => {
  const p = await planModule(lxd, { lxd: { init: { storage_backend: 'dir', trust_password: 'hunter2-secret' }, bridge: { mode: 'new', name: 'lxdbr0' } } }, { prep: debian({ 'usr/bin/lxd': '' }) });
  const runs = p.actions.filter(isRun);
  assert.deepEqual(runs.map((r) => r.argv.slice(0, 3).join(' ')), [
    'lxd waitready --timeout=300', 'lxd init --auto', 'lxd init --preseed', 'lxc network detach-profile', 'lxc profile device',
    'lxc network create', 'lxc network attach-profile',
  ], "lxd init --auto's own lxdbr0 goes before the new one");
  assert.ok(runs.every((r) => !r.argv.join(' ').includes('hunter2')), 'not on argv');
  assert.ok(runs.every((r) => r.runningSystem === 'essential'));
  assert.equal(runs[2]!.input, "config:\n  core.trust_password: hunter2-secret\n");
  assert.ok(!JSON.stringify(p.values).includes('hunter2'), 'not in plan or the log');
  const both = await planModule(lxd, { lxd: { preseed: 'config: {}\n', init: { storage_backend: 'dir' } } });
  assert.deepEqual(both.actions, []);
  assert.match(errors(both)[0]!, /lxd\.preseed cannot be given with lxd\.init or lxd\.bridge/);
  const badName = await planModule(lxd, { lxd: { bridge: { mode: 'new', name: '--force-local' } } });
  assert.match(errors(badName)[0]!, /^lxd\.bridge\.name: /);
});

test('lxd: each bridge value passes its network validator; a bad one is refused by its key, the bridge left out, lxd init still runs', async () => {
  const good = { mode: 'new', name: 'br1', ipv4_address: '10.0.8.1', ipv4_netmask: 24, ipv4_dhcp_first: '10.0.8.2', ipv4_dhcp_last: '10.0.8.254',
    ipv6_address: 'fd42::1', ipv6_netmask: 64, domain: 'lxd.example', mtu: 1500 };
  const p = await planModule(lxd, { lxd: { bridge: good } }, { prep: debian({ 'usr/bin/lxd': '' }) });
  assert.deepEqual(errors(p), []);
  assert.deepEqual(p.actions.filter(isRun).find((r) => r.argv[2] === 'create')?.argv, ['lxc', 'network', 'create', 'br1',
    'ipv4.address=10.0.8.1/24', 'ipv4.nat=true', 'ipv4.dhcp.ranges=10.0.8.2-10.0.8.254', 'ipv6.address=fd42::1/64', 'dns.domain=lxd.example', 'bridge.mtu=1500', '--force-local']);
  const bad: Record<string, unknown> = {
    name: '--force-local', ipv4_address: '10.0.8.1/8', ipv4_netmask: '24 ipv4.firewall=false', ipv4_dhcp_first: 'first', ipv4_dhcp_last: '10.0.8.300',
    ipv6_address: 'fe80::1%eth0', ipv6_netmask: 129, domain: 'lxd.example dns.mode=none', mtu: '1500\nx',
  };
  for (const [key, value] of Object.entries(bad)) {
    const q = await planModule(lxd, { lxd: { init: { storage_backend: 'dir' }, bridge: { ...good, [key]: value } } }, { prep: debian({ 'usr/bin/lxd': '' }) });
    assert.equal(errors(q).length, 1, `${key}: ${errors(q).join('; ')}`);
    assert.match(errors(q)[0]!, new RegExp(`^lxd\\.bridge\\.${key}: .*; the bridge is left out`), key);
    assert.deepEqual(q.actions.filter(isRun).map((r) => r.argv.slice(0, 3).join(' ')), ['lxd waitready --timeout=300', 'lxd init --auto'], `${key}: no lxc network step`);
  }
});

test("ansible: each pull asks ansible-pull's version, then one call (2.12+) or one per playbook; --diff refused before 2.7; run_user through su -; a playbook that is an option is left out", async () => {
  const config = { ansible: { install_method: 'distro', package_name: 'ansible', run_user: 'deploy', pull: [{ url: 'https://git.example/r.git', playbook_names: ['a.yml', 'b.yml'], diff: true }, { url: 'u', playbook_name: '-evil' }] } };
  const p = await planModule(ansible, config, { prep: debian({ 'usr/bin/ansible': '' }) });
  assert.match(errors(p)[0]!, /^ansible\.pull\[1\]: expected a playbook file name not starting with '-', found '-evil'; left out$/);
  assert.deepEqual(whys(p.actions), ['run the ansible version, for pull 1 [essential]'], 'ansible is there: nothing installed; the bad pull left out');
  const asked = p.actions[0] as RunAction;
  assert.deepEqual(asked.argv.slice(0, 3), ['su', '-', 'deploy']);
  const recent = follow(p.actions, 'the ansible version, for pull 1', 'ansible-pull [core 2.14.3]\n');
  assert.deepEqual(recent.map((a) => (a as RunAction).argv.at(-1)), ["ansible-pull --diff --url=https://git.example/r.git a.yml b.yml"]);
  const old = follow(p.actions, 'the ansible version, for pull 1', 'ansible-pull 2.9.6\n');
  assert.deepEqual(old.map((a) => (a as RunAction).argv.at(-1)!.split(' ').at(-1)), ['a.yml', 'b.yml']);
  const tooOld = follow(p.actions, 'the ansible version, for pull 1', 'ansible-pull 2.6.0\n');
  assert.ok(tooOld[0]?.kind === 'report' && /does not support --diff/.test(tooOld[0].message));
  const missing = await planModule(ansible, { ansible: { install_method: 'distro' } });
  assert.match(errors(missing)[0]!, /missing required key 'package_name' in ansible/);
});

test('puppet: the first of puppet-agent, puppet that apt knows; puppet.conf merged once puppet is there, from the paths it prints; the unit enabled is the one started', async () => {
  const config = { puppet: { exec: true, exec_args: '--test --noop', conf: { agent: { server: 'p.example', certname: '%i.NODE' } }, csr_attributes: { custom_attributes: { pw: 'x' } } } };
  const p = await planOn(puppet, config, debian({ 'etc/passwd': 'root:x:0:0::/root:/bin/sh\npuppet:x:997:997::/var/lib/puppet:/usr/sbin/nologin\n' }), 'iid-P');
  assert.deepEqual(whys(p.actions), ['run apt-get update', 'mark', 'run the packages apt knows', 'run enable puppet-agent.service']);
  const chosen = follow(p.actions, 'the packages apt knows', 'puppet\nvim\n');
  assert.ok(chosen[0]?.kind === 'log' && /puppet-agent not in the image's apt sources/.test(chosen[0].text));
  assert.deepEqual((chosen[1] as RunAction).argv.slice(-2), ['install', 'puppet']);
  const none = follow(p.actions, 'the packages apt knows', 'vim\n').filter((a) => a.kind === 'report');
  assert.ok(none[0]?.kind === 'report' && none[0].level === 'warning' && /no installable package in any of: puppet-agent, puppet/.test(none[0].message));
  // Once installed: the paths puppet prints, then the package's puppet.conf merged (its .old kept).
  writeIn(p.root, 'etc/puppet/puppet.conf', '[main]\nssldir = /var/lib/puppet/ssl\n');
  const askConfig = follow(chosen, 'apt-get install puppet', '');
  const askSsl = follow(askConfig, 'puppet config print config', '/etc/puppet/puppet.conf\n');
  const askCsr = follow(askSsl, 'puppet config print ssldir', '/var/lib/puppet/ssl\n');
  const writes = follow(askCsr, 'puppet config print csr_attributes', '/etc/puppet/csr_attributes.yaml\n');
  assert.deepEqual(writes.map((a) => a.kind === 'write' && [a.path, a.mode.toString(8)]),
    [['/etc/puppet/puppet.conf.old', '644'], ['/etc/puppet/puppet.conf', '644'], ['/etc/puppet/csr_attributes.yaml', '600']]);
  assert.equal((writes[1] as { content: string }).content, '[main]\nssldir = /var/lib/puppet/ssl\n\n[agent]\ncertname = iid-p.node\nserver = p.example\n\n');
  const failed = follow(askConfig, 'puppet config print config', '', 1);
  assert.ok(failed[0]?.kind === 'report' && /'puppet config print config' failed \(exit 1\): give puppet\.conf_file/.test(failed[0].message));
  // puppet-agent.service cannot be enabled, puppet.service can: puppet agent, then puppet.service started.
  const fallback = follow(p.actions, 'enable puppet-agent.service', '', 1);
  const then = follow(fallback, 'enable puppet.service', '');
  assert.deepEqual(whys(then), ['run puppet agent [essential]', 'run start puppet.service [optional]']);
  assert.deepEqual((then[0] as RunAction).argv, ['puppet', 'agent', '--test', '--noop'], 'exec_args as a string: split at blanks');
  const aio = await planModule(puppet, { puppet: { install_type: 'aio' } }, { prep: debian() });
  assert.deepEqual(aio.actions, []);
});
