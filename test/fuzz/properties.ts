// The fuzz harness's properties (issue 19): generated values go through the
// parsers and writers ec2-init has, and what they write is read by the real
// parsers, many cases per tool invocation. Each property holds when every
// input entry is either refused by name (a problem names its key path) or
// written so that the real parser reads exactly one entry for it, with the
// values given. Each returns its counts and the failures, with the case.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ensureLocalEntry } from '../../src/modules/etc_hosts.ts';
import { checkNames } from '../../src/modules/hostname.ts';
import { planFstab } from '../../src/modules/mounts.ts';
import { oneLine } from '../../src/network/check.ts';
import { renderEni } from '../../src/network/eni.ts';
import type { Iface, NetworkConfig, Problem } from '../../src/network/model.ts';
import { emitYaml, renderNetplan } from '../../src/network/netplan.ts';
import { renderNetworkd } from '../../src/network/networkd.ts';
import { parseNetworkConfig, type NetworkInput } from '../../src/network/parse.ts';
import { dnsOf, memberOf } from '../../src/network/render.ts';
import type { Nic } from '../../src/network/sysfs.ts';
import { parseYaml } from '../../src/yaml/index.ts';
import { tempDir } from '../helpers/files.ts';
import { findmnt, getentHostsFiles, ifquery, netplanGenerate, networkdParse, pyyaml, pyyamlDump } from '../helpers/real-parsers.ts';
import { readIni } from '../helpers/systemd-ini.ts';
import { hostnames, mountsEntries, networkData, NICS, v1Config, v2Config, yamlValue } from './generators.ts';

export interface Outcome { name: string; cases: number; refused: number; written: number; ms: number; failures: string[] }

const nics: Nic[] = NICS.map((n) => ({ name: n.name, mac: n.mac, driver: 'virtio_net', physical: true, bond: false, bridge: false, vlan: false, carrier: true, dormant: false, operstate: 'up' }));

/** Run `check` for one case; an exception is a failure that shows the case. */
function judge(failures: string[], what: string, input: unknown, check: () => void): void {
  try { check(); } catch (e) {
    failures.push(`${what}: ${(e as Error).message}\n  input: ${escape(JSON.stringify(input) ?? 'undefined')}`);
  }
}

const escape = (s: string) => s.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

// ---------------------------------------------------------------------------
// Network configs → ifupdown (ifquery), networkd (systemd-networkd), netplan (PyYAML, netplan generate)

const ENI_KEYS = new Set(['address', 'netmask', 'broadcast', 'gateway', 'dns-nameservers', 'dns-search', 'hwaddress', 'mtu', 'up', 'down',
  'bond-slaves', 'bond-master', 'bond-mode', 'bond-miimon', 'bond-xmit-hash-policy', 'accept_ra', 'autoconf', 'dad-attempts', 'dad-interval',
  'preferred-lifetime', 'scope', 'bridge_ports', 'vlan-raw-device', 'vlan_id', 'hostname', 'metric', 'leasetime', 'vendor', 'client', 'privext', 'request_prefix', 'll-attempts', 'll-interval']);

interface NetCase { input: unknown; format: NetworkInput['format']; entries: string[] }

function netCases(n: number, seed: number): NetCase[] {
  const pick = fc.sample(fc.oneof(
    v2Config.map((v): NetCase => ({ input: v, format: 'value', entries: [...Object.keys((v.network as { ethernets: object }).ethernets).map((id) => `ethernets.${id}`), ...('bonds' in v.network ? ['bonds.bond0'] : [])] })),
    v1Config.map((v): NetCase => ({ input: v, format: 'value', entries: v.config.flatMap((e, i) => ((e as { type: string }).type === 'nameserver' ? [] : [`config[${i}]`])) })),
    networkData.map((v): NetCase => ({ input: v, format: 'network_data', entries: v.links.map((_, i) => `links[${i}]`) })),
  ), { seed, numRuns: n });
  return pick;
}

/** The interfaces of a config a renderer wrote: all but those an error of its names as not rendered. */
function writtenBy(config: NetworkConfig, problems: Problem[]): Iface[] {
  return config.interfaces.filter((f) => !problems.some((x) => x.level === 'error' && x.message.startsWith(`${f.entry}: `) && /not rendered/.test(x.message)));
}

