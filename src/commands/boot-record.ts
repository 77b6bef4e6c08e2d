// The boots recorded in /var/log/ec2-init.log, as timed events: what
// `analyze show`, `blame` and `plot` read. The log is the record (as
// cloud-init's analyze reads cloud-init.log): each line has its time, and
// the lines that end a piece of work say how long it took —
//   "stage init: start" / "stage init: done in 318.4 ms [with N problem(s)]"
//   "module write_files: done in 53.6 ms" / "module runcmd: failed in 2.1 ms"
//   "program ssh-keygen: exit 0 in 45.2 ms" (context.ts, for every program run)
//   "datasource NoCloud: found instance … (1.4 ms)" (the search waited that long)
//   "module ssh: waited 1.1 s for the early host keys" (a module waiting on work begun earlier)
//   "kernel: up 3.21 s" (main.ts, on the running system only: when the kernel started)
// A boot starts at "stage init-local: start".

export type EventKind = 'stage' | 'module' | 'program' | 'wait';

export interface BootEvent {
  kind: EventKind;
  /** The stage it ran in ('init-local', 'init', 'config', 'final'). */
  stage: string;
  name: string;
  /** Milliseconds since the epoch. */
  start: number;
  end: number;
  failed: boolean;
  /** What ended it: "done", "failed", "exit 1", "found instance i-0abc", … */
  outcome: string;
}

export interface Boot {
  /** When the kernel started (ms since the epoch); null when the boot ran under --root (no kernel of its own). */
  kernelStart: number | null;
  events: BootEvent[];
}

const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (DEBUG|INFO|WARNING|ERROR): (.*)$/;

/** Programs whose run is a wait for something else (devices, the network), drawn as waits. */
const WAITERS = new Set(['udevadm', 'dhclient', 'dhcpcd', 'udhcpc', 'systemd-networkd-wait-online', 'networkctl', 'nm-online']);

/** Every boot in the log, oldest first. */
export function readBoots(log: string): Boot[] {
  const boots: Boot[] = [];
  let boot: Boot | null = null;
  let kernel: number | null = null;
  let stage = '';
  let stageFailed = false;
  for (const raw of log.split('\n')) {
    const m = LINE.exec(raw);
    if (!m) continue;
    const at = Date.parse(m[1]!);
    const level = m[2]!;
    const text = m[3]!;
    const ms = (s: string) => Number(s);
    let x: RegExpExecArray | null;
    if ((x = /^kernel: up ([\d.]+) s$/.exec(text))) { kernel = at - ms(x[1]!) * 1000; continue; }
    if ((x = /^stage ([\w-]+): start$/.exec(text))) {
      if (x[1] === 'init-local' || boot === null) { boot = { kernelStart: kernel, events: [] }; boots.push(boot); }
      kernel = null;
      stage = x[1]!;
      stageFailed = false;
      continue;
    }
    if (boot === null) continue;
    if (level === 'ERROR') stageFailed = true;
    if ((x = /^stage ([\w-]+): done in ([\d.]+) ms/.exec(text))) {
      boot.events.push({ kind: 'stage', stage: x[1]!, name: `stage ${x[1]!}`, start: at - ms(x[2]!), end: at, failed: stageFailed, outcome: stageFailed ? 'done with errors' : 'done' });
    } else if ((x = /^module (\w+): (done|failed) in ([\d.]+) ms$/.exec(text))) {
      boot.events.push({ kind: 'module', stage, name: x[1]!, start: at - ms(x[3]!), end: at, failed: x[2] === 'failed', outcome: x[2]! });
    } else if ((x = /^program (.+): (exit -?\d+|killed by \w+|timed out after [\d.]+ s) in ([\d.]+) ms$/.exec(text))) {
      const name = x[1]!;
      boot.events.push({ kind: WAITERS.has(name.split(' ')[0]!) ? 'wait' : 'program', stage, name, start: at - ms(x[3]!), end: at, failed: x[2] !== 'exit 0', outcome: x[2]! });
    } else if ((x = /^module (\w+): waited ([\d.]+) s for (?:the )?(.+)$/.exec(text))) {
      boot.events.push({ kind: 'wait', stage, name: x[3]!, start: at - ms(x[2]!) * 1000, end: at, failed: false, outcome: `module ${x[1]!} waited` });
    } else if ((x = /^datasource (\w+): (found instance .*|not found) \(([\d.]+) ms\)$/.exec(text))) {
      boot.events.push({ kind: 'wait', stage, name: `datasource ${x[1]!}`, start: at - ms(x[3]!), end: at, failed: false, outcome: x[2]! });
    }
  }
  return boots;
}

/**
 * A boot by journalctl's numbering: 0 the last, -1 the one before it, …;
 * 1 the first recorded, 2 the second, …; null when there is no such boot.
 */
export function pickBoot(boots: Boot[], n: number): Boot | null {
  const i = n <= 0 ? boots.length - 1 + n : n - 1;
  return boots[i] ?? null;
}
