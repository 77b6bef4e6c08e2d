// ec2-init's YAML parser (src/yaml/) against the `yaml` package as ec2-init
// used it (PYYAML_OPTIONS): time and memory on a typical cloud-config, on
// 10k and 50k small nodes, and on a 1 MiB block scalar. A measurement,
// printed, never asserted:
//   node bench/yaml.ts            # all cases, both parsers
//   node bench/yaml.ts --runs 50  # more runs per case
//   node bench/yaml.ts --inputs F  # write the cases' texts to F as JSON, to time them elsewhere (QuickJS)
// Memory is measured in a fresh child process per parser and case: the peak
// RSS over a process that only built the input, and how much heap one parse
// allocates (garbage included: what a collector, or QuickJS's reference
// counting, has to work through).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parse as parseWithPackage, type ParseOptions, type DocumentOptions, type SchemaOptions, type ToJSOptions } from 'yaml';
import { parseYaml } from '../src/yaml/index.ts';

// The options ec2-init gave the `yaml` package (src/userdata/yaml.ts before
// src/yaml/ replaced it), kept here so the comparison outlives the switch.
type Tag = { tag: string; test?: RegExp; identify?: (v: unknown) => boolean };
const PYYAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions & ToJSOptions = {
  version: '1.1',
  uniqueKeys: false,
  merge: true,
  maxAliasCount: 1000,
  customTags: (tags) => (tags as unknown as Tag[]).map((t) => {
    if (t.tag !== 'tag:yaml.org,2002:bool' || t.test === undefined || t.identify === undefined) return t;
    return { ...t, test: t.identify(true) ? /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/ : /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/ };
  }) as unknown as typeof tags,
};

const PARSERS: Record<string, (text: string) => unknown> = {
  'src/yaml': (text) => parseYaml(text),
  'yaml 2.8': (text) => parseWithPackage(text, PYYAML_OPTIONS) as unknown,
};

function sshKey(): string {
  return `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${randomBytes(24).toString('base64')} user@host`;
}

/** About 10 KB of what user-data usually holds: users, write_files, packages, runcmd. */
function typicalConfig(): string {
  let s = '#cloud-config\nhostname: web-01\nfqdn: web-01.example.com\nmanage_etc_hosts: true\ntimezone: Europe/Berlin\n';
  s += 'package_update: true\npackage_upgrade: true\npackages:\n';
  for (const p of ['nginx', 'git', 'curl', 'jq', 'htop', 'vim', 'tmux', 'unzip', 'python3-pip', 'postgresql-client',
    'ca-certificates', 'gnupg', 'lsb-release', 'rsync', 'chrony', 'fail2ban', 'ufw', 'awscli', 'docker.io', 'make']) s += `  - ${p}\n`;
  s += 'users:\n  - default\n';
  for (const name of ['alice', 'bob', 'carol', 'dave']) {
    s += `  - name: ${name}\n    gecos: ${name} from ops\n    groups: [adm, sudo, docker]\n    shell: /bin/bash\n`;
    s += `    sudo: ALL=(ALL) NOPASSWD:ALL\n    lock_passwd: true\n    ssh_authorized_keys:\n      - ${sshKey()}\n      - ${sshKey()}\n`;
  }
  s += 'write_files:\n';
  for (let i = 0; i < 6; i++) {
    s += `  - path: /etc/app/conf.d/${i}-service.conf\n    owner: root:root\n    permissions: '0644'\n    content: |\n`;
    for (let j = 0; j < 12; j++) s += `      option_${j} = value ${j} # set by cloud-init\n`;
  }
  s += '  - path: /etc/app/token\n    permissions: "0600"\n    encoding: b64\n    content: ' + randomBytes(300).toString('base64') + '\n';
  s += 'ntp:\n  enabled: true\n  servers: [0.pool.ntp.org, 1.pool.ntp.org]\n';
  s += 'apt:\n  sources:\n    docker.list:\n      source: deb [arch=amd64] https://download.docker.com/linux/debian $RELEASE stable\n      keyid: 9DC858229FC7DD38854AE2D88D81803C0EBFCD88\n';
  s += 'runcmd:\n';
  for (let i = 0; i < 20; i++) s += `  - [sh, -c, "echo step ${i} >> /var/log/setup.log && systemctl restart app@${i}"]\n`;
  s += '  - systemctl enable --now nginx\n  - ufw allow 22/tcp\n  - ufw --force enable\n';
  s += 'final_message: "The system is up after $UPTIME seconds"\n';
  return s;
}

