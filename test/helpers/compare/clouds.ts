// ec2-init against Debian's cloud-init on a cloud's own datasource: the
// same simulator (cloud-sim.ts) serves both, on the cloud's address
// 169.254.169.254:80 put on the loopback of the sandbox's network namespace
// (nothing leaves it), with the DMI that cloud's firmware shows on a tmpfs
// over the root's /sys. Each agent boots once on its own fresh copy of the
// cached Debian image (sandbox.ts), reading the same system config: the
// datasource alone in datasource_list, its `datasource:` keys, the module
// lists both implement. What is kept: the requests each agent sent, each
// one's instance-data (v1 keys), and what the boot left on the root.
//
// cloud-init asking the simulator and booting from it is also the check of
// the simulator itself: its paths, headers and shapes are what cloud-init
// reads.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ModuleLists } from '../../../bench/scenarios.ts';
import { TOP } from '../paths.ts';
import { DO_PRIVATE_MAC, DO_PUBLIC_MAC } from '../digitalocean-simulator.ts';
import { GCE_PROJECT_KEY, GCE_SSH_KEY } from '../gce-simulator.ts';
import { HETZNER_MAC } from '../hetzner-simulator.ts';
import { ORACLE_PRIMARY_MAC } from '../oracle-simulator.ts';
import { VULTR_PRIVATE_MAC, VULTR_PUBLIC_MAC } from '../vultr-simulator.ts';
import { bootCommands, type AgentId } from './run.ts';
import { boot, makeCopy, removeCopy, type BootResult, type Placed } from './sandbox.ts';
import { snapshot, type Snapshot } from './snapshot.ts';

export const USER_DATA = `#cloud-config
write_files:
  - path: /etc/compare-cloud.conf
    content: "from the cloud's user-data\\n"
    permissions: '0640'
runcmd:
  - echo ran > /var/tmp/compare-runcmd
`;

export interface CloudScenario {
  id: string;
  /** The datasource, alone in datasource_list. */
  datasource: string;
  /** /sys/class/dmi/id/<field> as the cloud's firmware shows them. */
  dmi: Record<string, string>;
  /** NICs in the faked /sys/class/net: [name, MAC] (sysfs files only: nothing is ever brought up). */
  nics: Array<[string, string]>;
  /**
   * Lines under `datasource:` for both agents. Timeouts of 10 s: the
   * simulator answers at once, but ten boots share two cores, and a request
   * cut short is asked again by one agent and not the other (the request
   * lists would then differ by timing alone).
   */
  dsConfig: string;
  /** The simulator's options (JSON). */
  sim: Record<string, unknown>;
  /** Paths the boot must create on both sides (equal results must not be equal failures). */
  effects: string[];
}

