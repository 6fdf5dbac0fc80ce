# What the guest sees of the host in the default mode, beyond the work tree: the working directory
# through a symlink, a program in /tmp or found through a PATH under /tmp, a directory the caller
# may enter but not read.
. "$(dirname "$0")/lib.sh"

# -w through a symlink: the guest works in the directory the path names, and the writes arrive.
mkdir -p "$TEST_TMP/wt"
ln -s "$TEST_TMP/wt" "$TEST_TMP/linkdir"
for fs in virtiofs 9p; do
  "$EXECVM" --share-fs $fs -w "$TEST_TMP/linkdir" -- sh -c 'echo x > f'
  check_eq "-w through a symlink: the write arrived ($fs)" "x" "$(cat "$TEST_TMP/wt/f" 2>&1)"
  rm -f "$TEST_TMP/wt/f"
done

# A program directly in /tmp, run by its path or found through PATH; one in a PATH entry under
# /tmp. The guest's /tmp is its own, yet each is found where the caller finds it.
prog=/tmp/execvm-e2e-prog-$$
printf '#!/bin/sh\necho "ran $*"\n' > "$prog"
chmod +x "$prog"
mkdir -p "$TEST_TMP/bin"
cp "$prog" "$TEST_TMP/bin/execvm-e2e-tool"
for fs in virtiofs 9p; do
  check_eq "a program in /tmp by its path ($fs)" "ran a" "$("$EXECVM" --share-fs $fs -- "$prog" a 2>&1)"
  check_eq "a program in /tmp through PATH ($fs)" "ran b" \
    "$(PATH=/tmp:$PATH "$EXECVM" --share-fs $fs -- "$(basename "$prog")" b 2>&1)"
  check_eq "a program in a PATH entry under /tmp ($fs)" "ran c" \
    "$(cd / && PATH=$TEST_TMP/bin:$PATH "$EXECVM" --share-fs $fs -- execvm-e2e-tool c 2>&1)"
done
rm -f "$prog"

# A working directory the caller may enter but not read (mode 711, another owner): the command
# runs, and only what needs reading fails, as here.
if [ "$(id -u)" -eq 0 ] && id nobody > /dev/null 2>&1; then
  kernel_dir=$(dirname "$("$EXECVM" kernel path)")
  mkdir -p "$TEST_TMP/kernel" "$TEST_TMP/enter-only"
  cp "$kernel_dir"/* "$TEST_TMP/kernel/"
  chmod -R a+rX "$TEST_TMP"
  chmod 711 "$TEST_TMP/enter-only"
  as_nobody() { (cd "$TEST_TMP/enter-only" && setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/ TMPDIR=/ "$@"); }
  look='pwd; ls . 2>&1 | sed "s/^ls: //"; echo x > f 2>&1 || echo no write'
  check_eq "an unreadable working directory" "$(as_nobody sh -c "$look" 2>&1 | sed 's/^sh: [0-9]*: //')" \
    "$(as_nobody "$EXECVM" --kernel "$TEST_TMP/kernel/vmlinux" -- sh -c "$look" 2>&1 | sed 's/^sh: [0-9]*: //')"
fi

check_no_qemu_left "shares"
check_no_temp_files "shares"
finish
