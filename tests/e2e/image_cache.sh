# The image cache and `execvm image`: two concurrent first runs convert once, a damaged entry is
# rebuilt, broken and hostile images are one line and exit 125 and leave nothing behind (in the
# cache or anywhere else), and ls, inspect, rm and prune keep what is used.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
# The kernel stays the machine's: each cache below is this test's own.
kernel=$(HOME=$HOME XDG_CACHE_HOME= "$EXECVM" kernel path)
run() { "$EXECVM" --kernel "$kernel" "$@"; }
img() { "$EXECVM" image "$@"; }
use_cache() {  # use_cache NAME: a fresh cache; $images is its image directory
  export XDG_CACHE_HOME="$TEST_TMP/cache-$1"
  mkdir -p "$XDG_CACHE_HOME"
  images="$XDG_CACHE_HOME/execvm/images"
}
# The files of the cache but its lock files (empty: an flock needs a file, and removing one
# that a waiting run has open would let two runs build at once).
cache_files() { find "$images" -type f ! \( -name '*.lock' -size 0 \) 2>/dev/null | sort; }
inode() { stat -c %i "$1" 2>/dev/null; }

# The images: a layout with `base` (busybox and a layer of its own) and `other` (one more layer).
layout="$TEST_TMP/layout"
mkdir -p "$TEST_TMP/ctx/data" "$TEST_TMP/ctx2"
echo "from the cache" > "$TEST_TMP/ctx/data/hello"
head -c 300000 /dev/urandom > "$TEST_TMP/ctx/data/noise"
echo "another layer" > "$TEST_TMP/ctx2/other"
python3 "$here/oci_image.py" "$layout" --tag base --config '{"Cmd": ["cat", "/data/hello"]}' \
  --layer busybox --layer "$TEST_TMP/ctx"
python3 "$here/oci_image.py" "$layout" --tag other --config '{"Cmd": ["cat", "/other"]}' \
  --layer busybox --layer "$TEST_TMP/ctx" --layer "$TEST_TMP/ctx2"
skopeo copy -q "oci:$layout:base" "docker-archive:$TEST_TMP/base.docker.tar:test/base:1"
skopeo copy -q "oci:$layout:base" "oci-archive:$TEST_TMP/base.oci.tar:base"
base="oci:$layout:base"

# The first run: the entry's name, and what it holds.
use_cache first
check_eq "inspect before any run" "null" \
  "$(img inspect "$base" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["rootfs"]))')"
check_eq "inspect of a layout writes nothing to the cache" "" "$(find "$images" -type f 2>/dev/null)"
check_eq "a first run" "from the cache" "$(run --image "$base" 2>&1)"
entry=$(cd "$images/rootfs" && ls -- *.squashfs)
check_eq "one root filesystem" 1 "$(wc -w <<< "$entry")"
chain=$(img inspect "$base" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chainID"])')
case $entry in "${chain#sha256:}".v*.squashfs) pass "the entry is named by the chain ID" ;;
  *) fail "the entry $entry is not named by the chain ID $chain" ;; esac
size=$(stat -c %s "$images/rootfs/$entry")
record=$(cat "$images/rootfs/$entry.ok")

