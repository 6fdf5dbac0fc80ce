# With a terminal on stdin and stdout, the command gets one too; without, it gets pipes.
. "$(dirname "$0")/lib.sh"

check_eq "no terminal: pipes, like here" "$(tty < /dev/null; echo $?)" "$(vm -- tty < /dev/null; echo $?)"
out=$(script -qec "$EXECVM --bare -- tty" /dev/null | tr -d '\r')
case "$out" in
  /dev/pts/*) pass "a terminal when the caller has one ($out)" ;;
  *) fail "expected a /dev/pts terminal, got [$out]" ;;
esac
out=$(script -qec "stty cols 123 rows 45; $EXECVM --bare -- stty size" /dev/null | tr -d '\r')
check_eq "the window size follows" "45 123" "$out"
out=$(script -qec "$EXECVM --bare -- /bin/sh -c 'exit 7'; echo status=\$?" /dev/null | tr -d '\r')
check_eq "exit status through a terminal" "status=7" "$out"
check_eq "--tty never" "not a tty" "$(script -qec "$EXECVM --bare --tty never -- tty" /dev/null | tr -d '\r')"
check_no_qemu_left "tty"
check_no_temp_files "tty"
finish
