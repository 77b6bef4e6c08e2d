// The configuration-management seed of the compare test: puppet, chef and
// salt_minion installed by each agent from a local apt repository of small
// stand-in packages placed in both copies (the image is offline; chef and salt
// are not in Debian 12 and the real puppet pulls in Ruby), configured by the
// same user-data, and `updates: network: when: [hotplug]` for install_hotplug
// (neither agent installs a udev rule here: cloud-init finds no udevadm, and
// ec2-init has no hotplug hook). Both agents then leave the same packages in
// dpkg's database and the same files; the modes that differ on purpose (the
// secrets ec2-init writes 0600) are in allowlist.ts. puppet's start_service is
// off: the image has no systemd, and cloud-init 22.4 can then only fail to
// enable puppet (it knows systemctl, chkconfig and /etc/default/puppet).
// The seed runs twice: config-management on 22.4, config-management-25 on
// 25.1 (seeds.ts). ansible, wireguard and lxd, in no Debian module list, have
// their own seed (seed-unverified.ts).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unsignedFlatRepo, type Package } from '../apt/repo.ts';
import { STAND_INS } from '../apt/stand-ins.ts';
import type { Placed } from './sandbox.ts';

const REPO = '/srv/compare-repo';

const PACKAGES: Package[] = [STAND_INS.puppet, STAND_INS.chef, STAND_INS['salt-minion']];

export const CONFIG_MGMT = `#cloud-config
puppet:
  start_service: false
  conf:
    agent:
      server: puppet.example.test
      certname: "%i.NODE"
    ca_cert: |
      -----BEGIN CERTIFICATE-----
      MIICCTCCAXKgAwIBAgIBATANBgkqhkiG9w0BAQUFADANMQswCQYDVQQDDAJjYTAe
      -----END CERTIFICATE-----
  csr_attributes:
    custom_attributes:
      1.2.840.113549.1.9.7: not-a-real-challenge
    extension_requests:
      pp_role: web
      pp_uuid: ED803750-E3C7-44F5-BB08-41A04433FE2E
chef:
  server_url: https://chef.example.test:4000
  validation_name: compare-validator
  validation_cert: |
    -----BEGIN RSA PRIVATE KEY-----
    bm90LWEtcmVhbC1rZXk=
    -----END RSA PRIVATE KEY-----
  run_list: ['recipe[base]', 'role[web]']
  initial_attributes:
    app: {port: 8080, debug: false, name: "caf\\u00e9"}
salt_minion:
  conf:
    master: salt.example.test
    log_level: info
    fileserver_backend: [gitfs, roots]
  grains:
    role: [web, db]
    tier: 'yes'
  public_key: |
    -----BEGIN PUBLIC KEY-----
    bm90LWEtcmVhbC1wdWJsaWMta2V5
    -----END PUBLIC KEY-----
  private_key: |
    -----BEGIN PRIVATE KEY-----
    bm90LWEtcmVhbC1wcml2YXRlLWtleQ==
    -----END PRIVATE KEY-----
updates:
  network:
    when: [hotplug]
`;

export const CONFIG_MGMT_EFFECTS = ['/etc/puppet/puppet.conf', '/var/lib/puppet/ssl/certs/ca.pem', '/etc/puppet/csr_attributes.yaml',
  '/etc/chef/client.rb', '/etc/chef/firstboot.json', '/etc/chef/validation.pem', '/usr/bin/chef-client',
  '/etc/salt/minion', '/etc/salt/grains', '/etc/salt/pki/minion.pem', '/var/lib/dpkg/status'];

/**
 * A local apt repository of `packages` and an apt source naming only it, as
 * files to place in both copies (built on the first call, then kept): the
 * other seeds that install a stand-in package use it too (seed-byobu.ts).
 */
export function localRepo(packages: Package[]): () => Placed[] {
  let built: Placed[] | null = null;
  return () => {
    if (built) return built;
    const dir = mkdtempSync(join(tmpdir(), 'ec2-init-compare-repo-'));
    try {
      unsignedFlatRepo(dir, packages);
      built = [
        { path: '/etc/apt/sources.list', content: `deb [trusted=yes] file:${REPO} ./\n`, mode: 0o644 },
        ...readdirSync(dir).map((f) => ({ path: `${REPO}/${f}`, content: readFileSync(join(dir, f)), mode: 0o644 })),
      ];
      return built;
    } finally { rmSync(dir, { recursive: true, force: true }); }
  };
}

export const configMgmtFiles = localRepo(PACKAGES);
