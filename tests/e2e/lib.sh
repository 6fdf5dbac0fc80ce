# Helpers for the end-to-end tests: each test script sources this, runs checks, and ends with
# `finish`. A failed check prints what differed and makes the script exit 1 at the end.
set -u
: "${EXECVM:?set EXECVM to the execvm binary}"
: "${STREAMTOOL:?set STREAMTOOL to the streamtool binary}"

failures=0
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/execvm-e2e.XXXXXX")
# execvm must leave nothing in TMPDIR: give it one of its own and check it at the end.
export TMPDIR="$TEST_TMP/tmpdir"
mkdir -p "$TMPDIR"
# QEMU inherits execvm's environment: this marks the QEMUs this test started.
export EXECVM_E2E_ID="e2e-$$-$RANDOM"
trap 'rm -rf "$TEST_TMP"' EXIT

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

pass() { echo "ok: $*"; }

# check_eq WHAT EXPECTED ACTUAL
check_eq() {
  if [ "$2" == "$3" ]; then
    pass "$1"
  else
    fail "$1: expected [$2], got [$3]"
  fi
}

# The QEMU processes (and their virtiofsd daemons) started under this test (running or not yet
# reaped).
our_qemus() {
  local pid
  for pid in $(pgrep -f 'qemu-system-x86_64|/virtiofsd' || true); do
    if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "EXECVM_E2E_ID=$EXECVM_E2E_ID"; then
      echo "$pid"
    fi
  done
}

# Fails unless no QEMU of this test is left (waiting a moment for ones being reaped).
check_no_qemu_left() {
  local i left
  for i in $(seq 50); do
    left=$(our_qemus)
    [ -z "$left" ] && { pass "$1: no QEMU left"; return; }
    sleep 0.1
  done
  fail "$1: QEMU left running: $left"
  kill -9 $left 2>/dev/null
}

check_no_temp_files() {
  local left
  left=$(find "$TMPDIR" -mindepth 1 2>/dev/null)
  if [ -z "$left" ]; then pass "$1: no temporary files"; else fail "$1: left in TMPDIR: $left"; rm -rf "$TMPDIR"/*; fi
}

finish() {
  if [ "$failures" -gt 0 ]; then
    echo "$failures check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
}

# run_within SECONDS CMD...: runs CMD (stdin, stdout and stderr its own); one still running after
# SECONDS is a failed check: what it and its children were doing is printed (their processes,
# descriptors and, with gdb, their threads' stacks), then they are killed. Its status is CMD's,
# 124 on a hang.
run_within() {
  local limit=$1 pid i=0
  shift
  "$@" 0<&0 &  # (a background job's stdin would be /dev/null)
  pid=$!
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt $((limit * 10)) ]; do
    sleep 0.1
    i=$((i + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    fail "still running after ${limit}s: $*"
    local p tree
    tree="$pid $(pgrep -P "$pid" | tr '\n' ' ')"
    for p in $tree; do
      echo "--- process $p: $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)" >&2
      grep -E '^(State|Threads)' "/proc/$p/status" >&2 2>/dev/null
      ls -l "/proc/$p/fd" >&2 2>/dev/null
      grep -H '^Pid' /proc/"$p"/fdinfo/* >&2 2>/dev/null
      command -v gdb > /dev/null && gdb -p "$p" -batch -ex 'thread apply all bt' 2>&1 | grep '^#' >&2
    done
    kill -9 $tree 2>/dev/null
    wait "$pid" 2>/dev/null
    return 124
  fi
  wait "$pid"
}

# Runs EXECVM --bare. (Start background jobs with "$EXECVM" itself: $! must be its pid.)
vm() { "$EXECVM" --bare "$@"; }

# The environment of the toolchain fixtures' tests (tests/fixtures/): the value that must
# arrive; the host's boot id, which must not be the one of the kernel they run on; what that
# kernel's command line has (execvm's agent as /init).
fixture_environment() {
  export EXECVM_FIXTURE="spaces  and 'quotes' \"double\" \$HOME é"
  export EXECVM_FIXTURE_HOST_BOOT_ID
  EXECVM_FIXTURE_HOST_BOOT_ID=$(cat /proc/sys/kernel/random/boot_id)
  export EXECVM_FIXTURE_EXPECT_CMDLINE=rdinit=/init
  unset EXECVM_FIXTURE_FAIL
}
