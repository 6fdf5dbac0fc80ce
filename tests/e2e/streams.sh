# stdout and stderr stay separate and arrive whole, at any reader's speed; stdin likewise.
. "$(dirname "$0")/lib.sh"

"$STREAMTOOL" both > "$TEST_TMP/out.local" 2> "$TEST_TMP/err.local"
vm -- "$STREAMTOOL" both > "$TEST_TMP/out.vm" 2> "$TEST_TMP/err.vm"
check_eq "stdout is the command's stdout" "$(sha256sum < "$TEST_TMP/out.local")" "$(sha256sum < "$TEST_TMP/out.vm")"
check_eq "stderr is the command's stderr" "$(sha256sum < "$TEST_TMP/err.local")" "$(sha256sum < "$TEST_TMP/err.vm")"

size=13000000
expected=$("$STREAMTOOL" gen $size 7 | sha256sum)
check_eq "13 MB of binary stdout, fast reader" "$expected" "$(vm -- "$STREAMTOOL" gen $size 7 | sha256sum)"
check_eq "13 MB of binary stdout, slow reader" "$expected" \
  "$(vm -- "$STREAMTOOL" gen $size 7 | (sleep 2; sha256sum))"
check_eq "13 MB of binary stderr" "$expected" \
  "$(vm -- "$STREAMTOOL" gen $size 7 2 2>&1 >/dev/null | sha256sum)"

expected=$("$STREAMTOOL" gen $size 9 | "$STREAMTOOL" sink)
check_eq "13 MB of binary stdin" "$expected" "$("$STREAMTOOL" gen $size 9 | vm -- "$STREAMTOOL" sink)"
check_eq "stdin from a file" "$expected" \
  "$("$STREAMTOOL" gen $size 9 > "$TEST_TMP/in"; vm -- "$STREAMTOOL" sink < "$TEST_TMP/in")"
rm -f "$TEST_TMP/in"

check_eq "stdin EOF reaches the command" "3" "$(printf abc | vm -- wc -c)"
check_eq "empty stdin" "0" "$(vm -- wc -c < /dev/null)"
check_eq "a slow writer" "1" "$( (sleep 1; printf x) | vm -- wc -c)"
check_eq "a closed stdin reads as empty" "0" "$(vm -- wc -c <&-)"

# A reader that goes away: the command gets SIGPIPE as it would here.
"$STREAMTOOL" gen 100000000 | head -c 10 > /dev/null
local_status=${PIPESTATUS[0]}
vm -- "$STREAMTOOL" gen 100000000 | head -c 10 > /dev/null
check_eq "a closed stdout ends the command with SIGPIPE" "$local_status" "${PIPESTATUS[0]}"

# 2>&1: one open file for both, so one pipe for both in the guest, and their order is kept.
interleave='for i in 1 2 3; do echo out $i; echo err $i >&2; done'
check_eq "2>&1 keeps the order of stdout and stderr" "$(sh -c "$interleave" 2>&1)" \
  "$("$EXECVM" -- sh -c "$interleave" 2>&1)"
check_eq "2>&1 keeps the order (bare)" "$(sh -c "$interleave" 2>&1)" "$(vm -- /bin/sh -c "$interleave" 2>&1)"
check_eq "without 2>&1 they stay apart" "out 1 out 2 out 3" "$(echo $("$EXECVM" -- sh -c "$interleave" 2> /dev/null))"

# A background job's output, as through a local pipe: it arrives after the command's exit.
check_eq "a background job's output after the command ended" \
  "$(sh -c '(sleep 2; echo late) & echo main' | cat)" \
  "$("$EXECVM" -- sh -c '(sleep 2; echo late) & echo main' | cat)"

# A closed stdout or stderr stays closed for the command.
echo hi >&- 2> /dev/null
check_eq "a closed stdout stays closed" "$?" "$("$EXECVM" -- echo hi >&- 2> /dev/null; echo $?)"
check_eq "a closed stderr stays closed" "$(sh -c 'echo err >&2' 2>&-; echo $?)" \
  "$("$EXECVM" -- sh -c 'echo err >&2' 2>&-; echo $?)"

# More than a frame's worth of argv and environment (1 MiB): what a local exec takes.
big=$(head -c 100000 /dev/zero | tr '\0' a)
args=()
for i in $(seq 11); do args+=("$big"); done
export EXECVM_E2E_BIG="$big"
check_eq "argv and environment over 1 MiB" "11 100000" \
  "$("$EXECVM" -- sh -c 'echo $# ${#EXECVM_E2E_BIG}' sh "${args[@]}" 2>&1)"
unset EXECVM_E2E_BIG

check_no_qemu_left "streams"
check_no_temp_files "streams"
finish
