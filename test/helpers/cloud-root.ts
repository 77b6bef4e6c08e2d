// A throw-away root that looks like a Debian cloud image on a given cloud:
// the image's account files and ssh server config, its cloud.cfg (the
// default user `debian`) plus the test's datasource settings, the cloud's
// DMI fields, its NICs under /sys/class/net, systemd-networkd as the
// renderer, PAM for chpasswd. The sources-<cloud>.test.ts boot tests start from it.
import { spawnSync } from 'node:child_process';
import { plantNic, writeIn } from './files.ts';
import { newRoot } from './agent.ts';

export const DEBIAN_CLOUD_CFG = `users: [default]
system_info:
  default_user: {name: debian, lock_passwd: true, gecos: Debian, groups: [adm, sudo], sudo: ["ALL=(ALL) NOPASSWD:ALL"], shell: /bin/bash}
  network:
    renderers: [networkd]
`;

/** Debian 12's PAM stack, as far as chpasswd needs it (set_passwords). */
const PAM: Record<string, string> = {
  'common-password': 'password\t[success=1 default=ignore]\tpam_unix.so obscure yescrypt\npassword\trequisite\t\t\tpam_deny.so\npassword\trequired\t\t\tpam_permit.so\n',
  chpasswd: '@include common-password\n',
  other: 'auth\trequired\tpam_permit.so\naccount\trequired\tpam_permit.so\n@include common-password\nsession\trequired\tpam_permit.so\n',
};

export interface CloudRootOptions {
  /** DMI fields (/sys/class/dmi/id/<field>). */
  dmi?: Record<string, string>;
  /** More system config (datasource settings, datasource_list), appended to DEBIAN_CLOUD_CFG. */
  cloudCfg?: string;
  nics?: [string, string][];
  /** The kernel command line (<root>/proc/cmdline). */
  cmdline?: string;
}

export function cloudRoot(o: CloudRootOptions = {}): string {
  const root = newRoot();
  writeIn(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  writeIn(root, 'etc/group', 'root:x:0:\nadm:x:4:\nsudo:x:27:\nusers:x:100:\nnogroup:x:65534:\n');
  writeIn(root, 'etc/shadow', 'root:*:19800:0:99999:7:::\nnobody:*:19800:0:99999:7:::\n', 0o640);
  writeIn(root, 'etc/gshadow', 'root:*::\nadm:*::\nsudo:*::\nusers:*::\nnogroup:*::\n', 0o640);
  writeIn(root, 'etc/login.defs', 'PASS_MAX_DAYS 99999\nPASS_MIN_DAYS 0\nUID_MIN 1000\nUID_MAX 60000\nGID_MIN 1000\nGID_MAX 60000\nUMASK 022\nUSERGROUPS_ENAB yes\nENCRYPT_METHOD SHA512\n');
  for (const [name, text] of Object.entries(PAM)) writeIn(root, `etc/pam.d/${name}`, text);
  writeIn(root, 'etc/skel/.profile', '# ~/.profile\n');
  writeIn(root, 'etc/ssh/sshd_config', 'Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n');
  writeIn(root, 'etc/ssh/sshd_config.d/.keep', '');
  writeIn(root, 'etc/hostname', 'localhost\n');
  writeIn(root, 'etc/cloud/cloud.cfg', DEBIAN_CLOUD_CFG + (o.cloudCfg ?? ''));
  for (const [field, value] of Object.entries(o.dmi ?? {})) writeIn(root, `sys/class/dmi/id/${field}`, `${value}\n`);
  for (const [name, mac] of o.nics ?? []) plantNic(root, name, mac);
  if (o.cmdline !== undefined) writeIn(root, 'proc/cmdline', `${o.cmdline}\n`);
  return root;
}

/** The entries of a v1 /etc/shadow line of `user` (null: no such user). */
export function shadowOf(root: string, read: (root: string, p: string) => string, user: string): string[] | null {
  return read(root, 'etc/shadow').split('\n').find((l) => l.startsWith(`${user}:`))?.split(':') ?? null;
}

/** True when `hash` (a crypt(3) string of /etc/shadow) is the hash of `password` (libc's crypt, through perl). */
export function hashOf(hash: string, password: string): boolean {
  const r = spawnSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? "yes" : "no"', password, hash], { encoding: 'utf8' });
  return r.stdout === 'yes';
}
