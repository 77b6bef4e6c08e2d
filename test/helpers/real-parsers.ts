// The real parsers of the files ec2-init writes, for tests that check what a
// system would read from them (issue 19): ifupdown's ifquery, systemd-networkd
// itself (in private mount and network namespaces, over veth pairs named like
// the test's NICs: its parse warnings and the state it keeps per link),
// netplan's generator (/usr/lib/netplan/generate --root-dir), PyYAML (its
// libyaml loader is netplan's reader), util-linux's findmnt for fstab,
// glibc's getent for /etc/hosts (chrooted into the root), chrony's
// `chronyd -p`. Each takes many files per call where it can, so a fuzz run
// pays a process per tool, not per case.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WITH_ROOT } from './agent.ts';
import { tempDir } from './files.ts';
import { hasCommand, needCommands, needFile, needPython, needRoot, unavailable } from './needs.ts';

const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
export const NETPLAN_GENERATE = '/usr/lib/netplan/generate';
export const NETWORKD = '/lib/systemd/systemd-networkd';

/** Why the real parsers cannot run here (a skip reason, or a failure under CI), or null. */
export function cannotParse(): string | null {
  return needRoot('network and mount namespaces for systemd-networkd')
    ?? needCommands(['ifquery', 'findmnt', 'getent', 'unshare', 'ip'], 'ifupdown util-linux libc-bin iproute2')
    ?? needFile(NETWORKD, 'systemd')
    ?? needFile(NETPLAN_GENERATE, 'netplan.io')
    ?? needPython('yaml', 'python3-yaml', PY);
}

// ---------------------------------------------------------------------------
// ifupdown

export interface EniParse {
  /** ifquery's exit status and message (a syntax error is non-zero). */
  status: number;
  stderr: string;
  /** Each interface's stanzas' options as ifquery reports them (post-up is `up`, pre-down is `down`). */
  ifaces: Map<string, Array<[string, string]>>;
}

/**
 * ifquery on each file: its interfaces (every name an `iface` line gives, as
 * ifquery --list gives only the `auto` ones), then each one's options.
 */
export function ifquery(files: string[]): EniParse[] {
  const script = `for f in "$@"; do
  printf '\\036FILE\\n'
  ifquery -i "$f" --list >/dev/null 2>"$f.err"; echo "STATUS $?"; cat "$f.err"; printf '\\036NAMES\\n'
  for n in $(sed -n 's/^[[:space:]]*iface[[:space:]]\\+\\([^[:space:]]\\+\\).*/\\1/p' "$f" | sort -u); do printf '\\036IFACE %s\\n' "$n"; ifquery -i "$f" "$n" 2>&1; done
done`;
  const r = spawnSync('sh', ['-c', script, 'ifquery-batch', ...files], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`ifquery batch failed: ${r.stderr}`);
  return r.stdout.split('\x1eFILE\n').slice(1).map((chunk) => {
    const [head, ...ifs] = chunk.split('\x1eIFACE ');
    const [statusPart] = head!.split('\x1eNAMES\n');
    const m = /^STATUS (\d+)\n([\s\S]*)$/.exec(statusPart!)!;
    const ifaces = new Map<string, Array<[string, string]>>();
    for (const block of ifs) {
      const [name, ...lines] = block.split('\n');
      ifaces.set(name!, lines.filter((l) => l !== '').map((l) => { const i = l.indexOf(': '); return i === -1 ? [l, ''] : [l.slice(0, i), l.slice(i + 2)]; }));
    }
    return { status: Number(m[1]), stderr: m[2]!, ifaces };
  });
}

// ---------------------------------------------------------------------------
// systemd-networkd

export interface NetworkdRun {
  /** Lines networkd logged about its config files (file:line: Unknown key…, Failed to parse…). */
  warnings: string[];
  /** Per link (the NICs and their veth peers): networkd's own state file, KEY → value. */
  links: Map<string, Record<string, string>>;
  /** Per link: the static addresses and routes it asked the kernel for. */
  requested: Map<string, string[]>;
  log: string;
}

/**
 * Inside the private namespaces: networkd's runtime directories on a tmpfs,
 * CONF as its /etc/systemd/network, this namespace's /sys, and no way to the
 * machine's D-Bus (networkd would try to take its bus name there).
 */
const NS_SETUP = (conf: string) => `  mount -t tmpfs tmpfs /run/systemd
  mkdir -p /run/systemd/netif /run/systemd/network
  chown systemd-network:systemd-network /run/systemd/netif 2>/dev/null || true
  if [ -d /run/dbus ]; then mount -t tmpfs tmpfs /run/dbus; fi
  mount -t tmpfs tmpfs /etc/systemd
  mkdir /etc/systemd/network
  mount --bind "${conf}" /etc/systemd/network
  mount -t sysfs -o ro sysfs /sys
`;

