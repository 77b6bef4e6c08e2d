// `npm run bench:vm`: real VM boots (qemu TCG, 2 vCPUs) of one Debian image
// per base in variants, with the same NoCloud seed, booted alternately, each
// disk booted twice (a first boot, then a second boot of the same instance):
//   Debian 12 (bookworm) / Debian 13 (trixie)
//   F / F13  no agent, the host keys baked in (the floor: what sshd costs anyway)
//   A / C    the suite's own cloud-init (22.4 / 25.1), host keys removed
//   B / B13  the ec2-init .deb (dist/), host keys removed
// Each base's variants are compared with each other (ratios per round); the
// bases only side by side.
// Per boot, from the guest's own clocks (µs since the kernel started):
// ssh.service active, multi-user.target active, user-data done (runcmd
// writes /proc/uptime), each agent unit's time, ssh.service's critical chain.
// Writes bench/vm-results.json (every boot) and the "VM boots" section of
// bench/RESULTS.md (between its markers; the rest of the file is left alone).
//
// The image: the boot tests' cached Debian base (test/e2e/image.ts; its
// suite, bookworm or trixie, per variant) with openssh-server and cloud-init
// installed from the mirror, cached under /var/cache/ec2-init-e2e/bench-*; a
// disk per variant (mkfs.ext4 -d), cached by its recipe and, for B and B13,
// the .deb's hash.
//
//   node bench/vm.ts [--rounds N] [--variants F,A,B,F13,C,B13] [--note TEXT]
// Needs root, qemu-system-x86, debootstrap's base (made on first use),
// genisoimage, e2fsprogs. Every boot's console goes to its temp dir (removed
// after). Run it niced (npm run bench:vm does): the VMs take both CPUs.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { baseRoot, CACHE, cannotRun, copyDisk, copyKernel, debPath, inChroot, makeIso, removeDir, run, type Disk, type Suite } from '../test/e2e/image.ts';
import { boot } from '../test/e2e/vm.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
const RECIPE = 2; // bump when the image or a variant's steps change
const BOOT_TIMEOUT_MS = 600_000;

type Variant = 'F' | 'A' | 'B' | 'F13' | 'C' | 'B13';
const ALL: Variant[] = ['F', 'A', 'B', 'F13', 'C', 'B13'];
const VARIANT_NAMES: Record<Variant, string> = {
  F: 'no agent, host keys baked (Debian 12 floor)',
  A: 'cloud-init 22.4 (Debian 12)',
  B: 'ec2-init .deb on Debian 12',
  F13: 'no agent, host keys baked (Debian 13 floor)',
  C: 'cloud-init 25.1 (Debian 13)',
  B13: 'ec2-init .deb on Debian 13',
};
type Agent = 'none' | 'cloud-init' | 'ec2-init';
const AGENT: Record<Variant, Agent> = { F: 'none', A: 'cloud-init', B: 'ec2-init', F13: 'none', C: 'cloud-init', B13: 'ec2-init' };
const SUITE: Record<Variant, Suite> = { F: 'bookworm', A: 'bookworm', B: 'bookworm', F13: 'trixie', C: 'trixie', B13: 'trixie' };
const EC2_INIT_UNITS = ['ec2-init-hostkeys', 'ec2-init-local', 'ec2-init', 'ec2-init-config', 'ec2-init-final'];
// cloud-init 24.x+ runs its stages in one process (cloud-init-main), its network stage renamed cloud-init-network.
const AGENT_UNITS: Record<Variant, string[]> = {
  F: [], A: ['cloud-init-local', 'cloud-init', 'cloud-config', 'cloud-final'], B: EC2_INIT_UNITS,
  F13: [], C: ['cloud-init-main', 'cloud-init-local', 'cloud-init-network', 'cloud-config', 'cloud-final'], B13: EC2_INIT_UNITS,
};
// Per base: which variant is the floor, cloud-init and ec2-init (the ratios and the done-when lines compare within a base).
interface BaseSet { label: string; floor: Variant; cloudInit: Variant; ours: Variant }
const BASES: BaseSet[] = [
  { label: 'Debian 12', floor: 'F', cloudInit: 'A', ours: 'B' },
  { label: 'Debian 13', floor: 'F13', cloudInit: 'C', ours: 'B13' },
];
const OTHER_UNITS = ['ssh.service', 'multi-user.target', 'sysinit.target', 'network-online.target', 'systemd-networkd.service', 'systemd-networkd-wait-online.service', 'systemd-udev-settle.service'];

