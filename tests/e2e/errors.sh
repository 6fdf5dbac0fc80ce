# execvm's own failures: the documented status and one clear line on stderr.
. "$(dirname "$0")/lib.sh"

# expect_error WHAT STATUS PATTERN COMMAND...
expect_error() {
  local what=$1 want=$2 pattern=$3
  shift 3
  "$@" > "$TEST_TMP/out" 2> "$TEST_TMP/err" < /dev/null
  local status=$?
  check_eq "$what: exit status" "$want" "$status"
  check_eq "$what: one line on stderr" "1" "$(wc -l < "$TEST_TMP/err")"
  if grep -q -- "$pattern" "$TEST_TMP/err"; then pass "$what: says $pattern"; else fail "$what: stderr [$(cat "$TEST_TMP/err")] lacks [$pattern]"; fi
  check_eq "$what: nothing on stdout" "" "$(cat "$TEST_TMP/out")"
}

expect_error "command not found" 127 "no-such-command-xyz: command not found" vm -- no-such-command-xyz
expect_error "missing path" 127 "No such file" vm -- /no/such/file
touch "$TEST_TMP/not-executable"
expect_error "not executable" 126 "Permission denied" vm -- "$TEST_TMP/not-executable"
printf 'garbage\x00\x01' > "$TEST_TMP/garbage"; chmod +x "$TEST_TMP/garbage"
expect_error "not a program" 126 "cannot execute" vm -- "$TEST_TMP/garbage"
expect_error "unknown option" 125 "unknown option --bogus" "$EXECVM" --bogus true
expect_error "bad value" 125 "--memory" "$EXECVM" --memory lots -- true
expect_error "no command" 125 "no command" "$EXECVM" --bare
expect_error "missing kernel" 125 "execvm kernel build" env XDG_CACHE_HOME="$TEST_TMP/empty-cache" "$EXECVM" --bare -- true
expect_error "--kernel not found" 125 "/no/such/kernel" vm --kernel /no/such/kernel -- true
expect_error "--kernel not a kernel" 125 "$TEST_TMP/garbage" vm --kernel "$TEST_TMP/garbage" -- true
expect_error "guest-side exec failure" 127 "not found" vm -- /bin/sh -c 'exec /no/such/program'

# The exec of COMMAND failing, in both modes (--bare finds and packs COMMAND on the host, and must
# say what the guest would): its status and one line, in the words bash gives for the same exec
# here. run_in MODE ARGS...: execvm in MODE (bare, or default: the host's root).
run_in() {
  local mode=$1
  shift
  if [ "$mode" = bare ]; then vm "$@"; else "$EXECVM" "$@"; fi
}
# bash_says COMMAND...: what bash prints when it cannot run COMMAND, without its own prefix.
bash_says() { bash -c '"$@"' bash "$@" 2>&1 > /dev/null | sed -e 's/^bash: //' -e 's/^line [0-9]*: //'; }
# same_as_bash WHAT STATUS COMMAND...: bash, running COMMAND here, exits STATUS (what
# expect_error wanted) and says the line expect_error just saw.
same_as_bash() {
  local what=$1 want=$2
  shift 2
  bash -c '"$@"' bash "$@" > /dev/null 2>&1
  check_eq "$what: bash's status" "$want" "$?"
  check_eq "$what: bash's words" "execvm: $(bash_says "$@")" "$(cat "$TEST_TMP/err")"
}
cd "$TEST_TMP" || exit 1
printf '#!/no/such/interpreter -x\necho ran\n' > missing-interp
printf 'echo\n' > plain-file
printf '#!%s/plain-file\necho ran\n' "$TEST_TMP" > locked-interp
mkdir dir-interp.d
printf '#!%s/dir-interp.d\necho ran\n' "$TEST_TMP" > dir-interp
printf '#!/usr/bin/env bash\necho "bash ${BASH_VERSINFO[0]}: $# [$2]"\n' > env-bash
printf '#!/usr/bin/env -S bash -e\necho "split: $# [$1] $-"\n' > env-split
printf '#!/usr/bin/env no-such-command-xyz\n' > env-missing
chmod +x missing-interp locked-interp dir-interp env-bash env-split env-missing
for mode in bare default; do
  expect_error "'' ($mode)" 127 "^execvm: : command not found\$" run_in "$mode" -- ''
  same_as_bash "'' ($mode)" 127 ''
  # A local exec fails with ENOENT: 127 (bash 5.2 says "cannot execute: required file not
  # found", naming no interpreter; execvm keeps the words of bash up to 5.1, which name it).
  expect_error "missing #! interpreter ($mode)" 127 \
    "^execvm: ./missing-interp: /no/such/interpreter: bad interpreter: No such file or directory\$" \
    run_in "$mode" -- ./missing-interp
  expect_error "#! interpreter not executable ($mode)" 126 "bad interpreter: Permission denied" \
    run_in "$mode" -- ./locked-interp
  same_as_bash "#! interpreter not executable ($mode)" 126 ./locked-interp
  expect_error "#! interpreter a directory ($mode)" 126 "bad interpreter: Permission denied" \
    run_in "$mode" -- ./dir-interp
  same_as_bash "#! interpreter a directory ($mode)" 126 ./dir-interp
  # env's command is packed too: it runs as it does here.
  for script in env-bash env-split; do
    want=$(env "./$script" a 'b c' 2>&1; echo "status $?")
    got=$(run_in "$mode" -- "./$script" a 'b c' 2>&1 < /dev/null; echo "status $?")
    check_eq "#!/usr/bin/env: $script ($mode)" "$want" "$got"
  done
  # A command env does not find is env's to report, in the guest, as here.
  run_in "$mode" -- ./env-missing > "$TEST_TMP/out" 2> "$TEST_TMP/err" < /dev/null
  check_eq "#!/usr/bin/env, command not found ($mode): status" 127 "$?"
  if grep -q "^/usr/bin/env: .*no-such-command-xyz.*: No such file or directory\$" "$TEST_TMP/err"; then
    pass "#!/usr/bin/env, command not found ($mode): env says so"
  else
    fail "#!/usr/bin/env, command not found ($mode): stderr [$(cat "$TEST_TMP/err")]"
  fi
done
cd - > /dev/null || exit 1
# The caller's PATH empty: execvm's own helpers (QEMU) are still found; the command's lookup is
# the command's (an empty PATH is the current directory, as for a local exec).
check_eq "an empty PATH still finds QEMU" "hi" "$(PATH= "$EXECVM" --bare -- /bin/echo hi 2>&1)"

# A kernel cache that cannot be read is not a kernel that was not built.
if [ "$(id -u)" -eq 0 ] && id nobody > /dev/null 2>&1; then
  mkdir -p "$TEST_TMP/locked-cache/execvm/kernels"
  chmod 700 "$TEST_TMP/locked-cache/execvm/kernels"
  chmod a+rx "$TEST_TMP" "$TEST_TMP/locked-cache" "$TEST_TMP/locked-cache/execvm"
  expect_error "an unreadable kernel cache" 125 "cannot read execvm's kernel cache" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups env XDG_CACHE_HOME="$TEST_TMP/locked-cache" "$EXECVM" --bare -- true
fi

check_no_qemu_left "errors"
check_no_temp_files "errors"
finish
