# execvm as CMake's CMAKE_CROSSCOMPILING_EMULATOR runs a GoogleTest executable in VMs, both for
# gtest_discover_tests's listing and for each test ctest runs: the fixture's tests (testdata/ in
# the working directory, a temporary file, the environment, a different kernel) pass, and a test
# that fails on request fails ctest. Needs cmake, ninja, g++ and libgtest-dev.
. "$(dirname "$0")/lib.sh"
fixture=$(cd "$(dirname "$0")/../fixtures/cmake_gtest" && pwd)

# The fixture is copied to TEST_TMP and built there.
cp -r "$fixture" "$TEST_TMP/cmake_gtest"
build="$TEST_TMP/build"
unset CMAKE_GENERATOR CMAKE_BUILD_TYPE CTEST_PARALLEL_LEVEL
out=$(cmake -S "$TEST_TMP/cmake_gtest" -B "$build" -G Ninja \
  -DCMAKE_CROSSCOMPILING_EMULATOR="$EXECVM" 2>&1 && cmake --build "$build" 2>&1)
check_eq "the fixture configures and builds" 0 "$?"
[ "$failures" -eq 0 ] || { printf '%s\n' "$out" >&2; finish; }

fixture_environment

tests="Fixture.ReadsTestdata Fixture.TempFileRoundTrip Fixture.EnvVar Fixture.RunsInVm
  Fixture.FailsOnRequest"
# ctest lists the tests discovered through execvm (--gtest_list_tests run in a VM).
out=$(ctest --test-dir "$build" --show-only 2>&1)
check_eq "ctest lists the discovered tests" "$(tr -s ' \n' '\n' <<< "$tests" | sort)" \
  "$(sed -n 's/^ *Test *#[0-9]*: //p' <<< "$out" | sort)"

out=$(ctest --test-dir "$build" --output-on-failure 2>&1)
status=$?
check_eq "ctest with execvm as the emulator passes" 0 "$status"
for t in $tests; do
  grep -qE "Test +#[0-9]+: $t \.+ +Passed" <<< "$out" && pass "$t passed" || fail "$t did not pass"
done
grep -q "100% tests passed, 0 tests failed out of 5" <<< "$out" && pass "5 tests ran" ||
  fail "ctest did not run the 5 tests"
[ "$failures" -eq 0 ] || printf '%s\n' "$out" >&2

before=$failures
out=$(EXECVM_FIXTURE_FAIL=1 ctest --test-dir "$build" --output-on-failure 2>&1)
status=$?
[ "$status" -ne 0 ] && pass "a failing test fails ctest (status $status)" ||
  fail "ctest passed with EXECVM_FIXTURE_FAIL=1"
grep -qE "Test +#[0-9]+: Fixture.FailsOnRequest \.+\*+Failed" <<< "$out" &&
  pass "the failing test is named" || fail "Fixture.FailsOnRequest is not reported as failed"
grep -q "failing on request: EXECVM_FIXTURE_FAIL=1" <<< "$out" && pass "its message comes through" ||
  fail "the failure's message is missing"
grep -q "80% tests passed, 1 tests failed out of 5" <<< "$out" && pass "only that test failed" ||
  fail "not exactly one test of 5 failed"
[ "$failures" -eq "$before" ] || printf '%s\n' "$out" >&2

cd /
check_no_qemu_left "ctest_emulator"
check_no_temp_files "ctest_emulator"
finish
