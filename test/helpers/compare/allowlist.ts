// The differences from Debian's cloud-init (22.4.2, bookworm) that ec2-init
// keeps on purpose, each with its reason. The principle: the same user-data
// works, and gives the same result for users — accounts, groups, sudo rules,
// keys, files with their modes and owners, the commands' effects. A
// difference goes here only when ec2-init's result is the one a user of
// today's cloud-init would get or want; anything else is a bug to fix in
// src/, not a line to add here. Normalizations that make equal things
// compare equal (random host keys, salted hashes, the agent's name in a
// header, cloud-init's random key order) are in diff.ts, with their reasons.
import type { Aspect, Difference } from './diff.ts';
import type { Snapshot } from './snapshot.ts';

export interface Allowed {
  path: RegExp;
  aspect: Aspect;
  /** Which side has the entry when aspect is 'presence'. */
  only?: 'cloud-init' | 'ec2-init';
  /** Only for these seeds (seeds.ts ids); every seed when unset. */
  seeds?: string[];
  /** Only when this holds of what that boot changed (ci, ec2) or of the whole root after it (ciAfter, ec2After). */
  when?(path: string, s: Sides): boolean;
  reason: string;
}

export interface Sides { ci: Snapshot; ec2: Snapshot; ciAfter: Snapshot; ec2After: Snapshot }

export const ALLOWED: Allowed[] = [
  {
    path: /^\/etc\/ssh\/ssh_host_dsa_key(\.pub)?$/,
    aspect: 'presence',
    only: 'cloud-init',
    reason: 'cloud-init 22.4 generates a DSA host key by default (ssh_genkeytypes: rsa, dsa, ecdsa, ed25519); '
      + 'ec2-init generates rsa, ecdsa and ed25519, as cloud-init does since 23.x and as the image itself '
      + 'shipped: OpenSSH has refused DSA by default since 7.0 and removed it in 10.0, so the key only costs '
      + 'boot time (ssh_genkeytypes: [dsa] still asks for one)',
  },
  {
    path: /^\/etc\/hostname$/,
    aspect: 'presence',
    only: 'cloud-init',
    seeds: ['system-config'],
    reason: "with preserve_hostname: true in user-data, cloud-init 22.4 still sets the hostname from the meta-data's "
      + 'local-hostname in its init-local stage (it reads user-data only later, in init, where its set_hostname '
      + 'and update_hostname modules then honour the key); ec2-init honours preserve_hostname from the start: '
      + '/etc/hostname stays as the image has it, which is what the user asked for',
  },
  {
    path: /^\/etc\/ssh\/ssh_host_\w+_key\.pub$/,
    aspect: 'content',
    seeds: ['system-config'],
    when: (path, { ci, ec2 }) => comment(ci, path) !== comment(ec2, path) && stripComment(ci, path) === stripComment(ec2, path),
    reason: "a host key's comment is root@<hostname>: it follows the preserved hostname above (the image's "
      + "/etc/hostname for ec2-init, the meta-data's local-hostname that cloud-init set); ssh never reads it",
  },
  {
    path: /^\/etc\/sudoers\.d\/90-cloud-init-users$/,
    aspect: 'presence',
    only: 'cloud-init',
    // ec2-init left the file alone on this boot, and both files hold the same rules.
    when: (path, { ciAfter, ec2After }) => rules(ciAfter, path) !== '' && rules(ciAfter, path) === rules(ec2After, path),
    reason: 'on a new instance, cloud-init appends every user\'s sudo rules to the file again (users_groups runs '
      + 'again; it skips the existing users but not their rules), so the file grows by one copy of each rule per '
      + 'instance; ec2-init writes a rule that is already there only once: the same rules are in force',
  },
  // Configuration management (issue 24): the differences kept on purpose (README, "Differences from cloud-init").
  {
    path: /^\/etc\/(chef\/validation\.pem|puppet\/csr_attributes\.yaml|salt\/pki\/minion\.pem)$/,
    aspect: 'mode',
    seeds: ['config-management', 'config-management-25'],
    when: (path, { ci, ec2 }) => ci.get(path)?.mode === 0o644 && ec2.get(path)?.mode === 0o600,
    reason: "secrets are 0600: chef's validation key, salt's private key and puppet's CSR attributes (they carry the "
      + 'challenge password); cloud-init writes them 0644',
  },
  {
    path: /^\/etc\/puppet\/puppet\.conf\.old$/,
    aspect: 'content',
    seeds: ['config-management', 'config-management-25'],
    reason: "cloud-init renames puppet.conf to .old once per 'conf' section (here agent, then ca_cert), so its .old is its "
      + "own first rewrite; ec2-init's .old is the file as the package shipped it",
  },
  {
    path: /^\/var\/backups\/chef$|^\/var\/chef(\/(cache|backup))?$/,
    aspect: 'presence',
    seeds: ['config-management'],
    reason: "chef's cache and backup directories are /var/chef/cache and /var/chef/backup since cloud-init 23.1 "
      + '(22.4: /var/cache/chef and /var/backups/chef, which 25.1 migrates)',
  },
  {
    path: /^\/etc\/chef\/client\.rb$/,
    aspect: 'content',
    seeds: ['config-management'],
    when: (path, { ci, ec2 }) => chefPaths(ci, path) === chefPaths(ec2, path),
    reason: 'the same client.rb but for the cache and backup paths of cloud-init 23.1+ (/var/chef/cache, /var/chef/backup; 22.4 '
      + 'names /var/cache/chef and /var/backups/chef)',
  },
  // Not a difference of the agents but of the sandbox, on trixie (systemd installed, not running).
  {
    path: /^\/etc\/systemd\/system\/[\w.-]+\.target\.wants\/[\w@.-]+\.service$|^\/etc\/rc[0-6S]\.d\/[SK]\d\d[\w@.-]+$/,
    aspect: 'presence',
    only: 'ec2-init',
    seeds: ['config-management-25', 'unverified-modules'],
    when: (path, { ec2 }) => enabledUnit(ec2, path),
    reason: 'a service the user-data asks to enable (salt_minion, wireguard) is enabled by ec2-init offline, with '
      + '`systemctl enable` chrooted into the root (the unit\'s wants link, and the rc links systemd-sysv-install adds for '
      + 'its init script); in the sandbox no systemd runs (/run/systemd/system is absent), so cloud-init takes the '
      + 'image for a sysvinit one and its manage_service turns `enable` into `service NAME start` (25.1 '
      + 'cloudinit/distros/__init__.py, manage_service), which enables nothing; on a real boot systemd runs and '
      + "cloud-init's `systemctl enable` makes the same links as ec2-init",
  },
];

