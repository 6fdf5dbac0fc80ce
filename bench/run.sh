#!/usr/bin/env bash
# execvm's benchmarks. Each prints its figures and a ratio against a baseline measured in the
# same run, on this machine (boot figures: runs of the two commands in turn, medians, and the
# median of the pair-by-pair ratios; see paired.py):
#   1. boot:   execvm --bare -- /bin/true  vs  a bare QEMU boot of the same kernel, with the
#              same QEMU arguments, whose initramfs holds only a PID 1 that powers off at once
#   2. kernel: that bare boot with execvm's kernel  vs  with Debian's cloud kernel (fetched
#              from Debian's archive into the cache), both under the same QEMU arguments
#   3. stdout: MB/s of a 256 MiB transfer out of the guest  vs  the same bytes through cat here;
#      stdin: 256 MiB into the guest (wc -c there)  vs  the same bytes into wc -c here
#   4. memory: QEMU's peak RSS for a 256 MiB guest running /bin/true (execvm --stats)
#   5. host root: execvm -- /bin/true over virtiofs and over 9p  vs  execvm --bare -- /bin/true
#   6. metadata: git status and find in a shared tree of 20,000 files: the host, virtiofs, 9p
#              (bench/fs.sh)
#   7. images: the Debian image's first and cached runs, QEMU's memory in image mode
#              (bench/images.sh)
#   8. registry: execvm image pull of a ~200 MB image from a local docker-registry  vs  skopeo
#              copy docker://... oci:DIR of the same image (bench/registry.sh)
#   9. pipelines: 1 GiB through a library cat | cat vs the shell's; a vm stage's throughput vs
#              execvm's own stdout (bench/pipeline.sh)
#
# usage: bench/run.sh [EXECVM]      (default build/execvm; RUNS=N for more or fewer runs)
# Needs hyperfine, gcc, cpio, python3, skopeo and docker-registry (scripts/setup.sh installs them).
set -euo pipefail

EXECVM=$(realpath "${1:-build/execvm}")
RUNS=${RUNS:-20}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/execvm
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$(dirname "$0")"

median() {  # median wall seconds of command N (0-based) in a hyperfine JSON export
  python3 -c 'import json,sys,statistics as s; r=json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]; print("%.4f" % s.median(r["times"]))' "$1" "$2"
}
. ./lib.sh

echo "execvm benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "accelerator: $("$EXECVM" doctor --no-boot | awk '$2 == "accelerator" {print $3}' | tr -d :)"

# The baseline's initramfs: one static PID 1 that powers off.
mkdir -p "$WORK/root/dev"
gcc -O2 -static -o "$WORK/root/init" poweroff_init.c
strip "$WORK/root/init"
(cd "$WORK/root" && printf 'init\ndev\n' | cpio -o -H newc --quiet > "$WORK/baseline.cpio")

KERNEL=$("$EXECVM" kernel path)
"$EXECVM" --bare -- /bin/true  # measures and caches the host's TSC frequency
TSC=$(awk '{print $2}' "$CACHE/host/tsc" 2>/dev/null || echo 0)
ACCEL=(-accel tcg,thread=single -cpu max,-erms,-fsrm)
[ -w /dev/kvm ] && "$EXECVM" doctor --no-boot | grep -q 'accelerator *kvm' && ACCEL=(-accel kvm -cpu host)

# Kept in step with src/host/qemu.cc: the same machine, kernel command line and options, minus
# the devices execvm adds (its channel and the entropy source).
bare_boot() {  # KERNEL ACPI(on|off) EXTRA_CMDLINE
  local cmdline="console=ttyS0 panic=-1 reboot=t rdinit=/init quiet random.trust_cpu=on noreplace-smp"
  [ "${ACCEL[1]}" = kvm ] || cmdline+=" tsc_early_khz=$TSC no_timer_check"
  echo "qemu-system-x86_64 -nodefaults -no-user-config -display none -name execvm" \
    "-machine microvm,acpi=$2,x-option-roms=off ${ACCEL[*]} -smp 1 -m 512M -no-reboot" \
    "-kernel $1 -initrd $WORK/baseline.cpio -append '$cmdline $3' -serial none"
}

echo
echo "1. boot: execvm --bare -- /bin/true vs a bare boot of the same kernel ($RUNS runs each)"
noapic=""; [ "${ACCEL[1]}" = kvm ] || noapic=noapictimer
read -r run base r < <(python3 paired.py "$RUNS" "$EXECVM --bare -- /bin/true" \
  "$(bare_boot "$KERNEL" off "$noapic")")
echo "   bare QEMU boot (baseline)     median $(ms "$base")"
echo "   execvm --bare -- /bin/true    median $(ms "$run")"
echo "   ratio                         ${r}x the bare boot"

