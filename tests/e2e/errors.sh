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
check_no_qemu_left "errors"
check_no_temp_files "errors"
finish
