// What init-local waits for, instead of a global `udevadm settle` (which
// waited for udev to handle every device of the machine: 18 s of a TCG
// boot, on every boot): before its search, the seed volume the
// datasource_list can read (NoCloud's cidata, ConfigDrive's config-2), or,
// when it reads none, a NIC for the ephemeral network of a link-local
// source (Ec2 and the like); before
// it renders a network config, the NICs that config names (plan/network.ts).
// Volumes are read in userspace from the kernel's own device nodes, so udev
// matters only where it loads the driver that makes a device appear (a
// CD-ROM's sr_mod, a NIC's). A wait ends as soon as what it waits for is
// there, or when udev has handled every event it was given (its queue,
// /run/udev/queue, stays empty: nothing more is coming), or after WAIT_MS.
// The volume wait is skipped when nothing needs it: no volume source in the
// list, a seed directory or `ds=nocloud;s=` already there, or a second boot
// of a known instance that did not come from a volume (stage init looks for
// a seed again, and this instance's network config was rendered on its
// first boot); one that came from a volume waits for it (not found in
// init-local, stage init would first wait for the network). Without a
// running udev (/run/udev/control: a container, a test root) nothing waits.
// ec2-init-local.service is ordered after systemd-udev-trigger.service, so
// udev has been told of every device.
// udev settles first (bounded), as before this wait existed: the VM tests
// showed the targeted wait alone is not enough. init-local ran 511 ms after
// udev's queue was empty with neither the NIC nor the CD-ROM there yet (an
// empty queue does not mean the kernel has made every device), so Azure
// found no provisioning disc, NoCloud no cidata ISO and the NIC configs had
// no NIC. But the settle waits for every device of the machine (5-9.5 s of a
// TCG first boot, holding systemd-networkd and so sshd), so it is stopped as
// soon as what this boot needs is there: the seed volume, and every NIC the
// kernel has made handled by udev (its database entry written, so its name
// is final) with one for the fallback config among them. That early end is
// taken only when no source listed before the volume's needs another device
// (Azure's disc: the settle stays for such lists, and for boots that find no
// volume, as Ec2's). A second boot of an instance that came from a volume
// waits for that volume instead (the settle held systemd-networkd, and so
// sshd, 10.8 s of a TCG second boot, 32 s of a loaded one), and settles only
// when the volume does not come.
import type { Context } from '../context.ts';
import { now } from '../host/clock.ts';
import { Cancel, sleep } from '../net/cancel.ts';
import { loadInstance, type Instance } from '../state/instance.ts';
import { layout } from '../state/layout.ts';
import { CONFIG_DRIVE_LABELS } from './configdrive.ts';
import { NOCLOUD_LABELS, parseNoCloudCmdline } from './nocloud.ts';
import { kernelCmdline } from '../host/root-facts.ts';
import { describeExit } from '../host/run.ts';
import { findVolumeByLabel } from './volume/index.ts';
import { fallbackNic } from '../network/fallback.ts';
import { readNics } from '../network/sysfs.ts';
import { sourceInfo } from './registry.ts';

/** The longest wait (the fault matrix's bound is 10 s for a whole boot). */
export const WAIT_MS = 8_000;
const POLL_MS = 100;

const VOLUME_SOURCES: Record<string, readonly string[]> = { NoCloud: NOCLOUD_LABELS, ConfigDrive: CONFIG_DRIVE_LABELS };
const VOLUME_SOURCE = new Map(Object.entries(VOLUME_SOURCES).flatMap(([name, labels]) => labels.map((l) => [l, name] as const)));

/** Whether udev runs (its control socket is there): else no device will appear that is not there now. */
export function udevRunning(ctx: Context): boolean {
  return ctx.files.exists('/run/udev/control');
}

/**
 * Wait until `ready()` is true, or udev has nothing left to do (its queue
 * empty on two polls in a row: it read the kernel's last event and handled
 * it; a driver it loads queues events of its own first), or WAIT_MS.
 * `gone`, asked before `ready` on each poll, ends the wait too when what is
 * waited for cannot come; with `idleEnds: false` udev's idle queue does not
 * end it (the kernel makes a CD-ROM after udev has handled everything else).
 */