function hash(x: unknown): string {
  return createHash('sha256').update(typeof x === 'string' || Buffer.isBuffer(x) ? x : JSON.stringify(x)).digest('hex').slice(0, 12);
}
const say = (m: string): void => { process.stderr.write(`# bench:vm: ${m}\n`); };

// --- the image ---

/** The boot tests' base of this suite with openssh-server (its keys made at install: baked) and cloud-init, from the mirror. */
function benchBase(suite: Suite): string {
  const base = baseRoot('systemd', suite);
  // bookworm's name as before the suite was a choice (its cached tree stays valid).
  // e2fsprogs (resize2fs, which both agents' resizefs runs) is in bookworm's minbase (Priority: required)
  // but not in trixie's (important): installed there, as on Debian's own cloud images.
  const extra = suite === 'bookworm' ? [] : ['e2fsprogs'];
  const dir = join(CACHE, `bench-base-${suite === 'bookworm' ? '' : `${suite}-`}${hash({ base: base.key, RECIPE, ...(extra.length ? { extra } : {}) })}`);
  const root = join(dir, 'root');
  if (existsSync(join(dir, 'done'))) return root;
  const tmp = mkdtempSync(`${dir}.tmp-`);
  try {
    say(`making ${dir}: the e2e ${suite} base + openssh-server, cloud-init (apt, a few minutes, once)`);
    run('cp', ['-a', '--reflink=auto', base.root, join(tmp, 'root')], { timeout: 600_000 });
    copyFileSync('/etc/resolv.conf', join(tmp, 'root', 'etc/resolv.conf'));
    // The mirror is needed, so a mount namespace only (not inChroot's network-less one); policy-rc.d (from the base) starts nothing.
    run('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-euc', `
      mount -t proc proc "$1/proc"
      mount --rbind /dev "$1/dev"
      chroot "$1" /usr/bin/env -i PATH=${PATH} DEBIAN_FRONTEND=noninteractive sh -ec '
        apt-get update -q
        apt-get install -y -q --no-install-recommends openssh-server sudo cloud-init locales ${extra.join(' ')}
        sed -i "s/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/" /etc/locale.gen
        locale-gen
        update-locale LANG=en_US.UTF-8
        apt-get clean
        rm -rf /var/lib/apt/lists/*'
    `, 'sh', join(tmp, 'root')], { timeout: 1_200_000 });
    writeFileSync(join(tmp, 'root', 'etc/resolv.conf'), '');
    writeFileSync(join(tmp, 'done'), `${new Date().toISOString()}\n`);
    renameSync(tmp, dir);
  } finally {
    if (existsSync(tmp)) rmSync(tmp, { recursive: true, force: true });
  }
  return root;
}

