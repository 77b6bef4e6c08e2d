// The shape of a datasource: what it needs to be reached, how local facts
// say its platform could be this machine, and one read. Each source is one
// file exporting one Source; src/sources/search.ts lists them in the order
// cloud-init's default datasource_list does and walks `datasource_list`.
import type { Context } from '../context.ts';
import type { Logger } from '../log.ts';
import type { Lease } from '../net/ephemeral-dhcp.ts';
import type { Instance } from '../state/instance.ts';
import type { Diag, SourceData } from '../types.ts';
import type { Config } from '../config/merge.ts';
import { utf8Decode } from '../host/codecs.ts';
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

/**
 * What init-local brings up on the fallback NIC to reach a link-local
 * service (src/net/ephemeral.ts): 'dhcp4' a DHCPv4 lease through the image's
 * client (cloud-init's EphemeralDHCPv4), 'ipv6' the link up, so the kernel's
 * IPv6 link-local address and router advertisements (cloud-init's
 * EphemeralIPv6Network), 'link-local4' a random 169.254.0.0/16 address
 * (DigitalOcean's rule). Several: each is tried, and one that comes up is enough.
 */
export type EphemeralKind = 'dhcp4' | 'ipv6' | 'link-local4';

/**
 * Where a search runs (search.ts): 'local' is init-local (files, and
 * link-local services over the ephemeral network), 'files' init's first pass
 * (a seed that appeared after init-local), 'network' init's second (network
 * services, and link-local ones again, now that networking is up).
 */
export type SearchStage = 'local' | 'files' | 'network';

/** The DHCP lease of init-local's ephemeral network (src/net/ephemeral-dhcp.ts: every client's read into this one shape). */
export type { Lease };

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
   * init-local only (not plan): the service did not answer within the
   * source's own max_wait; stage init of this boot then does not ask it
   * again (unanswered.ts). Not to be called when the search's deadline, not
   * max_wait, cut the wait short.
   */
  gaveUp?: (why: string) => void;
  /**
   * The only source in datasource_list: asked even where detect() says no
   * (unless the source sets detectWhenForced), as cloud-init's ds-identify
   * does for a single configured datasource.
   */
  forced: boolean;
  /** Which pass of the search asks (a link-local source in 'local' is behind the ephemeral network, if one was made). */
  stage: SearchStage;
  /**
   * The ephemeral network's DHCP lease in init-local (its interface, the
   * router, the server, and every option as the client named it: Azure's
   * unknown-245, CloudStack's dhcp-server-identifier); absent when the read
   * runs over a network that was there (or after networking, in init).
   */
  lease?: Lease;
  /** What this read may take in all (budget.ts): each reader asks for at most what is left. */
  budget: ReadBudget;
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
   * Local facts say this machine can be on the platform (DMI, kernel command
   * line, files). False: the source is not asked at all, so a machine on
   * another cloud sends no request. Sources with nothing to detect (NoCloud)
   * return true.
   */
  detect(platform: Platform): boolean;
  /** What it says when detect() is false, for the log ("DMI does not say Google"). */
  notDetected?: string;
  /**
   * detect() holds even for a forced source (the only one in datasource_list,
   * or strict_id: false): a machine of another cloud gets no request. The
   * search applies it; sources leave it out where forcing is how an image
   * says "this is my cloud" whatever DMI shows (Ec2 on EC2-compatible clouds).
   */
  detectWhenForced?: boolean;
  /**
   * reach 'link-local': what init-local brings up on the NIC before asking it
   * (src/net/ephemeral.ts), one kind or several in the order tried; default
   * 'dhcp4'. DigitalOcean's 'link-local4' (its service answers on the link,
   * no DHCP), EC2's ['dhcp4', 'ipv6'].
   */
  ephemeral?: EphemeralKind | readonly EphemeralKind[];
  /**
   * reach 'link-local': URLs that, when one already answers, make the
   * ephemeral network unnecessary (cloud-init's connectivity check); none: no check.
   */
  connectivityUrls?(cfg: Config): string[];
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
  try { v = JSON.parse(utf8Decode(body)); } catch (e) { throw new Error(`${where}: not valid JSON: ${(e as Error).message}`); }
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
