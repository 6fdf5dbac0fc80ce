# Registry pulls (`execvm image pull`, `execvm --image HOST:PORT/REPO:TAG`) against Debian's
# docker-registry on 127.0.0.1, with images this test builds and pushes with skopeo: plain HTTP
# by request, TLS with the test's CA (certs.d, --cert-dir), htpasswd basic auth (auth files,
# credential helpers), a token realm (the test's token server); a multi-platform index and an
# arm64-only one; gzip, zstd and plain layers, Docker v2 and OCI manifests; a proxy that
# corrupts, drops, refuses, rate-limits and redirects; concurrent pulls, layers shared between
# images, and a pull killed half-way. Most checks are pulls; four boot a VM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry_lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
# The kernel stays the machine's; caches, credentials and registries.conf are this test's own.
kernel=$(HOME=$HOME XDG_CACHE_HOME= "$EXECVM" kernel path)
export HOME="$TEST_TMP/home" XDG_RUNTIME_DIR="$TEST_TMP/run"
export CONTAINERS_REGISTRIES_CONF="$TEST_TMP/registries.conf"
unset DOCKER_CONFIG REGISTRY_AUTH_FILE
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" "$TEST_TMP/bin"
: > "$CONTAINERS_REGISTRIES_CONF"
export PATH="$TEST_TMP/bin:$PATH"

use_cache() { # use_cache NAME: a fresh image cache; $images is its directory
  export XDG_CACHE_HOME="$TEST_TMP/cache-$1"
  mkdir -p "$XDG_CACHE_HOME"
  images="$XDG_CACHE_HOME/execvm/images"
}
out="$TEST_TMP/pull.out"
err="$TEST_TMP/pull.err"
# pull ARGS...: execvm image pull ARGS, its stdout in $out, its stderr in $err; $? its status.
pull() { timeout -k 5 120 "$EXECVM" image pull "$@" > "$out" 2> "$err"; }
run() { timeout -k 5 120 "$EXECVM" --kernel "$kernel" "$@"; }
said() { tr '\n' ' ' < "$err" | cut -c1-400; }

# pull_ok WHAT ID ARGS...: the pull succeeds and prints the image ID.
pull_ok() {
  local what=$1 id=$2 status
  shift 2
  pull "$@"
  status=$?
  if [ "$status" -eq 0 ] && [ "$(cat "$out")" = "$id" ]; then
    pass "$what"
  else
    fail "$what: exit $status, printed [$(cat "$out")] (expected $id), said: $(said)"
  fi
}

# pull_fails WHAT TEXT... -- ARGS...: the pull exits 125 with one line `execvm: ...` holding
# each TEXT (after the lines of the layers done, if any), and prints nothing on stdout.
pull_fails() {
  local what=$1 texts=() status t
  shift
  while [ "$1" != -- ]; do texts+=("$1"); shift; done
  shift
  pull "$@"
  status=$?
  if [ "$status" -ne 125 ]; then
    fail "$what: exit $status (expected 125), printed [$(cat "$out")], said: $(said)"
    return
  fi
  grep -vE "$layer_line" "$err" > "$err.error"
  if [ "$(wc -l < "$err.error")" -ne 1 ] || ! grep -q '^execvm: ' "$err.error" ||
    [ "$(tail -1 "$err")" != "$(cat "$err.error")" ] || [ -s "$out" ]; then
    fail "$what: not one line 'execvm: ...' (said: $(said); printed [$(cat "$out")])"
    return
  fi
  for t in "${texts[@]}"; do
    grep -qF -- "$t" "$err.error" || { fail "$what: no '$t' in: $(said)"; return; }
  done
  pass "$what ($(cut -c1-160 "$err.error"))"
}

