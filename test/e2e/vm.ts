// One VM boot under qemu (TCG: no usable KVM on the CI machines): direct
// kernel boot of the image's own kernel and initramfs, the serial console to
// a file, user networking with no way out (restrict=on; the EC2 scenario adds
// a guestfwd to a simulator on 127.0.0.1), every boot under a timeout, and
// the qemu process killed by its PID when the boot is over or out of time.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BootOptions {
  /** Working directory of this boot (console.log is written there). */
  dir: string;
  image: string;
  kernel: string;
  initrd: string;
  /** Extra kernel command line. */
  append?: string;
  /** An ISO attached as the CD-ROM (a NoCloud cidata or config-2 seed). */
  cdrom?: string;
  /** More raw disks, attached after the root disk as /dev/vdb, /dev/vdc, … */
  extraDisks?: string[];
  /** Extra -netdev user options (e.g. net=…,guestfwd=…). */
  netdev?: string;
  /** The NIC's MAC address (qemu's default, 52:54:00:12:34:56, when unset). */
  mac?: string;
  /** -smbios values (e.g. DMI that says Amazon EC2). */
  smbios?: string[];
  /** Kill the VM after this long (ms). */
  timeoutMs: number;
  /**
   * Give up early (kill the VM a few seconds later) when the console shows
   * one of these: an error after which the guest will never power off.
   */
  giveUpOn?: RegExp[];
  /** Called with each new chunk of console output (e.g. to echo it when debugging). */
  onConsole?: (text: string) => void;
}

export interface Boot {
  console: string;
  /** qemu's own exit code (0 after the guest powered off), null when killed. */
  exitCode: number | null;
  timedOut: boolean;
  /** The console line that made the test give up early (see giveUpOn). */
  gaveUp?: string;
  /** Wall-clock ms from starting qemu to its exit. */
  ms: number;
  /** qemu's stderr. */
  stderr: string;
}

export function qemuArgs(o: BootOptions, consoleFile: string): string[] {
  const args = [
    '-accel', 'tcg,thread=multi',
    '-machine', 'pc',
    '-smp', '2',
    '-m', '1024',
    '-display', 'none',
    '-monitor', 'none',
    '-serial', `file:${consoleFile}`,
    '-no-reboot',
    '-rtc', 'base=utc',
    '-kernel', o.kernel,
    '-initrd', o.initrd,
    '-append', ['root=LABEL=e2e-root', 'rw', 'console=ttyS0,115200', 'panic=1', 'net.ifnames=1', o.append ?? ''].join(' ').trim(),
    '-drive', `file=${o.image},format=raw,if=virtio,cache=unsafe`,
    '-netdev', ['user', 'id=n0', 'restrict=on', o.netdev].filter(Boolean).join(','),
    '-device', `virtio-net-pci,netdev=n0${o.mac ? `,mac=${o.mac}` : ''}`,
    // An entropy source, as clouds give their instances (virtio-rng, or
    // RDRAND on EC2): without one the emulated guest's RNG takes a minute to
    // seed, and everything that reads /dev/random early waits for it.
    '-object', 'rng-random,filename=/dev/urandom,id=rng0',
    '-device', 'virtio-rng-pci,rng=rng0',
  ];
  for (const d of o.extraDisks ?? []) args.push('-drive', `file=${d},format=raw,if=virtio,cache=unsafe`);
  for (const s of o.smbios ?? []) args.push('-smbios', s);
  if (o.cdrom) args.push('-drive', `file=${o.cdrom},format=raw,media=cdrom,readonly=on`);
  return args;
}

