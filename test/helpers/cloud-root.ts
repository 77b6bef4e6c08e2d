// A throw-away root that looks like a Debian cloud image booting on a given
// cloud, for the datasource boot tests (sources-<cloud>.test.ts): the
// image's account files and cloud.cfg (default user debian, as Debian's
// cloud images have), an ssh server's config, the DMI the cloud's firmware
// shows under /sys/class/dmi/id, NICs under /sys/class/net, and a system
// config pointing the datasource at a simulator, and PAM as far as chpasswd
// needs it (a password server's password, set by set_passwords).
import { spawnSync } from 'node:child_process';
import { writeIn, plantNic } from './files.ts';
import { newRoot } from './agent.ts';

export const DEBIAN_CLOUD_CFG = `users: [default]
system_info:
  default_user: {name: debian, lock_passwd: true, gecos: Debian, groups: [adm, sudo], sudo: ["ALL=(ALL) NOPASSWD:ALL"], shell: /bin/bash}
  network: {renderers: [networkd]}
`;

/** Debian 12's PAM stack, as far as chpasswd needs it (set_passwords). */
const PAM: Record<string, string> = {
  'common-password': 'password\t[success=1 default=ignore]\tpam_unix.so obscure yescrypt\npassword\trequisite\t\t\tpam_deny.so\npassword\trequired\t\t\tpam_permit.so\n',
  chpasswd: '@include common-password\n',
  other: 'auth\trequired\tpam_permit.so\naccount\trequired\tpam_permit.so\n@include common-password\nsession\trequired\tpam_permit.so\n',
};

export interface CloudRootOptions {
  /** /sys/class/dmi/id/<field> → value ({} for a machine without DMI). */
  dmi: Record<string, string>;
  /** Appended to cloud.cfg: datasource_list, datasource: {…}. */
  config: string;
  /** NICs to plant: [name, MAC]. */
  nics?: Array<[string, string]>;
  /** The kernel command line (<root>/proc/cmdline). */
  cmdline?: string;
}

/** A Debian cloud image's account files (root, nobody, the admin groups), login.defs and skel: what useradd needs. */
export function imageAccounts(root: string): void {
  writeIn(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  writeIn(root, 'etc/group', 'root:x:0:\nadm:x:4:\nsudo:x:27:\nusers:x:100:\nnogroup:x:65534:\n');
  writeIn(root, 'etc/shadow', 'root:*:19800:0:99999:7:::\nnobody:*:19800:0:99999:7:::\n', 0o640);
  writeIn(root, 'etc/gshadow', 'root:*::\nadm:*::\nsudo:*::\nusers:*::\nnogroup:*::\n', 0o640);
  writeIn(root, 'etc/login.defs', 'UID_MIN 1000\nUID_MAX 60000\nGID_MIN 1000\nGID_MAX 60000\nUMASK 022\nUSERGROUPS_ENAB yes\n');
  writeIn(root, 'etc/skel/.profile', '# ~/.profile\n');
}

export function cloudRoot(o: CloudRootOptions): string {
  const root = newRoot();
  imageAccounts(root);
  for (const [name, text] of Object.entries(PAM)) writeIn(root, `etc/pam.d/${name}`, text);
  writeIn(root, 'etc/os-release', 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n');
  writeIn(root, 'etc/hostname', 'localhost\n');
  writeIn(root, 'etc/ssh/sshd_config', 'Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n');
  writeIn(root, 'etc/ssh/sshd_config.d/.keep', '');
  writeIn(root, 'etc/cloud/cloud.cfg', DEBIAN_CLOUD_CFG + o.config);
  for (const [field, value] of Object.entries(o.dmi)) writeIn(root, `sys/class/dmi/id/${field}`, `${value}\n`, 0o444);
  for (const [name, mac] of o.nics ?? []) plantNic(root, name, mac);
  if (o.cmdline !== undefined) writeIn(root, 'proc/cmdline', `${o.cmdline}\n`);
  return root;
}

/** The fields of `user`'s /etc/shadow line (null: no such user). */
export function shadowOf(root: string, read: (root: string, p: string) => string, user: string): string[] | null {
  return read(root, 'etc/shadow').split('\n').find((l) => l.startsWith(`${user}:`))?.split(':') ?? null;
}

/** True when `hash` (a crypt(3) string of /etc/shadow) is the hash of `password` (libc's crypt, through perl). */
export function hashOf(hash: string, password: string): boolean {
  const r = spawnSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? "yes" : "no"', password, hash], { encoding: 'utf8' });
  return r.stdout === 'yes';
}
