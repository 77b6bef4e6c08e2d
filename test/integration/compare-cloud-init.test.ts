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
// look with EC2_INIT_COMPARE_KEEP=1; run only some seeds with
// EC2_INIT_COMPARE_SEEDS=id,id (the ids in seeds.ts). A seed may bring
// services (the ssh-import-id seed: GitHub and Launchpad over TLS, reached
// on the sandbox's loopback; test/helpers/compare/key-services.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { compareAccounts } from '../helpers/compare/accounts.ts';
import { allowed } from '../helpers/compare/allowlist.ts';
import { compareSnapshots, lineDiff, type Difference } from '../helpers/compare/diff.ts';
import { reference, type Reference } from '../helpers/compare/image.ts';
import { SUITE, type Suite } from '../../bench/chroot.ts';
import { NEW_INSTANCE, runAgent, type AgentRun } from '../helpers/compare/run.ts';
import { SEEDS as ALL_SEEDS } from '../helpers/compare/seeds.ts';
import type { Snapshot } from '../helpers/compare/snapshot.ts';
import { hasCommand, unavailable } from '../helpers/needs.ts';

const only = process.env['EC2_INIT_COMPARE_SEEDS']?.split(',').filter(Boolean);
const unknown = (only ?? []).filter((id) => !ALL_SEEDS.some((s) => s.id === id));
if (unknown.length) throw new Error(`EC2_INIT_COMPARE_SEEDS names no seed ${unknown.join(', ')} (seeds.ts: ${ALL_SEEDS.map((s) => s.id).join(', ')})`);
const SEEDS = only ? ALL_SEEDS.filter((s) => only.includes(s.id)) : ALL_SEEDS;

// One image per suite the seeds name (bookworm's cloud-init 22.4 unless a seed asks for trixie's 25.1).
const suites = [...new Set(SEEDS.map((s) => s.suite ?? SUITE))];
const refs = new Map<Suite, Reference | string>();
for (const suite of suites) refs.set(suite, await reference(suite));
// A seed's services (key-services.ts) need openssl for their CA and socat in the sandbox.
const serviceTools = SEEDS.some((s) => s.services) ? ['openssl', 'socat'].filter((c) => !hasCommand(c)) : [];
const missing = [...refs.values()].find((r): r is string => typeof r === 'string')
  ?? (serviceTools.length ? `${serviceTools.join(' and ')} missing (the ssh-import-id seed's TLS stand-ins): apt-get install -y ${serviceTools.join(' ')}` : undefined);
const skip = missing !== undefined ? unavailable(missing) : undefined;
if (skip) console.error(`compare-cloud-init: skipped: ${skip}`);
const refOf = (seed: { suite?: Suite }) => refs.get(seed.suite ?? SUITE) as Reference;

/** The text between -----BEGIN NAME----- and -----END NAME----- in a boot's output, keys and hostnames made comparable. */
function consoleBlock(output: string, name: string): string | null {
  const m = new RegExp(`-----BEGIN ${name}-----\\n[^]*?-----END ${name}-----\\n`).exec(output);
  return m ? m[0].replace(/AAAA[A-Za-z0-9+/=]{20,}/g, '<key>').replace(/root@\S+/g, 'root@<host>') : null;
}

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
  if (skip) return;
  for (const ref of refs.values()) {
    if (typeof ref !== 'string' && ref.built) console.error(`compare-cloud-init: built the ${ref.suite} image in ${(ref.buildMs / 1000).toFixed(0)} s`);
  }

  // Every seed on both agents at once: each run is its own copy in its own namespaces.
  const runs = new Map<string, { ci: AgentRun; ec2: AgentRun }>();
  before(async () => {
    const t0 = performance.now();
    await Promise.all(SEEDS.map(async (seed) => {
      const ref = refOf(seed);
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
  after(() => { for (const seed of SEEDS) seed.services?.close(); });

  for (const seed of SEEDS) {
    const ref = refOf(seed);
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
          for (const [path, text] of seed.contains ?? []) {
            assert.ok(r.first.get(path)?.content?.toString('utf8').includes(text), `${r.agent}: ${path} does not hold ${text}`);
          }
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

      // h24-mods-a: console blocks (keys_to_console): the same block on both, with each agent's own keys in it.
      for (const name of seed.consoleBlocks ?? []) {
        test(`first boot: the console's ${name} block is cloud-init's`, () => {
          const { ci, ec2 } = runs.get(seed.id)!;
          const [a, b] = [ci, ec2].map((r) => consoleBlock(r.boots[0]!.output, name));
          assert.ok(a !== null, `cloud-init printed no ${name} block:\n${ci.boots[0]!.output.slice(-2000)}`);
          assert.equal(b, a);
          for (const r of [ci, ec2]) {
            const printed = /-----BEGIN [^]*?-----END/.exec(r.boots[0]!.output.slice(r.boots[0]!.output.indexOf(`-----BEGIN ${name}-----`)))![0];
            for (const key of printed.match(/AAAA[A-Za-z0-9+/=]{20,}/g) ?? []) {
              assert.ok([...r.first.values()].some((e) => e.content?.toString().includes(key)), `${r.agent} printed a key that is not one of its host keys`);
            }
          }
        });
      }

      // A module's effect on the kernel (disable_ec2_metadata's route): each boot's namespace starts with no route.
      if (seed.routes) {
        test('after each boot: the same routes (ip route show table all)', () => {
          const { ci, ec2 } = runs.get(seed.id)!;
          assert.match(ci.routes[0] ?? '', /\S/, 'cloud-init added no route: nothing to compare');
          assert.deepEqual(ec2.routes, ci.routes);
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
