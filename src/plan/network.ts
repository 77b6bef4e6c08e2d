// Stage init-local (and stage init, for a network datasource): render the
// network config for the image's network stack, before networking starts.
//
// Which config, as cloud-init chooses (first wins): the kernel command line
// (network-config=disabled, or network-config=BASE64 of YAML, gzip allowed),
// the system config's `network:` (`{config: disabled}` turns it off), the
// datasource's (NoCloud network-config, network_data.json of the config drive
// or the OpenStack metadata service), else the fallback: DHCP on the first
// NIC. Network config in user-data is never read.
//
// When: on an instance's first boot. A reboot keeps what is there (cloud-init's
// default update event, boot-new-instance), unless what is there is the
// fallback and the source now has a config, or `updates: {network: {when:
// [boot]}}` asks for every boot. Without a datasource (init-local before a
// network one) the fallback is written unless a source's config already is.
//
// What was rendered is recorded in /var/lib/cloud/data/network-rendered.json,
// so that the next render removes the files this one wrote and no longer needs.
import { isMapping } from '../yaml/index.ts';
import { asText } from '../bytes.ts';
import type { Context } from '../context.ts';
import { readSavedConfig } from '../config/yaml.ts';
import { base64Decode, gunzip } from '../host/codecs.ts';
import { kernelCmdline } from '../host/root-facts.ts';
import { DATA, layout } from '../state/layout.ts';
import { logStep, type NetworkStep } from './steps.ts';
import type { SourceData, Stage } from '../types.ts';
import { ec2NetworkConfig } from '../network/ec2.ts';
import { fallbackConfig, fallbackNic } from '../network/fallback.ts';
import type { NetworkConfig, Problem } from '../network/model.ts';
import { NETPLAN_PATH } from '../network/netplan.ts';
import { parseNetworkConfig, type NetworkInput } from '../network/parse.ts';
import type { Rendered } from '../network/render.ts';
import { priority, RENDERERS, selectRenderer, type RendererName } from '../network/renderers.ts';
import { globTest, readNics, type Nic } from '../network/sysfs.ts';
import { udevRunning, waitForUdev } from '../sources/device-wait.ts';

export const RECORD = `${DATA}/network-rendered.json`;

type Origin = 'cmdline' | 'system' | 'datasource' | 'fallback';

interface RecordFile {
  instanceId: string | null;
  origin: Origin;
  source: string;
  renderer: RendererName;
  files: string[];
  /** The config as read, to tell an unchanged config from a changed one. */
  config: string;
}

export interface NetworkPlan {
  action: 'disabled' | 'keep' | 'unchanged' | 'render' | 'nothing';
  /** One line for the log and `plan`. */
  detail: string;
  problems: Problem[];
  renderer?: RendererName;
  config?: NetworkConfig;
  rendered?: Rendered;
  origin?: Origin;
}

/** The kernel's network-config= argument: 'disabled', the config, or null. */
function fromCmdline(cmdline: string, problems: Problem[]): NetworkInput | 'disabled' | null {
  const arg = cmdline.split(/\s+/).find((w) => w.startsWith('network-config='));
  if (!arg) return null;
  const value = arg.slice('network-config='.length);
  if (value === 'disabled') return 'disabled';
  const where = 'kernel command line network-config=';
  try {
    let bytes = base64Decode(value);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzip(bytes, 1024 * 1024);
    return { format: 'yaml', text: asText(bytes), where };
  } catch (e) {
    problems.push({ level: 'error', message: `${where}: not base64 (of YAML, optionally gzipped): ${(e as Error).message}; ignored` });
    return null;
  }
}

/**
 * The datasource's own network config, from what it found. EC2's comes from
 * its meta-data (network/interfaces/macs), which needs this machine's NICs
 * and, for policy routing, whether netplan is the renderer (network/ec2.ts).
 */
