# --output: files and directories copied out of the guest after the command, in the host-root
# mode and --bare: byte-exact, after a failure and a timeout, symlinks as symlinks, a missing one
# reported, all from the guest's own /tmp.
. "$(dirname "$0")/lib.sh"

# The bare root has the command and its libraries only: the scripts run in busybox's shell and
# call its applets by name.
bb=$(command -v busybox)
[ -n "$bb" ] || { echo "busybox is needed (apt-get install busybox)" >&2; exit 1; }

outside="$TEST_TMP/outside"
mkdir -p "$outside"

for mode in host bare; do
  root=()
  [ "$mode" = bare ] && root=(--bare)
  here="$TEST_TMP/$mode"
  mkdir -p "$here"
  cd "$here" || exit 1
  run() { "$EXECVM" "${root[@]}" "$@"; }
  sh_in() { run "${@:1:$#-1}" -- "$bb" sh -c "${!#}"; }

  # A file, to its name in the current directory.
  sh_in --output /tmp/output.json 'echo "{\"result\": 42}" > /tmp/output.json'
  check_eq "a file ($mode)" '0 {"result": 42}' "$? $(cat output.json 2>&1)"

  # A directory, whole: modes, a symlink kept as one, an empty directory.
  sh_in --output /tmp/tree:copy 'busybox mkdir -p /tmp/tree/sub /tmp/tree/empty && echo a > /tmp/tree/a &&
    echo b > /tmp/tree/sub/b && busybox chmod 750 /tmp/tree/sub && busybox chmod 741 /tmp/tree/a &&
    busybox ln -s ../a /tmp/tree/sub/link'
  check_eq "a directory ($mode)" "0 a b" "$? $(cat copy/a) $(cat copy/sub/b)"
  check_eq "its modes ($mode)" "741 750" "$(stat -c %a copy/a) $(stat -c %a copy/sub)"
  check_eq "its symlink ($mode)" "../a a" "$(readlink copy/sub/link) $(cat copy/sub/link)"
  check_eq "its empty directory ($mode)" "directory" "$(stat -c %F copy/empty)"

  # After the command failed: its status stays, the file comes.
  sh_in --output /tmp/f:failed.txt 'echo partial > /tmp/f; exit 3'
  check_eq "after a failure ($mode)" "3 partial" "$? $(cat failed.txt 2>&1)"

  # After the timeout: 124, and what the command wrote before it. (The timeout counts the boot,
  # which under TCG on a loaded host can take seconds: 8s leaves the command time to write.)
  sh_in --timeout 8s --output /tmp/o:timed.txt 'echo x > /tmp/o; busybox sleep 100' 2> err
  status=$?
  check_eq "after --timeout ($mode)" "124 x" "$status $(cat timed.txt 2>&1)"
  check_eq "the timeout is said once ($mode)" \
    "execvm: the command timed out after 8s; the VM was stopped" "$(cat err)"

  # 20 MiB of random bytes, byte-exact.
  sum=$(sh_in --output /tmp/big.bin 'busybox head -c 20971520 /dev/urandom > /tmp/big.bin &&
    busybox sha256sum < /tmp/big.bin')
  [[ "$sum" =~ ^[0-9a-f]{64}\ \ -$ ]] || fail "the guest's sha256sum ($mode): [$sum]"
  check_eq "20 MiB byte-exact ($mode)" "$sum" "$(sha256sum < big.bin 2>&1)"
  check_eq "20 MiB, all of it ($mode)" "20971520" "$(stat -c %s big.bin)"

  # A symlink the guest made that points outside the destination: copied as a symlink, never
  # followed; a symlink named as the output is one too.
  sh_in --output /tmp/d2 --output /tmp/etc:etc-link "busybox mkdir /tmp/d2 && busybox ln -s '$outside' /tmp/d2/evil &&
    echo x > /tmp/d2/file && busybox ln -s /etc /tmp/etc"
  check_eq "a symlink out of the destination ($mode)" "0 $outside" "$? $(readlink d2/evil)"
  check_eq "nothing written outside ($mode)" "" "$(ls -A "$outside")"
  check_eq "a symlink as the output ($mode)" "symbolic link /etc" \
    "$(stat -c %F etc-link) $(readlink etc-link)"

  # A relative guest path is in the command's working directory.
  sh_in -w /tmp/work --output notes.txt 'echo relative > notes.txt'
  check_eq "a relative guest path ($mode)" "0 relative" "$? $(cat notes.txt 2>&1)"

  # Where the host already has something: a file is replaced, a directory takes it inside.
  echo old > replaced.txt
  mkdir -p into
  sh_in --output /tmp/r:replaced.txt --output /tmp/r:into 'echo new > /tmp/r'
  check_eq "an existing file is replaced ($mode)" "new" "$(cat replaced.txt)"
  check_eq "an existing directory takes it inside ($mode)" "new" "$(cat into/r 2>&1)"

  # Missing: one line, 125; the command's own failure wins.
  run --output /tmp/nothing -- "$bb" true 2> err
  check_eq "a missing output fails ($mode)" "125" "$?"
  check_eq "a missing output is one line ($mode)" \
    "execvm: --output /tmp/nothing: no such file in the guest" "$(cat err)"
  run --output /tmp/nothing -- "$bb" sh -c 'exit 3' 2> /dev/null
  check_eq "a missing output after a failure ($mode)" "3" "$?"

  # Nothing half-written is left beside the outputs.
  check_eq "no temporaries ($mode)" "" "$(find "$here" -name '.*.execvm-*')"
done

# The host-root mode: a process outside the command's group that holds its output does not hold
# back the outputs after a timeout.
cd "$TEST_TMP/host" || exit 1
"$EXECVM" --timeout 8s --output /tmp/o:straggler.txt -- sh -c 'setsid sleep 100 & echo s > /tmp/o; sleep 100' 2> /dev/null
check_eq "after a timeout, with a process outside the group" "124 s" "$? $(cat straggler.txt 2>&1)"

# A bad destination is refused before the VM starts.
"$EXECVM" --output /tmp/x:"$TEST_TMP/no/such/dir/x" -- true 2> err
check_eq "a destination without its directory" "125" "$?"
grep -q "no/such/dir: No such file or directory" err || fail "the missing directory is named: $(cat err)"

check_no_qemu_left "outputs"
check_no_temp_files "outputs"
finish