const NETWORKD_CASE = `#!/bin/bash
# networkd-case CONFDIR OUTDIR NAME=MAC...: systemd-networkd with CONFDIR as
# /etc/systemd/network, in private mount and network namespaces holding a
# veth pair per NAME (the peer named pN); its log and link states to OUTDIR.
set -eu
exec unshare --mount --net --propagation private /bin/bash -c '
  set -eu
  conf=$1 out=$2; shift 2
${NS_SETUP('$conf')}  ip link set lo up
  i=0
  for nm in "$@"; do ip link add "\${nm%%=*}" type veth peer name "p$i"; ip link set "\${nm%%=*}" address "\${nm#*=}"; i=$((i+1)); done
  SYSTEMD_LOG_LEVEL=debug ${NETWORKD} >"$out/log" 2>&1 &
  pid=$!
  for t in $(seq 1 100); do
    sleep 0.05
    waiting=0
    for d in /sys/class/net/*; do
      [ "\${d##*/}" = lo ] && continue
      grep -qE "^ADMIN_STATE=(configuring|configured|unmanaged|failed|linger)" "/run/systemd/netif/links/$(cat "$d/ifindex")" 2>/dev/null || waiting=1
    done
    [ $waiting = 0 ] && break
  done
  sleep 0.2
  for d in /sys/class/net/*; do cp "/run/systemd/netif/links/$(cat "$d/ifindex")" "$out/link-\${d##*/}" 2>/dev/null || true; done
  kill $pid; wait $pid || true
' networkd-case "$@"
`;

let caseScript: string | null = null;

/**
 * systemd-networkd over each directory of .network/.netdev files, each in
 * namespaces of its own (all at once), with a veth pair per NIC.
 */
export async function networkd(runs: Array<{ dir: string; nics: ReadonlyArray<{ name: string; mac: string }> }>): Promise<NetworkdRun[]> {
  if (!caseScript) {
    caseScript = join(tempDir('ec2-init-networkd-'), 'networkd-case');
    writeFileSync(caseScript, NETWORKD_CASE);
    chmodSync(caseScript, 0o755);
  }
  const script = caseScript;
  const one = async (run: { dir: string; nics: ReadonlyArray<{ name: string; mac: string }> }): Promise<NetworkdRun> => {
    const out = tempDir('ec2-init-networkd-out-');
    const stderr = await new Promise<string>((resolve) => {
      const child = spawn(script, [run.dir, out, ...run.nics.map((n) => `${n.name}=${n.mac}`)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
      child.on('close', (code) => resolve(code === 0 ? '' : `exit ${code}: ${err}`));
    });
    if (stderr) throw new Error(`networkd run failed: ${stderr}`);
    const log = readFileSync(join(out, 'log'), 'utf8');
    const links = new Map<string, Record<string, string>>();
    for (const f of readdirSync(out).filter((x) => x.startsWith('link-'))) {
      const kv: Record<string, string> = {};
      for (const line of readFileSync(join(out, f), 'utf8').split('\n')) { const i = line.indexOf('='); if (i > 0 && !line.startsWith('#')) kv[line.slice(0, i)] = line.slice(i + 1); }
      links.set(f.slice(5), kv);
    }
    const requested = new Map<string, string[]>();
    for (const m of log.matchAll(/^([^:\s]+): Requesting static (address|route) \(n\/a\): (.*)$/gm)) {
      requested.set(m[1]!, [...(requested.get(m[1]!) ?? []), `${m[2]} ${m[3]}`]);
    }
    const warnings = log.split('\n').filter((l) => /^\/etc\/systemd\/network\/[^:]+:\d+: /.test(l) || /^\/etc\/systemd\/network\/.*(Failed|failed|Invalid|invalid|Unknown)/.test(l));
    return { warnings, links, requested, log };
  };
  // A few at a time: each waits more than it works, but 2 cores are shared.
  const results: NetworkdRun[] = new Array(runs.length);
  let next = 0;
  const worker = async () => { while (next < runs.length) { const i = next++; results[i] = await one(runs[i]!); } };
  await Promise.all(Array.from({ length: Math.min(8, runs.length) }, worker));
  return results;
}

const NETWORKD_PARSE = `#!/bin/bash
# networkd-parse CONFDIR LOG: systemd-networkd loads CONFDIR as
# /etc/systemd/network (private mount and network namespaces, no interface
# but lo) and is stopped once it has read its config (it then lists links).
set -eu
exec unshare --mount --net --propagation private /bin/bash -c '
  set -eu
${NS_SETUP('$1')}  SYSTEMD_LOG_LEVEL=debug ${NETWORKD} >"$2" 2>&1 &
  pid=$!
  for t in $(seq 1 400); do sleep 0.05; grep -q "^lo: " "$2" && break; done
  kill $pid; wait $pid || true
' networkd-parse "$@"
`;

/**
 * systemd-networkd's reading of every file of a directory at once (many
 * cases' files side by side): the warnings it logged, by file name.
 */
export function networkdParse(dir: string): Map<string, string[]> {
  const base = tempDir('ec2-init-networkd-parse-');
  const script = join(base, 'networkd-parse');
  writeFileSync(script, NETWORKD_PARSE);
  chmodSync(script, 0o755);
  const r = spawnSync(script, [dir, join(base, 'log')], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`networkd parse failed: ${r.stderr}`);
  const log = readFileSync(join(base, 'log'), 'utf8');
  if (!/^lo: /m.test(log)) throw new Error(`networkd did not get to its links:\n${log}`);
  const out = new Map<string, string[]>();
  for (const line of log.split('\n')) {
    const m = /^\/etc\/systemd\/network\/([^:]+):/.exec(line);
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), line]);
  }
  return out;
}

