// The few types every layer shares. Data flows one way:
// source (SourceData) → user-data parts (Part[]) → plan → apply.

/** The four boot stages, in the order they run. */
export type Stage = 'init-local' | 'init' | 'config' | 'final';
export const STAGES: readonly Stage[] = ['init-local', 'init', 'config', 'final'];

/** How often a piece of work runs: once per instance-id, every boot, or once ever. */
export type Frequency = 'per-instance' | 'per-boot' | 'once';

/** What a datasource found. `userData` is the raw bytes exactly as fetched. */
export interface SourceData {
  /** cloud-init's datasource name: 'NoCloud', 'Ec2', 'ConfigDrive'. */
  name: string;
  /** Short name of the cache directory under /var/lib/cloud/data/ ('nocloud', 'ec2', …). */
  provider: string;
  instanceId: string;
  localHostname?: string;
  /** The datasource's meta-data as parsed (YAML or JSON), used for `query ds.meta_data.*`. */
  metaData: Record<string, unknown>;
  userData: Uint8Array | null;
  vendorData?: Uint8Array | null;
  /** ssh public keys from the metadata (EC2 public-keys, config drive public_keys). */
  publicKeys?: string[];
  launchIndex?: number;
  region?: string;
  availabilityZone?: string;
  instanceType?: string;
  cloudName?: string;
  platform?: string;
  /** cloud-init's subplatform: where on the platform the data came from ('seed-dir (/var/lib/cloud/seed/nocloud)'). */
  subplatform?: string;
  /**
   * Network config the source made from its metadata (a v1 or v2 mapping, as
   * cloud-init's datasources convert theirs), rendered like NoCloud's
   * network-config. Sources with a file of their own put it in `cache` instead.
   */
  networkConfig?: Record<string, unknown>;
  /**
   * The source's own cloud-config (cloud-init's get_config_obj: Azure's
   * default user and ssh_pwauth; the password of Exoscale's and CloudStack's
   * password server), merged over the system config and under vendor-data
   * and user-data. Kept in the instance's datasource.json (0600), never in
   * instance-data.
   */
  config?: Record<string, unknown>;
  /** Files to keep under /var/lib/cloud/data/<provider>/ (name → content), written 0600. */
  cache?: Record<string, string | Uint8Array>;
  /** Modules that run again on every boot this source is found (cloud-init's Exoscale clears set_passwords' semaphore). */
  everyBoot?: string[];
  /**
   * Bytes the source read besides user-data and vendor-data (meta-data, its
   * walk, network config), set by the search: the part of the read budget
   * (sources/budget.ts) that stage init's expansion of user-data cannot use.
   */
  metaBytes?: number;
}

/** One typed piece of expanded user-data. */
export interface Part {
  /** Content type, lower case: 'text/x-shellscript', 'text/cloud-config', … */
  type: string;
  /** Safe file name (never a path): from the MIME filename, or part-001, part-002, … */
  filename: string;
  /** The decoded payload (transfer encoding, gzip undone). */
  body: Uint8Array;
  /** Headers that matter downstream, lower-case keys: 'merge-type', 'launch-index', … */
  headers: Record<string, string>;
}

/** A problem found along the way, reported in the log and in status. */
export interface Diag {
  level: 'warning' | 'error';
  /** Where: 'user-data part-002', 'module write_files', 'datasource NoCloud', … */
  where: string;
  message: string;
}
