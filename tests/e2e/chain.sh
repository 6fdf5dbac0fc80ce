# execvm chain: sequencing without a shell. On the host: the seed's examples, 10 chains nested,
# statuses (128+N for a signal), usage errors, words passed as they are. Inside each kind of guest
# (bare, the host's root, an image, a directory, a disk written through), the same tool at
# /run/execvm/execvm, nested, with its status.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
tools=/run/execvm/execvm

# --- On the host.
"$EXECVM" chain -- /bin/true -- /bin/true
check_eq "chain -- /bin/true -- /bin/true" 0 $?
got=$("$EXECVM" chain '>>=' /bin/true '>>=' "$EXECVM" chain '>>=' /bin/false '>>=' /bin/echo ran)
check_eq "the seed's '>>=' chain exits 1, the last command not run" "1 []" "$? [$got]"

nested=()
for i in $(seq 1 10); do nested+=("$EXECVM" chain -- /bin/echo "$i" --); done
got=$("${nested[@]}" /bin/echo end | tr '\n' ' ')
check_eq "10 chains nested" "1 2 3 4 5 6 7 8 9 10 end " "$got"
nested=()
for i in $(seq 1 10); do
  if [ "$i" = 7 ]; then nested+=("$EXECVM" chain -- /bin/sh -c 'exit 9' --)
  else nested+=("$EXECVM" chain -- /bin/echo "$i" --); fi
done
got=$("${nested[@]}" /bin/echo end)
check_eq "a failure 7 chains deep stops them all with its status" "9 1 2 3 4 5 6" "$? $(echo $got)"

got=$("$EXECVM" chain -- /bin/sh -c 'echo first; exit 7' -- /bin/echo no)
check_eq "a failing first command: its status, the rest not run" "7 first" "$? $got"
got=$("$EXECVM" chain -- /bin/sh -c 'kill -TERM $$' -- /bin/echo no)
check_eq "a first command killed by SIGTERM: 143" "143 []" "$? [$got]"
("$EXECVM" chain -- /bin/true -- /bin/sh -c 'kill -KILL $$') 2> /dev/null
check_eq "the last command is exec'd: its death is the chain's" 137 $?
"$EXECVM" chain -- /bin/true -- /bin/sh -c 'exit 4'
check_eq "the last command's status" 4 $?

got=$("$EXECVM" chain -- printf '%s|' --help -v '$HOME' '*' -- printf '%s|' --version -- x)
check_eq "every word as it is: options, --, no shell" '--help|-v|$HOME|*|--version|--|x|' "$got"
got=$("$EXECVM" chain -- true -- echo found in PATH)
check_eq "commands looked up in PATH" "found in PATH" "$got"
got=$(printf 'a\nb\n' | "$EXECVM" chain -- /bin/sh -c 'read x; echo "1:$x"' -- /bin/sh -c 'read y; echo "2:$y"')
check_eq "the first command reads part of stdin, the rest reads the rest" "1:a
2:b" "$got"
got=$("$EXECVM" chain -- no-such-command-xyz -- /bin/echo no 2>&1)
check_eq "a command that is not found: 127" "127 execvm: no-such-command-xyz: command not found" "$? $got"
got=$("$EXECVM" chain -- /bin/true -- /etc/passwd 2>&1)
check_eq "a command that cannot be executed: 126" "126 execvm: /etc/passwd: Permission denied" "$? $got"

usage() {  # usage WHAT ARGS...: exit 2 and one line on stderr
  local what=$1 out err status
  shift
  out=$("$EXECVM" chain "$@" 2> "$TEST_TMP/err")
  status=$?
  err=$(cat "$TEST_TMP/err")
  case "$status|$out|$(wc -l < "$TEST_TMP/err")|$err" in
    "2||1|execvm: chain "*) pass "usage error: $what" ;;
    *) fail "usage error: $what: status $status, stdout [$out], stderr [$err]" ;;
  esac
}
usage "no delimiter"
usage "no command" --
usage "an empty command" -- -- /bin/true
usage "nothing after the second delimiter" -- /bin/true --
got=$("$EXECVM" chain -- /bin/true -- 2>&1 >/dev/null)
check_eq "the usage error says what" "execvm: chain has no command after the last delimiter --: usage: execvm chain DELIM COMMAND [ARG...] [DELIM REST...]" "$got"
got=$("$EXECVM" chain --help | head -1)
check_eq "execvm chain --help" "usage: execvm chain DELIM COMMAND [ARG...] [DELIM REST...]" "$got"

# --- Inside the guests: /run/execvm/execvm, nested chains and their status, one boot each.
got=$(vm -- "$tools" chain -- /bin/true -- /bin/echo hi 2>&1)
check_eq "--bare: $tools chain -- /bin/true -- /bin/echo hi" "0 hi" "$? $got"
in_guest=("$tools" chain -- /bin/sh -c 'echo 1; test -w /run/execvm/execvm || echo read-only'
  -- "$tools" chain -- /bin/echo 2 -- "$tools" chain -- /bin/sh -c 'exit 3' -- /bin/echo no)
want="1
read-only
2"
got=$(vm -- "${in_guest[@]}" 2>&1)
check_eq "--bare: nested chains, their status" "3 $want" "$? $got"
got=$("$EXECVM" -- "${in_guest[@]}" 2>&1)
check_eq "host root: nested chains, their status" "3 $want" "$? $got"

# An image, a directory and a disk of busybox, the command as a user that is not root.
export XDG_CACHE_HOME="$TEST_TMP/cache"
kernel=$(HOME=$HOME XDG_CACHE_HOME= "$EXECVM" kernel path)
python3 "$here/oci_image.py" "$TEST_TMP/layout" --tag chain --config '{}' --layer busybox
in_root=("$tools" chain -- sh -c 'echo "1 $(id -u)"' -- "$tools" chain -- echo 2 --
  "$tools" chain -- false -- echo no)
want="1 1000
2"
got=$("$EXECVM" --kernel "$kernel" --image "oci:$TEST_TMP/layout:chain" -u 1000 -- "${in_root[@]}" 2>&1)
check_eq "--image: nested chains as uid 1000, their status" "1 $want" "$? $got"
root="$TEST_TMP/rootfs"
mkdir -p "$root/bin" "$root/etc"
cp "$(command -v busybox)" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
got=$("$EXECVM" --kernel "$kernel" --rootfs "$root" -u 1000 -- "${in_root[@]}" 2>&1)
check_eq "--rootfs: nested chains as uid 1000, their status" "1 $want" "$? $got"
mkfs.ext4 -q -d "$root" "$TEST_TMP/root.ext4" 32M
got=$("$EXECVM" --kernel "$kernel" --root-disk "$TEST_TMP/root.ext4:rw" -u 1000 -- "${in_root[@]}" 2>&1)
check_eq "--root-disk :rw: nested chains as uid 1000, their status" "1 $want" "$? $got"
got=$(debugfs -R "stat /run/execvm" "$TEST_TMP/root.ext4" 2>&1 | grep -c "File not found")
check_eq "the tools were not written into the disk written through" 1 "$got"
e2fsck -fn "$TEST_TMP/root.ext4" > /dev/null 2>&1
check_eq "the disk is left clean" 0 $?

check_no_qemu_left "chain"
check_no_temp_files "chain"
finish
