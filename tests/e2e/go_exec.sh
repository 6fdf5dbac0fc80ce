# `go test -exec execvm` runs a Go package's tests in VMs: the fixture's tests (testdata/ by
# relative path, t.TempDir(), the environment, a different kernel) pass, and a test that fails on
# request fails the run. Needs Go (Debian's golang-go).
. "$(dirname "$0")/lib.sh"
fixture=$(cd "$(dirname "$0")/../fixtures/gomod" && pwd)
GO=${GO:-go}
command -v "$GO" > /dev/null || { fail "go is not installed (Debian package golang-go)"; finish; }

# Go offline, its caches in TEST_TMP and the fixture copied there: nothing written elsewhere.
export GOCACHE="$TEST_TMP/go/cache" GOPATH="$TEST_TMP/go/path" GOENV=off GOFLAGS=-mod=readonly \
  GOPROXY=off GOSUMDB=off GOWORK=off GO111MODULE=on
cp -r "$fixture" "$TEST_TMP/gomod"
cd "$TEST_TMP/gomod"

fixture_environment

# -count=1: no cached results; -v: each test's name and result.
out=$("$GO" test -count=1 -v -exec "$EXECVM" ./... 2>&1)
status=$?
check_eq "go test -exec execvm passes" 0 "$status"
for t in TestReadsTestdata TestTempDir TestEnvVar TestRunsInVM TestFailsOnRequest; do
  grep -q -- "^--- PASS: $t (" <<< "$out" && pass "$t passed" || fail "$t did not pass"
done
[ "$failures" -eq 0 ] || printf '%s\n' "$out" >&2

before=$failures
out=$(EXECVM_FIXTURE_FAIL=1 "$GO" test -count=1 -v -exec "$EXECVM" ./... 2>&1)
status=$?
[ "$status" -ne 0 ] && pass "a failing test fails go test (status $status)" ||
  fail "go test passed with EXECVM_FIXTURE_FAIL=1"
grep -q -- "^--- FAIL: TestFailsOnRequest (" <<< "$out" && pass "the failing test is named" ||
  fail "TestFailsOnRequest is not reported as failed"
grep -q "failing on request: EXECVM_FIXTURE_FAIL=1" <<< "$out" && pass "its message comes through" ||
  fail "the failure's message is missing"
for t in TestReadsTestdata TestTempDir TestEnvVar TestRunsInVM; do
  grep -q -- "^--- PASS: $t (" <<< "$out" || fail "$t did not pass in the failing run"
done
grep -q "^FAIL	example.com/execvmtest" <<< "$out" && pass "go test reports the package failed" ||
  fail "the package is not reported as failed"
[ "$failures" -eq "$before" ] || printf '%s\n' "$out" >&2

cd /
check_no_qemu_left "go_exec"
check_no_temp_files "go_exec"
finish
