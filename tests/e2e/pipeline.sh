# execvm pipeline run|show: pipelines written as JSON, run with the local, void and vm runners,
# stages of one pipeline on different runners, streaming through them byte-exact; a dying stage,
# a failing one and Ctrl-C as in a shell pipeline, with no QEMU left.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

cd "$TEST_TMP"
# (A hang is a failed check within 5 minutes, with what hung, rather than the test's timeout.)
p() { run_within 300 "$EXECVM" pipeline "$@"; }

# The seed's examples, in its own notation.
cat > echo_wc.json <<'EOF'
Command{
  "args": ["/bin/echo", "hello"],
  "env": {},
  "output": Command{
    "args": ["/bin/wc", "-c"],
    "env": {}
  }
}
EOF
cat > tar_wc.json <<'EOF'
Tar{
  "files": ["file1", "file2"],
  "compression": "gzip",
  "output": Command{
    "args": ["/bin/tar", "-tzf", "-"],
    "env": {},
    "output": Command{
      "args": ["wc", "-l"],
      "env": {},
      "output": File{
        "name": "output"
      }
    }
  }
}
EOF
check_eq "show: the equivalent shell line" "/bin/echo hello | /bin/wc -c" "$(p show echo_wc.json)"
check_eq "show: a tar pipeline" "tar -czf - file1 file2 | /bin/tar -tzf - | wc -l > output" \
  "$(p show tar_wc.json)"
check_eq "show --format seed gives the seed's text back" "$(cat tar_wc.json)" \
  "$(p show --format seed tar_wc.json)"
p show --format json tar_wc.json > tar_wc.strict.json
check_eq "the JSON form round-trips" "$(cat tar_wc.strict.json)" \
  "$(p show --format json tar_wc.strict.json)"
check_eq "show with the vm runner" "execvm --bare -- /bin/echo hello | execvm --bare -- /bin/wc -c" \
  "$(p show --runner vm echo_wc.json -- --bare)"

check_eq "run: the seed's echo | wc" "6" "$(p run echo_wc.json)"
echo one > file1
echo two > file2
p run tar_wc.json
check_eq "run: the seed's tar | tar -t | wc -l > output" "2" "$(cat output)"
check_eq "run from stdin" "6" "$(p run - < echo_wc.json)"

# The void runner runs nothing: what would create a file does not; --debug prints each command.
cat > touch.json <<EOF
{"Command": {"args": ["touch", "$TEST_TMP/made"], "env": {}, "output":
  {"Command": {"args": ["wc", "-c"], "env": {}}}}}
EOF
out=$(printf abc | p run --runner void --debug touch.json 2> void.err)
check_eq "void: the input passes through" "abc" "$out"
check_eq "void: it prints the commands" "+ touch $TEST_TMP/made|+ wc -c" "$(paste -sd'|' void.err)"
[ -e made ] && fail "void: a command ran" || pass "void: nothing ran"

# A malformed pipeline: one line, naming the bad field.
echo '{"Command": {"args": ["a", 3]}}' > bad.json
err=$(p run bad.json 2>&1)
check_eq "a malformed pipeline's status" "125" "$?"
check_eq "a malformed pipeline names the bad field" \
  "execvm: bad.json: at .Command.args[1]: expected a string, not a number" "$err"

# 50 MB of random bytes through local -> vm -> local stages, byte-exact, in a bare guest and on
# the host's root.
head -c 50000000 /dev/urandom > random
for vm in '{"bare": true}' '{}'; do
  cat > through.json <<EOF
{"Command": {"args": ["cat"], "env": {}, "output":
  {"Command": {"args": ["cat"], "env": {}, "runner": {"vm": $vm}, "output":
    {"Command": {"args": ["cat"], "env": {}, "output": {"File": {"name": "through"}}}}}}}}
EOF
  p run through.json < random
  check_eq "50 MB through local -> vm $vm -> local" "$(sha256sum < random)" "$(sha256sum < through)"
done
# And a vm stage whose root is an OCI image (busybox; converted into a cache of this test's own).
python3 "$here/oci_image.py" "$TEST_TMP/layout" --tag bb --layer busybox --config '{}'
kernel=$("$EXECVM" kernel path)
cat > through.json <<EOF
{"Command": {"args": ["cat"], "env": {}, "output":
  {"Command": {"args": ["cat"], "env": {}, "runner": {"vm": {"image": "oci:$TEST_TMP/layout:bb", "kernel": "$kernel"}}, "output":
    {"Command": {"args": ["cat"], "env": {}, "output": {"File": {"name": "through"}}}}}}}}
EOF
XDG_CACHE_HOME="$TEST_TMP/cache" p run through.json < random
check_eq "50 MB through local -> vm (an image's root) -> local" "$(sha256sum < random)" \
  "$(sha256sum < through)"
rm -f random through

# yes | head -1 across runners ends at once, the pipeline's status being yes's SIGPIPE.
cat > yes_head.json <<'EOF'
{"Command": {"args": ["yes"], "env": {}, "output":
  {"Command": {"args": ["head", "-1"], "env": {}, "runner": {"vm": {"bare": true}}}}}}
