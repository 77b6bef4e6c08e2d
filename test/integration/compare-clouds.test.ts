// ec2-init against Debian's cloud-init on a cloud's own datasource (GCE,
// Hetzner, Oracle, DigitalOcean, Vultr): the same metadata simulator serves
// both on 169.254.169.254:80 inside the sandbox's network namespace, with the
// cloud's DMI and NICs in a faked /sys (test/helpers/compare/clouds.ts).
// Checked, against cloud-init 25.1 (Debian 13, the reference) and 22.4
// (Debian 12): cloud-init boots from the simulator (which is the simulator's
// validation: its paths, headers and shapes are what cloud-init reads), both
// agents ask the same paths with the same identifying headers, apply the
// user-data, set the same hostname and keys, give the same cloud-id and
// instance-data v1 keys, and leave the same files — except the differences
// below, each with its reason, and test/helpers/compare/allowlist.ts's.
//
// Both releases have all five datasources and read them alike here (the
// requests, the v1 keys, the files: one table for both); where 22.4's result
// differs from 25.1's, the difference is allowed for 22.4 only and named.
// What neither reads (Hetzner's private networks, cloud-init 25.2+) is left
// out of the simulator here and tested against ec2-init alone
// (test/integration/sources-hetzner.test.ts).
//
// Needs root, unshare, overlayfs, iproute2's ip and the cached images
// (bench/chroot.ts builds them once from the Debian mirror; skipped with the
// reason without CI, a failure under CI). Every cloud and both agents boot at
// once, one release after the other: about a minute and a half each on two
// cores. EC2_INIT_COMPARE_SUITES=trixie runs one release only.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { SUITES, type Suite } from '../../bench/chroot.ts';
import { allowed } from '../helpers/compare/allowlist.ts';
import { CLOUD_SCENARIOS, runCloud, v1Differences, type CloudRun, type CloudScenario } from '../helpers/compare/clouds.ts';
import { compareSnapshots, lineDiff, type Difference } from '../helpers/compare/diff.ts';
import { reference } from '../helpers/compare/image.ts';
import { hasCommand, unavailable } from '../helpers/needs.ts';

const wanted = (process.env['EC2_INIT_COMPARE_SUITES'] ?? SUITES.join(',')).split(',').filter((s): s is Suite => (SUITES as string[]).includes(s));

/**
 * What each agent asks beyond what the other does, and why (the same for
 * cloud-init 22.4 and 25.1). cloud-init reads these clouds in init-local
 * over a short-lived network: it first asks a connectivity URL, which here
 * answers (the namespace has a route to the address), so it brings nothing
 * up. GCE's has no such check: its DHCP on the NIC fails in the sandbox (the
 * NIC is sysfs files only), and cloud-init reads the service in stage init,
 * as ec2-init does. DigitalOcean's link-local address is off (use_ip4LL:
 * false): cloud-init would put it on the NIC.
 */
const OWN_REQUESTS: Record<string, { ci: string[]; ec2: string[]; why: string; ciMaybe?: string[] }> = {
  gce: { ci: [], ec2: [], why: '' },
  hetzner: {
    ci: ['/hetzner/v1/metadata/instance-id'],
    ec2: ['/hetzner/v1/metadata/private-networks'],
    why: "cloud-init first checks it can reach the service (its short-lived network's connectivity check); "
      + 'ec2-init asks for the private networks, which cloud-init reads from 25.2 on (the simulator offers none here)',
  },
  oracle: {
    ci: ['/opc/v2/instance/'],
    // 25.1's check asks v2, then v1 150 ms later when v2 has not answered yet (happy eyeballs): under load it does.
    ciMaybe: ['/opc/v1/instance/'],
    ec2: [],
    why: "cloud-init first checks it can reach the service (its short-lived network's connectivity check, on the same URL; "
      + "25.1's also on /opc/v1/instance/ when v2 is slower than 150 ms)",
  },
  digitalocean: { ci: [], ec2: [], why: '' },
  vultr: { ci: ['/'], ec2: [], why: "cloud-init first checks it can reach the service (its short-lived network's connectivity check, without Vultr's headers)" },
};

/** The request headers a service reads to know who asks (GCE's, Oracle's v2, Vultr's): both agents must send the same. */
const IDENTIFYING = ['metadata-flavor', 'authorization', 'metadata-token'];

