// Azure datasource: what the platform hands the VM, read as cloud-init's
// DataSourceAzure reads it; the ready report that ends provisioning is
// azure-report.ts (sent once the user and its keys are in place).
//
//   detect   DMI chassis asset tag 7783-7084-3265-9085-8269-3286-77, or a seeded
//            /var/lib/cloud/seed/azure/ovf-env.xml (ds-identify's rule)
//   ovf      ovf-env.xml (azure-ovf.ts): CustomData → user-data, UserName,
//            UserPassword (hashed at once, azure-password.ts), ssh keys,
//            DisableSshPasswordAuthentication, HostName, the preprovisioning flags
//   IMDS     the instance metadata (azure-imds.ts): adminUsername, computerName,
//            disablePasswordAuthentication and publicKeys win over ovf-env.xml's;
//            userData when ovf-env.xml has no CustomData; the network config
//   identity instance-id = DMI product_uuid (lower case), kept as the previous
//            instance-id when that is the same uuid byte-swapped (so an upgrade
//            from an agent that stored it swapped is no new instance); vm id =
//            product_uuid, byte-swapped on gen1 VMs (BIOS, no /sys/firmware/efi)
//            — cloud-init's identity rules
//
// What becomes of it: the default user (name, unlocked password as a
// SHA-512 crypt hash) and ssh_pwauth are this source's own cloud-config
// (SourceData.config: over the system config, under vendor-data and
// user-data, as cloud-init merges a datasource's config); the keys go to the
// default user; the hostname, region (location), availability zone
// (platformFaultDomain, as cloud-init) and the network config are the
// source's. Broken provisioning data (ovf-env.xml unparsable or invalid, a
// password over 72 characters, no usable DMI uuid, a preprovisioned VM,
// which ec2-init does not support) gives an instance with no user-data and a
// failure the report tells Azure (NotReady), as cloud-init reports its
// ReportableErrors; an IMDS that answers wrongly is such a failure too, but
// the ovf-env.xml data still applies (cloud-init's order). This file only
// reads: what is kept and reported is in the SourceData's cache (the
// redacted ovf-env.xml, provisioning.json) for the stages to write and
// azure-report.ts to act on.
import { utf8 } from '../bytes.ts';
import { now } from '../host/clock.ts';
import { optionAddress } from '../net/dhcp-lease-text.ts';
import { HttpError } from '../net/http.ts';
import { readNics } from '../network/sysfs.ts';
import { layout } from '../state/layout.ts';
import type { SourceData } from '../types.ts';
import type { Config } from '../config/merge.ts';
import { isMapping } from '../yaml/index.ts';
import {
  fetchImds, IMDS_BASE, ImdsParseError, imdsDisablePassword, imdsFaultDomain, imdsHasCustomData, imdsHostname,
  imdsNetworkConfig, imdsPpsType, imdsPublicKeys, imdsRegion, imdsUsername, imdsUserData, type Imds,
} from './azure-imds.ts';
import { findOvfEnv, parseOvfEnv, PASSWORD_REDACTED, ProvisioningError, redactPassword, type OvfEnv } from './azure-ovf.ts';
import { hashPassword } from './azure-password.ts';
import { reportProvisioned } from './azure-report.ts';
import { DEFAULT_WIRESERVER } from './azure-wireserver.ts';
import { seconds, urls, type Lease, type Source, type SourceRun } from './source.ts';

export const AZURE_ASSET_TAG = '7783-7084-3265-9085-8269-3286-77';
export const AZURE_SEED = '/var/lib/cloud/seed/azure';
const DEFAULT_DATA_DIR = '/var/lib/waagent';

