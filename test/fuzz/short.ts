// The short fuzz run's size (npm test's test/integration/fuzz.test.ts); npm
// run fuzz multiplies it. Cases per property: a network config is three
// files read by four parsers, a hostname or an fstab a file read by one; a
// reader case is ten texts (five PyYAML styles, each also spoiled).
export const SHORT_RUNS = { network: 25, hosts: 100, fstab: 100, yaml: 300, yamlReader: 200 };
/** The short run's fixed seed: the same cases every time, so a failure in CI reproduces. */
export const SHORT_SEED = 19;
