// `clean`: forget this instance, so the next boot is a first boot — the last
// step of most image builds (`cloud-init clean --logs --seed`). As cloud-init
// 25's: every entry of /var/lib/cloud but the seed (unless --seed), the logs
// with --logs, the generated ssh/network config with --configs, a fresh
// /etc/machine-id with --machine-id, the root's /etc/cloud/clean.d scripts,
// and --reboot at the end (on the running system only).
import type { Context } from '../context.ts';
import { onRunningSystem } from '../modules/helpers.ts';
import { usesSystemd } from '../host/root-facts.ts';
import { CLOUD, layout } from '../state/layout.ts';

export interface CleanOptions {
  logs: boolean;
  seed: boolean;
  machineId: boolean;
  reboot: boolean;
  /** cloud-init's --configs: 'all', 'ssh_config', 'network'. */
  configs: string[];
}

/** cloud-init's generated configuration, by kind (its GEN_*_CONFIG_FILES). */
const GENERATED: Record<string, string[]> = {
  ssh_config: ['/etc/ssh/sshd_config.d/50-cloud-init.conf'],
  network: [
    '/etc/netplan/50-cloud-init.yaml', '/etc/NetworkManager/conf.d/99-cloud-init.conf',
    '/etc/NetworkManager/conf.d/30-cloud-init-ip6-addr-gen-mode.conf', '/etc/network/interfaces.d/50-cloud-init.cfg',
  ],
};
/** Network files named by a pattern (one directory, a name prefix and suffix). */
const GENERATED_PATTERNS: Record<string, Array<[string, RegExp]>> = {
  network: [
    ['/etc/NetworkManager/system-connections', /^cloud-init-.*\.nmconnection$/],
    ['/etc/systemd/network', /^10-cloud-init-.*\.network$/],
  ],
};

export const LOGS = [layout.log, layout.outputLog, '/var/log/cloud-init.log', '/var/log/cloud-init-output.log'];

/** What was removed (paths of the root), for the command to print. Throws on a failure that must fail the command. */
export async function clean(ctx: Context, opts: CleanOptions): Promise<string[]> {
  const { files } = ctx;
  const removed: string[] = [];
  const drop = (path: string) => { if (files.lstat(path) !== null) { files.remove(path); removed.push(path); } };
  if (opts.logs) for (const log of LOGS) drop(log);
  const kinds = opts.configs.includes('all') ? Object.keys(GENERATED) : opts.configs;
  for (const kind of kinds) {
    for (const path of GENERATED[kind] ?? []) drop(path);
    for (const [dir, re] of GENERATED_PATTERNS[kind] ?? []) for (const name of files.list(dir)) if (re.test(name)) drop(`${dir}/${name}`);
  }
  for (const name of files.list(CLOUD)) {
    if (name === 'seed' && !opts.seed) continue;
    drop(`${CLOUD}/${name}`);
  }
  drop(layout.runDir);
  drop(layout.cloudInitRunDir);
  if (opts.machineId) {
    // systemd makes a new machine-id at the next boot when the file says so; without systemd, an absent file does it.
    if (usesSystemd(files, { installed: true })) {
      files.write('/etc/machine-id', 'uninitialized\n', { mode: 0o444 });
      removed.push('/etc/machine-id (uninitialized)');
    } else drop('/etc/machine-id');
  }
  // cloud-init's run-parts of /etc/cloud/clean.d: the image's own cleaning steps.
  for (const name of files.list('/etc/cloud/clean.d')) {
    if (!/^[A-Za-z0-9_-]+$/.test(name)) continue; // run-parts' rule for names
    const path = `/etc/cloud/clean.d/${name}`;
    const st = files.stat(path);
    if (st?.kind !== 'file' || (st.perm & 0o111) === 0) continue;
    if (!(await ctx.runChecked(`clean: ${path}`, [path]))) throw new Error(`${path} failed (see ${layout.outputLog})`);
  }
  if (opts.reboot && onRunningSystem(ctx, 'clean', 'reboot')) {
    if (!(await ctx.runChecked('clean --reboot', ['shutdown', '-r', 'now']))) throw new Error('could not reboot with shutdown -r now');
  }
  return removed;
}