/** `datasource: {Azure: {…}}` keys ec2-init reads. */
const KEYS = new Set([
  'data_dir', 'apply_network_config', 'apply_network_config_for_secondary_ips', 'apply_network_config_set_name',
  'experimental_skip_ready_report', 'experimental_fail_on_missing_customdata',
  // ec2-init's own: where the services are (tests, Azure Stack), how long IMDS is waited for.
  'metadata_url', 'wireserver_endpoint', 'timeout', 'max_wait',
  // the search's
  'strict_id',
]);
/** cloud-init's keys that ec2-init knows and does not use, and why. */
const LEFT: Record<string, string> = {
  disk_aliases: 'ec2-init does not set up the resource disk',
  never_destroy_ntfs: 'ec2-init does not set up the resource disk',
};

/** What azure-report.ts needs from this boot's read (the cache's provisioning.json). */
export interface ProvisioningRecord {
  instanceId: string;
  vmId: string;
  /** host or host:port of the wireserver. */
  wireserver: string;
  /** The agent's data directory, where the redacted ovf-env.xml is copied. */
  dataDir: string;
  /** This read put the redacted ovf-env.xml in the cache (an older one there is not this instance's). */
  ovfRead: boolean;
  /** Provisioning data that was broken: what Azure is told (NotReady). */
  failure: { reason: string; data: Record<string, string | number> } | null;
  /** experimental_skip_ready_report: true. */
  skipReport: boolean;
}
export const PROVISIONING_FILE = 'provisioning.json';

interface Options {
  dataDir: string;
  applyNetwork: boolean;
  secondaryIps: boolean;
  setName: boolean;
  skipReport: boolean;
  failOnMissingCustomData: boolean;
  imdsBase: string;
  wireserver: string | null;
  timeoutMs: number;
  maxWaitMs: number;
}

const flag = (v: unknown, dflt: boolean): boolean => (typeof v === 'boolean' ? v : dflt);

