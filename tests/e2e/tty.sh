# With a terminal on stdin and stdout, the command gets one too; without, it gets pipes.
. "$(dirname "$0")/lib.sh"
on_terminal() { python3 "$(dirname "$0")/on_terminal.py" "$@"; }

check_eq "no terminal: pipes, like here" "$(tty < /dev/null; echo $?)" "$(vm -- tty < /dev/null; echo $?)"
out=$(on_terminal "$EXECVM --bare -- tty" | tr -d '\r')
case "$out" in
  /dev/pts/*) pass "a terminal when the caller has one ($out)" ;;
  *) fail "expected a /dev/pts terminal, got [$out]" ;;
esac
check_eq "the window size follows" "45 123" "$(on_terminal --size 45 123 "$EXECVM --bare -- stty size" | tr -d '\r')"
on_terminal "$EXECVM --bare -- /bin/sh -c 'exit 7'" > /dev/null
check_eq "exit status through a terminal" "7" "$?"
check_eq "--tty never" "not a tty" "$(on_terminal "$EXECVM --bare --tty never -- tty" | tr -d '\r')"
check_eq "a newline is one newline" "$(printf 'a\r\nb\r\n' | od -c)" \
  "$(on_terminal "$EXECVM --bare -- /bin/sh -c 'echo a; echo b'" | od -c)"
# Keys typed go to the command's terminal, which echoes them as a terminal does.
out=$(on_terminal --wait-for '?' --type $'hello\n' \
  "$EXECVM --bare -- /bin/sh -c 'printf ?; read line; echo \"<\$line>\"'" | tr -d '\r')
check_eq "typed input reaches the command" "$(printf '?hello\n<hello>')" "$out"
# Ctrl-C typed at the terminal interrupts the command in the guest.
on_terminal --wait-for ready --type $'\x03' "$EXECVM --bare -- $STREAMTOOL wait" > /dev/null
check_eq "Ctrl-C interrupts the command" "102" "$?"
# Ctrl-D at the start of a line is the end of the command's input.
check_eq "Ctrl-D ends the input" "?eof" \
  "$(on_terminal --wait-for '?' --type $'\x04' "$EXECVM --bare -- /bin/sh -c 'printf ?; read x || echo eof'" | tr -d '\r')"
# Started in the background of an interactive shell (its own process group, not the terminal's
# foreground one): execvm neither changes the terminal's modes nor reads it, so it is not
# stopped, and it completes as a local command would.
out=$(on_terminal "bash --norc --noprofile -c 'set -m
  $EXECVM -- sh -c \"sleep 1; echo done\" & wait \$!; echo status \$?
  $EXECVM -- sh -c \"sleep 1; echo to-file\" > $TEST_TMP/bg-out & wait \$!; echo status \$?
  cat $TEST_TMP/bg-out'" | tr -d '\r' | grep -v '^\[')
check_eq "in the background of an interactive shell" "$(printf 'done\nstatus 0\nstatus 0\nto-file')" "$out"

check_no_qemu_left "tty"
check_no_temp_files "tty"
finish
