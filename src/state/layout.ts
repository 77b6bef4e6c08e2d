// The on-disk layout (DESIGN.md §4), as seen inside the root. One place for
// every path, so the layout can be read in one screen.
export const CLOUD = '/var/lib/cloud';
export const DATA = `${CLOUD}/data`;

export const layout = {
  seedDir: (name: string) => `${CLOUD}/seed/${name}`,
  userDataRaw: `${DATA}/user-data.raw`,
  userDataTxt: `${DATA}/user-data.txt`,
  userConfig: `${DATA}/user-config.txt`,
  vendorConfig: `${DATA}/vendor-config.txt`,
  providerCache: (provider: string) => `${DATA}/${provider}`,
  instanceIdFile: `${DATA}/instance-id`,
  previousInstanceIdFile: `${DATA}/previous-instance-id`,
  status: `${DATA}/status.json`,
  result: `${DATA}/result.json`,
  instanceLink: `${CLOUD}/instance`,
  instancesDir: `${CLOUD}/instances`,
  instance: (id: string) => `${CLOUD}/instances/${id}`,
  /** The datasource's findings for this instance, read by later stages (0600). */
  datasource: (id: string) => `${CLOUD}/instances/${id}/datasource.json`,
  sem: (id: string, name: string) => `${CLOUD}/instances/${id}/sem/${name}`,
  onceSem: (name: string) => `${CLOUD}/sem/${name}.once`,
  scripts: (id: string) => `${CLOUD}/instances/${id}/scripts`,
  vendorScripts: (id: string) => `${CLOUD}/instances/${id}/scripts/vendor`,
  boothooks: (id: string) => `${CLOUD}/instances/${id}/boothooks`,
  bootFinished: (id: string) => `${CLOUD}/instances/${id}/boot-finished`,
  userScriptsDir: (freq: string) => `${CLOUD}/scripts/${freq}`,
  runDir: '/run/ec2-init',
  /** status.json as `status` reads it: a link the first stage of each boot makes (/run starts empty every boot). */
  statusLink: '/run/ec2-init/status.json',
  /** cloud-init's runtime directory: links to ec2-init's files, for the tools written for cloud-init. */
  cloudInitRunDir: '/run/cloud-init',
  log: '/var/log/ec2-init.log',
  outputLog: '/var/log/ec2-init-output.log',
  disabledFile: '/etc/cloud/ec2-init.disabled',
} as const;

/** Instance ids become directory names: keep them to a safe alphabet. */
export function safeInstanceId(id: string): string {
  const clean = id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return clean === '' ? 'iid-unknown' : clean.slice(0, 200);
}
