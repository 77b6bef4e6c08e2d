// Azure's provisioning data, ovf-env.xml: where it is found and what it says.
//
// Found (cloud-init's order): the seed directory /var/lib/cloud/seed/azure/,
// the provisioning CD-ROM (/dev/sr0, then any other iso9660 or UDF volume
// holding an ovf-env.xml; read by ec2-init's own volume readers, never
// mounted), then the copy an earlier boot left in the agent's data directory
// (/var/lib/waagent: Azure ejects the medium after the first boot).
//
// Read (cloud-init's OvfEnvXml, elements found by namespace URI): the
// LinuxProvisioningConfigurationSet's HostName (required), UserName,
// UserPassword, CustomData (base64: the user-data), DisableSshPassword-
// Authentication and SSH/PublicKeys (Fingerprint, Path, Value); the
// PlatformSettings' PreprovisionedVm, PreprovisionedVMType and
// ProvisionGuestProxyAgent. `dscfg` is not read: cloud-init stopped reading
// it in 22.3 (Azure never sends it).
//
// The password is held in memory only: the copy of ovf-env.xml that is kept
// has it replaced by REDACTED (cloud-init's marker, which no Azure password
// can equal: it fails Azure's complexity rules), and no error quotes the text.
import { isTrue } from '../validate/bool.ts';
import { asText } from '../bytes.ts';
import type { Files } from '../host/files.ts';
import { base64Decode } from '../host/codecs.ts';
import { openVolume } from './volume/index.ts';
import { childrenNamed, escapeXml, parseXml, XmlError, type XmlElement } from './azure-xml.ts';

export const OVF_NS = 'http://schemas.dmtf.org/ovf/environment/1';
export const WA_NS = 'http://schemas.microsoft.com/windowsazure';
/** What replaces the password in every kept copy (cloud-init's DEF_PASSWD_REDACTION). */
export const PASSWORD_REDACTED = 'REDACTED';
/** Azure's longest Linux password (cloud-init's MAX_PASSWORD_LENGTH). */
export const MAX_PASSWORD_LENGTH = 72;
/** The provisioning medium (cloud-init's DEFAULT_PROVISIONING_ISO_DEV). */
export const PROVISIONING_ISO = '/dev/sr0';
const MAX_OVF_BYTES = 4 * 1024 * 1024;

export interface OvfPublicKey { fingerprint: string | null; path: string | null; value: string }

export interface OvfEnv {
  hostname: string | null;
  username: string | null;
  /** In memory only; PASSWORD_REDACTED when read from a kept copy. */
  password: string | null;
  customData: Uint8Array | null;
  /** null: not said. */
  disableSshPasswordAuth: boolean | null;
  publicKeys: OvfPublicKey[];
  preprovisionedVm: boolean;
  preprovisionedVmType: string | null;
  provisionGuestProxyAgent: boolean;
}

/** Provisioning data that is broken: the reason Azure is told (cloud-init's ReportableError reasons). */
export class ProvisioningError extends Error {
  readonly data: Record<string, string | number>;
  constructor(reason: string, data: Record<string, string | number> = {}) {
    super(reason);
    this.data = data;
  }
}

/** An ovf-env.xml that is not Azure's (no ProvisioningSection): another platform's OVF, not an error. */
export class NotAzureOvf extends Error {}


function one(node: XmlElement, name: string, required: boolean): XmlElement | null {
  const found = childrenNamed(node, WA_NS, name);
  if (found.length > 1) throw new ProvisioningError(`unexpected metadata parsing ovf-env.xml: multiple configuration matches for '${name}' (${found.length})`);
  if (found.length === 0 && required) throw new ProvisioningError(`unexpected metadata parsing ovf-env.xml: missing configuration for '${name}'`);
  return found[0] ?? null;
}

/** A property's text; null when absent or empty (as ElementTree gives None for an empty element). */
function prop(node: XmlElement, name: string, required = false): string | null {
  const el = one(node, name, required);
  return el === null || el.text === '' ? null : el.text;
}