# cached WHAT DIGEST...: each blob is in the cache, with the bytes its digest names.
cached() {
  local what=$1 d file
  shift
  for d in "$@"; do
    file="$images/blobs/sha256/${d#sha256:}"
    if [ ! -f "$file" ]; then
      fail "$what: $d is not in the cache"
      return
    elif [ "sha256:$(sha256sum < "$file" | cut -d' ' -f1)" != "$d" ]; then
      fail "$what: the cache's $d does not hold those bytes"
      return
    fi
  done
  pass "$what: $# blobs cached and verified"
}
at_least_once() { # at_least_once WHAT COUNT
  if [ "$2" -ge 1 ] 2> /dev/null; then pass "$1 ($2)"; else fail "$1: $2 times"; fi
}
not_cached() { # not_cached WHAT DIGEST
  if [ -e "$images/blobs/sha256/${2#sha256:}" ]; then fail "$1: $2 is in the cache"; else pass "$1"; fi
}

# A line about one layer, e.g. `execvm: pulled sha256:0123456789ab (1.0 MiB)`.
layer_line='^execvm: [a-z]+ sha256:[0-9a-f]{12} \(.+\)$'
# The 12-digit digest prefixes of the layers the pull's stderr says it pulled, sorted.
pulled_layers() {
  sed -nE 's/^execvm: pulled sha256:([0-9a-f]{12}) \(.+\)$/\1/p' "$err" | sort
}
prefixes() { cut -c8-19 | sort; }

# since LOG MARK: the log's lines after its first MARK lines.
since() { tail -n "+$(($2 + 1))" "$1"; }
lines() { wc -l < "$1"; }
# blob_requests LOG MARK: the blobs requested (GET) since MARK, sorted, one a line.
blob_requests() { since "$1" "$2" | awk '$2 == "GET" && $3 ~ /\/blobs\/sha256:/ {sub(/.*\//, "", $3); print $3}' | sort; }

# ------------------------------------------------------------------------------------ fixtures
layout="$TEST_TMP/layout"
mkdir -p "$TEST_TMP/ctx/data" "$TEST_TMP/ctx2" "$TEST_TMP/armctx"
echo "from the registry" > "$TEST_TMP/ctx/data/hello"
echo amd64 > "$TEST_TMP/ctx/platform"
head -c 400000 /dev/urandom > "$TEST_TMP/ctx/data/noise"
echo "the second image's own" > "$TEST_TMP/ctx2/second"
echo arm64 > "$TEST_TMP/armctx/platform"
image() { python3 "$here/oci_image.py" "$layout" "$@" > /dev/null; }
cmd='{"Cmd": ["cat", "/data/hello"]}'
image --tag app --config "$cmd" --layer busybox --layer "$TEST_TMP/ctx"
image --tag app2 --config '{"Cmd": ["cat", "/second"]}' --layer busybox --layer "$TEST_TMP/ctx" \
  --layer "$TEST_TMP/ctx2"
image --tag arm --platform linux/arm64 --layer busybox --layer "$TEST_TMP/armctx"
image --tag armv7 --platform linux/arm/v7 --layer busybox --layer "$TEST_TMP/armctx"
image --tag multi --index arm,app --attestation app
image --tag armonly --index arm,armv7
image --tag zst --compress zstd --config "$cmd" --layer busybox --layer "$TEST_TMP/ctx"
image --tag plain --compress none --config "$cmd" --layer busybox --layer "$TEST_TMP/ctx"
app_id=$(config_digest "$layout" app)
app_manifest=$(manifest_digest "$layout" app)
app_layers=$(layer_digests "$layout" app)
app_top=$(tail -1 <<< "$app_layers")
app2_id=$(config_digest "$layout" app2)
app2_top=$(layer_digests "$layout" app2 | tail -1)
arm_id=$(config_digest "$layout" multi linux/arm64)
zst_id=$(config_digest "$layout" zst)
plain_id=$(config_digest "$layout" plain)

# The registries, and what each holds.
start_registry plain || { fail "docker-registry does not start"; finish; }
for what in app:app/app:1 app2:app/app:2 multi:multi:1 armonly:armonly:1 zst:zst:1 plain:plain:1; do
  push_image "$layout" "${what%%:*}" "$plain/${what#*:}" || fail "push $what"
