// Which cloud is this? Answered from local facts only (platform.ts), before
// any network request, as cloud-init's ds-identify does. One function per
// platform whose detection more than one place needs; a source whose rule is
// its own keeps it in its detect().
import type { Platform } from './platform.ts';

/** True when the platform can be EC2 (Nitro: DMI says Amazon; Xen: uuids start with ec2). */
export function maybeEc2(p: Platform): boolean {
  const uuid = p.dmi.product_uuid.toLowerCase();
  return /amazon/i.test(p.dmi.sys_vendor) || /amazon/i.test(p.dmi.chassis_asset_tag) || uuid.startsWith('ec2') || p.hypervisorUuid.startsWith('ec2');
}

/** OpenStack's DMI product names, and the chassis asset tags cloud-init also takes for OpenStack. */
const OPENSTACK_PRODUCTS = ['OpenStack Nova', 'OpenStack Compute'];
const OPENSTACK_ASSET_TAGS = [...OPENSTACK_PRODUCTS, 'OpenTelekomCloud', 'SAP CCloud VM', 'HUAWEICLOUD'];

/** True when DMI (or PID 1's environment, in a container) says OpenStack, as cloud-init's ds-identify and ds_detect check. */
export function maybeOpenStack(p: Platform): boolean {
  if (OPENSTACK_PRODUCTS.includes(p.dmi.product_name)) return true;
  if (OPENSTACK_ASSET_TAGS.includes(p.dmi.chassis_asset_tag)) return true;
  return p.pid1Environ().includes('product_name=OpenStack Nova');
}