export function sourceNetworkInput(found: SourceData, ec2?: { nics: Nic[]; system: Record<string, unknown>; netplan: boolean; problems: Problem[]; notes: string[] }): NetworkInput | null {
  const cache = found.cache ?? {};
  const text = (v: string | Uint8Array) => (typeof v === 'string' ? v : asText(v));
  if (cache['network-config'] !== undefined) return { format: 'yaml', text: text(cache['network-config']), where: `${found.name} network-config` };
  if (cache['network_data.json'] !== undefined) return { format: 'network_data', text: text(cache['network_data.json']), where: `${found.name} network_data.json` };
  if (found.networkConfig) return { format: 'value', value: found.networkConfig, where: `${found.name} metadata network config` };
  if (found.name === 'Ec2' && ec2 && isMapping(found.metaData)) {
    const ds = isMapping(ec2.system['datasource']) && isMapping(ec2.system['datasource']['Ec2']) ? ec2.system['datasource']['Ec2'] : {};
    const full = ds['apply_full_imds_network_config'] !== false;
    const net = ec2NetworkConfig(found.metaData, ec2.nics, { full, netplan: ec2.netplan, fallbackNic: fallbackNic(ec2.nics)?.name ?? null });
    ec2.problems.push(...net.problems);
    if (net.note) ec2.notes.push(net.note);
    if (net.config) return { format: 'value', value: net.config, where: 'Ec2 meta-data network/interfaces/macs' };
  }
  return null;
}

function readRecord(ctx: Context): RecordFile | null {
  try {
    const text = ctx.files.readTextIfExists(RECORD);
    return text ? JSON.parse(text) as RecordFile : null;
  } catch { return null; }
}

function bootEventEnabled(ctx: Context, system: Record<string, unknown>): boolean {
  let user: Record<string, unknown> = {};
  try { user = readSavedConfig(ctx.files.readTextIfExists(layout.userConfig) ?? '', layout.userConfig); } catch { /* none */ }
  for (const cfg of [user, system]) {
    const updates = cfg['updates'];
    if (!isMapping(updates) || !isMapping(updates['network'])) continue;
    const when = updates['network']['when'];
    if (Array.isArray(when)) return when.includes('boot') || when.includes('boot-legacy');
  }
  return false;
}

/** What this boot does about the network, computed without writing anything (plan uses it as is). */
/** The network step of a stage's plan (plan/steps.ts). */
export function networkStep(stage: Stage, plan: NetworkPlan): NetworkStep {
  return { kind: 'network', stage, name: 'network', run: plan.action === 'render', detail: plan.detail };
}

