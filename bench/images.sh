#!/usr/bin/env bash
# execvm's image benchmarks, on the realistic image of the tests (tests/e2e/debian_fixture.sh
# builds it once: Debian bookworm minbase by debootstrap, and a python3 layer made by umoci;
# two gzip layers), each against a baseline measured in the same run:
#   1. first run: execvm --image oci:LAYOUT:python -- /bin/true with an empty image cache (a
#      new XDG_CACHE_HOME each run), in MB/s of uncompressed layer data  vs  the usual tools'
#      way from the same image to a VM's root disk: skopeo copy + umoci unpack + mkfs.ext4 -d
#      (runs of the two in turn, each after an untimed cleanup; medians)
#   2. cached run: execvm --image oci:LAYOUT:base -- /bin/true  vs  execvm --bare -- /bin/true
#      (runs in turn, medians, the median of the pair-by-pair ratios: paired.py)
#   3. memory: QEMU's peak RSS in image mode (execvm --stats)  vs  in a bare run; and QEMU's
#      own memory in image mode: its RSS less the guest RAM that the guest touched (the RSS of
#      QEMU's mapping of guest RAM in /proc/PID/smaps, read while the guest sleeps)
#
# usage: bench/images.sh [EXECVM]   (default build/execvm; RUNS=N pairs of cached runs, default
#        10; FIRST_RUNS=N pairs of first runs, default 3)
# Needs python3, skopeo, umoci and mkfs.ext4; root for
# the fixture's first build (umoci unpacks --rootless without root).
set -euo pipefail

EXECVM=$(realpath "${1:-build/execvm}")
RUNS=${RUNS:-10}
FIRST_RUNS=${FIRST_RUNS:-3}
MEMORY_MIB=512
cd "$(dirname "$0")"
LAYOUT=$(bash ../tests/e2e/debian_fixture.sh)
KERNEL=$("$EXECVM" kernel path)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# The image cache of the cached runs, warmed below; the first runs each get an empty one.
export XDG_CACHE_HOME=$WORK/cache
mkdir -p "$XDG_CACHE_HOME"
RUN="$EXECVM --kernel $KERNEL"

. ./lib.sh

