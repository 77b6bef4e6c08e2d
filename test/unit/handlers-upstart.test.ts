// #upstart-job: the job file's name, and when upstart is asked to reload.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { reloadSkipReason, upstartJobPath } from '../../src/handlers/upstart.ts';

describe('upstart jobs (unit)', () => {
  test('the job file name: .conf added unless there (any case)', () => {
    assert.equal(upstartJobPath('part-001'), '/etc/init/part-001.conf');
    assert.equal(upstartJobPath('my-job.conf'), '/etc/init/my-job.conf');
    assert.equal(upstartJobPath('MY.CONF'), '/etc/init/MY.CONF');
  });

  test('reload only on / with upstart running', () => {
    assert.equal(reloadSkipReason('/', 'initctl (upstart 1.12.1)\n'), null);
    assert.match(reloadSkipReason('/mnt/image', 'initctl (upstart 1.12.1)')!, /the root is \/mnt\/image, not the running system/);
    assert.match(reloadSkipReason('/', null)!, /\/sbin\/initctl does not exist: upstart is not the init system/);
    assert.match(reloadSkipReason('/', 'exit 1: Failed to connect to socket /com/ubuntu/upstart')!, /does not say upstart/);
    assert.match(reloadSkipReason('/', 'systemd 252')!, /does not say upstart \("systemd 252"\)/);
  });
});
