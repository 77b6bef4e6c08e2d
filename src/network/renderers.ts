// Which network stack to write for: the first of `system_info: network:
// renderers` (cloud-init's default order when unset) that the image has, by
// cloud-init's checks — eni: ifquery, ifup and ifdown in /sbin or /usr/sbin
// and an /etc/network/interfaces file; netplan: netplan in /usr/sbin or
// /sbin; networkd: ip and systemctl in /usr/sbin or /bin. The names
// cloud-init has and ec2-init does not render (sysconfig, network-manager,
// the BSDs) are passed over.
import { isMapping } from '../yaml/index.ts';
import type { Files } from '../host/files.ts';
import { which } from '../host/root-facts.ts';
import { renderEni } from './eni.ts';
import type { NetworkConfig } from './model.ts';
import { renderNetplan } from './netplan.ts';
import { renderNetworkd } from './networkd.ts';
import type { Rendered } from './render.ts';

export type RendererName = 'eni' | 'netplan' | 'networkd';

export const DEFAULT_PRIORITY = ['eni', 'sysconfig', 'netplan', 'network-manager', 'freebsd', 'netbsd', 'openbsd', 'networkd'];
const CLOUD_INIT_RENDERERS = new Set([...DEFAULT_PRIORITY, 'netifrc']);

export const RENDERERS: Record<RendererName, (c: NetworkConfig) => Rendered> = {
  eni: renderEni,
  netplan: renderNetplan,
  networkd: renderNetworkd,
};

const has = (files: Files, program: string, dirs: string[]) => which(files, program, dirs) !== null;

export function available(files: Files, name: RendererName): boolean {
  switch (name) {
    case 'eni': {
      if (!['ifquery', 'ifup', 'ifdown'].every((p) => has(files, p, ['/sbin', '/usr/sbin']))) return false;
      try { return files.stat('/etc/network/interfaces')?.kind === 'file'; } catch { return false; }
    }
    case 'netplan': return has(files, 'netplan', ['/usr/sbin', '/sbin']);
    case 'networkd': return ['ip', 'systemctl'].every((p) => has(files, p, ['/usr/sbin', '/bin']));
  }
}

/** The configured priority: system_info.network.renderers, else cloud-init's default. */
export function priority(system: Record<string, unknown>): { list: string[]; problems: string[] } {
  const info = isMapping(system['system_info']) ? system['system_info'] : {};
  const net = isMapping(info['network']) ? info['network'] : {};
  const given = net['renderers'];
  if (given === undefined || given === null) return { list: DEFAULT_PRIORITY, problems: [] };
  if (!Array.isArray(given) || !given.every((g) => typeof g === 'string')) {
    return { list: DEFAULT_PRIORITY, problems: [`system_info.network.renderers: expected a list of names; using the default order (${DEFAULT_PRIORITY.join(', ')})`] };
  }
  const unknown = (given as string[]).filter((g) => !CLOUD_INIT_RENDERERS.has(g));
  return { list: given as string[], problems: unknown.length ? [`system_info.network.renderers: unknown renderer(s) ${unknown.join(', ')} (cloud-init has ${[...CLOUD_INIT_RENDERERS].join(', ')})`] : [] };
}

export function selectRenderer(files: Files, list: string[]): RendererName | null {
  for (const name of list) {
    if (name in RENDERERS && available(files, name as RendererName)) return name as RendererName;
  }
  return null;
}
