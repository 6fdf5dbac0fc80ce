# Helpers for the tests that pull from a real registry: Debian's docker-registry on 127.0.0.1,
# in front of it the tests' own token server and fault-injecting proxy (registry_server.py),
# fixture images pushed with skopeo. Source it after lib.sh (or with TEST_TMP set and an EXIT
# trap, as bench/registry.sh does; it works under set -e); everything it starts is stopped, and
# every directory it made outside TEST_TMP removed, when the test exits.
#
#   make_certs                      a CA, a server certificate for 127.0.0.1 and localhost
#                                   signed by it, and a token signing certificate, in $REG_CERTS
#   start_registry VAR [--tls] [--htpasswd] [--token TOKEN_SERVER]
#                                   a registry; VAR gets its 127.0.0.1:PORT
#   start_token_server VAR [--anonymous-pull REPO]...   VAR gets its 127.0.0.1:PORT
#   start_proxy VAR UPSTREAM [registry_server.py proxy flags]
#                                   VAR gets its 127.0.0.1:PORT, VAR_STORAGE the localhost:PORT
#                                   of its second listener, VAR_LOG its request log
#   stop_server VAR                 stops the server that start_* started for VAR
#   push_image LAYOUT TAG DEST [skopeo copy flags]      (an index: every image in it)
#   trust_ca DIR HOST:PORT          the test CA as DIR/HOST:PORT/ca.crt (e.g. a certs.d)
#   manifest_digest LAYOUT TAG, config_digest LAYOUT TAG [OS/ARCH], layer_digests LAYOUT TAG
#                                   what the layout holds (an index: its linux/amd64 image)
#   blob_gets LOG DIGEST            how many times a proxy served DIGEST (200 or 206)
#
# Users: $REG_USER / $REG_PASSWORD (htpasswd and the token server). The servers' files live in
# $REG_DIR, their logs as $REG_DIR/VAR.log; the tools here run with TMPDIR=$REG_TMPDIR (the
# tests check that execvm leaves nothing in its own TMPDIR).

REG_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REG_DIR="$TEST_TMP/registry"
REG_CERTS="$REG_DIR/certs"
REG_TMPDIR="$REG_DIR/tmp"
REG_USER=tester
REG_PASSWORD="pw-$RANDOM$RANDOM"
REG_SERVICE=execvm-test-registry
REG_ISSUER=execvm-test-issuer
mkdir -p "$REG_DIR" "$REG_TMPDIR"
declare -A REG_PID=()
REG_MADE=() # directories made outside TEST_TMP, removed on exit (the last made first)

