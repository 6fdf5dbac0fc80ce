# The host-root mode (the default): the same commands give the same output here and in a VM
# whose / is this host's, over both virtiofs and 9p; writes reach the host only where shared.
. "$(dirname "$0")/lib.sh"

# A work tree: a git repository with a subdirectory to work in.
repo="$TEST_TMP/repo"
mkdir -p "$repo/.git" "$repo/pkg/sub"
printf 'line one\nline two\n' > "$repo/pkg/data.txt"
cd "$repo/pkg/sub"

# Each command runs here and in the VM; the outputs must be equal byte for byte.
compare() {
  local what=$1
  shift
  local here there
  here=$("$@" 2>&1 < /dev/null | od -c)
  there=$("$EXECVM" "${fs_option[@]}" -- "$@" 2>&1 < /dev/null | od -c)
  check_eq "$what ($fs)" "$here" "$there"
}

for fs in virtiofs 9p; do
  fs_option=(--share-fs "$fs")
  compare "id -u" id -u
  compare "id -G" id -G
  compare "id -un" id -un
  compare "pwd" pwd
  compare "ls -l of a shared file" ls -l --time-style=full-iso ../data.txt
  compare "readlink /proc/self/exe" readlink /proc/self/exe
  compare "host files" sha256sum /etc/os-release "$(readlink -f /bin/sh)"
  compare "a relative path" cat ../data.txt
  compare "a share's parent, made in the guest's /tmp" stat -c '%a %U %G' "$TEST_TMP"
  # "_" is the shell's own (the path of the command it ran), which differs by construction.
  check_eq "env ($fs)" "$(/usr/bin/env | grep -av '^_=' | sort | od -c)" \
    "$("$EXECVM" "${fs_option[@]}" -- /usr/bin/env | grep -av '^_=' | sort | od -c)"
  check_eq "stdin and both streams ($fs)" \
    "$(printf 'abc\0def' | "$STREAMTOOL" sink; "$STREAMTOOL" both 2>&1 >/dev/null)" \
    "$(printf 'abc\0def' | "$EXECVM" "${fs_option[@]}" -- "$STREAMTOOL" sink;
       "$EXECVM" "${fs_option[@]}" -- "$STREAMTOOL" both 2>&1 >/dev/null)"

  # Writes: into the work tree and TMPDIR they arrive, owned by the caller; elsewhere they stay
  # in the VM.
  marker="execvm-e2e-$$-$fs"
  "$EXECVM" "${fs_option[@]}" -- sh -c "
    echo shared > $repo/$marker && echo tmp > $TMPDIR/$marker &&
    echo etc > /etc/$marker && echo usr > /usr/$marker && echo tmp > /tmp/$marker &&
    cat /etc/$marker > /dev/null && mkdir -p $repo/made/deep"
  check_eq "the guest wrote into its shares ($fs)" "shared tmp" \
    "$(cat "$repo/$marker" "$TMPDIR/$marker" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
  check_eq "shared writes are the caller's ($fs)" "$(id -u):$(id -g)" \
    "$(stat -c %u:%g "$repo/$marker" "$repo/made/deep" | sort -u)"
  for f in "/etc/$marker" "/usr/$marker" "/tmp/$marker"; do
    if [ -e "$f" ]; then fail "$f reached the host ($fs)"; rm -f "$f"; else pass "$f stayed in the VM ($fs)"; fi
  done
  rm -rf "$repo/$marker" "$TMPDIR/$marker" "$repo/made"

  # Volumes: read-only ones refuse writes, read-write ones take them, at the guest path.
  mkdir -p "$TEST_TMP/vol-ro" "$TEST_TMP/vol-rw"
  echo inside > "$TEST_TMP/vol-ro/in"
  out=$("$EXECVM" "${fs_option[@]}" -v "$TEST_TMP/vol-ro:/mnt/ro:ro" -v "$TEST_TMP/vol-rw:/mnt/rw" -- \
    sh -c 'cat /mnt/ro/in; { echo x > /mnt/ro/new; } 2>/dev/null && echo wrote-ro; echo y > /mnt/rw/new && echo wrote-rw')
  check_eq "-v read-only and read-write ($fs)" "inside wrote-rw" "$(echo $out)"
  check_eq "-v rw write arrived, ro did not ($fs)" "y" \
    "$(cat "$TEST_TMP/vol-rw/new"; cat "$TEST_TMP/vol-ro/new" 2>/dev/null)"
  rm -f "$TEST_TMP/vol-rw/new"

  # --sudo: root in the guest with this environment and directory.
  export EXECVM_E2E_VALUE="kept $fs"
  check_eq "--sudo ($fs)" "0 0 $(pwd) kept $fs $(id -u)" \
    "$("$EXECVM" "${fs_option[@]}" --sudo -- sh -c 'echo $(id -u) $(id -g) $(pwd) $EXECVM_E2E_VALUE $SUDO_UID')"