echo
echo "2. kernel: the bare boot with execvm's kernel vs Debian's cloud kernel ($RUNS runs each)"
cloud_dir="$CACHE/bench/debian-cloud-kernel"
if [ ! -f "$cloud_dir/vmlinuz" ]; then
  pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  if [ -n "$pkg" ] && (cd "$WORK" && apt-get download "$pkg" > /dev/null 2>&1); then
    dpkg-deb -x "$WORK"/"$pkg"_*.deb "$WORK/cloud"
    mkdir -p "$cloud_dir"
    cp "$WORK"/cloud/boot/vmlinuz-* "$cloud_dir/vmlinuz"
    echo "$pkg" > "$cloud_dir/package"
  fi
fi
if [ -f "$cloud_dir/vmlinuz" ]; then
  # Both with ACPI on (the cloud kernel finds its hardware there) and no noapictimer (unsafe
  # with ACPI): the same QEMU arguments for both.
  read -r cloud ours r < <(python3 paired.py "$RUNS" "$(bare_boot "$cloud_dir/vmlinuz" on "")" \
    "$(bare_boot "$KERNEL" on "")")
  echo "   execvm's kernel               median $(ms "$ours")"
  echo "   Debian's $(cat "$cloud_dir/package")  median $(ms "$cloud")"
  echo "   ratio                         execvm's kernel boots ${r}x faster"
else
  echo "   skipped: Debian's cloud kernel could not be fetched (apt-get download linux-image-cloud-amd64)"
fi

echo
echo "3. stdout and stdin: 256 MiB out of the guest and into it vs the same bytes here"
bytes=268435456
# throughput NAME GUEST_COMMAND EMPTY_GUEST_COMMAND HOST_COMMAND HOST_NAME: MB/s of the guest's
# command less its empty run (the boot), against the host's command.
throughput() {
  hyperfine -w 1 -r 5 --export-json "$WORK/$1.json" "$2" "$3" "$4" > /dev/null 2>&1
  local full empty host guest_rate host_rate
  full=$(median "$WORK/$1.json" 0)
  empty=$(median "$WORK/$1.json" 1)
  host=$(median "$WORK/$1.json" 2)
  guest_rate=$(python3 -c "print('%.0f' % ($bytes / 1e6 / ($full - $empty)))")
  host_rate=$(python3 -c "print('%.0f' % ($bytes / 1e6 / $host))")
  printf '   %-29s %s MB/s (the run less a run moving nothing)\n' "$1" "$guest_rate"
  printf '   %-29s %s MB/s\n' "$5" "$host_rate"
  echo "   ratio                         $(ratio "$guest_rate" "$host_rate") of the host's pipe"
}
throughput "guest -> host stdout" "$EXECVM --bare -- head -c $bytes /dev/zero | cat" \
  "$EXECVM --bare -- head -c 0 /dev/zero | cat" "head -c $bytes /dev/zero | cat" "cat on the host"
throughput "host -> guest stdin" "head -c $bytes /dev/zero | $EXECVM --bare -- wc -c" \
  "head -c 0 /dev/zero | $EXECVM --bare -- wc -c" "head -c $bytes /dev/zero | wc -c" \
  "wc -c on the host"

echo
echo "4. memory: QEMU's peak RSS for a 256 MiB guest running /bin/true"
rss=$("$EXECVM" --bare --memory 256M --stats -- /bin/true 2>&1 | sed -n 's/.*QEMU peak RSS \([0-9]*\) MiB.*/\1/p')
base_rss=$( { /usr/bin/time -f '%M' sh -c "$(bare_boot "$KERNEL" off "$noapic" | sed 's/-m 512M/-m 256M/')" ; } 2>&1 | tail -1)
echo "   execvm                        $rss MiB"
echo "   bare QEMU boot (baseline)     $((base_rss / 1024)) MiB"

echo
echo "5. host root: execvm -- /bin/true vs execvm --bare -- /bin/true ($RUNS runs each)"
for fs in virtiofs 9p; do
  read -r run base r < <(python3 paired.py "$RUNS" "$EXECVM --share-fs $fs -- /bin/true" \
    "$EXECVM --bare -- /bin/true")
  echo "   execvm --bare -- /bin/true (baseline)   median $(ms "$base")"
  echo "   execvm --share-fs $fs -- /bin/true$( [ $fs = 9p ] && echo "      " || echo " ")median $(ms "$run")"
  echo "   ratio                                   ${r}x the bare run"
done

echo
echo "6. metadata: git status and find in a shared work tree"
RUNS=${FS_RUNS:-3} bash fs.sh "$EXECVM"

echo
echo "7. images: the Debian image's first and cached runs, and QEMU's memory in image mode (bench/images.sh)"
RUNS=$RUNS bash images.sh "$EXECVM"

echo
echo "8. registry: execvm image pull vs skopeo copy from a local registry (bench/registry.sh)"
RUNS=${REGISTRY_RUNS:-5} bash registry.sh "$EXECVM"

echo
echo "9. pipelines: libexecvm's cat | cat and a vm stage (bench/pipeline.sh)"
bash pipeline.sh "$EXECVM"