export async function waitForUdev(ctx: Context, ready: () => boolean, opts: { gone?: () => boolean; idleEnds?: boolean } = {}):
  Promise<{ outcome: 'ready' | 'gone' | 'udev idle' | 'timeout'; ms: number }> {
  const started = now();
  let idlePolls = 0;
  for (;;) {
    const gone = opts.gone?.() ?? false;
    if (ready()) return { outcome: 'ready', ms: now() - started };
    if (gone) return { outcome: 'gone', ms: now() - started };
    idlePolls = ctx.files.exists('/run/udev/queue') ? 0 : idlePolls + 1;
    if ((opts.idleEnds ?? true) && idlePolls >= 2) return { outcome: 'udev idle', ms: now() - started };
    if (now() - started >= WAIT_MS) return { outcome: 'timeout', ms: now() - started };
    await sleep(POLL_MS);
  }
}

/** Why init-local need not wait for a seed volume, or null when it should. */
function noVolumeWait(ctx: Context, labels: string[], known: Instance | null): string | null {
  const f = ctx.files;
  if (labels.length === 0) return 'no volume source in datasource_list';
  if (['nocloud', 'nocloud-net'].some((s) => f.exists(`${layout.seedDir(s)}/meta-data`)) || f.isDirectory('/var/lib/cloud/seed/config_drive')) return 'a seed directory is there';
  if (parseNoCloudCmdline(kernelCmdline(f))?.seedfrom) return 'the kernel command line names the seed';
  if (f.exists(layout.instanceIdFile)) {
    // A second boot: its volume is waited for only when the instance came from one (still attached, as a rule).
    const source = known?.source;
    const fromVolume = source?.name === 'ConfigDrive' || (source?.subplatform ?? '').startsWith('config-disk');
    if (!fromVolume) return 'a known instance that did not come from a volume (a seed that appears later is found by stage init)';
  }
  return null;
}

/**
 * Before init-local's search: wait (bounded) until a seed volume of the
 * datasource_list is there, or, when the list reads no volume but has a
 * source behind a link-local address (its ephemeral network needs a NIC),
 * until a NIC is there; or until udev is done. Logs what it waited for.
 */
export async function waitForSourceDevices(ctx: Context, datasourceList: string[]): Promise<void> {
  if (!udevRunning(ctx)) { ctx.log.debug('devices: no udev running: no wait'); return; }
  const listed = datasourceList.flatMap((n) => VOLUME_SOURCES[n] ?? []);
  const known = ctx.files.exists(layout.instanceIdFile) ? loadInstance(ctx) : null;
  const skip = noVolumeWait(ctx, listed, known);
  const labels = skip ? [] : listed;
  const needsNic = labels.length === 0 && datasourceList.some((n) => sourceInfo(n)?.reach === 'link-local');
  if (!labels.length && !needsNic) { ctx.log.debug(`devices: no wait: ${skip}`); return; }
  // A second boot of an instance that came from a volume: its volume is all init-local needs (its network
  // config was rendered on the first boot), so it is waited for, not udev.
  if (labels.length && known && (await knownVolume(ctx, labels, known))) return;
  // Only a boot that waits for a device settles (see the top); one that finds its volume and NICs first stops it.
  if (await settleUnlessReady(ctx, labels, datasourceList)) return;
  let found: string | null = null;
  const r = await waitForUdev(ctx, () => (found = labels.length ? findVolumeByLabel(ctx.files, labels) : fallbackNic(readNics(ctx.files))?.name ?? null) !== null);
  const after = `after ${r.ms.toFixed(0)} ms`;
  const what = labels.length ? `${labels.join('/')} volume` : 'NIC';
  if (r.outcome === 'ready') ctx.log.info(`devices: ${labels.length ? 'seed volume' : 'NIC'} ${found} there ${after}`);
  else if (r.outcome === 'udev idle') ctx.log.info(`devices: udev handled every device ${after}; no ${what}`);
  else ctx.log.info(`devices: no ${what} and udev still busy ${after}; searching without it (stage init looks again)`);
}

/**
 * udev settles, unless the seed volume and the NICs are there first (true:
 * the settle is stopped). Only where the volume's source is the first in
 * datasource_list that needs a device: a source listed before it (Azure's
 * disc, VMware's) may need one the settle would have waited for.
 */
