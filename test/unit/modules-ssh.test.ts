// sshd_config edits, as cloud-init's ssh modules make them, on a temp directory.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Context } from '../../src/context.ts';
import { silentLogger } from '../../src/log.ts';
import type { WriteAction } from '../../src/host/actions.ts';
import { sshdConfigAppend, sshdConfigUpdate } from '../../src/modules/ssh-keys.ts';
import { mode, read, tempDir, writeIn } from '../helpers/files.ts';

describe('sshd_config edits, as cloud-init makes them', () => {
  function ctxWith(config: string | null, dropIn = false): Context {
    const dir = tempDir('ec2-init-sshd-');
    if (config !== null) writeIn(dir, 'etc/ssh/sshd_config', config, 0o640);
    if (dropIn) writeIn(dir, 'etc/ssh/sshd_config.d/.keep', '');
    return new Context(dir, silentLogger);
  }
  /** The write applied as the applier would: the file it changed, or null. */
  const applied = (ctx: Context, w: WriteAction | null): string | null => {
    if (w) ctx.files.write(w.path, w.content, { mode: w.mode });
    return w?.path ?? null;
  };
  const updateSshdConfig = (ctx: Context, updates: Record<string, string>) => applied(ctx, sshdConfigUpdate(ctx.files, updates));
  const appendSshdConfig = (ctx: Context, lines: [string, string][]) => applied(ctx, sshdConfigAppend(ctx.files, lines));
  test('a keyword in any case (and key=value) is updated in place; a missing one appended; the mode kept', () => {
    const ctx = ctxWith('# PasswordAuthentication yes\npasswordauthentication=yes\nUsePAM yes\n');
    assert.equal(updateSshdConfig(ctx, { PasswordAuthentication: 'no', PermitRootLogin: 'no' }), '/etc/ssh/sshd_config');
    assert.equal(read(ctx.root, 'etc/ssh/sshd_config'), '# PasswordAuthentication yes\npasswordauthentication no\nUsePAM yes\nPermitRootLogin no\n');
    assert.equal(mode(ctx.root, 'etc/ssh/sshd_config'), 0o640);
    assert.equal(updateSshdConfig(ctx, { PasswordAuthentication: 'no' }), null, 'already so: nothing written');
  });
  test('with "Include /etc/ssh/sshd_config.d/*.conf" the settings go to 50-cloud-init.conf (0600)', () => {
    const ctx = ctxWith('Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\n', true);
    assert.equal(updateSshdConfig(ctx, { PasswordAuthentication: 'no' }), '/etc/ssh/sshd_config.d/50-cloud-init.conf');
    appendSshdConfig(ctx, [['HostCertificate', '/etc/ssh/ssh_host_rsa_key-cert.pub']]);
    appendSshdConfig(ctx, [['HostCertificate', '/etc/ssh/ssh_host_rsa_key-cert.pub']]);
    assert.equal(read(ctx.root, 'etc/ssh/sshd_config.d/50-cloud-init.conf'), 'PasswordAuthentication no\nHostCertificate /etc/ssh/ssh_host_rsa_key-cert.pub\n');
    assert.equal(mode(ctx.root, 'etc/ssh/sshd_config.d/50-cloud-init.conf'), 0o600);
    assert.equal(read(ctx.root, 'etc/ssh/sshd_config'), 'Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\n');
  });
});