export const CLOUD_SCENARIOS: CloudScenario[] = [
  {
    id: 'gce',
    datasource: 'GCE',
    dmi: { sys_vendor: 'Google', product_name: 'Google Compute Engine', product_serial: 'GoogleCloud-0F3A2B1C4D5E6F708192A3B4C5D6E7F8', bios_vendor: 'Google', chassis_asset_tag: '' },
    // cloud-init's default is metadata.google.internal: no DNS in the namespace, so both get the address.
    nics: [['ens4', '42:01:0a:80:00:02']],
    dsConfig: '  GCE: {metadata_url: "http://169.254.169.254/computeMetadata/v1/", retries: 2, sec_between_retries: 1}\n',
    sim: {
      instanceAttributes: { 'user-data': USER_DATA, 'ssh-keys': `debian:${GCE_SSH_KEY}\nalice:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAliceAliceAliceAliceAliceAliceAliceAliceAliceAl alice@laptop\n` },
      projectAttributes: { 'ssh-keys': `debian:${GCE_PROJECT_KEY}` },
    },
    effects: ['/etc/compare-cloud.conf', '/var/tmp/compare-runcmd', '/etc/hostname', '/home/debian/.ssh/authorized_keys'],
  },
  {
    id: 'hetzner',
    datasource: 'Hetzner',
    dmi: { sys_vendor: 'Hetzner', product_name: 'vServer', product_serial: '42424242', bios_vendor: 'Hetzner', chassis_asset_tag: '' },
    // eth0 as the metadata's network-config names it (no rename to do on either side).
    nics: [['eth0', HETZNER_MAC]],
    dsConfig: '  Hetzner: {retries: 2, timeout: 10, wait_retry: 1}\n',
    // Private networks are read by cloud-init 25.2 and later only (neither 22.4 nor 25.1): the service offers none.
    sim: { userData: USER_DATA, privateNetworks: [] },
    effects: ['/etc/compare-cloud.conf', '/var/tmp/compare-runcmd', '/etc/hostname', '/home/debian/.ssh/authorized_keys', '/etc/network/interfaces.d/50-cloud-init'],
  },
  {
    id: 'oracle',
    datasource: 'Oracle',
    dmi: { sys_vendor: 'QEMU', product_name: 'Standard PC (i440FX + PIIX, 1996)', chassis_asset_tag: 'OracleCloud.com', product_serial: 'Not Specified' },
    nics: [['ens3', ORACLE_PRIMARY_MAC]],
    dsConfig: '  Oracle: {max_wait: 30, timeout: 10}\n',
    sim: { userData: USER_DATA },
    effects: ['/etc/compare-cloud.conf', '/var/tmp/compare-runcmd', '/etc/hostname', '/home/debian/.ssh/authorized_keys', '/etc/network/interfaces.d/50-cloud-init'],
  },
  {
    id: 'digitalocean',
    datasource: 'DigitalOcean',
    dmi: { sys_vendor: 'DigitalOcean', product_name: 'Droplet', product_serial: '22532410', chassis_asset_tag: '' },
    // Both NICs: cloud-init gives up on the whole network config (and fails the stage) when one is missing.
    nics: [['eth0', DO_PUBLIC_MAC], ['eth1', DO_PRIVATE_MAC]],
    // use_ip4LL: false — cloud-init would put a link-local address on the NIC (ec2-init leaves that to init-local's ephemeral network).
    dsConfig: '  DigitalOcean: {retries: 2, timeout: 10, wait_retry: 1, use_ip4LL: false}\n',
    sim: { userData: USER_DATA },
    effects: ['/etc/compare-cloud.conf', '/var/tmp/compare-runcmd', '/etc/hostname', '/home/debian/.ssh/authorized_keys', '/etc/network/interfaces.d/50-cloud-init'],
  },
  {
    id: 'vultr',
    datasource: 'Vultr',
    dmi: { sys_vendor: 'Vultr', product_name: 'VC2', product_serial: '42872224', chassis_asset_tag: '' },
    nics: [['ens3', VULTR_PUBLIC_MAC], ['ens7', VULTR_PRIVATE_MAC]],
    dsConfig: '  Vultr: {retries: 2, timeout: 10, wait: 1}\n',
    sim: { userData: USER_DATA },
    effects: ['/etc/compare-cloud.conf', '/var/tmp/compare-runcmd', '/etc/hostname', '/home/debian/.ssh/authorized_keys', '/etc/network/interfaces.d/50-cloud-init'],
  },
];

export interface CloudRun {
  agent: AgentId;
  boot: BootResult;
  /** What the boot left (the overlay's upper layer). */
  changed: Snapshot;
  /** The sensitive instance-data (v1, ds, …), or null when none was written. */
  instanceData: Record<string, unknown> | null;
  requests: Array<{ method: string; path: string; headers: Record<string, string>; status: number }>;
  /** The agent's warnings and errors from its log. */
  problems: string[];
}