done
push_image "$layout" app "$plain/v2s2:1" --format v2s2 || fail "push app as Docker v2"
start_registry tls --tls
push_image "$layout" app "$tls/app:1" || fail "push to the TLS registry"
start_registry basic --htpasswd
push_image "$layout" app "$basic/app:1" --dest-creds "$REG_USER:$REG_PASSWORD" || fail "push with basic auth"
start_token_server token --anonymous-pull 'public/*'
start_registry treg --token "$token"
for repo in public/app private/app; do
  push_image "$layout" app "$treg/$repo:1" --dest-creds "$REG_USER:$REG_PASSWORD" || fail "push $repo with a token"
done
echo "registries: plain $plain, tls $tls, basic $basic, token $treg (token server $token)"

# --------------------------------------------------------------------------------- plain HTTP
use_cache usage
pull
check_eq "image pull without a reference is a usage error (125, as for every bad option)" 125 $?
pull_fails "a plain-HTTP registry without --tls-verify=false" -- "$plain/app/app:1"

use_cache plain
pull_ok "pull over plain HTTP with --tls-verify=false" "$app_id" --tls-verify=false "$plain/app/app:1"
check_eq "one line per layer pulled, naming it" "$(prefixes <<< "$app_layers")" "$(pulled_layers)"
cached "the pulled image" $app_layers "$app_id" "$app_manifest"

use_cache quiet
pull_ok "pull --quiet" "$app_id" -q --tls-verify=false "$plain/app/app:1"
check_eq "--quiet says nothing" "" "$(cat "$err")"
use_cache quiet2
pull_ok "pull --quiet (long)" "$app_id" --quiet --tls-verify=false "$plain/app/app:1"
check_eq "--quiet (long) says nothing" "" "$(cat "$err")"

use_cache digest
pull_ok "pull by digest, from localhost" "$app_id" --tls-verify=false \
  "localhost:${plain#*:}/app/app@$app_manifest"
pull_fails "an unknown tag" "not found" -- --tls-verify=false "$plain/app/app:nosuchtag"
pull_fails "an unknown repository" "not found" -- --tls-verify=false "$plain/nosuch/repo:1"
pull_fails "an unknown digest" "not found" -- --tls-verify=false \
  "$plain/app/app@sha256:$(echo nothing | sha256sum | cut -d' ' -f1)"

use_cache conf
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$plain" > "$CONTAINERS_REGISTRIES_CONF"
pull_ok "plain HTTP by registries.conf (insecure = true)" "$app_id" "$plain/app/app:1"
: > "$CONTAINERS_REGISTRIES_CONF"

use_cache formats
pull_ok "a Docker v2 manifest" "$app_id" --tls-verify=false "$plain/v2s2:1"
pull_ok "zstd layers" "$zst_id" --tls-verify=false "$plain/zst:1"
cached "the zstd image" $(layer_digests "$layout" zst)
pull_ok "plain (uncompressed) layers" "$plain_id" --tls-verify=false "$plain/plain:1"
cached "the plain image" $(layer_digests "$layout" plain)

# A mirror from registries.conf is tried first: the registry behind the proxy never hears of it.
start_proxy mirrored "$plain"
use_cache mirror
cat > "$CONTAINERS_REGISTRIES_CONF" << EOF
[[registry]]
location = "$mirrored"
insecure = true
[[registry.mirror]]
location = "$plain"
insecure = true
EOF
pull_ok "pull through a registries.conf mirror" "$app_id" "$mirrored/app/app:1"
check_eq "the mirror served it: nothing asked of the registry itself" "" \
  "$(grep ' /v2/app/' "$mirrored_LOG")"
: > "$CONTAINERS_REGISTRIES_CONF"
stop_server mirrored

