// The shape of a datasource: what it needs to be reached, how local facts
// say its platform could be this machine, and one read. Each source is one
// file exporting one Source; src/sources/search.ts lists them in the order
// cloud-init's default datasource_list does and walks `datasource_list`.
import type { Context } from '../context.ts';
import type { Logger } from '../log.ts';
import type { Instance } from '../state/instance.ts';
import type { Diag, SourceData } from '../types.ts';
import type { Config } from '../userdata/merge.ts';
import { sys } from '../host/sys.ts';
import { isMapping } from '../yaml/index.ts';
import type { ReadBudget } from './budget.ts';
import type { Platform } from './platform.ts';

/**
 * What reaching a source takes:
 * - files: a seed directory, a labelled volume, a socket, a local tool: asked in init-local;
 * - network: a service reached only once networking is up: asked in init;
 * - link-local: a metadata service on a link-local address, asked in init-local
 *   over a short-lived network on the NIC it is behind (src/net/ephemeral.ts)
 *   when networking is not up yet, and again in init when init-local did not
 *   find it (cloud-init's Ec2Local then Ec2).
 */
export type Reach = 'files' | 'network' | 'link-local';

/** The DHCP lease of the short-lived network init-local brought up, as far as sources need it. */
export interface Lease {
  /** The address leased (Scaleway tells its DHCP address from its static ones by it). */
  address?: string;
  router?: string;
  /** The DHCP server's address. */
  serverAddress?: string;
  /** Options by number ('245': Azure's wireserver) as the DHCP client wrote them. */
  options: Record<string, string>;
}

/** Everything a read is given. */
export interface SourceRun {
  ctx: Context;
  log: Logger;
  platform: Platform;
  /** The whole system config (datasource_list, system_info, …). */
  system: Config;
  /** `datasource: {<Name>: {…}}` of the system config ({} when absent). */
  cfg: Config;
  /** Absolute sys.now() time nothing of this read may outlive (the search's deadline). */
  deadline: number;
  /**
   * The only source in datasource_list: asked even where detect() says no,
   * as cloud-init's ds-identify does for a single configured datasource.
   */
  forced: boolean;
  /** The search this read is part of: init-local's ('local') or init's ('network'). */
  stage: 'local' | 'network';
  /** What this read may take in all (budget.ts): each reader asks for at most what is left. */
  budget: ReadBudget;
  /** The lease of the short-lived network this read runs over, when there is one. */
  lease?: Lease;
}

/** What a source's provisioned step is given: the instance, and what stage init's modules reported. */
export interface ProvisionedRun {
  ctx: Context;
  system: Config;
  cfg: Config;
  instance: Instance;
  /** The problems stage init reported so far (its modules' included). */
  problems: readonly Diag[];
}

export interface Source {
  /** cloud-init's datasource name, as written in datasource_list ('Ec2', 'GCE', …). */
  name: string;
  reach: Reach;
  /**
   * For a 'link-local' source: what init-local brings up on the NIC before
   * asking it (src/net/ephemeral.ts): a DHCPv4 lease (the default), a DHCPv6
   * one, or a random 169.254.x.y/16 address where that is the cloud's rule
   * (DigitalOcean's metadata answers on the link, no DHCP needed).
   */
  ephemeral?: 'dhcp4' | 'dhcp6' | 'link-local4';
  /**
   * Local facts say this machine can be on the platform (DMI, kernel command
   * line, files). False: the source is not asked at all, so a machine on
   * another cloud sends no request. Sources with nothing to detect (NoCloud)
   * return true.
   */
  detect(platform: Platform): boolean;
  /** What it says when detect() is false, for the log ("DMI does not say Google"). */
  notDetected?: string;
  read(run: SourceRun): Promise<SourceData | null>;
  /**
   * The platform's own step once the instance is provisioned — at the end of
   * stage init, after its modules made the users, put the ssh keys in place
   * and set passwords and the hostname (Azure's ready report).
   */
  provisioned?(run: ProvisionedRun): Promise<void>;
}

/** `datasource: {<name>: {…}}` of a config, or {}. */
export function dsConfig(system: Config, name: string): Config {
  const ds = system['datasource'];
  const own = isMapping(ds) ? ds[name] : undefined;
  return isMapping(own) ? own : {};
}

/** A number as cloud-init's config gives it: a number, or a string of one ("10", as cloud-init's int() reads). */
function numberOf(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return null;
}

/** Seconds as cloud-init's config gives them → milliseconds, with a default (negative or not a number: the default). */
export function seconds(value: unknown, fallbackSeconds: number): number {
  const n = numberOf(value);
  return n !== null && n >= 0 ? n * 1000 : fallbackSeconds * 1000;
}

/** A count (retries) from config: a non-negative integer, else the default. */
export function count(value: unknown, fallback: number): number {
  const n = numberOf(value);
  return n !== null && n >= 0 ? Math.floor(n) : fallback;
}

/** A list of URLs from config (`metadata_urls`), or a single one (`metadata_url`), else the defaults. */
export function urls(cfg: Config, defaults: string[]): string[] {
  const list = cfg['metadata_urls'];
  if (Array.isArray(list) && list.length > 0 && list.every((u) => typeof u === 'string')) return list as string[];
  const one = cfg['metadata_url'];
  if (typeof one === 'string' && one !== '') return [one];
  return defaults;
}

/** A metadata answer that must be a JSON object; the error names where it came from. */
export function jsonObject(body: Uint8Array, where: string): Record<string, unknown> {
  let v: unknown;
  try { v = JSON.parse(sys.utf8Decode(body)); } catch (e) { throw new Error(`${where}: not valid JSON: ${(e as Error).message}`); }
  if (!isMapping(v)) throw new Error(`${where}: not a JSON object`);
  return v;
}

/** A non-empty string, else undefined (metadata values that may be absent, null or of another type). */
export function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** `allow_*` flags as cloud-init reads them: true/false, or the default. */
export function flag(v: unknown, fallback: boolean): boolean {
  return typeof v === 'boolean' ? v : fallback;
}
