# The VM's own options and the diagnostics: --cpus, --memory, --kernel, --console, --stats,
# --accel, and execvm doctor.
. "$(dirname "$0")/lib.sh"

check_eq "--cpus 2" "2" "$(vm --cpus 2 -- nproc)"
mem_kib=$(vm --memory 1G -- cat /proc/meminfo | awk '/MemTotal/ {print $2}')
if [ "$mem_kib" -gt 900000 ] && [ "$mem_kib" -le 1048576 ]; then pass "--memory 1G ($mem_kib KiB)"; else fail "--memory 1G gave MemTotal $mem_kib KiB"; fi

kernel_dir=$(dirname "$("$EXECVM" kernel path)")
check_eq "--kernel PATH boots a bzImage" "hello" "$(vm --kernel "$kernel_dir/bzImage" -- /bin/echo hello)"
check_eq "--kernel PATH boots a vmlinux" "hello" "$(vm --kernel "$kernel_dir/vmlinux" -- /bin/echo hello)"

vm --console -- true 2> "$TEST_TMP/console"
if grep -q "Linux version" "$TEST_TMP/console"; then pass "--console shows the kernel's log"; else fail "--console: no kernel log in [$(head -c 300 "$TEST_TMP/console")]"; fi
check_eq "without --console, stderr is the command's only" "" "$(vm -- true 2>&1)"
vm --stats -- true 2> "$TEST_TMP/stats"
if grep -qE '^execvm: accel (kvm|tcg), root [a-z0-9]+, boot [0-9.]+s' "$TEST_TMP/stats"; then pass "--stats"; else fail "--stats printed [$(cat "$TEST_TMP/stats")]"; fi
check_eq "--accel tcg works everywhere" "ok" "$(vm --accel tcg -- /bin/echo ok)"

"$EXECVM" doctor > "$TEST_TMP/doctor" 2>&1
check_eq "doctor: exit status" "0" "$?"
for item in qemu accelerator kernel cache boot; do
  if grep -qE "^  ok +$item " "$TEST_TMP/doctor"; then pass "doctor: $item ok"; else fail "doctor: no ok for $item in [$(cat "$TEST_TMP/doctor")]"; fi
done
XDG_CACHE_HOME="$TEST_TMP/empty" "$EXECVM" doctor --no-boot > "$TEST_TMP/doctor" 2>&1
check_eq "doctor without a kernel: exit status" "1" "$?"
if grep -q "fix: execvm kernel build" "$TEST_TMP/doctor"; then pass "doctor says how to fix a missing kernel"; else fail "doctor: [$(cat "$TEST_TMP/doctor")]"; fi
check_no_qemu_left "vm_options"
check_no_temp_files "vm_options"
finish
