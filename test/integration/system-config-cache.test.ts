// The parsed system config is kept between stages and boots (config/system-cache.ts),
// and never stands in for a file that changed: each case edits cloud.cfg.d the way
// an image builder or an admin does and checks that the next stage reads the edit.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agent, cannotRun, newRoot, seed } from '../helpers/agent.ts';
import { tempDir, writeIn } from '../helpers/files.ts';
import { needRoot } from '../helpers/needs.ts';
import { readSystemConfig } from '../../src/config/system.ts';
import { SYSTEM_CONFIG_CACHE } from '../../src/config/system-cache.ts';
import { Files } from '../../src/host/files.ts';
import type { Diag } from '../../src/types.ts';

const META = 'instance-id: iid-cache-1\nlocal-hostname: cache-host\n';

// Files follows only links owned by root (host/tree.ts): the reader's tests need root too.
describe('system config cache (the reader, on a throw-away root)', { skip: needRoot('Files on a throw-away root') ?? false }, () => {
  const dir = () => {
    const root = tempDir('ec2-init-syscache-');
    writeIn(root, 'etc/cloud/cloud.cfg', 'datasource_list: [NoCloud, Ec2]\nsystem_info:\n  default_user: {name: debian}\n');
    writeIn(root, 'var/lib/cloud/data/.keep', '');
    return root;
  };

  test('a second reading of the same files comes from the cache, which is 0600', () => {
    const root = dir();
    const files = new Files(root);
    const first = readSystemConfig(files, [], null, 'update');
    const cache = join(root, SYSTEM_CONFIG_CACHE);
    assert.equal(statSync(cache).mode & 0o777, 0o600);
    // The cache is what is read now: a changed cache (same file identities) shows through.
    writeFileSync(cache, readFileSync(cache, 'utf8').replace('"debian"', '"cached"'));
    assert.equal(readSystemConfig(files, [], null, 'update').defaultUser?.name, 'cached');
    assert.deepEqual(first.datasourceList, ['NoCloud', 'Ec2']);
  });

  test('an edited, added or removed file is read again', () => {
    const root = dir();
    const files = new Files(root);
    readSystemConfig(files, [], null, 'update');
    // Edited in place, same size, a later mtime.
    writeFileSync(join(root, 'etc/cloud/cloud.cfg'), 'datasource_list: [Ec2, NoCloud]\nsystem_info:\n  default_user: {name: debian}\n');
    utimesSync(join(root, 'etc/cloud/cloud.cfg'), new Date(), new Date(Date.now() + 5000));
    assert.deepEqual(readSystemConfig(files, [], null, 'update').datasourceList, ['Ec2', 'NoCloud']);
    writeIn(root, 'etc/cloud/cloud.cfg.d/90-only.cfg', 'datasource_list: [ConfigDrive]\n');
    assert.deepEqual(readSystemConfig(files, [], null, 'update').datasourceList, ['ConfigDrive']);
    rmSync(join(root, 'etc/cloud/cloud.cfg.d/90-only.cfg'));
    assert.deepEqual(readSystemConfig(files, [], null, 'update').datasourceList, ['Ec2', 'NoCloud']);
  });

  test('a broken file is not cached: it is reported on every reading', () => {
    const root = dir();
    const files = new Files(root);
    writeIn(root, 'etc/cloud/cloud.cfg.d/50-broken.cfg', 'a: [unclosed\n');
    for (let i = 0; i < 2; i++) {
      const diags: Diag[] = [];
      readSystemConfig(files, diags, null, 'update');
      assert.equal(diags.length, 1, `reading ${i + 1}`);
      assert.match(diags[0]!.where, /50-broken\.cfg/);
    }
    assert.ok(!existsSync(join(root, SYSTEM_CONFIG_CACHE)));
  });
});

describe('system config cache (the executable)', { skip: cannotRun() ?? false }, () => {
  test('plan writes no cache; a boot does; a datasource_list edited after it is what the next boot uses', () => {
    const root = newRoot();
    writeIn(root, 'etc/cloud/cloud.cfg', 'datasource_list: [NoCloud]\n');
    seed(root, META, '#cloud-config\nruncmd: ["true"]\n');
    assert.equal(agent(root, ['plan']).status, 0);
    assert.ok(!existsSync(join(root, SYSTEM_CONFIG_CACHE)), 'plan wrote nothing');
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(statSync(join(root, SYSTEM_CONFIG_CACHE)).mode & 0o777, 0o600);
    writeIn(root, 'etc/cloud/cloud.cfg.d/90-none.cfg', 'datasource_list: [None]\n');
    agent(root, ['boot']);
    assert.match(readFileSync(join(root, 'var/log/ec2-init.log'), 'utf8'), /no datasource found \(searched None\)/);
  });
});
