// VMware guestinfo through the built executable. The one mock: VMware Tools'
// backdoor cannot exist on this machine, so a small shell script in the test
// root stands for vmware-rpctool (and vmtoolsd): it answers `info-get
// guestinfo.KEY` from /var/guestinfo/guestinfo.KEY, says "No value found" as
// the real one does, and records every call (an info-set also changes the
// value, as it does on a VM). Everything else is real: the agent runs it
// chrooted, gzip and base64 are Node's, the effects land in the root.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { agent, cannotRun, newRoot, statusProblems } from '../helpers/agent.ts';
import { plantNic, read, writeIn } from '../helpers/files.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIVmwVmwVmwVmwVmwVmwVmwVmwVmwVmwVmwVmwVmwVmw vmware@test';

/** The stand-in for VMware Tools' program; $1 is the command (vmtoolsd: after --cmd). */
const TOOL = `#!/bin/sh
[ "$1" = --cmd ] && shift
printf '%s %s\\n' "$(basename "$0")" "$1" >> /var/guestinfo.calls
case "$1" in
  "info-get "*)
    f="/var/guestinfo/\${1#info-get }"
    if [ -f "$f" ]; then cat "$f"; echo; exit 0; fi
    echo "No value found" >&2; exit 1 ;;
  "info-set "*)
    rest="\${1#info-set }"
    printf '%s' "\${rest#* }" > "/var/guestinfo/\${rest%% *}"; exit 0 ;;
esac
echo "Unknown command" >&2; exit 1
`;
const BROKEN_TOOL = '#!/bin/sh\necho "Failed sending message to VMware." >&2\nexit 1\n';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const gzb64 = (s: string) => gzipSync(Buffer.from(s)).toString('base64');

function vmwareRoot(guestinfo: Record<string, string>, tools: Record<string, string> = { 'vmware-rpctool': TOOL }): string {
  const root = newRoot();
  writeIn(root, 'etc/cloud/cloud.cfg', 'datasource_list: [NoCloud, VMware]\nsystem_info:\n  network:\n    renderers: [networkd]\n');
  writeIn(root, 'sys/class/dmi/id/product_name', 'VMware Virtual Platform\n');
  writeIn(root, 'sys/class/dmi/id/sys_vendor', 'VMware, Inc.\n');
  writeIn(root, 'sys/class/dmi/id/product_uuid', '4237A8B1-1C2D-4E5F-8A9B-0C1D2E3F4A5B\n');
  plantNic(root, 'ens192', '00:50:56:aa:bb:01');
  // The root's own /sbin (this machine's /usr is bound read-only): on the PATH the agent runs programs with.
  for (const [name, script] of Object.entries(tools)) writeIn(root, `sbin/${name}`, script, 0o755);
  for (const [key, value] of Object.entries(guestinfo)) writeIn(root, `var/guestinfo/guestinfo.${key}`, value);
  return root;
}

const calls = (root: string) => (existsSync(join(root, 'var/guestinfo.calls')) ? read(root, 'var/guestinfo.calls').split('\n').slice(0, -1) : []);
const guestinfo = (root: string, key: string) => readFileSync(join(root, 'var/guestinfo', `guestinfo.${key}`), 'utf8');