/** Boots and waits until qemu exits (the guest powered off) or the timeout kills it. */
export function boot(o: BootOptions): Promise<Boot> {
  const consoleFile = join(o.dir, 'console.log');
  const t0 = Date.now();
  const child = spawn('qemu-system-x86_64', qemuArgs(o, consoleFile), {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => { stderr += d; });
  // Our own child, by its PID.
  const kill = (): void => {
    if (child.pid !== undefined && child.exitCode === null) { try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ } }
  };
  let seen = 0;
  let gaveUp: string | undefined;
  let giveUpTimer: NodeJS.Timeout | undefined;
  const poll = setInterval(() => {
    if (!existsSync(consoleFile)) return;
    const text = readFileSync(consoleFile, 'latin1');
    if (text.length > seen) { o.onConsole?.(text.slice(seen)); seen = text.length; }
    if (gaveUp === undefined) {
      for (const re of o.giveUpOn ?? []) {
        const m = re.exec(text);
        if (m) { gaveUp = m[0]; giveUpTimer = setTimeout(kill, 5_000); break; }
      }
    }
  }, 500);
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; kill(); }, o.timeoutMs);
    const stop = (): void => { clearTimeout(timer); clearTimeout(giveUpTimer); clearInterval(poll); };
    child.on('error', (e) => { stop(); reject(e); });
    child.on('exit', (code) => {
      stop();
      const text = existsSync(consoleFile) ? readFileSync(consoleFile, 'latin1') : '';
      if (o.onConsole && text.length > seen) o.onConsole(text.slice(seen));
      resolve({ console: text, exitCode: code, timedOut, gaveUp, ms: Date.now() - t0, stderr });
    });
  });
}

// --- reading what the guest printed ---

export interface Report {
  /** Guest wall clock (s) and uptime (s) at the same moment: boot epoch = now - uptime. */
  now: number;
  uptime: number;
  state: string;
  units: Record<string, { active: string; result: string; startUs: number; exitUs: number }>;
  /** `systemd-analyze blame` lines for ec2-init's units (and networkd). */
  blame: string[];
  /** `systemd-analyze time`. */
  time: string[];
  failed: string[];
  status: string[];
  /** One `ec2-init --version` in the guest: page cache dropped, warm; and `sh -c true` (ms). */
  exec?: { coldMs: number; warmMs: number; shMs: number; readMs: number; size: number };
}

/** The harness's report (see image.ts), or null when the guest never printed one. */
export function parseReport(consoleText: string): Report | null {
  const text = consoleText.replace(/\r/g, '');
  const begin = text.lastIndexOf('E2E-REPORT-BEGIN');
  const end = text.indexOf('E2E-REPORT-END', begin);
  if (begin < 0 || end < 0) return null;
  const r: Report = { now: NaN, uptime: NaN, state: '', units: {}, blame: [], time: [], failed: [], status: [] };
  const tags = /(e2e-(?:now-uptime|state|unit|blame|time|failed|status|exec)) ?(.*)$/;
  for (const line of text.slice(begin, end).split('\n')) {
    // The tag anywhere in the line: other console output may precede it.
    const m = tags.exec(line);
    if (!m) continue;
    const tag = m[1];
    const v = m[2];
    const rest = v.split(' ');
    if (tag === 'e2e-now-uptime') { r.now = Number(rest[0]); r.uptime = Number(rest[1]); }
    else if (tag === 'e2e-state') r.state = v;
    else if (tag === 'e2e-unit') {
      r.units[rest[0]] = { active: rest[1], result: rest[2], startUs: Number(rest[3]), exitUs: Number(rest[4]) };
    }
    else if (tag === 'e2e-blame') r.blame.push(v.trim());
    else if (tag === 'e2e-time') r.time.push(v);
    else if (tag === 'e2e-failed') { if (v.trim()) r.failed.push(v.trim()); }
    else if (tag === 'e2e-status') r.status.push(v);
    else if (tag === 'e2e-exec') {
      const n = (k: string): number => Number(new RegExp(`${k}=(\\d+)`).exec(v)?.[1] ?? NaN);
      if (/read_ms=/.test(v)) r.exec = { ...(r.exec ?? { coldMs: NaN, warmMs: NaN, shMs: NaN }), readMs: n('read_ms'), size: n('size') };
      else r.exec = { readMs: NaN, size: NaN, ...r.exec, coldMs: n('cold_ms'), warmMs: n('warm_ms'), shMs: n('sh_ms') };
    }
  }
  return r;
}

/** e2e-unit lines printed anywhere (runcmd prints them while the final stage still runs). */
export function parseUnits(consoleText: string): Report['units'] {
  const units: Report['units'] = {};
  for (const m of consoleText.replace(/\r/g, '').matchAll(/e2e-unit (\S+) (\S+) (\S+) (\d+) (\d+)/g)) {
    units[m[1]] = { active: m[2], result: m[3], startUs: Number(m[4]), exitUs: Number(m[5]) };
  }
  return units;
}

/** Lines of the console that carry a marker, without the serial line noise. */
export function consoleLines(consoleText: string, marker: string): string[] {
  return consoleText.replace(/\r/g, '').split('\n').filter((l) => l.includes(marker));
}
