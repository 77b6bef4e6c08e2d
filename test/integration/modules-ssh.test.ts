// ssh: host keys made by the real ssh-keygen chrooted into throw-away roots,
// provided host keys and certificates, authorized keys for the default user
// and root (disable_root), from user-data and from the datasource's keys.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DISABLE_USER_OPTS } from '../../src/modules/ssh-keys.ts';
import { CONFORMANCE } from '../helpers/paths.ts';
import { mode, owner, read, tempDir, writeIn } from '../helpers/files.ts';
import { agent, cannotRun, newRoot, seed, statusProblems } from '../helpers/agent.ts';
import { needCommands } from '../helpers/needs.ts';
import { imageAccounts } from '../helpers/cloud-root.ts';

const skip = cannotRun() ?? needCommands(['ssh-keygen', 'useradd'], 'openssh-client passwd');

const DEBIAN_CLOUD_CFG = `users: [default]
system_info:
  default_user: {name: debian, lock_passwd: true, gecos: Debian, groups: [adm, sudo], sudo: ["ALL=(ALL) NOPASSWD:ALL"], shell: /bin/bash}
`;
const SSHD_CONFIG = 'Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\n';
const SSH_CONFIG_WITH_TWO_FILES = `${SSHD_CONFIG}AuthorizedKeysFile .ssh/authorized_keys_shared .ssh/authorized_keys\n`;

/** A root with a Debian image's account files and, unless told otherwise, an ssh server's config. */
function sshRoot(opts: { sshd?: boolean; cloudCfg?: string } = {}): string {
  const root = newRoot();
  imageAccounts(root);
  writeIn(root, 'etc/cloud/cloud.cfg', opts.cloudCfg ?? DEBIAN_CLOUD_CFG);
  if (opts.sshd ?? true) {
    writeIn(root, 'etc/ssh/sshd_config', SSHD_CONFIG);
    writeIn(root, 'etc/ssh/sshd_config.d/.keep', '');
  }
  return root;
}

const passwd = (root: string, name: string) => read(root, 'etc/passwd').split('\n').find((l) => l.startsWith(`${name}:`))?.split(':');

const problems = statusProblems;

function boot(root: string, userData: string, meta = 'instance-id: iid-ssh-1\n') {
  seed(root, meta, userData);
  return agent(root, ['boot']);
}