# ----------------------------------------------------------------------------------- platforms
use_cache platforms
pull_ok "a multi-platform index gives linux/amd64" "$app_id" --tls-verify=false "$plain/multi:1"
check_eq "no attestation fetched" "" "$(grep -rl in-toto "$images/blobs" 2> /dev/null)"
pull_ok "--platform linux/arm64 from the index" "$arm_id" --platform linux/arm64 \
  --tls-verify=false "$plain/multi:1"
pull_fails "an image without linux/amd64 lists its platforms" linux/arm64 linux/arm/v7 -- \
  --tls-verify=false "$plain/armonly:1"

# ------------------------------------------------------------------------------------------- TLS
tls_port=${tls#*:}
use_cache tls-none
pull_fails "TLS with a CA this host does not trust" -- "localhost:$tls_port/app:1"
mkdir -p "$TEST_TMP/certdir"
cp "$REG_CERTS/ca.crt" "$TEST_TMP/certdir/ca.crt"
use_cache tls-certdir
pull_ok "TLS with --cert-dir" "$app_id" --cert-dir "$TEST_TMP/certdir" "localhost:$tls_port/app:1"
if [ -w /etc ]; then
  trust_ca /etc/docker/certs.d "localhost:$tls_port"
  use_cache tls-docker
  pull_ok "TLS with the CA in /etc/docker/certs.d/HOST:PORT" "$app_id" "localhost:$tls_port/app:1"
  trust_ca /etc/containers/certs.d "$tls"
  use_cache tls-containers
  pull_ok "TLS with the CA in /etc/containers/certs.d/HOST:PORT" "$app_id" "$tls/app:1"
else
  echo "skipped: the certs.d checks (they need to write /etc)"
fi

# ------------------------------------------------------------------------------ basic auth
auth_json() { # auth_json FILE HOST USER PASSWORD: an auth file with those credentials
  mkdir -p "$(dirname "$1")"
  printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$2" "$(printf '%s:%s' "$3" "$4" | base64 -w0)" > "$1"
}
no_auth_files() { rm -rf "$TEST_TMP/auth" "$HOME/.docker" "$XDG_RUNTIME_DIR/containers" "$TEST_TMP/docker-config"; }
cat > "$TEST_TMP/bin/docker-credential-test" << EOF
#!/bin/sh
# A credential helper for the test: the basic-auth and token registries' user, nothing else.
[ "\$1" = get ] || exit 1
read -r host
echo "\$host" >> "$TEST_TMP/helper.log"
case \$host in
  *"$basic"* | *"$treg"*) printf '{"ServerURL": "%s", "Username": "%s", "Secret": "%s"}\n' "\$host" "$REG_USER" "$REG_PASSWORD" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
EOF
printf '#!/bin/sh\necho "no keychain here" >&2\nexit 3\n' > "$TEST_TMP/bin/docker-credential-broken"
chmod +x "$TEST_TMP/bin/docker-credential-test" "$TEST_TMP/bin/docker-credential-broken"

