// Every module, in the order each stage runs them (cloud-init's
// cloud_init_modules / cloud_config_modules / cloud_final_modules).
import { ansible } from './ansible.ts';
import { aptConfigure } from './apt_configure.ts';
import { bootcmd } from './bootcmd.ts';
import { caCerts } from './ca_certs.ts';
import { chef } from './chef.ts';
import { diskSetup } from './disk_setup.ts';
import { updateEtcHosts } from './etc_hosts.ts';
import { finalMessage } from './final_message.ts';
import { growpart } from './growpart.ts';
import { setHostname, updateHostname } from './hostname.ts';
import { installHotplug } from './install_hotplug.ts';
import { locale } from './locale.ts';
import { lvm } from './lvm.ts';
import { lxd } from './lxd.ts';
import type { Module } from './module.ts';
import { mounts } from './mounts.ts';
import { notApplicableKeys } from './not_applicable.ts';
import { ntp } from './ntp.ts';
import { packageUpdateUpgradeInstall } from './packages.ts';
import { phoneHome } from './phone_home.ts';
import { powerState } from './power_state.ts';
import { puppet } from './puppet.ts';
import { resizeRootfs } from './resize_rootfs.ts';
import { runcmd } from './runcmd.ts';
import { saltMinion } from './salt_minion.ts';
import { scriptsPerBoot, scriptsPerInstance, scriptsPerOnce, scriptsUser, scriptsVendor } from './scripts.ts';
import { seedRandom } from './seed_random.ts';
import { setPasswords } from './set_passwords.ts';
import { ssh } from './ssh.ts';
import { sshAuthkeyFingerprints } from './ssh_authkey_fingerprints.ts';
import { timezone } from './timezone.ts';
import { usersGroups } from './users_groups.ts';
import { wireguard } from './wireguard.ts';
import { writeFiles, writeFilesDeferred } from './write_files.ts';
// h24-mods-a: modules of Debian's cloud.cfg lists (issue 24)
import { aptPipelining } from './apt_pipelining.ts';
import { byobu } from './byobu.ts';
import { disableEc2Metadata } from './disable_ec2_metadata.ts';
import { grubDpkg } from './grub_dpkg.ts';
import { keyboard } from './keyboard.ts';
import { keysToConsole } from './keys_to_console.ts';
import { rsyslog } from './rsyslog.ts';
import { sshImportId } from './ssh_import_id.ts';
// end h24-mods-a

export const MODULES: readonly Module[] = [
  // stage init
  seedRandom,
  bootcmd,
  writeFiles,
  growpart,
  resizeRootfs,
  diskSetup,
  lvm,
  mounts,
  setHostname,
  updateHostname,
  updateEtcHosts,
  caCerts,
  rsyslog, // h24-mods-a: Debian's place, after ca_certs
  usersGroups,
  ssh,
  setPasswords,
  notApplicableKeys,
  // stage config
  // wireguard first, as in cloud-init's cloud.cfg template (Debian's own list leaves it out)
  wireguard,
  sshImportId, // h24-mods-a: first in Debian's list (after snap)
  keyboard, // h24-mods-a: Debian's place, before locale
  locale,
  grubDpkg, // h24-mods-a: after set_passwords in Debian's list
  aptPipelining, // h24-mods-a: before apt_configure
  aptConfigure,
  ntp,
  timezone,
  disableEc2Metadata, // h24-mods-a: after timezone
  runcmd,
  byobu, // h24-mods-a: after runcmd
  // stage final: packages, then deferred files, so the user's scripts can use them
  packageUpdateUpgradeInstall,
  // lxd after the packages, as in Debian's cloud.cfg
  lxd,
  writeFilesDeferred,
  // the configuration-management bootstraps, where Debian's cloud.cfg puts
  // them (ansible between chef and salt_minion, as in cloud-init's template)
  puppet,
  chef,
  ansible,
  saltMinion,
  scriptsVendor,
  scriptsPerOnce,
  scriptsPerBoot,
  scriptsPerInstance,
  scriptsUser,
  sshAuthkeyFingerprints,
  keysToConsole, // h24-mods-a: after ssh_authkey_fingerprints
  // install_hotplug after keys_to_console, before phone_home, as in Debian's cloud.cfg
  installHotplug,
  phoneHome,
  finalMessage,
  powerState,
];