/** `ssh-keygen -l` of a file of the root: "256 SHA256:… comment (ED25519)". */
function fingerprint(path: string): string {
  const r = spawnSync('ssh-keygen', ['-lf', path], { encoding: 'utf8' });
  assert.equal(r.status, 0, `ssh-keygen -lf ${path}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A real key pair made in a temp dir of the test (never under this machine's /etc). */
function keyPair(type: string): { dir: string; priv: string; pub: string } {
  const dir = tempDir('ec2-init-keys-');
  const r = spawnSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', `given-${type}`, '-f', join(dir, 'key')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { dir, priv: readFileSync(join(dir, 'key'), 'utf8'), pub: readFileSync(join(dir, 'key.pub'), 'utf8') };
}

const KEY_1 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOneOneOneOneOneOneOneOneOneOneOneOneOne one@laptop';
const KEY_2 = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQTwoTwoTwoTwoTwoTwo two@desk';
const KEY_META = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMetaMetaMetaMetaMetaMetaMetaMetaMetaMeta my-ec2-keypair';
const rootPrefix = (user: string) => DISABLE_USER_OPTS.replace('$USER', user).replace('$DISABLE_USER', 'root');

describe('ssh host keys (real ssh-keygen, chrooted)', { skip: skip ?? false }, () => {
  test("the image's keys are deleted and rsa, ecdsa, ed25519 made: modes, owners, valid keys", () => {
    const root = sshRoot();
    writeIn(root, 'etc/ssh/ssh_host_rsa_key', 'image key, shared by every instance\n', 0o600);
    writeIn(root, 'etc/ssh/ssh_host_rsa_key.pub', 'ssh-rsa AAAAimage image\n');
    writeIn(root, 'etc/ssh/ssh_host_dsa_key', 'old\n', 0o600);
    writeIn(root, 'etc/hostname', 'img-host\n');
    const r = boot(root, '#cloud-config\n{}\n', 'instance-id: iid-ssh-1\nlocal-hostname: img-host\n');
    assert.deepEqual(problems(root), [], r.stderr);
    assert.ok(!existsSync(join(root, 'etc/ssh/ssh_host_dsa_key')));
    for (const [type, bits, label] of [['rsa', /^3072 /, 'RSA'], ['ecdsa', /^256 /, 'ECDSA'], ['ed25519', /^256 /, 'ED25519']] as const) {
      const key = `etc/ssh/ssh_host_${type}_key`;
      assert.equal(mode(root, key), 0o600, key);
      assert.equal(mode(root, `${key}.pub`), 0o644, `${key}.pub`);
      assert.deepEqual(owner(root, key), [0, 0]);
      const fp = fingerprint(join(root, `${key}.pub`));
      assert.match(fp, bits);
      assert.match(fp, new RegExp(` root@img-host \\(${label}\\)$`), 'named after the image, not this machine');
      assert.equal(fingerprint(join(root, key)).split(' ')[1], fp.split(' ')[1], 'the private key matches its public half');
    }
    assert.notEqual(read(root, 'etc/ssh/ssh_host_rsa_key'), 'image key, shared by every instance\n');
    assert.match(read(root, 'var/log/ec2-init.log'), /module ssh: generated ed25519 host key \/etc\/ssh\/ssh_host_ed25519_key SHA256:/);
  });

  test('ssh_deletekeys: false keeps the image\'s keys; ssh_genkeytypes chooses what is made', () => {
    const root = sshRoot();
    writeIn(root, 'etc/ssh/ssh_host_rsa_key', 'kept\n', 0o600);
    boot(root, '#cloud-config\nssh_deletekeys: false\nssh_genkeytypes: [ed25519, rsa]\nssh_quiet_keygen: true\n');
    assert.deepEqual(problems(root), []);
    assert.equal(read(root, 'etc/ssh/ssh_host_rsa_key'), 'kept\n');
    assert.ok(!existsSync(join(root, 'etc/ssh/ssh_host_rsa_key.pub')), 'an existing key is not made again');
    assert.ok(existsSync(join(root, 'etc/ssh/ssh_host_ed25519_key.pub')));
    assert.ok(!existsSync(join(root, 'etc/ssh/ssh_host_ecdsa_key')));
  });

  test('a root without an ssh server gets no host keys and no error', () => {
    const root = sshRoot({ sshd: false });
    const r = boot(root, '#cloud-config\nbootcmd: ["true"]\n');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(problems(root), []);
    assert.ok(!existsSync(join(root, 'etc/ssh')));
    // As in cloud-init, authorized_keys is made (empty) whether or not sshd is there.
    assert.equal(read(root, 'root/.ssh/authorized_keys'), '', 'no keys: an empty authorized_keys');
  });

  test('ssh_keys: given keys written with their modes, a missing public half derived, a certificate announced', () => {
    const root = sshRoot();
    const ed = keyPair('ed25519');
    const rsa = keyPair('rsa');
    const ca = keyPair('ed25519');
    const cert = spawnSync('ssh-keygen', ['-q', '-s', join(ca.dir, 'key'), '-I', 'host', '-h', '-n', 'host.example', join(rsa.dir, 'key.pub')], { encoding: 'utf8' });
    assert.equal(cert.status, 0, cert.stderr);
    const certText = readFileSync(join(rsa.dir, 'key-cert.pub'), 'utf8');
    const indent = (s: string) => s.trimEnd().split('\n').map((l) => `    ${l}`).join('\n');
    boot(root, `#cloud-config
ssh_keys:
  ed25519_private: |
${indent(ed.priv)}
  rsa_private: |
${indent(rsa.priv)}
  rsa_public: ${rsa.pub.trim()}
  rsa_certificate: ${certText.trim()}
  dsa_private: not supported any more
`);
    const p = problems(root);
    assert.equal(p.length, 1, p.join('\n'));
    assert.match(p[0]!, /ssh_keys: skipped unrecognized entry 'dsa_private'/);
    assert.equal(read(root, 'etc/ssh/ssh_host_ed25519_key'), ed.priv);
    assert.equal(mode(root, 'etc/ssh/ssh_host_ed25519_key'), 0o600);
    const derived = read(root, 'etc/ssh/ssh_host_ed25519_key.pub');
    // As cloud-init's `echo "$(ssh-keygen -yf KEY)" root@localhost`: -y prints the key's own comment too.
    assert.equal(derived, `${ed.pub.trim()} root@localhost\n`, 'public half derived by ssh-keygen -y');
    assert.equal(mode(root, 'etc/ssh/ssh_host_ed25519_key.pub'), 0o644);
    assert.equal(read(root, 'etc/ssh/ssh_host_rsa_key.pub'), rsa.pub.trim());
    assert.equal(mode(root, 'etc/ssh/ssh_host_rsa_key-cert.pub'), 0o644);
    assert.match(fingerprint(join(root, 'etc/ssh/ssh_host_rsa_key-cert.pub')), /RSA-CERT/);
    assert.equal(read(root, 'etc/ssh/sshd_config.d/50-cloud-init.conf'), 'HostCertificate /etc/ssh/ssh_host_rsa_key-cert.pub\n');
    assert.ok(!existsSync(join(root, 'etc/ssh/ssh_host_ecdsa_key')), 'with ssh_keys, nothing is generated');
    assert.ok(!read(root, 'var/log/ec2-init.log').includes(ed.priv.split('\n')[1]!), 'no private key in the log');
  });
});

describe('authorized keys for the default user and root', { skip: skip ?? false }, () => {
  test('metadata public keys and ssh_authorized_keys: the default user gets them, root gets them behind disable_root', () => {
    const root = sshRoot();
    const r = boot(root, `#cloud-config\nssh_authorized_keys: [${KEY_1}, ${KEY_2}, ${KEY_META}]\n`, `instance-id: iid-ssh-1\npublic-keys: ["${KEY_META}"]\n`);
    assert.deepEqual(problems(root), [], r.stderr);
    const debian = passwd(root, 'debian')!;
    const [uid, gid] = [Number(debian[2]), Number(debian[3])];
    assert.equal(read(root, 'home/debian/.ssh/authorized_keys'), `${KEY_META}\n${KEY_1}\n${KEY_2}\n`, 'metadata first, each key once');
    assert.equal(mode(root, 'home/debian/.ssh'), 0o700);
    assert.equal(mode(root, 'home/debian/.ssh/authorized_keys'), 0o600);
    assert.deepEqual(owner(root, 'home/debian/.ssh'), [uid, gid]);
    assert.deepEqual(owner(root, 'home/debian/.ssh/authorized_keys'), [uid, gid]);
    const prefix = `no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command="echo 'Please login as the user \\"debian\\" rather than the user \\"root\\".';echo;sleep 10;exit 142"`;
    assert.equal(rootPrefix('debian'), prefix);
    assert.equal(read(root, 'root/.ssh/authorized_keys'), [KEY_META, KEY_1, KEY_2].map((k) => `${prefix} ${k}\n`).join(''));
    assert.equal(mode(root, 'root/.ssh'), 0o700);
    assert.equal(mode(root, 'root/.ssh/authorized_keys'), 0o600);
    assert.deepEqual(owner(root, 'root/.ssh/authorized_keys'), [0, 0]);
  });

  test('AuthorizedKeysFile lists a file sshd would refuse (group-writable) first: the keys go to the next one (the file ssh_authkey_fingerprints reads)', () => {
    const root = sshRoot();
    writeIn(root, 'etc/ssh/sshd_config', `${SSH_CONFIG_WITH_TWO_FILES}`);
    writeIn(root, 'root/.ssh/authorized_keys_shared', '# group-writable: StrictModes makes sshd ignore it\n');
    chmodSync(join(root, 'root/.ssh/authorized_keys_shared'), 0o664); // (past the umask)
    const r = boot(root, `#cloud-config\ndisable_root: false\nssh_authorized_keys: [${KEY_1}]\n`);
    assert.deepEqual(problems(root), [], r.stderr);
    assert.equal(read(root, 'root/.ssh/authorized_keys_shared'), '# group-writable: StrictModes makes sshd ignore it\n');
    assert.equal(read(root, 'root/.ssh/authorized_keys'), `${KEY_1}\n`);
  });

  test('disable_root: false gives root the plain keys; allow_public_ssh_keys: false leaves out the metadata keys', () => {
    const root = sshRoot();
    writeIn(root, 'root/.ssh/authorized_keys', `# the image's\n${KEY_2} old-comment\n`, 0o600);
    boot(root, `#cloud-config\ndisable_root: false\nallow_public_ssh_keys: false\nssh_authorized_keys: [${KEY_1}, ${KEY_2}]\n`, `instance-id: i-2\npublic-keys: ["${KEY_META}"]\n`);
    assert.deepEqual(problems(root), []);
    assert.equal(read(root, 'root/.ssh/authorized_keys'), `# the image's\n${KEY_2}\n${KEY_1}\n`, 'the same key is replaced in place, others appended');
    assert.equal(read(root, 'home/debian/.ssh/authorized_keys'), `${KEY_1}\n${KEY_2}\n`);
  });

  test('no default user: root gets the keys with "NONE"; disable_root_opts with $USER', () => {
    const root = sshRoot({ cloudCfg: '' });
    boot(root, `#cloud-config\nssh_authorized_keys: [${KEY_1}]\n`);
    assert.deepEqual(problems(root), []);
    assert.equal(read(root, 'root/.ssh/authorized_keys'), `${rootPrefix('NONE')} ${KEY_1}\n`);
    const other = sshRoot();
    boot(other, `#cloud-config\ndisable_root_opts: 'no-pty,command="echo use $USER, not $DISABLE_USER"'\nssh_authorized_keys: [${KEY_1}]\n`);
    assert.equal(read(other, 'root/.ssh/authorized_keys'), `no-pty,command="echo use debian, not root" ${KEY_1}\n`);
  });

  test('no key anywhere: the default user and root still get ~/.ssh 0700 and an empty authorized_keys 0600, theirs', () => {
    // cloud-init's cc_ssh calls setup_user_keys with an empty set: scripts then append to the file.
    const root = sshRoot({ sshd: false });
    boot(root, '#cloud-config\nusers: [default, {name: carol, ssh_authorized_keys: []}, {name: dave}]\n');
    assert.deepEqual(problems(root), []);
    const debian = passwd(root, 'debian')!;
    const carol = passwd(root, 'carol')!;
    for (const [home, ids] of [['home/debian', [Number(debian[2]), Number(debian[3])]], ['root', [0, 0]], ['home/carol', [Number(carol[2]), Number(carol[3])]]] as const) {
      assert.equal(read(root, `${home}/.ssh/authorized_keys`), '', home);
      assert.equal(mode(root, `${home}/.ssh`), 0o700, home);
      assert.equal(mode(root, `${home}/.ssh/authorized_keys`), 0o600, home);
      assert.deepEqual(owner(root, `${home}/.ssh`), ids, home);
      assert.deepEqual(owner(root, `${home}/.ssh/authorized_keys`), ids, home);
    }
    // A listed user with no ssh_authorized_keys key: create_user does not call setup_user_keys, but
    // ssh_authkey_fingerprints (stage final) reads its keys through extract_authorized_keys, which
    // makes ~/.ssh and an empty authorized_keys as well (issue 25).
    const dave = passwd(root, 'dave')!;
    assert.equal(read(root, 'home/dave/.ssh/authorized_keys'), '');
    assert.equal(mode(root, 'home/dave/.ssh'), 0o700);
    assert.deepEqual(owner(root, 'home/dave/.ssh/authorized_keys'), [Number(dave[2]), Number(dave[3])]);
  });

  test('a symbolic link planted at ~/.ssh is not written through', () => {
    const root = sshRoot({ sshd: false });
    writeIn(root, 'etc/passwd', `${read(root, 'etc/passwd')}eve:x:1600:1600::/home/eve:/bin/sh\n`);
    writeIn(root, 'home/eve/.keep', '');
    spawnSync('ln', ['-s', '/etc', join(root, 'home/eve/.ssh')]);
    boot(root, `#cloud-config\nusers: [{name: eve, ssh_authorized_keys: [${KEY_1}]}]\n`);
    assert.ok(!existsSync(join(root, 'etc/authorized_keys')));
    assert.match(problems(root).join('\n'), /user eve: ssh_authorized_keys: \/home\/eve\/\.ssh is a symbolic link/);
  });
});