EOF
check_eq "local yes | vm head -1" "y" "$(p run yes_head.json)"
cat > vm_yes.json <<'EOF'
{"Command": {"args": ["yes"], "env": {}, "runner": {"vm": {"bare": true}}, "output":
  {"Command": {"args": ["head", "-1"], "env": {}}}}}
EOF
out=$(p run vm_yes.json)
status=$?
check_eq "vm yes | local head -1" "y" "$out"
check_eq "vm yes | local head -1: yes's SIGPIPE is the status" "141" "$status"

# A failing middle stage (in a VM): the pipeline's status is its status.
cat > fails.json <<'EOF'
{"Command": {"args": ["echo", "x"], "env": {}, "output":
  {"Command": {"args": ["sh", "-c", "read -r line; exit 7"], "env": {}, "runner": {"vm": {"bare": true}}, "output":
    {"Command": {"args": ["cat"], "env": {}}}}}}}
EOF
p run fails.json
check_eq "a failing middle stage's status" "7" "$?"

# The seed's devices form: a local file as the guest's /dev/vda.
printf 'disk contents' > disk.img
truncate -s 4096 disk.img
cat > device.json <<EOF
{"Command": {"args": ["head", "-c", "13", "/dev/vda"], "env": {},
  "runner": {"vm": {"bare": true, "devices": {"$TEST_TMP/disk.img": "/dev/vda"}}}}}
EOF
check_eq "devices: the file is /dev/vda" "disk contents" "$(p run device.json)"

# Killing a stage's execvm ends the others (EOF, SIGPIPE) and its QEMU.
cat > kill.json <<'EOF'
{"Command": {"args": ["yes"], "env": {}, "output":
  {"Command": {"args": ["sh", "-c", "cat > /dev/null"], "env": {}, "runner": {"vm": {"bare": true}}, "output":
    {"Command": {"args": ["cat"], "env": {}}}}}}}
EOF
"$EXECVM" pipeline run kill.json > /dev/null &
cli=$!
for i in $(seq 300); do [ -n "$(our_qemus)" ] && break; sleep 0.1; done
stage=$(pgrep -P "$cli" -f -- '--bare' | head -1)
[ -n "$stage" ] && kill -9 "$stage"
wait "$cli"
check_eq "a killed stage's status is the pipeline's" "137" "$?"
check_no_qemu_left "a killed vm stage"

# Ctrl-C (SIGINT to execvm pipeline's process group) stops every stage, VMs included. (With job
# control, so that the background job does not start with SIGINT ignored, which execvm keeps.)
set -m
cat > sleep.json <<'EOF'
{"Command": {"args": ["sleep", "1000"], "env": {}, "output":
  {"Command": {"args": ["sleep", "1000"], "env": {}, "runner": {"vm": {"bare": true}}}}}}
EOF
"$EXECVM" pipeline run sleep.json &
cli=$!
for i in $(seq 300); do [ -n "$(our_qemus)" ] && break; sleep 0.1; done
sleep 1  # the guest's sleep has started
kill -INT -"$cli"
wait "$cli"
check_eq "SIGINT: the pipeline's status" "130" "$?"
set +m
check_no_qemu_left "SIGINT"
left=$(pgrep -f 'sleep 1000' | while read -r pid; do
  tr '\0' '\n' < "/proc/$pid/environ" 2> /dev/null | grep -qx "EXECVM_E2E_ID=$EXECVM_E2E_ID" && echo "$pid"
done)
check_eq "SIGINT: no stage left" "" "$left"

# chain() in the guest, with the chain program every guest has.
if "$EXECVM" --help | grep -q 'execvm chain'; then
  cat > chain.json <<'EOF'
{"Command": {"chain": [["/bin/true"], ["/bin/echo", "chained"]], "env": {}, "runner": {"vm": {"bare": true}}}}
EOF
  check_eq "chain() in a bare guest" "chained" "$(p run chain.json)"
  # Three deep on the host's root, a command holding the delimiter "--" itself: nested chains
  # of /run/execvm/execvm, each with a delimiter its command does not have.
  cat > chain3.json <<'EOF'
{"Command": {"chain": [["/bin/true"], ["/bin/echo", "--", "one"], ["/bin/echo", "two"]], "env": {}, "runner": {"vm": {}}}}
EOF
  check_eq "show: chain() realized for the guest" \
    "execvm -- /run/execvm/execvm chain -- /bin/true -- /run/execvm/execvm chain --- /bin/echo -- one --- /bin/echo two" \
    "$(p show chain3.json)"
  check_eq "chain() three deep on the host's root" "-- one|two" "$(p run chain3.json | paste -sd'|')"
  check_eq "chain() on the local runner (execvm chain)" "-- one|two" \
    "$(p show --format json chain3.json | sed 's/"vm": {}/"local": {}/' | p run - | paste -sd'|')"
else
  echo "skipped: chain() in a guest (this execvm has no execvm chain yet)"
fi

check_no_qemu_left "pipeline"
check_no_temp_files "pipeline"
finish
