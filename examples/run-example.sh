#!/bin/bash
# Boot a throw-away root from the embedded example seed (examples/seed/) with
# the built executable, then show what ec2-init did. Needs root: the root gets
# this machine's /usr read-only through a private mount namespace, and
# scripts run chrooted into it. Nothing outside the throw-away root changes.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ]; then echo "run-example.sh: needs root (mount namespace + chroot); try: sudo npm run example" >&2; exit 1; fi
root=$(mktemp -d /tmp/ec2-init-example.XXXXXX)
mkdir -p "$root/var/lib/cloud/seed/nocloud"
cp "$top/examples/seed/meta-data" "$top/examples/seed/user-data" "$root/var/lib/cloud/seed/nocloud/"
run() { env -i "$top/test/helpers/with-root.sh" "$root" "$top/dist/ec2-init" --root "$root" "$@"; }

echo "== throw-away root: $root"
echo "== ec2-init plan"
run plan 2>/dev/null
stamp=$(mktemp)   # after plan: with-root.sh has laid out the root by now
echo "== ec2-init boot"
set +e; run boot; code=$?; set -e
echo "== ec2-init status --long (boot exited $code)"
run status --long || true
echo "== files ec2-init wrote or changed under the root"
(cd "$root" && find . -newer "$stamp" -type f ! -path './dev/*' -printf '%m %u:%g %s\t%p\n' | sort -k4)
echo "== /etc/motd"; cat "$root/etc/motd"
echo "== /root/runcmd.done"; cat "$root/root/runcmd.done"
rm -f "$stamp"
echo "== done; remove the root with: rm -rf $root"