/** glibc's reading of each hosts file, bound over /etc/hosts in a private mount namespace: every entry getent enumerates. */
export function getentHostsFiles(files: string[]): string[][][] {
  const script = `for f in "$@"; do printf '\\036FILE\\n'; mount --bind "$f" /etc/hosts; getent -s files hosts; umount /etc/hosts; done`;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'getent-batch', ...files], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`getent batch failed: ${r.stderr}`);
  return r.stdout.split('\x1eFILE\n').slice(1).map((chunk) => chunk.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)));
}

// ---------------------------------------------------------------------------
// netplan, PyYAML

/** netplan's generator on a root (its /etc/netplan): exit status, message, and the networkd files it wrote (run/systemd/network). */
export function netplanGenerate(root: string): { status: number; stderr: string; networkdDir: string } {
  const r = spawnSync(NETPLAN_GENERATE, ['--root-dir', root], { encoding: 'utf8' });
  return { status: r.status ?? -1, stderr: r.stderr, networkdDir: join(root, 'run/systemd/network') };
}

export type YamlResult = { ok: true; value: unknown } | { ok: false; error: string };

/** PyYAML's safe_load of each text, with libyaml's loader (CSafeLoader: netplan's reader) and the pure-Python one; they must agree. */
export function pyyaml(texts: string[]): YamlResult[] {
  const code = `
import json, sys, yaml
out = []
for t in json.load(sys.stdin):
    res = []
    for loader in (getattr(yaml, 'CSafeLoader', yaml.SafeLoader), yaml.SafeLoader):
        try:
            res.append({'ok': True, 'value': yaml.load(t, Loader=loader)})
        except yaml.YAMLError as e:
            res.append({'ok': False, 'error': str(e).replace('\\n', ' ')})
        except Exception as e:  # PyYAML's own bugs (a KeyError on "&a true" as a bool): no reference
            res.append({'ok': False, 'error': 'PyYAML crashed (disagree): %r' % e})
    if res[0]['ok'] != res[1]['ok'] or res[0].get('value') != res[1].get('value'):
        res[0] = {'ok': False, 'error': 'libyaml and PyYAML disagree: %r / %r' % (res[0], res[1])}
    out.append(res[0])
def tag(v):
    if isinstance(v, dict): return {'m': [[tag(k), tag(x)] for k, x in v.items()]}
    if isinstance(v, list): return {'l': [tag(x) for x in v]}
    return {'s': v}
json.dump([dict(r, value=tag(r['value'])) if r['ok'] else r for r in out], sys.stdout, default=str)
`;
  const r = spawnSync(PY, ['-c', code], { input: JSON.stringify(texts), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`PyYAML failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as Array<YamlResult & { value?: Tagged }>).map((x) => (x.ok ? { ok: true, value: untag(x.value!) } : x));
}

/**
 * PyYAML's values come as {m: [[key, value]…]}, {l: […]}, {s: scalar}: no
 * mapping key of theirs is a JSON object key, because Node 24.21's
 * JSON.parse can return an earlier key for another escaped one ("x\\"
 * read back for "x\u000b": found by the fuzz harness).
 */
type Tagged = { m: Array<[Tagged, Tagged]> } | { l: Tagged[] } | { s: unknown };
function untag(t: Tagged): unknown {
  if ('m' in t) return Object.fromEntries(t.m.map(([k, v]) => [String(untag(k)), untag(v)]));
  if ('l' in t) return t.l.map(untag);
  return t.s;
}

/** PyYAML's safe_dump of each value in each of its styles (block, flow, every scalar double-quoted, ASCII only, narrow lines): what a user's YAML may look like. */
export function pyyamlDump(values: unknown[]): string[][] {
  const code = `
import json, sys, yaml
styles = [dict(), dict(default_flow_style=True), dict(default_style='"'), dict(allow_unicode=True, width=20), dict(explicit_start=True, indent=4)]
out = []
for v in json.load(sys.stdin):
    texts = []
    for st in styles:
        try:
            texts.append(yaml.safe_dump(v, **st))
        except yaml.YAMLError:
            pass
    out.append(texts)
json.dump(out, sys.stdout)
`;
  const r = spawnSync(PY, ['-c', code], { input: JSON.stringify(values), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`PyYAML dump failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[][];
}

// ---------------------------------------------------------------------------
// fstab, /etc/hosts, chrony

export interface FstabEntry { source: string; target: string; fstype: string; options: string; freq: string; passno: string }

/** libmount's reading of each fstab file (findmnt --fstab --tab-file F): its entries, or the error. */
export function findmnt(files: string[]): Array<{ status: number; entries: FstabEntry[]; stderr: string }> {
  const script = `for f in "$@"; do printf '\\036FILE\\n'; findmnt --fstab --tab-file "$f" -J -o SOURCE,TARGET,FSTYPE,OPTIONS,FREQ,PASSNO 2>"$f.err"; echo "\\036STATUS $?"; cat "$f.err"; done`;
  const r = spawnSync('sh', ['-c', script, 'findmnt-batch', ...files], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return r.stdout.split('\x1eFILE\n').slice(1).map((chunk) => {
    const [json, rest] = chunk.split('\x1eSTATUS ');
    const status = Number(rest!.split('\n')[0]);
    const parsed = json!.trim() ? JSON.parse(json!) as { filesystems: Array<Record<string, string | number | null>> } : { filesystems: [] };
    const entries = parsed.filesystems.map((e) => ({
      source: String(e['source'] ?? ''), target: String(e['target'] ?? ''), fstype: String(e['fstype'] ?? ''),
      options: String(e['options'] ?? ''), freq: String(e['freq'] ?? ''), passno: String(e['passno'] ?? ''),
    }));
    return { status, entries, stderr: rest!.split('\n').slice(1).join('\n') };
  });
}

/** glibc's reading of the root's /etc/hosts: every entry `getent hosts` enumerates, as [address, ...names]. */
export function getentHosts(root: string): string[][] {
  const r = spawnSync(WITH_ROOT, [root, 'chroot', root, 'getent', '-s', 'files', 'hosts'], { encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 2) throw new Error(`getent failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/));
}

const CHRONY_CACHE = '/var/cache/ec2-init-test/chrony';

/**
 * Debian's chronyd, unpacked (never installed: an installed chronyd would be
 * the ntp module's choice in every test root, which see this machine's /usr):
 * `apt-get download chrony` and dpkg-deb -x into the test cache, once.
 */
export function chronyd(): string | null {
  const exe = join(CHRONY_CACHE, 'usr/sbin/chronyd');
  if (existsSync(exe)) return exe;
  if (!hasCommand('apt-get') || !hasCommand('dpkg-deb')) return null;
  mkdirSync(CHRONY_CACHE, { recursive: true });
  const r = spawnSync('sh', ['-c', 'cd "$1" && apt-get download -q chrony >/dev/null 2>&1 && dpkg-deb -x chrony_*.deb . && rm -f chrony_*.deb', 'get-chrony', CHRONY_CACHE], { encoding: 'utf8', timeout: 300_000 });
  return r.status === 0 && existsSync(exe) ? exe : null;
}

/** null when chronyd can be had; else why not. */
export function needChronyd(): string | null {
  return chronyd() ? null : unavailable(`chronyd could not be unpacked into ${CHRONY_CACHE} (apt-get download chrony)`);
}

/** chronyd's reading of a config file (chronyd -p): the directives it took, or its error. */
export function chronyConfig(file: string): { status: number; directives: string[]; stderr: string } {
  const r = spawnSync(chronyd()!, ['-p', '-f', file], { encoding: 'utf8' });
  return { status: r.status ?? -1, directives: r.stdout.split('\n').filter(Boolean), stderr: r.stderr };
}
