// The ssh_import_id seed of the compare test: cloud-init 25.1 runs the real
// ssh-import-id program (the trixie image has it, bench/chroot.ts) as each
// user through sudo; ec2-init fetches the same keys itself. Both reach
// GitHub's and Launchpad's stand-ins over TLS inside the sandbox
// (key-services.ts), and must leave the same authorized_keys files.
import { keyServices } from './key-services.ts';
import type { Seed } from './seeds.ts';

// Throw-away public keys: only their text is written, nothing ever logs in.
const GH_ALICE = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDtmsSQNlIZJcKPEPSPXsfN3cFGvd0Zvb9OlQ8/VMVoD';
const LP_BOB = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMvXq0f6b8a4n1Qm3XYvQb8z5Kx2p7pYcQm1b2bJt9Zr bob@laptop';
const GH_CAROL = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh1c2VyZGF0YS10b3AtbGV2ZWwta2V5LWZvci1kZWZh';

export const SSH_IMPORT_SERVICES = keyServices({ alice: [[101, GH_ALICE]], carol: [[303, GH_CAROL]] }, { bob: [LP_BOB] });

// The default user imports from both services (a bare id is Launchpad's), carol from GitHub.
const USER_DATA = `#cloud-config
ssh_import_id: [gh:alice, bob]
users:
  - default
  - name: carol
    shell: /bin/bash
    ssh_import_id: [gh:carol]
`;

export const SSH_IMPORT_ID_SEED: Seed = {
  id: 'ssh-import-id',
  suite: 'trixie',
  metaData: 'instance-id: iid-compare-0001\nlocal-hostname: compare-local\n',
  userData: Buffer.from(USER_DATA),
  effects: ['/home/debian/.ssh/authorized_keys', '/home/carol/.ssh/authorized_keys'],
  contains: [['/home/debian/.ssh/authorized_keys', GH_ALICE], ['/home/debian/.ssh/authorized_keys', LP_BOB], ['/home/carol/.ssh/authorized_keys', GH_CAROL]],
  newInstance: false,
  files: () => SSH_IMPORT_SERVICES.files(),
  services: SSH_IMPORT_SERVICES,
};
