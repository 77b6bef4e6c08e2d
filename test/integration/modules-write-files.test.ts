// write_files through the built executable on throw-away roots: what
// cloud-init 25.1 does with the directories an entry needs.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeIn } from '../helpers/files.ts';
import { agent, cannotRun, newRoot, seed, statusProblems } from '../helpers/agent.ts';

const skip = cannotRun();

function accountsRoot(): string {
  const root = newRoot();
  writeIn(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234::/home/app:/bin/sh\n');
  writeIn(root, 'etc/group', 'root:x:0:\napp:x:1234:\nstaff:x:50:\n');
  return root;
}
const ids = (root: string, p: string) => { const s = statSync(join(root, p)); return [s.uid, s.gid, s.mode & 0o7777]; };

describe('write_files: parent directories', { skip: skip ?? false }, () => {
  test("missing parents get the entry's owner (0755); existing ones are left as they are", () => {
    const root = accountsRoot();
    mkdirSync(join(root, 'opt'), { mode: 0o755 });
    seed(root, 'instance-id: iid-wf-1\n', [
      '#cloud-config', 'write_files:',
      '  - {path: /opt/app/conf/app.ini, content: "x=1\\n", owner: "app:staff", permissions: "0640"}',
      '  - {path: /srv/plain/file, content: y}',
      '',
    ].join('\n'));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(statusProblems(root), []);
    assert.deepEqual(ids(root, 'opt/app/conf/app.ini'), [1234, 50, 0o640]);
    // cloud-init 25.1: util.write_file → ensure_dir(dirname, user, group) chowns every directory it made.
    assert.deepEqual(ids(root, 'opt/app/conf'), [1234, 50, 0o755]);
    assert.deepEqual(ids(root, 'opt/app'), [1234, 50, 0o755]);
    assert.deepEqual(ids(root, 'opt'), [0, 0, 0o755], 'a directory that was there keeps its owner');
    assert.deepEqual(ids(root, 'srv/plain'), [0, 0, 0o755]);
    assert.equal(readFileSync(join(root, 'opt/app/conf/app.ini'), 'utf8'), 'x=1\n');
  });
});

describe('YAML !!binary values, handled as cloud-init handles bytes', { skip: skip ?? false }, () => {
  test("write_files undoes the entry's encoding on !!binary content (Terraform's gzip idiom); ssh_keys and random_seed take bytes as they are", () => {
    const root = accountsRoot();
    const payload = 'hello from terraform\nline 2\n';
    const gz = gzipSync(Buffer.from(payload));
    const key = Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n');
    seed(root, 'instance-id: iid-wf-2\n', [
      '#cloud-config', 'write_files:',
      '  - path: /etc/tf/gzip', '    encoding: gzip', '    content: !!binary |', `      ${gz.toString('base64')}`,
      '  - path: /etc/tf/gz-b64', '    encoding: gz+b64', `    content: !!binary ${Buffer.from(gz.toString('base64')).toString('base64')}`,
      '  - path: /etc/tf/raw', `    content: !!binary ${Buffer.from([0, 0xff, 0x1f]).toString('base64')}`,
      '  - path: /etc/tf/later', '    encoding: gzip', '    defer: true', `    content: !!binary ${gz.toString('base64')}`,
      'ssh_keys:', `  ed25519_private: !!binary ${key.toString('base64')}`, '  ed25519_public: ssh-ed25519 AAAA root@x',
      'random_seed:', '  file: /var/seed', '  encoding: gzip', `  data: !!binary ${gz.toString('base64')}`,
      '',
    ].join('\n'));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(statusProblems(root), []);
    assert.equal(readFileSync(join(root, 'etc/tf/gzip'), 'utf8'), payload);
    assert.equal(readFileSync(join(root, 'etc/tf/gz-b64'), 'utf8'), payload);
    assert.deepEqual(readFileSync(join(root, 'etc/tf/raw')), Buffer.from([0, 0xff, 0x1f]));
    assert.equal(readFileSync(join(root, 'etc/tf/later'), 'utf8'), payload, 'deferred to the final stage: the bytes survive the saved config');
    assert.deepEqual(readFileSync(join(root, 'etc/ssh/ssh_host_ed25519_key')), key);
    assert.equal(readFileSync(join(root, 'var/seed'), 'utf8'), payload);
  });
});