async function settleUnlessReady(ctx: Context, labels: string[], datasourceList: string[]): Promise<boolean> {
  const stop = new Cancel();
  let settled = false;
  const settling = settleUdev(ctx, stop).then(() => { settled = true; });
  const first = labels.filter((label) => {
    const owner = VOLUME_SOURCE.get(label)!;
    return datasourceList.slice(0, datasourceList.indexOf(owner)).every((n) => VOLUME_SOURCES[n] !== undefined);
  });
  if (!first.length) { await settling; return false; }
  let volume: string | null = null;
  let nic: string | null = null;
  // When each was first there, for the log of a boot the settle ended first (what held it up).
  const seen: { volume?: number; nic?: number } = {};
  const started = now();
  const ready = (): boolean => {
    volume = findVolumeByLabel(ctx.files, first);
    nic = nicsHandled(ctx);
    if (volume !== null) seen.volume ??= now() - started;
    if (nic !== null) seen.nic ??= now() - started;
    return volume !== null && nic !== null;
  };
  const r = await waitForUdev(ctx, ready, { gone: () => settled, idleEnds: false });
  // udev done first: the caller's poll finds what is there, as after any settle.
  if (r.outcome !== 'ready' || settled) {
    await settling;
    const at = (ms: number | undefined) => (ms === undefined ? 'not yet' : `from ${ms.toFixed(0)} ms`);
    ctx.log.info(`devices: the settle was not stopped: seed volume ${at(seen.volume)}, NICs handled by udev ${at(seen.nic)}`);
    return false;
  }
  stop.cancel();
  await settling;
  ctx.log.info(`devices: seed volume ${volume} and NIC ${nic} there after ${r.ms.toFixed(0)} ms: udev settle stopped`);
  return true;
}

/**
 * The fallback NIC's name, once every NIC the kernel has made is handled by
 * udev (its database entry, /run/udev/data/n<ifindex>, is written after its
 * rules ran, a rename included), so the name is the one it keeps; else null.
 */
function nicsHandled(ctx: Context): string | null {
  const nics = readNics(ctx.files).filter((n) => n.physical);
  const handled = (name: string): boolean => {
    let index = '';
    try { index = ctx.files.readTextIfExists(`/sys/class/net/${name}/ifindex`, 32)?.trim() ?? ''; } catch { /* unreadable: not handled */ }
    return /^\d+$/.test(index) && ctx.files.exists(`/run/udev/data/n${index}`);
  };
  if (!nics.every((n) => handled(n.name))) return null;
  return fallbackNic(nics)?.name ?? null;
}

/**
 * A known instance's volume: polled for until it is there (true), or until
 * the drive that held it last boot is there without it (ejected, as
 * virt-install does after the first boot), or WAIT_MS (false: the caller
 * settles udev and looks again). udev's idle queue does not end this wait:
 * the kernel makes a CD-ROM after udev has handled everything else.
 */
async function knownVolume(ctx: Context, labels: string[], known: Instance): Promise<boolean> {
  const last = /^config-disk \((\/dev\/[^)]+)\)$/.exec(known.source.subplatform ?? '')?.[1];
  const drive = last ? `/sys/class/block/${last.split('/').pop()}` : null;
  let found: string | null = null;
  // The drive is looked at before the volume: there then and still no volume: ejected.
  const r = await waitForUdev(ctx, () => (found = findVolumeByLabel(ctx.files, labels)) !== null,
    { gone: () => drive !== null && ctx.files.exists(drive), idleEnds: false });
  const ms = r.ms.toFixed(0);
  if (r.outcome === 'ready') { ctx.log.info(`devices: seed volume ${found} there after ${ms} ms (a known instance's): udev not waited for`); return true; }
  if (r.outcome === 'gone') ctx.log.info(`devices: ${last} is there without the seed volume after ${ms} ms`);
  else ctx.log.info(`devices: no seed volume after ${ms} ms (a known instance's)`);
  return false;
}

/**
 * `udevadm settle`, bounded, until `stop` fires. Under --root it is the
 * root's own udevadm (a root without one does not settle): it only waits.
 */
async function settleUdev(ctx: Context, stop: Cancel): Promise<void> {
  const started = now();
  const r = await ctx.capture(['udevadm', 'settle', '--timeout=30'], { timeoutMs: 35_000, stop });
  if (r.code === 0) ctx.log.info(`devices: udev settled after ${(now() - started).toFixed(0)} ms`);
  else if (stop.cancelled) ctx.log.debug(`devices: udevadm settle stopped after ${(now() - started).toFixed(0)} ms`);
  else if (r.code !== 127) ctx.log.info(`devices: udevadm settle: ${describeExit(r)}; looking for the sources anyway`);
}