function options(cfg: Config, warn: (m: string) => void): Options {
  const unknown = Object.keys(cfg).filter((k) => !KEYS.has(k) && !(k in LEFT));
  if (unknown.length) warn(`datasource: {Azure: …}: unknown key(s) ${unknown.join(', ')}; ignored`);
  for (const k of Object.keys(cfg).filter((key) => key in LEFT)) warn(`datasource: {Azure: {${k}}} ignored: ${LEFT[k]}`);
  const ws = cfg['wireserver_endpoint'];
  let wireserver: string | null = null;
  if (typeof ws === 'string' && /^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(ws)) wireserver = ws;
  else if (ws !== undefined) warn(`datasource: {Azure: {wireserver_endpoint}} must be host or host:port, not ${JSON.stringify(ws)}; using the lease's or ${DEFAULT_WIRESERVER}`);
  const dataDir = typeof cfg['data_dir'] === 'string' && cfg['data_dir'].startsWith('/') ? cfg['data_dir'] : DEFAULT_DATA_DIR;
  return {
    dataDir,
    applyNetwork: flag(cfg['apply_network_config'], true),
    secondaryIps: flag(cfg['apply_network_config_for_secondary_ips'], true),
    setName: flag(cfg['apply_network_config_set_name'], true),
    skipReport: flag(cfg['experimental_skip_ready_report'], false),
    failOnMissingCustomData: flag(cfg['experimental_fail_on_missing_customdata'], false),
    imdsBase: urls(cfg, [IMDS_BASE])[0]!,
    wireserver,
    timeoutMs: seconds(cfg['timeout'], 30),
    maxWaitMs: seconds(cfg['max_wait'], 300),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The uuid with its first three fields' bytes reversed (RFC 4122 order ↔ SMBIOS 2.3's little-endian). */
export function byteSwapUuid(uuid: string): string {
  const [a, b, c, ...rest] = uuid.split('-');
  const swap = (s: string) => s.match(/../g)!.reverse().join('');
  return [swap(a!), swap(b!), swap(c!), ...rest].join('-');
}

/** The vm id Azure knows the VM by (IMDS compute.vmId): the DMI uuid, byte-swapped on gen1 (BIOS) VMs. */
export function vmIdOf(systemUuid: string, gen1: boolean): string {
  if (!UUID.test(systemUuid)) throw new ProvisioningError('failure to identify Azure VM ID', { system_uuid: systemUuid });
  return gen1 ? byteSwapUuid(systemUuid) : systemUuid;
}

/** cloud-init's instance-id: the DMI uuid, or the previous id when that is the same uuid (swapped or in upper case). */
export function instanceIdOf(systemUuid: string, previous: string | null): string {
  if (previous && [systemUuid, byteSwapUuid(systemUuid)].includes(previous.toLowerCase())) return previous;
  return systemUuid;
}

/** The wireserver address of DHCP option 245 (dotted, "a8:3f:81:10" as dhclient writes it, or hex as networkd does), or null. */
export function wireserverFromLease(lease: Pick<Lease, 'options'> | undefined): string | null {
  const v = lease?.options['245'] ?? lease?.options['unknown-245'];
  return v ? optionAddress(v) : null;
}

type PpsType = 'None' | 'Running' | 'Savable' | 'PreprovisionedOSDisk';

/** cloud-init's _determine_pps_type (less the reuse marker: ec2-init never reported ready from the pool). */
function ppsType(ovf: OvfEnv | null, imds: Imds): PpsType {
  const fromImds = imdsPpsType(imds);
  const t = ovf?.preprovisionedVmType ?? null;
  if (t === 'Savable' || fromImds === 'Savable') return 'Savable';
  if (t === 'PreprovisionedOSDisk' || fromImds === 'PreprovisionedOSDisk') return 'PreprovisionedOSDisk';
  if (ovf?.preprovisionedVm || t === 'Running' || fromImds === 'Running') return 'Running';
  return 'None';
}

/**
 * A user name that may reach useradd's argv: Azure's own rules (at most 64
 * characters, no leading '-' or '$', no separators, spaces or control
 * characters); useradd then applies the image's.
 */
function validUserName(name: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(name);
}

/** Why an IMDS read failed, in cloud-init's reasons; null when nothing answers there (no report: not reachable). */
function imdsFailure(e: unknown): ProvisioningError | null {
  if (e instanceof ImdsParseError) return new ProvisioningError('error parsing IMDS metadata', { exception: e.message });
  if (e instanceof HttpError) {
    if (e.kind === 'refused' || e.kind === 'unreachable') return null;
    return new ProvisioningError(e.kind === 'timeout' ? 'connection timeout querying IMDS' : 'connection error querying IMDS', { exception: e.message });
  }
  return new ProvisioningError('http error querying IMDS', { exception: (e as Error).message });
}

export async function readAzure(run: SourceRun): Promise<SourceData | null> {
  const { ctx, cfg, platform, log } = run;
  const o = options(cfg, (m) => ctx.report('warning', 'datasource Azure', m));
  const wireserver = o.wireserver ?? wireserverFromLease(run.lease) ?? DEFAULT_WIRESERVER;
  const systemUuid = platform.dmi.product_uuid.toLowerCase();
  const previous = ctx.files.readTextIfExists(layout.instanceIdFile)?.trim() ?? null;
  const instanceId = UUID.test(systemUuid) ? instanceIdOf(systemUuid, previous) : null;
  const record = (vmId: string, failure: ProvisioningError | null, ovfRead = false): ProvisioningRecord => ({
    instanceId: instanceId!, vmId, wireserver, dataDir: o.dataDir, skipReport: o.skipReport, ovfRead,
    failure: failure ? { reason: failure.message, data: failure.data } : null,
  });
  /** Broken provisioning data: an instance with nothing but its id, and the failure for the report. */
  const failed = (vmId: string, e: ProvisioningError, subplatform: string): SourceData => {
    ctx.report('error', 'datasource Azure', `provisioning failed: ${e.message} (Azure is told: NotReady, ProvisioningFailed)`);
    return {
      name: 'Azure', provider: 'azure', instanceId: instanceId!,
      metaData: { 'instance-id': instanceId }, userData: null,
      cloudName: 'azure', platform: 'azure', subplatform,
      cache: { [PROVISIONING_FILE]: JSON.stringify(record(vmId, e), null, 2) + '\n' },
    };
  };

  let vmId: string;
  try { vmId = vmIdOf(systemUuid, !platform.exists('/sys/firmware/efi')); } catch (e) {
    // No instance-id without a uuid: nothing to adopt, so nothing can be reported either.
    ctx.report('error', 'datasource Azure', `DMI product_uuid ${JSON.stringify(systemUuid)} is not a uuid: cannot tell the instance (${(e as Error).message})`);
    return null;
  }

  const found = findOvfEnv(ctx.files, o.dataDir, (m) => log.info(`datasource Azure: ${m}`));
  const subplatform = !found ? 'imds (IMDS)' : found.where.startsWith('/dev/') ? `config-disk (${found.where})` : `seed-dir (${found.where})`;
  let ovf: OvfEnv | null = null;
  if (found) {
    try { ovf = parseOvfEnv(found.text); } catch (e) {
      if (e instanceof ProvisioningError) return failed(vmId, e, subplatform);
      throw e;
    }
    if (ovf.username !== null && !validUserName(ovf.username)) {
      return failed(vmId, new ProvisioningError(`unexpected metadata parsing ovf-env.xml: UserName ${JSON.stringify(ovf.username)} is not a valid user name`), subplatform);
    }
    log.info(`datasource Azure: ovf-env.xml from ${found.where}${found.fs ? ` (${found.fs})` : ''}`);
  } else {
    log.warn('datasource Azure: no provisioning medium (ovf-env.xml): IMDS only, which has no password and no custom data (user-data only)');
  }

  let imds: Imds = {};
  let failure: ProvisioningError | null = null;
  const started = now();
  try {
    imds = await fetchImds({ base: o.imdsBase, deadline: Math.min(run.deadline, started + o.maxWaitMs), timeoutMs: o.timeoutMs, log });
    log.info(`datasource Azure: IMDS ${o.imdsBase} answered in ${(now() - started).toFixed(0)} ms`);
  } catch (e) {
    failure = imdsFailure(e);
    log.warn(`datasource Azure: IMDS ${o.imdsBase}: ${(e as Error).message}; ${failure ? 'reported as a provisioning failure' : 'not reachable'}; using ovf-env.xml only`);
  }
  if (!ovf && Object.keys(imds).length === 0) {
    ctx.report('error', 'datasource Azure', 'neither ovf-env.xml nor IMDS is available: nothing to provision from');
    return null;
  }

  const pps = ppsType(ovf, imds);
  if (pps !== 'None') {
    return failed(vmId, new ProvisioningError(`preprovisioned VM (${pps}) is not supported by ec2-init`, { pps_type: pps }), 'imds (IMDS)');
  }

  // The datasource's own cloud-config (cloud-init's read_azure_ovf, then IMDS's osProfile over it).
  const defaultUser: Record<string, unknown> = {};
  const username = imdsUsername(imds) ?? ovf?.username ?? null;
  if (username !== null) {
    if (!validUserName(username)) return failed(vmId, new ProvisioningError(`invalid IMDS metadata for key=compute.osProfile.adminUsername`, { key: 'compute.osProfile.adminUsername' }), subplatform);
    defaultUser['name'] = username;
  }
  if (ovf?.password) {
    defaultUser['lock_passwd'] = false;
    if (ovf.password !== PASSWORD_REDACTED) defaultUser['hashed_passwd'] = hashPassword(ovf.password);
  }
  const config: Config = {};
  if (Object.keys(defaultUser).length) config['system_info'] = { default_user: defaultUser };
  // The user Azure asks for is made even where the image's config lists no users (cloud-init's
  // images all have `users: [default]`; without it, no account could log in). A list there wins.
  if (username !== null && run.system['users'] === undefined) config['users'] = ['default'];
  const disable = imdsDisablePassword(imds) ?? ovf?.disableSshPasswordAuth ?? null;
  if (disable !== null) config['ssh_pwauth'] = !disable;
  else if (ovf?.password) config['ssh_pwauth'] = true;

  let userData = ovf?.customData ?? null;
  if (!userData || userData.length === 0) {
    if (imdsHasCustomData(imds) === true) {
      const msg = `no custom data in ${found?.where ?? 'IMDS'} though IMDS says extended.compute.hasCustomData=true`;
      if (o.failOnMissingCustomData) failure ??= new ProvisioningError('failure to read customData while hasCustomData=true', { pps_type: pps, provisioning_media: found?.where ?? 'IMDS' });
      else log.error(`datasource Azure: ${msg}`);
    }
    try { userData = imdsUserData(imds); } catch {
      ctx.report('warning', 'datasource Azure', 'IMDS compute.userData is not base64; ignored');
      userData = null;
    }
  }

  const hostname = imdsHostname(imds) ?? ovf?.hostname ?? undefined;
  const publicKeys = imdsPublicKeys(imds) ?? ovfKeys(ovf, (m) => ctx.report('warning', 'datasource Azure', m));

  let networkConfig: Record<string, unknown> | undefined;
  if (o.applyNetwork && isMapping(imds['network'])) {
    try {
      networkConfig = imdsNetworkConfig(imds['network'], readNics(ctx.files), { secondaryIps: o.secondaryIps, setName: o.setName });
    } catch (e) {
      ctx.report('warning', 'datasource Azure', `network config from IMDS: ${(e as Error).message}; the fallback config is used`);
    }
  }

  const cache: Record<string, string | Uint8Array> = { [PROVISIONING_FILE]: JSON.stringify(record(vmId, failure, found !== null), null, 2) + '\n' };
  if (found) cache['ovf-env.xml'] = utf8(redactPassword(found.text));
  if (failure) ctx.report('error', 'datasource Azure', `provisioning failed: ${failure.message} (Azure is told: NotReady, ProvisioningFailed)`);
  log.info(`datasource Azure: instance ${instanceId}, vm id ${vmId}, user ${username ?? '(none)'}, ${publicKeys.length} key(s), ` +
    `user-data ${userData ? `${userData.length} bytes` : 'none'}${ovf?.password ? ', a password (hashed)' : ''}`);
  return {
    name: 'Azure',
    provider: 'azure',
    instanceId: instanceId!,
    localHostname: hostname,
    metaData: { 'instance-id': instanceId, 'local-hostname': hostname ?? '', imds },
    userData,
    publicKeys,
    region: imdsRegion(imds) ?? undefined,
    availabilityZone: imdsFaultDomain(imds) ?? undefined,
    cloudName: 'azure',
    platform: 'azure',
    subplatform,
    networkConfig,
    config,
    cache,
  };
}

/**
 * ovf-env.xml's keys: their values. A key given by fingerprint only has its
 * value in the wireserver's encrypted certificates, which ec2-init does not
 * fetch (IMDS has every key on today's Azure): it is named and left out.
 */
function ovfKeys(ovf: OvfEnv | null, warn: (m: string) => void): string[] {
  const keys: string[] = [];
  for (const k of ovf?.publicKeys ?? []) {
    const value = k.value.trim().replace(/\r\n/g, '');
    if (value) keys.push(value);
    else warn(`ovf-env.xml key ${k.fingerprint ? `with fingerprint ${k.fingerprint}` : '(no value, no fingerprint)'} has no value and IMDS has no keys: left out (keys given only by fingerprint need the wireserver's certificates, which ec2-init does not fetch)`);
  }
  return keys;
}

export const azure: Source = {
  name: 'Azure',
  reach: 'link-local',
  detect: (platform) => platform.dmi.chassis_asset_tag === AZURE_ASSET_TAG || platform.exists(`${AZURE_SEED}/ovf-env.xml`),
  notDetected: 'neither the DMI chassis asset tag nor a seeded ovf-env.xml says Azure',
  // Forced on another cloud's machine, it would ask that cloud's link-local service for Azure's IMDS and
  // send the wireserver (a lease's option 245, or 168.63.129.16) its goal-state requests: checked even then.
  detectWhenForced: true,
  read: readAzure,
  provisioned: reportProvisioned,
};