// In the guest, once the boot is finished: what the bench reads, between markers, then power off.
// The units the harness reports: the same list for every variant of a suite (bookworm's as before there were two).
const harness = (suite: Suite): string => `#!/bin/sh
# bench:vm harness (bench/vm.ts), not part of any agent.
systemctl is-system-running --wait >/dev/null 2>&1 || true
{
  echo "BENCH-BEGIN"
  echo "bench-state $(systemctl is-system-running)"
  for u in ${[...new Set([...OTHER_UNITS, ...ALL.filter((v) => SUITE[v] === suite).flatMap((v) => AGENT_UNITS[v]).map((u) => `${u}.service`)])].join(' ')}; do
    echo "bench-unit $u $(systemctl show -p Id --value $u) $(systemctl show -p LoadState --value $u) $(systemctl show -p InactiveExitTimestampMonotonic --value $u) $(systemctl show -p ActiveEnterTimestampMonotonic --value $u)"
  done
  [ -e /run/bench-userdata-done ] && echo "bench-userdata $(cat /run/bench-userdata-done)"
  systemd-analyze critical-chain ssh.service 2>&1 | sed 's/^/bench-chain /'
  systemd-analyze time 2>&1 | sed 's/^/bench-time /'
  systemctl --failed --no-legend --plain 2>&1 | sed 's/^/bench-failed /'
  cat /var/log/ec2-init.log 2>/dev/null | sed 's/^/bench-log /'
  echo "BENCH-END"
} > /dev/ttyS0 2>&1
sync
systemctl poweroff
`;
const HARNESS_UNIT = `# bench:vm harness (bench/vm.ts), not part of any agent.
[Unit]
Description=bench:vm harness: report and power off
After=multi-user.target

[Service]
Type=simple
ExecStart=/usr/local/sbin/bench-report

[Install]
WantedBy=multi-user.target
`;

/** What each variant's tree gets on top of its suite's bench base (run chrooted, no network): the same steps on both bases. */
function variantSteps(v: Variant): string[] {
  const noKeys = 'rm -f /etc/ssh/ssh_host_*';
  // ds-identify (the generator) would find no cidata volume at its early time in this image
  // (its initramfs has no CD-ROM driver) and disable cloud-init: it is told to enable it.
  // 25.1's generator and ds-identify (trixie) decide the same way (notfound=disabled; NoCloud
  // only by a seed directory, the DMI serial or blkid's labels), so C gets the same nudge.
  const enable = "printf 'policy: enabled\\n' > /etc/cloud/ds-identify.cfg";
  switch (AGENT[v]) {
    case 'none': return ['dpkg --purge cloud-init'];
    case 'cloud-init': return v === 'C'
      // 25.1 also needs the datasource named: its network stage tries NoCloud (NoCloudNet's
      // ds_detect) only when datasource_list is exactly [NoCloud] (or the DMI serial / command
      // line says so). With 'policy: enabled' alone the full list stays, init-local runs before
      // the kernel has made sr0 (first try: init-local at 102 s, sr0 at 108 s), and the network
      // stage went on to Ec2 (233 s), CloudStack… and found nothing.
      ? [noKeys, enable, "printf 'datasource_list: [ NoCloud ]\\n' > /etc/cloud/cloud.cfg.d/90-bench-nocloud.cfg"]
      : [noKeys, enable];
    case 'ec2-init': return ['dpkg --purge cloud-init', 'dpkg -i /tmp/ec2-init.deb', 'rm /tmp/ec2-init.deb', noKeys];
  }
}