/** The interfaces each renderer writes for a config, with the values the real parser must read for each. */
function expected(config: NetworkConfig, f: Iface) {
  const dns = dnsOf(config, f, memberOf(config));
  return { name: f.name, addresses: f.addresses, nameservers: dns.nameservers, search: dns.search };
}

export async function fuzzNetwork(n: number, seed: number): Promise<Outcome> {
  const t0 = performance.now();
  const failures: string[] = [];
  const cases = netCases(n, seed);
  const dir = tempDir('ec2-init-fuzz-net-');
  const ndDir = join(dir, 'networkd');
  mkdirSync(ndDir);
  let refused = 0;
  let written = 0;
  const parsed = cases.map((c, i) => {
    const input: NetworkInput = c.format === 'network_data'
      ? { format: 'network_data', text: JSON.stringify(c.input), where: 'network_data.json' }
      : { format: 'value', value: c.input, where: 'network-config' };
    let p: ReturnType<typeof parseNetworkConfig> | null = null;
    judge(failures, `case ${i}: parse`, c.input, () => { p = parseNetworkConfig(input, nics); });
    return p as ReturnType<typeof parseNetworkConfig> | null;
  });
  const eniFiles: Array<{ i: number; path: string; config: NetworkConfig; want: Iface[] }> = [];
  const yamls: Array<{ i: number; text: string; value: unknown; root: string; want: Iface[] }> = [];
  const ndFiles: Array<{ i: number; file: string; content: string; f: Iface; config: NetworkConfig }> = [];
  for (const [i, p] of parsed.entries()) {
    const c = cases[i]!;
    if (!p) continue;
    const config = p.config;
    judge(failures, `case ${i}: every entry rendered or refused by name`, c.input, () => {
      const kept = new Set(config?.interfaces.map((f) => f.entry.replace(/^network_data\.json /, '').replace(/ \(.*$/, '')) ?? []);
      for (const e of c.entries) {
        if (kept.has(e)) { written++; continue; }
        refused++;
        // Named as messages name it: the key path with its control characters escaped, as a whole word.
        const name = new RegExp(`(^|[ :])${oneLine(e).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[ :.(])`);
        assert.ok(p.problems.some((x) => x.level === 'error' && name.test(x.message)), `${e} is neither rendered nor named in an error: ${escape(JSON.stringify(p.problems))}`);
      }
      for (const x of p.problems) assert.ok(!/[\n\r\u2028\u2029]/.test(x.message), `a message of more than one line: ${escape(x.message)}`);
    });
    if (!config) continue;
    // An entry taken is taken as given: the model holds the values of the input, not others.
    if (c.format === 'value' && (c.input as { network?: unknown }).network) {
      const eths = (c.input as { network: { ethernets: Record<string, Record<string, unknown>> } }).network.ethernets;
      judge(failures, `case ${i}: values kept as given`, c.input, () => {
        for (const f of config.interfaces.filter((x) => x.kind === 'physical')) {
          const raw = eths[f.entry.slice('ethernets.'.length)]!;
          assert.equal(f.name, raw['set-name']);
          assert.deepEqual(f.addresses, raw['addresses'] ?? []);
          const ns = (raw['nameservers'] ?? {}) as { addresses?: string[]; search?: string[] };
          assert.deepEqual(f.dns.nameservers, ns.addresses ?? []);
          assert.deepEqual(f.dns.search, ns.search ?? []);
        }
      });
    }
    judge(failures, `case ${i}: render`, c.input, () => {
      const eni = renderEni(config);
      const path = join(dir, `eni-${i}`);
      writeFileSync(path, eni.files[0]!.content);
      eniFiles.push({ i, path, config, want: writtenBy(config, eni.problems) });
      const nd = renderNetworkd(config);
      for (const f of writtenBy(config, nd.problems)) {
        const file = nd.files.find((x) => x.path === `/etc/systemd/network/10-cloud-init-${f.name}.network`);
        assert.ok(file, `no .network file for ${f.entry} (${f.name}), and no error naming it`);
        ndFiles.push({ i, file: `c${i}-10-cloud-init-${f.name}.network`, content: file.content, f, config });
      }
      for (const f of nd.files) writeFileSync(join(ndDir, `c${i}-${f.path.split('/').pop()}`), f.content);
      const np = renderNetplan(config);
      if (np.files.length) {
        const root = join(dir, `np-${i}`);
        mkdirSync(join(root, 'etc/netplan'), { recursive: true });
        writeFileSync(join(root, 'etc/netplan/50-cloud-init.yaml'), np.files[0]!.content, { mode: 0o600 });
        yamls.push({ i, text: np.files[0]!.content, value: parseYaml(np.files[0]!.content), root, want: writtenBy(config, np.problems) });
      }
    });
  }
  // ifupdown: ifquery reads one interface per rendered one, with its addresses, DNS, and no command but ec2-init's routes.
  const eniParsed = ifquery(eniFiles.map((e) => e.path));
  for (const [k, e] of eniFiles.entries()) {
    const r = eniParsed[k]!;
    judge(failures, `case ${e.i}: ifquery`, cases[e.i]!.input, () => {
      assert.equal(r.status, 0, r.stderr);
      const want = e.want;
      assert.deepEqual([...r.ifaces.keys()].sort(), ['lo', ...want.map((f) => f.name)].sort());
      for (const f of want) {
        const x = expected(e.config, f);
        const opts = r.ifaces.get(f.name)!;
        for (const [key, v] of opts) {
          assert.ok(ENI_KEYS.has(key), `${f.name}: option ${key} ${v}`);
          if (key === 'up' || key === 'down') assert.match(v, /^ip (-6 )?route (add|del) [0-9a-f.:/ A-Za-z_+-]+ \|\| true$/);
        }
        assert.equal(opts.filter(([key]) => key === 'address').length, x.addresses.length, `${f.name}: addresses`);
        assert.deepEqual(opts.filter(([key]) => key === 'dns-search').flatMap(([, v]) => v.split(' ')), x.search, `${f.name}: dns-search`);
        assert.deepEqual(opts.filter(([key]) => key === 'dns-nameservers').flatMap(([, v]) => v.split(' ')), x.nameservers, `${f.name}: dns-nameservers`);
      }
    });
  }
  // networkd: every file of every case read by one systemd-networkd; no warning; one [Match], one [Network], the values given.
  const warnings = networkdParse(ndDir);
  for (const [file, lines] of warnings) judge(failures, `networkd ${file}`, cases[Number(/^c(\d+)-/.exec(file)![1])]!.input, () => assert.deepEqual(lines, []));
  for (const e of ndFiles) {
    judge(failures, `case ${e.i}: networkd ${e.file}`, cases[e.i]!.input, () => {
      const ini = readIni(e.content);
      assert.deepEqual(ini.errors, []);
      const sections = ini.sections.map((s) => s.name);
      assert.equal(sections.filter((s) => s === 'Match').length, 1);
      assert.equal(sections.filter((s) => s === 'Network').length, 1);
      const network = ini.sections.find((s) => s.name === 'Network')!.keys;
      const x = expected(e.config, e.f);
      assert.deepEqual(network.filter(([k]) => k === 'Address').map(([, v]) => v), x.addresses);
      assert.deepEqual(network.filter(([k]) => k === 'DNS').map(([, v]) => v), x.nameservers);
      assert.deepEqual(network.filter(([k]) => k === 'Domains').flatMap(([, v]) => v.split(' ')), x.search);
    });
  }
  // netplan: libyaml and PyYAML read the very value written; netplan's generator takes the file.
  const py = pyyaml(yamls.map((y) => y.text));
  for (const [k, y] of yamls.entries()) {
    judge(failures, `case ${y.i}: netplan YAML`, cases[y.i]!.input, () => {
      const r = py[k]!;
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.deepEqual(r.value, plain(y.value));
      // One device per interface written (the rest named in an error).
      const network = (r.value as { network: Record<string, unknown> }).network;
      const devices = ['ethernets', 'bonds', 'bridges', 'vlans'].flatMap((k) => Object.keys((network[k] ?? {}) as object));
      assert.equal(devices.length, y.want.length, `netplan devices ${devices.join(', ')}; written ${y.want.map((f) => f.entry).join(', ')}`);
      const g = netplanGenerate(y.root);
      assert.equal(g.status, 0, g.stderr);
    });
  }
  return { name: 'network config → eni, networkd, netplan', cases: cases.length, refused, written, ms: performance.now() - t0, failures };
}

// ---------------------------------------------------------------------------
// hostname and fqdn → /etc/hosts (getent), /etc/hostname

const HOSTS_BASE = '127.0.0.1\tlocalhost\n192.0.2.1\tgw.example gw\n';

export function fuzzHosts(n: number, seed: number): Outcome {
  const t0 = performance.now();
  const failures: string[] = [];
  const cases = fc.sample(hostnames, { seed, numRuns: n });
  const dir = tempDir('ec2-init-fuzz-hosts-');
  const files: Array<{ i: number; path: string }> = [];
  let refused = 0;
  for (const [i, c] of cases.entries()) {
    const bad = checkNames({ ...c, isDefault: false, from: { hostname: "cloud-config 'hostname'", fqdn: "cloud-config 'fqdn'" } });
    if (bad) {
      refused++;
      judge(failures, `case ${i}: refused by name`, c, () => assert.match(bad, /^cloud-config '(hostname|fqdn)': /));
      continue;
    }
    judge(failures, `case ${i}: /etc/hostname`, c, () => assert.equal(`${c.hostname}\n`.split('\n').length, 2));
    const path = join(dir, `hosts-${i}`);
    writeFileSync(path, ensureLocalEntry(HOSTS_BASE, c.hostname, c.fqdn) ?? HOSTS_BASE);
    files.push({ i, path });
  }
  const read = getentHostsFiles(files.map((f) => f.path));
  for (const [k, f] of files.entries()) {
    const c = cases[f.i]!;
    judge(failures, `case ${f.i}: getent hosts`, c, () => {
      assert.deepEqual(read[k], [['127.0.0.1', 'localhost'], ['192.0.2.1', 'gw.example', 'gw'], ['127.0.1.1', c.fqdn, c.hostname]]);
    });
  }
  return { name: 'hostname, fqdn → /etc/hosts, /etc/hostname', cases: cases.length, refused, written: files.length, ms: performance.now() - t0, failures };
}

// ---------------------------------------------------------------------------
// mounts → /etc/fstab (findmnt)

/** What libmount makes of a field: its \ooo escapes decoded. */
const unmangle = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));

