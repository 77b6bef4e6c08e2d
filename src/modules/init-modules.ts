// The modules of stage init (registry.ts loads them from here): one chunk of
// the executable for the stage's modules, read when the first of them runs.
export { seedRandom } from './seed_random.ts';
export { bootcmd } from './bootcmd.ts';
export { writeFiles } from './write_files.ts';
export { growpart } from './growpart.ts';
export { resizeRootfs } from './resize_rootfs.ts';
export { diskSetup } from './disk_setup.ts';
export { lvm } from './lvm.ts';
export { mounts } from './mounts.ts';
export { setHostname, updateHostname } from './hostname.ts';
export { updateEtcHosts } from './etc_hosts.ts';
export { caCerts } from './ca_certs.ts';
export { rsyslog } from './rsyslog.ts';
export { usersGroups } from './users_groups.ts';
export { ssh } from './ssh.ts';
export { setPasswords } from './set_passwords.ts';
export { notApplicableKeys } from './not_applicable.ts';