_registry_cleanup() {
  local pid i
  for pid in "${REG_PID[@]}"; do kill "$pid" 2> /dev/null || true; done
  for pid in "${REG_PID[@]}"; do wait "$pid" 2> /dev/null || true; done
  for ((i = ${#REG_MADE[@]} - 1; i >= 0; i--)); do rm -rf "${REG_MADE[i]}"; done
}

# lib.sh's EXIT trap, extended: our servers and directories go first.
_registry_extend_trap() {
  eval "set -- $(trap -p EXIT)"
  REG_PREVIOUS_EXIT=${3:-}
  trap '_registry_cleanup; eval "$REG_PREVIOUS_EXIT"' EXIT
}
_registry_extend_trap

# A TCP port nothing listens on at 127.0.0.1 now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# _spawn VAR LOG COMMAND...: starts COMMAND in the background, ended with this shell if the
# trap cannot run (a KILL), its output in LOG.
_spawn() {
  local var=$1 log=$2
  shift 2
  TMPDIR=$REG_TMPDIR setpriv --pdeathsig KILL "$@" > "$log" 2>&1 &
  REG_PID[$var]=$!
}

stop_server() {
  local pid=${REG_PID[$1]:-}
  [ -n "$pid" ] || return 0
  kill "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  unset "REG_PID[$1]"
}

# _wait_port_file VAR FILE: waits (10 s at most) until the server of VAR wrote FILE.
_wait_port_file() {
  local i
  for i in $(seq 100); do
    [ -s "$2" ] && return 0
    kill -0 "${REG_PID[$1]}" 2> /dev/null || break
    sleep 0.1
  done
  echo "registry_lib: the server of $1 did not start: $(tail -5 "$REG_DIR/$1.out" 2> /dev/null)" >&2
  return 1
}

make_certs() {
  [ -f "$REG_CERTS/server.crt" ] && return 0
  mkdir -p "$REG_CERTS"
  (
    cd "$REG_CERTS" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=execvm test CA" \
      -keyout ca.key -out ca.crt -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign 2> /dev/null &&
      openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key \
        -out server.csr 2> /dev/null &&
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > server.ext &&
      openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
        -extfile server.ext -out server.crt 2> /dev/null &&
      openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=execvm test token issuer" \
        -keyout token.key -out token.crt 2> /dev/null
  ) || { echo "registry_lib: openssl could not make the test certificates" >&2; return 1; }
}

# start_registry VAR [--tls] [--htpasswd] [--token TOKEN_SERVER]
start_registry() {
  local _var=$1 _tls="" _htpasswd="" _token="" _port _dir _config _code _scheme _attempt i
  shift
  while [ $# -gt 0 ]; do
    case $1 in
      --tls) _tls=1 ;;
      --htpasswd) _htpasswd=1 ;;
      --token) _token=$2; shift ;;
      *) echo "start_registry: unknown option $1" >&2; return 1 ;;
    esac
    shift
  done
  _dir="$REG_DIR/$_var"
  _config="$_dir/config.yml"
  mkdir -p "$_dir/storage"
  [ -n "$_tls$_token" ] && make_certs
  for _attempt in 1 2 3; do # a port taken between free_port and the registry's bind: another
    _port=$(free_port)
    {
      echo "version: 0.1"
      echo "log: {level: info, accesslog: {disabled: true}}"
      echo "storage:"
      echo "  filesystem: {rootdirectory: $_dir/storage}"
      echo "  delete: {enabled: true}"
      echo "  maintenance: {uploadpurging: {enabled: false}}"
      echo "http:"
      echo "  addr: 127.0.0.1:$_port"
      echo "  secret: secret-$RANDOM$RANDOM"
      [ -n "$_tls" ] && echo "  tls: {certificate: $REG_CERTS/server.crt, key: $REG_CERTS/server.key}"
      if [ -n "$_htpasswd" ]; then
        htpasswd -Bbn "$REG_USER" "$REG_PASSWORD" > "$_dir/htpasswd"
        echo "auth: {htpasswd: {realm: execvm-test, path: $_dir/htpasswd}}"
      elif [ -n "$_token" ]; then
        echo "auth:"
        echo "  token: {realm: 'http://$_token/token', service: $REG_SERVICE, issuer: $REG_ISSUER, rootcertbundle: $REG_CERTS/token.crt}"
      fi
    } > "$_config"
    _spawn "$_var" "$REG_DIR/$_var.out" docker-registry serve "$_config"
    _scheme=http
    [ -n "$_tls" ] && _scheme=https
    for i in $(seq 100); do
      _code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$REG_CERTS/ca.crt" \
        "$_scheme://127.0.0.1:$_port/v2/" 2> /dev/null) || true
      case $_code in 200 | 401)
        printf -v "$_var" '%s' "127.0.0.1:$_port"
        return 0
        ;;
      esac
      kill -0 "${REG_PID[$_var]}" 2> /dev/null || break
      sleep 0.1
    done
    stop_server "$_var"
  done
  echo "registry_lib: docker-registry did not answer on 127.0.0.1:$_port: $(tail -3 "$REG_DIR/$_var.out")" >&2
  return 1
}

# start_token_server VAR [--anonymous-pull REPO]...
start_token_server() {
  local _var=$1
  shift
  make_certs || return 1
  rm -f "$REG_DIR/$_var.port"
  _spawn "$_var" "$REG_DIR/$_var.out" python3 "$REG_HERE/registry_server.py" token \
    --port-file "$REG_DIR/$_var.port" --log "$REG_DIR/$_var.log" --key "$REG_CERTS/token.key" \
    --cert "$REG_CERTS/token.crt" --issuer "$REG_ISSUER" --service "$REG_SERVICE" \
    --user "$REG_USER:$REG_PASSWORD" "$@"
  _wait_port_file "$_var" "$REG_DIR/$_var.port" || return 1
  printf -v "$_var" '127.0.0.1:%s' "$(cat "$REG_DIR/$_var.port")"
  printf -v "${_var}_LOG" '%s' "$REG_DIR/$_var.log"
}

