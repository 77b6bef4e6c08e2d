// Living beside systemd-imds (systemd ≥ 261: src/imds/ of systemd), which
// may run on the same image with its own client of the metadata service:
//
// - Its varlink service io.systemd.InstanceMetadata at
//   /run/systemd/io.systemd.InstanceMetadata (socket-activated, one
//   systemd-imdsd process per connection) answers Get({key}) with the
//   service's answer for <its data URL><key>, base64 in `data`, from its
//   cache when it has it, with its own token; a 404 is the error KeyNotFound.
//   Where that socket exists, ec2-init asks it instead of sending a second
//   client at the link-local service (sources/ec2.ts) — in stage init, with
//   networking up. In init-local it cannot answer yet (systemd-imdsd waits
//   for an address that only systemd-networkd gives, after network-pre.target,
//   and ec2-init-local runs before that target), so init-local reads over its
//   own ephemeral network: the two are never at the service at the same time.
// - Its early network (85-imds-early.network, linked into
//   /run/systemd/network/ by systemd-imds-early-network.service) routes the
//   metadata address through its own table, reached only by sockets marked
//   0x7FFF0815; in "locked" mode a prohibit route refuses everyone else.
//   Where that file is, every connection ec2-init opens to a metadata address
//   (any cloud's source, its token requests, the ephemeral network's
//   connectivity check) carries the mark (SO_MARK, as systemd-imdsd's own do;
//   root has CAP_NET_ADMIN): the search sets it once in net/http.ts.
// - Root's authorized_keys: systemd-imds imports the first EC2 key as the
//   credential ssh.authorized_keys.root, which systemd-tmpfiles writes to
//   /root/.ssh/authorized_keys only when that file does not exist (`f^`).
//   ec2-init's ssh module is the owner: it runs after (stage init), and its
//   write replaces a line with the same key by its own (behind disable_root's
//   command unless disable_root is false), as cloud-init's does.
import type { Files } from '../host/files.ts';
import { base64Decode } from '../host/codecs.ts';
import { VarlinkClient, VarlinkError } from '../net/varlink.ts';

export const IMDS_SOCKET = '/run/systemd/io.systemd.InstanceMetadata';
export const IMDS_EARLY_NETWORK = '/run/systemd/network/85-imds-early.network';
export const IMDS_FWMARK = 0x7fff0815;

/** The mark requests to a link-local metadata service carry (see above), or undefined. */
export function imdsMark(files: Files): number | undefined {
  try { return files.lstat(IMDS_EARLY_NETWORK) !== null ? IMDS_FWMARK : undefined; } catch { return undefined; }
}

/** Whether systemd-imds's socket is there. */
export function hasImdsSocket(files: Files): boolean {
  try { return files.lstat(IMDS_SOCKET)?.kind === 'socket'; } catch { return false; }
}

/** Get({key}) of io.systemd.InstanceMetadata: the data, or null for KeyNotFound. */
export class ImdsVarlink {
  private readonly client: VarlinkClient;
  requests = 0;
  constructor(files: Files, maxConnections = 4) {
    this.client = new VarlinkClient(files, IMDS_SOCKET, maxConnections);
  }

  /** `key` is appended to systemd-imds's data URL (EC2: http://169.254.169.254/latest), so it starts with '/'. */
  async get(key: string, deadline: number): Promise<Uint8Array | null> {
    this.requests++;
    try {
      const reply = await this.client.call('io.systemd.InstanceMetadata.Get', { key }, deadline);
      const data = reply['data'];
      if (typeof data !== 'string') throw new Error('systemd-imds: a reply without data');
      return base64Decode(data);
    } catch (e) {
      if (e instanceof VarlinkError && e.error === 'io.systemd.InstanceMetadata.KeyNotFound') return null;
      if (e instanceof VarlinkError) throw new Error(`systemd-imds: ${key}: ${e.error}`);
      throw e;
    }
  }

  close(): void { this.client.close(); }
}
