#!/bin/bash
# with-root.sh ROOT COMMAND...: make ROOT a cheap throw-away system root and
# run COMMAND in a private mount namespace where ROOT/usr is this machine's
# /usr, bind-mounted read-only (so chrooted scripts have a shell and
# coreutils, and cannot change /usr). The mounts vanish with the namespace;
# nothing outside ROOT is written. Needs root (unshare, mount, chroot).
set -euo pipefail
root=$1; shift
mkdir -p "$root"/{usr,etc,tmp,root,dev,var/lib,var/log,run,home}
chmod 1777 "$root/tmp"
for d in bin sbin lib lib64; do [ -e "$root/$d" ] || [ -L "$root/$d" ] || ln -s "usr/$d" "$root/$d"; done
# A minimal account database of the root's own (never this machine's).
# Written to a temp name and renamed, so a kill mid-way never leaves a torn file.
[ -e "$root/etc/passwd" ] || { cat > "$root/etc/.passwd.tmp" && mv "$root/etc/.passwd.tmp" "$root/etc/passwd"; } <<'P'
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
P
[ -e "$root/etc/group" ] || { cat > "$root/etc/.group.tmp" && mv "$root/etc/.group.tmp" "$root/etc/group"; } <<'G'
root:x:0:
daemon:x:1:
adm:x:4:
sudo:x:27:
users:x:100:
nogroup:x:65534:
G
for dev in null zero random urandom; do [ -e "$root/dev/$dev" ] || : > "$root/dev/$dev"; done
exec unshare --mount --propagation private /bin/bash -c '
  set -e
  root=$1; shift
  mount --bind /usr "$root/usr"
  mount -o remount,bind,ro "$root/usr"
  for dev in null zero random urandom; do mount --bind "/dev/$dev" "$root/dev/$dev"; done
  exec "$@"
' with-root "$root" "$@"