# Two concurrent first runs, each under strace: what each creates and renames in the cache is
# the observable. `conversions LOG...` counts the temporary images created and renamed into
# place as the entry.
have_strace=$(command -v strace)
# (where ptrace is not allowed, the count is left out)
[ -n "$have_strace" ] && ! strace -qq -e trace=none true 2> /dev/null && have_strace=
traced() {  # traced LOG ARGS...: run ARGS, its system calls on files in LOG
  local log=$1
  shift
  if [ -n "$have_strace" ]; then
    strace -f -qq --seccomp-bpf -e trace=openat,rename,renameat,renameat2 -o "$log" \
      "$EXECVM" --kernel "$kernel" "$@"
  else
    run "$@"
  fi
}
conversions() {
  local e=${entry//./\\.}
  local made renamed
  made=$(cat "$@" | grep -cE "/\.$e\.tmp\.[0-9]+\", [^)]*O_CREAT")
  renamed=$(cat "$@" | grep -cE "rename[a-z0-9]*\(.*/\.$e\.tmp\.[0-9]+\", ([A-Z_]+, )?\"[^\"]*/$e\"")
  echo "$made made, $renamed renamed"
}
concurrent_runs() {  # concurrent_runs WHAT HOLD: two first runs at once; HOLD: hold the lock first
  local what=$1 hold=$2 lock i waiting
  use_cache "$what"
  lock="$images/rootfs/$entry.lock"
  if [ "$hold" = yes ]; then
    # Both runs reach the entry's lock and wait there, then race for it: the one that gets it
    # second must find the entry made.
    mkdir -p "$images/rootfs"
    exec 9> "$lock"
    flock 9
  fi
  traced "$TEST_TMP/$what.1.strace" --image "$base" > "$TEST_TMP/$what.1.out" 2>&1 9>&- &
  local one=$!
  traced "$TEST_TMP/$what.2.strace" --image "$base" > "$TEST_TMP/$what.2.out" 2>&1 9>&- &
  local two=$!
  if [ "$hold" = yes ]; then
    waiting=0
    for i in $(seq 1200); do
      waiting=$(grep -cE -- "-> FLOCK .*:$(inode "$lock") " /proc/locks)
      [ "$waiting" -ge 2 ] && break
      kill -0 $one 2> /dev/null || kill -0 $two 2> /dev/null || break  # both ended: failed
      sleep 0.1
    done
    check_eq "$what: both runs wait on the entry's lock" 2 "$waiting"
    flock -u 9
    exec 9>&-
  fi
  wait $one
  local s1=$?
  wait $two
  local s2=$?
  check_eq "$what: both runs succeed" "0 0" "$s1 $s2"
  check_eq "$what: the first's output" "from the cache" "$(cat "$TEST_TMP/$what.1.out")"
  check_eq "$what: the second's output" "from the cache" "$(cat "$TEST_TMP/$what.2.out")"
  check_eq "$what: one root filesystem" "$entry" "$(cd "$images/rootfs" && ls -- *.squashfs)"
  check_eq "$what: no temporary file left" "" "$(find "$images" -name '.*tmp*')"
  check_eq "$what: the entry is whole" "$record" "$(cat "$images/rootfs/$entry.ok")"
  if [ -n "$have_strace" ]; then
    check_eq "$what: converted once" "1 made, 1 renamed" \
      "$(conversions "$TEST_TMP/$what".[12].strace)"
  fi
}
concurrent_runs "concurrent" no
concurrent_runs "held" yes
[ -n "$have_strace" ] || echo "note: no strace: conversions were not counted"

# A damaged entry is rebuilt (a new file renamed into place: another inode), an intact one is not.
use_cache first
damaged() {  # damaged WHAT: run once more and check that the entry was rebuilt
  local before
  before=$(inode "$images/rootfs/$entry")
  check_eq "$1: the run succeeds" "from the cache" "$(run --image "$base" 2>&1)"
  check_eq "$1: the entry is rebuilt" "$size $record" \
    "$(stat -c %s "$images/rootfs/$entry") $(cat "$images/rootfs/$entry.ok")"
  [ "$(inode "$images/rootfs/$entry")" != "$before" ] || fail "$1: the entry was not replaced"
  check_eq "$1: no temporary file left" "" "$(find "$images" -name '.*tmp*')"
}
before=$(inode "$images/rootfs/$entry")
check_eq "a cached run" "from the cache" "$(run --image "$base" 2>&1)"
check_eq "a cached run keeps the entry" "$before" "$(inode "$images/rootfs/$entry")"
truncate -s $((size / 2)) "$images/rootfs/$entry"
damaged "an entry truncated to half"
echo "execvm rootfs 1
size 4096
bytes_used 4000
metadata_sha256 0" > "$images/rootfs/$entry.ok"
damaged "a damaged record"
rm "$images/rootfs/$entry.ok"
damaged "a missing record"
: > "$images/rootfs/$entry.ok"
damaged "an empty record"
# A byte of its tables (at the end of the image) changed, the size kept.
used=$(sed -n 's/^bytes_used //p' "$images/rootfs/$entry.ok")
printf '\x5a' | dd of="$images/rootfs/$entry" bs=1 seek=$((used - 3)) conv=notrunc status=none
damaged "a byte of the entry's tables changed"

# Broken images: one line, exit 125, nothing in the cache.
python3 - "$layout" "$TEST_TMP" <<'EOF'
import hashlib, json, os, shutil, sys
layout, tmp = sys.argv[1], sys.argv[2]

def blob(d, digest):
    return os.path.join(d, "blobs", "sha256", digest.split(":")[1])

def copy(name):
    d = os.path.join(tmp, name)
    shutil.copytree(layout, d)
    with open(os.path.join(d, "index.json")) as f:
        index = json.load(f)
    index["manifests"] = [m for m in index["manifests"]
                          if m["annotations"]["org.opencontainers.image.ref.name"] == "base"]
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump(index, f)
    with open(blob(d, index["manifests"][0]["digest"])) as f:
        return d, index, json.load(f)

def put(d, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(blob(d, digest), "wb") as f:
        f.write(data)
    return digest

def remanifest(d, index, manifest):
    data = json.dumps(manifest).encode()
    index["manifests"][0]["digest"] = put(d, data)
    index["manifests"][0]["size"] = len(data)
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump(index, f)

# A layer blob with one byte flipped (its size kept).
d, index, manifest = copy("corrupt")
path = blob(d, manifest["layers"][1]["digest"])
data = bytearray(open(path, "rb").read())
data[len(data) // 2] ^= 0xff
open(path, "wb").write(bytes(data))
print(manifest["layers"][1]["digest"], file=open(os.path.join(tmp, "corrupt.digest"), "w"))

# The manifest names its second layer by a digest its content does not have.
d, index, manifest = copy("wrong-layer-digest")
real = manifest["layers"][1]["digest"]
wrong = "sha256:" + hashlib.sha256(b"not this layer").hexdigest()
shutil.copy(blob(d, real), blob(d, wrong))
os.unlink(blob(d, real))
manifest["layers"][1]["digest"] = wrong
remanifest(d, index, manifest)
print(wrong, file=open(os.path.join(tmp, "wrong-layer-digest.digest"), "w"))

# index.json names the manifest by a digest its content does not have.
d, index, manifest = copy("wrong-manifest-digest")
path = blob(d, index["manifests"][0]["digest"])
data = open(path, "rb").read()
changed = data.replace(b'"schemaVersion": 2', b'"schemaVersion":2 ', 1)  # the same JSON, size
assert changed != data and len(changed) == len(data)
open(path, "wb").write(changed)
print(index["manifests"][0]["digest"], file=open(os.path.join(tmp, "wrong-manifest-digest.digest"), "w"))

# A missing layer, a missing config.
d, index, manifest = copy("missing-layer")
os.unlink(blob(d, manifest["layers"][1]["digest"]))
print(manifest["layers"][1]["digest"], file=open(os.path.join(tmp, "missing-layer.digest"), "w"))
d, index, manifest = copy("missing-config")
os.unlink(blob(d, manifest["config"]["digest"]))
print(manifest["config"]["digest"], file=open(os.path.join(tmp, "missing-config.digest"), "w"))

# A layer of a media type no reader knows.
d, index, manifest = copy("unknown-type")
manifest["layers"][1]["mediaType"] = "application/vnd.example.layer.v1.tar+lzma"
remanifest(d, index, manifest)

# An image for arm64 and arm/v7 only: an image index of two manifests, each with a platform.
d, index, manifest = copy("arm64")
entries = []
for arch, variant in (("arm64", "v8"), ("arm", "v7")):
    config = json.load(open(blob(d, manifest["config"]["digest"])))
    config["architecture"] = arch
    config["variant"] = variant
    config_data = json.dumps(config).encode()
    m = dict(manifest)
    m["config"] = dict(manifest["config"], digest=put(d, config_data), size=len(config_data))
    m_data = json.dumps(m).encode()
    entries.append({"mediaType": manifest["mediaType"], "digest": put(d, m_data),
                    "size": len(m_data),
                    "platform": {"os": "linux", "architecture": arch, "variant": variant}})
image_index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
               "manifests": entries}
data = json.dumps(image_index).encode()
index["manifests"][0] = {"mediaType": image_index["mediaType"], "digest": put(d, data),
                         "size": len(data),
                         "annotations": {"org.opencontainers.image.ref.name": "base"}}
with open(os.path.join(d, "index.json"), "w") as f:
    json.dump(index, f)
EOF
half() { head -c $(($(stat -c %s "$1") / 2)) "$1" > "$2"; }
half "$TEST_TMP/base.docker.tar" "$TEST_TMP/cut.docker.tar"
half "$TEST_TMP/base.oci.tar" "$TEST_TMP/cut.oci.tar"
digest() { cat "$TEST_TMP/$1.digest"; }

# refused WHAT WANT ARGS...: execvm ARGS fails with exit 125 and one line holding WANT, writes
# nothing on stdout, and leaves the cache as it found it.
refused() {
  local what=$1 want=$2
  shift 2
  local before status err
  before=$(cache_files)
  local args=(--kernel "$kernel")
  [ "$1" = image ] && args=()  # execvm image takes no run options
  (cd "$TEST_TMP/work/a/b" && "$EXECVM" "${args[@]}" "$@" > "$TEST_TMP/out" 2> "$TEST_TMP/err")
  status=$?
  err=$(cat "$TEST_TMP/err")
  check_eq "$what: exit 125, one line, no output" "125 1 0" \
    "$status $(wc -l < "$TEST_TMP/err") $(wc -c < "$TEST_TMP/out")"
  case $err in
    "execvm: "*"$want"*) pass "$what: says what is wrong: $err" ;;
    *) fail "$what: expected a line with [$want], got [$err]" ;;
  esac
  check_eq "$what: the cache is as it was" "$before" "$(cache_files)"
  check_eq "$what: no temporary file in the cache" "" "$(find "$images" -name '.*tmp*' 2>/dev/null)"
}
mkdir -p "$TEST_TMP/work/a/b"
use_cache broken
short() { local d=$1; d=${d#sha256:}; echo "${d:0:12}"; }
refused "a corrupt layer blob" "$(short "$(digest corrupt)")" --image "$TEST_TMP/corrupt" -- true
refused "a layer stored under a wrong digest" "$(short "$(digest wrong-layer-digest)")" \
  --image "$TEST_TMP/wrong-layer-digest" -- true
refused "a manifest that does not match its digest" \
  "the manifest $(digest wrong-manifest-digest) does not match" \
  --image "$TEST_TMP/wrong-manifest-digest" -- true
refused "a missing layer" "$(digest missing-layer)" --image "$TEST_TMP/missing-layer" -- true
refused "a missing config" "config $(digest missing-config)" --image "$TEST_TMP/missing-config" -- true
refused "an unknown layer media type" "application/vnd.example.layer.v1.tar+lzma" \
  --image "$TEST_TMP/unknown-type" -- true
refused "an arm64-only image lists its platforms" "linux/arm64/v8, linux/arm/v7" \
  --image "$TEST_TMP/arm64" -- true
refused "a truncated docker-archive" "cut.docker.tar" --image "docker-archive:$TEST_TMP/cut.docker.tar" -- true
refused "a truncated oci-archive" "cut.oci.tar" --image "oci-archive:$TEST_TMP/cut.oci.tar" -- true
refused "a registry that cannot be reached" "127.0.0.1:1" --image 127.0.0.1:1/team/app -- true
refused "image inspect of a broken image" "$(digest missing-config)" \
  image inspect "$TEST_TMP/missing-config"
refused "image inspect of a truncated archive" "cut.docker.tar" \
  image inspect "docker-archive:$TEST_TMP/cut.docker.tar"
check_eq "the broken images left no file in the cache" "" "$(cache_files)"
echo "note: what the broken images left in the cache: $(cd "$images" 2> /dev/null && find . -mindepth 1 | sort | xargs)"

# Hostile layers: refused, naming the layer, and nothing written outside the cache (the runs
# are made from $TEST_TMP/work/a/b, so that ../../escape would be $TEST_TMP/work/escape).
passwd_links=$(stat -c %h /etc/passwd)
there_before=$(ls -d /etc/x /escape /pw 2>/dev/null)
python3 - "$TEST_TMP" <<EOF
import io, json, os, sys, tarfile
sys.path.insert(0, "$here")
import oci_image
tmp = sys.argv[1]

def layer(build):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        build(tar)
    return out.getvalue()

def entry(tar, name, kind, target=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    info.mtime = 1700000000
    if kind == tarfile.REGTYPE:
        info.size = 5
        tar.addfile(info, io.BytesIO(b"owned"))
    else:
        tar.addfile(info)

cases = {
    "dotdot": [lambda t: entry(t, "../../escape", tarfile.REGTYPE)],
    "dotdot-deep": [lambda t: (entry(t, "a", tarfile.DIRTYPE),
                               entry(t, "a/../../../../escape", tarfile.REGTYPE))],
    "symlink-parent": [lambda t: (entry(t, "etc", tarfile.SYMTYPE, "/etc"),
                                  entry(t, "etc/x", tarfile.REGTYPE))],
    "symlink-across": [lambda t: entry(t, "etc", tarfile.SYMTYPE, "/etc"),
                       lambda t: entry(t, "etc/x", tarfile.REGTYPE)],
    "symlink-up": [lambda t: (entry(t, "up", tarfile.SYMTYPE, "../../.."),
                              entry(t, "up/escape", tarfile.REGTYPE))],
    "hardlink-host": [lambda t: entry(t, "pw", tarfile.LNKTYPE, "/etc/passwd")],
    "hardlink-up": [lambda t: entry(t, "pw", tarfile.LNKTYPE, "../../../../etc/passwd")],
}
for name, layers in cases.items():
    layout = os.path.join(tmp, "hostile-" + name)
    d = oci_image.write_image(layout, "latest", [layer(build) for build in layers],
                              {"Cmd": ["true"]})
    with open(os.path.join(layout, "blobs", "sha256", d["digest"][7:])) as f:
        last = json.load(f)["layers"][-1]["digest"]
    with open(layout + ".digest", "w") as f:
        print(last, file=f)
EOF
for name in dotdot dotdot-deep symlink-parent symlink-across symlink-up hardlink-host hardlink-up; do
  refused "hostile layer: $name" "$(short "$(digest "hostile-$name")")" \
    --image "$TEST_TMP/hostile-$name" -- true
done
check_eq "no hostile entry written under the test's directory" "" \
  "$(find "$TEST_TMP" \( -name escape -o -name x -o -name pw \) -print)"
check_eq "nor in /etc, nor at /" "$there_before" "$(ls -d /etc/x /escape /pw 2>/dev/null)"
check_eq "/etc/passwd has no new link" "$passwd_links" "$(stat -c %h /etc/passwd)"
check_eq "the hostile images left no file in the cache" "" "$(cache_files)"

# execvm image: ls, inspect, rm, prune, in the cache of the first run.
use_cache first
docker="docker-archive:$TEST_TMP/base.docker.tar"
check_eq "a docker-archive of the same layers" "from the cache" "$(run --image "$docker" 2>&1)"
check_eq "the same root filesystem" "$entry" "$(cd "$images/rootfs" && ls -- *.squashfs)"
check_eq "another image" "another layer" "$(run --image "oci:$layout:other" 2>&1)"
other_entry=$(cd "$images/rootfs" && ls -- *.squashfs | grep -vx "$entry")
inspect_field() {  # inspect_field REF PYTHON-EXPRESSIONS-OF-j: printed with spaces between
  img inspect "$1" | python3 -c "import json, sys; j = json.load(sys.stdin); print($2)"
}
base_id=$(inspect_field "$base" 'j["id"]')
other_id=$(inspect_field "oci:$layout:other" 'j["id"]')
config_digest=$(python3 -c "
import json, sys
layout = sys.argv[1]
index = json.load(open(layout + '/index.json'))
m = [m for m in index['manifests'] if m['annotations']['org.opencontainers.image.ref.name'] == 'base'][0]
manifest = json.load(open(layout + '/blobs/sha256/' + m['digest'][7:]))
print(manifest['config']['digest'], ' '.join(l['digest'] for l in manifest['layers']))
" "$layout")
check_eq "inspect: the ID and the layers" "$config_digest" \
  "$(inspect_field "$base" '" ".join([j["id"]] + [l["digest"] for l in j["layers"]])')"
check_eq "inspect: the config" '[["cat", "/data/hello"], null, "oci-layout", "base", "linux/amd64"]' \
  "$(inspect_field "$base" 'json.dumps([j["config"]["Cmd"], j["config"]["Entrypoint"], j["source"], j["tag"], j["platform"]])')"
check_eq "inspect: the cached root filesystem" "$images/rootfs/$entry $(stat -c %s "$images/rootfs/$entry")" \
  "$(inspect_field "$base" 'j["rootfs"]["path"], j["rootfs"]["size"]')"
check_eq "inspect: a docker-archive has the same chain" "$chain $images/rootfs/$entry" \
  "$(inspect_field "$docker" 'j["chainID"], j["rootfs"]["path"]')"

ls_out=$(img ls)
check_eq "ls: a header and three images" 4 "$(wc -l <<< "$ls_out")"
for want in "$base ${base_id:7:12}" "$docker ${base_id:7:12}" "oci:$layout:other ${other_id:7:12}"; do
  set -- $want
  if awk -v r="$1" -v id="$2" '$1 == r && $2 == id && /MiB.*MiB/ { found = 1 } END { exit !found }' <<< "$ls_out"; then
    pass "ls lists $1 with its ID and sizes"
  else
    fail "ls does not list $1 with its ID $2 and sizes: $ls_out"
  fi
done
blobs=$(find "$images/blobs" -type f | sort)
[ -n "$blobs" ] && pass "the docker-archive's layers are in the blob store" || fail "no blobs imported"

# rm by reference: the layout's record goes; the root filesystem stays (the docker-archive's
# record uses it).
rm_out=$(img rm "$base")
check_eq "rm by reference" "removed $base (${base_id:7:12})
removed 0 files, 0.0 MiB" "$rm_out"
check_eq "rm keeps a root filesystem another image uses" "$(printf '%s\n' "$entry" "$other_entry" | sort | xargs)" \
  "$(cd "$images/rootfs" && ls -- *.squashfs | sort | xargs)"
img ls | grep -q "^$base " && fail "rm: $base is still listed" || pass "rm: no longer listed"
# rm by path, relative: the last record of that root filesystem, and the archive's blobs go.
rm_out=$(cd "$TEST_TMP" && img rm ./base.docker.tar)
case $rm_out in "removed $docker (${base_id:7:12})"*"removed "*" files, "*) pass "rm by a relative path" ;;
  *) fail "rm by a relative path: $rm_out" ;; esac
check_eq "rm removes the root filesystem no image uses any more" "$other_entry" \
  "$(cd "$images/rootfs" && ls -- *.squashfs)"
check_eq "rm removes the side files with it" "" "$(ls "$images/rootfs/$entry"* 2>/dev/null)"
check_eq "rm removes the archive's blobs" "" "$(find "$images/blobs" -type f)"
# rm by an ID prefix.
check_eq "rm by a 3-digit prefix is refused" "125" \
  "$(img rm "${other_id:7:3}" > /dev/null 2>&1; echo $?)"
img rm "${other_id:7:6}" > /dev/null
check_eq "rm by an ID prefix" "" "$(cd "$images/rootfs" && ls -- *.squashfs 2>/dev/null)"
check_eq "ls after rm" "no images run yet (the cache is $images)" "$(img ls)"
# Errors.
got=$(img rm nosuch 2>&1)
check_eq "rm of an unknown image" "125 execvm: no image nosuch in the catalog: execvm image ls lists the images run so far" "$? $got"
# After rm the image runs again, converted anew.
check_eq "a run after rm" "from the cache" "$(run --image "$base" 2>&1)"
check_eq "converted again" "$record" "$(cat "$images/rootfs/$entry.ok")"
got=$(img rm "$base" nosuch 2>&1)
check_eq "rm of several, one unknown: one line, 125" "125 1" "$? $(wc -l <<< "$got")"
check_eq "rm of several, one unknown: nothing removed" "$base" \
  "$(img ls | awk 'NR > 1 { print $1 }')"

# prune: what no record uses goes, what is used stays.
run --image "$docker" > /dev/null 2>&1
mkdir -p "$TEST_TMP/ctx3" && echo "soon gone" > "$TEST_TMP/ctx3/gone"
python3 "$here/oci_image.py" "$TEST_TMP/gone-layout" --tag gone --config '{"Cmd": ["cat", "/gone"]}' \
  --layer busybox --layer "$TEST_TMP/ctx3"
skopeo copy -q "oci:$TEST_TMP/gone-layout:gone" "docker-archive:$TEST_TMP/gone.docker.tar:test/gone:1"
# inspect of an archive imports its blobs, as a run does before it has made its record: they
# are new and no record names them.
oci_manifest=$(inspect_field "oci-archive:$TEST_TMP/base.oci.tar" 'j["manifest"][7:]')
kept_blobs=$(find "$images/blobs" -type f | sort)  # the docker-archive's, and those
check_eq "an archive run once" "soon gone" "$(run --image "docker-archive:$TEST_TMP/gone.docker.tar" 2>&1)"
gone_entry=$(cd "$images/rootfs" && ls -- *.squashfs | grep -vx "$entry")
gone_blob=$(python3 -c "
import hashlib, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    import json
    m = json.load(t.extractfile('manifest.json'))[0]
    data = t.extractfile(m['Layers'][-1]).read()
print(hashlib.sha256(data).hexdigest())" "$TEST_TMP/gone.docker.tar")
[ -f "$images/blobs/sha256/$gone_blob" ] && pass "the archive's own layer is in the store" ||
  fail "the archive's own layer $gone_blob is not in the store"
rm "$TEST_TMP/gone.docker.tar"
orphan="$images/rootfs/$(printf 'f%.0s' $(seq 64)).v1.squashfs"
cp "$images/rootfs/$entry" "$orphan" && cp "$images/rootfs/$entry.ok" "$orphan.ok"
touch -d '2 hours ago' "$orphan" "$orphan.ok"  # a root filesystem left by a run an hour ago
stale="$images/rootfs/.$entry.tmp.99999"
stale_blob="$images/blobs/sha256/.tmp-Ab12Cd"
fresh="$images/rootfs/.$entry.tmp.99998"
: > "$stale" && : > "$stale_blob" && : > "$fresh"
touch -d '2 hours ago' "$stale" "$stale_blob"
before=$(inode "$images/rootfs/$entry")
prune_out=$(img prune)
case $prune_out in "removed docker-archive:$TEST_TMP/gone.docker.tar ("*"removed "*" files, "*) pass "prune names the image whose archive is gone" ;;
  *) fail "prune: $prune_out" ;; esac
for f in "$images/rootfs/$gone_entry" "$images/blobs/sha256/$gone_blob" "$orphan" "$orphan.ok" "$stale" "$stale_blob"; do
  [ -e "$f" ] && fail "prune left ${f#"$images"/}" || pass "prune removed ${f#"$images"/}"
done
check_eq "prune keeps the used root filesystem" "$entry" "$(cd "$images/rootfs" && ls -- *.squashfs)"
check_eq "prune keeps the used blobs and new ones, removes the gone archive's" "$kept_blobs" \
  "$(find "$images/blobs" -type f | sort)"
[ -f "$images/blobs/sha256/$oci_manifest" ] && pass "prune keeps a new blob no record names yet" ||
  fail "prune removed a new blob (a run may be importing it)"
[ -e "$fresh" ] && pass "prune keeps a fresh temporary file" || fail "prune removed a fresh temporary file"
check_eq "prune keeps the images still there" 3 "$(img ls | wc -l)"

# doctor says where the cache is, what it holds, what the kernel mounts, which tools are here.
doctor=$("$EXECVM" doctor --kernel "$kernel" --no-boot 2>&1)
want=$(python3 - "$images" "$(($(img ls | wc -l) - 1))" <<'PY'
import os, sys
images, count = sys.argv[1], int(sys.argv[2])
sizes = [os.lstat(os.path.join(d, f)).st_size for d, _, fs in os.walk(images) for f in fs
         if os.path.isfile(os.path.join(d, f))]
mib = sum(sizes) / (1 << 20)
size = "%.1f MiB" % mib if mib < 10 else "%d MiB" % round(mib)
roots = [n for n in os.listdir(images + "/rootfs") if n.endswith(".squashfs") and n[0] != "."]
blobs = [n for a in os.listdir(images + "/blobs") for n in os.listdir(images + "/blobs/" + a)
         if n[0] != "."]
def n(k, one, many): return "%d %s" % (k, one if k == 1 else many)
print("%s (%s in %s: %s, %s, %s; execvm image ls, prune)" % (
    images, size, n(len(sizes), "file", "files"), n(count, "image", "images"),
    n(len(roots), "root filesystem", "root filesystems"), n(len(blobs), "blob", "blobs")))
PY
)
check_eq "doctor: the image cache and its size" "  ok    image cache    $want" \
  "$(grep '^  ok    image cache ' <<< "$doctor")"
config="$(dirname "$kernel")/config"
have=()
for fs in SQUASHFS:squashfs EROFS_FS:erofs EXT4_FS:ext4; do
  grep -qx "CONFIG_${fs%%:*}=y" "$config" && have+=("${fs#*:}")
done
[ ${#have[@]} = 3 ] || fail "this test's kernel lacks some of squashfs, erofs and ext4: ${have[*]}"
check_eq "doctor: the kernel's filesystems for image roots" \
  "  ok    image roots    the kernel has squashfs, erofs and ext4 (what --image and --root-disk mount)" \
  "$(grep -E '^  [a-z]+ +image roots ' <<< "$doctor")"
for tool in skopeo umoci mkfs.ext4 mksquashfs mkfs.erofs; do
  path=$(PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" command -v "$tool")
  if [ -n "$path" ]; then want="  ok    image tool     $tool: $path ("; else want="  --    image tool     $tool: not found ("; fi
  case $(grep " image tool  *$tool: " <<< "$doctor") in "$want"*) pass "doctor: $tool" ;;
    *) fail "doctor: $tool: expected a line starting [$want] in [$doctor]" ;; esac
done
got=$(XDG_CACHE_HOME="$TEST_TMP/cache-none" "$EXECVM" doctor --kernel "$kernel" --no-boot 2>&1 | grep ' image cache ')
check_eq "doctor: an image cache not made yet" \
  "  ok    image cache    $TEST_TMP/cache-none/execvm/images (empty: no image run yet)" "$got"
echo 'CONFIG_EXT4_FS=y
CONFIG_EROFS_FS=m' > "$TEST_TMP/config"
cp "$kernel" "$TEST_TMP/vmlinux"
got=$("$EXECVM" doctor --kernel "$TEST_TMP/vmlinux" --no-boot 2>&1 | sed -n '/^  [a-z]*  *image roots /,/^  [a-z-]*  *registries /p' | sed '$d')
check_eq "doctor: a kernel without squashfs, with erofs as a module" "  warn  image roots    the kernel has no squashfs (CONFIG_SQUASHFS is not set): --image (its root filesystems) and --root-disk cannot mount squashfs images
                       fix: use execvm's kernel (execvm kernel build)
  warn  image roots    the kernel has no erofs (CONFIG_EROFS_FS is a module): --root-disk cannot mount erofs images
                       fix: use execvm's kernel (execvm kernel build)
  ok    image roots    the kernel has ext4 (what --image and --root-disk mount)" "$got"
rm "$TEST_TMP/vmlinux"

check_eq "a run after prune" "from the cache" "$(run --image "$base" 2>&1)"
check_eq "the kept entry is used as it is" "$before" "$(inode "$images/rootfs/$entry")"
img prune > /dev/null
check_eq "a second prune keeps them too" 3 "$(img ls | wc -l)"

# prune --all empties the cache, but for an entry a run is converting (it holds the entry's
# lock, as the test does here); the image then runs again, converted anew.
exec 9> "$images/rootfs/$entry.lock"
flock 9
prune_out=$(img prune --all 9>&-)
flock -u 9
exec 9>&-
case $prune_out in *"kept $entry: a run is converting it"*) pass "prune --all leaves an entry being converted" ;;
  *) fail "prune --all did not keep the entry being converted: $prune_out" ;; esac
check_eq "the entry being converted is whole" "$record" "$(cat "$images/rootfs/$entry.ok" 2>&1)"
img prune --all > /dev/null
check_eq "prune --all: no images" "no images run yet (the cache is $images)" "$(img ls)"
check_eq "prune --all: no files but the fresh temporary (a run may be writing it)" "$fresh" \
  "$(find "$images" -type f)"
check_eq "a run after prune --all" "from the cache" "$(run --image "$base" 2>&1)"
check_eq "converted again after prune --all" "$record" "$(cat "$images/rootfs/$entry.ok")"

check_no_qemu_left "image cache"
check_no_temp_files "image cache"
finish
