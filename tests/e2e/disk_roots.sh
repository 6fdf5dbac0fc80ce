# Roots that are not the host's: --root-disk with ext4, erofs and squashfs images (read-only
# under the overlay, or written through with :rw), --rootfs with a host directory, -u looked up
# in that root's passwd file, and the errors for what cannot be a root.
. "$(dirname "$0")/lib.sh"

# A busybox root, made without root: a directory, then filesystem images of it.
root="$TEST_TMP/rootfs"
mkdir -p "$root/bin" "$root/etc" "$root/home/app"
cp "$(command -v busybox || echo /bin/busybox)" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nwheel:x:10:root,app\napp:x:1000:\n' > "$root/etc/group"
echo 'NAME="execvm test root"' > "$root/etc/os-release"
mkfs.ext4 -q -d "$root" "$TEST_TMP/root.ext4" 32M
mksquashfs "$root" "$TEST_TMP/root.sqfs" -quiet -noappend -all-root > /dev/null
mkfs.erofs "$TEST_TMP/root.erofs" "$root" > /dev/null 2>&1

probe='cat /etc/os-release; id; echo written > /new.txt && cat /new.txt; echo "$PATH|$HOME|$(pwd)"'
want="NAME=\"execvm test root\"
uid=0(root) gid=0(root) groups=10(wheel)
written
/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|/root|/"
want_probe=$want
for fs in ext4 sqfs erofs; do
  got=$("$EXECVM" --root-disk "$TEST_TMP/root.$fs" -- /bin/sh -c "$probe" 2>&1)
  check_eq "--root-disk $fs: its files, root, writable, an image's environment" "$want" "$got"
done
# None of the environment of the caller comes in.
got=$(EXECVM_SECRET=1 "$EXECVM" --root-disk "$TEST_TMP/root.sqfs" -- /bin/sh -c 'echo "[$EXECVM_SECRET]"')
check_eq "the caller's environment stays out" "[]" "$got"
got=$(EXECVM_SECRET=1 "$EXECVM" --root-disk "$TEST_TMP/root.sqfs" -e EXECVM_SECRET -e B=2 -- /bin/sh -c 'echo "$EXECVM_SECRET $B"')
check_eq "-e NAME copies one variable" "1 2" "$got"

# The overlay is thrown away; the disk image is untouched.
sum=$(sha256sum < "$TEST_TMP/root.ext4")
"$EXECVM" --root-disk "$TEST_TMP/root.ext4" -- /bin/sh -c 'echo gone > /etc/os-release'
got=$("$EXECVM" --root-disk "$TEST_TMP/root.ext4" -- cat /etc/os-release)
check_eq "writes to a read-only root disk do not survive" 'NAME="execvm test root"' "$got"
check_eq "the image file is unchanged" "$sum" "$(sha256sum < "$TEST_TMP/root.ext4")"

# :rw writes through, and leaves the filesystem clean.
cp "$TEST_TMP/root.ext4" "$TEST_TMP/rw.ext4"
"$EXECVM" --root-disk "$TEST_TMP/rw.ext4:rw" -- /bin/sh -c 'echo kept > /kept.txt'
check_eq "--root-disk :rw exits 0" 0 $?
got=$("$EXECVM" --root-disk "$TEST_TMP/rw.ext4" -- cat /kept.txt)
check_eq "--root-disk :rw writes through" "kept" "$got"
e2fsck -fn "$TEST_TMP/rw.ext4" > "$TEST_TMP/fsck" 2>&1
check_eq "the written root is left clean" 0 $?

# -u and -w.
got=$("$EXECVM" --root-disk "$TEST_TMP/root.sqfs" -u app -w /work -- /bin/sh -c 'id; echo "$HOME"; pwd; touch x && stat -c %u:%g x')
want="uid=1000(app) gid=1000(app) groups=10(wheel)
/home/app
/work
1000:1000"
check_eq "-u NAME from the root's passwd, -w made for it" "$want" "$got"
got=$("$EXECVM" --root-disk "$TEST_TMP/root.sqfs" -u 4242:77 -- id)
check_eq "-u UID:GID without an entry" "uid=4242 gid=77" "$got"
got=$("$EXECVM" --root-disk "$TEST_TMP/root.sqfs" -u nobody -- id 2>&1)
status=$?
check_eq "-u with an unknown name" "125 execvm: unable to find user nobody: no matching entries in the image's /etc/passwd: give a uid instead (-u 1000 or -u 1000:1000)" "$status $got"

# --rootfs: a host directory as the root, read-only under the overlay.
got=$("$EXECVM" --rootfs "$root" -- /bin/sh -c "$probe" 2>&1)
check_eq "--rootfs: its files, writable, an image's environment" "$want_probe" "$got"
want_rootfs="NAME=\"execvm test root\"
written"
got=$("$EXECVM" --rootfs "$root" -- /bin/sh -c 'cat /etc/os-release; echo written > /new.txt && cat /new.txt')
check_eq "--rootfs DIR as the root" "$want_rootfs" "$got"
check_eq "--rootfs leaves the directory as it was" "" "$(ls "$root"/new.txt 2>/dev/null)"
mkdir -p "$TEST_TMP/data" && echo shared > "$TEST_TMP/data/f"
got=$("$EXECVM" --rootfs "$root" -v "$TEST_TMP/data:/data" -- /bin/sh -c 'cat /data/f; echo back > /data/g')
check_eq "--rootfs with a -v volume" "shared back" "$got $(cat "$TEST_TMP/data/g")"
got=$("$EXECVM" --root-disk "$TEST_TMP/root.sqfs" -v "$TEST_TMP/data:/data:ro" -- cat /data/f)
check_eq "--root-disk with a -v volume" "shared" "$got"

# What cannot be a root: one line, 125, before anything starts.
expect_error() {
  local what=$1 want=$2
  shift 2
  got=$("$EXECVM" "$@" 2>&1)
  check_eq "$what" "125 $want" "$? $got"
}
expect_error "--root-disk of a file that is no filesystem" \
  "execvm: --root-disk: $root/etc/passwd holds no ext4, erofs or squashfs filesystem: make one with mkfs.ext4 -d DIR, mkfs.erofs or mksquashfs" \
  --root-disk "$root/etc/passwd" -- true
expect_error "--root-disk of a missing file" \
  "execvm: --root-disk: cannot open $TEST_TMP/none.img: No such file or directory" \
  --root-disk "$TEST_TMP/none.img" -- true
expect_error "--root-disk :rw of squashfs" \
  "execvm: --root-disk: squashfs is read-only and cannot be written through: drop :rw; the guest still writes, to a throwaway layer" \
  --root-disk "$TEST_TMP/root.sqfs:rw" -- true
expect_error "--rootfs of a missing directory" \
  "execvm: --rootfs $TEST_TMP/none: not a directory: give a directory holding a root filesystem (an unpacked minirootfs, say)" \
  --rootfs "$TEST_TMP/none" -- true
expect_error "two roots" \
  "execvm: --rootfs and --root-disk do not go together: a run has one root: choose one of --bare, --image, --rootfs, --root-disk and --initrd" \
  --rootfs "$root" --root-disk "$TEST_TMP/root.sqfs" -- true
expect_error "--root-disk without a command" \
  "execvm: no command given: usage: execvm [OPTIONS] [--] COMMAND [ARG...]" \
  --root-disk "$TEST_TMP/root.sqfs"

check_no_qemu_left "disk roots"
check_no_temp_files "disk roots"
finish
