// '## template: jinja' through the built executable: templates rendered with
// the root's instance data, and the result typed by its new first line.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeMime } from '../../src/userdata/make-mime.ts';
import { read } from '../helpers/files.ts';
import { agent, cannotRun, newRoot, seed } from '../helpers/agent.ts';

const skip = cannotRun();
const H = '## template: jinja\n';
const META = 'instance-id: iid-jinja-1\nlocal-hostname: jinja-host\n';
// Stage init renders templates before merging once it calls renderTemplateParts (src/consume.ts, the lead's file).

describe('jinja: through the built executable', { skip: skip ?? false }, () => {
  test('a template rendering to a #! script: rendered with the root\'s instance data, run in final', () => {
    const root = newRoot();
    seed(root, META, `${H}#!/bin/sh\necho "{{ v1.local_hostname }} {{ ds.meta_data.instance_id }} {{ v1.cloud_name | default('none') }}" > /jinja-out\n`);
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(read(root, 'jinja-out'), 'jinja-host iid-jinja-1 nocloud\n');
    assert.equal(read(root, 'var/lib/cloud/instance/scripts/part-001'), '#!/bin/sh\necho "jinja-host iid-jinja-1 nocloud" > /jinja-out\n');
  });

  test('a template rendering to #cloud-config is merged like any cloud-config', () => {
    const root = newRoot();
    seed(root, META, makeMime([
      { type: 'text/jinja2', filename: 'cc.j2', content: Buffer.from(`${H}#cloud-config\nwrite_files:\n  - path: /etc/from-jinja\n    content: "host={{ v1.local_hostname }}"\n`) },
      { type: 'text/cloud-config', filename: 'plain.cfg', content: Buffer.from('#cloud-config\nruncmd: [[touch, /runcmd-ran]]\n') },
    ]));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(read(root, 'etc/from-jinja'), 'host=jinja-host');
    assert.ok(existsSync(join(root, 'runcmd-ran')));
    assert.match(read(root, 'var/lib/cloud/data/user-config.txt'), /from-jinja/);
  });

  test('an unsupported construct: the part is refused with its name and line, nothing of it runs, the rest does', () => {
    const root = newRoot();
    seed(root, META, makeMime([
      { type: 'text/x-shellscript', filename: 'tpl.sh', content: Buffer.from(`${H}#!/bin/sh\ntouch /half-rendered\n{{ range(3) }}\n`) },
      { type: 'text/x-shellscript', filename: 'other.sh', content: Buffer.from('#!/bin/sh\ntouch /other-ran\n') },
    ]));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /user-data tpl\.sh \(text\/jinja2\): jinja template refused, line 4: unsupported jinja construct: call in 'range\(3\)'/);
    assert.ok(!existsSync(join(root, 'half-rendered')));
    assert.ok(!existsSync(join(root, 'var/lib/cloud/instance/scripts/tpl.sh')));
    assert.ok(existsSync(join(root, 'other-ran')));
  });

  test('an undefined variable: rendered as cloud-init does, with a warning (degraded)', () => {
    const root = newRoot();
    seed(root, META, `${H}#!/bin/sh\necho "{{ v1.no_such_key }}" > /jinja-missing\n`);
    const r = agent(root, ['boot']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /could not render jinja template variables: 'no_such_key'/);
    assert.equal(read(root, 'jinja-missing'), 'CI_MISSING_JINJA_VAR/no_such_key\n');
  });
});
