#!/bin/sh
# Builds a layer of extra Debian packages on top of the sandbox's base image, from Debian's archive alone:
#   build-layer.sh BASE_TAG TAG SMOKE_PYTHON PACKAGE...
# e.g. build-layer.sh dl-grader-base:… dl-grader-torch-base:… "import torch; …" python3-torch
# debootstrap --variant=minbase with the base's packages and PACKAGE..., keep only the closure of what
# they need (as build-base.sh does), strip docs and data the runner never reads, then keep only the files
# the base image lacks or holds differently: those become ONE layer (`COPY layer/ /`) on BASE_TAG, so
# the numpy image and this one share the base's layer on disk. Needs root, debootstrap and docker.
# Environment: DEBIAN_MIRROR, DEBIAN_SUITE, DEBOOTSTRAP_CACHE as for build-base.sh.
set -eu
usage="usage: build-layer.sh BASE_TAG TAG SMOKE_PYTHON PACKAGE..."
base=${1:?$usage}
tag=${2:?$usage}
smoke=${3:?$usage}
shift 3
[ $# -gt 0 ] || { echo "build-layer.sh: name at least one Debian package" >&2; exit 2; }
suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C

[ "$(id -u)" = 0 ] || { echo "build-layer.sh: debootstrap needs root" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "build-layer.sh: debootstrap is missing (apt-get install -y debootstrap)" >&2; exit 2; }
command -v docker >/dev/null || { echo "build-layer.sh: the docker CLI is missing" >&2; exit 2; }
docker image inspect "$base" >/dev/null 2>&1 || { echo "build-layer.sh: the base image $base is missing" >&2; exit 2; }

work=$(mktemp -d /var/tmp/dl-grader-layer.XXXXXX)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
root=$work/rootfs

cache=""
if [ -n "${DEBOOTSTRAP_CACHE:-}" ]; then mkdir -p "$DEBOOTSTRAP_CACHE"; cache="--cache-dir=$DEBOOTSTRAP_CACHE"; fi
include=$(echo "python3 python3-numpy libopenblas0-serial $*" | tr ' ' ',')
# shellcheck disable=SC2086  # $cache is one option or nothing
debootstrap --variant=minbase --include="$include" $cache "$suite" "$root" "$mirror"

# What to keep: the base's packages (the closure of its roots over Depends, as build-base.sh computes it)
# plus, for the layer, only what runs: the named packages, the packages whose modules the smoke test
# imports, and the packages of every library those packages' ELF
# files link (ldd). Debian's Depends would also drag in what nothing loads (python3-torch: libtorch-test,
# sympy, hypothesis; LLVM and Mesa through Qt), about 400 MB more.
chroot "$root" python3 -I - "$smoke" $* > "$work/keep" <<'PY'
import os, re, subprocess, sys
smoke, extra = sys.argv[1], sys.argv[2:]
base_roots = ["python3", "python3-numpy", "libopenblas0-serial", "coreutils", "dash", "base-files"]
installed, provides = {}, {}
for stanza in open("/var/lib/dpkg/status").read().split("\n\n"):
    fields = dict(re.findall(r"^([\w-]+): (.*)$", stanza, re.M))
    if "Package" in fields and fields.get("Status", "").endswith(" installed"):
        installed[fields["Package"]] = fields
        for virtual in re.findall(r"[\w.+-]+", re.sub(r"\(.*?\)", "", fields.get("Provides", ""))):
            provides.setdefault(virtual, []).append(fields["Package"])
keep, todo = set(), list(base_roots)
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
        todo += [o for o in options if o in base_roots] or options
owner, files = {}, {}
info = "/var/lib/dpkg/info"
for listing in os.listdir(info):
    if listing.endswith(".list"):
        package = listing[:-5].split(":")[0]
        paths = [line.rstrip("\n") for line in open(os.path.join(info, listing))]
        files[package] = paths
        for path in paths:
            owner.setdefault(os.path.realpath(path), package)
def owners(paths):
    return {owner[os.path.realpath(p)] for p in paths if os.path.realpath(p) in owner}
probe = smoke + "\nimport sys\nfor m in list(sys.modules.values()):\n print(getattr(m, '__file__', None) or '')\n"
loaded = subprocess.run(["python3", "-I", "-c", probe], capture_output=True, text=True, check=True).stdout.split()
layer = set(extra) | owners(p for p in loaded if p.startswith("/"))
done = set()
while layer - done:
    package = sorted(layer - done)[0]
    done.add(package)
    for path in files.get(package, []):
        if os.path.isfile(path) and not os.path.islink(path) and ".so" in os.path.basename(path):
            with open(path, "rb") as handle:
                if handle.read(4) != b"\x7fELF":
                    continue
            out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
            layer |= owners(re.findall(r"=> (/\S+)", out))
keep |= layer
print("\n".join(f"{p}={installed[p]['Version']}" for p in sorted(keep) if p in installed))
PY
cp "$work/keep" "$root/etc/dl-grader-packages.txt"
info=$root/var/lib/dpkg/info
for package in $(chroot "$root" dpkg-query -W -f '${Package}\n'); do
    grep -q "^$package=" "$work/keep" && continue
    cat "$info/$package.list" "$info/$package":*.list 2>/dev/null | while read -r path; do
        if [ ! -d "$root$path" ] && { [ -f "$root$path" ] || [ -L "$root$path" ]; }; then rm -f "$root$path"; fi
    done
done
# What the runner never reads: docs, locales, the data of GIS/video libraries torch links but never
# calls, torch's C++ headers and CMake files (nothing is compiled in the sandbox).
rm -rf "$root"/var/lib/dpkg "$root"/etc/dpkg "$root"/etc/apt "$root"/etc/pam.d "$root"/etc/security \
    "$root"/usr/share/doc "$root"/usr/share/man "$root"/usr/share/info "$root"/usr/share/locale \
    "$root"/usr/share/lintian "$root"/usr/share/common-licenses "$root"/usr/share/zoneinfo \
    "$root"/usr/share/gdal "$root"/usr/share/proj "$root"/usr/share/X11 "$root"/usr/share/mime \
    "$root"/usr/share/fonts "$root"/usr/share/icons \
    "$root"/var/lib/apt "$root"/var/cache/apt "$root"/var/cache/debconf "$root"/var/cache/ldconfig/aux-cache \
    "$root"/var/log/* "$root"/usr/lib/python3/dist-packages/numpy/*/tests \
    "$root"/usr/lib/python3/dist-packages/numpy/tests "$root"/usr/lib/python3/dist-packages/numpy/f2py \
    "$root"/usr/lib/python3/dist-packages/torch/include "$root"/usr/lib/python3/dist-packages/torch/share \
    "$root"/usr/lib/python3/dist-packages/torch/testing/_internal \
    "$root"/usr/lib/python3.11/ensurepip "$root"/usr/lib/python3.11/idlelib "$root"/usr/lib/python3.11/lib2to3 \
    "$root"/usr/lib/x86_64-linux-gnu/gconv "$root"/usr/lib/python3.11/pydoc_data "$root"/usr/lib/python3.11/turtledemo "$root"/usr/lib/python3.11/tkinter
find "$root/usr/lib" -name '*.a' -delete
: > "$root/etc/hostname"
rm -f "$root/etc/resolv.conf"

# It still works after the pruning: numpy, and the smoke test of the layer's packages.
chroot "$root" python3 -I -c "import numpy; numpy.linalg.inv(numpy.eye(2))"
chroot "$root" python3 -I -c "$smoke"
# Device nodes and kernel filesystems come from docker at run time, never from a layer.
rm -rf "$root/dev" "$root/proc" "$root/sys" "$root/run"

# Keep what the base lacks or holds differently: compare with the base image's own files.
mkdir "$work/base"
container=$(docker create "$base" true)
docker export "$container" | tar -C "$work/base" -xf - 2>/dev/null || true
docker rm -f "$container" >/dev/null
python3 -I - "$root" "$work/base" <<'PY'
import filecmp, os, sys
root, base = sys.argv[1], sys.argv[2]
dropped = 0
for folder, dirs, files in os.walk(root, topdown=False):
    for name in files:
        path = os.path.join(folder, name)
        twin = os.path.join(base, os.path.relpath(path, root))
        same = (os.readlink(path) == os.readlink(twin) if os.path.islink(twin) else False) \
            if os.path.islink(path) else (os.path.isfile(twin) and not os.path.islink(twin)
                                          and filecmp.cmp(path, twin, shallow=False))
        if same:
            os.remove(path)
            dropped += 1
    for name in dirs:
        path = os.path.join(folder, name)
        if not os.path.islink(path) and not os.listdir(path) and os.path.isdir(os.path.join(base, os.path.relpath(path, root))):
            os.rmdir(path)
print(f"build-layer.sh: {dropped} files are already in the base", file=sys.stderr)
PY
echo "build-layer.sh: layer $(du -sh "$root" | cut -f1) on $base, building $tag" >&2
cat > "$work/Dockerfile" <<EOF
FROM $base
COPY rootfs/ /
LABEL dl-grader.layer="$*"
EOF
docker build -q -t "$tag" "$work" >/dev/null
