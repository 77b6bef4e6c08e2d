// The modules of stage final (registry.ts loads them from here): one chunk of
// the executable for the stage's modules, read when the first of them runs.
export { packageUpdateUpgradeInstall } from './packages.ts';
export { lxd } from './lxd.ts';
export { writeFilesDeferred } from './write_files.ts';
export { puppet } from './puppet.ts';
export { chef } from './chef.ts';
export { ansible } from './ansible.ts';
export { saltMinion } from './salt_minion.ts';
export { scriptsVendor, scriptsPerOnce, scriptsPerBoot, scriptsPerInstance, scriptsUser } from './scripts.ts';
export { sshAuthkeyFingerprints } from './ssh_authkey_fingerprints.ts';
export { keysToConsole } from './keys_to_console.ts';
export { installHotplug } from './install_hotplug.ts';
export { phoneHome } from './phone_home.ts';
export { finalMessage } from './final_message.ts';
export { powerState } from './power_state.ts';
