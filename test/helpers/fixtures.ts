// Test data shared by a unit test file and its integration twin.

/** An executable part-handler (the language-neutral form): logs each call, saves each part, refuses bad.foo. */
export const EXEC_HANDLER = `#part-handler
#!/bin/sh
# types: text/x-foo text/X-Bar
echo "$1 type=$PART_TYPE file=$PART_FILENAME freq=$PART_FREQUENCY iid=$INSTANCE_ID" >> /handler.log
if [ "$1" = part ]; then cat > "/got-$PART_FILENAME"; fi
if [ "$PART_FILENAME" = bad.foo ]; then echo "cannot take bad.foo" >&2; exit 3; fi
exit 0
`;

/** The options ec2-init gives an fstab entry on a systemd machine (mount_default_fields). */
export const FSTAB_OPTS = 'defaults,nofail,x-systemd.after=ec2-init.service,_netdev';

/** The instance MAC of AWS's mock metadata (conformance/ec2-metadata-mock). */
export const EC2_PRIMARY_MAC = '0e:49:61:0f:c3:11';
/** A second NIC's MAC: sorts before the primary one, so the order must come from device-number. */
export const EC2_SECOND_MAC = '0a:00:00:00:00:02';