b=(--tls-verify=false "$basic/app:1")
no_auth_files
use_cache basic-none
pull_fails "basic auth without credentials" 401 -- "${b[@]}"
auth_json "$TEST_TMP/auth/wrong.json" "$basic" "$REG_USER" wrong
pull_fails "basic auth with a wrong password" 401 -- --authfile "$TEST_TMP/auth/wrong.json" "${b[@]}"
auth_json "$TEST_TMP/auth/auth.json" "$basic" "$REG_USER" "$REG_PASSWORD"
use_cache basic-authfile
pull_ok "basic auth from --authfile" "$app_id" --authfile "$TEST_TMP/auth/auth.json" "${b[@]}"
use_cache basic-env
REGISTRY_AUTH_FILE="$TEST_TMP/auth/auth.json" pull_ok "basic auth from \$REGISTRY_AUTH_FILE" "$app_id" "${b[@]}"
no_auth_files
auth_json "$XDG_RUNTIME_DIR/containers/auth.json" "$basic" "$REG_USER" "$REG_PASSWORD"
use_cache basic-runtime
pull_ok "basic auth from \$XDG_RUNTIME_DIR/containers/auth.json" "$app_id" "${b[@]}"
no_auth_files
auth_json "$TEST_TMP/docker-config/config.json" "$basic" "$REG_USER" "$REG_PASSWORD"
use_cache basic-docker-config
DOCKER_CONFIG="$TEST_TMP/docker-config" pull_ok "basic auth from \$DOCKER_CONFIG/config.json" "$app_id" "${b[@]}"
no_auth_files
auth_json "$HOME/.docker/config.json" "http://$basic" "$REG_USER" "$REG_PASSWORD"
use_cache basic-home
pull_ok "basic auth from ~/.docker/config.json (an http:// key)" "$app_id" "${b[@]}"
no_auth_files
mkdir -p "$HOME/.docker"
printf '{"credHelpers": {"%s": "test"}}\n' "$basic" > "$HOME/.docker/config.json"
: > "$TEST_TMP/helper.log"
use_cache basic-helper
pull_ok "basic auth from a credential helper (credHelpers)" "$app_id" "${b[@]}"
at_least_once "the helper was asked for the registry" "$(grep -c "$basic" "$TEST_TMP/helper.log")"
printf '{"credsStore": "test"}\n' > "$HOME/.docker/config.json"
use_cache basic-store
pull_ok "basic auth from a credential store (credsStore)" "$app_id" "${b[@]}"
no_auth_files

# ---------------------------------------------------------------------------------- token realm
t=(--tls-verify=false)
mark=$(lines "$token_LOG")
use_cache token-anonymous
pull_ok "an anonymous token for a public repository" "$app_id" "${t[@]}" "$treg/public/app:1"
at_least_once "the token server was asked, without credentials" \
  "$(since "$token_LOG" "$mark" | grep -c 'auth=no.*granted=repository:public/app:pull$')"
pull_fails "an anonymous pull of a private repository" 401 -- "${t[@]}" "$treg/private/app:1"
auth_json "$TEST_TMP/auth/token.json" "$treg" "$REG_USER" "$REG_PASSWORD"
mark=$(lines "$token_LOG")
use_cache token-user
pull_ok "a token for a user (--authfile)" "$app_id" --authfile "$TEST_TMP/auth/token.json" \
  "${t[@]}" "$treg/private/app:1"
at_least_once "the token server was asked with credentials" \
  "$(since "$token_LOG" "$mark" | grep -c "user=$REG_USER granted=repository:private/app:pull")"
auth_json "$TEST_TMP/auth/token-wrong.json" "$treg" "$REG_USER" wrong
use_cache token-wrong
pull_fails "a token with a wrong password" 401 -- --authfile "$TEST_TMP/auth/token-wrong.json" \
  "${t[@]}" "$treg/private/app:1"
# A helper that fails: a note, then an anonymous try (which the public repository allows).
mkdir -p "$HOME/.docker"
printf '{"credHelpers": {"%s": "broken"}}\n' "$treg" > "$HOME/.docker/config.json"
use_cache token-broken-helper
pull_ok "a failing credential helper falls back to anonymous" "$app_id" "${t[@]}" "$treg/public/app:1"
# (The helper's own words may pass through; the note is execvm's, and names the helper.)
if grep -v -e '^execvm: pulled ' -e 'no keychain here' "$err" | grep -q broken; then
  pass "a failing credential helper is a note ($(grep -v '^execvm: pulled ' "$err" | grep broken | head -1 | cut -c1-160))"
else
  fail "no note names the failing helper: $(said)"
fi
no_auth_files

