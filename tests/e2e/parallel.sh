# Eight VMs at once (on however few cores) all succeed with the right output.
. "$(dirname "$0")/lib.sh"

for i in $(seq 8); do
  ( vm -- "$STREAMTOOL" gen 2000000 $i | sha256sum > "$TEST_TMP/vm.$i"; echo "${PIPESTATUS[0]}" > "$TEST_TMP/status.$i" ) &
done
wait
for i in $(seq 8); do
  check_eq "run $i of 8: status" "0" "$(cat "$TEST_TMP/status.$i")"
  check_eq "run $i of 8: output" "$("$STREAMTOOL" gen 2000000 $i | sha256sum)" "$(cat "$TEST_TMP/vm.$i")"
done
check_no_qemu_left "parallel"
check_no_temp_files "parallel"
finish
