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

check_no_qemu_left "streams"
check_no_temp_files "streams"
finish