# ------------------------------------------------------------------------------- a faulty proxy
p=(--tls-verify=false)
start_proxy corrupt "$plain" --corrupt "$app_top"
use_cache corrupt
pull_fails "a corrupted blob is refused" "does not match its digest" -- "${p[@]}" "$corrupt/app/app:1"
not_cached "the corrupted blob is not cached" "$app_top"
stop_server corrupt
# A digest reference is verified end to end: a manifest that is not the one the digest names.
start_proxy corrupt "$plain" --corrupt "$app_manifest"
use_cache corrupt-manifest
pull_fails "a manifest that does not match the digest asked for" "does not match its digest" -- \
  "${p[@]}" "$corrupt/app/app@$app_manifest"
not_cached "the corrupted manifest is not cached" "$app_manifest"
stop_server corrupt
use_cache corrupt
pull_ok "the same cache, from the registry itself" "$app_id" "${p[@]}" "$plain/app/app:1"
cached "after a refused blob" $app_layers

start_proxy drop "$plain" --drop-once "$app_top"
use_cache drop
pull_ok "a connection dropped mid-blob" "$app_id" "${p[@]}" "$drop/app/app:1"
dropped=$(sed -n "s|.*/blobs/$app_top 200 .*dropped-after=\([0-9]*\)$|\1|p" "$drop_LOG")
resumed=$(sed -n "s|^proxy GET /v2/app/app/blobs/$app_top 206 auth=no range=bytes=\([0-9]*\)-$|\1|p" "$drop_LOG")
if [ -n "$dropped" ] && [ -n "$resumed" ] && [ "$resumed" -gt 0 ] && [ "$resumed" -le "$dropped" ]; then
  pass "the blob resumed with Range: bytes=$resumed- (dropped after $dropped)"
else
  fail "no resume with a Range request (dropped after [$dropped], resumed at [$resumed]): $(grep "$app_top" "$drop_LOG" | tr '\n' ' ')"
fi
cached "after a resumed blob" $app_layers
stop_server drop

start_proxy unavailable "$plain" --fail-once "$app_top"
use_cache unavailable
pull_ok "a 503 is retried" "$app_id" "${p[@]}" "$unavailable/app/app:1"
check_eq "the blob asked again after the 503" "503 200" \
  "$(awk -v d="/blobs/$app_top" '$2 == "GET" && index($3, d) {printf "%s%s", sep, $4; sep = " "}' "$unavailable_LOG")"
stop_server unavailable

start_proxy limited "$plain" --rate-limit
use_cache limited
pull_fails "a 429 quotes its headers" 429 "RateLimit-Remaining: 0" "Retry-After: 30" -- \
  "${p[@]}" "$limited/app/app:1"
stop_server limited

# A redirect to another host (blob storage) carries no credentials.
start_proxy redirect "$basic" --redirect-blobs
auth_json "$TEST_TMP/auth/redirect.json" "$redirect" "$REG_USER" "$REG_PASSWORD"
use_cache redirect
pull_ok "blobs redirected to another host" "$app_id" --authfile "$TEST_TMP/auth/redirect.json" \
  "${p[@]}" "$redirect/app:1"
check_eq "each blob fetched from the other host" "$(sort <<< "$app_layers"$'\n'"$app_id")" \
  "$(awk '$1 == "storage" && $2 == "GET" && $4 ~ /^20[06]$/ {sub(/.*\//, "", $3); print $3}' "$redirect_LOG" | sort -u)"
check_eq "no credentials sent to the other host" "" "$(awk '$1 == "storage" && $5 != "auth=no"' "$redirect_LOG")"
cached "the redirected blobs" $app_layers
stop_server redirect

# A pull killed half-way through a blob leaves nothing a later run takes for complete.
start_proxy stall "$plain" --stall "$app_top"
use_cache killed
mkdir -p "$TEST_TMP/killed-tmp" # (a process killed leaves its temporary files)
TMPDIR="$TEST_TMP/killed-tmp" "$EXECVM" image pull --tls-verify=false "$stall/app/app:1" > /dev/null 2>&1 &
puller=$!
for i in $(seq 300); do
  grep -q stalled-after "$stall_LOG" && break
  sleep 0.1