# The bytes of the image's layers, uncompressed.
layer_bytes() {  # TAG
  python3 - "$LAYOUT" "$1" << 'EOF'
import gzip, json, os, sys
layout, tag = sys.argv[1:]
blob = lambda digest: os.path.join(layout, "blobs", *digest.split(":"))
with open(os.path.join(layout, "index.json")) as f:
    manifests = json.load(f)["manifests"]
manifest = next(m for m in manifests
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
total = 0
with open(blob(manifest["digest"])) as f:
    for layer in json.load(f)["layers"]:
        media = layer["mediaType"]
        if not media.endswith((".tar", ".tar+gzip")):
            sys.exit("a layer of media type %s: only plain and gzip tars are counted" % media)
        with (gzip.open if media.endswith("gzip") else open)(blob(layer["digest"]), "rb") as data:
            while chunk := data.read(1 << 20):
                total += len(chunk)
print(total)
EOF
}

echo "execvm image benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "accelerator: $("$EXECVM" doctor --no-boot | awk '$2 == "accelerator" {print $3}' | tr -d :)"
BYTES=$(layer_bytes python)
echo "image: the Debian bookworm fixture, tag python: $(python3 -c "print('%.0f' % ($BYTES / 1e6))") MB of layer data uncompressed"

# Does execvm run the image? (The base tag has no python3, unlike the host that runs this.)
# This first run also fills the image cache of the cached runs.
probe=$($RUN --image "oci:$LAYOUT:base" -- sh -c 'command -v python3 || echo "no python3"' 2> "$WORK/probe" || true)
if [ "$probe" = "no python3" ]; then
  image=1
  $RUN --image "oci:$LAYOUT:python" -- /bin/true
else
  image=0
  echo "execvm --image does not run the image here (it said: $(tail -1 <<< "$probe$(cat "$WORK/probe")")): only the baselines are measured"
fi

echo
echo "1. first run: execvm --image (empty cache) vs skopeo copy + umoci unpack + mkfs.ext4 -d ($FIRST_RUNS runs each)"
rootless=()
[ "$(id -u)" -eq 0 ] || rootless=(--rootless)
tools="skopeo copy -q oci:$LAYOUT:python oci:$WORK/tools/oci:x &&
  umoci unpack ${rootless[*]} --image $WORK/tools/oci:x $WORK/tools/bundle &&
  mkfs.ext4 -q -d $WORK/tools/bundle/rootfs $WORK/tools/root.ext4"
tools_prepare="rm -rf $WORK/tools && mkdir $WORK/tools"
# The disk sized to fit the unpacked tree: its blocks, a tenth more and 64 MiB for ext4's own.
sh -c "$tools_prepare && skopeo copy -q oci:$LAYOUT:python oci:$WORK/tools/oci:x &&
  umoci unpack ${rootless[*]} --image $WORK/tools/oci:x $WORK/tools/bundle" > /dev/null 2>&1
size_mib=$(($(du -s -B1M "$WORK/tools/bundle/rootfs" | cut -f1) * 11 / 10 + 64))
tools="$tools ${size_mib}M"
first_prepare="rm -rf $WORK/first && mkdir $WORK/first"
first="XDG_CACHE_HOME=$WORK/first $RUN --image oci:$LAYOUT:python -- /bin/true"
cached="$RUN --image oci:$LAYOUT:python -- /bin/true"
if [ "$image" = 1 ]; then
  read -r t_first t_cached t_tools < <(alternate "$FIRST_RUNS" "$first_prepare" "$first" true "$cached" \
    "$tools_prepare" "$tools")
  echo "   skopeo + umoci + mkfs.ext4 (baseline)  median $(secs "$t_tools")  $(mbs "$BYTES" "$t_tools")"
  echo "   execvm first run (conversion + boot)   median $(secs "$t_first")  $(mbs "$BYTES" "$t_first")"
  echo "   ratio                                  execvm $(ratio "$t_tools" "$t_first")x faster (target: 2x or more)"
  conversion=$(python3 -c "print($t_first - $t_cached)")
  echo "   execvm's conversion alone              $(secs "$conversion")  $(mbs "$BYTES" "$conversion") (the first run less a cached run, $(ms "$t_cached"))"
else
  read -r t_tools < <(alternate "$FIRST_RUNS" "$tools_prepare" "$tools")
  echo "   skopeo + umoci + mkfs.ext4 (baseline)  median $(secs "$t_tools")  $(mbs "$BYTES" "$t_tools")"
  echo "   execvm first run                       not measured"
fi
echo "   (the baseline's disk: ${size_mib} MiB ext4; umoci ${rootless[*]:-as root})"

echo
echo "2. cached run: execvm --image oci:LAYOUT:base -- /bin/true vs execvm --bare -- /bin/true ($RUNS runs each)"
if [ "$image" = 1 ]; then
  read -r run base r < <(python3 paired.py "$RUNS" "$RUN --image oci:$LAYOUT:base -- /bin/true" \
    "$RUN --bare -- /bin/true")
  echo "   execvm --bare -- /bin/true (baseline)  median $(ms "$base")"
  echo "   execvm --image, cached                 median $(ms "$run")"
  echo "   ratio                                  ${r}x the bare run (target: 1.3x or less)"
else
  read -r base < <(alternate "$RUNS" true "$RUN --bare -- /bin/true")
  echo "   execvm --bare -- /bin/true (baseline)  median $(ms "$base")"
  echo "   execvm --image, cached                 not measured"
fi

echo
echo "3. memory: QEMU's RSS with a ${MEMORY_MIB} MiB guest"
peak_rss() { $RUN --memory "${MEMORY_MIB}M" --stats "$@" 2>&1 | sed -n 's/.*QEMU peak RSS \([0-9]*\) MiB.*/\1/p'; }
bare_rss=$(peak_rss --bare -- /bin/true)
echo "   execvm --bare -- /bin/true (baseline)  peak $bare_rss MiB"
if [ "$image" = 1 ]; then
  image_rss=$(peak_rss --image "oci:$LAYOUT:base" -- /bin/true)
  echo "   execvm --image, cached, /bin/true      peak $image_rss MiB, $(ratio "$image_rss" "$bare_rss")x the bare run"
  # A guest that sleeps once it has said how much memory it uses; QEMU is found by a mark in
  # the environment that it inherits.
  export EXECVM_BENCH_MARK="images-$$-$RANDOM"
  $RUN --memory "${MEMORY_MIB}M" --image "oci:$LAYOUT:base" -- \
    sh -c 'grep -E "^(MemTotal|MemFree):" /proc/meminfo; echo sleeping; sleep 5' > "$WORK/meminfo" 2>&1 &
  job=$!
  while ! grep -q sleeping "$WORK/meminfo" && kill -0 "$job" 2> /dev/null; do sleep 0.1; done
  qemu=""
  for pid in $(pgrep -f qemu-system-x86_64 || true); do
    tr '\0' '\n' < "/proc/$pid/environ" 2> /dev/null | grep -qx "EXECVM_BENCH_MARK=$EXECVM_BENCH_MARK" && qemu=$pid
  done
  if [ -n "$qemu" ] && grep -q sleeping "$WORK/meminfo"; then
    # VmRSS, and the RSS of the mapping of exactly the guest's RAM size, in KiB.
    read -r rss ram < <(python3 - "$qemu" "$((MEMORY_MIB * 1024))" << 'EOF'
import sys
pid, ram_kib = sys.argv[1], int(sys.argv[2])
ram, size = 0, 0
with open("/proc/%s/smaps" % pid) as f:
    for line in f:
        key, _, value = line.partition(":")
        if key == "Size":
            size = int(value.split()[0])
        elif key == "Rss" and size == ram_kib:
            ram += int(value.split()[0])
with open("/proc/%s/status" % pid) as f:
    rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
print(rss, ram)
EOF
    )
    guest_used=$(awk '/^MemTotal:/ {t = $2} /^MemFree:/ {f = $2} END {print int((t - f) / 1024)}' "$WORK/meminfo")
    echo "   QEMU's RSS while the guest sleeps      $((rss / 1024)) MiB"
    echo "   guest RAM the guest touched            $((ram / 1024)) MiB (QEMU's RAM mapping; the guest counts $guest_used MiB in use: MemTotal - MemFree)"
    echo "   QEMU's own memory                      $(((rss - ram) / 1024)) MiB (the RSS less the guest RAM touched; target: under 100 MiB)"
  else
    echo "   QEMU's own memory                      not measured (the sleeping guest's QEMU was not found)"
  fi
  wait "$job" || true
else
  echo "   execvm --image                         not measured"
fi
