// VMware (vSphere, Workstation, Fusion): the guestinfo variables the VM's
// configuration carries, read through VMware Tools' backdoor programs of the
// image, chrooted like every program:
//
//   vmware-rpctool "info-get guestinfo.KEY"           (preferred), else
//   vmtoolsd --cmd "info-get guestinfo.KEY"           (also the fallback when rpctool fails)
//
// KEY is metadata, userdata and vendordata, each with KEY.encoding: base64
// (b64), gzip+base64 (gz+b64), or anything else for plain text. A value that
// is empty or "---" is no value. The metadata (JSON, else YAML) gives
// instance-id (else DMI's product_uuid), local-hostname, the ssh keys
// (public-keys-data, public_keys_data, public-keys, public_keys) and the
// network config (`network`, a mapping or a string with `network.encoding`).
//
// What the metadata's `redact` list (or the older `cleanup-guestinfo`) names
// is cleared right after it was read, as cloud-init clears it: guestinfo is
// readable by unprivileged programs in the guest, so user-data with secrets
// should not stay there. Each KEY is set to "---" and KEY.encoding to " "
// (info-set cannot set an empty value). `plan` reads but clears nothing.
//
// Asked where DMI's product name says VMware and one of the two programs is
// installed (cloud-init's ds-identify and is_vmware_platform).
import { asText, utf8 } from '../bytes.ts';
import { parseYamlMapping } from '../config/yaml.ts';
import type { Context } from '../context.ts';
import type { RunResult } from '../host/run.ts';
import { base64Decode, gunzip } from '../host/codecs.ts';
import type { Logger } from '../log.ts';
import { remaining } from '../net/cancel.ts';
import type { SourceData } from '../types.ts';
import type { Platform } from './platform.ts';
import { pubkeys } from './pubkeys.ts';
import type { Source, SourceRun } from './source.ts';

/** Where the programs are looked for in the root (the PATH every program of ec2-init runs with). */
const BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const EMPTY_VALUE = '---';
const NO_VALUE = 'No value found';
/** One program run, at most (and never past the search's deadline). */
const TOOL_TIMEOUT_MS = 10_000;
/** A decoded value (gzip undone) of more than this is refused. */
const MAX_VALUE = 16 * 1024 * 1024;
/** What one program's output can hold (run.ts captures 1 MiB of each stream). */
const MAX_CAPTURE = 1024 * 1024;

/** One of the two programs, and the search's deadline its runs are cut to. */
type Tool = { kind: 'rpctool' | 'vmtoolsd'; path: string; deadline: number };

/** Run one backdoor command (`info-get …`, `info-set …`) with the program, chrooted. */
function rpc(ctx: Context, tool: Tool, command: string): Promise<RunResult> {
  const argv = tool.kind === 'rpctool' ? [tool.path, command] : [tool.path, '--cmd', command];
  return ctx.capture(argv, { timeoutMs: Math.max(1, Math.min(TOOL_TIMEOUT_MS, remaining(tool.deadline))) });
}

function findTool(p: Platform, name: string): string | null {
  for (const dir of BIN_DIRS) if (p.exists(`${dir}/${name}`)) return `${dir}/${name}`;
  return null;
}

const isVmware = (p: Platform) => p.dmi.product_name.toLowerCase().includes('vmware');

/** A failure of the program itself (not "no value"): the caller may try the other program. */
class ToolError extends Error {}

/** info-get guestinfo.KEY; null when there is no value (absent, empty or "---"). */
async function infoGet(ctx: Context, tool: Tool, key: string): Promise<string | null> {
  const command = `info-get guestinfo.${key}`;
  const r = await rpc(ctx, tool, command);
  if (r.code !== 0) {
    if (r.stderr.trim() === NO_VALUE) return null;
    const why = r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
    throw new ToolError(`${tool.path} "${command}": ${why}${r.stderr.trim() ? `: ${r.stderr.trim().slice(0, 300)}` : ''}`);
  }
  if (r.stdout.length >= MAX_CAPTURE) throw new Error(`guestinfo.${key}: larger than ${MAX_CAPTURE} bytes`);
  const value = r.stdout.trimEnd();
  return value === '' || value === EMPTY_VALUE ? null : value;
}