export function fuzzFstab(n: number, seed: number): Outcome {
  const t0 = performance.now();
  const failures: string[] = [];
  const cases = fc.sample(mountsEntries, { seed, numRuns: n });
  const dir = tempDir('ec2-init-fuzz-fstab-');
  const files: Array<{ i: number; path: string; kept: string[][] }> = [];
  let refused = 0;
  let written = 0;
  for (const [i, mounts] of cases.entries()) {
    const messages: string[] = [];
    judge(failures, `case ${i}: plan`, mounts, () => {
      const p = planFstab({
        fstab: null, mounts, defaultFields: [null, null, 'auto', 'defaults,nofail', '0', '2'], defaultOptions: 'defaults,nofail',
        resolve: (name) => (name === 'ephemeral0' || name === 'swap' ? null : name), swapFile: null, warn: (m) => messages.push(m), refuse: (m) => messages.push(m),
      });
      const kept = mounts.filter((_, j) => !messages.some((m) => m.startsWith(`mounts[${j}]: `)));
      refused += mounts.length - kept.length;
      written += kept.length;
      assert.equal(messages.length, mounts.length - kept.length, messages.join('\n'));
      if (p.content === null) { assert.equal(kept.length, 0); return; }
      const path = join(dir, `fstab-${i}`);
      writeFileSync(path, p.content);
      files.push({ i, path, kept });
    });
  }
  const read = findmnt(files.map((f) => f.path));
  for (const [k, f] of files.entries()) {
    judge(failures, `case ${f.i}: findmnt`, cases[f.i], () => {
      const r = read[k]!;
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.entries.map((e) => [e.source, e.target, e.fstype, e.options, e.freq, e.passno]),
        f.kept.map((e) => [unmangle(e[0]!), unmangle(e[1]!), e[2], unmangle(`${e[3]},comment=cloudconfig`), e[4], e[5]]));
    });
  }
  return { name: 'mounts → /etc/fstab', cases: cases.length, refused, written, ms: performance.now() - t0, failures };
}