/** Parse ovf-env.xml. Throws NotAzureOvf for another platform's OVF, ProvisioningError for a broken one. */
export function parseOvfEnv(text: string): OvfEnv {
  let root: XmlElement;
  try { root = parseXml(text); } catch (e) {
    if (e instanceof XmlError) throw new ProvisioningError(`error parsing ovf-env.xml: ${e.message}`);
    throw e;
  }
  if (childrenNamed(root, WA_NS, 'ProvisioningSection').length === 0) throw new NotAzureOvf('ovf-env.xml has no Azure ProvisioningSection');
  const set = one(one(root, 'ProvisioningSection', true)!, 'LinuxProvisioningConfigurationSet', true)!;
  const custom = prop(set, 'CustomData');
  let customData: Uint8Array | null = null;
  if (custom !== null) {
    try { customData = base64Decode(custom.replace(/\s+/g, '')); } catch {
      throw new ProvisioningError('unexpected metadata parsing ovf-env.xml: CustomData is not base64');
    }
  }
  const password = prop(set, 'UserPassword');
  if (password !== null && password.length > MAX_PASSWORD_LENGTH) {
    throw new ProvisioningError(`unsupported password length=${password.length} max=${MAX_PASSWORD_LENGTH}`, { length: password.length, max_length: MAX_PASSWORD_LENGTH });
  }
  const disable = one(set, 'DisableSshPasswordAuthentication', false);
  const platform = one(one(root, 'PlatformSettingsSection', true)!, 'PlatformSettings', true)!;
  return {
    hostname: prop(set, 'HostName', true),
    username: prop(set, 'UserName'),
    password,
    customData,
    disableSshPasswordAuth: disable === null ? null : isTrue(disable.text),
    publicKeys: publicKeys(set),
    preprovisionedVm: isTrue(prop(platform, 'PreprovisionedVm')),
    preprovisionedVmType: prop(platform, 'PreprovisionedVMType'),
    provisionGuestProxyAgent: isTrue(prop(platform, 'ProvisionGuestProxyAgent')),
  };
}

function publicKeys(set: XmlElement): OvfPublicKey[] {
  const ssh = one(set, 'SSH', false);
  const keys = ssh && one(ssh, 'PublicKeys', false);
  if (!keys) return [];
  return childrenNamed(keys, WA_NS, 'PublicKey').map((k) => ({
    fingerprint: prop(k, 'Fingerprint'),
    path: prop(k, 'Path'),
    value: prop(k, 'Value') ?? '',
  }));
}

/**
 * ovf-env.xml with the password's text replaced by REDACTED: the copy that is
 * kept. Parsed first, so what is kept is what was read; the replacement is
 * made in the text (the rest stays byte for byte).
 */
export function redactPassword(text: string): string {
  return text.replace(/(<(?:[\w.-]+:)?UserPassword(?:\s[^>]*)?>)([^<]*)(<\/)/g, `$1${escapeXml(PASSWORD_REDACTED)}$3`);
}

/** Where ovf-env.xml was found (and on which filesystem, for a volume), and its text. */
export interface OvfFound { where: string; text: string; fs?: string }

/**
 * The first ovf-env.xml of the places above that is Azure's; null when none
 * is. `dataDir` is the agent's data directory (datasource Azure data_dir).
 */
export function findOvfEnv(files: Files, dataDir: string, log: (m: string) => void): OvfFound | null {
  const seed = '/var/lib/cloud/seed/azure';
  const fromDir = (dir: string): OvfFound | null => {
    const b = files.readIfExists(`${dir}/ovf-env.xml`, MAX_OVF_BYTES);
    return b === null ? null : { where: dir, text: asText(b) };
  };
  const candidates: (() => OvfFound | null)[] = [() => fromDir(seed)];
  for (const dev of provisioningDevices(files)) {
    candidates.push(() => {
      const v = openVolume(files, dev);
      if (!v || !['iso9660', 'udf'].includes(v.fsType)) return null;
      const b = v.read('/ovf-env.xml');
      return b === null ? null : { where: dev, text: asText(b), fs: v.fsType };
    });
  }
  candidates.push(() => fromDir(dataDir));
  for (const c of candidates) {
    let found: OvfFound | null = null;
    try { found = c(); } catch (e) { log(`ovf-env.xml: ${(e as Error).message}; looking further`); }
    if (found === null) continue;
    // Another platform's OVF is skipped; a broken Azure one is the answer (parseOvfEnv will say why).
    try { parseOvfEnv(found.text); } catch (e) {
      if (e instanceof NotAzureOvf) { log(`${found.where}/ovf-env.xml is not Azure's (no ProvisioningSection); looking further`); continue; }
    }
    return found;
  }
  return null;
}

/** /dev/sr0, then every other block device with something in it (no size-0 drives, no floppies), once each. */
function provisioningDevices(files: Files): string[] {
  const out = [PROVISIONING_ISO];
  for (const name of files.list('/sys/class/block')) {
    if (/^(fd|loop|ram|zram)\d/.test(name)) continue;
    try {
      if (files.readTextIfExists(`/sys/class/block/${name}/size`, 64)?.trim() === '0') continue;
    } catch { /* no size attribute: probe anyway */ }
    const dev = `/dev/${name.replace(/!/g, '/')}`;
    if (!out.includes(dev)) out.push(dev);
  }
  return out;
}
