// Compare seeds for the modules of Debian's cloud.cfg lists added in issue 24
// (h24-mods-a): each gives a module's effect on both agents. Where the
// module's semantics changed after 22.4 (keyboard writes the file itself
// since 23.x; grub_dpkg is off by default since 24.4; write_files' `source`
// is 23.1+) the seed runs on the trixie image, with cloud-init 25.1.
// disable_ec2_metadata changes a route of the running kernel: its seed runs
// ec2-init on the running system (chrooted, root /) and compares the
// sandbox's routes. ssh_import_id has its own seed (seed-ssh-import-id.ts).
// Not shown by any seed, and why (README "Differences from cloud-init"):
// rsyslog's install_rsyslog installs a package (no network in the sandbox;
// byobu's install has its own seed, seed-byobu.ts, with a local repository);
// the fingerprint block of keys_to_console goes through logger, which fails in
// the sandbox (no /dev/log), so only the KEYS block is compared.
import type { Seed } from './seeds.ts';

const META = 'instance-id: iid-compare-0001\nlocal-hostname: compare-local\n';

// 22.4: apt_pipelining, rsyslog (configs and remotes), grub_dpkg (enabled, a device given; its
// debconf answers copied out of /var/cache, which the comparison leaves out), keys_to_console.
const DEBIAN_LISTS = `#cloud-config
ssh_genkeytypes: [ed25519, ecdsa]
ssh_key_console_blacklist: [ssh-ed25519]
apt_pipelining: 3
rsyslog:
  configs:
    - "*.* @@192.0.2.1"
    - {content: "local0.* /var/log/app.log", filename: 10-app.conf}
  remotes: {central: "@@[fd00::1]:514", juju: "10.0.4.1"}
grub_dpkg:
  enabled: true
  grub-pc/install_devices: /dev/vda
runcmd:
  - [sh, -c, "grep -A3 '^Name: grub-pc/' /var/cache/debconf/config.dat > /var/tmp/grub-debconf.txt"]
`;

// 25.1: keyboard (with a stand-in console-setup init script: the image has no console-setup,
// and 25.1 restarts it), write_files' source (file://, and the content when it cannot be read),
// grub_dpkg given but not enabled (25.1's default: debconf untouched).
const DEBIAN_LISTS_25 = `#cloud-config
keyboard: {layout: de, variant: nodeadkeys, options: "compose:rwin"}
grub_dpkg: {grub-pc/install_devices: /dev/vda}
write_files:
  - path: /etc/init.d/console-setup
    permissions: '0755'
    content: "#!/bin/sh\\nexit 0\\n"
  - path: /srv/source.txt
    content: "from a file of the image\\n"
  - path: /etc/from-source.txt
    source: {uri: "file:///srv/source.txt"}
    content: "not used: the source was read\\n"
  - path: /etc/fallback.txt
    permissions: '0640'
    source: {uri: "file:///nonexistent/file"}
    content: "the fallback\\n"
runcmd:
  - [sh, -c, "grep -c grub-pc /var/cache/debconf/config.dat > /var/tmp/grub-debconf.txt || true"]
`;

// disable_ec2_metadata: a route in the running kernel, not a file. Each boot has a network namespace of its own
// (sandbox.ts), so both agents may add it there; ec2-init runs on the running system for it (onRoot), as
// under --root it leaves the route to the real boot. The namespace's routes are compared after each boot.
const DISABLE_EC2_METADATA = `#cloud-config
disable_ec2_metadata: true
`;

export const DEBIAN_LIST_SEEDS: Seed[] = [
  {
    id: 'debian-lists',
    metaData: META,
    userData: Buffer.from(DEBIAN_LISTS),
    effects: ['/etc/apt/apt.conf.d/90cloud-init-pipelining', '/etc/rsyslog.d/20-cloud-config.conf', '/etc/rsyslog.d/10-app.conf',
      '/var/tmp/grub-debconf.txt'],
    newInstance: false,
    consoleBlocks: ['SSH HOST KEY KEYS'],
  },
  {
    id: 'debian-lists-25',
    suite: 'trixie',
    metaData: META,
    userData: Buffer.from(DEBIAN_LISTS_25),
    effects: ['/etc/default/keyboard', '/etc/from-source.txt', '/etc/fallback.txt', '/var/tmp/grub-debconf.txt'],
    newInstance: false,
  },
  {
    id: 'disable-ec2-metadata',
    suite: 'trixie',
    metaData: META,
    userData: Buffer.from(DISABLE_EC2_METADATA),
    effects: ['/home/debian'],
    newInstance: false,
    routes: true,
    onRoot: true,
  },
];
