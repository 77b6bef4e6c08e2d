// npm run fuzz: the fuzz harness's long run (test/fuzz/properties.ts), as
// root on a machine with the real parsers (ifupdown, systemd, netplan.io,
// python3-yaml, util-linux). FUZZ_SEED (default: the time) and FUZZ_SCALE
// (default 20: twenty times the runs of the short run in npm test) choose
// the run; a failure prints its case and the seed that reproduces it, and the
// exit status is 1.
import { fuzzAll } from './properties.ts';
import { SHORT_RUNS } from './short.ts';
import { cannotParse } from '../helpers/real-parsers.ts';

const why = cannotParse();
if (why) { console.error(`fuzz: cannot run the real parsers here: ${why}`); process.exit(2); }
const seed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 2 ** 31);
const scale = Number(process.env['FUZZ_SCALE'] ?? 20);
const runs = Object.fromEntries(Object.entries(SHORT_RUNS).map(([k, v]) => [k, v * scale])) as typeof SHORT_RUNS;
const t0 = performance.now();
const outcomes = await fuzzAll(runs, seed);
let failed = 0;
for (const o of outcomes) {
  console.log(`${o.name}: ${o.cases} cases (${o.written} entries written, ${o.refused} refused by name) in ${(o.ms / 1000).toFixed(1)} s, ${o.failures.length} failure(s)`);
  for (const f of o.failures.slice(0, 10)) console.log(`  ${f}`);
  failed += o.failures.length;
}
console.log(`seed ${seed}, scale ${scale}: ${(performance.now() - t0) / 1000 | 0} s in all${failed ? `; reproduce with FUZZ_SEED=${seed} FUZZ_SCALE=${scale} npm run fuzz` : ''}`);
process.exit(failed ? 1 : 0);
