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
# Several runs may set up one fresh root at once (a test starting two agents):
# each step must hold when another run did it first, and never undo what the
# other (or the agent it started) wrote since.
for d in bin sbin lib lib64; do
  [ -e "$root/$d" ] || [ -L "$root/$d" ] || ln -s "usr/$d" "$root/$d" 2>/dev/null || [ -L "$root/$d" ]
done
# First writer wins: written whole under a name of this run's own, then
# hard-linked into place (link(2) never replaces a file, unlike a rename, so a
# late run cannot put the default back over accounts the agent has added).
install_new() {
  local tmp="$1.$$.tmp"
  [ -e "$1" ] && return 0
  cat > "$tmp"
  ln "$tmp" "$1" 2>/dev/null || [ -e "$1" ]
  rm -f "$tmp"
}
# A minimal account database of the root's own (never this machine's).
install_new "$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
P
install_new "$root/etc/group" <<'G'
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
