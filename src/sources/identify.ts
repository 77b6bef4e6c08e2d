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

/** OpenStack's DMI product names, and the chassis asset tags cloud-init also takes for OpenStack. */
const OPENSTACK_PRODUCTS = ['OpenStack Nova', 'OpenStack Compute'];
const OPENSTACK_ASSET_TAGS = [...OPENSTACK_PRODUCTS, 'OpenTelekomCloud', 'SAP CCloud VM', 'HUAWEICLOUD'];

/** True when DMI (or PID 1's environment, in a container) says OpenStack, as cloud-init's ds-identify and ds_detect check. */
export function maybeOpenStack(files: Files): boolean {
  if (OPENSTACK_PRODUCTS.includes(read(files, '/sys/class/dmi/id/product_name'))) return true;
  if (OPENSTACK_ASSET_TAGS.includes(read(files, '/sys/class/dmi/id/chassis_asset_tag'))) return true;
  let environ = '';
  try { environ = files.readTextIfExists('/proc/1/environ', 65536) ?? ''; } catch { /* unreadable */ }
  return environ.split('\0').includes('product_name=OpenStack Nova');
}
