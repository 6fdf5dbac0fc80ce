# The exit status is the command's; signals to execvm reach the command; --timeout works.
. "$(dirname "$0")/lib.sh"

for code in 0 1 42 255; do
  vm -- "$STREAMTOOL" exit $code
  check_eq "exit code $code" "$code" "$?"
done
for sig in 9 11 15; do
  vm -- "$STREAMTOOL" raise $sig
  check_eq "killed by signal $sig" "$((128 + sig))" "$?"
done
vm -- /bin/sh -c 'echo out; echo err >&2; exit 42' > "$TEST_TMP/out" 2> "$TEST_TMP/err"
check_eq "sh -c exit 42" "42 out err" "$? $(cat "$TEST_TMP/out") $(cat "$TEST_TMP/err")"

# Background jobs ignore SIGINT unless job control is on.
set -m
for sig in INT TERM HUP; do
  "$EXECVM" --bare -- "$STREAMTOOL" wait > "$TEST_TMP/wait.out" 2>&1 &
  pid=$!
  for i in $(seq 600); do grep -q ready "$TEST_TMP/wait.out" && break; sleep 0.1; done
  kill -$sig $pid
  wait $pid
  status=$?
  num=$(kill -l $sig)
  check_eq "SIG$sig to execvm reaches the command" "$((100 + num)) got $num" \
    "$status $(grep got "$TEST_TMP/wait.out")"
done

# A signal the caller ignores is ignored by the command too, as with a local exec.
(trap '' TERM; exec "$EXECVM" --bare -- /bin/sh -c 'kill -TERM $$; echo alive') > /dev/null
check_eq "ignored signals stay ignored" "0" "$?"
set +m

start=$(date +%s)
vm --timeout 3s -- "$STREAMTOOL" wait > /dev/null 2> "$TEST_TMP/err"
status=$?
check_eq "--timeout exits 124" "124" "$status"
check_eq "--timeout says so in one line" "execvm: the command timed out after 3s; the VM was stopped" \
  "$(cat "$TEST_TMP/err")"
check_no_qemu_left "timeout"
check_no_temp_files "exit_status"
finish