done
sleep 0.5 # the other layers done, or not: either way the stalled one is not
kill -KILL "$puller" 2> /dev/null
wait "$puller" 2> /dev/null
at_least_once "the pull was killed in the middle of a blob" "$(grep -c stalled-after "$stall_LOG")"
not_cached "a blob cut short is not in the cache" "$app_top"
run --image "$stall/app/app:1" --pull never > "$out" 2> "$err"
check_eq "--pull never after a killed pull: 125, one line" "125 1" "$? $(lines "$err")"
pull_ok "the pull again, after a killed one" "$app_id" --tls-verify=false "$stall/app/app:1"
cached "after a killed pull" $app_layers
stop_server stall

# --------------------------------------------------------------------------------------- sharing
start_proxy share "$plain" --delay 0.3
use_cache share
timeout -k 5 120 "$EXECVM" image pull -q --tls-verify=false "$share/app/app:1" > "$TEST_TMP/one" 2>&1 &
first=$!
timeout -k 5 120 "$EXECVM" image pull -q --tls-verify=false "$share/app/app:1" > "$TEST_TMP/two" 2>&1
second=$?
wait "$first"
check_eq "two concurrent pulls" "0 0 $app_id $app_id" "$? $second $(cat "$TEST_TMP/one") $(cat "$TEST_TMP/two")"
for d in $app_layers "$app_id"; do
  check_eq "fetched once by the two pulls: ${d:7:12}" 1 "$(blob_gets "$share_LOG" "$d")"
done
cached "after two concurrent pulls" $app_layers
mark=$(lines "$share_LOG")
pull_ok "the same image again" "$app_id" --tls-verify=false "$share/app/app:1"
check_eq "no blob fetched again" "" "$(blob_requests "$share_LOG" "$mark")"
mark=$(lines "$share_LOG")
pull_ok "an image sharing all but its top layer" "$app2_id" --tls-verify=false "$share/app/app:2"
check_eq "only its top layer and config fetched" "$(printf '%s\n' "$app2_top" "$app2_id" | sort)" \
  "$(blob_requests "$share_LOG" "$mark")"
check_eq "one line for the one layer pulled" "${app2_top:7:12}" "$(pulled_layers)"

# ----------------------------------------------------------------------------- runs (VM boots)
use_cache run-empty
run --image "$plain/app/app:1" --tls-verify=false --pull never > "$out" 2> "$err"
check_eq "--pull never with nothing cached: 125, one line" "125 1" "$? $(lines "$err")"

start_proxy runs "$plain"
use_cache runs
check_eq "--image pulls what is missing, then runs" "from the registry" \
  "$(run --image "$runs/app/app:1" --tls-verify=false 2> "$err")"
at_least_once "the run pulled from the registry" \
  "$(grep -c "^proxy GET /v2/app/app/manifests/1 200" "$runs_LOG")"
pull_ok "the zstd image pulled" "$zst_id" -q --tls-verify=false "$runs/zst:1"
mark=$(lines "$runs_LOG")
check_eq "--pull always: the zstd image runs" "from the registry" \
  "$(run --image "$runs/zst:1" --tls-verify=false --pull always 2> "$err")"
at_least_once "--pull always asks for the manifest" \
  "$(since "$runs_LOG" "$mark" | grep -c "GET /v2/zst/manifests/1 200")"
check_eq "--pull always fetches no blob it has" "" "$(blob_requests "$runs_LOG" "$mark")"
stop_server runs
check_eq "--pull never runs the cached image, the registry gone" "from the registry" \
  "$(run --image "$runs/app/app:1" --pull never 2>&1)"
check_eq "the index's linux/amd64 image runs" "amd64" \
  "$(run --image "$plain/multi:1" --tls-verify=false -- cat /platform 2> "$err")"

check_no_qemu_left "registry runs"
check_no_temp_files "registry pulls"
finish
