// What is measured: each scenario is an image configuration, a seed, the
// boots to run and the effects to check afterwards. The image is the Debian
// root as shipped (its /etc/cloud/cloud.cfg, default user included) plus one
// file, /etc/cloud/cloud.cfg.d/99-bench.cfg, that both agents read.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { MODULES } from '../src/modules/index.ts';
import type { Agent } from './agents.ts';
import type { Suite } from './chroot.ts';
import type { Boot } from './inner.ts';
import { SEEDS, type Check, type Seed } from './seeds.ts';

// Equal work: cloud-init runs the modules of Debian's own lists (in the
// image's /etc/cloud/cloud.cfg, in their order and stages) that ec2-init also
// has (src/modules/index.ts), and no others, so the lists follow ec2-init as
// it grows. Network configuration is disabled on both sides: ec2-init leaves
// networking to the image.
export type ModuleLists = Record<'cloud_init_modules' | 'cloud_config_modules' | 'cloud_final_modules', string[]>;

export interface EqualModules {
  lists: ModuleLists;
  leftOut: string[];   // in Debian's lists, not in ec2-init: cloud-init does not run them here
  ec2Only: string[];   // in ec2-init, not in Debian's lists
}

export function equalModules(imageRoot: string): EqualModules {
  const have = new Set(MODULES.map((m) => m.name));
  const cfg = parse(readFileSync(join(imageRoot, 'etc/cloud/cloud.cfg'), 'utf8')) as Record<string, unknown>;
  const lists = {} as ModuleLists;
  const debian: string[] = [];
  for (const key of ['cloud_init_modules', 'cloud_config_modules', 'cloud_final_modules'] as const) {
    // An entry is a name ("write-files") or [name, frequency].
    const names = ((cfg[key] ?? []) as unknown[]).map((e) => String(Array.isArray(e) ? e[0] : e).replaceAll('-', '_'));
    debian.push(...names);
    lists[key] = names.filter((n) => have.has(n));
  }
  return { lists, leftOut: debian.filter((n) => !have.has(n)), ec2Only: [...have].filter((n) => !debian.includes(n)) };
}

function benchCfg(lists: ModuleLists, datasources: string[], extra = ''): string {
  const l = Object.entries(lists).map(([k, v]) => `${k}: [${v.join(', ')}]`).join('\n');
  return `# written by bench/: the same for both agents\ndatasource_list: [${datasources.join(', ')}]\nnetwork: {config: disabled}\n${l}\n${extra}`;
}

export interface Scenario {
  id: string;
  title: string;
  // What is placed in the root before the first boot: the module lists are
  // those of the root's own cloud.cfg (per suite).
  files(agent: Agent): { path: string; content: string | Buffer; mode: number }[];
  boots(agent: Agent): Boot[];
  // Which agents it measures (all when absent).
  agents?(agent: Agent): boolean;
  checks: Check[];
  imds?: { delayMs: number; userData: string };
  // Runs are capped for scenarios where cloud-init takes minutes.
  maxRunsCloudInit?: number;
  // Why a run of this agent does not measure what the scenario means, read
  // from its log (null when it does): a number is never reported for it.
  invalid?(agent: Agent, log: string): string | null;
}

// Debian's cloud.cfg has `users: [default]`: when the user-data names no
// users, first boot creates the image's default user, `debian`.
const DEFAULT_USER: Check = { path: '/etc/passwd', contains: '\ndebian:' };

const boot = (agent: Agent, label: string, measured: boolean): Boot => ({ label, commands: agent.stages, unitPokes: agent.unitPokes, measured });
const firstBoot = (agent: Agent): Boot[] => [boot(agent, 'first boot', true)];

export function makeScenarios(listsOf: Record<Suite, ModuleLists>): Scenario[] {
  const cfgFile = (content: string) => ({ path: '/etc/cloud/cloud.cfg.d/99-bench.cfg', content, mode: 0o644 });
  const nocloud = (seed: Seed) => (agent: Agent) => [
    cfgFile(benchCfg(listsOf[agent.suite], ['NoCloud', 'None'])),
    { path: '/var/lib/cloud/seed/nocloud/meta-data', content: seed.metaData, mode: 0o600 },
    { path: '/var/lib/cloud/seed/nocloud/user-data', content: seed.userData, mode: 0o600 },
  ];
  // The simulator's URL is known only once it listens, inside the namespace:
  // inner.ts fills it in. Deadlines are generous so neither side gives up early.
  // strict_id: false makes both ask the metadata service on this machine,
  // which is no EC2 instance (else ec2-init, reading DMI, would not ask at all).
  const ec2Cfg = (agent: Agent) => benchCfg(listsOf[agent.suite], ['Ec2', 'None'],
    `datasource:\n  Ec2:\n    strict_id: false\n    metadata_urls: ['@IMDS_URL@']\n    timeout: 5\n    max_wait: 10\n`);
  // The absent service: default URLs and deadlines, only the platform check off.
  const absentCfg = (agent: Agent) => benchCfg(listsOf[agent.suite], ['Ec2', 'None'], `datasource:\n  Ec2:\n    strict_id: false\n`);
  const config = SEEDS['cloud-config']!;

  return [
    {
      // Not a boot: what starting the runtime costs (Python + cloud-init's
      // imports; Node.js + the bundle), paid once per process of a boot.
      id: 'startup',
      title: 'start-up floor: `--version`, one process',
      files: () => [],
      agents: (agent) => agent.startup,
      boots: (agent) => [{ label: '--version', commands: [agent.version], measured: true }],
      checks: [],
    },
    {
      id: 'script',
      title: 'first boot: a `#!` shell script',
      files: nocloud(SEEDS.script!),
      boots: firstBoot,
      checks: [...SEEDS.script!.checks, DEFAULT_USER],
    },
    {
      id: 'cloud-config',
      title: 'first boot: cloud-config (write_files, users + ssh key, bootcmd, runcmd, hostname)',
      files: nocloud(config),
      boots: firstBoot,
      checks: config.checks,
    },
    {
      id: 'gzip-multipart',
      title: 'first boot: gzipped MIME multipart (the cloud-config and the script)',
      files: nocloud(SEEDS['gzip-multipart']!),
      boots: firstBoot,
      checks: SEEDS['gzip-multipart']!.checks,
    },
    {
      id: 'second-boot',
      title: 'second boot, same instance (cloud-config seed): nothing new to do',
      files: nocloud(config),
      boots: (agent) => [
        boot(agent, 'first boot', false),
        boot(agent, 'second boot', true),
      ],
      checks: config.checks,
    },
    {
      id: 'absent-ec2',
      title: 'configured but absent datasource: `datasource_list: [Ec2, None]`, `strict_id: false`, no metadata service',
      files: (agent) => [cfgFile(absentCfg(agent))],
      boots: firstBoot,
      checks: [],
      maxRunsCloudInit: 1,
      invalid: (agent, log) => agent.kind !== 'cloud-init' && !/datasource Ec2: not found/.test(log)
        ? 'ec2-init did not try an Ec2 datasource (not implemented yet?)' : null,
    },
    ...[1, 2, 20].map((delayMs): Scenario => ({
      id: `ec2-${delayMs}ms`,
      title: `first boot from EC2 metadata (simulator on 127.0.0.1, ${delayMs} ms per request; the cloud-config as user-data)`,
      files: (agent) => [cfgFile(ec2Cfg(agent))],
      boots: firstBoot,
      checks: config.checks,
      imds: { delayMs, userData: config.userData.toString() },
    })),
  ];
}