/** A value as its encoding says: base64, gzip+base64, or plain text (cloud-init's names). */
function decode(key: string, encoding: string | null, value: string, log: Logger): Uint8Array {
  const enc = encoding?.trim() ?? '';
  try {
    if (enc === 'gzip+base64' || enc === 'gz+b64') {
      const raw = base64Decode(value);
      return raw[0] === 0x1f && raw[1] === 0x8b ? gunzip(raw, MAX_VALUE) : raw;
    }
    if (enc === 'base64' || enc === 'b64') return base64Decode(value);
  } catch (e) {
    throw new Error(`${key}: not ${enc} (${(e as { code?: string }).code === 'E2BIG' ? `more than ${MAX_VALUE} bytes unpacked` : (e as Error).message})`);
  }
  if (enc !== '') log.warn(`datasource VMware: ${key}.encoding ${JSON.stringify(enc.slice(0, 40))} is none of base64, b64, gzip+base64, gz+b64: read as plain text`);
  return utf8(value);
}

/** JSON, else YAML (cloud-init's load_json_or_yaml); a mapping. */
function jsonOrYaml(text: string, where: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch { /* not JSON: YAML */ }
  return parseYamlMapping(text, where);
}

/** guestinfo.metadata, .userdata, .vendordata with one program; ToolError when the program fails. */
async function query(ctx: Context, tool: Tool, log: Logger): Promise<Record<'metadata' | 'userdata' | 'vendordata', Uint8Array | null>> {
  const out = { metadata: null, userdata: null, vendordata: null } as Record<'metadata' | 'userdata' | 'vendordata', Uint8Array | null>;
  for (const key of ['metadata', 'userdata', 'vendordata'] as const) {
    const value = await infoGet(ctx, tool, key);
    if (value === null) continue;
    out[key] = decode(`guestinfo.${key}`, await infoGet(ctx, tool, `${key}.encoding`), value, log);
  }
  return out;
}

/** The metadata's `network` (and `network.encoding`) as a config mapping, moved to `network: {config}` as cloud-init keeps it. */
function networkOf(meta: Record<string, unknown>, log: Logger): Record<string, unknown> | undefined {
  const network = meta['network'];
  const encoding = meta['network.encoding'];
  delete meta['network'];
  delete meta['network.encoding'];
  if (!network) return undefined;
  let config: Record<string, unknown>;
  if (typeof network === 'object' && !Array.isArray(network)) config = network as Record<string, unknown>;
  else if (typeof network === 'string') {
    config = jsonOrYaml(asText(decode('guestinfo.metadata network', typeof encoding === 'string' ? encoding : null, network, log)), 'guestinfo.metadata network');
  } else throw new Error(`guestinfo.metadata: network is ${Array.isArray(network) ? 'a list' : typeof network}, not a mapping or an encoded string`);
  meta['network'] = { config };
  return config;
}

