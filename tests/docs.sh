# The documentation stays true to the code: every option `execvm --help` lists appears in the man
# page and in the README, so does every subcommand its usage lines name, and the man page
# carries execvm's version. (src/cli/docs_test.cc checks every flag of every parser.)
set -u
: "${EXECVM:?set EXECVM}"
root=$(cd "$(dirname "$0")/.." && pwd)
failures=0
help=$("$EXECVM" --help)
options=$(grep -oE -- '--[a-z][a-z-]+' <<< "$help" | sort -u)
for option in $options; do
  man_form=${option//-/\\-}
  grep -qF -- "$man_form" "$root/doc/execvm.1" || { echo "FAIL: $option is not in doc/execvm.1"; failures=$((failures + 1)); }
  grep -qF -- "$option" "$root/README.md" || { echo "FAIL: $option is not in README.md"; failures=$((failures + 1)); }
done
# The subcommands, from the usage lines at the top of --help.
subcommands=$(sed -n '1,/^$/p' <<< "$help" | sed -nE 's/^(usage:)? *execvm ([a-z]+) .*/\2/p' | sort -u)
[ -n "$subcommands" ] || { echo "FAIL: no subcommands in execvm --help"; failures=$((failures + 1)); }
for sub in $subcommands; do
  grep -qF -- "execvm $sub" "$root/README.md" || { echo "FAIL: execvm $sub is not in README.md"; failures=$((failures + 1)); }
done
version=$("$EXECVM" --version | awk '{print $2}')
grep -qF "\"execvm $version\"" "$root/doc/execvm.1" || { echo "FAIL: doc/execvm.1 is not for version $version"; failures=$((failures + 1)); }
[ "$failures" -eq 0 ] && echo "docs agree with execvm --help ($(wc -w <<< "$options") options)"
exit $((failures > 0))
