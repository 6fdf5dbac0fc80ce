#!/usr/bin/env bash
# The realistic image of the e2e tests and of bench/images.sh: Debian bookworm minbase as
# debootstrap makes it, as an OCI image layout with two tags:
#   base    one layer: the debootstrap tree (owners, modes, device nodes, hardlinks and xattrs
#           kept), its config Debian's (PATH, Cmd bash)
#   python  base and a second layer that umoci repack made after apt-get installed
#           python3-minimal in the unpacked tree and emptied apt's lists and caches: a real diff
#           made by a real tool, with whiteouts for the files apt removed
# Prints the layout's directory, and nothing else, on stdout; progress lines go to stderr.
#
# The layout is built once and kept in ${XDG_CACHE_HOME:-$HOME/.cache}/execvm-tests/debian-bookworm/
# (built in a temporary directory beside it and renamed into place when complete; one build at a
# time, under a lock). Building needs root, debootstrap, umoci and Debian's archive (a few
# minutes); using a cached layout needs none of them. Any failure is one line on stderr and exit 1.
#
# usage: tests/e2e/debian_fixture.sh        (DEBIAN_MIRROR=URL to build from another mirror)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# Raise it when what is built changes: a cached layout of another version is rebuilt.
VERSION=1
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PARENT=${XDG_CACHE_HOME:-$HOME/.cache}/execvm-tests
DEST=$PARENT/debian-bookworm
# The image's config, as Debian's own images have it.
CONFIG='{"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["bash"]}'

started=$SECONDS
say() { echo "debian fixture: $* ($((SECONDS - started)) s)" >&2; }
die() {
  echo "debian fixture: $*" >&2
  exit 1
}

complete() { [ "$(cat "$DEST/version" 2> /dev/null)" = "$VERSION" ] && [ -f "$DEST/layout/index.json" ]; }

if complete; then
  echo "$DEST/layout"
  exit 0
fi

mkdir -p "$PARENT" || die "cannot create $PARENT"
exec 9> "$PARENT/debian-bookworm.lock"
if ! flock -n 9; then
  say "waiting for another build of the Debian image to finish"
  flock 9
fi
if complete; then
  echo "$DEST/layout"
  exit 0
fi

[ "$(id -u)" -eq 0 ] ||
  die "building the Debian test image needs root (debootstrap, chroot): run this once as root; it is then kept in $DEST"
for tool in debootstrap umoci chroot python3 tar findmnt; do
  command -v "$tool" > /dev/null || die "$tool not found: install it (scripts/setup.sh installs the test tools)"
done

# Unmounts whatever is mounted at or below DIR, deepest first.
unmount_under() {
  local target
  findmnt -rn -o TARGET | awk -v d="$1" 'index($0, d "/") == 1 || $0 == d' | sort -r |
    while read -r target; do
      umount -l "$target" || true
    done
}
# Removes a tree (never crossing into a filesystem still mounted below it).
remove_tree() {
  unmount_under "$1"
  rm -rf --one-file-system "$1"
}

# What a build that was killed left, and a cached layout of another version.
for stale in "$PARENT"/.debian-bookworm.*; do
  [ -e "$stale" ] && remove_tree "$stale"
done
[ -e "$DEST" ] && remove_tree "$DEST"

reach='
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1] + "/dists/bookworm/Release", timeout=30).read(1)
except Exception as e:
    sys.exit(str(getattr(e, "reason", e)))'
if ! err=$(python3 -c "$reach" "$MIRROR" 2>&1); then
  die "cannot reach Debian's archive at $MIRROR ($err): the Debian test image is built from it once, then kept in $DEST"
fi

TMP=$(mktemp -d "$PARENT/.debian-bookworm.XXXXXX")
trap 'remove_tree "$TMP"' EXIT
trap 'exit 1' INT TERM HUP
trap 'die "failed at line $LINENO: $BASH_COMMAND"' ERR
root=$TMP/root
layout=$TMP/out/layout
bundle=$TMP/bundle

# Shows a log's last lines and fails with one line.
fail_with_log() {
  tail -n 15 "$2" | sed 's/^/    /' >&2
  die "$1"
}

