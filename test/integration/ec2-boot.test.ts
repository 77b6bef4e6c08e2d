// Integration: the built executable boots from the EC2 metadata service — a
// real HTTP server (the simulator) on 127.0.0.1 that behaves like IMDS.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { makeMime } from '../../src/userdata/make-mime.ts';
import { SKIP_REASON, startImdsSimulator } from '../helpers/imds-simulator.ts';
import { read, writeIn } from '../helpers/files.ts';
import { agentAsync, cannotRun, newRoot } from '../helpers/agent.ts';

const skip = cannotRun() ?? SKIP_REASON ?? false;

describe('boot from the EC2 metadata service (simulator on 127.0.0.1)', { skip }, () => {

  function ec2Root(url: string, extra = ''): string {
    const root = newRoot();
    // A datasource_list of only Ec2 forces the source: this is not an EC2 machine.
    writeIn(root, 'etc/cloud/cloud.cfg', `datasource_list: [Ec2]\ndatasource:\n  Ec2:\n    metadata_urls: ['${url}']\n    timeout: 1\n    max_wait: 5\n${extra}`);
    return root;
  }

  test('IMDSv2 only: gzipped multipart user-data with a script and a cloud-config', async () => {
    const userData = gzipSync(makeMime([
      { content: Buffer.from('#!/bin/sh\necho "script from ec2" > /script-ran\n'), type: 'text/x-shellscript', filename: 'hello.sh' },
      { content: Buffer.from('#cloud-config\nwrite_files: [{path: /etc/from-ec2, content: ok}]\n'), type: 'text/cloud-config', filename: 'cfg.yaml' },
    ]));
    const sim = await startImdsSimulator({ mode: 'required', userData });
    try {
      const root = ec2Root(sim.url);
      const r = await agentAsync(root, ['boot']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(read(root, 'script-ran'), 'script from ec2\n');
      assert.equal(read(root, 'etc/from-ec2'), 'ok');
      const instanceId = read(root, 'var/lib/cloud/data/instance-id').trim();
      assert.match(instanceId, /^i-[0-9a-f]+$/);
      assert.deepEqual(readFileSync(join(root, 'var/lib/cloud/data/user-data.raw')), userData);
      assert.equal(statSync(join(root, 'var/lib/cloud/data/ec2/meta-data.json')).mode & 0o777, 0o600);
      // Every GET carried the token; the first request was the token PUT.
      assert.equal(sim.requests[0]!.method, 'PUT');
      const gets = sim.requests.filter((q) => q.method === 'GET');
      assert.ok(gets.length > 3);
      for (const g of gets) assert.ok(g.headers['x-aws-ec2-metadata-token'], `${g.path} without a token`);
      // The token never reaches the log.
      for (const t of sim.tokens) assert.ok(!read(root, 'var/log/ec2-init.log').includes(t));
      const q = await agentAsync(root, ['query', 'v1.availability_zone']);
      assert.match(q.stdout, /^[a-z]+-[a-z]+-\d[a-z]\n$/);
      assert.equal((await agentAsync(root, ['query', 'v1.instance_id'])).stdout, `${instanceId}\n`);
    } finally { await sim.close(); }
  });

  test('a reboot asks only for the instance-id and reuses the cache; a new instance-id is a new first boot', async () => {
    const sim = await startImdsSimulator({ mode: 'required', userData: '#cloud-config\nruncmd: ["echo x >> /runs"]\n' });
    try {
      const root = ec2Root(sim.url);
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      const firstBoot = sim.requests.length;
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      const reboot = sim.requests.slice(firstBoot);
      assert.deepEqual(reboot.map((q) => `${q.method} ${q.path}`), ['PUT /latest/api/token', 'GET /latest/meta-data/instance-id']);
      assert.equal(read(root, 'runs'), 'x\n');
      sim.options.metaData = { 'instance-id': 'i-0123456789abcdef0' };
      assert.equal((await agentAsync(root, ['boot'])).status, 0);
      assert.ok(sim.requests.length - firstBoot - reboot.length > 10, 'a full read for the new instance');
      assert.equal(read(root, 'var/lib/cloud/data/instance-id'), 'i-0123456789abcdef0\n');
      assert.equal(read(root, 'runs'), 'x\nx\n');
    } finally { await sim.close(); }
  });

  test('a metadata service that is not there: no datasource, quickly, and nothing runs', async () => {
    const sim = await startImdsSimulator({});
    const url = sim.url;
    await sim.refuse();
    const root = ec2Root(url);
    const started = performance.now();
    const r = await agentAsync(root, ['boot']);
    assert.ok(performance.now() - started < 3000);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no datasource found/);
    await sim.close();
  });
});