// A link `systemctl enable` makes: a wants link to a unit file of the root, or an rc link to an init script.
function enabledUnit(s: Snapshot, path: string): boolean {
  const target = s.get(path)?.target ?? '';
  return path.startsWith('/etc/systemd/') ? /^\/(usr\/)?lib\/systemd\/system\/[\w@.-]+\.service$/.test(target)
    : /^\.\.\/init\.d\/[\w@.-]+$/.test(target);
}

// client.rb with 22.4's paths spelled as 25.1's and the header line left out.
function chefPaths(s: Snapshot, path: string): string {
  return (s.get(path)?.content?.toString('utf8') ?? '').replace(/^# Created by .*\n/, '')
    .replace('"/var/cache/chef"', '"/var/chef/cache"').replace('"/var/backups/chef"', '"/var/chef/backup"');
}

// The distinct rules of a sudoers file, comments left out.
function rules(s: Snapshot, path: string): string {
  const text = s.get(path)?.content?.toString('utf8') ?? '';
  return [...new Set(text.split('\n').filter((l) => l.trim() && !l.startsWith('#')))].sort().join('\n');
}

function pub(s: Snapshot, path: string): string[] {
  return (s.get(path)?.content?.toString('utf8') ?? '').trim().split(/\s+/);
}
const comment = (s: Snapshot, path: string) => pub(s, path).slice(2).join(' ');
const stripComment = (s: Snapshot, path: string) => pub(s, path)[0];

export function allowed(seed: string, d: Difference, sides: Sides): Allowed | undefined {
  const { ci, ec2 } = sides;
  return ALLOWED.find((a) => a.path.test(d.path) && a.aspect === d.aspect && (a.seeds === undefined || a.seeds.includes(seed))
    && (a.only === undefined || (a.only === 'cloud-init' ? ci.has(d.path) && !ec2.has(d.path) : ec2.has(d.path) && !ci.has(d.path)))
    && (a.when === undefined || a.when(d.path, sides)));
}