/** Clear what `redact` (or `cleanup-guestinfo`) lists: KEY to "---", KEY.encoding to " ". */
async function clear(ctx: Context, tool: Tool, meta: Record<string, unknown>): Promise<void> {
  const listed = meta['redact'] ?? meta['cleanup-guestinfo'];
  if (!listed) return;
  const keys = Array.isArray(listed) ? listed : [listed];
  for (const key of keys) {
    // The key is a word of the info-set command line: a space would make the rest of it the value.
    if (typeof key !== 'string' || !/^[A-Za-z0-9._-]+$/.test(key)) {
      ctx.report('warning', 'datasource VMware', `redact: ${JSON.stringify(key)} is not a guestinfo key name (letters, digits, '.', '_', '-'); not cleared`);
      continue;
    }
    if (ctx.planning) { ctx.log.info(`datasource VMware: plan: guestinfo.${key} would be cleared`); continue; }
    for (const [name, value] of [[key, EMPTY_VALUE], [`${key}.encoding`, ' ']] as const) {
      const r = await rpc(ctx, tool, `info-set guestinfo.${name} ${value}`);
      if (r.code === 0) ctx.log.info(`datasource VMware: cleared guestinfo.${name}`);
      else ctx.report('warning', 'datasource VMware', `could not clear guestinfo.${name} (${tool.path}: exit ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim().slice(0, 200)}` : ''}); it stays readable in the guest`);
    }
  }
}

async function readVmware({ ctx, log, platform, deadline }: SourceRun): Promise<SourceData | null> {
  if (!isVmware(platform)) {
    log.info(`datasource VMware: DMI product name ${JSON.stringify(platform.dmi.product_name)} is not VMware's; guestinfo not read`);
    return null;
  }
  const rpctool = findTool(platform, 'vmware-rpctool');
  const vmtoolsd = findTool(platform, 'vmtoolsd');
  const tools: Tool[] = [...(rpctool ? [{ kind: 'rpctool' as const, path: rpctool, deadline }] : []), ...(vmtoolsd ? [{ kind: 'vmtoolsd' as const, path: vmtoolsd, deadline }] : [])];
  if (tools.length === 0) {
    log.info('datasource VMware: neither vmware-rpctool nor vmtoolsd is installed (open-vm-tools); guestinfo not read');
    return null;
  }
  let tool = tools[0]!;
  let data: Awaited<ReturnType<typeof query>>;
  try { data = await query(ctx, tool, log); } catch (e) {
    if (!(e instanceof ToolError) || tools.length < 2) throw e;
    log.warn(`datasource VMware: ${e.message}; trying ${tools[1]!.path}`);
    tool = tools[1]!;
    data = await query(ctx, tool, log);
  }
  if (!data.metadata && !data.userdata && !data.vendordata) {
    log.info(`datasource VMware: no guestinfo.metadata, .userdata or .vendordata (${tool.path})`);
    return null;
  }
  const metaText = data.metadata ? asText(data.metadata) : '';
  const metaData = metaText ? jsonOrYaml(metaText, 'guestinfo.metadata') : {};
  const networkConfig = networkOf(metaData, log);
  await clear(ctx, tool, metaData);
  let instanceId = metaData['instance-id'];
  if (typeof instanceId !== 'string' && typeof instanceId !== 'number') {
    instanceId = platform.dmi.product_uuid.toLowerCase();
    if (instanceId === '') throw new Error('guestinfo.metadata has no instance-id, and DMI no product_uuid to take instead');
    metaData['instance-id'] = instanceId;
  }
  const hostname = metaData['local-hostname'];
  const keysKey = ['public-keys-data', 'public_keys_data', 'public-keys', 'public_keys'].find((k) => k in metaData);
  const cache: Record<string, string | Uint8Array> = {};
  if (data.metadata) cache['metadata'] = data.metadata;
  log.info(`datasource VMware: guestinfo through ${tool.path}:${data.metadata ? ' metadata' : ''}${data.userdata ? ' userdata' : ''}${data.vendordata ? ' vendordata' : ''}`);
  return {
    name: 'VMware',
    provider: 'vmware',
    instanceId: String(instanceId),
    localHostname: typeof hostname === 'string' ? hostname : undefined,
    metaData,
    userData: data.userdata,
    vendorData: data.vendordata,
    publicKeys: keysKey ? pubkeys(metaData[keysKey]) : [],
    cloudName: 'vmware',
    platform: 'vmware',
    subplatform: 'guestinfo (guestinfo.metadata)',
    ...(networkConfig && { networkConfig }),
    cache,
  };
}

export const vmware: Source = {
  name: 'VMware',
  reach: 'files',
  detect: (p) => isVmware(p) && (findTool(p, 'vmware-rpctool') !== null || findTool(p, 'vmtoolsd') !== null),
  notDetected: 'DMI does not say VMware, or neither vmware-rpctool nor vmtoolsd is installed',
  read: readVmware,
};