function variantDisk(v: Variant, deb: Buffer | null): Disk {
  const baseTree = benchBase(SUITE[v]);
  const HARNESS = harness(SUITE[v]);
  const key = hash({ baseTree, RECIPE, steps: variantSteps(v), HARNESS, HARNESS_UNIT, deb: deb ? hash(deb) : null });
  const dir = join(CACHE, `bench-disk-${v}-${key}`);
  const out: Disk = { image: join(dir, 'disk.img'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), deb: AGENT[v] === 'ec2-init' ? debPath() : '' };
  if (existsSync(join(dir, 'done'))) return out;
  for (const name of readdirSync(CACHE)) if (name.startsWith(`bench-disk-${v}-`)) rmSync(join(CACHE, name), { recursive: true, force: true });
  const tmp = mkdtempSync(join(tmpdir(), 'ec2-init-e2e-bench-'));
  try {
    const root = join(tmp, 'root');
    run('cp', ['-a', '--reflink=auto', baseTree, root], { timeout: 600_000 });
    const files: Record<string, [string, number]> = {
      '/usr/local/sbin/bench-report': [HARNESS, 0o755],
      '/etc/systemd/system/bench-report.service': [HARNESS_UNIT, 0o644],
      '/etc/fstab': ['LABEL=e2e-root / ext4 rw,errors=remount-ro 0 1\n', 0o644],
    };
    for (const [path, [content, mode]] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
      chmodSync(join(root, path), mode);
    }
    if (deb) writeFileSync(join(root, 'tmp/ec2-init.deb'), deb);
    inChroot(root, [...variantSteps(v), 'rm -f /usr/sbin/policy-rc.d', 'systemctl enable bench-report.service'].join('\n'));
    mkdirSync(join(tmp, 'out'));
    copyKernel(root, join(tmp, 'out'));
    run('mkfs.ext4', ['-q', '-F', '-L', 'e2e-root', '-E', 'root_owner=0:0', '-d', root, join(tmp, 'out', 'disk.img'), '3G'], { timeout: 600_000 });
    writeFileSync(join(tmp, 'out', 'done'), `${v}\n`);
    renameSync(join(tmp, 'out'), dir);
    say(`disk ${v} (${VARIANT_NAMES[v]}) ready: ${dir}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

// --- one boot, read ---

interface UnitTimes { id: string; load: string; startS: number; activeS: number }
interface BootResult {
  variant: Variant; round: number; kind: 'first' | 'second'; order: number;
  ok: boolean; why?: string; wallMs: number;
  state: string;
  sshS: number; multiUserS: number; userDataS: number;
  units: Record<string, UnitTimes>;
  chain: string[]; time: string[]; failed: string[]; log: string[];
}

function parse(consoleText: string): Omit<BootResult, 'variant' | 'round' | 'kind' | 'order' | 'wallMs'> {
  // The console file is read as latin1 (test/e2e/vm.ts); systemd-analyze's tree is UTF-8.
  const text = Buffer.from(consoleText, 'latin1').toString('utf8').replace(/\r/g, '');
  const begin = text.lastIndexOf('BENCH-BEGIN');
  const end = text.indexOf('BENCH-END', begin);
  const r = { ok: begin >= 0 && end > begin, state: '', sshS: NaN, multiUserS: NaN, userDataS: NaN, units: {} as Record<string, UnitTimes>, chain: [] as string[], time: [] as string[], failed: [] as string[], log: [] as string[] };
  if (!r.ok) return { ...r, why: 'no report on the console' };
  for (const line of text.slice(begin, end).split('\n')) {
    const m = /(bench-[a-z]+) ?(.*)$/.exec(line);
    if (!m) continue;
    const [, tag, v] = m as unknown as [string, string, string];
    if (tag === 'bench-state') r.state = v.trim();
    else if (tag === 'bench-unit') {
      const [name, id, load, start, active] = v.trim().split(/\s+/);
      if (name) r.units[name] = { id: id ?? '', load: load ?? '', startS: Number(start) / 1e6, activeS: Number(active) / 1e6 };
    } else if (tag === 'bench-userdata') r.userDataS = Number(v.trim());
    else if (tag === 'bench-chain') r.chain.push(v);
    else if (tag === 'bench-time') r.time.push(v);
    else if (tag === 'bench-failed') { if (v.trim()) r.failed.push(v.trim()); }
    else if (tag === 'bench-log') r.log.push(v);
  }
  const at = (u: string): number => { const t = r.units[u]?.activeS; return t && t > 0 ? t : NaN; };
  r.sshS = at('ssh.service');
  r.multiUserS = at('multi-user.target');
  return r;
}

const META = 'instance-id: iid-bench-vm-1\nlocal-hostname: bench-vm\n';
function userData(pubkey: string): string {
  return [
    '#cloud-config',
    'ssh_authorized_keys:',
    `  - ${pubkey}`,
    'runcmd:',
    "  - [sh, -c, \"cut -d' ' -f1 /proc/uptime > /run/bench-userdata-done\"]",
    '',
  ].join('\n');
}

async function bootOnce(disk: Disk, image: string, dir: string, cdrom: string): Promise<{ res: ReturnType<typeof parse>; wallMs: number; console: string }> {
  for (let attempt = 1; ; attempt++) {
    const b = await boot({
      dir, image, kernel: disk.kernel, initrd: disk.initrd, cdrom, timeoutMs: BOOT_TIMEOUT_MS,
      // An emulated CPU starved by the host's load can fail the kernel's timer IRQ check (a panic before anything ran): skip the check.
      append: 'no_timer_check',
      giveUpOn: [/Kernel panic/, /emergency mode/i, /Give root password for maintenance/],
    });
    const res = parse(b.console);
    if (!res.ok) res.why = b.timedOut ? `timed out after ${BOOT_TIMEOUT_MS / 1000} s` : b.gaveUp ? `gave up: ${b.gaveUp}` : `no report (qemu exit ${b.exitCode})`;
    // A panic before init started left the disk as it was: that boot did not happen, boot again.
    if (!res.ok && b.gaveUp && !/Run \/sbin\/init|systemd\[1\]/.test(b.console) && attempt < 3) {
      say(`  ${res.why} before init started: booting again`);
      continue;
    }
    return { res, wallMs: b.ms, console: b.console };
  }
}

// --- statistics and the report ---

const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '–');

function unitDuration(r: BootResult, unit: string): number {
  const u = r.units[`${unit}.service`];
  return u && u.startS > 0 && u.activeS > 0 ? u.activeS - u.startS : NaN;
}

function report(results: BootResult[], variants: Variant[], rounds: number, note: string, startedAt: string, loads: string[]): string {
  const L: string[] = [];
  const of = (v: Variant, k: 'first' | 'second'): BootResult[] => results.filter((r) => r.variant === v && r.kind === k && r.ok);
  L.push(`Run of ${startedAt}: ${rounds} round(s); each round boots every variant once (first boot), then each again (second boot), ` +
    `in an order rotated per round. ${rounds < 5 ? `**Fewer than the issue's 5 first + 5 second boots per variant** (time box). ` : ''}` +
    `qemu TCG, 2 vCPUs, niced, on a 2-CPU machine shared with other work (load ${loads.join(' → ')}): read the ratios, not the seconds.${note ? ` ${note}` : ''}`);
  L.push('');
  const bases = BASES.filter((b) => [b.floor, b.cloudInit, b.ours].some((v) => variants.includes(v)));
  for (const k of ['first', 'second'] as const) {
    L.push(`| ${k} boot, s after kernel start (median, n) | ssh.service active | multi-user.target | user-data done | agent units (median s each) |`);
    L.push('|---|---|---|---|---|');
    for (const base of bases) {
      for (const v of [base.floor, base.cloudInit, base.ours].filter((x) => variants.includes(x))) {
        const rs = of(v, k);
        const units = AGENT_UNITS[v].map((u) => `${u} ${f1(median(rs.map((r) => unitDuration(r, u))))}`).join(', ') || '–';
        L.push(`| ${v}: ${VARIANT_NAMES[v]} (${rs.length}) | ${f1(median(rs.map((r) => r.sshS)))} | ${f1(median(rs.map((r) => r.multiUserS)))} | ${f1(median(rs.map((r) => r.userDataS)))} | ${units} |`);
      }
    }
    L.push('');
  }
  // Ratios per round (the boots of one round ran next to each other), within a base only.
  const ratio = (a: Variant, b: Variant, k: 'first' | 'second', metric: 'sshS' | 'multiUserS' | 'userDataS'): number[] => {
    const out: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const x = results.find((r) => r.round === round && r.variant === a && r.kind === k && r.ok);
      const y = results.find((r) => r.round === round && r.variant === b && r.kind === k && r.ok);
      if (x && y && Number.isFinite(x[metric] / y[metric])) out.push(x[metric] / y[metric]);
    }
    return out;
  };
  L.push('| ratio per round (median; each round) | ssh.service active | multi-user.target | user-data done |');
  L.push('|---|---|---|---|');
  for (const base of bases) {
    const pairs = ([[base.ours, base.floor], [base.ours, base.cloudInit], [base.cloudInit, base.floor]] as [Variant, Variant][])
      .filter(([a, b]) => variants.includes(a) && variants.includes(b));
    for (const k of ['first', 'second'] as const) {
      for (const [a, b] of pairs) {
        const cell = (m: 'sshS' | 'multiUserS' | 'userDataS'): string => {
          const rs = ratio(a, b, k, m);
          return rs.length ? `${f2(median(rs))} (${rs.map(f2).join(', ')})` : '–';
        };
        L.push(`| ${base.label}, ${k} boot, ${a}/${b} | ${cell('sshS')} | ${cell('multiUserS')} | ${cell('userDataS')} |`);
      }
    }
  }
  L.push('');
  // The issue's done-when lines: ec2-init against cloud-init 25.1 (trixie) and against each base's floor.
  // Fewer than 3 pairs on a shared machine: a ratio, not a verdict.
  const verdict = (a: Variant, b: Variant, k: 'first' | 'second', bound: number): string => {
    if (!variants.includes(a) || !variants.includes(b)) return `**not measured** (no ${[a, b].filter((v) => !variants.includes(v)).join(' or ')} in this run)`;
    const rs = ratio(a, b, k, 'sshS');
    const x = median(rs);
    const met = x <= bound;
    const n = rs.length;
    const v = n === 0 ? 'not measured (no pair of good boots)' : n < 3 ? `not conclusive (${n} pair${n === 1 ? '' : 's'}; it would be ${met ? 'met' : 'not met'})` : met ? 'met' : 'not met';
    return `${a}/${b} ${f2(x)}${n ? ` (${rs.map(f2).join(', ')})` : ''}: **${v}**`;
  };
  const [d12, d13] = BASES as [BaseSet, BaseSet];
  L.push('Done when (issue 22):');
  L.push(`- first boot, kernel → ssh.service active ≤ 0.5× cloud-init 25.1's: ${verdict(d13.ours, d13.cloudInit, 'first', 0.5)}` +
    (variants.includes(d12.ours) && variants.includes(d12.cloudInit) ? `; against cloud-init 22.4 (for comparison) ${d12.ours}/${d12.cloudInit} ${f2(median(ratio(d12.ours, d12.cloudInit, 'first', 'sshS')))}.` : '.'));
  L.push(`- first boot, kernel → ssh.service active ≤ 1.1× the floor's: ${bases.map((b) => `${b.label}: ${verdict(b.ours, b.floor, 'first', 1.1)}`).join('; ')}.`);
  L.push(`- second boot, kernel → ssh.service active within 5% of the floor's: ${bases.map((b) => `${b.label}: ${verdict(b.ours, b.floor, 'second', 1.05)}`).join('; ')}.`);
  L.push('');
  // One critical chain per variant and kind (the last good boot's), for the causes.
  L.push('ssh.service\'s critical chain (`systemd-analyze critical-chain`, the last boot of each):');
  L.push('');
  L.push('```');
  for (const v of variants) {
    for (const k of ['first', 'second'] as const) {
      const r = of(v, k).pop();
      if (!r) continue;
      L.push(`${v} ${k} boot (round ${r.round}):`);
      for (const c of r.chain.filter((l) => /[@+]|\.service|\.target/.test(l))) L.push(`  ${c}`);
    }
  }
  L.push('```');
  const failed = results.filter((r) => !r.ok);
  if (failed.length) L.push('', `Boots without a report (left out above): ${failed.map((r) => `${r.variant} ${r.kind} round ${r.round}: ${r.why}`).join('; ')}.`);
  return L.join('\n');
}

const BEGIN = '<!-- bench:vm begin (bench/vm.ts writes this section) -->';
const END = '<!-- bench:vm end -->';

function writeResults(section: string): void {
  const md = join(HERE, 'RESULTS.md');
  const text = existsSync(md) ? readFileSync(md, 'utf8') : '';
  const block = `${BEGIN}\n## VM boots: time to ssh and to user-data done (issue 22, \`npm run bench:vm\`)\n\n${section}\n${END}`;
  const at = text.indexOf(BEGIN);
  const next = at >= 0 ? text.slice(0, at) + block + text.slice(text.indexOf(END, at) + END.length) : `${text.replace(/\n*$/, '\n\n')}${block}\n`;
  writeFileSync(md, next);
}

// --- main ---

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  const rounds = Number(opt('--rounds') ?? 5);
  const variants = (opt('--variants') ?? ALL.join(',')).split(',') as Variant[];
  const unknown = variants.filter((v) => !ALL.includes(v));
  if (unknown.length || new Set(variants).size !== variants.length) throw new Error(`--variants: ${unknown.length ? `unknown ${unknown.join(', ')}` : 'a variant named twice'} (choose from ${ALL.join(', ')})`);
  const note = opt('--note') ?? '';
  const jsonPath = join(HERE, 'vm-results.json');
  if (args.includes('--report-only')) {
    // The section again from the boots recorded (e.g. after a run was stopped between rounds).
    const saved = JSON.parse(readFileSync(jsonPath, 'utf8')) as { startedAt: string; variants: Variant[]; results: BootResult[]; loads?: string[] };
    const done = Math.max(0, ...saved.results.filter((r) => r.kind === 'second').map((r) => r.round));
    writeResults(report(saved.results, saved.variants, done, note, saved.startedAt, saved.loads ?? []));
    return;
  }
  const why = cannotRun();
  if (why) throw new Error(`bench:vm cannot run here: ${why}`);
  const deb = variants.some((v) => AGENT[v] === 'ec2-init') ? readFileSync(debPath()) : null;
  const disks = Object.fromEntries(variants.map((v) => [v, variantDisk(v, AGENT[v] === 'ec2-init' ? deb : null)])) as Record<Variant, Disk>;

  const work = mkdtempSync(join(tmpdir(), 'ec2-init-e2e-benchvm-'));
  const results: BootResult[] = [];
  const startedAt = new Date().toISOString();
  const loads = [readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join('/')];
  try {
    const keyDir = join(work, 'key');
    mkdirSync(keyDir);
    const kg = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench-vm', '-f', join(keyDir, 'id')], { env: { PATH } });
    if (kg.status !== 0) throw new Error(`ssh-keygen: ${kg.stderr}`);
    const cdrom = join(work, 'seed.iso');
    makeIso(cdrom, 'cidata', { 'meta-data': META, 'user-data': userData(readFileSync(join(keyDir, 'id.pub'), 'utf8').trim()) });
    let order = 0;
    for (let round = 1; round <= rounds; round++) {
      const inOrder = variants.map((_, i) => variants[(i + round - 1) % variants.length]!);
      const copies = Object.fromEntries(inOrder.map((v) => [v, copyDisk(disks[v])])) as Record<Variant, { dir: string; image: string }>;
      try {
        for (const kind of ['first', 'second'] as const) {
          for (const v of inOrder) {
            say(`round ${round}/${rounds}: ${v} (${VARIANT_NAMES[v]}), ${kind} boot`);
            const { res, wallMs, console: text } = await bootOnce(disks[v], copies[v].image, copies[v].dir, cdrom);
            const r: BootResult = { variant: v, round, kind, order: order++, wallMs, ...res };
            if (!r.ok) writeFileSync(join(HERE, `vm-failed-${v}-${kind}-${round}.log`), text);
            results.push(r);
            say(`  ${r.ok ? `ssh ${f1(r.sshS)} s, multi-user ${f1(r.multiUserS)} s, user-data ${f1(r.userDataS)} s (${r.state})` : `failed: ${r.why}`}, wall ${(wallMs / 1000).toFixed(0)} s`);
            writeFileSync(jsonPath, JSON.stringify({ startedAt, rounds, variants, results, loads }, null, 2) + '\n');
          }
        }
      } finally {
        for (const c of Object.values(copies)) removeDir(c.dir);
      }
      loads.push(readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join('/'));
      writeResults(report(results, variants, round, note, startedAt, loads));
    }
  } finally {
    removeDir(work);
  }
  say(`done: ${join(HERE, 'RESULTS.md')}, ${jsonPath}`);
}

await main();
