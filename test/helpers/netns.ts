// Network namespaces a test makes, so that the agent can set up a network
// of its own without touching this machine's: two namespaces joined by a
// veth pair — the agent's side ("eth0", down, no address, as a NIC is in
// init-local) and the service side (an address, a DHCP server, metadata
// services on their link-local addresses). The metadata simulators stay in
// this process on 127.0.0.1; socat bridges them into the service namespace
// through a unix socket (the file system is shared, the network is not).
// Everything made here is removed by close(); processes are ended by their PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT, WITH_ROOT } from './agent.ts';

let made = 0;

function ip(args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export interface NicState { up: boolean; addrs: string[]; routes: string[] }

export interface Pair {
  /** The agent's namespace and its NIC ("eth0") with its MAC. */
  agentNs: string;
  nic: string;
  mac: string;
  /** The service namespace, its end of the link, and its address on it (the router, the DHCP server). */
  serviceNs: string;
  serviceIf: string;
  serviceAddress: string;
  /** A scratch directory of this pair (unix sockets, the DHCP server's files). */
  dir: string;
  /** Run a command in a namespace. */
  exec(ns: string, argv: string[]): { status: number | null; stdout: string; stderr: string };
  /** The agent NIC's link state, addresses and routes (every table), as `ip -j` gives them. */
  state(): NicState;
  /** PIDs of the processes in the agent's namespace (none should be left once the agent is done). */
  pids(): number[];
  /** Start a process in a namespace (null: this process's), ended by close(). */
  start(ns: string | null, argv: string[]): ChildProcess;
  close(): Promise<void>;
}

/** Two namespaces joined by a veth pair; 10.9.0.1/24 on the service side. */
export function makePair(): Pair {
  const id = `h20-${process.pid}-${made++}`;
  const agentNs = `${id}a`;
  const serviceNs = `${id}s`;
  const children: ChildProcess[] = [];
  ip(['netns', 'add', agentNs]);
  try {
    ip(['netns', 'add', serviceNs]);
    ip(['link', 'add', 'eth0', 'netns', agentNs, 'type', 'veth', 'peer', 'name', 'svc0', 'netns', serviceNs]);
    ip(['-n', serviceNs, 'addr', 'add', '10.9.0.1/24', 'dev', 'svc0']);
    ip(['-n', serviceNs, 'link', 'set', 'svc0', 'up']);
    ip(['-n', serviceNs, 'link', 'set', 'lo', 'up']);
    ip(['-n', agentNs, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    spawnSync('ip', ['netns', 'del', agentNs]);
    spawnSync('ip', ['netns', 'del', serviceNs]);
    throw e;
  }
  const link = JSON.parse(ip(['-n', agentNs, '-j', 'link', 'show', 'eth0'])) as Array<{ address: string }>;
  const dir = mkdtempSync(join(tmpdir(), 'ec2-init-netns-'));
  return {
    agentNs, nic: 'eth0', mac: link[0]!.address, serviceNs, serviceIf: 'svc0', serviceAddress: '10.9.0.1', dir,
    exec(ns, argv) {
      const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8' });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    state() {
      const [l] = JSON.parse(ip(['-n', agentNs, '-j', 'addr', 'show', 'dev', 'eth0'])) as Array<{ flags: string[]; addr_info: Array<{ local: string; prefixlen: number }> }>;
      const routes = ['-4', '-6'].flatMap((f) => (JSON.parse(ip(['-n', agentNs, '-j', f, 'route', 'show', 'table', 'all', 'dev', 'eth0']) || '[]') as Array<Record<string, unknown>>)
        .map((r) => `${f} ${String(r['type'] ?? 'unicast')} ${String(r['dst'])} ${String(r['gateway'] ?? '')} ${String(r['table'] ?? 'main')}`));
      return { up: l!.flags.includes('UP'), addrs: l!.addr_info.map((a) => `${a.local}/${a.prefixlen}`), routes };
    },
    pids() {
      return ip(['netns', 'pids', agentNs]).split('\n').filter(Boolean).map(Number);
    },
    start(ns, argv) {
      const child = ns === null ? spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.resume();
      child.stderr!.resume();
      children.push(child);
      return child;
    },
    async close() {
      for (const c of children) {
        if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
          const gone = new Promise((r) => c.once('exit', r));
          try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
          await gone;
        }
      }
      spawnSync('ip', ['netns', 'del', agentNs]);
      spawnSync('ip', ['netns', 'del', serviceNs]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Wait until something in `ns` listens on TCP `port` (socat and dnsmasq start asynchronously). */
async function listening(pair: Pair, ns: string, what: (ssOutput: string) => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (what(pair.exec(ns, ['ss', '-Hlntu']).stdout)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening in ${ns} after 5 s`);
}

/**
 * A DHCP server (dnsmasq) on the service side: addresses 10.9.0.50–60, the
 * router 10.9.0.1, and `options` (dnsmasq --dhcp-option values). Returns
 * what it leased (its lease file).
 */
export async function startDhcpServer(pair: Pair, options: string[] = []): Promise<{ leases(): string }> {
  const leases = join(pair.dir, 'dnsmasq.leases');
  pair.start(pair.serviceNs, ['dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--port=0', '--no-ping', `--interface=${pair.serviceIf}`,
    '--bind-interfaces', '--dhcp-range=10.9.0.50,10.9.0.60,255.255.255.0,1h', '--dhcp-option=3,10.9.0.1',
    ...options.map((o) => `--dhcp-option=${o}`), `--dhcp-leasefile=${leases}`, '--user=root', `--pid-file=${join(pair.dir, 'dnsmasq.pid')}`]);
  await listening(pair, pair.serviceNs, (ss) => /:67\b/.test(ss));
  return { leases: () => { try { return readFileSync(leases, 'utf8'); } catch { return ''; } } };
}

/**
 * Make `address:port` in namespace `ns` reach 127.0.0.1:`target` of this
 * process's namespace (a simulator): socat there → unix socket → socat here.
 * `address` is put on the namespace's loopback when it is not already there.
 */
export async function bridge(pair: Pair, ns: string, address: string, port: number, target: number): Promise<void> {
  const v6 = address.includes(':');
  const sock = join(pair.dir, `bridge-${ns}-${address.replace(/:/g, '_')}-${port}.sock`);
  if (!['127.0.0.1', '0.0.0.0', '::', '::1'].includes(address)) ip(['-n', ns, v6 ? '-6' : '-4', 'addr', 'add', `${address}/${v6 ? 128 : 32}`, 'dev', 'lo']);
  pair.start(null, ['socat', `UNIX-LISTEN:${sock},fork,unlink-early`, `TCP:127.0.0.1:${target}`]);
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  pair.start(ns, ['socat', v6 ? `TCP6-LISTEN:${port},bind=[${address}],ipv6only=1,fork,reuseaddr` : `TCP-LISTEN:${port},bind=${address},fork,reuseaddr`, `UNIX-CONNECT:${sock}`]);
  await listening(pair, ns, (ss) => ss.includes(v6 ? `[${address === '::' ? '::' : address}]:${port} ` : `${address === '0.0.0.0' ? '0.0.0.0' : address}:${port} `) || (address === '0.0.0.0' && ss.includes(`*:${port} `)));
}

/**
 * The built agent on `root`, in the agent's namespace, with this machine's
 * /sys (showing the namespace's NICs) and a /proc under the root (for the
 * DHCP clients, chrooted there), both in a mount namespace of its own.
 * `ownDmi`: the root keeps its own sys/ (a planted DMI) and gets only the
 * namespace's NICs (sys/class/net and the virtual devices they point to).
 */
export function agentIn(pair: Pair, root: string, args: string[], env: Record<string, string> = {},
  opts: { ownDmi?: boolean } = {}): Promise<{ status: number | null; stdout: string; stderr: string; ms: number }> {
  mkdirSync(join(root, 'sys'), { recursive: true });
  mkdirSync(join(root, 'proc'), { recursive: true });
  let sys = 'mount --bind /sys "$root/sys"; ';
  if (opts.ownDmi) {
    for (const d of ['sys/class/net', 'sys/devices/virtual/net']) mkdirSync(join(root, d), { recursive: true });
    sys = 'mount --bind /sys/class/net "$root/sys/class/net"; mount --bind /sys/devices/virtual/net "$root/sys/devices/virtual/net"; ';
  }
  const script = `set -e; root=$1; shift; ${sys}mount -t proc proc "$root/proc"; exec "$@"`;
  const argv = ['netns', 'exec', pair.agentNs, 'sh', '-c', script, 'sh', root,
    'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), WITH_ROOT, root, AGENT, '--root', root, ...args];
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn('ip', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const timer = setTimeout(() => { if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL'); }, 60_000);
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr, ms: performance.now() - started }); });
  });
}
