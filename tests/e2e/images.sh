# OCI images as roots: the Bencher runner's scenarios (1-10, S1-S3), each from an OCI image
# layout, a docker-archive (as skopeo writes it) and an oci-archive, made by the test itself.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
export XDG_CACHE_HOME="$TEST_TMP/cache"
mkdir -p "$XDG_CACHE_HOME"
# The kernel stays the machine's: only the image cache is this test's own.
kernel=$(HOME=$HOME XDG_CACHE_HOME= "$EXECVM" kernel path)
run() { "$EXECVM" --kernel "$kernel" "$@"; }

layout="$TEST_TMP/layout"
image() {  # image TAG CONFIG-JSON [LAYER...]
  local tag=$1 config=$2
  shift 2
  local layers=(--layer busybox)
  local l
  for l in "$@"; do layers+=(--layer "$l"); done
  python3 "$here/oci_image.py" "$layout" --tag "$tag" --config "$config" "${layers[@]}"
}
mkdir -p "$TEST_TMP/ctx" && echo "the build context" > "$TEST_TMP/ctx/README"
mkdir -p "$TEST_TMP/app/app" && cp "$TEST_TMP/ctx/README" "$TEST_TMP/app/app/"
image basic '{"Cmd": ["echo", "hello from vm"]}'
image env '{"Env": ["PATH=/bin", "MY_VAR=test_value"], "Cmd": ["sh", "-c", "echo $MY_VAR"]}'
image workdir '{"WorkingDir": "/app", "Cmd": ["pwd"]}' "$TEST_TMP/app"
image output '{"Cmd": ["sh", "-c", "echo \"{\\\"result\\\": 42}\" > /tmp/output.json"]}'
image exit '{"Cmd": ["sh", "-c", "exit 42"]}'
image timeout '{"Cmd": ["sleep", "3600"]}'
image large '{"Cmd": ["sh", "-c", "dd if=/dev/urandom bs=1M count=10 2>/dev/null | base64 > /tmp/b64; cat /tmp/b64; sha256sum /tmp/b64 >&2; wc -c < /tmp/b64 >&2"]}'
image write '{"Cmd": ["sh", "-c", "echo test > /data.txt && cat /data.txt"]}'
image stderr '{"Cmd": ["sh", "-c", "echo stdout && echo stderr >&2"]}'
image cpu '{"Cmd": ["sh", "-c", "cat /proc/cpuinfo | grep processor | wc -l"]}'
image seccomp '{"Cmd": ["sh", "-c", "reboot -f 2>&1; echo \"reboot: $?\""]}'
image caps '{"Cmd": ["sh", "-c", "cat /proc/self/status | grep Cap"]}'
image network '{"Cmd": ["sh", "-c", "ping -c 1 8.8.8.8 2>&1 || echo no network"]}'

tags="basic env workdir output exit timeout large write stderr cpu seccomp caps network"
for tag in $tags; do
  skopeo copy -q "oci:$layout:$tag" "docker-archive:$TEST_TMP/$tag.docker.tar:test/$tag:1"
  skopeo copy -q "oci:$layout:$tag" "oci-archive:$TEST_TMP/$tag.oci.tar:$tag"
done

