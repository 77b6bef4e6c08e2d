// Keys of cloud-init's schema that real user-data carries and ec2-init must
// know: the old apt_* keys converted as cloud-init converts them, output, and
// the keys a Debian image cannot act on (notes, never warnings).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { aptSettings } from '../../src/modules/apt-legacy.ts';
import { outputPlan } from '../../src/modules/output.ts';
import { schemaProblems as check } from '../helpers/schema.ts';


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
    const problems = check('#cloud-config\nsnap: {commands: [ls]}\nubuntu_pro: {token: x}\nlandscape: {client: {}}\nmcollective: {conf: {}}\n');
    const by = Object.fromEntries(problems.map((p) => [p.path, p]));
    for (const k of ['snap', 'ubuntu_pro', 'landscape']) {
      assert.equal(by[k]?.level, 'info', k);
      assert.match(by[k]!.message, /is not applicable on this image/);
    }
    assert.equal(by['mcollective']?.level, 'warning');
  });
});