describe('VMware datasource: guestinfo through vmware-rpctool / vmtoolsd (built executable)', { skip: cannotRun() ?? false }, () => {
  test('metadata, gzip+base64 user-data, base64 vendor-data, encoded network; cleanup-guestinfo clears them after reading', () => {
    const network = 'version: 2\nethernets:\n  nic0:\n    match: {macaddress: "00:50:56:aa:bb:01"}\n    set-name: ens192\n    addresses: [203.0.113.9/24]\n';
    const meta = [
      'instance-id: vm-4237a8b1',
      'local-hostname: vsphere-vm',
      `public-keys-data: "${KEY}"`,
      `network: ${gzb64(network)}`,
      'network.encoding: gzip+base64',
      'cleanup-guestinfo: [userdata, vendordata]',
      '',
    ].join('\n');
    const root = vmwareRoot({
      metadata: meta,
      userdata: gzb64('#cloud-config\nruncmd: ["echo from-guestinfo > /ran"]\n'),
      'userdata.encoding': 'gzip+base64',
      vendordata: b64('#cloud-config\nwrite_files: [{path: /etc/vendor-was-here, content: "v\\n"}]\n'),
      'vendordata.encoding': 'b64',
    });
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(read(root, 'ran'), 'from-guestinfo\n');
    assert.equal(read(root, 'etc/vendor-was-here'), 'v\n');
    assert.equal(read(root, 'etc/hostname'), 'vsphere-vm\n');
    assert.match(read(root, 'root/.ssh/authorized_keys'), /vmware@test/);
    assert.match(read(root, 'etc/systemd/network/10-cloud-init-ens192.network'), /Address=203\.0\.113\.9\/24/);
    assert.equal(agent(root, ['query', 'v1.cloud_name']).stdout, 'vmware\n');
    assert.equal(agent(root, ['query', 'v1.platform']).stdout, 'vmware\n');
    assert.equal(agent(root, ['query', 'v1.subplatform']).stdout, 'guestinfo (guestinfo.metadata)\n');
    assert.equal(agent(root, ['query', 'v1.instance_id']).stdout, 'vm-4237a8b1\n');
    assert.equal(read(root, 'run/cloud-init/cloud-id'), 'vmware\n');
    // The user-data as decoded (gzip undone), kept 0600 like every source's.
    assert.equal(readFileSync(join(root, 'var/lib/cloud/data/user-data.raw'), 'utf8'), '#cloud-config\nruncmd: ["echo from-guestinfo > /ran"]\n');
    // Cleared right after reading, as cloud-init clears them: KEY to "---", KEY.encoding to " ".
    const sets = calls(root).filter((c) => c.includes('info-set'));
    assert.deepEqual(sets, [
      'vmware-rpctool info-set guestinfo.userdata ---',
      'vmware-rpctool info-set guestinfo.userdata.encoding  ',
      'vmware-rpctool info-set guestinfo.vendordata ---',
      'vmware-rpctool info-set guestinfo.vendordata.encoding  ',
    ]);
    assert.equal(guestinfo(root, 'userdata'), '---');
    assert.equal(guestinfo(root, 'userdata.encoding'), ' ');
    assert.equal(guestinfo(root, 'metadata'), meta);
    assert.deepEqual(statusProblems(root), []);
    // A reboot: "---" is no value; the same instance (metadata's instance-id), nothing run again.
    const again = agent(root, ['boot']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(read(root, 'var/log/ec2-init.log'), /instance vm-4237a8b1: same instance as last boot/);
    assert.equal(read(root, 'ran'), 'from-guestinfo\n');
  });

  test('JSON metadata without instance-id (DMI product_uuid instead), plain user-data, `redact` over cleanup-guestinfo; plan clears nothing', () => {
    const root = vmwareRoot({
      metadata: JSON.stringify({ 'local-hostname': 'json-vm', redact: 'userdata', 'cleanup-guestinfo': ['vendordata'], network: { version: 2, ethernets: { ens192: { dhcp4: true } } } }),
      userdata: '#!/bin/sh\necho plain > /ran\n',
    });
    const plan = agent(root, ['plan']);
    assert.equal(plan.status, 0, plan.stderr);
    assert.match(plan.stderr, /plan: guestinfo\.userdata would be cleared/);
    assert.deepEqual(calls(root).filter((c) => c.includes('info-set')), []);
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(read(root, 'ran'), 'plain\n');
    assert.equal(agent(root, ['query', 'v1.instance_id']).stdout, '4237a8b1-1c2d-4e5f-8a9b-0c1d2e3f4a5b\n');
    assert.match(read(root, 'etc/systemd/network/10-cloud-init-ens192.network'), /DHCP=ipv4/);
    assert.deepEqual(calls(root).filter((c) => c.includes('info-set')), ['vmware-rpctool info-set guestinfo.userdata ---', 'vmware-rpctool info-set guestinfo.userdata.encoding  ']);
    assert.equal(guestinfo(root, 'userdata'), '---');
    // What the metadata said about the network, where cloud-init keeps it.
    assert.equal(agent(root, ['query', 'ds.meta_data.network.config.version']).stdout, '2\n');
  });

  test('vmtoolsd --cmd when vmware-rpctool fails, and when it is the only one installed (default datasource_list)', () => {
    const both = vmwareRoot({ metadata: 'instance-id: vm-fallback\n', userdata: '#!/bin/sh\necho fallback > /ran\n' }, { 'vmware-rpctool': BROKEN_TOOL, vmtoolsd: TOOL });
    const r = agent(both, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(read(both, 'ran'), 'fallback\n');
    assert.match(r.stderr, /vmware-rpctool "info-get guestinfo\.metadata": exit 1: Failed sending message to VMware\.; trying \/sbin\/vmtoolsd/);
    assert.ok(calls(both).every((c) => c.startsWith('vmtoolsd info-get')), calls(both).join('\n'));
    // With the default datasource_list (no cloud.cfg of the image's).
    const only = vmwareRoot({ userdata: '#!/bin/sh\necho only > /ran\n' }, { vmtoolsd: TOOL });
    rmSync(join(only, 'etc/cloud/cloud.cfg'));
    assert.equal(agent(only, ['boot']).status, 0);
    assert.equal(read(only, 'ran'), 'only\n');
  });

  test('not asked off VMware or without the tools; nothing in guestinfo is not a source', () => {
    const other = vmwareRoot({ userdata: '#!/bin/sh\necho no > /ran\n' });
    writeIn(other, 'sys/class/dmi/id/product_name', 'Standard PC (Q35 + ICH9, 2009)\n');
    const r = agent(other, ['init', '--local']);
    assert.match(r.stderr, /datasource VMware: DMI does not say VMware, or neither vmware-rpctool nor vmtoolsd is installed; not asked/);
    assert.deepEqual(calls(other), []);
    const bare = vmwareRoot({ userdata: 'x' }, {});
    assert.match(agent(bare, ['init', '--local']).stderr, /datasource VMware: .*not asked/);
    const empty = vmwareRoot({ metadata: '---', userdata: '' });
    const e = agent(empty, ['init', '--local']);
    assert.match(e.stderr, /datasource VMware: no guestinfo\.metadata, \.userdata or \.vendordata/);
    assert.ok(!existsSync(join(empty, 'var/lib/cloud/data/instance-id')));
  });

  test('bad input: a value not in its encoding is an error naming the key; an odd redact entry is skipped with a warning', () => {
    const bad = vmwareRoot({ metadata: 'instance-id: vm-bad\n', userdata: 'not*base64!', 'userdata.encoding': 'base64' });
    const r = agent(bad, ['init', '--local']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /datasource VMware: guestinfo\.userdata: not base64/);
    const odd = vmwareRoot({ metadata: 'instance-id: vm-odd\ncleanup-guestinfo: ["userdata --- x", userdata]\n', userdata: '#!/bin/sh\necho odd > /ran\n' });
    assert.equal(agent(odd, ['boot']).status, 2, 'a warning: degraded');
    assert.equal(read(odd, 'ran'), 'odd\n');
    assert.ok(statusProblems(odd).some((p) => /redact: "userdata --- x" is not a guestinfo key name/.test(p)), statusProblems(odd).join('\n'));
    assert.deepEqual(calls(odd).filter((c) => c.includes('info-set')), ['vmware-rpctool info-set guestinfo.userdata ---', 'vmware-rpctool info-set guestinfo.userdata.encoding  ']);
  });
});