export function planNetwork(ctx: Context, system: Record<string, unknown>, found: SourceData | null, instanceId: string | null): NetworkPlan {
  const problems: Problem[] = [];
  const cmd = fromCmdline(kernelCmdline(ctx.files), problems);
  if (cmd === 'disabled') return { action: 'disabled', detail: 'disabled by network-config=disabled on the kernel command line', problems };
  const sysNet = system['network'];
  let input: NetworkInput | null = cmd;
  let origin: Origin = 'cmdline';
  if (!input && isMapping(sysNet)) {
    if (sysNet['config'] === 'disabled') return { action: 'disabled', detail: 'disabled by network: {config: disabled} in the system config', problems };
    if (sysNet['version'] !== undefined) { input = { format: 'value', value: sysNet, where: 'system config network' }; origin = 'system'; }
  }
  const nics = readNics(ctx.files);
  if (!input && found) {
    const netplan = found.name === 'Ec2' && selectRenderer(ctx.files, priority(system).list) === 'netplan';
    const notes: string[] = [];
    input = sourceNetworkInput(found, { nics, system, netplan, problems, notes });
    for (const n of notes) ctx.log.info(`network: ${n}`);
    origin = 'datasource';
  }
  let config: NetworkConfig | null = null;
  if (input) {
    const parsed = parseNetworkConfig(input, nics);
    problems.push(...parsed.problems);
    if (parsed.disabled) return { action: 'disabled', detail: `disabled by config: disabled in ${input.where}`, problems };
    config = parsed.config;
    if (!config) problems.push({ level: 'error', message: `${input.where}: nothing in it can be rendered; writing the fallback (DHCP on the first NIC) instead` });
  }
  if (!config) {
    origin = 'fallback';
    const fb = fallbackConfig_(nics);
    if (!fb) return { action: 'nothing', detail: 'no network config, and no NIC for the fallback in /sys/class/net', problems };
    config = fb;
  }
  const record = readRecord(ctx);
  const digest = JSON.stringify(config.raw);
  if (record) {
    const sameInstance = record.instanceId === instanceId;
    if (instanceId === null && record.origin !== 'fallback') {
      return { action: 'keep', detail: `kept: ${record.source} rendered for instance ${record.instanceId ?? '-'} (no datasource found yet)`, problems: [] };
    }
    if (instanceId !== null && sameInstance && record.origin !== 'fallback' && !bootEventEnabled(ctx, system)) {
      return { action: 'keep', detail: `kept: rendered on this instance's first boot from ${record.source} (per instance; updates: network: when: [boot] renders every boot)`, problems: [] };
    }
    if (record.config === digest && (sameInstance || origin === 'fallback') && record.files.every((f) => ctx.files.exists(f))) {
      return { action: 'unchanged', detail: `unchanged: ${config.origin} for ${record.renderer} (${record.files.join(', ')})`, problems };
    }
  }
  const { list, problems: prioProblems } = priority(system);
  for (const p of prioProblems) problems.push({ level: 'warning', message: p });
  const renderer = selectRenderer(ctx.files, list);
  if (!renderer) {
    // cloud-init logs this as an error and goes on (its 25.1 status: degraded), so a warning here.
    problems.push({ level: 'warning', message: `no network renderer available on this image (searched ${list.join(', ')}; ec2-init writes eni, netplan and networkd); the network config is not rendered` });
    return { action: 'nothing', detail: 'no network renderer available', problems, config, origin };
  }
  // What the parser says ifupdown and networkd would not render is no problem when netplan renders it.
  if (renderer === 'netplan') {
    const netplanOnly = /: rendered only by netplan \(ifupdown and networkd ignore (it|them)\)$|not rendered for ifupdown or networkd \(netplan gets it unchanged\)$/;
    for (let i = problems.length - 1; i >= 0; i--) if (problems[i]!.level === 'warning' && netplanOnly.test(problems[i]!.message)) problems.splice(i, 1);
  }
  const rendered = RENDERERS[renderer](config);
  problems.push(...rendered.problems);
  return {
    action: 'render', renderer, config, rendered, origin, problems,
    detail: `render ${config.origin} for ${renderer}: ${rendered.files.map((f) => f.path).join(', ')}`,
  };
}

function fallbackConfig_(nics: Nic[]): NetworkConfig | null {
  const nic = fallbackNic(nics);
  if (!nic) return null;
  const parsed = parseNetworkConfig({ format: 'value', value: fallbackConfig(nic), where: 'fallback' }, nics);
  return parsed.config ? { ...parsed.config, origin: `fallback (DHCP on ${nic.name})` } : null;
}