// ---------------------------------------------------------------------------
// Values → the netplan YAML writer → src/yaml and PyYAML

/** src/yaml's mappings have no prototype; as plain objects, for comparing. */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

export function fuzzYaml(n: number, seed: number): Outcome {
  const t0 = performance.now();
  const failures: string[] = [];
  const cases = fc.sample(yamlValue, { seed, numRuns: n });
  const texts: Array<{ i: number; text: string }> = [];
  let refused = 0;
  for (const [i, v] of cases.entries()) {
    let text: string;
    try { text = emitYaml({ v }); } catch (e) {
      refused++;
      judge(failures, `case ${i}: refused by path`, v, () => {
        assert.match((e as Error).message, /^v.*: has a lone surrogate/);
        assert.ok(!/[\n\r\u0085\u2028\u2029]/.test((e as Error).message), 'a message of more than one line');
      });
      continue;
    }
    judge(failures, `case ${i}: src/yaml reads it back`, v, () => assert.deepEqual(plain(parseYaml(text)), { v: plain(v) }));
    texts.push({ i, text });
  }
  const py = pyyaml(texts.map((t) => t.text));
  for (const [k, t] of texts.entries()) {
    judge(failures, `case ${t.i}: PyYAML reads it back`, cases[t.i], () => {
      const r = py[k]!;
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.deepEqual(r.value, { v: plain(cases[t.i]) });
    });
  }
  return { name: 'values → YAML writer → src/yaml, PyYAML', cases: cases.length, refused, written: texts.length, ms: performance.now() - t0, failures };
}