# start_proxy VAR UPSTREAM(HOST:PORT, plain HTTP) [flags]
start_proxy() {
  local _var=$1 _upstream=$2 _ports
  shift 2
  rm -f "$REG_DIR/$_var.port" "$REG_DIR/$_var.log"
  touch "$REG_DIR/$_var.log"
  _spawn "$_var" "$REG_DIR/$_var.out" python3 "$REG_HERE/registry_server.py" proxy \
    --port-file "$REG_DIR/$_var.port" --log "$REG_DIR/$_var.log" --upstream "http://$_upstream" "$@"
  _wait_port_file "$_var" "$REG_DIR/$_var.port" || return 1
  read -r -a _ports < "$REG_DIR/$_var.port"
  printf -v "$_var" '127.0.0.1:%s' "${_ports[0]}"
  printf -v "${_var}_STORAGE" 'localhost:%s' "${_ports[1]}"
  printf -v "${_var}_LOG" '%s' "$REG_DIR/$_var.log"
}

# push_image LAYOUT TAG DEST [skopeo copy flags]: DEST is HOST:PORT/REPO:TAG. The registry gets
# the layout's own manifests and blobs (skopeo would gzip plain layers), unless a --format
# flag asks for a conversion.
push_image() {
  local layout=$1 tag=$2 dest=$3 preserve=(--preserve-digests)
  shift 3
  [[ " $* " == *" --format"* ]] && preserve=()
  TMPDIR=$REG_TMPDIR skopeo copy -q --all "${preserve[@]}" --dest-tls-verify=false "$@" \
    "oci:$layout:$tag" "docker://$dest" ||
    { echo "registry_lib: skopeo could not push $layout:$tag to $dest" >&2; return 1; }
}

# trust_ca DIR HOST:PORT: installs the test CA for HOST:PORT in a certs.d directory DIR.
trust_ca() {
  local dir=$1/$2 top=$1
  while [ ! -d "$top" ] && [ "$(dirname "$top")" != "$top" ]; do # the first directory made
    [ -d "$(dirname "$top")" ] && break
    top=$(dirname "$top")
  done
  [ -d "$top" ] || REG_MADE+=("$top")
  mkdir -p "$dir" || return 1
  REG_MADE+=("$dir")
  cp "$REG_CERTS/ca.crt" "$dir/ca.crt"
}

_layout_query() { # _layout_query WHAT LAYOUT TAG [OS/ARCH]
  python3 - "$@" << 'EOF'
import json, os, sys
what, layout, tag = sys.argv[1:4]
platform = (sys.argv[4] if len(sys.argv) > 4 else "linux/amd64").split("/")
def blob(digest):
    with open(os.path.join(layout, "blobs", *digest.split(":"))) as f:
        return json.load(f)
with open(os.path.join(layout, "index.json")) as f:
    top = next(m for m in json.load(f)["manifests"]
               if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
if what == "manifest":
    print(top["digest"])
    sys.exit()
manifest = blob(top["digest"])
if "manifests" in manifest:
    entry = next(m for m in manifest["manifests"]
                 if [m["platform"]["os"], m["platform"]["architecture"]] +
                 ([m["platform"]["variant"]] if "variant" in m["platform"] else []) == platform)
    manifest = blob(entry["digest"])
if what == "config":
    print(manifest["config"]["digest"])
else:
    for layer in manifest["layers"]:
        print(layer["digest"])
EOF
}
manifest_digest() { _layout_query manifest "$@"; }
config_digest() { _layout_query config "$@"; }
layer_digests() { _layout_query layers "$@"; }

# blob_gets LOG DIGEST: the GETs of blob DIGEST answered with its bytes (200 or 206), by the
# proxy or its storage listener.
blob_gets() {
  awk -v d="/$2" '$2 == "GET" && ($4 == 200 || $4 == 206) && substr($3, length($3) - length(d) + 1) == d' "$1" | wc -l
}