# Each scenario from each form of the image.
for form in layout docker oci; do
  ref() {
    case $form in
      layout) echo "oci:$layout:$1" ;;
      docker) echo "docker-archive:$TEST_TMP/$1.docker.tar" ;;
      oci) echo "oci-archive:$TEST_TMP/$1.oci.tar" ;;
    esac
  }
  check_eq "$form 1 basic" "hello from vm" "$(run --image "$(ref basic)" 2>&1)"
  check_eq "$form 2 env" "test_value" "$(run --image "$(ref env)" 2>&1)"
  check_eq "$form 3 workdir" "/app" "$(run --image "$(ref workdir)" 2>&1)"
  check_eq "$form 3 the context copied" "the build context" \
    "$(run --image "$(ref workdir)" -- cat README 2>&1)"
  (cd "$TEST_TMP" && rm -f output.json && run --image "$(ref output)" --output /tmp/output.json)
  check_eq "$form 4 output file" '0 {"result": 42}' "$? $(cat "$TEST_TMP/output.json" 2>&1)"
  run --image "$(ref exit)"
  check_eq "$form 5 exit code" 42 $?
  start=$(date +%s)
  run --image "$(ref timeout)" --timeout 5s 2> "$TEST_TMP/timeout.err"
  status=$?
  took=$(($(date +%s) - start))
  check_eq "$form 6 timeout" "124 yes" "$status $([ "$took" -ge 5 ] && [ "$took" -lt 60 ] && echo yes)"
  run --image "$(ref large)" > "$TEST_TMP/large.out" 2> "$TEST_TMP/large.err"
  status=$?
  check_eq "$form 7 large output, byte-exact" \
    "0 $(sha256sum < "$TEST_TMP/large.out" | cut -d' ' -f1) $(wc -c < "$TEST_TMP/large.out")" \
    "$status $(head -1 "$TEST_TMP/large.err" | cut -d' ' -f1) $(tail -1 "$TEST_TMP/large.err")"
  [ "$(wc -c < "$TEST_TMP/large.out")" -gt 13000000 ] || fail "$form 7: under 13 MB of base64"
  check_eq "$form 8 writable root" "test" "$(run --image "$(ref write)" 2>&1)"
  run --image "$(ref stderr)" > "$TEST_TMP/o" 2> "$TEST_TMP/e"
  check_eq "$form 9 stderr separate" "stdout|stderr" "$(cat "$TEST_TMP/o")|$(cat "$TEST_TMP/e")"
  check_eq "$form 10 multi-CPU" "4" "$(run --image "$(ref cpu)" --cpus 4 2>&1)"
  got=$(run --image "$(ref seccomp)" 2>&1)
  case $got in
    *"Operation not permitted"*"reboot: 1") pass "$form S1 reboot is refused" ;;
    *) fail "$form S1 reboot is refused: got [$got]" ;;
  esac
  check_eq "$form S2 docker's capabilities" "CapEff:	00000000a80425fb" \
    "$(run --image "$(ref caps)" 2>&1 | grep CapEff)"
  got=$(run --image "$(ref network)" 2>&1)
  check_eq "$form S3 no network" "no network" "$(tail -1 <<< "$got")"
done

# A plain path: a layout directory with one image, and an archive told by its content.
one="$TEST_TMP/one"
python3 "$here/oci_image.py" "$one" --tag only --config '{"Cmd": ["echo", "plain path"]}'
check_eq "a layout directory as a plain path" "plain path" "$(run --image "$one" 2>&1)"
check_eq "a docker-archive as a plain path" "hello from vm" \
  "$(run --image "$TEST_TMP/basic.docker.tar" 2>&1)"
(cd "$TEST_TMP" && check_eq "a relative path" "plain path" "$(run --image one 2>&1)")

# Several images and no tag: the error lists the tags.
got=$(run --image "$layout" -- true 2>&1)
status=$?
check_eq "several images need a tag (125)" 125 "$status"
case $got in *basic*cpu*) pass "the error lists the tags" ;; *) fail "tags not listed: $got" ;; esac

# docker run's rules: COMMAND replaces Cmd, --entrypoint the Entrypoint, -e/-w/-u override.
check_eq "COMMAND replaces Cmd" "x" "$(run --image "oci:$layout:basic" -- echo x 2>&1)"
check_eq "--entrypoint" "/" "$(run --image "oci:$layout:workdir" --entrypoint pwd -w / 2>&1)"
got=$(run --image "oci:$layout:env" -e MY_VAR=b -e A=c -w /src -u 1000:1000 -- sh -c 'echo $MY_VAR $A; pwd; id')
check_eq "-e, -w and -u" "b c
/src
uid=1000(app) gid=1000(app)" "$got"

# One root filesystem per chain of layers: the images made of busybox alone share one, the one
# with the context has its own.
check_eq "one root filesystem per chain of layers" 2 \
  "$(find "$XDG_CACHE_HOME/execvm/images/rootfs" -name '*.squashfs' | wc -l)"

check_no_qemu_left "images"
check_no_temp_files "images"
finish