done

# Four VMs at once on the same host root and work tree, over each filesystem.
for fs in virtiofs 9p; do
  pids=()
  for i in 1 2 3 4; do
    "$EXECVM" --share-fs $fs -- sh -c "cat ../data.txt > ../copy-$i && sha256sum /etc/os-release > /dev/null" &
    pids+=($!)
  done
  status=0
  for p in "${pids[@]}"; do wait "$p" || status=$?; done
  check_eq "four VMs at once succeed ($fs)" 0 "$status"
  check_eq "four VMs at once all wrote ($fs)" "$(printf 'line one\nline two\n%.0s' 1 2 3 4)" \
    "$(cat ../copy-1 ../copy-2 ../copy-3 ../copy-4)"
  rm -f ../copy-*
done

# A work tree whose path QEMU's option syntax would split (a comma) and a shell would too.
mkdir -p "$TEST_TMP/odd, dir"
for fs in virtiofs 9p; do
  (cd "$TEST_TMP/odd, dir" && "$EXECVM" --share-fs $fs -- sh -c 'echo x > "made here"')
  check_eq "a work tree with a comma in its path ($fs)" x "$(cat "$TEST_TMP/odd, dir/made here" 2>&1)"
  rm -f "$TEST_TMP/odd, dir/made here"
done

# Bad volumes: one line saying what is wrong, exit 125, before any VM starts.
err=$("$EXECVM" -v "$TEST_TMP/missing:/m" -- true 2>&1)
check_eq "a missing volume: exit 125" 125 "$?"
check_eq "a missing volume: one line" 1 "$(echo "$err" | wc -l)"
if [[ $err == *"-v $TEST_TMP/missing:/m"*"No such file or directory"* ]]; then pass "a missing volume: says which"; else fail "a missing volume said [$err]"; fi

# Run by an unprivileged user, execvm falls back to 9p, and the user's files are the user's.
if [ "$(id -u)" -eq 0 ] && id nobody > /dev/null 2>&1; then
  kernel_dir=$(dirname "$("$EXECVM" kernel path)")
  cp -r "$kernel_dir" "$TEST_TMP/kernel"
  chmod -R a+rX "$TEST_TMP"
  mkdir "$TEST_TMP/nobody"
  chown nobody "$TEST_TMP/nobody"
  out=$(cd "$TEST_TMP/nobody" && setpriv --reuid=nobody --regid=nogroup --clear-groups \
    env HOME="$TEST_TMP/nobody" TMPDIR="$TEST_TMP/nobody" "$EXECVM" --stats --kernel "$TEST_TMP/kernel/vmlinux" -- \
    sh -c 'id -un; echo mine > file; cat /etc/shadow > /dev/null 2>&1 || echo no-shadow' 2>&1)
  check_eq "an unprivileged caller runs over 9p" "nobody no-shadow root 9p" \
    "$(echo "$out" | grep -v '^execvm: accel' | tr '\n' ' ')$(echo "$out" | grep -o 'root [a-z0-9]*,' | tr -d ,)"
  check_eq "an unprivileged caller's writes are its own" "nobody" "$(stat -c %U "$TEST_TMP/nobody/file")"
  check_eq "--share-fs virtiofs says why not" \
    "execvm: --share-fs virtiofs: virtiofsd needs root: use --share-fs 9p or auto" \
    "$(cd "$TEST_TMP/nobody" && setpriv --reuid=nobody --regid=nogroup --clear-groups \
       "$EXECVM" --share-fs virtiofs --kernel "$TEST_TMP/kernel/vmlinux" -- true 2>&1 | head -1)"
fi

# Root without CAP_SYS_ADMIN (as in a container) cannot give virtiofsd its mount namespace.
if [ "$(id -u)" -eq 0 ]; then
  check_eq "virtiofs without CAP_SYS_ADMIN says why not" \
    "execvm: --share-fs virtiofs: virtiofsd's mount namespace needs CAP_SYS_ADMIN, which this process lacks: use --share-fs 9p or auto" \
    "$(setpriv --bounding-set -sys_admin "$EXECVM" --share-fs virtiofs -- true 2>&1)"
  check_eq "without CAP_SYS_ADMIN the default runs over 9p" "ok root 9p" \
    "$(setpriv --bounding-set -sys_admin "$EXECVM" --stats -- echo ok 2>&1 | sed -n 's/^execvm: accel [a-z]*, \(root [a-z0-9]*\),.*/\1/p; /^ok$/p' | tr '\n' ' ' | sed 's/ $//')"
fi

check_no_qemu_left "host_root"
check_no_temp_files "host_root"
finish
