# The project file .execvm.toml: what reaches beyond its work tree runs only with the user's
# consent, which an edit withdraws; it is read only when it is a small regular file; and doctor
# describes a run's settings with where they came from.
. "$(dirname "$0")/lib.sh"

# Consent of this test's own.
export XDG_DATA_HOME="$TEST_TMP/data"

# expect_refusal WHAT PATTERN COMMAND...: exit 125 with one line on stderr saying PATTERN.
expect_refusal() {
  local what=$1 pattern=$2
  shift 2
  "$@" > "$TEST_TMP/out" 2> "$TEST_TMP/err" < /dev/null
  check_eq "$what: exit status" 125 "$?"
  check_eq "$what: one line on stderr" 1 "$(wc -l < "$TEST_TMP/err")"
  if grep -qF -- "$pattern" "$TEST_TMP/err"; then pass "$what: says $pattern"; else fail "$what: stderr [$(cat "$TEST_TMP/err")] lacks [$pattern]"; fi
  check_eq "$what: nothing on stdout" "" "$(cat "$TEST_TMP/out")"
}

project="$TEST_TMP/project"
mkdir -p "$project/.git"
cd "$project"

# A file that asks for root in the guest: refused until trusted, then root, then refused again
# once edited.
printf 'sudo = true\n' > .execvm.toml
expect_refusal "an untrusted sudo = true" "$project/.execvm.toml asks for sudo = true" "$EXECVM" -- id -u
if grep -qF "execvm trust $project/.execvm.toml" "$TEST_TMP/err"; then pass "says how to allow it"; else fail "no execvm trust in [$(cat "$TEST_TMP/err")]"; fi
"$EXECVM" trust > "$TEST_TMP/out" 2>&1
check_eq "execvm trust: exit status" 0 "$?"
check_eq "execvm trust says what it allowed" "trusted $project/.execvm.toml: it may use sudo = true" "$(cat "$TEST_TMP/out")"
check_eq "trusted: the command is root in the guest" "0 $(id -u)" "$("$EXECVM" -- sh -c 'echo $(id -u) $SUDO_UID')"
"$EXECVM" doctor --no-boot > "$TEST_TMP/doctor" 2>&1
if grep -qE "^  ok +project file +$project/.execvm.toml \(trusted\)" "$TEST_TMP/doctor"; then pass "doctor: trusted"; else fail "doctor: [$(cat "$TEST_TMP/doctor")]"; fi
if grep -qF "sudo yes ($project/.execvm.toml:1)" "$TEST_TMP/doctor"; then pass "doctor: sudo from the file"; else fail "doctor: [$(cat "$TEST_TMP/doctor")]"; fi
printf '# edited\n' >> .execvm.toml
expect_refusal "an edited file asks again" "asks for sudo = true" "$EXECVM" -- true
check_eq "trust --list says it changed" "$project/.execvm.toml (changed since: asks again)" "$("$EXECVM" trust --list)"
"$EXECVM" doctor --no-boot > "$TEST_TMP/doctor" 2>&1
check_eq "doctor with an untrusted file: exit status" 1 "$?"
if grep -qE "^  FAIL +project file +$project/.execvm.toml asks for sudo = true" "$TEST_TMP/doctor"; then pass "doctor: not trusted"; else fail "doctor: [$(cat "$TEST_TMP/doctor")]"; fi
check_eq "trust --revoke" "forgot $project/.execvm.toml" "$("$EXECVM" trust --revoke)"
check_eq "nothing trusted any more" "" "$("$EXECVM" trust --list)"

# A volume from outside the work tree asks too; one inside it does not.
mkdir -p "$project/data" "$TEST_TMP/outside"
printf 'volumes = ["%s:/outside"]\n' "$TEST_TMP/outside" > .execvm.toml
expect_refusal "a volume from outside" "asks for volume $TEST_TMP/outside:/outside" "$EXECVM" -- true
printf 'volumes = ["data:/in"]\ncpus = 2\n' > .execvm.toml
echo inside > data/file
check_eq "a volume inside needs no consent" "inside 2" "$("$EXECVM" -- sh -c 'echo $(cat /in/file) $(nproc)')"

# Only a small regular file is read, and never waited for.
mkdir "$TEST_TMP/fifo" "$TEST_TMP/zero" "$TEST_TMP/plain"
mkfifo "$TEST_TMP/fifo/.execvm.toml"
expect_refusal "a FIFO" "$TEST_TMP/fifo/.execvm.toml is a FIFO, not a regular file" \
  timeout 120 "$EXECVM" -w "$TEST_TMP/fifo" -- true
ln -s /dev/zero "$TEST_TMP/zero/.execvm.toml"
expect_refusal "a symlink to /dev/zero" "is a character device, not a regular file" \
  timeout 120 "$EXECVM" -w "$TEST_TMP/zero" -- true

# A share cannot replace the guest's own directories; that is known before any VM starts.
cd "$TEST_TMP/plain"
expect_refusal "-v DIR:/proc" "-v $TEST_TMP/plain:/proc: /proc is the guest's own" \
  "$EXECVM" -v "$TEST_TMP/plain:/proc" -- true

# doctor takes the run's options and says where each setting came from.
"$EXECVM" doctor --cpus 2 --no-boot > "$TEST_TMP/doctor" 2>&1
check_eq "doctor --cpus 2 --no-boot: exit status" 0 "$?"
if grep -qF "cpus 2 (command line)" "$TEST_TMP/doctor"; then pass "doctor: cpus 2 (command line)"; else fail "doctor: [$(cat "$TEST_TMP/doctor")]"; fi
if grep -qF "memory 512M (default)" "$TEST_TMP/doctor"; then pass "doctor: memory 512M (default)"; else fail "doctor: [$(cat "$TEST_TMP/doctor")]"; fi
expect_refusal "doctor: a bad option" "--cpus 0: out of range" "$EXECVM" doctor --cpus 0 --no-boot

check_no_qemu_left "project_file"
check_no_temp_files "project_file"
finish
