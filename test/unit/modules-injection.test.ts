// Unit: values of the system modules that land in line-based files (issue
// 19, item 4): mounts fields in /etc/fstab and the names of /etc/hostname and
// /etc/hosts are checked by src/validate/, a bad one refused with its key and
// the rest kept. The files read by the real tools (findmnt, getent, chronyd):
// test/integration/modules-injection.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkNames } from '../../src/modules/hostname.ts';
import { planFstab } from '../../src/modules/mounts.ts';

const DEFAULTS = [null, null, 'auto', 'defaults,nofail', '0', '2'];

function plan(mounts: unknown, swapFile: string | null = null) {
  const refused: string[] = [];
  const p = planFstab({ fstab: '/dev/vda1 / ext4 defaults 0 1\n', mounts, defaultFields: DEFAULTS, defaultOptions: 'defaults,nofail', resolve: () => null, swapFile, warn: (m) => refused.push(m), refuse: (m) => refused.push(m) });
  return { p, refused };
}

describe('mounts: one fstab line per entry, or the entry refused by name', () => {
  test('a newline in any field is refused with the entry named; the other entries are written', () => {
    const { p, refused } = plan([
      ['/dev/sdb', '/data\n/dev/sdc /etc ext4 defaults 0 0'],
      ['/dev/sdc\n/dev/sdd', '/mnt/c'],
      ['/dev/sde', '/mnt/e', 'ext4', 'defaults\nx /y z'],
      ['/dev/sdf', '/mnt/f', 'ext4', 'defaults', '0\n/dev/sdg /z ext4 defaults 0', '2'],
      ['/dev/sdh', '/mnt/h', 'ext4', 'defaults', '0', '2', 'an extra field'],
      ['/dev/sdi', '/mnt/i'],
    ]);
    assert.deepEqual(refused.map((m) => m.split(':')[0]), ['mounts[0]', 'mounts[1]', 'mounts[2]', 'mounts[3]', 'mounts[4]']);
    assert.match(refused[0]!, /mount point .* has a newline/);
    assert.equal(p.content, '/dev/vda1 / ext4 defaults 0 1\n/dev/sdi\t/mnt/i\tauto\tdefaults,nofail,comment=cloudconfig\t0\t2\n');
  });

  test('a space in a mount point is written as fstab\'s \\040; the directory made is the path itself', () => {
    const { p, refused } = plan([['/dev/sdb', '/mnt/my data']]);
    assert.deepEqual(refused, []);
    assert.match(p.content!, /^\/dev\/sdb\t\/mnt\/my\\040data\tauto\t/m);
    assert.deepEqual(p.dirs, ['/mnt/my data']);
  });

  test('a swap file name with a newline is refused', () => {
    const { p, refused } = plan([], '/swap.img\n/dev/sdz /etc ext4 defaults 0 0');
    assert.equal(p.content, null);
    assert.match(refused[0]!, /^swap\.filename: .*newline/);
  });
});

describe('hostname and fqdn: a name that is not a hostname is refused with where it came from', () => {
  test('meta-data local-hostname, cloud-config hostname and fqdn', () => {
    const names = (hostname: string, fqdn: string, from = 'meta-data local-hostname') => ({ hostname, fqdn, isDefault: false, from: { hostname: from, fqdn: from } });
    assert.equal(checkNames(names('web1', 'web1.example.org')), null);
    assert.match(checkNames(names('web1\n6', 'web1\n6.6.6.6 bank.example.com'))!, /^meta-data local-hostname: 'web1\\n6' has a newline/);
    assert.match(checkNames(names('ok', 'ok\nx', "cloud-config 'fqdn'"))!, /^cloud-config 'fqdn': 'ok\\nx' has a newline.*left as it is$/);
    assert.match(checkNames(names('-F', 'x', "cloud-config 'hostname'"))!, /^cloud-config 'hostname': '-F' is not a hostname/);
  });
});
