// Datasources, the pure parts: the kernel command line's ds=nocloud, and the
// redaction of instance data.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNoCloudCmdline } from '../../src/sources/nocloud.ts';
import { redact, REDACTED } from '../../src/state/instance-data.ts';

test('ds=nocloud on the kernel command line', () => {
  assert.deepEqual(parseNoCloudCmdline('ro quiet ds=nocloud;s=http://10.0.0.1:8000/;h=web1 console=ttyS0'),
    { seedfrom: 'http://10.0.0.1:8000/', hostname: 'web1' });
  assert.deepEqual(parseNoCloudCmdline('ds=nocloud-net;seedfrom=file:///srv/seed/;i=iid-9'), { seedfrom: 'file:///srv/seed/', instanceId: 'iid-9' });
  assert.equal(parseNoCloudCmdline('root=/dev/vda1 ds=ec2'), null);
});

test('redaction replaces secrets at any depth and keeps the rest', () => {
  assert.deepEqual(redact({ v1: { instance_id: 'i-1' }, ds: { user_data: 'x', meta_data: { admin_pass: 'p', list: [{ token: 't', ok: 1 }] } } }),
    { v1: { instance_id: 'i-1' }, ds: { user_data: REDACTED, meta_data: { admin_pass: REDACTED, list: [{ token: REDACTED, ok: 1 }] } } });
});
