#!/usr/bin/env bash
# execvm's registry pull benchmark: pull throughput from a local registry (Debian's
# docker-registry on 127.0.0.1, plain HTTP, started here) of an image of about 200 MB (busybox
# and four gzip layers of random data, which gzip cannot shrink):
#   execvm image pull into an empty image cache  vs  skopeo copy docker://... oci:DIR of the
#   same image (runs in turn, each after an untimed cleanup; medians), in MB/s of the image's
#   blobs (manifest, config and layers, as the registry stores them). execvm image pull also
#   converts the image into its root filesystem, which skopeo does not: a third command, the
#   pull again with the blobs cached and the root filesystem removed, measures that conversion,
#   and the pull less it is the fetch alone.
#
# usage: bench/registry.sh [EXECVM]   (default build/execvm; RUNS=N pairs, default 5;
#        SIZE_MB=N, the random data, default 200)
# Needs docker-registry, skopeo and python3 (scripts/setup.sh installs them).
set -euo pipefail

EXECVM=$(realpath "${1:-build/execvm}")
RUNS=${RUNS:-5}
SIZE_MB=${SIZE_MB:-200}
cd "$(dirname "$0")"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# The tests' registry helpers: the registry is stopped, and WORK removed, on exit.
TEST_TMP=$WORK
. ../tests/e2e/registry_lib.sh

. ./lib.sh

echo "execvm registry benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

# The image: busybox, then four layers of random data, gzip (level 1, as oci_image.py writes).
layout="$WORK/layout"
python3 - "$layout" "$SIZE_MB" << 'EOF'
import io, os, sys, tarfile
sys.path.insert(0, os.path.join("..", "tests", "e2e"))
import oci_image
layout, size_mb = sys.argv[1], int(sys.argv[2])
layers = [oci_image.busybox_layer()]
for i in range(4):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        oci_image.add_dir(tar, "data%d" % i)
        for j in range(4):
            oci_image.add_file(tar, "data%d/part%d" % (i, j), os.urandom(size_mb * 2**20 // 16))
    layers.append(out.getvalue())
oci_image.write_image(layout, "bench", layers, {"Cmd": ["ls", "-l", "/"]})
EOF
BYTES=$(python3 - "$layout" << 'EOF'
import json, os, sys
layout = sys.argv[1]
blob = lambda d: os.path.join(layout, "blobs", *d.split(":"))
with open(os.path.join(layout, "index.json")) as f:
    top = json.load(f)["manifests"][0]
with open(blob(top["digest"])) as f:
    manifest = json.load(f)
print(top["size"] + manifest["config"]["size"] + sum(l["size"] for l in manifest["layers"]))
EOF
)
ID=$(config_digest "$layout" bench)
start_registry bench
push_image "$layout" bench "$bench/bench:1"
REF="$bench/bench:1"
echo "image: $REF, $(python3 -c "print('%.0f' % ($BYTES / 1e6))") MB of blobs (busybox and 4 gzip layers of random data)"

pull_prepare="rm -rf $WORK/cache"
pull="XDG_CACHE_HOME=$WORK/cache $EXECVM image pull -q --tls-verify=false $REF"
skopeo_prepare="rm -rf $WORK/skopeo"
skopeo="TMPDIR=$REG_TMPDIR skopeo copy -q --src-tls-verify=false docker://$REF oci:$WORK/skopeo:bench"

# Does execvm pull it? (The image ID on stdout.)
got=$(sh -c "$pull_prepare && $pull" 2> "$WORK/probe" || true)
echo
echo "1. pull: execvm image pull (empty cache) vs skopeo copy docker://... oci:DIR ($RUNS runs each)"
# The conversion alone: the pull just made, its root filesystem removed (the blobs stay).
convert_prepare="rm -rf $WORK/cache/execvm/images/rootfs"
if [ "$got" = "$ID" ]; then
  read -r t_pull t_convert t_skopeo < <(alternate "$RUNS" "$pull_prepare" "$pull" \
    "$convert_prepare" "$pull" "$skopeo_prepare" "$skopeo")
  t_fetch=$(python3 -c "print($t_pull - $t_convert)")
  echo "   skopeo copy (baseline)        median $(secs "$t_skopeo")  $(mbs "$BYTES" "$t_skopeo")"
  echo "   execvm image pull             median $(secs "$t_pull")  $(mbs "$BYTES" "$t_pull") (fetch and conversion)"
  echo "   ratio                         execvm $(ratio "$t_skopeo" "$t_pull")x skopeo's rate (target: 1.00x or more)"
  echo "   execvm's conversion alone     median $(secs "$t_convert") (the pull with the blobs cached)"
  echo "   execvm's fetch alone          $(secs "$t_fetch")  $(mbs "$BYTES" "$t_fetch") (the pull less the conversion), $(ratio "$t_skopeo" "$t_fetch")x skopeo's rate"
else
  read -r t_skopeo < <(alternate "$RUNS" "$skopeo_prepare" "$skopeo")
  echo "   skopeo copy (baseline)        median $(secs "$t_skopeo")  $(mbs "$BYTES" "$t_skopeo")"
  echo "   execvm image pull             not measured (it printed [$got], not $ID: $(tail -1 "$WORK/probe"))"
fi
