// ec2-init against cloud-init itself (issue 5, "Compare with cloud-init
// itself"): the same seeds on two fresh copies of the same Debian bookworm
// image with Debian's cloud-init installed (never on this host). On one copy
// cloud-init's four stages run chrooted, as its systemd units run them; on
// the other `dist/ec2-init --root COPY boot`. Both read the image's own
// /etc/cloud/cloud.cfg (default user 'debian') plus one file that limits
// cloud-init to the modules ec2-init implements. Each copy boots twice (the
// second is a reboot of the same instance), some seeds a third time as a new
// instance-id. Then what each boot left — files, directories, links,
// deletions; modes, owners, contents; users, groups, shadow, sudoers,
// authorized keys — must be the same, except for the differences kept on
// purpose in test/helpers/compare/allowlist.ts (the comparison itself is
// checked in test/unit/compare-cloud-init.test.ts).
//
// Needs root, unshare and overlayfs; the cached image (built once by
// debootstrap from the Debian mirror into /var/cache/ec2-init-bench/).
// Without CI skipped, with the reason, when any of it is missing; under CI
// that is a failure (test/helpers/needs.ts). Keep the copies for a
// look with EC2_INIT_COMPARE_KEEP=1.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { compareAccounts } from '../helpers/compare/accounts.ts';
import { allowed } from '../helpers/compare/allowlist.ts';
import { compareSnapshots, lineDiff, type Difference } from '../helpers/compare/diff.ts';
import { reference } from '../helpers/compare/image.ts';
import { NEW_INSTANCE, runAgent, type AgentRun } from '../helpers/compare/run.ts';
import { SEEDS } from '../helpers/compare/seeds.ts';
import type { Snapshot } from '../helpers/compare/snapshot.ts';
import { unavailable } from '../helpers/needs.ts';

const ref = await reference();
const skip = typeof ref === 'string' ? unavailable(ref) : undefined;
if (skip) console.error(`compare-cloud-init: skipped: ${skip}`);

function explain(diffs: Difference[], ci: Snapshot, ec2: Snapshot, runs: AgentRun[]): string {
  const logs = runs.filter((r) => r.problems.length).map((r) => `${r.agent} warned:\n${r.problems.slice(-15).map((l) => `  ${l}`).join('\n')}`);
  return diffs.map((d) => {
    const a = ci.get(d.path)?.content;
    const b = ec2.get(d.path)?.content;
    const detail = d.aspect === 'content' && a && b ? `\n${lineDiff(d.path, a, b)}` : `: cloud-init ${JSON.stringify(d.cloudInit)}, ec2-init ${JSON.stringify(d.ec2Init)}`;
    return `- ${d.boot} boot, ${d.path} (${d.aspect})${detail}`;
  }).concat(logs).join('\n');
}

describe('ec2-init gives the result cloud-init gives', { skip }, () => {
  if (typeof ref === 'string') return;
  if (ref.built) console.error(`compare-cloud-init: built the image in ${(ref.buildMs / 1000).toFixed(0)} s`);

  // Every seed on both agents at once: each run is its own copy in its own namespaces.
  const runs = new Map<string, { ci: AgentRun; ec2: AgentRun }>();
  before(async () => {
    const t0 = performance.now();
    await Promise.all(SEEDS.map(async (seed) => {
      const [ci, ec2] = await Promise.all([
        runAgent('cloud-init', ref.root, seed, ref.modules.lists),
        runAgent('ec2-init', ref.root, seed, ref.modules.lists),
      ]);
      runs.set(seed.id, { ci, ec2 });
      const ms = (r: AgentRun) => r.boots.map((b) => `${(b.ms / 1000).toFixed(1)} s`).join(' + ');
      console.error(`compare-cloud-init: ${seed.id}: cloud-init ${ref.cloudInitVersion} ${ms(ci)}; ec2-init ${ms(ec2)} (${ci.boots.length} boots each)`);
    }));
    console.error(`compare-cloud-init: all seeds booted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  for (const seed of SEEDS) {
    describe(`seed: ${seed.id}`, () => {
      test(`both agents boot ${seed.newInstance ? 'three times' : 'twice'} without errors`, () => {
        const { ci, ec2 } = runs.get(seed.id)!;
        // The reference first: a cloud-init that failed proves nothing.
        for (const [i, b] of ci.boots.entries()) {
          for (const c of b.codes) assert.equal(c.code, 0, `cloud-init boot ${i + 1}: ${c.command} exited ${c.code}\n${b.output.slice(-3000)}`);
        }
        // 0 done, 2 degraded (warnings): both leave the same result; 1 is an error.
        for (const [i, b] of ec2.boots.entries()) {
          for (const c of b.codes) assert.ok(c.code === 0 || c.code === 2, `ec2-init boot ${i + 1}: ${c.command} exited ${c.code}\n${b.output.slice(-3000)}`);
        }
      });

      test("the seed's effects are there, on both sides (equal results are not equal failures)", () => {
        const { ci, ec2 } = runs.get(seed.id)!;
        for (const r of [ci, ec2]) {
          const missing = seed.effects.filter((p) => !r.first.has(p));
          assert.deepEqual(missing, [], `${r.agent}: the first boot did not create or change ${missing.join(', ')}`);
        }
      });

      const what = { first: 'first boot', second: 'second boot (a reboot)', third: `third boot (a new instance, ${NEW_INSTANCE})` } as const;
      for (const boot of seed.newInstance ? ['first', 'second', 'third'] as const : ['first', 'second'] as const) {
        test(`${what[boot]}: the same files, directories and links, with the same modes, owners and contents`, (t) => {
          const { ci, ec2 } = runs.get(seed.id)!;
          const [a, b] = [ci[boot]!, ec2[boot]!];
          const diffs = compareSnapshots(boot, a, b, ref.root);
          const ok = (d: Difference) => allowed(seed.id, d, { ci: a, ec2: b, ciAfter: ci.after[boot]!, ec2After: ec2.after[boot]! });
          for (const d of diffs.filter(ok)) t.diagnostic(`kept on purpose: ${d.path} (${d.aspect}): ${ok(d)!.reason}`);
          const left = diffs.filter((d) => !ok(d));
          assert.equal(left.length, 0, `ec2-init's ${what[boot]} differs from cloud-init's:\n${explain(left, a, b, [ci, ec2])}`);
        });
      }

      test('users and groups: passwd, group, shadow, gshadow entry by entry', () => {
        const { ci, ec2 } = runs.get(seed.id)!;
        const diffs = compareAccounts(ci.accounts[0], ec2.accounts[0]);
        assert.equal(diffs.length, 0, diffs.map((d) => `- ${d.what}: cloud-init ${JSON.stringify(d.cloudInit)}, ec2-init ${JSON.stringify(d.ec2Init)}`).join('\n'));
        // A reboot of the same instance changes no account, on either side.
        for (const r of [ci, ec2]) {
          for (const [path, after] of r.accounts[1]) {
            assert.deepEqual(after, r.accounts[0].get(path), `${r.agent}: ${path} changed on the second boot`);
          }
        }
      });
    });
  }
});
