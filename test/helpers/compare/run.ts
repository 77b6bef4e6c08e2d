// Boots one agent on a fresh copy of the cloud-init image with a seed, and
// keeps what each boot left: the first boot; a reboot of the same instance
// (per-boot work only); for some seeds a boot as a new instance (the
// meta-data's instance-id changed, as when an image is launched again from a
// snapshot: per-instance work again, on a root that already has it once).
// Both agents get the same files: the seed and one system config file (the
// image's own /etc/cloud/cloud.cfg, with its default user 'debian', is read
// by both as it is).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModuleLists } from '../../../bench/scenarios.ts';
import { boot, makeCopy, removeCopy, type BootResult, type Copy, type Placed } from './sandbox.ts';
import { delta, readMerged, snapshot, type Snapshot } from './snapshot.ts';
import type { Seed } from './seeds.ts';
import { TOP } from '../paths.ts';

// The built executable; EC2_INIT_COMPARE_BIN points at another build (to try a fix).
export const EC2_INIT = process.env['EC2_INIT_COMPARE_BIN'] ?? join(TOP, 'dist', 'ec2-init');

export type AgentId = 'cloud-init' | 'ec2-init';

/** The commands of one boot, run in the namespace with the copy mounted at `root`. */
export function bootCommands(agent: AgentId, root: string, onRoot = false): string[] {
  // On the running system (a seed's `onRoot`): the executable from a tmpfs at the copy's /mnt (no file of the
  // copy changes), run chrooted, with / as its root, as cloud-init runs; for effects on the kernel (a route).
  if (agent === 'ec2-init' && onRoot) return [`mount -t tmpfs -o mode=755 tmpfs ${root}/mnt && cp ${EC2_INIT} ${root}/mnt/ec2-init && chroot ${root} /mnt/ec2-init boot`];
  if (agent === 'cloud-init') {
    // As Debian's four systemd units run it.
    return ['init --local', 'init', 'modules --mode config', 'modules --mode final'].map((a) => `chroot ${root} cloud-init ${a}`);
  }
  // The built executable, from the host, with the copy as its root.
  return [`${EC2_INIT} --root ${root} boot`];
}

// Equal work (as bench/ does it): cloud-init runs only the modules of
// Debian's lists that ec2-init implements; networking is left to the image.
export function systemConfig(lists: ModuleLists): string {
  const l = Object.entries(lists).map(([k, v]) => `${k}: [${v.join(', ')}]`).join('\n');
  return `# written by test/compare: the same for both agents\ndatasource_list: [NoCloud, None]\nnetwork: {config: disabled}\n${l}\n`;
}

export interface AgentRun {
  agent: AgentId;
  boots: BootResult[];
  first: Snapshot;         // what the first boot left
  second: Snapshot;        // what the second boot (same instance) changed
  third?: Snapshot;        // what the third boot (a new instance-id) changed, for seeds with newInstance
  after: { first: Snapshot; second: Snapshot; third?: Snapshot };  // everything changed since the image, after each boot
  /** The account files as the root shows them after the first and second boots. */
  accounts: [Map<string, Buffer | null>, Map<string, Buffer | null>];
  /** The agent's warnings and errors from its log, for the report when something differs. */
  problems: string[];
  /** `ip route show table all` in the namespace after each boot, for seeds with `routes`. */
  routes: string[];
}

const SEED_META = '/var/lib/cloud/seed/nocloud/meta-data';
export const NEW_INSTANCE = 'iid-compare-0002';

export const ACCOUNT_FILES = ['/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow'];

export async function runAgent(agent: AgentId, image: string, seed: Seed, lists: ModuleLists): Promise<AgentRun> {
  const files: Placed[] = [
    { path: '/etc/cloud/cloud.cfg.d/99-compare.cfg', content: systemConfig(lists), mode: 0o644 },
    { path: SEED_META, content: seed.metaData, mode: 0o600 },
    { path: '/var/lib/cloud/seed/nocloud/user-data', content: seed.userData, mode: 0o600 },
    ...(seed.files?.() ?? []),
  ];
  const copy: Copy = makeCopy(image, files);
  // A seed's services: the loopback up, their names on it (for ec2-init, which runs outside the
  // chroot; the copy's own /etc/hosts maps them for cloud-init), port 443 passed to their socket.
  const reach = seed.services ? await seed.services.start() : null;
  const setup = reach ? [
    `ip link set lo up && mount --bind ${reach.hosts} /etc/hosts`
      + ` && { socat TCP-LISTEN:443,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:${reach.socket} </dev/null >/dev/null 2>&1 & }`
      + ' && i=0 && while ! ss -Hlnt | grep -q "127.0.0.1:443 " && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done && ss -Hlnt | grep -q "127.0.0.1:443 "',
  ] : [];
  // After each boot, the namespace's routes (a seed's `routes`): the kernel state some modules change.
  const routesFile = join(copy.dir, 'routes');
  const after = seed.routes ? [`ip route show table all > ${routesFile}`] : [];
  const routes: string[] = [];
  // The setup's own exit codes (and the route listing's) are checked here, not reported as the boot's.
  const bootOnce = async (): Promise<BootResult> => {
    const r = await boot(copy, [...setup, ...bootCommands(agent, copy.root, seed.onRoot), ...after]);
    const failed = r.codes.slice(0, setup.length).find((c) => c.code !== 0);
    if (failed) throw new Error(`namespace setup failed: ${failed.command}\n${r.output.slice(-2000)}`);
    if (after.length) {
      if (r.codes.at(-1)?.code !== 0) throw new Error(`listing the routes failed:\n${r.output.slice(-2000)}`);
      routes.push(readFileSync(routesFile, 'utf8'));
    }
    return { ...r, codes: r.codes.slice(setup.length, r.codes.length - after.length) };
  };
  try {
    const b1 = await bootOnce();
    const first = snapshot(copy);
    const accountsFirst = new Map(ACCOUNT_FILES.map((p) => [p, readMerged(copy, p)]));
    const b2 = await bootOnce();
    const afterSecond = snapshot(copy);
    const second = delta(first, afterSecond);
    const accountsSecond = new Map(ACCOUNT_FILES.map((p) => [p, readMerged(copy, p)]));
    const boots = [b1, b2];
    let third: Snapshot | undefined;
    let afterThird: Snapshot | undefined;
    if (seed.newInstance) {
      // A new instance: only the meta-data's instance-id changes (the seed is in the upper layer).
      writeFileSync(join(copy.upper, SEED_META), seed.metaData.replace(/^instance-id: .*$/m, `instance-id: ${NEW_INSTANCE}`));
      boots.push(await bootOnce());
      afterThird = snapshot(copy);
      third = delta(afterSecond, afterThird);
    }
    const log = join(copy.upper, agent === 'cloud-init' ? '/var/log/cloud-init.log' : '/var/log/ec2-init.log');
    const problems = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => /\b(WARNING|WARN|ERROR)\b/.test(l)) : [];
    return { agent, boots, first, second, third, after: { first, second: afterSecond, third: afterThird }, accounts: [accountsFirst, accountsSecond], problems, routes };
  } finally {
    if (!process.env['EC2_INIT_COMPARE_KEEP']) removeCopy(copy);
    else console.error(`kept ${copy.dir}`);
  }
}
