# execvm as cargo's target runner (CARGO_TARGET_<triple>_RUNNER) runs a crate's test binaries in
# VMs: the fixture's unit and integration tests (testdata/, the temporary directory, the
# environment, a different kernel) pass, and a test that fails on request fails the run. Needs
# Debian's cargo and rustc, used by path: a rustup toolchain may come first in PATH.
. "$(dirname "$0")/lib.sh"
fixture=$(cd "$(dirname "$0")/../fixtures/crate" && pwd)
CARGO=${CARGO:-/usr/bin/cargo}
export RUSTC=${RUSTC:-/usr/bin/rustc} RUSTDOC=${RUSTDOC:-/usr/bin/rustdoc}
[ -x "$CARGO" ] && [ -x "$RUSTC" ] ||
  { fail "cargo or rustc is not installed (Debian packages cargo and rustc)"; finish; }

# Cargo offline, its home and build in TEST_TMP and the fixture copied there.
export CARGO_HOME="$TEST_TMP/cargo-home" CARGO_TARGET_DIR="$TEST_TMP/target"
unset RUSTFLAGS RUSTC_WRAPPER CARGO_BUILD_TARGET
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$EXECVM"
cp -r "$fixture" "$TEST_TMP/crate"
cd "$TEST_TMP/crate"

fixture_environment

# Build first, so that a build failure is told apart from a test failure.
out=$("$CARGO" test --offline --locked --no-run 2>&1)
check_eq "the fixture builds" 0 "$?"
[ "$failures" -eq 0 ] || { printf '%s\n' "$out" >&2; finish; }

out=$("$CARGO" test --offline --locked 2>&1)
status=$?
check_eq "cargo test with execvm as the runner passes" 0 "$status"
for t in tests::reads_testdata tests::temp_file_roundtrip tests::env_var tests::runs_in_vm \
    tests::fails_on_request reads_testdata_from_manifest_dir integration_runs_in_vm; do
  grep -q "^test $t \.\.\. ok" <<< "$out" && pass "$t passed" || fail "$t did not pass"
done
[ "$failures" -eq 0 ] || printf '%s\n' "$out" >&2

before=$failures
out=$(EXECVM_FIXTURE_FAIL=1 "$CARGO" test --offline --locked 2>&1)
status=$?
[ "$status" -ne 0 ] && pass "a failing test fails cargo test (status $status)" ||
  fail "cargo test passed with EXECVM_FIXTURE_FAIL=1"
grep -q "^test tests::fails_on_request \.\.\. FAILED" <<< "$out" && pass "the failing test is named" ||
  fail "tests::fails_on_request is not reported as failed"
grep -q "failing on request: EXECVM_FIXTURE_FAIL=1" <<< "$out" && pass "its message comes through" ||
  fail "the failure's message is missing"
for t in tests::reads_testdata tests::temp_file_roundtrip tests::env_var tests::runs_in_vm; do
  grep -q "^test $t \.\.\. ok" <<< "$out" || fail "$t did not pass in the failing run"
done
[ "$failures" -eq "$before" ] || printf '%s\n' "$out" >&2

cd /
check_no_qemu_left "cargo_runner"
check_no_temp_files "cargo_runner"
finish
