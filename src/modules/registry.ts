// Every module by name, stage, frequency and keys — what planning a stage
// needs — each with a loader for its code: a stage reads (from the
// executable's bytecode) and evaluates only the modules it runs, not all of
// them (the build splits at each import(): one chunk per module). The order
// is index.ts's; test/unit/module-registry.test.ts checks that each entry says
// what its module says. What needs every module at once (schema checks,
// `plan`) imports index.ts.
import type { Module } from './module.ts';

export interface ModuleInfo extends Pick<Module, 'name' | 'stage' | 'frequency' | 'keys' | 'housekeeping'> {
  load(): Promise<Module>;
}

export const MODULE_INFO: readonly ModuleInfo[] = [
  { name: 'seed_random', stage: 'init', frequency: 'per-instance', keys: [], load: async () => (await import('./init-modules.ts')).seedRandom },
  { name: 'bootcmd', stage: 'init', frequency: 'per-boot', keys: ['bootcmd'], load: async () => (await import('./init-modules.ts')).bootcmd },
  { name: 'write_files', stage: 'init', frequency: 'per-instance', keys: ['write_files'], load: async () => (await import('./init-modules.ts')).writeFiles },
  { name: 'growpart', stage: 'init', frequency: 'per-boot', keys: [], load: async () => (await import('./init-modules.ts')).growpart },
  { name: 'resizefs', stage: 'init', frequency: 'per-boot', keys: [], load: async () => (await import('./init-modules.ts')).resizeRootfs },
  { name: 'disk_setup', stage: 'init', frequency: 'per-instance', keys: ['disk_setup', 'fs_setup'], load: async () => (await import('./init-modules.ts')).diskSetup },
  { name: 'lvm', stage: 'init', frequency: 'per-instance', keys: ['lvm'], load: async () => (await import('./init-modules.ts')).lvm },
  { name: 'mounts', stage: 'init', frequency: 'per-instance', keys: [], load: async () => (await import('./init-modules.ts')).mounts },
  { name: 'set_hostname', stage: 'init', frequency: 'per-instance', keys: [], load: async () => (await import('./init-modules.ts')).setHostname },
  { name: 'update_hostname', stage: 'init', frequency: 'per-boot', keys: [], load: async () => (await import('./init-modules.ts')).updateHostname },
  { name: 'update_etc_hosts', stage: 'init', frequency: 'per-boot', keys: ['manage_etc_hosts'], load: async () => (await import('./init-modules.ts')).updateEtcHosts },
  { name: 'ca_certs', stage: 'init', frequency: 'per-instance', keys: ['ca_certs', 'ca-certs'], load: async () => (await import('./init-modules.ts')).caCerts },
  { name: 'rsyslog', stage: 'init', frequency: 'per-instance', keys: ['rsyslog'], load: async () => (await import('./init-modules.ts')).rsyslog },
  { name: 'users_groups', stage: 'init', frequency: 'per-instance', keys: ['users', 'groups', 'user'], load: async () => (await import('./init-modules.ts')).usersGroups },
  { name: 'ssh', stage: 'init', frequency: 'per-instance', keys: [], load: async () => (await import('./init-modules.ts')).ssh },
  { name: 'set_passwords', stage: 'init', frequency: 'per-instance', keys: ['chpasswd', 'password', 'ssh_pwauth'], load: async () => (await import('./init-modules.ts')).setPasswords },
  { name: 'not_applicable', stage: 'init', frequency: 'per-instance', keys: [], housekeeping: true, load: async () => (await import('./init-modules.ts')).notApplicableKeys },
  { name: 'wireguard', stage: 'config', frequency: 'per-instance', keys: ['wireguard'], load: async () => (await import('./config-modules.ts')).wireguard },
  { name: 'ssh_import_id', stage: 'config', frequency: 'per-instance', keys: [], load: async () => (await import('./config-modules.ts')).sshImportId },
  { name: 'keyboard', stage: 'config', frequency: 'per-instance', keys: ['keyboard'], load: async () => (await import('./config-modules.ts')).keyboard },
  { name: 'locale', stage: 'config', frequency: 'per-instance', keys: ['locale', 'locale_configfile'], load: async () => (await import('./config-modules.ts')).locale },
  { name: 'grub_dpkg', stage: 'config', frequency: 'per-instance', keys: ['grub_dpkg', 'grub-dpkg'], load: async () => (await import('./config-modules.ts')).grubDpkg },
  { name: 'apt_pipelining', stage: 'config', frequency: 'per-instance', keys: ['apt_pipelining'], load: async () => (await import('./config-modules.ts')).aptPipelining },
  { name: 'apt_configure', stage: 'config', frequency: 'per-instance', keys: ['apt', 'apt_sources', 'apt_mirror', 'apt_mirror_search', 'apt_mirror_search_dns', 'apt_proxy', 'apt_http_proxy', 'apt_ftp_proxy', 'apt_https_proxy', 'apt_preserve_sources_list', 'apt_custom_sources_list', 'add_apt_repo_match'], load: async () => (await import('./config-modules.ts')).aptConfigure },
  { name: 'ntp', stage: 'config', frequency: 'per-instance', keys: ['ntp'], load: async () => (await import('./config-modules.ts')).ntp },
  { name: 'timezone', stage: 'config', frequency: 'per-instance', keys: ['timezone'], load: async () => (await import('./config-modules.ts')).timezone },
  { name: 'disable_ec2_metadata', stage: 'config', frequency: 'per-boot', keys: ['disable_ec2_metadata'], load: async () => (await import('./config-modules.ts')).disableEc2Metadata },
  { name: 'runcmd', stage: 'config', frequency: 'per-instance', keys: ['runcmd'], load: async () => (await import('./config-modules.ts')).runcmd },
  { name: 'byobu', stage: 'config', frequency: 'per-instance', keys: [], load: async () => (await import('./config-modules.ts')).byobu },
  { name: 'package_update_upgrade_install', stage: 'final', frequency: 'per-instance', keys: ['packages', 'package_update', 'package_upgrade', 'package_reboot_if_required', 'apt_update', 'apt_upgrade', 'apt_reboot_if_required'], load: async () => (await import('./final-modules.ts')).packageUpdateUpgradeInstall },
  { name: 'lxd', stage: 'final', frequency: 'per-instance', keys: ['lxd'], load: async () => (await import('./final-modules.ts')).lxd },
  { name: 'write_files_deferred', stage: 'final', frequency: 'per-instance', keys: ['write_files'], load: async () => (await import('./final-modules.ts')).writeFilesDeferred },
  { name: 'puppet', stage: 'final', frequency: 'per-instance', keys: ['puppet'], load: async () => (await import('./final-modules.ts')).puppet },
  { name: 'chef', stage: 'final', frequency: 'per-boot', keys: ['chef'], load: async () => (await import('./final-modules.ts')).chef },
  { name: 'ansible', stage: 'final', frequency: 'per-instance', keys: ['ansible'], load: async () => (await import('./final-modules.ts')).ansible },
  { name: 'salt_minion', stage: 'final', frequency: 'per-instance', keys: ['salt_minion'], load: async () => (await import('./final-modules.ts')).saltMinion },
  { name: 'scripts_vendor', stage: 'final', frequency: 'per-instance', keys: [], load: async () => (await import('./final-modules.ts')).scriptsVendor },
  { name: 'scripts_per_once', stage: 'final', frequency: 'once', keys: [], load: async () => (await import('./final-modules.ts')).scriptsPerOnce },
  { name: 'scripts_per_boot', stage: 'final', frequency: 'per-boot', keys: [], load: async () => (await import('./final-modules.ts')).scriptsPerBoot },
  { name: 'scripts_per_instance', stage: 'final', frequency: 'per-instance', keys: [], load: async () => (await import('./final-modules.ts')).scriptsPerInstance },
  { name: 'scripts_user', stage: 'final', frequency: 'per-instance', keys: [], load: async () => (await import('./final-modules.ts')).scriptsUser },
  { name: 'ssh_authkey_fingerprints', stage: 'final', frequency: 'per-instance', keys: [], load: async () => (await import('./final-modules.ts')).sshAuthkeyFingerprints },
  { name: 'keys_to_console', stage: 'final', frequency: 'per-instance', keys: [], load: async () => (await import('./final-modules.ts')).keysToConsole },
  { name: 'install_hotplug', stage: 'final', frequency: 'per-instance', keys: [], load: async () => (await import('./final-modules.ts')).installHotplug },
  { name: 'phone_home', stage: 'final', frequency: 'per-instance', keys: ['phone_home'], load: async () => (await import('./final-modules.ts')).phoneHome },
  { name: 'final_message', stage: 'final', frequency: 'per-boot', keys: [], load: async () => (await import('./final-modules.ts')).finalMessage },
  { name: 'power_state_change', stage: 'final', frequency: 'per-instance', keys: ['power_state'], load: async () => (await import('./final-modules.ts')).powerState },
];
