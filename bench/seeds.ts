// The user-data of each scenario, and the effects that prove it was applied.
// Both agents get byte-identical seeds; the checks run on the root afterwards
// so a fast run that did nothing can never pass as a fast boot.
import { gzipSync } from 'node:zlib';

export interface Check {
  path: string;        // under the root
  contains?: string;   // text the file must hold; existence only when unset
}

export interface Seed {
  metaData: string;
  userData: Buffer;
  checks: Check[];
}

const META = 'instance-id: iid-bench-0001\nlocal-hostname: bench-local\n';
// A throw-away public key: only its text is written, nothing ever logs in.
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDtmsSQNlIZJcKPEPSPXsfN3cFGvd0Zvb9OlQ8/VMVoD bench@example';

const SCRIPT = '#!/bin/sh\necho "script ran" > /var/tmp/bench-script\n';

const CLOUD_CONFIG = `#cloud-config
hostname: bench-host
write_files:
  - path: /etc/bench/app.conf
    content: |
      listen=0.0.0.0:8080
      workers=4
  - path: /etc/bench/token
    permissions: '0600'
    content: not-a-secret
users:
  - name: bench
    gecos: Bench User
    shell: /bin/bash
    groups: [adm]
    sudo: 'ALL=(ALL) NOPASSWD:ALL'
    ssh_authorized_keys:
      - ${KEY}
bootcmd:
  - echo bootcmd >> /var/tmp/bench-bootcmd
runcmd:
  - echo runcmd > /var/tmp/bench-runcmd
  - [touch, /var/tmp/bench-runcmd-2]
`;

const SCRIPT_CHECKS: Check[] = [{ path: '/var/tmp/bench-script', contains: 'script ran' }];
const CONFIG_CHECKS: Check[] = [
  { path: '/etc/bench/app.conf', contains: 'workers=4' },
  { path: '/etc/bench/token', contains: 'not-a-secret' },
  { path: '/etc/passwd', contains: 'bench:' },
  { path: '/home/bench/.ssh/authorized_keys', contains: KEY },
  { path: '/etc/hostname', contains: 'bench-host' },
  { path: '/var/tmp/bench-bootcmd', contains: 'bootcmd' },
  { path: '/var/tmp/bench-runcmd', contains: 'runcmd' },
  { path: '/var/tmp/bench-runcmd-2' },
];

// A MIME multipart written by hand (as `cloud-init devel make-mime` would),
// then gzipped whole: both agents must undo the gzip and split the parts.
function multipart(parts: { type: string; name: string; body: string }[]): string {
  const b = '===============bench-boundary==';
  const lines = ['Content-Type: multipart/mixed; boundary="' + b + '"', 'MIME-Version: 1.0', ''];
  for (const p of parts) {
    lines.push(`--${b}`, `Content-Type: ${p.type}; charset="us-ascii"`, 'MIME-Version: 1.0',
      'Content-Transfer-Encoding: 7bit', `Content-Disposition: attachment; filename="${p.name}"`, '', p.body);
  }
  lines.push(`--${b}--`, '');
  return lines.join('\n');
}

export const SEEDS: Record<string, Seed> = {
  script: { metaData: META, userData: Buffer.from(SCRIPT), checks: SCRIPT_CHECKS },
  'cloud-config': { metaData: META, userData: Buffer.from(CLOUD_CONFIG), checks: CONFIG_CHECKS },
  'gzip-multipart': {
    metaData: META,
    userData: gzipSync(multipart([
      { type: 'text/cloud-config', name: 'config.yaml', body: CLOUD_CONFIG },
      { type: 'text/x-shellscript', name: 'script.sh', body: SCRIPT },
    ])),
    checks: [...CONFIG_CHECKS, ...SCRIPT_CHECKS],
  },
};

export const USER_DATA_TEXT = { script: SCRIPT, cloudConfig: CLOUD_CONFIG };
