// The user-data both agents get, byte for byte: a typical cloud-config (the
// keys people use, in the forms they use them), a system one, a `#!` script,
// and a gzipped MIME multipart holding the first, the script and a boothook.
// Keys and passwords are throw-away text: nothing ever logs in.
import { gzipSync } from 'node:zlib';
import type { Suite } from '../../../bench/chroot.ts';
import type { KeyServices } from './key-services.ts';
import type { Placed } from './sandbox.ts';
import { CONFIG_MGMT, CONFIG_MGMT_EFFECTS, configMgmtFiles } from './seed-config-mgmt.ts';
import { DEBIAN_LIST_SEEDS } from './seeds-debian-lists.ts';
import { BYOBU_SEED } from './seed-byobu.ts';
import { UNVERIFIED_SEED } from './seed-unverified.ts';
import { SSH_IMPORT_ID_SEED } from './seed-ssh-import-id.ts';

export interface Seed {
  id: string;
  metaData: string;
  userData: Buffer;
  /** Paths the first boot must create or change (on both sides): equal results must never be equal failures. */
  effects: string[];
  /** Also boot a third time as a new instance (run.ts): for the seeds with per-instance work worth it. */
  newInstance: boolean;
  /** The image (and so the cloud-init) to compare with: bookworm's 22.4 unless a module's semantics changed since. */
  suite?: Suite;
  /** Console blocks (-----BEGIN NAME----- … -----END NAME-----) both agents must print alike on the first boot. */
  consoleBlocks?: string[];
  /** Files placed in both copies before the first boot (a local apt repository), made when the seed runs. */
  files?: () => Placed[];
  /** Text a file must hold after the first boot, on both sides: [path, text]. */
  contains?: [string, string][];
  /** Services the sandbox reaches over its loopback (GitHub's and Launchpad's stand-ins: key-services.ts). */
  services?: KeyServices;
  /** Compare the sandbox's routes after each boot (`ip route show table all`): a module's effect on the kernel. */
  routes?: boolean;
  /** Run ec2-init on the running system (chrooted, root /) instead of with --root: for effects --root leaves to the real boot. */
  onRoot?: boolean;
}

const META = 'instance-id: iid-compare-0001\nlocal-hostname: compare-local\n';
const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDtmsSQNlIZJcKPEPSPXsfN3cFGvd0Zvb9OlQ8/VMVoD alice@example';
const KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMvXq0f6b8a4n1Qm3XYvQb8z5Kx2p7pYcQm1b2bJt9Zr alice@laptop';
const KEY_TOP = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh1c2VyZGF0YS10b3AtbGV2ZWwta2V5LWZvci1kZWZh ops@example';
// openssl passwd -6 -salt c0mpare not-a-real-password
const HASH = '$6$c0mpare$42D6spkjJu/nXlHWrL56CRTdwZyKHddXRMBzkpS9hSLB5/649Q4D2cCdlYD5I9miOxZuAYfoXM2NvaNYB9/8a.';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const gzb64 = (s: string) => gzipSync(Buffer.from(s), { level: 9 }).toString('base64');

export const CLOUD_CONFIG = `#cloud-config
hostname: web-1
fqdn: web-1.example.test
manage_etc_hosts: true
timezone: Europe/Paris
ssh_authorized_keys:
  - ${KEY_TOP}
groups:
  - admins
  - devs: [root]
users:
  - default
  - name: alice
    gecos: Alice Example
    groups: [admins, adm]
    sudo: ALL=(ALL) NOPASSWD:ALL
    shell: /bin/bash
    lock_passwd: true
    ssh_authorized_keys:
      - ${KEY_A}
      - ${KEY_B}
  - name: bob
    gecos: Bob
    groups: devs, users
    shell: /bin/sh
    lock_passwd: false
    hashed_passwd: '${HASH}'
    sudo: ['ALL=(ALL) ALL', 'ALL=(root) NOPASSWD:/usr/bin/true']
  - name: svc
    system: true
    homedir: /srv/svc
    shell: /usr/sbin/nologin
write_files:
  - path: /etc/app/app.conf
    content: |
      listen=0.0.0.0:8080
      workers=4
  - path: /etc/app/token
    permissions: '0600'
    owner: root:adm
    content: not-a-secret
  - path: /usr/local/bin/hello
    permissions: '0755'
    content: |
      #!/bin/sh
      echo hello
  - path: /etc/app/b64.txt
    encoding: b64
    content: ${b64('hello from b64\n')}
  - path: /etc/app/gz.txt
    encoding: gz+b64
    permissions: '0640'
    content: ${gzb64('gzipped content\nline 2\n')}
  - path: /etc/app/plain-base64.txt
    encoding: base64
    content: ${b64('plain base64\n')}
  - path: /etc/motd
    append: true
    content: |
      Managed by cloud-config.
  - path: /etc/app/list.txt
    content: |
      first
  - path: /etc/app/list.txt
    append: true
    content: |
      second
  - path: /home/alice/notes.txt
    owner: alice:alice
    permissions: '0640'
    defer: true
    content: |
      written after alice exists
  - path: /home/alice/by-user.txt
    owner: alice
    defer: true
    content: owner without a group
  - path: /opt/app/nested/dir/file.txt
    content: deep
bootcmd:
  - echo bootcmd >> /var/tmp/bootcmd.log
  - [sh, -c, 'echo "bootcmd argv $INSTANCE_ID" >> /var/tmp/bootcmd.log']
runcmd:
  - echo runcmd > /var/tmp/runcmd.log
  - [sh, -c, 'id alice > /var/tmp/runcmd-id.log']
  - [touch, /var/tmp/runcmd-touched]
`;

