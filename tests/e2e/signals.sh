# Signals and the ways a run ends, as a local exec would have them: ignored signals stay ignored,
# a signal to the caller's process group reaches the command's children, a timeout or SIGTERM
# ends execvm even when its reader does not read, a guest that halts ends the run.
. "$(dirname "$0")/lib.sh"
set -m

# now: seconds since the epoch, with a fraction.
now() { date +%s.%N; }
# within SECONDS START: true when less than SECONDS passed since START.
within() { awk -v s="$1" -v start="$2" -v now="$(now)" 'BEGIN { exit !(now - start < s) }'; }

# A signal the caller ignores does not end the run: the command finishes as it would here.
here=$(bash -c "trap '' INT; sh -c 'sleep 3; echo finished' & p=\$!; sleep 0.5; kill -INT \$p; wait \$p; echo \$?")
got=$(bash -c "trap '' INT; exec \"$EXECVM\" -- sh -c 'sleep 4; echo finished'" & p=$!
      sleep 1.5; kill -INT $p; sleep 0.2; kill -INT $p; sleep 0.2; kill -INT $p; wait $p; echo $?)
check_eq "an ignored SIGINT, three times, is ignored" "$(echo $here)" "$(echo $got)"
got=$(nohup "$EXECVM" -- sh -c 'sleep 3; echo finished' 2> /dev/null & p=$!
      sleep 1.5; kill -HUP $p; wait $p; echo $?)
check_eq "under nohup, SIGHUP is ignored" "finished 0" "$(echo $got)"

# SIGINT to the caller's process group, as Ctrl-C sends it: the command's children get it too.
sh -c 'sleep 20; echo after' > /dev/null &
p=$!
sleep 0.5
kill -INT -$p
wait $p
local_status=$?
start=$(now)
"$EXECVM" -- bash -c 'echo ready; sleep 20; echo after' > "$TEST_TMP/out" &
p=$!
for i in $(seq 600); do grep -q ready "$TEST_TMP/out" && break; sleep 0.1; done
kill -INT -$p
wait $p
check_eq "SIGINT to the group: the status a local run gives" "$local_status" "$?"
check_eq "SIGINT to the group: the child did not go on" "ready" "$(cat "$TEST_TMP/out")"
if within 15 "$start"; then pass "SIGINT to the group: at once"; else fail "SIGINT to the group took until the child ended"; fi

# A reader that does not read: --timeout and SIGTERM still end execvm (the reader's own end
# comes long after).
start=$(now)
{ "$EXECVM" --timeout 3s -- yes; echo "exited $? $(within 20 "$start" && echo early)" > "$TEST_TMP/status"; } 2> /dev/null | sleep 40 &
pipeline=$!
for i in $(seq 300); do [ -s "$TEST_TMP/status" ] && break; sleep 0.1; done
check_eq "--timeout with a reader that does not read" "exited 124 early" "$(cat "$TEST_TMP/status")"
kill %% 2> /dev/null; wait $pipeline 2> /dev/null
rm -f "$TEST_TMP/status"
start=$(now)
{ "$EXECVM" -- yes & p=$!; sleep 3; kill -TERM $p; wait $p; echo "exited $? $(within 20 "$start" && echo early)" > "$TEST_TMP/status"; } | sleep 40 &
pipeline=$!
for i in $(seq 300); do [ -s "$TEST_TMP/status" ] && break; sleep 0.1; done
check_eq "SIGTERM with a reader that does not read" "exited 143 early" "$(cat "$TEST_TMP/status")"
kill %% 2> /dev/null; wait $pipeline 2> /dev/null

# A guest that halts or powers off (its kernel can only halt): 125 and one line, as for reboot.
for what in "poweroff -f" "halt -f" "echo o > /proc/sysrq-trigger; sleep 10"; do
  timeout 60 "$EXECVM" --sudo -- sh -c "$what" > /dev/null 2> "$TEST_TMP/err"
  check_eq "$what in the guest: exit 125" "125" "$?"
  # (poweroff and halt say "Powering off." and "Halting." themselves first.)
  check_eq "$what in the guest: one line of execvm's" \
    "execvm: the guest halted before the command finished (poweroff or halt in the VM, which its kernel cannot power off)" \
    "$(grep '^execvm' "$TEST_TMP/err")"
done
timeout 60 "$EXECVM" --sudo -- reboot -f > /dev/null 2> "$TEST_TMP/err"
check_eq "reboot -f in the guest: exit 125" "125" "$?"
check_eq "reboot -f in the guest: one line of execvm's" "1" "$(grep -c '^execvm' "$TEST_TMP/err")"

# The guest runs out of memory: the command's status, and a word about --memory.
"$EXECVM" --bare --memory 128M -- "$STREAMTOOL" eat 1024 > /dev/null 2> "$TEST_TMP/err"
check_eq "out of memory: killed" "137" "$?"
if grep -q "ran out of memory.*--memory" "$TEST_TMP/err"; then pass "out of memory: says so"; else fail "out of memory: stderr [$(cat "$TEST_TMP/err")]"; fi

# A guest that stops (its QEMU stopped, as a hung guest kernel would be): execvm says so and
# ends, with the VM gone, after twice the boot timeout of silence.
timeout 120 "$EXECVM" --boot-timeout 8s -- sh -c 'echo ready; sleep 100' > "$TEST_TMP/out" 2> "$TEST_TMP/err" &
p=$!
for i in $(seq 600); do grep -q ready "$TEST_TMP/out" && break; sleep 0.1; done
start=$(now)
stopped=$(our_qemus)
kill -STOP $stopped
wait $p
check_eq "a guest that stopped: exit 125" "125" "$?"
if within 60 "$start"; then pass "a guest that stopped: ended"; else fail "a guest that stopped: ended only after $(awk -v s="$start" -v n="$(now)" 'BEGIN { print n - s }') s"; fi
check_eq "a guest that stopped: one line says so" \
  "execvm: the guest stopped responding: its agent did not answer for 16s while the command ran, so the VM was stopped; see the kernel's last lines below, or run again with --console" \
  "$(grep '^execvm' "$TEST_TMP/err")"
kill -CONT $stopped 2> /dev/null

check_no_qemu_left "signals"
check_no_temp_files "signals"
finish