/** An ifupdown file as what it configures: its stanzas (comments and nameserver lines left out), in any order, and its resolvers. */
function eniMeaning(text: string): { stanzas: string[]; dns: string[] } {
  const lines = text.split('\n').filter((l) => !l.startsWith('#'));
  const dns = lines.filter((l) => /^\s*dns-nameservers /.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  const stanzas = lines.filter((l) => !/^\s*dns-nameservers /.test(l)).join('\n').split(/\n\s*\n/).map((b) => b.trim()).filter(Boolean).sort();
  return { stanzas, dns: [...new Set(dns)].sort() };
}

/** Differences in what the boots left that are kept on purpose here (network files; the rest is allowlist.ts's). */
function cloudAllowed(d: Difference, ci: CloudRun, ec2: CloudRun, suite: Suite): string | undefined {
  if (d.aspect !== 'content') return undefined;
  const [a, b] = [ci.changed.get(d.path)?.content?.toString('utf8'), ec2.changed.get(d.path)?.content?.toString('utf8')];
  if (a === undefined || b === undefined) return undefined;
  const body = (t: string) => t.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  if (d.path === '/etc/udev/rules.d/70-persistent-net.rules' && body(a) === body(b)) {
    return 'the header comment names the agent that wrote the file; the rules are the same';
  }
  if (d.path !== '/etc/network/interfaces.d/50-cloud-init') return undefined;
  const [ma, mb] = [eniMeaning(a), eniMeaning(b)];
  const same = (x: string[], y: string[]) => JSON.stringify(x) === JSON.stringify(y);
  if (same(ma.stanzas, mb.stanzas) && same(ma.dns, mb.dns)) {
    return "the same stanzas and resolvers; the header comment names the agent, and ec2-init orders an interface's stanzas "
      + 'by family and writes its nameservers on its first stanza (cloud-init: in subnet order, on each stanza, global ones on lo only): '
      + 'ifupdown brings up the same addresses, resolvconf gathers the same resolvers';
  }
  const v6Fallback = /^iface \S+ inet6 dhcp$/;
  if (suite === 'bookworm' && same(ma.dns, mb.dns) && same(ma.stanzas, mb.stanzas.filter((st) => !v6Fallback.test(st)))) {
    return "the fallback (DHCP on the NIC: GCE gives no network config) asks DHCPv6 too, as cloud-init's does since 23.x "
      + "(22.4's asked DHCPv4 only; 25.1 is the reference); the header comment names the agent";
  }
  return undefined;
}

/** What ec2-init does not do alike yet, found by this comparison: the test is a todo with the reason until it is fixed. */
const KNOWN_GAPS: Record<string, string> = {};

/** The lines of a file of the boot, or null when it made none. */
function lines(r: CloudRun, path: string): string[] | null {
  const c = r.changed.get(path)?.content;
  return c ? c.toString('utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')) : null;
}