export const SCRIPT = `#!/bin/sh
echo "script ran as $(id -un)" >> /var/tmp/script.log
mkdir -p /srv/from-script
echo data > /srv/from-script/data
chmod 0600 /srv/from-script/data
`;

// The system side of cloud-config: apt configuration, passwords and sshd's
// password authentication, host key types, root login, a kept hostname,
// users with the less common keys (uid, primary_group, passwd, homedir,
// no_create_home), and
// the scripts directories (per-boot, per-instance, per-once: a second boot
// tells them apart). Left out for the CI's sake, compared by hand once:
// `apt: {sources: …}` (both write the same .list file, then both run
// apt-get update, ~15 s offline) and `locale:` (locale-gen, 10-25 s). With a
// locale the image has not generated (en_GB.UTF-8, commented out in
// /etc/locale.gen) cloud-init 22.4 fails its locale module (its locale-gen
// builds only what locale.gen lists; update-locale then refuses the name)
// while ec2-init enables the entry, generates it and sets LANG: a difference
// kept on purpose, where ec2-init does what the user-data asks.
export const SYSTEM_CONFIG = `#cloud-config
preserve_hostname: true
ssh_pwauth: true
disable_root: false
ssh_deletekeys: true
ssh_genkeytypes: [ed25519, ecdsa]
ssh_authorized_keys:
  - ${KEY_TOP}
chpasswd:
  expire: false
  users:
    - {name: debian, password: '${HASH}', type: hash}
groups:
  - ops: [root]
users:
  - default
  - name: carol
    uid: 2001
    primary_group: staff
    groups: [users, ops]
    passwd: '${HASH}'
    lock_passwd: false
    homedir: /home/carol-home
  - name: dave
    no_create_home: true
    shell: /bin/false
    sudo: false
apt:
  proxy: http://proxy.example.test:3128
  conf: |
    APT::Install-Recommends "false";
write_files:
  - path: /var/lib/cloud/scripts/per-boot/10-boot.sh
    permissions: '0755'
    content: |
      #!/bin/sh
      echo per-boot >> /var/tmp/per-boot.log
  - path: /var/lib/cloud/scripts/per-instance/10-instance.sh
    permissions: '0755'
    content: |
      #!/bin/sh
      echo per-instance >> /var/tmp/per-instance.log
  - path: /var/lib/cloud/scripts/per-once/10-once.sh
    permissions: '0755'
    content: |
      #!/bin/sh
      echo per-once >> /var/tmp/per-once.log
`;

const BOOTHOOK = `#cloud-boothook
#!/bin/sh
echo "boothook $INSTANCE_ID" >> /var/tmp/boothook.log
`;

// Issue 25's causes, each an effect: a write_files entry merged into itself
// (`<<: *x` inside the anchor x), Terraform's `encoding: gzip` with a
// `!!binary` content (cloud-init writes the inflated bytes), an alias to its
// own entry that a duplicate key then drops, flow nesting deeper than 200
// (PyYAML reads it: refusing it would lose the whole document), and a listed
// user without keys (cloud-init's ssh_authkey_fingerprints makes its ~/.ssh
// and an empty authorized_keys).
const DEEP = `${'['.repeat(250)}1${']'.repeat(250)}`;
const FIDELITY = `#cloud-config
users:
  - default
  - name: nokeys
write_files:
  - &self
    path: /etc/fidelity/self-merge.txt
    content: "merged into itself\n"
    <<: *self
  - path: /etc/fidelity/terraform.txt
    encoding: gzip
    content: !!binary |
      ${gzipSync(Buffer.from('written by a base64gzip() of Terraform\n'), { level: 9 }).toString('base64')}
  - &dup
    path: /etc/fidelity/duplicate.txt
    content: "the alias was dropped\n"
    owner: *dup
    owner: root:root
  - path: /etc/fidelity/deep.txt
    content: "after a deep flow\n"
fidelity_deep_nesting: ${DEEP}
`;