/** A list of small mappings: 5 nodes an item (the mapping, two keys, two values). */
function smallNodes(nodes: number): string {
  let s = '';
  for (let i = 0; i < nodes / 5; i++) s += `- name: item${i}\n  value: ${i}\n`;
  return s;
}

function blockScalar(bytes: number): string {
  let s = 'write_files:\n  - path: /srv/big\n    content: |\n';
  while (s.length < bytes) s += `      ${randomBytes(54).toString('base64')}\n`;
  return s;
}

const CASES: Record<string, () => string> = {
  'typical cloud-config': typicalConfig,
  '10k nodes': () => smallNodes(10_000),
  '50k nodes': () => smallNodes(50_000),
  '1 MiB block scalar': () => blockScalar(1 << 20),
};

/** The text as it arrives from a file or a Buffer: one flat string, not a rope of concatenations. */
function input(name: string): string {
  return Buffer.from(CASES[name]!()).toString('utf8');
}

function child(parser: string, name: string): void {
  const text = input(name);
  const parse = parser === 'none' ? () => null : PARSERS[parser]!;
  let value = parse(text); // the first run also compiles the parser: not counted below
  value = null;
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  value = parse(text);
  // The young generation is made large enough that no collection runs during one parse:
  // the growth of the heap is what the parse allocated.
  const allocated = process.memoryUsage().heapUsed - before;
  process.stdout.write(JSON.stringify({ maxRss: process.resourceUsage().maxRSS * 1024, allocated, ok: value !== undefined }));
}

function memory(parser: string, name: string): { maxRss: number; allocated: number } {
  const flags = ['--expose-gc', '--max-semi-space-size=1024'];
  const r = spawnSync(process.execPath, [...flags, import.meta.filename, '--child', parser, name], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { maxRss: number; allocated: number };
}

function time(f: () => unknown, runs: number): { min: number; median: number } {
  const deadline = performance.now() + 2000;
  for (let i = 0; i < 3 && performance.now() < deadline; i++) f(); // warm up the JIT
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return { min: ts[0]!, median: ts[Math.floor(ts.length / 2)]! };
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  child(argv[1]!, argv[2]!);
} else if (argv[0] === '--inputs') {
  writeFileSync(argv[1]!, JSON.stringify(Object.fromEntries(Object.keys(CASES).map((name) => [name, input(name)]))));
} else {
  const runs = argv[0] === '--runs' ? Number(argv[1]) : 15;
  const mib = (n: number) => `${(n / (1 << 20)).toFixed(1)} MiB`;
  console.log(`node ${process.version}, ${runs} runs after warm-up; memory in a fresh process each\n`);
  console.log('| case | size | parser | median | min | peak RSS over baseline | heap allocated by one parse |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const name of Object.keys(CASES)) {
    const text = input(name);
    const base = memory('none', name);
    for (const [parser, f] of Object.entries(PARSERS)) {
      const t = time(() => f(text), name.startsWith('50k') ? Math.min(runs, 7) : runs);
      const m = memory(parser, name);
      console.log(`| ${name} | ${(text.length / 1024).toFixed(0)} KiB | ${parser} | ${t.median.toFixed(2)} ms | ${t.min.toFixed(2)} ms | ` +
        `${mib(m.maxRss - base.maxRss)} | ${mib(m.allocated)} |`);
    }
  }
}