// ---------------------------------------------------------------------------
// The YAML reader: what PyYAML writes (in each of its styles), as given and with
// a byte of syntax put anywhere, is read by src/yaml as PyYAML reads it.

export function fuzzYamlReader(n: number, seed: number): Outcome {
  const t0 = performance.now();
  const failures: string[] = [];
  const values = fc.sample(yamlValue, { seed, numRuns: n });
  const dumps = pyyamlDump(values.map((v) => ({ v })));
  // Each dump as written, and once spoiled: a character YAML reads as syntax (or cannot carry) put at some place.
  const spoil = fc.sample(fc.tuple(fc.nat(), fc.constantFrom('\n', ' ', '\t', ':', '- ', '#', '"', "'", '[', '{', '}', '&a ', '*a', '!', '%', '|', '>', '\\', '\x7f', '\x85', '\ufeff', '\u2028')), { seed, numRuns: n * 5 });
  const texts: Array<{ i: number; text: string; spoiled: boolean }> = [];
  let k = 0;
  for (const [i, ds] of dumps.entries()) {
    for (const d of ds) {
      texts.push({ i, text: d, spoiled: false });
      const [at, c] = spoil[k++ % spoil.length]!;
      const pos = at % (d.length + 1);
      texts.push({ i, text: d.slice(0, pos) + c + d.slice(pos), spoiled: true });
    }
  }
  const py = pyyaml(texts.map((t) => t.text));
  let refused = 0;
  let written = 0;
  for (const [j, t] of texts.entries()) {
    const r = py[j]!;
    judge(failures, `case ${t.i}${t.spoiled ? ' (spoiled)' : ''}: src/yaml reads ${escape(JSON.stringify(t.text))} as PyYAML does`, values[t.i], () => {
      let ours: { ok: true; value: unknown } | { ok: false; error: string };
      try { ours = { ok: true, value: plain(parseYaml(t.text)) }; } catch (e) { ours = { ok: false, error: (e as Error).message }; }
      // libyaml and pure PyYAML disagreeing (the helper says so: a lone surrogate's escape) leaves no reference.
      if (!r.ok && /disagree/.test(r.error)) return;
      if (!t.spoiled) assert.ok(r.ok && ours.ok, `${r.ok ? '' : r.error} / ${ours.ok ? '' : ours.error}`);
      assert.equal(ours.ok, r.ok, ours.ok ? `src/yaml read it, PyYAML: ${r.ok ? '' : r.error}` : `src/yaml: ${ours.error}; PyYAML read it`);
      if (ours.ok && r.ok) assert.deepEqual(ours.value, r.value);
      if (ours.ok) written++; else refused++;
    });
  }
  return { name: 'PyYAML\'s dumps (as written and spoiled) → src/yaml', cases: texts.length, refused, written, ms: performance.now() - t0, failures };
}

export async function fuzzAll(runs: { network: number; hosts: number; fstab: number; yaml: number; yamlReader: number }, seed: number): Promise<Outcome[]> {
  return [await fuzzNetwork(runs.network, seed), fuzzHosts(runs.hosts, seed), fuzzFstab(runs.fstab, seed), fuzzYaml(runs.yaml, seed), fuzzYamlReader(runs.yamlReader, seed)];
}
