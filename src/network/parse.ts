// Network config in, the one model out: YAML or JSON text (NoCloud's
// network-config, the kernel's network-config=, network_data.json) or an
// already parsed mapping (system config's `network:`). v1 and v2, with or
// without the `network:` wrapper. Problems name the entry, and the line and
// column when the input was YAML text.
import { Checker, oneLine, type Locate } from './check.ts';
import type { NetworkConfig, Problem } from './model.ts';
import { convertNetworkData } from './network-data.ts';
import { nicsByMac, type Nic } from './sysfs.ts';
import { parseV1 } from './v1.ts';
import { parseV2 } from './v2.ts';
import { isMapping, parseYamlWithPositions, YamlError } from '../yaml/index.ts';

export type NetworkInput =
  | { format: 'yaml'; text: string; where: string }
  | { format: 'network_data'; text: string; where: string }
  | { format: 'value'; value: unknown; where: string };

export interface Parsed {
  /** null: nothing renderable (see problems), or disabled. */
  config: NetworkConfig | null;
  /** `config: disabled` in the input itself. */
  disabled: boolean;
  problems: Problem[];
}

const none = (problems: Problem[]): Parsed => ({ config: null, disabled: false, problems });

export function parseNetworkConfig(input: NetworkInput, nics: Nic[]): Parsed {
  if (input.format === 'network_data') {
    let json: unknown;
    try { json = JSON.parse(input.text); } catch (e) {
      return none([{ level: 'error', message: `${input.where}: not valid JSON: ${(e as Error).message}` }]);
    }
    const conv = convertNetworkData(json, input.where, nicsByMac(nics));
    const ck = new Checker(input.where, () => null);
    const v1 = parseV1(conv.v1, ck, conv.labels);
    return {
      config: { origin: `${input.where} (OpenStack network_data.json)`, version: 1, interfaces: v1.interfaces, dns: v1.dns, raw: conv.v1 },
      disabled: false,
      problems: [...conv.problems.map((x) => ({ ...x, message: oneLine(x.message) })), ...ck.problems],
    };
  }
  let value: unknown;
  let locate: Locate = () => null;
  if (input.format === 'yaml') {
    try {
      const located = parseYamlWithPositions(input.text);
      value = located.value;
      locate = (path, onKey) => located.locate(path, onKey);
    } catch (e) {
      const why = e instanceof YamlError ? `line ${e.line}, column ${e.column}: ${e.reason}` : (e as Error).message;
      return none([{ level: 'error', message: `${input.where}: invalid YAML at ${why}` }]);
    }
  } else value = input.value;
  if (value === null || value === undefined || (isMapping(value) && Object.keys(value).length === 0)) {
    return none([{ level: 'warning', message: `${input.where}: empty; no network config in it` }]);
  }
  if (!isMapping(value)) return none([{ level: 'error', message: `${input.where}: expected a mapping (version: 1 or 2), found ${Array.isArray(value) ? 'a list' : typeof value}` }]);
  // Both `network: {version: 2, …}` and `{version: 2, …}` are accepted, as cloud-init accepts them.
  const wrapped = isMapping(value['network']) && value['version'] === undefined;
  const net = wrapped ? value['network'] as Record<string, unknown> : value;
  const inner: Locate = wrapped ? (path, onKey) => locate(['network', ...path], onKey) : locate;
  if (net['config'] === 'disabled') return { config: null, disabled: true, problems: [] };
  const ck = new Checker(input.where, inner);
  const version = net['version'];
  if (version === 1) {
    const v1 = parseV1(net, ck);
    return { config: { origin: `${input.where} (v1)`, version: 1, interfaces: v1.interfaces, dns: v1.dns, raw: net }, disabled: false, problems: ck.problems };
  }
  if (version === 2) {
    const v2 = parseV2(net, ck, nics);
    return {
      config: { origin: `${input.where} (v2)`, version: 2, interfaces: v2.interfaces, dns: { nameservers: [], search: [] }, v2: v2.netplan, raw: net },
      disabled: false,
      problems: ck.problems,
    };
  }
  ck.error(version === undefined ? [] : ['version'], version === undefined
    ? 'no version: a network config says version: 1 or version: 2'
    : `version ${JSON.stringify(version)} is not one ec2-init reads (1 or 2)`, version !== undefined);
  return none(ck.problems);
}
