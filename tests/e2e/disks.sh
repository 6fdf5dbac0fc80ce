# --disk: files attached as virtio block devices, found in the guest by serial under
# /dev/disk/by-id, read-only when asked, written through to the host file otherwise; too many
# disks for microvm's slots are refused before the VM starts.
. "$(dirname "$0")/lib.sh"

for tool in mkfs.ext4 debugfs busybox; do
  command -v $tool > /dev/null || { echo "$tool is needed" >&2; exit 1; }
done
bb=$(command -v busybox)
cd "$TEST_TMP" || exit 1

# An ext4 image made from a directory (no root needed), and plain files.
mkdir content
echo "on the disk" > content/hello.txt
mkfs.ext4 -q -d content data.img 8M > /dev/null 2>&1 || fail "mkfs.ext4 -d"
truncate -s 1M raw.img
truncate -s 1M a-very-long-name-of-a-disk.img

# By serial: the file's name, serial=NAME, a long name cut to 20 bytes.
links=$("$EXECVM" --disk data.img:ro --disk raw.img:serial=scratch --disk a-very-long-name-of-a-disk.img \
  -- sh -c 'cd /dev/disk/by-id && for l in *; do echo "$l $(cat /sys/block/$(basename $(readlink $l))/serial)"; done')
check_eq "disks by serial" "virtio-a-very-long-name-of- a-very-long-name-of-
virtio-data.img data.img
virtio-scratch scratch" "$links"

# The same in the bare root.
check_eq "disks by serial (bare)" "virtio-data.img" \
  "$("$EXECVM" --bare --disk data.img:ro -- "$bb" ls /dev/disk/by-id)"

# Mounted under --sudo, a file of it is read.
check_eq "mount a disk and read it" "on the disk" \
  "$("$EXECVM" --sudo --disk data.img:ro -- sh -c 'mkdir -p /tmp/m &&
    mount -o ro /dev/disk/by-id/virtio-data.img /tmp/m && cat /tmp/m/hello.txt' 2>&1)"

# :ro: the guest sees a read-only device and cannot write to it.
before=$(sha256sum < data.img)
check_eq "a read-only disk is read-only" "1 refused" \
  "$("$EXECVM" --sudo --disk data.img:ro -- sh -c 'd=$(readlink -f /dev/disk/by-id/virtio-data.img);
    printf "%s " $(cat /sys/block/${d#/dev/}/ro); echo x | dd of=$d conv=notrunc 2> /dev/null && echo written || echo refused')"
check_eq "a read-only disk is unchanged" "$before" "$(sha256sum < data.img)"
check_eq "a read-only disk mounts read-only" "refused" \
  "$("$EXECVM" --sudo --disk data.img:ro -- sh -c 'mkdir -p /tmp/m && mount /dev/disk/by-id/virtio-data.img /tmp/m 2> /dev/null;
    touch /tmp/m/new 2> /dev/null && echo written || echo refused')"

# A writable disk: what the guest writes is in the host's file after the run, through a
# filesystem (unmounted) and on the raw device (left to the agent's sync at the end).
"$EXECVM" --sudo --disk data.img -- sh -c 'mkdir -p /tmp/m && mount /dev/disk/by-id/virtio-data.img /tmp/m &&
  echo "from the guest" > /tmp/m/new.txt && umount /tmp/m'
check_eq "a writable disk's filesystem is written" "0 from the guest" \
  "$? $(debugfs -R 'cat /new.txt' data.img 2> /dev/null)"
"$EXECVM" --sudo --disk raw.img -- sh -c 'echo raw-write | dd of=/dev/disk/by-id/virtio-raw.img conv=notrunc 2> /dev/null'
check_eq "a writable raw disk is written" "0 raw-write" "$? $(head -c 9 raw.img)"

# microvm's 8 slots: the channel, the rng and the root's 9p devices (the root and the work
# tree's share) take 4, so 4 disks fit and a fifth is refused before the VM starts.
for i in 1 2 3 4 5; do truncate -s 1M "d$i.img"; done
check_eq "four disks fit beside a 9p root" "4" \
  "$("$EXECVM" --share-fs 9p --disk d1.img --disk d2.img --disk d3.img --disk d4.img -- sh -c 'ls /dev/disk/by-id | wc -l')"
"$EXECVM" --share-fs 9p --disk d1.img --disk d2.img --disk d3.img --disk d4.img --disk d5.img -- true 2> err
check_eq "too many disks: 125" "125" "$?"
grep -q "too many disks: microvm has 8 virtio-mmio slots.* take 4, so 4 --disk fit, not 5" err ||
  fail "too many disks: the message: $(cat err)"

# A missing file, and one file attached read-write twice: one line each, before the boot.
"$EXECVM" --disk no-such.img -- true 2> err
check_eq "a missing disk file" "125 execvm: --disk no-such.img: cannot open $TEST_TMP/no-such.img for writing: No such file or directory: give the path of a disk image" \
  "$? $(cat err)"
"$EXECVM" --disk raw.img --disk ./raw.img:ro:serial=again -- true 2> err
check_eq "a file attached read-write twice" "125" "$?"
grep -q "one of them writes to it" err || fail "attached twice: the message: $(cat err)"

check_no_qemu_left "disks"
check_no_temp_files "disks"
finish
