// Every datasource by name, reach and whether it has a provisioned step —
// what the search and the stages need before they ask a source — each with a
// loader for its code: a boot reads (from the executable's bytecode) and
// evaluates only the sources its search reaches (the build splits at each
// import(): one chunk per source), not all 18. The order is cloud-init's
// default datasource_list (config/system.ts DEFAULT_DATASOURCES);
// test/unit/source-registry.test.ts checks that each entry says what its
// source says. A source's detect() is its code: the search loads a source
// only when its pass asks it, then asks detect() (search.ts).
import type { Reach, Source } from './source.ts';

export interface SourceInfo extends Pick<Source, 'name' | 'reach'> {
  /** It has a provisioned step (Source.provisioned: Azure's ready report at the end of stage init). */
  provisioned?: true;
  load(): Promise<Source>;
}

const entry = (name: string, reach: Reach, load: () => Promise<Source>, provisioned?: true): SourceInfo =>
  ({ name, reach, load, ...(provisioned && { provisioned }) });

export const SOURCE_INFO: readonly SourceInfo[] = [
  entry('NoCloud', 'files', async () => (await import('./nocloud.ts')).noCloud),
  entry('ConfigDrive', 'files', async () => (await import('./configdrive.ts')).configDrive),
  entry('LXD', 'files', async () => (await import('./lxd.ts')).lxd),
  entry('DigitalOcean', 'link-local', async () => (await import('./digitalocean.ts')).digitalOcean),
  entry('Azure', 'link-local', async () => (await import('./azure.ts')).azure, true),
  entry('VMware', 'files', async () => (await import('./vmware.ts')).vmware),
  entry('GCE', 'link-local', async () => (await import('./gce.ts')).gce),
  entry('OpenStack', 'network', async () => (await import('./openstack.ts')).openStack),
  entry('AliYun', 'link-local', async () => (await import('./aliyun.ts')).aliYun),
  entry('Vultr', 'link-local', async () => (await import('./vultr.ts')).vultr),
  entry('Ec2', 'link-local', async () => (await import('./ec2.ts')).ec2),
  entry('CloudStack', 'link-local', async () => (await import('./cloudstack.ts')).cloudStack),
  entry('Scaleway', 'link-local', async () => (await import('./scaleway.ts')).scaleway),
  entry('Hetzner', 'link-local', async () => (await import('./hetzner.ts')).hetzner),
  entry('Oracle', 'link-local', async () => (await import('./oracle.ts')).oracle),
  entry('Exoscale', 'network', async () => (await import('./exoscale.ts')).exoscale),
  entry('UpCloud', 'link-local', async () => (await import('./upcloud.ts')).upCloud),
  entry('Akamai', 'link-local', async () => (await import('./akamai.ts')).akamai),
];

/** The registry's entry for a datasource_list name; undefined for a name ec2-init has no source for. */
export function sourceInfo(name: string): SourceInfo | undefined {
  return SOURCE_INFO.find((s) => s.name === name);
}
