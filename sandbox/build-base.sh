#!/bin/sh
# Builds the sandbox's base image from Debian's package archive alone (no image registry needed):
#   build-base.sh TAG
# debootstrap --variant=minbase bookworm with python3, python3-numpy and OpenBLAS into a scratch folder,
# keep only the packages those need (no apt, dpkg, perl, PAM, util-linux), strip what a runner never
# reads (docs, man pages, locales, numpy's tests), then `tar` it and `docker import` it as TAG. Needs root (debootstrap chroots) and debootstrap
# (`apt-get install -y debootstrap`).
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), DEBIAN_SUITE (default bookworm),
# DEBOOTSTRAP_CACHE (an absolute folder that keeps downloaded .debs between builds; optional).
set -eu
tag=${1:?usage: build-base.sh TAG}
suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C

[ "$(id -u)" = 0 ] || { echo "build-base.sh: debootstrap needs root" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "build-base.sh: debootstrap is missing (apt-get install -y debootstrap)" >&2; exit 2; }
command -v docker >/dev/null || { echo "build-base.sh: the docker CLI is missing" >&2; exit 2; }

# /var/tmp, not /tmp: /tmp may be a small tmpfs or mounted nodev, and debootstrap makes device nodes.
work=$(mktemp -d /var/tmp/dl-grader-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
root=$work/rootfs

cache=""
if [ -n "${DEBOOTSTRAP_CACHE:-}" ]; then mkdir -p "$DEBOOTSTRAP_CACHE"; cache="--cache-dir=$DEBOOTSTRAP_CACHE"; fi
# shellcheck disable=SC2086  # $cache is one option or nothing
debootstrap --variant=minbase --include=python3,python3-numpy,libopenblas0-serial $cache "$suite" "$root" "$mirror"

chroot "$root" python3 -c "import numpy; numpy.dot(numpy.ones(3), numpy.ones(3))"  # it works before we strip

# Keep what python3, numpy, OpenBLAS, coreutils (timeout) and dash need; every other package goes:
# apt, dpkg, perl, logins and PAM, util-linux, the crypto libraries apt needed. The image is rebuilt from
# scratch, never upgraded in place, so its files are deleted directly (no maintainer scripts to run).
chroot "$root" python3 -I - python3 python3-numpy libopenblas0-serial coreutils dash base-files \
    > "$work/keep" <<'PY'
import re, sys
installed, provides = {}, {}
for stanza in open("/var/lib/dpkg/status").read().split("\n\n"):
    fields = dict(re.findall(r"^([\w-]+): (.*)$", stanza, re.M))
    if "Package" in fields and fields.get("Status", "").endswith(" installed"):
        installed[fields["Package"]] = fields
        for virtual in re.findall(r"[\w.+-]+", re.sub(r"\(.*?\)", "", fields.get("Provides", ""))):
            provides.setdefault(virtual, []).append(fields["Package"])
keep, todo = set(), sys.argv[1:]
while todo:
    name = todo.pop()
    if name in keep or name not in installed:
        continue
    keep.add(name)
    fields = installed[name]
    for clause in (fields.get("Depends", "") + "," + fields.get("Pre-Depends", "")).split(","):
        options = []
        for alternative in clause.split("|"):
            dep = re.sub(r"\(.*?\)|:\w+", "", alternative).strip()
            options += [dep] if dep in installed else provides.get(dep, [])
        # "libblas3 | libblas.so.3": the one asked for by name (OpenBLAS) wins, else every installed one.
        todo += [o for o in options if o in sys.argv[1:]] or options
print("\n".join(f"{p}={installed[p]['Version']}" for p in sorted(keep)))
PY
cp "$work/keep" "$root/etc/dl-grader-packages.txt"  # the image's bill of materials
info=$root/var/lib/dpkg/info
for package in $(chroot "$root" dpkg-query -W -f '${Package}\n'); do
    grep -q "^$package=" "$work/keep" && continue
    cat "$info/$package.list" "$info/$package":*.list 2>/dev/null | while read -r path; do
        if [ ! -d "$root$path" ] && { [ -f "$root$path" ] || [ -L "$root$path" ]; }; then rm -f "$root$path"; fi
    done
done
rm -rf "$root"/var/lib/dpkg "$root"/etc/dpkg "$root"/etc/apt "$root"/etc/pam.d "$root"/etc/security
rm -rf "$root"/usr/share/doc "$root"/usr/share/man "$root"/usr/share/info "$root"/usr/share/locale \
    "$root"/usr/share/lintian "$root"/usr/share/common-licenses "$root"/usr/share/zoneinfo \
    "$root"/var/lib/apt "$root"/var/cache/apt "$root"/var/cache/debconf "$root"/var/cache/ldconfig/aux-cache \
    "$root"/var/log/* "$root"/usr/lib/python3/dist-packages/numpy/*/tests \
    "$root"/usr/lib/python3/dist-packages/numpy/tests "$root"/usr/lib/python3/dist-packages/numpy/f2py \
    "$root"/usr/lib/python3.11/ensurepip "$root"/usr/lib/python3.11/idlelib "$root"/usr/lib/python3.11/lib2to3 \
    "$root"/usr/lib/x86_64-linux-gnu/gconv "$root"/usr/lib/python3.11/pydoc_data "$root"/usr/lib/python3.11/turtledemo "$root"/usr/lib/python3.11/tkinter
# Docker provides these at run time; what debootstrap wrote would be the build machine's.
: > "$root/etc/hostname"
rm -f "$root/etc/resolv.conf"

chroot "$root" python3 -I -c "import numpy, json, importlib.util; numpy.linalg.inv(numpy.eye(2))"  # still works

echo "build-base.sh: rootfs $(du -sh "$root" | cut -f1), importing as $tag" >&2
# Through a file, not a pipe: a tar that fails half-way must not leave a half image under the real tag.
tar -C "$root" --numeric-owner -cf "$work/rootfs.tar" .
docker import --change 'CMD ["python3"]' \
    --message "dl-grader base: debootstrap $suite minbase + python3 + python3-numpy + OpenBLAS" \
    "$work/rootfs.tar" "$tag"