function compare(suite: Suite, s: CloudScenario, runs: Map<string, { ci: CloudRun; ec2: CloudRun }>, ref: { root: string }): void {
  test('cloud-init boots from the simulator (the simulator\'s validation), and so does ec2-init', () => {
    const { ci, ec2 } = runs.get(s.id)!;
    for (const c of ci.boot.codes) assert.equal(c.code, 0, `cloud-init: ${c.command} exited ${c.code}\n${ci.boot.output.slice(-3000)}`);
    for (const c of ec2.boot.codes) assert.equal(c.code, 0, `ec2-init: ${c.command} exited ${c.code}\n${ec2.boot.output.slice(-3000)}`);
    for (const r of [ci, ec2]) {
      const v1 = (r.instanceData?.['v1'] ?? {}) as Record<string, unknown>;
      assert.equal(v1['cloud_name'], s.id, `${r.agent} did not take its instance from the ${s.datasource} simulator:\n${r.problems.slice(-10).join('\n')}`);
      const refused = r.requests.filter((q) => q.status !== 200 && q.status !== 204);
      assert.deepEqual(refused, [], `${r.agent} got answers other than 200/204`);
      const missing = s.effects.filter((p) => !r.changed.has(p));
      assert.deepEqual(missing, [], `${r.agent}: the boot did not create ${missing.join(', ')}`);
    }
  });

  test('the same requests, with the same identifying headers (the differences named, with their reason)', () => {
    const { ci, ec2 } = runs.get(s.id)!;
    const own = OWN_REQUESTS[s.id]!;
    // The requests less the first one of each path in `drop`: what one agent sends beyond the other's.
    const common = (r: CloudRun, drop: string[]) => {
      const left = [...drop];
      return r.requests.filter((q) => { const i = left.indexOf(q.path); if (i < 0) return true; left.splice(i, 1); return false; });
    };
    let a = common(ci, own.ci);
    for (const p of own.ciMaybe ?? []) if (a.some((q) => q.path === p) && !ec2.requests.some((q) => q.path === p)) a = common({ ...ci, requests: a }, [p]);
    const b = common(ec2, own.ec2);
    assert.deepEqual(b.map((q) => q.path), a.map((q) => q.path), own.why);
    const heads = (qs: CloudRun['requests']) => qs.map((q) => `${q.path} ${IDENTIFYING.map((h) => `${h}=${q.headers[h] ?? '-'}`).join(' ')}`);
    assert.deepEqual(heads(b), heads(a));
  });

  test('user-data applied, the same hostname, keys and cloud-id', (t) => {
    const { ci, ec2 } = runs.get(s.id)!;
    for (const path of ['/etc/compare-cloud.conf', '/var/tmp/compare-runcmd']) {
      assert.deepEqual(lines(ec2, path), lines(ci, path), path);
      assert.ok(lines(ci, path)?.length, `${path}: the user-data's write_files/runcmd did not run`);
    }
    const hostname = lines(ci, '/etc/hostname');
    assert.deepEqual(lines(ec2, '/etc/hostname'), hostname);
    const keys = lines(ci, '/home/debian/.ssh/authorized_keys');
    assert.deepEqual(lines(ec2, '/home/debian/.ssh/authorized_keys')?.sort(), keys?.sort());
    const v1 = (r: CloudRun) => (r.instanceData?.['v1'] ?? {}) as Record<string, unknown>;
    assert.equal(v1(ec2)['cloud_id'], v1(ci)['cloud_id']);
    t.diagnostic(`both: hostname ${hostname?.join(' ')}, ${keys?.length ?? 0} key(s) for debian, cloud-id ${String(v1(ci)['cloud_id'])}`);
  });

  test('the same instance-data v1 keys', () => {
    const { ci, ec2 } = runs.get(s.id)!;
    assert.deepEqual(v1Differences(ci.instanceData, ec2.instanceData), []);
  });

  test('the same files, with the same modes, owners and contents', { todo: KNOWN_GAPS[s.id] }, (t) => {
    const { ci, ec2 } = runs.get(s.id)!;
    const diffs = compareSnapshots('first', ci.changed, ec2.changed, ref.root);
    const left: Difference[] = [];
    for (const d of diffs) {
      const sides = { ci: ci.changed, ec2: ec2.changed, ciAfter: ci.changed, ec2After: ec2.changed };
      const why = allowed('cloud', d, sides)?.reason ?? cloudAllowed(d, ci, ec2, suite);
      if (why) t.diagnostic(`kept on purpose: ${d.path} (${d.aspect}): ${why}`);
      else left.push(d);
    }
    const explain = left.map((d) => (d.aspect === 'content'
      ? `- ${d.path}:\n${lineDiff(d.path, ci.changed.get(d.path)!.content!, ec2.changed.get(d.path)!.content!)}`
      : `- ${d.path} (${d.aspect}): cloud-init ${d.cloudInit}, ec2-init ${d.ec2Init}`)).join('\n');
    assert.equal(left.length, 0, `ec2-init's boot differs from cloud-init's:\n${explain}`);
  });
}

for (const suite of wanted) {
  const ref = await reference(suite);
  const skip = typeof ref === 'string' ? unavailable(ref) : hasCommand('ip') ? undefined : unavailable('ip is missing (apt-get install -y iproute2)');
  if (skip) console.error(`compare-clouds (${suite}): skipped: ${skip}`);
  describe(`ec2-init and cloud-init (Debian ${suite}) on a cloud's datasource, from the same simulator`, { skip }, () => {
    if (typeof ref === 'string') return;
    const runs = new Map<string, { ci: CloudRun; ec2: CloudRun }>();
    before(async () => {
      const t0 = performance.now();
      await Promise.all(CLOUD_SCENARIOS.map(async (s) => {
        const [ci, ec2] = await Promise.all([runCloud('cloud-init', ref.root, s, ref.modules.lists), runCloud('ec2-init', ref.root, s, ref.modules.lists)]);
        runs.set(s.id, { ci, ec2 });
        console.error(`compare-clouds: ${s.id}: cloud-init ${ref.cloudInitVersion} ${(ci.boot.ms / 1000).toFixed(1)} s; ec2-init ${(ec2.boot.ms / 1000).toFixed(1)} s`);
      }));
      console.error(`compare-clouds: ${suite}: all booted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    });
    for (const s of CLOUD_SCENARIOS) describe(`${s.datasource} (cloud-init ${ref.cloudInitVersion})`, () => compare(suite, s, runs, ref));
  });
}
