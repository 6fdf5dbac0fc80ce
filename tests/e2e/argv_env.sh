# argv, the environment, the working directory and the identity arrive as they are locally.
. "$(dirname "$0")/lib.sh"

args=("a b" "" "it's" '"quoted"' $'\xff\xfe' $'tab\there' '$HOME' '*' $'new\nline' '--' '-n'
      $'\xc3\xa9t\xc3\xa9' '--bare' "$(printf 'x%.0s' $(seq 3000))")
check_eq "argv passes byte-exact" "$("$STREAMTOOL" args "${args[@]}" | od -c)" \
  "$(vm -- "$STREAMTOOL" args "${args[@]}" | od -c)"
check_eq "a shell in the guest sees the same arguments" \
  "$(/bin/sh -c 'printf "[%s]" "$@"' sh "${args[@]}" | od -c)" \
  "$(vm -- /bin/sh -c 'printf "[%s]" "$@"' sh "${args[@]}" | od -c)"

export EXECVM_E2E_VALUE=$'spaces and\nnewline \xff'
# "_" is the shell's own: the path of the command it ran, which differs by construction.
check_eq "the environment is copied verbatim, in order" "$(/usr/bin/env | grep -av '^_=' | od -c)" \
  "$(vm -- /usr/bin/env | grep -av '^_=' | od -c)"
check_eq "-e sets a variable" "FOO=bar baz" "$(vm -e 'FOO=bar baz' -- /usr/bin/env | grep '^FOO=')"
check_eq "-e overrides a variable" "HOME=/elsewhere" "$(vm -e HOME=/elsewhere -- /usr/bin/env | grep '^HOME=')"
check_eq "-e NAME of an unset variable adds nothing" "" \
  "$(vm -e EXECVM_E2E_UNSET -- /usr/bin/env | grep '^EXECVM_E2E_UNSET' || true)"

mkdir -p "$TEST_TMP/work dir"
cd "$TEST_TMP/work dir"
check_eq "the working directory is preserved" "$(/bin/pwd)" "$(vm -- /bin/pwd)"
check_eq "-w sets it" "/tmp" "$(vm -w /tmp -- /bin/pwd)"
cd /
check_eq "a command found through PATH runs" "3" "$(printf abc | vm -- wc -c)"

check_eq "uid" "$(id -u)" "$(vm -- /usr/bin/id -u)"
check_eq "gid" "$(id -g)" "$(vm -- /usr/bin/id -g)"
check_eq "groups" "$(id -G)" "$(vm -- /usr/bin/id -G)"
check_eq "umask" "$(umask)" "$(vm -- /bin/sh -c umask)"
check_no_temp_files "argv_env"
finish
