// The modules of stage config (registry.ts loads them from here): one chunk of
// the executable for the stage's modules, read when the first of them runs.
export { wireguard } from './wireguard.ts';
export { sshImportId } from './ssh_import_id.ts';
export { keyboard } from './keyboard.ts';
export { locale } from './locale.ts';
export { grubDpkg } from './grub_dpkg.ts';
export { aptPipelining } from './apt_pipelining.ts';
export { aptConfigure } from './apt_configure.ts';
export { ntp } from './ntp.ts';
export { timezone } from './timezone.ts';
export { disableEc2Metadata } from './disable_ec2_metadata.ts';
export { runcmd } from './runcmd.ts';
export { byobu } from './byobu.ts';