const EXAMPLES = join(CONFORMANCE, 'cloud-init', 'module-examples');

describe("cloud-init's cc_ssh example applies", { skip: skip ?? (existsSync(EXAMPLES) ? false : `${EXAMPLES} missing`) }, () => {
  test('cc_ssh/example1.yaml', () => {
    const root = sshRoot();
    boot(root, read(EXAMPLES, 'cc_ssh/example1.yaml'));
    // Its keys are shortened with "..." (not real keys): written as given, nothing derived or generated.
    assert.deepEqual(problems(root), []);
    assert.match(read(root, 'etc/ssh/ssh_host_rsa_key'), /^-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.equal(mode(root, 'etc/ssh/ssh_host_rsa_key'), 0o600);
    assert.match(read(root, 'etc/ssh/ssh_host_rsa_key.pub'), /^ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAGEAoPRhIfLvedSDKw7Xd/);
    assert.equal(read(root, 'etc/ssh/sshd_config.d/50-cloud-init.conf'), 'HostCertificate /etc/ssh/ssh_host_rsa_key-cert.pub\n');
    assert.ok(!existsSync(join(root, 'etc/ssh/ssh_host_ed25519_key')));
    const rootKeys = read(root, 'root/.ssh/authorized_keys').split('\n').filter((l) => l);
    assert.equal(rootKeys.length, 2);
    for (const l of rootKeys) assert.match(l, /^no-port-forwarding,no-agent-forwarding,no-X11-forwarding ssh-rsa AAAA/);
    assert.equal(read(root, 'home/debian/.ssh/authorized_keys').split('\n').filter((l) => l).length, 2);
  });
});