say "debootstrap --variant=minbase bookworm from $MIRROR (a few minutes)"
# debootstrap's stage lines, not the one line per package.
if ! debootstrap --variant=minbase bookworm "$root" "$MIRROR" 2>&1 |
  tee "$TMP/debootstrap.log" |
  grep --line-buffered -E '^[IWE]: ' |
  grep --line-buffered -v -E '^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) [a-z0-9][a-z0-9.+:-]*( [0-9][^ ]*|\.\.\.)$' |
  sed -u 's/^/debian fixture: debootstrap: /' >&2; then
  grep -q -E 'Failed getting release file|Couldn.t download|Failure trying to run' "$TMP/debootstrap.log" &&
    fail_with_log "debootstrap could not fetch from Debian's archive ($MIRROR)" "$TMP/debootstrap.log"
  fail_with_log "debootstrap failed (its log above)" "$TMP/debootstrap.log"
fi
[ -z "$(findmnt -rn -o TARGET | awk -v d="$root/" 'index($0, d) == 1')" ] || die "debootstrap left filesystems mounted in $root"
# Facts of this machine that debootstrap copied in: a container runtime provides them.
rm -f "$root/etc/resolv.conf" "$root/etc/hostname"

say "the base layer: a tar of the tree, owners, devices, hardlinks and xattrs kept"
(cd "$root" && find . -mindepth 1 -maxdepth 1 -printf '%P\0' | LC_ALL=C sort -z |
  tar --create --file "$TMP/base.tar" --format=pax --numeric-owner --xattrs --xattrs-include='*' \
    --sort=name --null --files-from -)
base_bytes=$(stat -c %s "$TMP/base.tar")
remove_tree "$root"
python3 "$here/oci_image.py" "$layout" --tag base --layer "$TMP/base.tar" --config "$CONFIG"
rm -f "$TMP/base.tar"

say "the python layer: umoci unpack, apt-get install python3-minimal in a chroot, umoci repack"
umoci unpack --image "$layout:base" "$bundle" > "$TMP/umoci.log" 2>&1 ||
  fail_with_log "umoci unpack failed" "$TMP/umoci.log"
rootfs=$bundle/rootfs
mount -t proc proc "$rootfs/proc"
cp -L /etc/resolv.conf "$rootfs/etc/resolv.conf"
if ! env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C HOME=/root \
  chroot "$rootfs" sh -ec '
    apt-get update
    apt-get install -y --no-install-recommends python3-minimal
    apt-get clean
    rm -rf /var/lib/apt/lists/*' > "$TMP/apt.log" 2>&1; then
  grep -q -E '^(Err|W: Failed to fetch|E: Failed to fetch)' "$TMP/apt.log" &&
    fail_with_log "apt-get in the chroot could not fetch from Debian's archive ($MIRROR)" "$TMP/apt.log"
  fail_with_log "apt-get install python3-minimal failed in the chroot" "$TMP/apt.log"
fi
{ grep '^Setting up ' "$TMP/apt.log" || true; } | sed 's/^/debian fixture: apt: /' >&2
rm -f "$rootfs/etc/resolv.conf"
umount "$rootfs/proc"
umoci repack --image "$layout:python" "$bundle" > "$TMP/umoci.log" 2>&1 ||
  fail_with_log "umoci repack failed" "$TMP/umoci.log"
remove_tree "$bundle"

tags=$(umoci ls --layout "$layout" | sort | xargs)
[ "$tags" = "base python" ] || die "the layout has the tags [$tags], not [base python]"
[ "$base_bytes" -gt 150000000 ] || die "the base layer is only $base_bytes bytes: not the realistic image wanted"
echo "$VERSION" > "$TMP/out/version"
# Readable by all (umoci writes its blobs 0600), so that the tests can also run as another user.
chmod -R a+rX "$TMP/out"
mv -T "$TMP/out" "$DEST"
say "done: $DEST/layout (tags base and python, base layer $((base_bytes / 1000000)) MB)"
echo "$DEST/layout"
