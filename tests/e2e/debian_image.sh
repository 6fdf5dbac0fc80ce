# A realistic image as the root: Debian bookworm minbase made by debootstrap (over 200 MB),
# imported as an OCI image layout, and a second layer that umoci repack made after apt-get
# installed python3-minimal in it (tests/e2e/debian_fixture.sh builds both tags once and keeps
# them in the user's cache). Debian's own tools run in the guest, and what they see is what a
# chroot into umoci's unpacking of the same image sees on the host.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
# The fixture and the kernel come from the machine's cache; the image cache is this test's own.
layout=$(TMPDIR="$TEST_TMP" bash "$here/debian_fixture.sh") || exit 1
kernel=$("$EXECVM" kernel path)
export XDG_CACHE_HOME="$TEST_TMP/cache"
mkdir -p "$XDG_CACHE_HOME"
in_image() {  # in_image TAG COMMAND [ARG...]
  local tag=$1
  shift
  "$EXECVM" --kernel "$kernel" --image "oci:$layout:$tag" -- "$@"
}

# The host's view of the python tag: umoci's unpacking of it, and a chroot into that, with the
# image's environment.
bundle=$TEST_TMP/bundle
if [ "$(id -u)" -ne 0 ]; then
  fail "this test compares with a chroot of the unpacked image: run it as root"
  finish
fi
TMPDIR="$TEST_TMP" umoci unpack --image "$layout:python" "$bundle" > "$TEST_TMP/umoci.log" 2>&1 ||
  { fail "umoci unpack of the python tag: $(tail -1 "$TEST_TMP/umoci.log")"; finish; }
on_host() {
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    chroot "$bundle/rootfs" "$@"
}
# check_same WHAT EXPECTED ACTUAL: as check_eq, for long outputs: shows where they differ.
check_same() {
  if [ "$2" == "$3" ]; then
    pass "$1 ($(wc -l <<< "$2") lines)"
  else
    fail "$1: the differences (< expected, > got):
$(diff <(echo "$2") <(echo "$3") | head -20)"
  fi
}

# Debian's tools.
out=$(in_image base apt-get --version 2>&1)
got=$(head -1 <<< "$out")
case $got in
  "apt "*) pass "apt-get --version: $got" ;;
  *) fail "apt-get --version: the first line is [$got]; all of it: $out" ;;
esac
check_eq "apt-get --version as on the host" "$(on_host apt-get --version | head -1)" "$got"
got=$(in_image base cat /etc/debian_version 2>&1)
case $got in
  12*) pass "/etc/debian_version: $got" ;;
  *) fail "/etc/debian_version is [$got], not 12.x" ;;
esac
check_eq "/etc/debian_version as on the host" "$(on_host cat /etc/debian_version)" "$got"
check_eq "id -un" root "$(in_image python id -un 2>&1)"

# The second layer: python3 where it was added, not below.
check_eq "python3 from the python tag" 1 "$(in_image python python3 -c 'print(1)' 2>&1)"
check_eq "no python3 in the base tag" "no python3" \
  "$(in_image base sh -c 'command -v python3 || echo no python3' 2>&1)"

# dpkg's database: the packages a chroot of the same tree lists.
ii='dpkg -l | grep -c "^ii"'
host_count=$(on_host sh -c "$ii")
[ "$host_count" -gt 50 ] || fail "the host's chroot lists only [$host_count] installed packages"
check_eq "dpkg -l: as many packages installed as in a chroot ($host_count)" "$host_count" \
  "$(in_image python sh -c "$ii" 2>&1)"
listing='dpkg -l | awk "/^ii/ {print \$2, \$3, \$4}"'
host_list=$(on_host sh -c "$listing")
got_list=$(in_image python sh -c "$listing" 2>&1)
check_same "dpkg -l: the same packages and versions as in a chroot" "$host_list" "$got_list"

# The files removed by the second layer (whiteouts in its tar: apt's lists and the packages
# debootstrap left in apt's cache): there in the base tag, gone in the python tag, as in
# umoci's unpacking.
mapfile -t removed < <(python3 - "$layout" python << 'EOF'
import json, os, sys, tarfile
layout, tag = sys.argv[1:]
blob = lambda digest: os.path.join(layout, "blobs", *digest.split(":"))
with open(os.path.join(layout, "index.json")) as f:
    manifests = json.load(f)["manifests"]
manifest = next(m for m in manifests
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
with open(blob(manifest["digest"])) as f:
    top = json.load(f)["layers"][-1]
with tarfile.open(blob(top["digest"])) as layer:
    for entry in layer:
        parent, name = os.path.split(entry.name)
        if name.startswith(".wh.") and name != ".wh..wh..opq":
            print("/" + os.path.join(parent, name[len(".wh."):]))
EOF
)
if [ "${#removed[@]}" -eq 0 ]; then
  fail "the python layer has no whiteout (apt's lists and cache should have been removed)"
else
  pass "the python layer removes ${#removed[@]} files and directories"
  presence='for p; do if [ -e "$p" ] || [ -L "$p" ]; then echo "present $p"; else echo "absent $p"; fi; done'
  want_absent=$(printf 'absent %s\n' "${removed[@]}")
  check_same "what the second layer removed is absent in the guest" "$want_absent" \
    "$(in_image python sh -c "$presence" sh "${removed[@]}" 2>&1)"
  check_same "... and in umoci's unpacking" "$want_absent" "$(on_host sh -c "$presence" sh "${removed[@]}")"
  check_same "... and present in the base tag" "$(printf 'present %s\n' "${removed[@]}")" \
    "$(in_image base sh -c "$presence" sh "${removed[@]}" 2>&1)"
fi

# The tree itself: names, types, owners, modes (setuid and setgid ones among them), sizes and
# link targets under /usr and dpkg's database; hardlinks; the contents of two large files.
tree='find /usr /var/lib/dpkg -xdev \( -type d -printf "%p %y %U:%G %m\n" \) -o -printf "%p %y %U:%G %m %s %l\n" | LC_ALL=C sort'
host_tree=$(on_host sh -c "$tree")
check_same "/usr and /var/lib/dpkg as in umoci's unpacking" "$host_tree" "$(in_image python sh -c "$tree" 2>&1)"
grep -q '^/usr/bin/su f 0:0 4755 ' <<< "$host_tree" || fail "no setuid /usr/bin/su in the host's listing"
links='stat -c "%h %i" /usr/bin/perl /usr/bin/perl5.36.0 | uniq -c | xargs | cut -d" " -f1,2'
check_eq "a hardlink of the base layer: one inode, two names" "2 2" "$(in_image python sh -c "$links" 2>&1)"
sums='sha256sum /usr/bin/python3.11 /usr/lib/x86_64-linux-gnu/libc.so.6'
check_eq "the contents of python3.11 and libc" "$(on_host sh -c "$sums")" "$(in_image python sh -c "$sums" 2>&1)"

# The image's own Cmd (bash) when no command is given: it reads the script on stdin.
got=$(echo 'echo "$0 ${BASH_VERSION%%.*}"' | "$EXECVM" --kernel "$kernel" --image "oci:$layout:python" 2>&1)
check_eq "the image's Cmd, bash, reading stdin" "bash 5" "$got"

check_no_qemu_left "debian image"
check_no_temp_files "debian image"
finish
