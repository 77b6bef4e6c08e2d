// The fuzz harness (test/fuzz/), short: a fixed seed and a fixed number of
// generated network configs (v1, v2, network_data.json), hostnames, mounts
// entries and YAML values, each either refused by name or written so that
// the real parser (ifquery, systemd-networkd, netplan generate, PyYAML,
// getent, findmnt, src/yaml) reads exactly one entry per input entry with
// the values given; and PyYAML's texts of YAML values, which src/yaml must
// read (or refuse) as PyYAML does. The long run: npm run fuzz.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fuzzFstab, fuzzHosts, fuzzNetwork, fuzzYaml, fuzzYamlReader, type Outcome } from '../fuzz/properties.ts';
import { SHORT_RUNS, SHORT_SEED } from '../fuzz/short.ts';
import { cannotParse } from '../helpers/real-parsers.ts';

const skip = cannotParse() ?? false;

function holds(o: Outcome): void {
  // Both sides must be reached: a generator that only makes refused (or only good) input tests little.
  assert.ok(o.refused > 0 && o.written > 0, `${o.name}: ${o.written} written, ${o.refused} refused`);
  assert.deepEqual(o.failures, [], `${o.name}: ${o.failures.length} failure(s), seed ${SHORT_SEED}`);
}

describe(`fuzz, short (seed ${SHORT_SEED}; npm run fuzz for the long run)`, { skip }, () => {
  test(`${SHORT_RUNS.network} network configs → ifupdown, networkd, netplan`, async () => holds(await fuzzNetwork(SHORT_RUNS.network, SHORT_SEED)));
  test(`${SHORT_RUNS.hosts} hostname/fqdn pairs → /etc/hosts, /etc/hostname`, () => holds(fuzzHosts(SHORT_RUNS.hosts, SHORT_SEED)));
  test(`${SHORT_RUNS.fstab} mounts lists → /etc/fstab`, () => holds(fuzzFstab(SHORT_RUNS.fstab, SHORT_SEED)));
  test(`${SHORT_RUNS.yaml} values → the YAML writer → src/yaml, PyYAML`, () => holds(fuzzYaml(SHORT_RUNS.yaml, SHORT_SEED)));
  test(`${SHORT_RUNS.yamlReader} values as PyYAML writes them (5 styles, each also spoiled) → src/yaml reads what PyYAML reads`, () => holds(fuzzYamlReader(SHORT_RUNS.yamlReader, SHORT_SEED)));
});
