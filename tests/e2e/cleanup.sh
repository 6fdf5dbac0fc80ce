# However a run ends, no QEMU is left and no temporary file.
. "$(dirname "$0")/lib.sh"
set -m

wait_ready() {
  local i
  for i in $(seq 600); do grep -q ready "$1" && return 0; sleep 0.1; done
  fail "the command never became ready: $(cat "$1")"
}

vm -- true
check_eq "a normal run" "0" "$?"
check_no_qemu_left "normal run"

# QEMU killed under execvm's feet, and execvm killed outright: nothing is left either way, on
# the bare root and on the host's root over virtiofs (whose daemon must go too).
for root in --bare "--share-fs virtiofs"; do
  # shellcheck disable=SC2086
  "$EXECVM" $root -- "$STREAMTOOL" wait > "$TEST_TMP/out" 2> "$TEST_TMP/err" &
  pid=$!
  wait_ready "$TEST_TMP/out"
  for p in $(our_qemus); do grep -q qemu-system "/proc/$p/cmdline" && kill -9 "$p"; done
  wait $pid
  check_eq "QEMU killed ($root): exit 125" "125" "$?"
  if grep -q "QEMU was killed by signal 9" "$TEST_TMP/err"; then pass "QEMU killed ($root): says so"; else fail "QEMU killed ($root): stderr was [$(cat "$TEST_TMP/err")]"; fi
  check_no_qemu_left "QEMU killed ($root)"

  # shellcheck disable=SC2086
  "$EXECVM" $root -- "$STREAMTOOL" wait > "$TEST_TMP/out" 2>&1 &
  pid=$!
  wait_ready "$TEST_TMP/out"
  kill -9 $pid
  wait $pid 2>/dev/null
  check_no_qemu_left "execvm killed ($root)"
done

# Ctrl-C while the VM boots: the run ends as an interrupted command would.
"$EXECVM" --bare -- "$STREAMTOOL" wait > "$TEST_TMP/out" 2>&1 &
pid=$!
sleep 0.2
kill -INT $pid
wait $pid
check_eq "SIGINT during boot: exit 130" "130" "$?"
check_no_qemu_left "SIGINT during boot"

# A guest kernel panic.
vm -- /bin/sh -c 'echo c > /proc/sysrq-trigger' > /dev/null 2> "$TEST_TMP/err"
check_eq "guest panic: exit 125" "125" "$?"
if grep -q "the guest kernel panicked" "$TEST_TMP/err"; then pass "guest panic: says so"; else fail "guest panic: stderr was [$(cat "$TEST_TMP/err")]"; fi
check_no_qemu_left "guest panic"

# A boot that never finishes: the watchdog turns it into an error.
vm --boot-timeout 100ms -- true 2> "$TEST_TMP/err"
check_eq "boot timeout: exit 125" "125" "$?"
if grep -q "did not start within 100ms" "$TEST_TMP/err"; then pass "boot timeout: says so"; else fail "boot timeout: stderr was [$(cat "$TEST_TMP/err")]"; fi
check_no_qemu_left "boot timeout"

# A --qemu wrapper script that does not exec QEMU: QEMU, its child, goes with the wrapper.
printf '#!/bin/sh\nqemu-system-x86_64 "$@"\n' > "$TEST_TMP/qemu-wrapper"
chmod +x "$TEST_TMP/qemu-wrapper"
vm --qemu "$TEST_TMP/qemu-wrapper" --timeout 4s -- /bin/sleep 100 2> /dev/null
check_eq "a --qemu wrapper: the timeout's status" "124" "$?"
check_no_qemu_left "a --qemu wrapper"

check_no_temp_files "cleanup"
finish