// A MIME multipart as `cloud-init devel make-mime` writes it, then gzipped
// whole: both agents must undo the gzip and split the parts.
function multipart(parts: { type: string; name: string; body: string }[]): string {
  const b = '===============compare-boundary==';
  const lines = ['Content-Type: multipart/mixed; boundary="' + b + '"', 'MIME-Version: 1.0', ''];
  for (const p of parts) {
    lines.push(`--${b}`, `Content-Type: ${p.type}; charset="us-ascii"`, 'MIME-Version: 1.0',
      'Content-Transfer-Encoding: 7bit', `Content-Disposition: attachment; filename="${p.name}"`, '', p.body);
  }
  lines.push(`--${b}--`, '');
  return lines.join('\n');
}

const CONFIG_EFFECTS = ['/etc/app/app.conf', '/etc/app/gz.txt', '/etc/motd', '/home/alice/.ssh/authorized_keys', '/home/alice/notes.txt',
  '/home/bob/.ssh/authorized_keys',
  '/etc/sudoers.d/90-cloud-init-users', '/etc/hostname', '/etc/hosts', '/etc/timezone', '/var/tmp/bootcmd.log', '/var/tmp/runcmd-id.log',
  '/home/bob', '/etc/shadow'];
const SCRIPT_EFFECTS = ['/var/tmp/script.log', '/srv/from-script/data', '/home/debian'];

export const SEEDS: Seed[] = [
  { id: 'cloud-config', metaData: META, userData: Buffer.from(CLOUD_CONFIG), effects: CONFIG_EFFECTS, newInstance: true },
  {
    id: 'system-config',
    metaData: META,
    userData: Buffer.from(SYSTEM_CONFIG),
    effects: ['/etc/apt/apt.conf.d/90cloud-init-aptproxy', '/etc/apt/apt.conf.d/94cloud-init-config', '/etc/ssh/sshd_config.d/50-cloud-init.conf',
      '/etc/ssh/ssh_host_ed25519_key', '/home/carol-home', '/root/.ssh/authorized_keys',
      '/var/tmp/per-boot.log', '/var/tmp/per-instance.log', '/var/tmp/per-once.log'],
    newInstance: true,
  },
  {
    id: 'fidelity',
    metaData: META,
    userData: Buffer.from(FIDELITY),
    effects: ['/etc/fidelity/self-merge.txt', '/etc/fidelity/terraform.txt', '/etc/fidelity/duplicate.txt', '/etc/fidelity/deep.txt',
      '/home/nokeys/.ssh/authorized_keys', '/home/debian/.ssh/authorized_keys'],
    newInstance: false,
  },
  { id: 'script', metaData: META, userData: Buffer.from(SCRIPT), effects: SCRIPT_EFFECTS, newInstance: false },
  {
    id: 'gzip-multipart',
    metaData: META,
    effects: [...CONFIG_EFFECTS, ...SCRIPT_EFFECTS, '/var/tmp/boothook.log'],
    newInstance: false,
    userData: gzipSync(multipart([
      { type: 'text/cloud-config', name: 'config.yaml', body: CLOUD_CONFIG },
      { type: 'text/x-shellscript', name: 'script.sh', body: SCRIPT },
      { type: 'text/cloud-boothook', name: 'boothook.sh', body: BOOTHOOK },
    ])),
  },
  ...DEBIAN_LIST_SEEDS,
  // Configuration management (issue 24): puppet, chef, salt_minion, install_hotplug.
  {
    id: 'config-management',
    metaData: META,
    userData: Buffer.from(CONFIG_MGMT),
    effects: CONFIG_MGMT_EFFECTS,
    newInstance: false,
    files: configMgmtFiles,
  },
  // The same on trixie's cloud-init 25.1 (chef's 23.1+ paths, the salt unit enabled by ec2-init: allowlist.ts).
  {
    id: 'config-management-25',
    suite: 'trixie',
    metaData: META,
    userData: Buffer.from(CONFIG_MGMT),
    effects: CONFIG_MGMT_EFFECTS,
    newInstance: false,
    files: configMgmtFiles,
  },
  // byobu (issue 24): installed from a local repository, then enabled for the default user and the system.
  BYOBU_SEED,
  // ansible, wireguard, lxd (issue 24): in no Debian module list; named by the user-data's lists and unverified_modules.
  UNVERIFIED_SEED,
  // ssh_import_id (issue 24): cloud-init 25.1's ssh-import-id program and ec2-init, against TLS stand-ins of GitHub and Launchpad.
  SSH_IMPORT_ID_SEED,
];
