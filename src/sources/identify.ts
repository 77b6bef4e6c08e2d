// Which cloud is this? Answered from local facts only, before any network
// request, as cloud-init's ds-identify does: DMI (sys_vendor, product_uuid,
// chassis_asset_tag) and the Xen hypervisor uuid, under the root's /sys.
import type { Files } from '../host/files.ts';

function read(files: Files, path: string): string {
  return files.readTextIfExists(path)?.trim() ?? '';
}

/** True when the platform can be EC2 (Nitro: DMI says Amazon; Xen: uuids start with ec2). */
export function maybeEc2(files: Files): boolean {
  const vendor = read(files, '/sys/class/dmi/id/sys_vendor');
  const asset = read(files, '/sys/class/dmi/id/chassis_asset_tag');
  const uuid = read(files, '/sys/class/dmi/id/product_uuid').toLowerCase();
  const xen = read(files, '/sys/hypervisor/uuid').toLowerCase();
  return /amazon/i.test(vendor) || /amazon/i.test(asset) || uuid.startsWith('ec2') || xen.startsWith('ec2');
}