/** Render (or keep) the network config; problems go to the log and status, the boot goes on. */
export async function applyNetwork(ctx: Context, system: Record<string, unknown>, found: SourceData | null, instanceId: string | null, stage: Stage): Promise<void> {
  const where = 'network';
  let plan: NetworkPlan;
  try {
    plan = planNetwork(ctx, system, found, instanceId);
    // Before networking, a NIC the config names may still be on its way (udev loading its driver): wait for it, then plan again.
    const missing = (): string[] => (plan.config ? missingNics(plan.config, readNics(ctx.files)) : []);
    if (stage === 'init-local' && plan.action === 'render' && missing().length && udevRunning(ctx)) {
      const names = missing();
      const r = await waitForUdev(ctx, () => missing().length === 0);
      ctx.log.info(`${where}: ${r.outcome === 'ready' ? `${names.join(', ')} there` : `${missing().join(', ')} still missing (${r.outcome})`} after ${r.ms.toFixed(0)} ms`);
      if (r.outcome === 'ready') plan = planNetwork(ctx, system, found, instanceId);
    }
  } catch (e) {
    ctx.report('error', where, `could not work out the network config: ${(e as Error).message}`);
    return;
  }
  for (const p of plan.problems) ctx.report(p.level, where, p.message);
  logStep(ctx.log, networkStep(stage, plan));
  ctx.log.info(`${where}: ${plan.detail}`);
  if (plan.action !== 'render' || !plan.rendered || !plan.renderer || !plan.config) return;
  const previous = readRecord(ctx);
  const written: string[] = [];
  for (const f of plan.rendered.files) {
    try { ctx.files.write(f.path, f.content, { mode: f.mode }); written.push(f.path); } catch (e) {
      ctx.report('error', where, `${f.path}: ${(e as Error).message}`);
    }
  }
  for (const old of previous?.files ?? []) {
    if (written.includes(old)) continue;
    try { ctx.files.unlink(old); ctx.log.info(`${where}: removed ${old} (written by the previous render, not needed now)`); } catch (e) {
      ctx.report('warning', where, `could not remove ${old}: ${(e as Error).message}`);
    }
  }
  if (plan.renderer === 'eni') {
    const main = ctx.files.readTextIfExists('/etc/network/interfaces') ?? '';
    if (!/^\s*(source|source-directory)\s+\S*interfaces\.d/m.test(main)) {
      ctx.report('warning', where, '/etc/network/interfaces does not source /etc/network/interfaces.d: ifupdown will not read what ec2-init wrote there');
    }
  }
  const record: RecordFile = {
    instanceId, origin: plan.origin!, source: plan.config.origin, renderer: plan.renderer, files: written, config: JSON.stringify(plan.config.raw),
  };
  ctx.files.write(RECORD, JSON.stringify(record, null, 2) + '\n', { mode: 0o644 });
  await runningSystem(ctx, plan);
}

/** The config's NICs (not optional) that no NIC of this machine matches yet: by MAC, else name (a glob), else driver. */
export function missingNics(config: NetworkConfig, nics: Nic[]): string[] {
  return config.interfaces.filter((i) => i.kind === 'physical' && i.optional !== true && !nics.some((n) =>
    i.match.mac ? n.mac === i.match.mac : i.match.name ? globTest(i.match.name)(n.name) : i.match.driver ? n.driver === i.match.driver : true,
  )).map((i) => i.entry);
}

/** What needs the running system: NICs to rename now (udev named them before the files existed), netplan generate. */
async function runningSystem(ctx: Context, plan: NetworkPlan): Promise<void> {
  const where = 'network';
  const renames = plan.rendered?.renames ?? [];
  const nics = readNics(ctx.files);
  const todo = renames.map((r) => ({ ...r, nic: nics.find((n) => n.mac === r.mac) })).filter((r) => r.nic && r.nic.name !== r.name);
  const steps = [...todo.map((r) => `ip link set dev ${r.nic!.name} name ${r.name}`), ...(plan.renderer === 'netplan' ? ['netplan generate'] : [])];
  if (steps.length === 0) return;
  if (ctx.root !== '/') { ctx.log.info(`${where}: skipped with --root ${ctx.root} (needs the running system): ${steps.join('; ')}`); return; }
  for (const r of todo) {
    if (r.nic!.operstate === 'up') { ctx.report('warning', where, `${r.entry}: ${r.nic!.name} is up; not renamed to ${r.name} now (the rename rule applies from the next boot)`); continue; }
    if (nics.some((n) => n.name === r.name)) { ctx.report('warning', where, `${r.entry}: another interface is already named ${r.name}; ${r.nic!.name} not renamed now`); continue; }
    await ctx.runChecked(where, ['ip', 'link', 'set', 'dev', r.nic!.name, 'name', r.name], { timeoutMs: 10_000 });
  }
  if (plan.renderer === 'netplan') await ctx.runChecked(where, ['netplan', 'generate'], { timeoutMs: 60_000 });
}

export { NETPLAN_PATH };
