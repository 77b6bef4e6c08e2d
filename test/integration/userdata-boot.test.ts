// Integration: user-data features through the executable — vendor-data,
// launch-index filtering, #include-once caching, a failing include.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeMime } from '../../src/userdata/make-mime.ts';
import { read, writeIn } from '../helpers/files.ts';
import { agentAsync, cannotRun, newRoot, seed } from '../helpers/agent.ts';

describe('user-data through the executable', { skip: cannotRun() ?? false }, () => {

  test('vendor-data: its scripts and config apply, the user\'s config wins, enabled: false turns it off', async () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-vendor\n', '#cloud-config\nwrite_files: [{path: /who, content: user}]\n');
    writeIn(root, 'var/lib/cloud/seed/nocloud/vendor-data', Buffer.from(makeMime([
      { content: Buffer.from('#cloud-config\nwrite_files: [{path: /who, content: vendor}, {path: /vendor-only, content: v}]\nruncmd: ["echo vendor-runcmd > /vr"]\n'), type: 'text/cloud-config', filename: 'v.yaml' },
      { content: Buffer.from('#!/bin/sh\necho vendor-script > /vs\n'), type: 'text/x-shellscript', filename: 'v.sh' },
    ])).toString());
    const r = await agentAsync(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(read(root, 'who'), 'user');
    assert.ok(!existsSync(join(root, 'vendor-only')), 'write_files is the user\'s list: the user\'s key wins whole');
    assert.equal(read(root, 'vr'), 'vendor-runcmd\n');
    assert.equal(read(root, 'vs'), 'vendor-script\n');

    const off = newRoot();
    seed(off, 'instance-id: iid-vendor-off\n', '#cloud-config\nvendor_data: {enabled: false}\n');
    writeIn(off, 'var/lib/cloud/seed/nocloud/vendor-data', '#!/bin/sh\necho no > /vs\n');
    assert.equal((await agentAsync(off, ['boot'])).status, 0);
    assert.ok(!existsSync(join(off, 'vs')));
  });

  test('Launch-Index: only the parts for this instance\'s ami-launch-index run', async () => {
    const root = newRoot();
    seed(root, 'instance-id: iid-li\nami-launch-index: 1\n', Buffer.from(makeMime([
      { content: Buffer.from('#!/bin/sh\necho zero >> /ran\n'), type: 'text/x-shellscript', filename: 'zero.sh' },
      { content: Buffer.from('#!/bin/sh\necho one >> /ran\n'), type: 'text/x-shellscript', filename: 'one.sh' },
      { content: Buffer.from('#!/bin/sh\necho all >> /ran\n'), type: 'text/x-shellscript', filename: 'all.sh' },
    ])).toString().replace(/(filename="zero.sh"\n)/, '$1Launch-Index: 0\n').replace(/(filename="one.sh"\n)/, '$1Launch-Index: 1\n'));
    const r = await agentAsync(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(read(root, 'ran').split('\n').filter(Boolean).sort(), ['all', 'one']);
  });

  test('#include and #include-once over HTTP: fetched, consumed, cached 0600; a failing URL is named and the rest runs', async () => {
    const hits: Record<string, number> = {};
    const server = createServer((req, res) => {
      hits[req.url!] = (hits[req.url!] ?? 0) + 1;
      if (req.url === '/script') res.end('#!/bin/sh\necho included >> /inc\n');
      else if (req.url === '/once') res.end('#cloud-config\nruncmd: ["echo once >> /once-ran"]\n');
      else { res.statusCode = 404; res.end('no'); }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const root = newRoot();
      seed(root, 'instance-id: iid-inc\n', makeMime([
        { content: Buffer.from(`#include\n${base}/script\n${base}/missing\n`), type: 'text/x-include-url', filename: 'inc' },
        { content: Buffer.from(`#include-once\n${base}/once\n`), type: 'text/x-include-once-url', filename: 'once' },
        { content: Buffer.from('#!/bin/sh\necho local >> /local\n'), type: 'text/x-shellscript', filename: 'local.sh' },
      ]));
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`${base}/missing.*404`));
      assert.equal(read(root, 'inc'), 'included\n');
      assert.equal(read(root, 'once-ran'), 'once\n');
      assert.equal(read(root, 'local'), 'local\n');
      const cacheDir = join(root, 'var/lib/cloud/instance/include-once');
      const cached = readdirSync(cacheDir);
      assert.equal(cached.length, 1);
      assert.equal(statSync(join(cacheDir, cached[0]!)).mode & 0o777, 0o600);
      assert.equal((await agentAsync(root, ['boot'])).status, 2);
      assert.equal(hits['/once'], 1, '#include-once is not fetched again');
      assert.equal(hits['/script'], 2, '#include is fetched every boot');
    } finally { server.close(); }
  });
});
