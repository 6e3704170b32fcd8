#!/bin/sh
# Builds a throw-away root for one runner and runs it there. Started by the local backend inside fresh
# mount, network and PID namespaces (unshare), as root of those namespaces.
#   jail.sh NEWROOT UID TMP_MB -- COMMAND...
# Environment: JAIL_RO is a colon-separated list of host paths bound read-only at the same place
# (the Python installation); JAIL_MAP a colon-separated list of SRC=DST pairs bound read-only at DST
# (the runtime at /opt/runtime, the workspace at /submission). Nothing else of the host is visible: not
# the course (solutions, hidden tests, held-out labels), not /root, not /home, not other processes.
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
root=$1 uid=$2 tmp_mb=$3
shift 4
mount -t tmpfs -o size=8m,mode=0755 jail "$root"
# /tmp first: the binds below may lie under it (a virtualenv in /tmp/...), and must stay visible.
mkdir -p "$root/tmp"
mount -t tmpfs -o "size=${tmp_mb}m,mode=1777,nosuid,nodev" tmp "$root/tmp"
paths=/usr:/bin:/lib:/lib64:/sbin:/etc/alternatives:/etc/ld.so.cache:/etc/localtime:$JAIL_RO
bind_ro() {  # bind_ro SRC DST: SRC appears read-only at DST inside the new root
    if [ -d "$1" ]; then mkdir -p "$root$2"; else mkdir -p "$root$(dirname "$2")"; : > "$root$2"; fi
    mount --rbind "$1" "$root$2"
    mount -o remount,bind,ro "$root$2"
}
old_ifs=$IFS; IFS=:
for path in $paths; do
    [ -e "$path" ] && bind_ro "$path" "$path"
done
for pair in ${JAIL_MAP:-}; do
    bind_ro "${pair%%=*}" "${pair#*=}"
done
IFS=$old_ifs
mkdir -p "$root/dev" "$root/proc"
for dev in null zero random urandom; do : > "$root/dev/$dev"; mount --bind "/dev/$dev" "$root/dev/$dev"; done
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount -o remount,ro "$root"
cd /
if [ "$uid" = "-" ]; then
    exec chroot "$root" /usr/bin/setpriv --no-new-privs -- "$@"
fi
exec chroot "$root" /usr/bin/setpriv --reuid="$uid" --regid="$uid" --clear-groups --no-new-privs \
    --inh-caps=-all --bounding-set=-all -- "$@"