// What both images need for a network renderer to be there (ifupdown's
// commands and its main file): stubs, so that both write eni and the files
// can be compared; nothing is ever brought up.
const ENI_STUBS: Placed[] = [
  ...['ifup', 'ifdown', 'ifquery'].map((n) => ({ path: `/usr/sbin/${n}`, content: '#!/bin/sh\nexit 0\n', mode: 0o755 })),
  { path: '/etc/network/interfaces', content: 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n', mode: 0o644 },
];

// The machine is a cloud's KVM guest, as on the cloud. Where the test itself
// runs in a container, systemd's detect-virt (in trixie's image) says so from
// inside the sandbox (container-other, by the cgroup namespace), and
// cloud-init then reads no DMI at all; this stand-in, first on PATH, answers
// as on the cloud's VM. ec2-init asks no such program.
const VM_STUB: Placed = {
  path: '/usr/local/bin/systemd-detect-virt',
  content: '#!/bin/sh\n# test/helpers/compare/clouds.ts: a KVM guest, never a container\n'
    + 'for a in "$@"; do case $a in -c|--container) echo none; exit 1;; esac; done\necho kvm\n',
  mode: 0o755,
};

function systemConfig(s: CloudScenario, lists: ModuleLists): string {
  const l = Object.entries(lists).map(([k, v]) => `${k}: [${v.join(', ')}]`).join('\n');
  return `# written by test/helpers/compare/clouds.ts: the same for both agents\ndatasource_list: [${s.datasource}]\ndatasource:\n${s.dsConfig}${l}\n`;
}

/** Boot `agent` once on a fresh copy of `image`, with the scenario's simulator and DMI in the namespace. */
export async function runCloud(agent: AgentId, image: string, s: CloudScenario, lists: ModuleLists): Promise<CloudRun> {
  const copy = makeCopy(image, [{ path: '/etc/cloud/cloud.cfg.d/99-compare.cfg', content: systemConfig(s, lists), mode: 0o644 }, ...ENI_STUBS, VM_STUB]);
  try {
    const out = join(copy.dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'sim.json'), JSON.stringify(s.sim));
    const r = copy.root;
    mkdirSync(join(out, 'dmi'));
    for (const [field, value] of Object.entries(s.dmi)) writeFileSync(join(out, 'dmi', field), `${value}\n`);
    // A NIC as both agents read it from sysfs: its MAC (permanent), a device, a carrier.
    for (const [name, mac] of s.nics) {
      const dir = join(out, 'net', name);
      mkdirSync(join(dir, 'device'), { recursive: true });
      const attrs = { address: mac, addr_assign_type: '0', type: '1', carrier: '1', operstate: 'up', mtu: '1500', flags: '0x1003', ifindex: '2' };
      for (const [k, v] of Object.entries(attrs)) writeFileSync(join(dir, k), `${v}\n`);
    }
    const setup = [
      // The cloud's firmware and NICs: a tmpfs over the root's /sys holding the DMI and /sys/class/net.
      `mount -t tmpfs -o mode=755 tmpfs ${r}/sys && mkdir -p ${r}/sys/class/dmi/id ${r}/sys/class/net && cp ${out}/dmi/* ${r}/sys/class/dmi/id/`
        + (s.nics.length ? ` && cp -a ${out}/net/. ${r}/sys/class/net/` : ''),
      // The service's address on the loopback, and a route to it in the main table (cloud-init 22.4's Vultr source looks for one).
      'ip link set lo up && ip addr add 169.254.169.254/32 dev lo && ip route add 169.254.169.254/32 dev lo',
      `${process.execPath} ${join(TOP, 'test/helpers/compare/cloud-sim.ts')} ${s.id} ${out}/sim.json ${out}/requests.jsonl ${out}/ready > ${out}/sim.log 2>&1 &`
        + ` i=0; while [ ! -e ${out}/ready ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; [ -e ${out}/ready ]`,
    ];
    const agentCommands = bootCommands(agent, r);
    const keep = [`cp -a ${r}/run/cloud-init ${r}/run/ec2-init ${out}/ 2>/dev/null; true`];
    const result = await boot(copy, [...setup, ...agentCommands, ...keep]);
    const setupFailed = result.codes.slice(0, setup.length).find((c) => c.code !== 0);
    if (setupFailed) throw new Error(`namespace setup failed: ${setupFailed.command}\n${result.output.slice(-2000)}\n${existsSync(join(out, 'sim.log')) ? readFileSync(join(out, 'sim.log'), 'utf8') : ''}`);
    const idPath = join(out, agent === 'cloud-init' ? 'cloud-init' : 'ec2-init', 'instance-data-sensitive.json');
    const requestsText = existsSync(join(out, 'requests.jsonl')) ? readFileSync(join(out, 'requests.jsonl'), 'utf8') : '';
    const log = join(copy.upper, agent === 'cloud-init' ? 'var/log/cloud-init.log' : 'var/log/ec2-init.log');
    return {
      agent,
      boot: { ...result, codes: result.codes.slice(setup.length, setup.length + agentCommands.length) },
      changed: snapshot(copy),
      instanceData: existsSync(idPath) ? JSON.parse(readFileSync(idPath, 'utf8')) as Record<string, unknown> : null,
      requests: requestsText.split('\n').filter(Boolean).map((l) => JSON.parse(l) as CloudRun['requests'][number]),
      problems: existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => /\b(WARNING|WARN|ERROR)\b/.test(l)) : [],
    };
  } finally {
    if (!process.env['EC2_INIT_COMPARE_KEEP']) removeCopy(copy);
    else console.error(`kept ${copy.dir}`);
  }
}

/** The v1 keys cloud-init's instance-data has that both agents are expected to give alike. */
export const V1_KEYS = ['cloud_name', 'cloud-name', 'cloud_id', 'platform', 'region', 'availability_zone', 'availability-zone',
  'instance_id', 'instance-id', 'local_hostname', 'local-hostname', 'public_ssh_keys', 'subplatform', 'distro', 'distro_release', 'distro_version'] as const;

/** Each v1 key whose value differs: [key, cloud-init's, ec2-init's]. */
export function v1Differences(ci: Record<string, unknown> | null, ec2: Record<string, unknown> | null): Array<[string, unknown, unknown]> {
  const a = (ci?.['v1'] ?? {}) as Record<string, unknown>;
  const b = (ec2?.['v1'] ?? {}) as Record<string, unknown>;
  const norm = (k: string, v: unknown) => (k === 'public_ssh_keys' && Array.isArray(v) ? [...v].sort() : v);
  return V1_KEYS.filter((k) => JSON.stringify(norm(k, a[k])) !== JSON.stringify(norm(k, b[k]))).map((k) => [k, a[k], b[k]]);
}
