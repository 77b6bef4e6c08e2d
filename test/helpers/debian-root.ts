// A throw-away root whose /etc is shaped like a Debian 12 cloud image's:
// account files, login.defs, skel, PAM and a cloud.cfg with a default user,
// so the real useradd, chpasswd and passwd (chrooted) behave as on the image.
import { newRoot } from './agent.ts';
import { writeIn } from './files.ts';

const PAM: Record<string, string> = {
  'common-auth': 'auth\t[success=1 default=ignore]\tpam_unix.so nullok\nauth\trequisite\t\t\tpam_deny.so\nauth\trequired\t\t\tpam_permit.so\n',
  'common-account': 'account\t[success=1 new_authtok_reqd=done default=ignore]\tpam_unix.so\naccount\trequisite\t\t\tpam_deny.so\naccount\trequired\t\t\tpam_permit.so\n',
  'common-password': 'password\t[success=1 default=ignore]\tpam_unix.so obscure yescrypt\npassword\trequisite\t\t\tpam_deny.so\npassword\trequired\t\t\tpam_permit.so\n',
  'common-session': 'session\t[default=1]\t\t\tpam_permit.so\nsession\trequisite\t\t\tpam_deny.so\nsession\trequired\t\t\tpam_permit.so\nsession\trequired\tpam_unix.so\n',
  chpasswd: '@include common-password\n',
  passwd: '@include common-password\n',
  other: '@include common-auth\n@include common-account\n@include common-password\n@include common-session\n',
};

/** A root whose /etc is shaped like a Debian 12 cloud image's (account files, login.defs, skel, PAM, cloud.cfg). */
export function debianRoot(cloudCfg = DEBIAN_CLOUD_CFG): string {
  const root = newRoot();
  writeIn(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nsys:x:3:3:sys:/dev:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  writeIn(root, 'etc/group', 'root:x:0:\ndaemon:x:1:\nsys:x:3:\nadm:x:4:\nsudo:x:27:\nusers:x:100:\nnogroup:x:65534:\n');
  writeIn(root, 'etc/shadow', 'root:*:19800:0:99999:7:::\ndaemon:*:19800:0:99999:7:::\nsys:*:19800:0:99999:7:::\nnobody:*:19800:0:99999:7:::\n', 0o640);
  writeIn(root, 'etc/gshadow', 'root:*::\ndaemon:*::\nsys:*::\nadm:*::\nsudo:*::\nusers:*::\nnogroup:*::\n', 0o640);
  writeIn(root, 'etc/login.defs', 'MAIL_DIR /var/mail\nPASS_MAX_DAYS 99999\nPASS_MIN_DAYS 0\nPASS_WARN_AGE 7\nUID_MIN 1000\nUID_MAX 60000\nSYS_UID_MIN 100\nSYS_UID_MAX 999\nGID_MIN 1000\nGID_MAX 60000\nSYS_GID_MIN 100\nSYS_GID_MAX 999\nUMASK 022\nUSERGROUPS_ENAB yes\nENCRYPT_METHOD SHA512\n');
  writeIn(root, 'etc/skel/.profile', '# ~/.profile\n');
  writeIn(root, 'etc/skel/.bashrc', '# ~/.bashrc\n');
  for (const [name, text] of Object.entries(PAM)) writeIn(root, `etc/pam.d/${name}`, text);
  writeIn(root, 'etc/cloud/cloud.cfg', cloudCfg);
  return root;
}

export const DEBIAN_CLOUD_CFG = `users:
  - default
system_info:
  default_user:
    name: debian
    lock_passwd: True
    gecos: Debian
    groups: [adm, audio, cdrom, dialout, dip, floppy, plugdev, sudo, video]
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
    shell: /bin/bash
`;

