// The compare seed for the modules of issue 24 that are in no Debian module
// list: ansible, wireguard and lxd. cloud-init runs a module only when a list
// names it, and wireguard and lxd only on Ubuntu ("distros": ["ubuntu"] in
// 22.4 and 25.1) unless `unverified_modules` names them (25.1
// cloudinit/config/modules.py, _run_modules' caller: "running
// unverified_modules"). So the user-data gives both: the module lists for the
// config and final stages, and `unverified_modules`. On trixie's cloud-init
// 25.1 (the newest's semantics). Each agent installs wireguard-tools,
// ansible and lxd's storage tools (btrfs-progs) from a local apt repository of
// stand-in packages placed in both copies (the image is offline; the real ones
// pull in Python, Go binaries and kernel modules), and lxd itself through
// `packages:` (cloud-init installs lxd only as a snap, which Debian has not:
// that install differs on purpose, README, and is not compared here).
//
// What the stand-ins make comparable: the packages both install (dpkg's
// database, their files), wireguard's interface file (0600) and its unit
// enabled. The programs that act on the running machine (ansible-pull, lxd
// init, lxc network, the wg-quick start and the readiness probe) run in
// cloud-init's chroot as stand-ins that change nothing; ec2-init leaves them
// to the running system under --root (README), so neither leaves a file.
//
// Two files stand in for the running machine, placed in both copies: an
// `lsmod` that reports wireguard loaded (the sandbox shares this machine's
// kernel: no agent may modprobe into it; the image has no kmod, and
// cloud-init's module fails without lsmod), and a wg-quick@wg0 init script
// (no service manager runs in the sandbox, so cloud-init's `service wg-quick@wg0
// start` needs a script to run, as the debian-lists-25 seed gives console-setup one).
import type { Package } from '../apt/repo.ts';
import { localRepo } from './seed-config-mgmt.ts';
import type { Placed } from './sandbox.ts';
import type { Seed } from './seeds.ts';

const STUB = '#!/bin/sh\nexit 0\n';

const PACKAGES: Package[] = [
  {
    name: 'wireguard-tools', version: '1.0.20210914-1.1',
    files: {
      '/usr/bin/wg': STUB,
      '/usr/bin/wg-quick': STUB,
      '/usr/lib/systemd/system/wg-quick@.service': '[Unit]\nDescription=WireGuard via wg-quick(8) for %I\n'
        + '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/bin/wg-quick up %i\nExecStop=/usr/bin/wg-quick down %i\n'
        + '[Install]\nWantedBy=multi-user.target\n',
    },
  },
  { name: 'lxd', version: '5.0.2-5', files: { '/usr/bin/lxd': STUB, '/usr/bin/lxc': STUB } },
  { name: 'btrfs-progs', version: '6.14-1', files: { '/usr/bin/mkfs.btrfs': STUB, '/usr/bin/btrfs': STUB } },
  {
    name: 'ansible', version: '10.7.0+dfsg-1',
    files: {
      '/usr/bin/ansible': STUB,
      // `--version` as ansible-core 2.18 prints its first line (both agents read the version from it).
      '/usr/bin/ansible-pull': '#!/bin/sh\n[ "$1" = --version ] && echo "ansible-pull [core 2.18.1]"\nexit 0\n',
    },
  },
];

const WG_INIT = '#!/bin/sh\n### BEGIN INIT INFO\n# Provides: wg-quick@wg0\n# Required-Start: $network\n# Required-Stop: $network\n'
  + '# Default-Start: 2 3 4 5\n# Default-Stop: 0 1 6\n# Short-Description: stand-in: the service is asked, nothing runs\n### END INIT INFO\nexit 0\n';

const repo = localRepo(PACKAGES);
const files = (): Placed[] => [
  ...repo(),
  { path: '/usr/local/sbin/lsmod', content: '#!/bin/sh\necho "Module                  Size  Used by"\necho "wireguard             114688  0"\n', mode: 0o755 },
  { path: '/etc/init.d/wg-quick@wg0', content: WG_INIT, mode: 0o755 },
];

// Throw-away keys: 32 bytes each, base64, as wg genkey prints them; nothing ever connects.
const key = (n: number) => Buffer.alloc(32, n).toString('base64');

const USER_DATA = `#cloud-config
unverified_modules: [wireguard, lxd]
cloud_config_modules: [wireguard]
cloud_final_modules: [package_update_upgrade_install, lxd, ansible]
packages: [lxd]
wireguard:
  interfaces:
    - name: wg0
      config_path: /etc/wireguard/wg0.conf
      content: |
        [Interface]
        PrivateKey = ${key(1)}
        Address = 10.254.0.2/24
        ListenPort = 51820
        [Peer]
        PublicKey = ${key(2)}
        Endpoint = 192.0.2.10:51820
        AllowedIPs = 10.254.0.0/24
  readinessprobe:
    - test -s /etc/wireguard/wg0.conf
lxd:
  init: {storage_backend: btrfs}
  bridge: {mode: new, name: lxdbr1, ipv4_address: 10.0.8.1, ipv4_netmask: 24, ipv4_nat: true}
ansible:
  install_method: distro
  package_name: ansible
  pull:
    url: https://git.example.test/playbooks.git
    playbook_name: site.yml
`;

export const UNVERIFIED_SEED: Seed = {
  id: 'unverified-modules',
  suite: 'trixie',
  metaData: 'instance-id: iid-compare-0001\nlocal-hostname: compare-local\n',
  userData: Buffer.from(USER_DATA),
  effects: ['/var/lib/dpkg/status', '/usr/bin/wg', '/etc/wireguard/wg0.conf', '/usr/bin/lxd', '/usr/bin/mkfs.btrfs', '/usr/bin/ansible-pull'],
  newInstance: false,
  files,
};
