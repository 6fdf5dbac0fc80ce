# libexecvm as a package: `cmake --install` into a fresh prefix, then examples/ configured with
# find_package(execvm) from there, built, and run (one of them boots a VM with the installed
# execvm).
set -u
: "${BUILD_DIR:?set BUILD_DIR to the build directory of execvm}"
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/execvm-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check_eq() { if [ "$2" == "$3" ]; then echo "ok: $1"; else fail "$1: expected [$2], got [$3]"; fi; }

cmake --install "$BUILD_DIR" --prefix "$work/prefix" > "$work/install.log" || { cat "$work/install.log"; exit 1; }
for f in include/execvm/pipeline.h include/execvm/runner.h lib/libexecvm.a lib/cmake/execvm/execvmConfig.cmake; do
  [ -e "$work/prefix/$f" ] || fail "not installed: $f"
done
if ! cmake -S "$root/examples" -B "$work/examples" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log" 2>&1 ||
   ! cmake --build "$work/examples" -j2 > "$work/build.log" 2>&1; then
  cat "$work/configure.log" "$work/build.log"
  exit 1
fi
check_eq "echo_wc: the seed's echo hello | wc -c" "6" "$("$work/examples/echo_wc")"
cd "$work"
echo one > file1
echo two > file2
"$work/examples/tar_count" output file1 file2 2> /dev/null
check_eq "tar_count: the seed's tar | tar -tzf - | wc -l > output" "2" "$(cat output)"
head -c 1000000 /dev/urandom > random
check_eq "mixed_runners: local -> vm -> local" "$(sha256sum < random | cut -c1-64)" \
  "$(EXECVM="$work/prefix/bin/execvm" "$work/examples/mixed_runners" < random 2> /dev/null)"
[ "$failures" -eq 0 ] && echo "all checks passed"
exit $((failures > 0))
